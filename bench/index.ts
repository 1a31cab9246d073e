// `npm run bench [-- name ...]`: runs every bench/<name>.bench.ts (or the named ones) one after another,
// each printing its own markdown table. Timings are never asserted; see docs/benchmarks.md.
// Bundled by `npm run pack:offline`, the files sit beside this one as <name>.bench.js.
import { readdirSync } from 'node:fs';

const wanted = process.argv.slice(2);
const BENCH_FILE = /\.bench\.[jt]s$/;
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => BENCH_FILE.test(f))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(BENCH_FILE, '')))
  .sort();
for (const file of files) {
  console.log(`\n## ${file.replace(BENCH_FILE, '')}\n`);
  const mod = (await import(new URL(file, import.meta.url).href)) as { default: () => Promise<void> };
  await mod.default();
}

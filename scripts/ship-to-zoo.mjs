#!/usr/bin/env node
// Copies what `metarl view` and `metarl eval` need of a trained run into zoo/<name>/: its
// config.json, its latest checkpoint and its eval.json (run `metarl eval <run> --baselines ...`
// first). Metrics and older checkpoints stay behind, so a zoo run is tens of KB.
//   node scripts/ship-to-zoo.mjs runs/maml-cheetah-vel [name]
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [run, name = basename(run ?? '')] = process.argv.slice(2);
if (!run) {
  console.error('usage: node scripts/ship-to-zoo.mjs <run dir> [name]');
  process.exit(2);
}
if (!/^[\w-][\w.-]*$/.test(name)) {
  console.error(`'${name}' cannot name a zoo run: letters, digits, '-', '_' and '.' only`);
  process.exit(2);
}
for (const file of ['config.json', 'eval.json']) {
  if (!existsSync(join(run, file))) {
    console.error(`${run} has no ${file}${file === 'eval.json' ? ': run `metarl eval` on it first' : ''}`);
    process.exit(1);
  }
}
const checkpoints = existsSync(join(run, 'checkpoints')) ? readdirSync(join(run, 'checkpoints')).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => a - b) : [];
const latest = checkpoints.at(-1);
if (latest === undefined) {
  console.error(`${run} has no checkpoint`);
  process.exit(1);
}
const evaluated = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8')).iteration;
if (evaluated !== latest) {
  console.error(`${run}/eval.json is of iteration ${evaluated}, its latest checkpoint ${latest}: run \`metarl eval ${run}\` again first`);
  process.exit(1);
}
const out = join(fileURLToPath(new URL('../zoo/', import.meta.url)), name);
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'checkpoints', String(latest)), { recursive: true });
// What the run learned stays; how this machine ran it (its path, backend, worker count and
// limits) goes back to the defaults, which suit whoever runs it next.
const { backend, workers, workerMemoryMb, stepTimeout, ...config } = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
writeFileSync(join(out, 'config.json'), `${JSON.stringify({ ...config, out: join('zoo', name) }, null, 2)}\n`);
copyFileSync(join(run, 'eval.json'), join(out, 'eval.json'));
for (const file of ['state.json', 'weights.bin']) copyFileSync(join(run, 'checkpoints', String(latest), file), join(out, 'checkpoints', String(latest), file));
console.log(`zoo/${name}: checkpoint ${latest}`);

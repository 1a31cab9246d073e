// Bundles the browser viewer (three.js and uPlot from node_modules) into viewer/dist; nothing comes from a CDN.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const entry = new URL('viewer/src/main.ts', root);
if (!existsSync(entry)) process.exit(0);

const outdir = new URL('viewer/dist/', root);
mkdirSync(outdir, { recursive: true });
await build({
  entryPoints: [entry.pathname],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: new URL('viewer.js', outdir).pathname,
  loader: { '.css': 'css' },
  logLevel: 'warning',
});
copyFileSync(new URL('viewer/index.html', root), new URL('index.html', outdir));

#!/usr/bin/env node
// Runs the compiled CLI from dist/. In a source checkout where dist/ is missing or older
// than the TypeScript (edited since the last `npm run build`), runs the sources through tsx
// instead, so the command never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/src/train/cli.js', root);
const source = new URL('src/train/cli.ts', root);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  if (!existsSync(compiled)) return false;
  if (!existsSync(source)) return true;
  const built = statSync(compiled).mtimeMs;
  return ['src/', 'envs/', 'agents/'].every((d) => !existsSync(new URL(d, root)) || newestMtime(new URL(d, root)) <= built);
}

if (distIsCurrent()) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
}

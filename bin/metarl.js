#!/usr/bin/env node
// Runs the compiled CLI; in a source checkout that was never built, runs the TypeScript through tsx.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/train/cli.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/train/cli.ts', import.meta.url).href);
}

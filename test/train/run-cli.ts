/**
 * A real `metarl` process on the TypeScript sources (through tsx, so a stale dist/ cannot hide
 * a change), run to completion, for the tests of what the CLI prints and leaves on disk.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = fileURLToPath(new URL('../../src/train/cli.ts', import.meta.url));
// Resolved here, not by name, so the process may run in any directory.
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const faults = new URL('../fixtures/fs-faults.mjs', import.meta.url).href;

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** An injected file-system fault, see test/fixtures/fs-faults.mjs. */
  fault?: string;
  timeoutMs?: number;
}

export function metarl(args: string[], options: CliOptions = {}): SpawnSyncReturns<string> {
  const preload = options.fault ? ['--import', faults] : [];
  return spawnSync(process.execPath, ['--import', tsx, ...preload, cli, ...args], {
    cwd: options.cwd ?? root,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 150_000,
    env: { ...process.env, METARL_DEBUG: '', ...options.env, ...(options.fault ? { METARL_TEST_FS_FAULT: options.fault } : {}) },
  });
}

/** The smallest MAML run on point-nav that still trains: about five seconds. */
export const TINY_TRAIN = ['train', '--env', 'point-nav', '--agent', 'maml', '--meta-batch-size', '2', '--episodes-per-task', '2', '--hidden', '[8]', '--workers', '0', '--backend', 'cpu', '--quiet', '--eval-tasks', '1'];

/**
 * Exit status 1 and one `error [CODE]: …` line on stderr, with no stack trace; a config
 * error may add its issues below, one `  - path: message` line each.
 */
export function expectOneLineError(run: SpawnSyncReturns<string>, code: string, text: RegExp): void {
  const [first, ...rest] = run.stderr.trimEnd().split('\n');
  expect(first, run.stderr).toMatch(new RegExp(`^error \\[${code}\\]: `));
  expect(rest.filter((line) => !/^ {2}- \S/.test(line)), run.stderr).toEqual([]);
  expect(run.stderr).toMatch(text);
  expect(run.status).toBe(1);
}

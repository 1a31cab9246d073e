// Reliability items 8 and 11 as a training run meets them: a hung env step ends the run with
// METARL_STEP_TIMEOUT and keeps the last checkpoint; Ctrl-C ends a run whose main thread is stuck in a
// step (--workers 0); a meta-batch that cannot fit is refused before any task is sampled.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure } from '../fixtures/rejection.js';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { train } from '../../src/train/train.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HANGS_LATER = fileURLToPath(new URL('../fixtures/envs/hangs-later.ts', import.meta.url));

let out: string;
beforeEach(() => (out = join(mkdtempSync(join(tmpdir(), 'metarl-hang-')), 'run')));
afterEach(() => rmSync(join(out, '..'), { recursive: true, force: true }));

const options = () => ({
  agent: 'maml',
  iterations: 3,
  backend: 'cpu' as const,
  out,
  checkpointEvery: 1,
  quiet: true,
  skipFinalEval: true,
  log: () => {},
  agentConfig: { metaBatchSize: 2, episodesPerTask: 2, hidden: [8] },
});

describe('a training run whose env hangs', () => {
  it('stops with METARL_STEP_TIMEOUT naming the step, and keeps the last checkpoint', async () => {
    const err = await failure(train({ ...options(), env: HANGS_LATER, workers: 1, stepTimeout: 0.5 }));
    expect(err.code).toBe('METARL_STEP_TIMEOUT');
    expect(err.message).toMatch(
      /^env 'hangs-later' did not return from step\(\) within 0\.5 s at slot 0, episode 0, at step 0 \(task \{"goal":-?[\d.e-]+\}\) on task worker 0, which was stopped\. /,
    );
    expect(err.message).toMatch(new RegExp(`checkpoint 1 is kept: fix that, then metarl train --resume ${out}$`));
    expect(listCheckpoints(out)).toEqual([1]);
  });

  it('ends at the second Ctrl-C with --workers 0, where the stuck main thread never runs a SIGINT listener', async () => {
    // A process group of its own, signalled as a whole: what a terminal does on Ctrl-C.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/train-hang.ts', out], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    const hanging = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => (stderr += d).includes('hanging') && resolve()));
    await Promise.race([hanging, exited.then((how) => Promise.reject(new Error(`ended (${how}) before its env hung: ${stderr}`)))]);
    const pressed = performance.now();
    process.kill(-child.pid!, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 200));
    process.kill(-child.pid!, 'SIGINT');
    const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 10_000);
    const ended = await exited;
    clearTimeout(killer);
    expect(ended).toBe('SIGKILL');
    expect(performance.now() - pressed).toBeLessThan(5000);
    expect(stderr).toContain('metarl: the main thread did not answer Ctrl-C (an env step that never returns, with --workers 0?), so it was killed');
    expect(stdout).toBe('');
    expect(listCheckpoints(out)).toEqual([1]);
  });
});

describe('a meta-batch too large for the machine', () => {
  it('is refused before any task is sampled, naming the flag to lower', async () => {
    const err = await failure(train({ ...options(), env: HANGS_LATER, workers: 0, agentConfig: { metaBatchSize: 1e8, hidden: [8] } }));
    expect(err.code).toBe('METARL_RESOURCE_LIMIT');
    expect(err.message).toMatch(/^maml's meta-batch of 100000000 tasks \(100000000 slots × 1 episode × 20 steps, obs 1 \+ act 1 floats a step\) needs [\d.]+ GB for its rollouts, .*: lower --meta-batch-size$/);
    expect(existsSync(join(out, 'config.json'))).toBe(false);
  });
});

// Reliability item 8: an env call that never returns ends the sampling with METARL_STEP_TIMEOUT naming
// the family, task, slot, episode and step, instead of stalling it silently.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { failure } from '../fixtures/rejection.js';
import { createSampler } from '../../src/sampling/index.js';
import type { Sampler } from '../../src/sampling/index.js';
import { HANG_JOB } from '../fixtures/sampling-hang-job.js';
import { POINT_REF, randomPolicy } from '../fixtures/sampling-policies.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STUCK_AT = `env 'sampling-point' did not return from step() within 0.5 s at slot 4, episode 0, at step 3 (task {"goal":0.3,"hangAt":3})`;

let sampler: Sampler | null = null;
afterEach(async () => {
  await sampler?.close();
  sampler = null;
});

describe('step timeout with worker threads', () => {
  it('stops the stuck worker and names the env, task, slot, episode, step and worker', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 2, stepTimeoutMs: 500 });
    const started = performance.now();
    const err = await failure(sampler.sample(HANG_JOB, randomPolicy(1, 1)));
    expect(performance.now() - started).toBeLessThan(3000);
    expect(err.code).toBe('METARL_STEP_TIMEOUT');
    expect(err.message).toBe(
      `${STUCK_AT} on sampler worker 1, which was stopped. Look for an endless loop or a blocking wait in the env, or raise the step timeout ` +
        "(--step-timeout <seconds>, createSampler's stepTimeoutMs) if its calls are really this slow. The sampler cannot go on: close() it and create a new one",
    );
    expect(err.details).toEqual({ family: 'sampling-point', task: { goal: 0.3, hangAt: 3 }, slot: 4, episode: 0, step: 3, call: 'step', worker: 1, timeoutMs: 500 });
    // The sampler is done; it says so again rather than hanging, and still closes.
    const again = await failure(sampler.sample({ ...HANG_JOB, tasks: [{ goal: 0 }] }, randomPolicy(1, 1)));
    expect(again.code).toBe('METARL_STEP_TIMEOUT');
    await sampler.close();
  });

  it('watches makeEnv at the start of a job too, while the other worker is still to answer', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 2, stepTimeoutMs: 500 });
    const tasks = HANG_JOB.tasks.map((task, i) => (i === 0 ? { goal: 0.1, hangAt: -1 } : i === 2 ? { goal: 0.3 } : task));
    const err = await failure(sampler.sample({ ...HANG_JOB, tasks }, randomPolicy(1, 1)));
    expect(err.code).toBe('METARL_STEP_TIMEOUT');
    expect(err.message).toMatch(/^env 'sampling-point' did not return from makeEnv\(\) within 0\.5 s at slot 0, episode 0, before its first step \(task \{"goal":0\.1,"hangAt":-1\}\) on sampler worker 0,/);
  });

  it('times each env call, not a worker step: slow calls that add up past the timeout are fine', async () => {
    // One worker steps 10 slots of 300 ms each: 3 s a step, past the 2 s timeout, while every call stays far
    // inside it (a call is timed by the wall clock, and a busy machine can pause a thread mid-call for a while).
    sampler = await createSampler({ family: POINT_REF, workers: 1, stepTimeoutMs: 2000 });
    const batch = await sampler.sample({ tasks: [{ goal: 0, busyMs: 300 }], slotsPerTask: 10, episodesPerSlot: 1, horizon: 1, seed: 1 }, randomPolicy(1, 1));
    expect(batch.envSteps).toBe(10);
  });

  it('times calls by a monotonic clock: the wall clock jumping an hour (a laptop waking up) fails nothing', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 1, stepTimeoutMs: 3000 });
    const policy = randomPolicy(1, 1);
    const wallClock = vi.spyOn(Date, 'now');
    try {
      // Two 1 s calls a step, the watcher looking every 750 ms: it looks in the middle of one, after the jump.
      const job = { tasks: [{ goal: 0, busyMs: 1000 }], slotsPerTask: 2, episodesPerSlot: 1, horizon: 2, seed: 1 };
      const batch = await sampler.sample(job, {
        act: (input) => {
          if (input.step === 1) wallClock.mockReturnValue(Date.now() + 3_600_000);
          return policy.act(input);
        },
      });
      expect(batch.envSteps).toBe(4);
    } finally {
      wallClock.mockRestore();
    }
  });
});

describe('step timeout with workers: 0', () => {
  it('ends the process from a watchdog thread, printing the same error as one line', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/sampling-hang-inline.ts', '500'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    const lines = stderr.trim().split('\n');
    expect(lines).toEqual([
      'hanging',
      `error [METARL_STEP_TIMEOUT]: ${STUCK_AT} on the main thread (workers: 0), where nothing can stop it, so the process is ended. ` +
        'Look for an endless loop or a blocking wait in the env; with worker threads the sampler stops only the stuck worker',
    ]);
    expect({ code, signal, stdout }).toEqual({ code: null, signal: 'SIGKILL', stdout: '' });
  });
});

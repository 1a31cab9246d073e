/**
 * An error thrown inside a user's env during training (issue 5) stops the run with
 * the env's name, the task and the step, and leaves the last checkpoint readable.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError, train } from '../../src/index.js';
import { listCheckpoints, readLatestCheckpoint } from '../../src/train/checkpoint.js';
import { THROW_AFTER_STEPS } from './fixtures/fails-in-worker.js';

const fixture = new URL('./fixtures/fails-in-worker.ts', import.meta.url).pathname;

describe('an env that throws during training', () => {
  let dir: string;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'metarl-env-failure-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops with METARL_ENV_FAILED naming the env, task and step, and keeps the last checkpoint', async () => {
    // 2 tasks × 2 episodes × 10 steps × 2 stages = 80 worker steps an iteration, so the
    // throw at step 101 falls inside iteration 2, after iteration 1's checkpoint.
    expect(THROW_AFTER_STEPS).toBeGreaterThan(80);
    expect(THROW_AFTER_STEPS).toBeLessThan(160);
    const out = join(dir, 'run');
    const error = await train({
      env: fixture,
      agent: 'maml',
      iterations: 5,
      workers: 1,
      backend: 'cpu',
      out,
      checkpointEvery: 1,
      skipFinalEval: true,
      quiet: true,
      log: () => {},
      agentConfig: { metaBatchSize: 2, episodesPerTask: 2, hidden: [8], cgIters: 2, lineSearchSteps: 2 },
    }).then(
      () => null,
      (err: unknown) => err,
    );
    expect(isMetarlError(error, 'METARL_ENV_FAILED')).toBe(true);
    if (!isMetarlError(error)) return;
    expect(error.message).toMatch(/env 'fails-in-worker' threw in step\(\)/);
    expect(error.message).toMatch(/at step \d+/);
    expect(error.message).toMatch(/task \{"goal":-?\d/);
    expect(error.message).toMatch(/gripper sensor lost after 100 steps/);
    expect(error.details).toMatchObject({ family: 'fails-in-worker', call: 'step', step: expect.any(Number), task: { goal: expect.any(Number) } });

    expect(listCheckpoints(out)).toEqual([1]);
    const checkpoint = readLatestCheckpoint(out);
    expect(checkpoint.iteration).toBe(1);
    expect(Object.keys(checkpoint.learner.arrays).length).toBeGreaterThan(0);
  });
});

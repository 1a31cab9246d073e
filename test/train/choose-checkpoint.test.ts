/** `metarl eval` / `metarl view` on a checkpoint other than the newest (one a run's validation checks picked). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { evaluate } from '../../src/train/evaluate.js';
import { train } from '../../src/train/train.js';
import { viewRun } from '../../src/train/view.js';

const env = new URL('../fixtures/envs/line-goal.ts', import.meta.url).pathname;

describe('choosing a checkpoint', () => {
  let dir: string;
  let run: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metarl-choose-'));
    run = join(dir, 'run');
    await train({ env, agent: 'maml', iterations: 3, seed: 4, backend: 'cpu', workers: 0, out: run, checkpointEvery: 1, quiet: true, log: () => {}, skipFinalEval: true, agentConfig: { metaBatchSize: 3, episodesPerTask: 3, hidden: [8] } });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('eval --checkpoint N measures that checkpoint and says so; the default is the newest', async () => {
    const newest = await evaluate(run, { tasks: 4, out: false });
    const first = await evaluate(run, { tasks: 4, out: false, checkpoint: 1 });
    const again = await evaluate(run, { tasks: 4, out: false, checkpoint: 3 });
    expect(newest.iteration).toBe(3);
    expect(first.iteration).toBe(1);
    expect(again.adaptation).toEqual(newest.adaptation);
    expect(first.adaptation[0].mean).not.toBe(newest.adaptation[0].mean);
  });

  it('a checkpoint the run does not have is named, with the ones it has', async () => {
    const err = await evaluate(run, { tasks: 2, out: false, checkpoint: 7 }).catch((e: unknown) => e);
    expect(isMetarlError(err, 'METARL_CHECKPOINT_MISSING')).toBe(true);
    expect((err as Error).message).toMatch(/has no checkpoint of iteration 7; it has 1, 2, 3$/);
  });

  it('view --checkpoint N shows that checkpoint (its recording is named after it)', async () => {
    const [shown] = await viewRun(run, { tasks: 1, speed: 16, workers: 0, checkpoint: 2, log: () => {} });
    expect(shown.path).toBe(join(run, 'rollouts', 'view-it2-seed4-task0.mrr'));
  }, 60_000);
});

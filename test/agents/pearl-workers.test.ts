// PEARL's gradient steps through task workers (issue 8): the worker count changes nothing but speed,
// a failing shard gives an error naming its tasks and the stage, and workers hold no tensors from one
// iteration to the next.
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPearl, pearlConfigSchema, type PearlConfig } from '../../agents/pearl.js';
import type { MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import { tf } from '../../src/nn/tf.js';
import { createSampler } from '../../src/sampling/sampler.js';
import type { Sampler } from '../../src/sampling/types.js';
import { createTaskPool } from '../../src/workers/pool.js';
import type { TaskPool } from '../../src/workers/types.js';
import { assembleRun } from '../../src/train/assemble.js';
import { runConfigSchema } from '../../src/train/config.js';
import { failure } from '../fixtures/rejection.js';
import { recordRun } from '../fixtures/recorded-run.js';

const LINE: FamilyRef = { name: 'line-goal', module: new URL('../fixtures/envs/line-goal.ts', import.meta.url).href };

const open: Array<{ learner: MetaLearner; pool: TaskPool; sampler: Sampler }> = [];

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});
afterEach(async () => {
  for (const { learner, pool, sampler } of open.splice(0)) {
    learner.dispose();
    await pool.close();
    await sampler.close();
  }
});

/** 5 tasks a step in shards of 2: [0, 1], [2, 3], [4] (shares 2/5, 2/5, 1/5); on 2 workers lane 0 holds shards 0 and 2. */
const config = (overrides: Partial<PearlConfig> = {}): PearlConfig =>
  pearlConfigSchema.parse({ hidden: [16, 16], encoderHidden: [16], latentSize: 2, collectTasks: 3, priorEpisodes: 1, posteriorEpisodes: 1, numTrainSteps: 4, metaBatchSize: 5, tasksPerShard: 2, batchSize: 16, contextBatch: 8, trainTasks: 10, evalEpisodes: 2, ...overrides });

async function start(cfg: PearlConfig, workers: number, seed = 1): Promise<{ learner: MetaLearner; pool: TaskPool }> {
  const family = await loadFamily(LINE);
  const pool = await createTaskPool({ family: LINE, agent: 'pearl', config: cfg, backend: 'wasm', stepTimeoutMs: 0, workers });
  const sampler = await createSampler({ family: LINE, workers: 0 });
  const learner = await createPearl({ config: cfg, family, familyRef: LINE, pool, sampler, seed });
  open.push({ learner, pool, sampler });
  return { learner, pool };
}

describe('PEARL with 0, 1 and 2 task workers', () => {
  it('gives the same metrics and weights after 2 iterations, and the same evaluation', async () => {
    const cfg = config({ learnTemperature: true });
    const family = await loadFamily(LINE);
    const runs = [];
    for (const workers of [0, 1, 2]) {
      const { learner } = await start(cfg, workers, 4);
      runs.push(await recordRun(learner, family, cfg.collectTasks, 1));
    }
    expect(runs[0].metrics[1].figures.qLoss).toBeGreaterThan(0);
    expect(runs[0].metrics[1].figures.alpha).not.toBe(1); // the temperature's step went through too
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });

  it('depends on the shards, not the workers: one shard of 5 gives other numbers than shards of 2, the same on 0 and 2 workers', async () => {
    const family = await loadFamily(LINE);
    const figures = async (cfg: PearlConfig, workers: number) => {
      const { learner } = await start(cfg, workers, 4);
      return (await learner.iterate(family.sampleTasks(new Rng(5), cfg.collectTasks))).figures;
    };
    const one = await figures(config({ tasksPerShard: 5 }), 0);
    expect(await figures(config({ tasksPerShard: 5 }), 2)).toEqual(one);
    const sharded = await figures(config(), 0);
    expect(sharded.qLoss).not.toBe(one.qLoss);
    // Summed in another order, the same losses: equal to float32 rounding.
    expect(sharded.qLoss).toBeCloseTo(one.qLoss, 3);
  });
});

describe('PEARL in a run (assembleRun)', () => {
  it('starts task workers only when a step has two or more shards; one shard learns on the main thread', async () => {
    const pools: boolean[] = [];
    for (const tasksPerShard of [8, 4]) {
      const run = await assembleRun(runConfigSchema.parse({ env: fileURLToPath(LINE.module), agent: 'pearl', workers: 2, backend: 'wasm', out: 'unused', agentConfig: { tasksPerShard, hidden: [8], encoderHidden: [8] } }));
      try {
        const ctx = (run.learner as unknown as { ctx: { pool: TaskPool; local: TaskPool } }).ctx;
        pools.push(ctx.pool !== ctx.local);
        if (ctx.pool !== ctx.local) expect(ctx.pool.workers).toBe(2);
      } finally {
        run.learner.dispose();
        await run.workers.close();
      }
    }
    expect(pools).toEqual([false, true]);
  });
});

describe('PEARL checkpoints across worker counts', () => {
  it('a state saved on 0 workers and restored on 2 continues exactly as the uninterrupted run', async () => {
    const cfg = config();
    const family = await loadFamily(LINE);
    const taskRng = new Rng(9);
    const batches = [0, 1, 2].map(() => family.sampleTasks(taskRng, cfg.collectTasks));
    const { learner: whole } = await start(cfg, 0, 3);
    await whole.iterate(batches[0]);
    const saved = await whole.state();
    const expected = [(await whole.iterate(batches[1])).figures, (await whole.iterate(batches[2])).figures];
    const { learner: resumed } = await start(cfg, 2, 11);
    await resumed.restore(saved);
    expect([(await resumed.iterate(batches[1])).figures, (await resumed.iterate(batches[2])).figures]).toEqual(expected);
  });
});

describe('PEARL task-worker failures', () => {
  // A reward scale past float32's range makes the Bellman target −∞ and every critic gradient non-finite.
  it('a shard whose gradient is not finite fails the iteration naming its tasks, the step and the stage; the workers go on, holding nothing of it', async () => {
    const { learner, pool } = await start(config({ rewardScale: 1e39 }), 2);
    const family = await loadFamily(LINE);
    const before = await pool.run('tensors', [null, null]);
    const err = await failure(learner.iterate(family.sampleTasks(new Rng(5), 3)));
    expect(err.code).toBe('METARL_NAN_LOSS');
    expect(err.message).toMatch(/PEARL's critic gradient is not finite .* on meta-batch tasks 0–1 \(task buffers \d+, \d+\) at gradient step 0/);
    expect(err.message).toMatch(/lower --lr or --reward-scale/);
    // Lane 0 holds shards 0 and 2 and fails first (the pool reports the first failing lane).
    expect(err.message).toMatch(/shards 0, 2 \(meta-batch tasks 0–1, 4–4, from task buffers [\d, ]+\) of gradient step 0 \(PEARL 'critic'\) on task worker 0/);
    // Lane 1's shard succeeded and lane 0 kept the rows of the shard it failed on: both released.
    expect(await pool.run('tensors', [null, null])).toEqual(before);
  });

  it('names the main thread with --workers 0', async () => {
    const { learner } = await start(config({ rewardScale: 1e39 }), 0);
    const family = await loadFamily(LINE);
    const err = await failure(learner.iterate(family.sampleTasks(new Rng(5), 3)));
    expect(err.code).toBe('METARL_NAN_LOSS');
    expect(err.message).toMatch(/\(PEARL 'critic'\) on the main thread/);
  });

  it('a pool closed mid-iteration rejects it with METARL_DISPOSED instead of leaving it unsettled', async () => {
    const { learner, pool } = await start(config({ numTrainSteps: 100000 }), 2);
    const family = await loadFamily(LINE);
    const iteration = failure(learner.iterate(family.sampleTasks(new Rng(5), 3)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await pool.close();
    expect((await iteration).code).toBe('METARL_DISPOSED');
  });
});

describe('PEARL task-worker memory', () => {
  it('workers and the main thread hold the same number of tensors after iterations 3 and 9 and an evaluation', async () => {
    const cfg = config();
    const { learner, pool } = await start(cfg, 2);
    const family = await loadFamily(LINE);
    const taskRng = new Rng(8);
    const counts: unknown[] = [];
    for (let i = 1; i <= 9; i++) {
      await learner.iterate(family.sampleTasks(taskRng, cfg.collectTasks));
      if (i === 3 || i === 9) counts.push([tf.memory().numTensors, ...(await pool.run('tensors', [null, null]))]);
    }
    await learner.evaluate(family.sampleTasks(taskRng, 2), { adaptationSteps: 1, seed: 1 });
    counts.push([tf.memory().numTensors, ...(await pool.run('tensors', [null, null]))]);
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[2]).toEqual(counts[0]);
  });
});

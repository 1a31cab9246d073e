// RL² through task workers: the worker count changes nothing but speed, a failing worker gives an
// error that names its shards' tasks, and workers hold no tensors from one iteration to the next.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRl2, rl2ConfigSchema, type Rl2Config } from '../../agents/rl2.js';
import type { MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { Task } from '../../src/core/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { createTaskPool } from '../../src/workers/pool.js';
import type { TaskPool } from '../../src/workers/types.js';
import { failure } from '../fixtures/rejection.js';
import { recordRun } from '../fixtures/recorded-run.js';
import { POINT_REF } from '../fixtures/sampling-policies.js';

const POINT_NAV: FamilyRef = { name: 'point-nav', module: new URL('../../envs/point-nav.ts', import.meta.url).href };

const open: Array<{ learner: MetaLearner; pool: TaskPool }> = [];

beforeAll(async () => {
  await initBackend('wasm', { log: () => {} });
});
afterEach(async () => {
  for (const { learner, pool } of open.splice(0)) {
    learner.dispose();
    await pool.close();
  }
});

const config = (overrides: Partial<Rl2Config> = {}): Rl2Config => rl2ConfigSchema.parse({ hidden: 8, metaBatchSize: 5, trialsPerTask: 2, horizon: 8, epochs: 2, tasksPerShard: 2, ...overrides });

async function start(ref: FamilyRef, cfg: Rl2Config, workers: number, seed = 1): Promise<{ learner: MetaLearner; pool: TaskPool }> {
  const family = await loadFamily(ref);
  const pool = await createTaskPool({ family: ref, agent: 'rl2', config: cfg, backend: 'wasm', stepTimeoutMs: 0, workers });
  const learner = await createRl2({ config: cfg, family, familyRef: ref, pool, seed });
  open.push({ learner, pool });
  return { learner, pool };
}

describe('RL² with 0, 1 and 2 task workers', () => {
  it('gives the same metrics and weights after 2 iterations, and the same evaluation', async () => {
    // 5 tasks in shards of 2: [0, 1], [2, 3], [4]; on 2 workers, lane 0 holds shards 0 and 2.
    const cfg = config();
    const family = await loadFamily(POINT_NAV);
    const runs = [];
    for (const workers of [0, 1, 2]) {
      const { learner } = await start(POINT_NAV, cfg, workers, 4);
      runs.push(await recordRun(learner, family, cfg.metaBatchSize, 2));
    }
    expect(runs[0].metrics[1].figures.gradNorm).toBeGreaterThan(0);
    expect(runs[0].evaluation.returns.map((r) => r.length)).toEqual([3, 3, 3]);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe('RL² task-worker failures', () => {
  it('an env that throws in a worker fails the iteration with an error naming the shards and tasks', async () => {
    const { learner } = await start(POINT_REF, config({ horizon: null, metaBatchSize: 3, tasksPerShard: 1 }), 2);
    const tasks: Task[] = [{ goal: 0.3 }, { goal: -0.2, throwAt: 5 }, { goal: 0.1 }];
    const err = await failure(learner.iterate(tasks));
    expect(err.code).toBe('METARL_ENV_FAILED');
    expect(err.message).toMatch(/motor exploded/);
    // 3 shards of 1 task on 2 workers: lane 1 holds shard 1 (task 1).
    expect(err.message).toMatch(/shards 1 \(tasks 1\) of the meta-batch \(RL² 'iterate'\) on task worker 1/);
    const next = await learner.iterate([{ goal: 0.3 }, { goal: -0.2 }, { goal: 0.1 }]);
    expect(next.stageReturns.every(Number.isFinite)).toBe(true);
  });
});

describe('RL² task-worker memory', () => {
  it('workers hold the same number of tensors after iterations 3 and 12', async () => {
    const cfg = config({ metaBatchSize: 2, tasksPerShard: 1, horizon: 5, epochs: 1 });
    const { learner, pool } = await start(POINT_NAV, cfg, 2);
    const family = await loadFamily(POINT_NAV);
    const taskRng = new Rng(8);
    const counts: unknown[] = [];
    for (let i = 1; i <= 12; i++) {
      await learner.iterate(family.sampleTasks(taskRng, cfg.metaBatchSize));
      if (i === 3 || i === 12) counts.push(await pool.run('tensors', [null, null]));
    }
    await learner.evaluate(family.sampleTasks(taskRng, 2), { adaptationSteps: 1, seed: 1 });
    counts.push(await pool.run('tensors', [null, null]));
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[2]).toEqual(counts[0]);
  });
});

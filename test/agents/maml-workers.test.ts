// MAML through task workers: the worker count changes nothing but speed, a failing or dying
// worker gives an error that names the task and the request, and workers hold no tensors
// from one iteration to the next.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMaml, definition, mamlConfigSchema, type MamlConfig } from '../../agents/maml.js';
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
  await initBackend('cpu', { log: () => {} });
});
afterEach(async () => {
  for (const { learner, pool } of open.splice(0)) {
    learner.dispose();
    await pool.close();
  }
});

const config = (overrides: Partial<MamlConfig> = {}): MamlConfig =>
  mamlConfigSchema.parse({ ...definition.familyDefaults['point-nav'], hidden: [8], metaBatchSize: 3, episodesPerTask: 3, horizon: 12, ...overrides });

async function start(ref: FamilyRef, cfg: MamlConfig, workers: number, seed = 1): Promise<{ learner: MetaLearner; pool: TaskPool }> {
  const family = await loadFamily(ref);
  const pool = await createTaskPool({ family: ref, agent: 'maml', config: cfg, backend: 'cpu', stepTimeoutMs: 0, workers });
  const learner = await createMaml({ config: cfg, family, familyRef: ref, pool, seed });
  open.push({ learner, pool });
  return { learner, pool };
}

describe('MAML with 0, 1 and 2 task workers', () => {
  it.each([
    ['trpo', false],
    ['ppo', false],
    ['trpo', true],
  ] as const)('gives the same metrics and weights after 2 iterations, and the same evaluation (%s, learnInnerLr %s)', async (outer, learnInnerLr) => {
    const cfg = config({ outer, learnInnerLr });
    const family = await loadFamily(POINT_NAV);
    const runs = [];
    for (const workers of [0, 1, 2]) {
      const { learner } = await start(POINT_NAV, cfg, workers, 4);
      runs.push(await recordRun(learner, family, cfg.metaBatchSize, 2, ['outerSeconds']));
    }
    expect(runs[0].metrics[1].figures.stepAccepted ?? 1).toBe(1);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
  });
});

describe('MAML meta-gradient through a task worker', () => {
  it('the gradient a worker returns matches central finite differences of the surrogate it returns at θ ± ε', async () => {
    const cfg = config({ hidden: [3], metaBatchSize: 2, episodesPerTask: 3, horizon: 10, innerLr: 0.5, initStd: 0.7 });
    const pool = await createTaskPool({ family: POINT_NAV, agent: 'maml', config: cfg, backend: 'cpu', stepTimeoutMs: 0, workers: 1 });
    const family = await loadFamily(POINT_NAV);
    try {
      const { learner } = await start(POINT_NAV, cfg, 0, 3);
      const theta = Float32Array.from(Object.values((await learner.state()).arrays).flatMap((a) => Array.from(a.data)));
      const tasks = family.sampleTasks(new Rng(4), 2).map((task, index) => ({ index, task }));
      const [results] = (await pool.run('iterate', [{ seed: 9, theta, tasks, watch: [], gradient: true }])) as Array<Array<{ gradient: Float32Array }>>;
      const exact = Array.from(theta, (_, i) => (results[0].gradient[i] + results[1].gradient[i]) / 2);
      const lossAt = async (i: number, delta: number) => {
        const x = Float32Array.from(theta);
        x[i] += delta;
        const [at] = (await pool.run('lossKl', [{ theta: x }])) as Array<Array<{ loss: number }>>;
        return (at[0].loss + at[1].loss) / 2;
      };
      const eps = 3e-3;
      const fd: number[] = [];
      for (let i = 0; i < theta.length; i++) fd.push(((await lossAt(i, eps)) - (await lossAt(i, -eps))) / (2 * eps));
      const err = Math.hypot(...exact.map((x, i) => x - fd[i])) / Math.hypot(...fd);
      expect(err).toBeLessThan(1e-2);
    } finally {
      await pool.close();
    }
  });
});

describe('MAML task-worker failures', () => {
  // sampling-point tasks: `throwAt` makes that env life step throw, `exitAt` ends the worker thread there.
  const tasks = (last: Record<string, number>): Task[] => [{ goal: 0.3 }, { goal: -0.2 }, { goal: 0.1, ...last }];

  it('an env that throws in a worker fails the iteration with an error naming the task and the request', async () => {
    const { learner } = await start(POINT_REF, config({ horizon: null }), 2);
    const err = await failure(learner.iterate(tasks({ throwAt: 5 })));
    expect(err.code).toBe('METARL_ENV_FAILED');
    expect(err.message).toMatch(/motor exploded/);
    // Shards of 3 tasks on 2 workers: [0], [1, 2].
    expect(err.message).toMatch(/tasks 1–2 of the meta-batch \(MAML 'iterate'\) on task worker 1/);
    // The pool goes on: the next iteration on good tasks runs.
    const next = await learner.iterate(tasks({}));
    expect(next.stageReturns.every(Number.isFinite)).toBe(true);
  });

  it('a worker that dies mid-shard fails the iteration with METARL_WORKER_FAILED naming the worker, then every request fails fast', async () => {
    const { learner, pool } = await start(POINT_REF, config({ horizon: null }), 2);
    const err = await failure(learner.iterate(tasks({ exitAt: 5 })));
    expect(err.code).toBe('METARL_WORKER_FAILED');
    expect(err.message).toMatch(/task worker 1 exited unexpectedly with code 3/);
    expect(err.message).toMatch(/tasks 1–2 of the meta-batch/);
    expect((await failure(learner.iterate(tasks({})))).code).toBe('METARL_WORKER_FAILED');
    await pool.close();
  });

  it('an env that throws with --workers 0 names the task too', async () => {
    const { learner } = await start(POINT_REF, config({ horizon: null }), 0);
    const err = await failure(learner.iterate(tasks({ throwAt: 5 })));
    expect(err.message).toMatch(/tasks 0–2 of the meta-batch \(MAML 'iterate'\) on the main thread/);
  });
});

describe('MAML task-worker memory', () => {
  it.each(['trpo', 'ppo'] as const)('workers hold the same number of tensors after iterations 3 and 12 (%s)', async (outer) => {
    const cfg = config({ outer, metaBatchSize: 2, episodesPerTask: 2, horizon: 8 });
    const { learner, pool } = await start(POINT_NAV, cfg, 2);
    const family = await loadFamily(POINT_NAV);
    const taskRng = new Rng(8);
    const counts: unknown[] = [];
    for (let i = 1; i <= 12; i++) {
      await learner.iterate(family.sampleTasks(taskRng, cfg.metaBatchSize));
      if (i === 3 || i === 12) counts.push(await pool.run('tensors', [null, null]));
    }
    await learner.evaluate(family.sampleTasks(taskRng, 2), { adaptationSteps: 2, seed: 1 });
    counts.push(await pool.run('tensors', [null, null]));
    expect(counts[1]).toEqual(counts[0]);
    expect(counts[2]).toEqual(counts[0]);
  });
});

describe('MAML task pool closed mid-iteration', () => {
  it('rejects the pending iteration with METARL_DISPOSED instead of leaving it unsettled', async () => {
    const { learner, pool } = await start(POINT_REF, config({ horizon: null }), 2);
    // Handled from the start: it rejects while close() is awaited.
    const iteration = failure(learner.iterate([{ goal: 0.3 }, { goal: -0.2, busyMs: 50 }, { goal: 0.1 }]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pool.close();
    expect((await iteration).code).toBe('METARL_DISPOSED');
  });
});

// Task workers on a BullMQ queue (#9): a real redis-server on loopback and real `metarl worker`
// processes. The learner cannot tell them from threads: the same metrics, evaluation and
// weights as --workers 0; a worker killed mid-iteration, or Redis restarted, changes nothing
// but time; what cannot be done is refused with an error that names what is missing.
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMaml, definition as mamlDefinition, mamlConfigSchema, type MamlConfig } from '../../agents/maml.js';
import { createRl2, rl2ConfigSchema } from '../../agents/rl2.js';
import type { AgentArgs } from '../../agents/types.js';
import type { MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { Task } from '../../src/core/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { createTaskPool } from '../../src/workers/pool.js';
import type { QueuePool } from '../../src/workers/queue/pool.js';
import type { TaskPool } from '../../src/workers/types.js';
import { failure } from '../fixtures/rejection.js';
import { POINT_REF } from '../fixtures/sampling-policies.js';
import { otherInstall, startRedis, startWorker, type RedisServer, type WorkerProcess } from './queue-harness.js';

const POINT_NAV: FamilyRef = { name: 'point-nav', module: new URL('../../envs/point-nav.ts', import.meta.url).href };

let redis: RedisServer;
let workers: WorkerProcess[] = [];
const open: Array<{ learner: MetaLearner | null; pool: TaskPool }> = [];

/** Two live workers, replacing any a test killed. */
async function twoWorkers(): Promise<void> {
  workers = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
  while (workers.length < 2) workers.push(...(await Promise.all(Array.from({ length: 2 - workers.length }, () => startWorker(redis.url)))));
}

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
  redis = await startRedis();
  await twoWorkers();
}, 240_000);
afterEach(async () => {
  for (const { learner, pool } of open.splice(0)) {
    learner?.dispose();
    await pool.close();
  }
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await redis?.stop();
}, 60_000);

const mamlConfig = (overrides: Partial<MamlConfig> = {}): MamlConfig =>
  mamlConfigSchema.parse({ ...mamlDefinition.familyDefaults['point-nav'], hidden: [8], metaBatchSize: 3, episodesPerTask: 3, horizon: 12, ...overrides });
const rl2Config = () => rl2ConfigSchema.parse({ hidden: 8, metaBatchSize: 5, trialsPerTask: 2, horizon: 8, epochs: 2, tasksPerShard: 2 });

/** A learner on `workers` threads (0: in-process) or, with `queue`, on the queue's workers. */
async function start(agent: 'maml' | 'rl2', ref: FamilyRef, config: Record<string, unknown>, options: { workers?: number; queue?: boolean; waitMs?: number; watch?: AgentArgs<never>['watch'] }) {
  const family = await loadFamily(ref);
  const pool = await createTaskPool({
    family: ref, agent, config, backend: 'cpu', stepTimeoutMs: 0,
    workers: options.workers,
    queue: options.queue ? { url: redis.url, waitMs: options.waitMs ?? 20_000 } : undefined,
  });
  const create = agent === 'maml' ? createMaml : createRl2;
  const learner = await create({ config: config as never, family, familyRef: ref, pool, seed: 4, watch: options.watch });
  open.push({ learner, pool });
  return { learner, pool, family };
}

/** 2 iterations, then an evaluation: what the learner reports, and its weights. */
async function twoIterations(learner: MetaLearner, family: Awaited<ReturnType<typeof loadFamily>>, tasksPerIteration: number) {
  const taskRng = new Rng(5);
  const metrics = [];
  for (let i = 0; i < 2; i++) {
    const m = await learner.iterate(family.sampleTasks(taskRng, tasksPerIteration));
    const { outerSeconds: _, ...figures } = m.figures;
    metrics.push({ stageReturns: m.stageReturns, figures, envSteps: m.envSteps });
  }
  const evaluation = await learner.evaluate(family.sampleTasks(new Rng(6), 3), { seed: 7, adaptationSteps: 2 });
  const { arrays } = await learner.state();
  return { metrics, evaluation, weights: Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, Array.from(a.data)])) };
}

describe('task workers on a queue: the same numbers as in-process', () => {
  it('MAML (TRPO): 2 iterations through 2 worker processes give the metrics, evaluation and weights of --workers 0, and the viewer the same episodes', async () => {
    const cfg = mamlConfig();
    // Slots 0 and 2 of each stage are watched: with 3 tasks on 2 lanes, one on each worker.
    const watcher = () => {
      const seen: string[] = [];
      let frames = 0;
      const watch = (stage: number) => ({
        watchSlots: [0, 2],
        onFrame: () => void frames++,
        onEpisodeEnd: (slot: number, episode: number, ret: number, length: number) => void seen.push(`${stage}/${slot}/${episode}: ${ret} over ${length}`),
      });
      return { watch, episodes: () => [...seen].sort(), frames: () => frames };
    };
    const localView = watcher();
    const local = await start('maml', POINT_NAV, cfg, { workers: 0, watch: localView.watch });
    const expected = await twoIterations(local.learner, local.family, cfg.metaBatchSize);
    const queuedView = watcher();
    const queued = await start('maml', POINT_NAV, cfg, { queue: true, watch: queuedView.watch });
    expect(queued.pool.lanes).toBe(2);
    expect(await twoIterations(queued.learner, queued.family, cfg.metaBatchSize)).toEqual(expected);
    expect((queued.pool as QueuePool).progress().retried).toBe(0);
    expect(localView.episodes().length).toBeGreaterThan(0);
    expect(queuedView.episodes()).toEqual(localView.episodes());
    expect(queuedView.frames()).toBe(localView.frames());
  });

  it('RL²: 2 iterations through 2 worker processes give the metrics, evaluation and weights of --workers 0', async () => {
    const cfg = rl2Config();
    const local = await start('rl2', POINT_NAV, cfg, { workers: 0 });
    const expected = await twoIterations(local.learner, local.family, cfg.metaBatchSize);
    const queued = await start('rl2', POINT_NAV, cfg, { queue: true });
    expect(await twoIterations(queued.learner, queued.family, cfg.metaBatchSize)).toEqual(expected);
  });
});

describe('task workers on a queue: faults', () => {
  // sampling-point tasks that spin 15 ms per env step: an iteration long enough to be cut in the middle.
  const slowTasks: Task[] = [{ goal: 0.3, busyMs: 15 }, { goal: -0.2, busyMs: 15 }];
  const cfg = () => mamlConfig({ horizon: null, metaBatchSize: 2, episodesPerTask: 3 });
  const summary = (m: Awaited<ReturnType<MetaLearner['iterate']>>) => {
    const { outerSeconds: _, ...figures } = m.figures;
    return { stageReturns: m.stageReturns, figures, envSteps: m.envSteps };
  };

  async function expectedIteration() {
    const local = await start('maml', POINT_REF, cfg(), { workers: 0 });
    return summary(await local.learner.iterate(slowTasks));
  }

  /** Resolves once the pool has jobs in flight on both lanes (the iteration is under way). */
  async function underWay(pool: QueuePool): Promise<void> {
    while (pool.progress().inFlight < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  it('kill -9 of a worker mid-iteration: its lane moves to the other worker, the iteration gives the same result, the retry is counted', async () => {
    await twoWorkers();
    const expected = await expectedIteration();
    const { learner, pool } = await start('maml', POINT_REF, cfg(), { queue: true });
    const iteration = learner.iterate(slowTasks);
    await underWay(pool as QueuePool);
    await workers[0].kill();
    expect(summary(await iteration)).toEqual(expected);
    expect((pool as QueuePool).progress().retried).toBeGreaterThanOrEqual(1);
    // The next iteration runs on the survivor alone.
    const next = await learner.iterate(slowTasks.map((t) => ({ goal: t.goal })));
    expect(next.stageReturns.every(Number.isFinite)).toBe(true);
  });

  it('Redis restarted empty mid-iteration: learner and workers reconnect, the lost jobs are sent again, the iteration gives the same result', async () => {
    await twoWorkers();
    const expected = await expectedIteration();
    const { learner, pool } = await start('maml', POINT_REF, cfg(), { queue: true });
    const iteration = learner.iterate(slowTasks);
    await underWay(pool as QueuePool);
    await redis.stop();
    await redis.start();
    expect(summary(await iteration)).toEqual(expected);
  });

  it('Redis gone for good: the iteration stops with METARL_QUEUE_UNREACHABLE naming the server, within the wait', async () => {
    await twoWorkers();
    const { learner, pool } = await start('maml', POINT_REF, cfg(), { queue: true, waitMs: 4000 });
    const iteration = failure(learner.iterate(slowTasks));
    await underWay(pool as QueuePool);
    await redis.stop();
    try {
      const err = await iteration;
      expect(err.code).toBe('METARL_QUEUE_UNREACHABLE');
      expect(err.message).toContain(`redis://127.0.0.1:${redis.port}`);
    } finally {
      await redis.start();
    }
  });
});

describe('task workers on a queue: refusals', () => {
  it('a worker without the env file refuses its shard: METARL_FILE_MISSING naming the worker and the path', async () => {
    await twoWorkers();
    // A family file the learner has and the workers do not (deleted after the learner read it).
    const file = fileURLToPath(new URL(`../fixtures/queue-gone-${process.pid}.ts`, import.meta.url));
    copyFileSync(fileURLToPath(POINT_REF.module), file);
    const ref: FamilyRef = { name: 'queue-gone', module: pathToFileURL(file).href };
    try {
      const pool = await createTaskPool({ family: ref, agent: 'maml', config: mamlConfig(), backend: 'cpu', stepTimeoutMs: 0, queue: { url: redis.url, waitMs: 20_000 } });
      open.push({ learner: null, pool });
      rmSync(file);
      const err = await failure(pool.run('iterate', [{ seed: 1, theta: new Float32Array(10), tasks: [], watch: [], gradient: false }], { describe: () => 'tasks 0–1 of the meta-batch' }));
      expect(err.code).toBe('METARL_FILE_MISSING');
      expect(err.message).toMatch(/queue worker [0-9a-f]+ \(.+, pid \d+\) cannot load env 'queue-gone'/);
      expect(err.message).toContain(file);
      expect(err.message).toContain('tasks 0–1 of the meta-batch');
      // A copy that differs from the learner's is refused too.
      writeFileSync(file, '// another env\n');
      const differs = await failure(pool.run('iterate', [{ seed: 1, theta: new Float32Array(10), tasks: [], watch: [], gradient: false }]));
      expect(differs.code).toBe('METARL_SPEC_MISMATCH');
      expect(differs.message).toMatch(/has a different .*queue-gone.* than the learner/);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('a worker of another metarl version is refused: METARL_VERSION_MISMATCH naming it and both versions', async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const other = otherInstall('0.0.1-other');
    const stranger = await startWorker(redis.url, { cli: other.cli });
    try {
      const err = await failure(createTaskPool({ family: POINT_NAV, agent: 'maml', config: mamlConfig(), backend: 'cpu', stepTimeoutMs: 0, queue: { url: redis.url, waitMs: 3000 } }));
      expect(err.code).toBe('METARL_VERSION_MISMATCH');
      expect(err.message).toContain(`queue worker ${stranger.id}`);
      expect(err.message).toMatch(/runs metarl 0\.0\.1-other .*this learner 0\.1\.0/);
    } finally {
      await stranger.stop();
      other.remove();
    }
  });
});

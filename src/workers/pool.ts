import { availableParallelism } from 'node:os';
import { shardWorkerFactory } from '../../agents/index.js';
import { loadFamily } from '../core/registry.js';
import { defaultWorkerMemoryMb } from '../sampling/limits.js';
import { createSampler } from '../sampling/sampler.js';
import { InProcessPool } from './in-process-pool.js';
import { ThreadPool } from './thread-pool.js';
import type { PoolSpec, TaskPool } from './types.js';

export interface TaskPoolOptions extends PoolSpec {
  /** Worker threads; 0 runs every shard on the calling thread. Default one per core. With `queue`: lanes, default one per thread of the live workers. */
  workers?: number;
  /** Each worker's JS heap limit, MB; default a share of the machine's memory. */
  workerMemoryMb?: number;
  /** Run the shards on `metarl worker` processes through this Redis/Valkey server instead of threads. */
  queue?: { url: string; waitMs: number; log?: (line: string) => void };
}

/**
 * Starts the task workers of an agent that has a shard side (`createShardWorker`). With
 * `workers: 0` the shard side runs here, on the backend already active; with `queue`, on
 * worker processes anywhere (src/workers/queue).
 */
export async function createTaskPool(options: TaskPoolOptions): Promise<TaskPool> {
  const { workers: given, workerMemoryMb, queue, ...spec } = options;
  if (queue) {
    // Loaded only for a queue run: BullMQ and ioredis take seconds to import.
    const { QueuePool } = await import('./queue/pool.js');
    return QueuePool.create(spec, { ...queue, lanes: given || undefined });
  }
  const workers = given ?? availableParallelism();
  if (workers > 0) return ThreadPool.create(spec, workers, workerMemoryMb ?? defaultWorkerMemoryMb(workers));
  const createShardWorker = shardWorkerFactory(spec.agent);
  const family = await loadFamily(spec.family);
  // The inline sampler's own watchdog: a stuck env call holds this thread, so it ends the process.
  const sampler = await createSampler({ family: spec.family, workers: 0, stepTimeoutMs: spec.stepTimeoutMs });
  try {
    return new InProcessPool(await createShardWorker({ config: spec.config, family, familyRef: spec.family, sampler }), sampler);
  } catch (err) {
    await sampler.close();
    throw err;
  }
}

/**
 * The Redis (or Valkey) server behind `--queue`: its URL, the connections metarl opens to
 * it, and the names of every key metarl keeps there (all under `metarl:`, so one pattern
 * finds them; see docs/distributed.md).
 *
 * @internal
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Every key and channel metarl uses starts with this (BullMQ's own keys too: it is their prefix). */
export const PREFIX = 'metarl';

export const keys = {
  /** A worker's registration (JSON `WorkerInfo`), expiring unless its heartbeat renews it. */
  worker: (id: string) => `${PREFIX}:worker:${id}`,
  workerPattern: `${PREFIX}:worker:*`,
  /** A large typed array of a request, named by the SHA-256 of its type and bytes. */
  blob: (hash: string) => `${PREFIX}:blob:${hash}`,
  /** The outcome of a job (v8-serialized `JobOutcome`). */
  result: (jobId: string) => `${PREFIX}:result:${jobId}`,
  /** Events and completion notices of one learner's jobs (pub/sub). */
  channel: (run: string) => `${PREFIX}:events:${run}`,
  /** The BullMQ queue a worker consumes: only its own lanes' jobs are put there. */
  queue: (workerId: string) => `w-${workerId}`,
};

/**
 * A connection that reconnects forever and holds commands while it does: BullMQ's workers
 * need `maxRetriesPerRequest: null`, and every wait of metarl's own is bounded by a timer
 * instead, so an outage ends in a clear error rather than a hang.
 */
export function connect(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(200 * times, 2000),
    ...options,
  });
  // Reconnects are retried by ioredis; an unhandled 'error' event would end the process instead.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Which workers are alive: each keeps a key with a short expiry and renews it; a worker
 * killed (or cut off) lets it lapse, and the learner moves its lanes. Expiry is the server's
 * clock, so the machines' clocks need not agree.
 *
 * @internal
 */
import type { Redis } from 'ioredis';
import { keys } from './connection.js';
import type { WorkerInfo } from './protocol.js';

/** A worker is taken for dead this long after its last heartbeat. */
export const HEARTBEAT_TTL_MS = 10_000;
const HEARTBEAT_EVERY_MS = 2_000;

/** Registers `info` and renews it until the returned function is called (which unregisters it). */
export function startHeartbeat(redis: Redis, info: WorkerInfo): () => Promise<void> {
  const key = keys.worker(info.id);
  const beat = () => redis.set(key, JSON.stringify(info), 'PX', HEARTBEAT_TTL_MS).catch(() => undefined);
  void beat();
  const timer = setInterval(beat, HEARTBEAT_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await redis.del(key).catch(() => undefined);
  };
}

/** The workers registered now. */
export async function liveWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', keys.workerPattern, 'COUNT', 200);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  if (found.length === 0) return [];
  const values = await redis.mget(...found);
  return values.flatMap((v) => (v ? [JSON.parse(v) as WorkerInfo] : [])).sort((a, b) => a.id.localeCompare(b.id));
}

/** "worker 3f2a9c (host-1, pid 4711)": how errors and logs name a worker. */
export function workerName(info: Pick<WorkerInfo, 'id' | 'host' | 'pid'>): string {
  return `queue worker ${info.id} (${info.host}, pid ${info.pid})`;
}

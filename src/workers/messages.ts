/**
 * The messages between the pool (main thread) and a task worker. Plain data and typed
 * arrays only: the same messages could cross a process or a network boundary.
 *
 * @internal
 */
import type { SerializedError } from '../sampling/messages.js';
import type { WatchedJob } from '../sampling/watchdog.js';
import type { PoolSpec, ShardEvent } from './types.js';

export type PoolToWorker =
  /** `calls`: the pool's call block, where the worker's row records its env calls (absent: no step timeout). */
  | { type: 'init'; spec: PoolSpec; index: number; calls: SharedArrayBuffer | null }
  | { type: 'call'; id: number; kind: string; request: unknown };

export type WorkerToPool =
  | { type: 'ready' }
  /** The sampling job the worker's env calls now belong to (null: between jobs), to name a stuck call. */
  | { type: 'job'; job: WatchedJob | null }
  | { type: 'initFailed'; error: SerializedError }
  | { type: 'event'; id: number; event: ShardEvent }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: SerializedError };

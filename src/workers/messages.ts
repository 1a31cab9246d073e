/**
 * The messages between the pool (main thread) and a task worker. Plain data and typed
 * arrays only: the same messages could cross a process or a network boundary.
 *
 * @internal
 */
import type { SerializedError } from '../sampling/messages.js';
import type { PoolSpec, ShardEvent } from './types.js';

export type PoolToWorker = { type: 'init'; spec: PoolSpec; index: number } | { type: 'call'; id: number; kind: string; request: unknown };

export type WorkerToPool =
  | { type: 'ready' }
  | { type: 'initFailed'; error: SerializedError }
  | { type: 'event'; id: number; event: ShardEvent }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; error: SerializedError };

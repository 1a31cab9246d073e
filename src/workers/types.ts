import type { FamilyRef } from '../core/registry.js';
import type { SceneDescription } from '../core/scene.js';
import type { TaskFamily } from '../core/types.js';
import type { BackendName } from '../nn/backend.js';
import type { Sampler } from '../sampling/types.js';

/**
 * What every worker of a pool is started with: plain data, enough to rebuild the agent's
 * shard side anywhere (a thread today, a process on another machine later).
 */
export interface PoolSpec {
  family: FamilyRef;
  /** A built-in agent's name (agents/index.ts); the worker loads the agent module by it. */
  agent: string;
  /** The agent's parsed config. */
  config: Record<string, unknown>;
  /** The backend the main thread runs: each worker starts its own of the same kind. */
  backend: BackendName;
  /** How long one env call may take, ms; 0 = forever. */
  stepTimeoutMs: number;
}

/**
 * A rollout event for the viewer, sent by whichever worker runs a watched episode. `stage`
 * picks the hooks of that adaptation stage; `slot` is the slot of the whole meta-batch.
 */
export type ShardEvent =
  | { kind: 'scene'; stage: number; slot: number; scene: SceneDescription }
  | { kind: 'frame'; stage: number; slot: number; episode: number; t: number; poses: Float32Array; reward: number }
  | { kind: 'episodeEnd'; stage: number; slot: number; episode: number; ret: number; length: number };

/**
 * The agent's per-shard half, as a worker holds it: it answers the learner's requests
 * (sample, gradient, Fisher-vector product, …) for the tasks of the shards it is sent,
 * and keeps their per-task state between the requests of one iteration. Requests and
 * results are plain data and typed arrays.
 *
 * The state after a request depends only on the request and the requests since the last
 * 'iterate' (which replaces the state; 'release' clears it), and every request is
 * deterministic given its content: the queue transport rebuilds a lost worker's lane by
 * replaying those requests elsewhere (src/workers/queue/pool.ts).
 */
export interface ShardWorker {
  handle(kind: string, request: unknown, emit: (event: ShardEvent) => void): Promise<unknown>;
  /** Frees every tensor; idempotent. */
  dispose(): void;
}

export interface ShardWorkerArgs {
  config: Record<string, unknown>;
  family: TaskFamily;
  familyRef: FamilyRef;
  /** Steps the shard's envs on this thread, its env calls watched by the transport; the transport closes it. */
  sampler: Sampler;
}

/**
 * Where the learner sends shards. Lane i of `lanes` is one worker (or, with no workers,
 * the calling thread); a request to lane i always reaches the same worker, so per-task
 * state kept there by one request is there for the next. The learner cannot tell
 * threads from any other transport.
 */
export interface TaskPool {
  /** Worker threads; 0 = everything runs on the calling thread. */
  readonly workers: number;
  /** How many requests one `run` may send at once: one per lane. */
  readonly lanes: number;
  /**
   * Sends `requests[i]` to lane i (at most `lanes` requests) and resolves with their results
   * in the same order. Events go to `onEvent` as they arrive. `describe(i)` names request i
   * in errors ("tasks 10–19"). Rejects with the first failure once every lane has answered.
   */
  run(kind: string, requests: readonly unknown[], options?: RunOptions): Promise<unknown[]>;
  /** Ends the workers; idempotent. */
  close(): Promise<void>;
  /** Counts for the progress line, where the transport has them (the queue's: workers come and go). */
  progress?(): PoolProgress;
}

export interface PoolProgress {
  /** Requests answered since the pool started. */
  done: number;
  inFlight: number;
  /** Requests sent again because their worker was lost. */
  retried: number;
  workersAlive: number;
}

export interface RunOptions {
  onEvent?: (event: ShardEvent) => void;
  describe?: (i: number) => string;
}

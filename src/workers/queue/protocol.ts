/**
 * What crosses Redis between a learner's `QueuePool` and `metarl worker` processes: the job
 * each request becomes, the outcome a worker stores, the notices it publishes, and how a
 * worker announces itself. Defined once, imported by both ends.
 *
 * @internal
 */
import type { SerializedError } from '../../sampling/messages.js';
import type { ShardEvent } from '../types.js';

/** Bumped when any shape below changes; a worker refuses a job of another protocol. */
export const QUEUE_PROTOCOL = 1;

/** Where a worker finds the family: one of its own built-ins, or a file at the same path on its machine. */
export type WireFamily =
  | { name: string; builtin: true }
  /** `sha256` of the file's bytes: a worker whose copy differs refuses it rather than run other dynamics. */
  | { name: string; file: string; sha256: string };

/** A `PoolSpec` as it travels: the family by name or path, never its code. */
export interface WireSpec {
  family: WireFamily;
  agent: string;
  config: Record<string, unknown>;
  backend: string;
  stepTimeoutMs: number;
}

export type LaneJob =
  /**
   * One request to lane `lane` of learner `run`. `body` and each of `replay` are a v8-serialized
   * `{ kind, request }` (base64, large typed arrays as blob references). A worker that takes
   * over a lane first runs `replay` (the lane's requests since its state was last replaced) and
   * then the request, so it holds the state the lost worker held.
   */
  | {
      type: 'call';
      protocol: number;
      version: string;
      run: string;
      lane: number;
      spec: WireSpec;
      body: string;
      replay: string[];
      /** Names the shard in errors ("tasks 10–19 of the meta-batch …"). */
      describe: string | null;
    }
  /** The learner is done: the worker frees its lanes of `run`. */
  | { type: 'close'; protocol: number; run: string };

/** Stored under `keys.result(jobId)` before the notice goes out. */
export type JobOutcome = { ok: true; result: unknown } | { ok: false; error: SerializedError };

/** Published on `keys.channel(run)` (v8-serialized). */
export type WorkerNotice = { type: 'event'; jobId: string; event: ShardEvent } | { type: 'done'; jobId: string };

/** A worker's registration, renewed by its heartbeat. */
export interface WorkerInfo {
  id: string;
  version: string;
  protocol: number;
  host: string;
  pid: number;
  /** Lanes it runs at once (its task-worker threads). */
  threads: number;
}

/** A marker in a serialized request where a large typed array was taken out into a blob. */
export interface BlobRef {
  $blob: string;
  type: string;
}

/**
 * Every message between the sampler and its workers: one versioned union per
 * direction, discriminated by `type`, imported by both ends. Messages carry only
 * what happens once per sampler or per job; per-step traffic goes through the
 * shared buffers and `Atomics` of `layout.ts`, never through `postMessage`.
 *
 * @internal
 */
import type { MetarlErrorCode } from '../core/errors.js';
import type { FamilyRef } from '../core/registry.js';
import type { SceneDescription } from '../core/scene.js';
import type { EnvSpec, Task } from '../core/types.js';
import type { JobBuffers } from './layout.js';

/** Bump when a message changes shape; a worker of another version is refused. */
export const PROTOCOL_VERSION = 3;

/** The plain-data part of a job that a slot runner needs (the same on every worker). */
export interface JobPlan {
  tasks: Task[];
  slotsPerTask: number;
  episodes: number;
  horizon: number;
  seed: number;
  /** Watched slot ids; row i of the poses buffer belongs to `watchSlots[i]`. */
  watchSlots: number[];
}

/** A `MetarlError` flattened for `postMessage` (a class does not survive structured cloning). */
export interface SerializedError {
  code: MetarlErrorCode;
  message: string;
  details: Record<string, unknown>;
  stack?: string;
}

export type MainToWorker =
  | {
      type: 'init';
      version: number;
      family: FamilyRef;
      ctrl: SharedArrayBuffer;
      /** The call block (`layout.ts`); this worker writes row `workerIndex`. */
      calls: SharedArrayBuffer;
      workerIndex: number;
      /** The most ArrayBuffer memory the worker's envs may hold, in MB (its heap limit is set when it starts). */
      memoryMb: number;
    }
  | {
      type: 'job';
      version: number;
      jobId: number;
      plan: JobPlan;
      buffers: JobBuffers;
      /** This worker's contiguous slot range [slotBegin, slotEnd). */
      slotBegin: number;
      slotEnd: number;
    };

export type WorkerToMain =
  | { type: 'ready'; version: number; spec: EnvSpec; familyName: string }
  | { type: 'initFailed'; version: number; error: SerializedError }
  | { type: 'jobReady'; version: number; jobId: number; scenes: Array<{ slot: number; scene: SceneDescription }> }
  | { type: 'failed'; version: number; jobId: number; error: SerializedError }
  | {
      type: 'jobDone';
      version: number;
      jobId: number;
      /** Info keys and, per key, sums over [slotEnd − slotBegin, episodes] of this worker's range. */
      infoKeys: string[];
      infoSums: Float64Array[];
    };

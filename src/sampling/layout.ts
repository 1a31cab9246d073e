/**
 * The shared-memory layout between the sampler (main thread) and its workers.
 *
 * Two kinds of buffers:
 *
 * 1. The control block, one per sampler: an `Int32Array` over a `SharedArrayBuffer`
 *    of `CTRL_INTS` cells at the named offsets below. The main thread publishes a
 *    command by writing `CTRL_COMMAND`, setting `CTRL_REMAINING` to the number of
 *    workers in the job, then bumping `CTRL_GO_SEQ` and notifying it. Each worker
 *    sleeps in `Atomics.wait` on `CTRL_GO_SEQ`, runs the command over its slots,
 *    and decrements `CTRL_REMAINING`; the last one notifies it, which resolves the
 *    main thread's `Atomics.waitAsync`. The seq-cst `Atomics` operations on either
 *    side are what make the plain typed-array writes before them visible after.
 *
 * 2. The job buffers, one set per `sample()` call: every per-slot array the policy
 *    reads or writes, plus the batch itself, each its own `SharedArrayBuffer` so a
 *    worker writes its rows in place and nothing is copied per step (see `JobBuffers`).
 *
 * 3. The call block, one per sampler: an `Int32Array` of `CALL_STRIDE` cells per
 *    worker (row = worker index; the inline sampler has one row) saying which env call
 *    the thread is inside, so that a call that never returns can be named and stopped
 *    (`watchdog.ts`). It holds no times: the watcher times a call with its own clock.
 *
 * @internal
 */
import { POSE_STRIDE } from '../core/scene.js';

/** Bumped by the main thread to wake the workers for the next command. */
export const CTRL_GO_SEQ = 0;
/** The command the workers run when woken: `CMD_STEP`, `CMD_END` or `CMD_QUIT`. */
export const CTRL_COMMAND = 1;
/** Workers that have not yet finished the current step; the last one notifies. */
export const CTRL_REMAINING = 2;
/** Set to 1 by a worker whose env failed (the details follow as a message), or by the main thread when a worker died or the sampler closed. */
export const CTRL_FAILED = 3;
export const CTRL_INTS = 4;

/** Step every active slot in your range once. */
export const CMD_STEP = 1;
/** The job is over (or aborted): report info sums, dispose the envs, go idle. */
export const CMD_END = 2;
/** The sampler is closing: dispose the envs and stop. */
export const CMD_QUIT = 3;

/** The slot whose env the thread is calling, or −1 between calls (stored last on entry, so the other cells are current when it is read). */
export const CALL_SLOT = 0;
/** Which call: an index into `ENV_CALLS`. */
export const CALL_KIND = 1;
/** Bumped at every call: a watcher that finds the same number twice has found the same call. */
export const CALL_SEQ = 2;
export const CALL_STRIDE = 3;
export const ENV_CALLS = ['makeEnv', 'reset', 'step', 'frame', 'scene'] as const;
export type EnvCall = (typeof ENV_CALLS)[number];

/** Per-slot ints in `JobBuffers.slotState`: the slot's current episode and its step within it. */
export const SLOT_EPISODE = 0;
export const SLOT_T = 1;
export const SLOT_STRIDE = 2;

/** Sizes of one job; S = slots, E = episodes per slot, H = horizon. */
export interface JobShape {
  slots: number;
  episodes: number;
  horizon: number;
  obsSize: number;
  actSize: number;
  /** Watched slots, in the order of `JobBuffers.poses` rows. */
  watchCount: number;
  bodyCount: number;
}

/** The shared buffers of one job, as they cross to a worker (plain `SharedArrayBuffer`s). */
export interface JobBuffers {
  /** Float32 [S, obsSize]: the observation each slot's policy sees next. */
  obs: SharedArrayBuffer;
  /** Float32 [S, actSize]: the previous action of each slot's trial. */
  prevAction: SharedArrayBuffer;
  /** Float32 [S] each: `StepInput`'s flags and previous reward. */
  prevReward: SharedArrayBuffer;
  prevDone: SharedArrayBuffer;
  trialStart: SharedArrayBuffer;
  active: SharedArrayBuffer;
  /** Float32 [S, actSize]: the actions of this step, written by the main thread. */
  action: SharedArrayBuffer;
  /** Int32 [S, SLOT_STRIDE]: episode and t per slot (`SLOT_EPISODE`, `SLOT_T`). */
  slotState: SharedArrayBuffer;
  /** Float32 [watchCount, bodyCount × POSE_STRIDE]: poses after the last step of each watched slot. */
  poses: SharedArrayBuffer;
  /** The batch: Float32 [S, E, H, obsSize], [S, E, H, actSize], [S, E, H]; Int32 / Uint8 / Float32 [S, E]; Float32 [S, E, obsSize]. */
  batchObs: SharedArrayBuffer;
  batchActions: SharedArrayBuffer;
  batchRewards: SharedArrayBuffer;
  lengths: SharedArrayBuffer;
  terminated: SharedArrayBuffer;
  returns: SharedArrayBuffer;
  /** Float32 [S, E, obsSize]: the observation each episode ended on (the s' of its last step). */
  batchFinalObs: SharedArrayBuffer;
}

/** Typed views over `JobBuffers`, built once per job on each side. */
export interface JobViews {
  obs: Float32Array;
  prevAction: Float32Array;
  prevReward: Float32Array;
  prevDone: Float32Array;
  trialStart: Float32Array;
  active: Float32Array;
  action: Float32Array;
  slotState: Int32Array;
  poses: Float32Array;
  batchObs: Float32Array;
  batchActions: Float32Array;
  batchRewards: Float32Array;
  lengths: Int32Array;
  terminated: Uint8Array;
  returns: Float32Array;
  batchFinalObs: Float32Array;
}

const F32 = 4;
const I32 = 4;

/** Bytes of each job buffer. */
function bufferBytes(shape: JobShape): Record<keyof JobBuffers, number> {
  const { slots: S, episodes: E, horizon: H, obsSize: O, actSize: A } = shape;
  return {
    obs: S * O * F32,
    prevAction: S * A * F32,
    prevReward: S * F32,
    prevDone: S * F32,
    trialStart: S * F32,
    active: S * F32,
    action: S * A * F32,
    slotState: S * SLOT_STRIDE * I32,
    poses: shape.watchCount * shape.bodyCount * POSE_STRIDE * F32,
    batchObs: S * E * H * O * F32,
    batchActions: S * E * H * A * F32,
    batchRewards: S * E * H * F32,
    lengths: S * E * I32,
    terminated: S * E,
    returns: S * E * F32,
    batchFinalObs: S * E * O * F32,
  };
}

/** What `allocateJobBuffers(shape)` would take, in bytes: known before anything is allocated. */
export function jobBytes(shape: JobShape): number {
  return Object.values(bufferBytes(shape)).reduce((sum, n) => sum + n, 0);
}

export function allocateJobBuffers(shape: JobShape): JobBuffers {
  const bytes = bufferBytes(shape);
  const buffers = {} as Record<keyof JobBuffers, SharedArrayBuffer>;
  for (const key of Object.keys(bytes) as Array<keyof JobBuffers>) buffers[key] = new SharedArrayBuffer(bytes[key]);
  return buffers;
}

export function viewJobBuffers(b: JobBuffers): JobViews {
  return {
    obs: new Float32Array(b.obs),
    prevAction: new Float32Array(b.prevAction),
    prevReward: new Float32Array(b.prevReward),
    prevDone: new Float32Array(b.prevDone),
    trialStart: new Float32Array(b.trialStart),
    active: new Float32Array(b.active),
    action: new Float32Array(b.action),
    slotState: new Int32Array(b.slotState),
    poses: new Float32Array(b.poses),
    batchObs: new Float32Array(b.batchObs),
    batchActions: new Float32Array(b.batchActions),
    batchRewards: new Float32Array(b.batchRewards),
    lengths: new Int32Array(b.lengths),
    terminated: new Uint8Array(b.terminated),
    returns: new Float32Array(b.returns),
    batchFinalObs: new Float32Array(b.batchFinalObs),
  };
}

/**
 * The reset seed of slot `slot`, episode `episode` of a job seeded `seed`: a pure
 * hash of the three, so it never depends on which worker runs the slot.
 * (murmur3's 32-bit finaliser over a running mix; 31 bits, non-negative.)
 */
export function resetSeed(seed: number, slot: number, episode: number): number {
  let h = Math.imul(seed | 0, 0x9e3779b1) ^ 0x85ebca6b;
  h = fmix(h ^ Math.imul(slot | 0, 0xcc9e2d51));
  h = fmix(h ^ Math.imul(episode | 0, 0x1b873593));
  return h >>> 1;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

import type { FamilyRef } from '../core/registry.js';
import type { Task } from '../core/types.js';
import type { SceneDescription } from '../core/scene.js';

/**
 * One sampling job: run `episodesPerSlot` consecutive episodes in each of
 * `tasks.length × slotsPerTask` env slots. Slot s runs task `tasks[floor(s / slotsPerTask)]`.
 * Episodes within a slot follow each other (an RL² trial); slots run side by side
 * (MAML's episodes per task). The result depends on the job alone, never on how many
 * workers ran it.
 */
export interface SampleJob {
  tasks: Task[];
  slotsPerTask: number;
  episodesPerSlot: number;
  /** Steps per episode at most (defaults to the family's horizon). */
  horizon?: number;
  /** Seeds every reset: slot s, episode e resets with a seed derived from (seed, s, e). */
  seed: number;
  /** Which slots stream their poses to `onFrame` (for the viewer); none by default. */
  watchSlots?: number[];
}

/** What the policy sees at one step, for all slots at once. */
export interface StepInput {
  /** [slots, obsSize] */
  obs: Float32Array;
  /** [slots, actSize]: the action taken at the previous step of this slot's trial (zeros at its start). */
  prevAction: Float32Array;
  /** [slots]: previous reward (0 at a trial's start). */
  prevReward: Float32Array;
  /** [slots]: 1 where the previous step ended an episode (or the trial just started), else 0. */
  prevDone: Float32Array;
  /** [slots]: 1 where this step is the first of a trial (reset recurrent state), else 0. */
  trialStart: Float32Array;
  /** [slots]: 1 where the slot is still running, 0 where all its episodes are done. */
  active: Float32Array;
  /** Step index within the job (shared by all slots). */
  step: number;
}

/** Anything that maps a batch of observations to a batch of actions. */
export interface VectorPolicy {
  /**
   * Returns [slots, actSize] actions (unclipped samples; envs clip). The input's arrays are the
   * sampler's shared buffers, rewritten by the next step: copy what you keep past the returned promise.
   */
  act(input: StepInput): Promise<Float32Array> | Float32Array;
}

/**
 * A sampled batch, dense and padded: index (slot, episode, t). Steps past an
 * episode's `length` are zeros. The typed arrays are views over `SharedArrayBuffer`s
 * (written in place by the workers), owned by the caller once `sample()` resolves.
 */
export interface Batch {
  slots: number;
  episodes: number;
  horizon: number;
  obsSize: number;
  actSize: number;
  slotsPerTask: number;
  tasks: Task[];
  /** [slots, episodes, horizon, obsSize] */
  obs: Float32Array;
  /** [slots, episodes, horizon, actSize]: the actions the policy returned (before clipping). */
  actions: Float32Array;
  /** [slots, episodes, horizon] */
  rewards: Float32Array;
  /** [slots, episodes]: steps taken in each episode. */
  lengths: Int32Array;
  /** [slots, episodes]: 1 if the episode ended in a terminal state, 0 if truncated at the horizon. */
  terminated: Uint8Array;
  /** [slots, episodes]: undiscounted return. */
  returns: Float32Array;
  /**
   * [slots, episodes, obsSize]: the observation each episode ended on, terminal or truncated
   * (the next observation of its last step, which `obs` does not hold: off-policy learners need it).
   */
  finalObs: Float32Array;
  /** Per-episode sums of each `info` key, [slots, episodes] each. */
  infoSums: Record<string, Float32Array>;
  /** Env steps actually taken. */
  envSteps: number;
}

export interface FrameEvent {
  slot: number;
  episode: number;
  t: number;
  /** Packed poses (bodyCount × POSE_STRIDE); valid only during the callback. */
  poses: Float32Array;
  reward: number;
}

/** A Gaussian belief over a latent task variable z: mean and standard deviation (> 0) per dimension, [L] each. */
export interface Belief {
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
}

export interface SampleHooks {
  /** Called once per watched slot when its env is made (the scene of its task). */
  onScene?(slot: number, scene: SceneDescription): void;
  onFrame?(event: FrameEvent): void;
  /** Called at the end of every slot's episodes, watched or not (a consumer that shows lanes filters by slot). */
  onEpisodeEnd?(slot: number, episode: number, ret: number, length: number): void;
}

export interface SamplerOptions {
  family: FamilyRef;
  /** Worker threads; 0 steps every env on the calling thread. Default: one per core. */
  workers?: number;
  /**
   * How long one env call (makeEnv, reset, step, frame, scene) may take, in ms; 0 = no limit.
   * Default 60 000. Past it, a worker is stopped and `sample()` rejects with METARL_STEP_TIMEOUT
   * naming the family, task, slot, episode and step (the sampler is then done: close it). With
   * `workers: 0` the call holds the calling thread, which nothing can interrupt: a watchdog
   * thread prints that error to stderr and ends the process (SIGKILL).
   */
  stepTimeoutMs?: number;
  /**
   * Per worker, the MB of JS heap (V8's `maxOldGenerationSizeMb`) and, separately, of typed
   * arrays its envs may hold; past either, sampling fails with METARL_RESOURCE_LIMIT.
   * WebAssembly memory is not counted. Default: half the machine's memory shared between
   * the workers, clamped to 256–4096. Not applied with `workers: 0`.
   */
  workerMemoryMb?: number;
}

export interface Sampler {
  readonly workers: number;
  sample(job: SampleJob, policy: VectorPolicy, hooks?: SampleHooks): Promise<Batch>;
  /** Ends the workers and frees every env; idempotent. */
  close(): Promise<void>;
}

import type { JsonValue, Task } from './types.js';

/**
 * The shape every meta-learner (agents/maml.ts, agents/rl2.ts, agents/pearl.ts) exposes to the
 * training loop. An agent owns its sampling and its update (read its file top to
 * bottom); the loop owns tasks, timing, metrics, checkpoints and the viewer.
 */
export interface MetaLearner {
  readonly agent: string;
  /** Names of the adaptation stages, e.g. ['pre', 'step 1'] (MAML) or ['episode 1', 'episode 2'] (RL²). */
  readonly stages: readonly string[];
  /** Training tasks the loop draws for each `iterate` call (the meta-batch). */
  readonly tasksPerIteration: number;
  /** One meta-iteration on these training tasks: sample, then update. */
  iterate(tasks: Task[]): Promise<IterationMetrics>;
  /** Mean return per adaptation stage on held-out tasks, without changing the learner. */
  evaluate(tasks: Task[], options?: EvaluateOptions): Promise<AdaptationResult>;
  /**
   * Adapts to one task the way meta-test does (`evaluate([task], { seed, adaptationSteps: steps })`
   * adapts on the same episodes) and hands back the adapted policy, to act with in your own loop.
   * The learner is left as it was; the policy is independent of it (its own tensors).
   */
  adapt(task: Task, options?: AdaptOptions): Promise<AdaptedPolicy>;
  /** Everything needed to continue exactly: weights, optimiser, baseline, RNG. */
  state(): Promise<LearnerState>;
  restore(state: LearnerState): Promise<void>;
  /** Frees every tensor the learner holds; idempotent. */
  dispose(): void;
}

export interface IterationMetrics {
  /** Mean undiscounted return per stage, aligned with `stages`. */
  stageReturns: number[];
  /** Losses, KL, entropy and the like, by name. */
  figures: Record<string, number>;
  /** Env steps sampled in this iteration. */
  envSteps: number;
  /** Seconds spent sampling vs updating. */
  sampleSeconds: number;
  learnSeconds: number;
}

export interface EvaluateOptions {
  /**
   * Adaptation steps after the first stage, one meaning for every agent: MAML's inner steps, RL²'s
   * episodes after the first (default: as in training). The result has this many stages plus one.
   */
  adaptationSteps?: number;
  /** Reset seed of the evaluation rollouts. */
  seed?: number;
  /** false: stream nothing to a viewer (training's periodic checks, which would take over its lanes); default true. */
  watch?: boolean;
}

export interface AdaptOptions {
  /**
   * Adaptation steps, as `EvaluateOptions.adaptationSteps`: MAML's inner steps, RL²'s and PEARL's
   * episodes played before the policy is handed over (default: as evaluation, stages − 1).
   */
  steps?: number;
  /** Seed of the adaptation episodes (reset seeds and noise), as `EvaluateOptions.seed`; default 0. */
  seed?: number;
}

/**
 * A policy adapted to one task by `MetaLearner.adapt`. Acting is deterministic: MAML's adapted
 * Gaussian mean; RL²'s LSTM mean, its state carried from the adaptation episodes on; PEARL's
 * tanh(mean) at z = the posterior mean of the adaptation episodes' context.
 */
export interface AdaptedPolicy {
  /** Mean return of each adaptation stage played (`steps` of them): `evaluate`'s first `steps` stages. */
  readonly returns: readonly number[];
  /** Starts an episode: call after `env.reset()`, before the episode's first `act`. */
  reset(): void;
  /**
   * The action for `obs` [obsSize], a new [actSize] array (unclipped; envs clip). `reward` is what
   * the env returned for the previous action: RL² reads it (its input holds the previous reward),
   * MAML and PEARL ignore it, and it is ignored at an episode's first step.
   */
  act(obs: Float32Array, reward?: number): Promise<Float32Array>;
  /** Frees the policy's tensors; idempotent. */
  dispose(): void;
}

export interface AdaptationResult {
  stages: string[];
  /** returns[stage][task]: mean return of that task's episodes at that stage. */
  returns: number[][];
}

export interface SavedArray {
  shape: number[];
  data: Float32Array;
}

export interface LearnerState {
  arrays: Record<string, SavedArray>;
  /** Plain data: RNG states, step counters, baseline coefficients, … */
  meta: { [key: string]: JsonValue };
}

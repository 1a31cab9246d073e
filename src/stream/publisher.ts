/**
 * What a training or evaluation loop streams to: the viewer server, a rollout recorder,
 * or both at once through `teePublishers`. Stage, scene and frame meanings are those
 * of ./protocol.ts.
 */
import type { SceneDescription } from '../core/scene.js';
import type { Belief } from '../sampling/types.js';
import type { MetricsRow, RunInfo, Stage } from './protocol.js';

export interface Publisher {
  /** Run info for the HUD (family, agent, backend, a config summary). */
  hello(run: RunInfo | null): void;
  /** The scene of env `envId` (one task at one adaptation stage); `dt` in seconds per step. */
  scene(envId: number, scene: SceneDescription, stage: Stage, dt: number): void;
  /**
   * Poses after step `step` (bodyCount × POSE_STRIDE floats) and that step's reward; the
   * running return restarts at step 0 and at `episodeStart`. `poses` is read at once, not kept.
   */
  frame(envId: number, step: number, poses: Float32Array, reward?: number): void;
  /** Stage defaults to the env's current one; a given stage becomes current (RL²'s next episode in the same env). */
  episodeStart(envId: number, stage?: Stage): void;
  episodeEnd(envId: number, ret: number, length: number, stage?: Stage): void;
  /**
   * The learner's belief over its task latent for `episode` (0-based, of the trial) playing in
   * env `envId`, after that env's scene and before its frames; stage defaults to the env's
   * current one. `mean` and `std` are read at once, not kept.
   */
  belief(envId: number, episode: number, belief: Belief, stage?: Stage): void;
  /** One training iteration's row. */
  metrics(row: MetricsRow): void;
  /** Forget every env; new scenes follow. */
  reset(): void;
}

/** One publisher that forwards every call to each of `targets`, in order. */
export function teePublishers(...targets: Publisher[]): Publisher {
  return {
    hello: (run) => targets.forEach((t) => t.hello(run)),
    scene: (envId, scene, stage, dt) => targets.forEach((t) => t.scene(envId, scene, stage, dt)),
    frame: (envId, step, poses, reward) => {
      for (const t of targets) t.frame(envId, step, poses, reward);
    },
    episodeStart: (envId, stage) => targets.forEach((t) => t.episodeStart(envId, stage)),
    episodeEnd: (envId, ret, length, stage) => targets.forEach((t) => t.episodeEnd(envId, ret, length, stage)),
    belief: (envId, episode, belief, stage) => targets.forEach((t) => t.belief(envId, episode, belief, stage)),
    metrics: (row) => targets.forEach((t) => t.metrics(row)),
    reset: () => targets.forEach((t) => t.reset()),
  };
}

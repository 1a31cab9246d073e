import type { Rng } from './rng.js';
import type { SceneDescription } from './scene.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A task is plain data: it crosses threads, logs and the wire. */
export interface Task {
  readonly [key: string]: JsonValue;
}

export interface EnvSpec {
  obsSize: number;
  actSize: number;
  /** Actions are in [actLow, actHigh] per dimension: [-1, 1] for every built-in family. */
  actLow: Float32Array;
  actHigh: Float32Array;
  /** Steps before truncation. */
  horizon: number;
  /** Simulated seconds per env step. */
  dt: number;
  /** Number of bodies in a frame (poses of `POSE_STRIDE` floats each). */
  bodyCount: number;
}

export interface StepResult {
  obs: Float32Array;
  reward: number;
  /** The episode ended in a terminal state (no bootstrapping past it). */
  terminated: boolean;
  /** The episode was cut short (horizon) and could have gone on. */
  truncated: boolean;
  /** Reward terms and other per-step figures, same keys from the first step. */
  info?: Record<string, number>;
}

export interface Env {
  readonly spec: EnvSpec;
  /** Starts an episode; `seed` drives the reset noise. */
  reset(seed?: number): Float32Array;
  /** Clips the action to the action box, advances one `dt`. Throws on a wrong-length or NaN action. */
  step(action: Float32Array): StepResult;
  /** Static scene for the viewer (bodies, ground, task markers). */
  scene(): SceneDescription;
  /** Current body poses, packed (`bodyCount × POSE_STRIDE`), written into `out` if given. */
  frame(out?: Float32Array): Float32Array;
  /** Frees the Rapier world; idempotent. */
  dispose(): void;
}

export interface TaskFamily<T extends Task = Task> {
  readonly name: string;
  readonly description: string;
  readonly spec: EnvSpec;
  /** `n` tasks drawn from the family's distribution; deterministic for the rng's state. */
  sampleTasks(rng: Rng, n: number): T[];
  makeEnv(task: T): Env;
  /** Named task ranges, for `metarl envs` and docs (e.g. { 'target velocity': 'U[0, 2]' }). */
  readonly taskRanges?: Readonly<Record<string, string>>;
}

/**
 * `RobotEnv`: the `Env` contract around a `RobotWorld`, so a family supplies only what
 * is its own (STYLE rule 6): reset noise, observation, reward and termination.
 *
 * Buffers: `step` returns the same result object and the same `obs` array every call
 * (the sampler copies them out); `reset` returns a fresh copy, so it may be kept.
 */
import { MetarlError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { MarkerDescription, SceneDescription } from '../core/scene.js';
import type { Env, EnvSpec, StepResult } from '../core/types.js';
import { buildRobot, type RobotPose, type RobotWorld } from './build.js';
import { robotSceneBodies } from './shapes.js';
import { flatGround, type GroundDescription } from './ground.js';
import type { RobotDescription } from './robot.js';

/** What a family's hooks see after each step. */
export interface StepContext {
  rw: RobotWorld;
  /** The clipped action. */
  action: Float32Array;
  /** Torso (root body) centre of mass, world, before and after the step, m. */
  comBefore: Float64Array;
  comAfter: Float64Array;
  dt: number;
  /** Steps taken in this episode, including this one. */
  t: number;
}

export interface RobotEnvConfig {
  /** Family name: used in errors and in the scene. */
  family: string;
  robot: RobotDescription;
  ground?: GroundDescription;
  spec: EnvSpec;
  /** World steps per env step. */
  substeps: number;
  solverIterations?: number;
  /** Reward terms reported in `info`, in a fixed order (same keys from the first step). */
  infoKeys: readonly string[];
  /** The pose to start an episode from: nominal pose plus noise from `rng`. */
  resetPose(rng: Rng, rw: RobotWorld): RobotPose;
  /** Writes the observation (spec.obsSize floats) from `rw`'s last read state. */
  observe(rw: RobotWorld, out: Float32Array): void;
  /** Returns the reward and writes each term into `info`. */
  reward(ctx: StepContext, info: Record<string, number>): number;
  /** True when the state is terminal (the robot fell). Default: never. */
  terminated?(ctx: StepContext): boolean;
  markers?: MarkerDescription[];
  taskLabel?: Record<string, number | string>;
}

export class RobotEnv implements Env {
  readonly spec: EnvSpec;
  private readonly config: RobotEnvConfig;
  private readonly ground: GroundDescription;
  private rw: RobotWorld;
  private rng = new Rng(0);
  private t = 0;
  private disposed = false;
  private readonly action: Float32Array;
  private readonly obs: Float32Array;
  private readonly info: Record<string, number> = {};
  private readonly result: StepResult;
  private readonly ctx: StepContext;

  constructor(config: RobotEnvConfig) {
    this.config = config;
    this.spec = config.spec;
    this.ground = config.ground ?? flatGround();
    this.action = new Float32Array(config.spec.actSize);
    this.obs = new Float32Array(config.spec.obsSize);
    for (const key of config.infoKeys) this.info[key] = 0;
    this.rw = this.build();
    if (this.rw.actuatorCount !== config.spec.actSize) {
      this.rw.dispose();
      throw new MetarlError('METARL_SPEC_MISMATCH', `env '${config.family}': robot '${config.robot.name}' has ${this.rw.actuatorCount} actuators but spec.actSize is ${config.spec.actSize}`, { env: config.family });
    }
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, info: this.info };
    this.ctx = { rw: this.rw, action: this.action, comBefore: new Float64Array(3), comAfter: new Float64Array(3), dt: config.spec.dt, t: 0 };
    this.startEpisode();
  }

  /** The robot world of the current episode (rebuilt by every reset). @internal for tests and benches. */
  get robotWorld(): RobotWorld {
    return this.rw;
  }

  private build(): RobotWorld {
    const { robot, spec, substeps, solverIterations } = this.config;
    return buildRobot(robot, this.ground, { dt: spec.dt, substeps, solverIterations });
  }

  private startEpisode(): void {
    this.rw.setPose(this.config.resetPose(this.rng, this.rw));
    this.ctx.rw = this.rw;
    this.t = 0;
    this.config.observe(this.rw, this.obs);
  }

  reset(seed?: number): Float32Array {
    this.assertLive('reset');
    if (seed !== undefined) this.rng = new Rng(seed);
    // A fresh world each episode: no contact cache or solver warm-start carries over,
    // so an episode depends on its seed alone (the determinism test relies on it).
    this.rw.dispose();
    this.rw = this.build();
    this.startEpisode();
    return this.obs.slice();
  }

  step(action: Float32Array): StepResult {
    this.assertLive('step');
    const { spec } = this;
    if (!action || action.length !== spec.actSize) {
      throw new MetarlError('METARL_BAD_ACTION', `env '${this.config.family}': action has length ${action?.length ?? 'undefined'}, expected ${spec.actSize} (spec.actSize)`, { env: this.config.family });
    }
    for (let i = 0; i < spec.actSize; i++) {
      const a = action[i];
      if (Number.isNaN(a)) {
        throw new MetarlError('METARL_BAD_ACTION', `env '${this.config.family}': action[${i}] is NaN; check the policy's output for NaNs`, { env: this.config.family, index: i });
      }
      this.action[i] = a < spec.actLow[i] ? spec.actLow[i] : a > spec.actHigh[i] ? spec.actHigh[i] : a;
    }
    const { rw, ctx } = this;
    rw.bodyCom(0, ctx.comBefore);
    rw.actuate(this.action);
    rw.advance();
    rw.readState();
    rw.bodyCom(0, ctx.comAfter);
    this.t++;
    ctx.t = this.t;
    this.config.observe(rw, this.obs);
    const r = this.result;
    r.reward = this.config.reward(ctx, this.info);
    r.terminated = this.config.terminated ? this.config.terminated(ctx) : false;
    r.truncated = !r.terminated && this.t >= spec.horizon;
    return r;
  }

  scene(): SceneDescription {
    return {
      family: this.config.family,
      bodies: robotSceneBodies(this.config.robot),
      ground: this.ground,
      markers: this.config.markers ?? [],
      taskLabel: this.config.taskLabel ?? {},
    };
  }

  frame(out?: Float32Array): Float32Array {
    this.assertLive('frame');
    return this.rw.frame(out);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rw.dispose();
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', `env '${this.config.family}': ${what}() after dispose(); make a new env with family.makeEnv(task)`, { env: this.config.family });
  }
}

/** The action box of every built-in family: [-1, 1]^n. */
export function unitActionSpec(n: number): { actLow: Float32Array; actHigh: Float32Array } {
  return { actLow: new Float32Array(n).fill(-1), actHigh: new Float32Array(n).fill(1) };
}

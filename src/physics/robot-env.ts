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
    const bodies = config.robot.bodies.length;
    if (bodies !== config.spec.bodyCount) {
      throw new MetarlError('METARL_SPEC_MISMATCH', `env '${config.family}': robot '${config.robot.name}' has ${bodies} bodies but spec.bodyCount is ${config.spec.bodyCount}: set spec.bodyCount to the number of bodies in the description`, { env: config.family, field: 'spec.bodyCount' });
    }
    this.rw = this.build();
    if (this.rw.actuatorCount !== config.spec.actSize) {
      this.rw.dispose();
      throw new MetarlError('METARL_SPEC_MISMATCH', `env '${config.family}': robot '${config.robot.name}' has ${this.rw.actuatorCount} actuators but spec.actSize is ${config.spec.actSize}`, { env: config.family, field: 'spec.actSize' });
    }
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, info: this.info };
    this.ctx = { rw: this.rw, action: this.action, comBefore: new Float64Array(3), comAfter: new Float64Array(3), dt: config.spec.dt, t: 0 };
    this.startEpisode();
    try {
      checkObserve(config, this.rw);
    } catch (err) {
      this.rw.dispose();
      throw err;
    }
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

/**
 * Runs `observe` once on a buffer that records its writes. An observe that writes fewer
 * floats than spec.obsSize leaves zeros the policy takes for data, and a Float32Array
 * silently drops writes past its end, so either mistake would train without a word.
 * Once, at construction: the hot path keeps its plain buffer.
 */
function checkObserve(config: RobotEnvConfig, rw: RobotWorld): void {
  const size = config.spec.obsSize;
  const written = new Float32Array(size).fill(NaN);
  let pastEnd = -1;
  const probe = new Proxy(written, {
    set(target, key, value) {
      const i = typeof key === 'string' ? Number(key) : NaN;
      if (Number.isInteger(i) && i >= size) {
        pastEnd = Math.max(pastEnd, i);
        return true;
      }
      return Reflect.set(target, key, value);
    },
    // Methods (set, fill, subarray) must run on the array itself: a typed array's methods reject a Proxy as `this`.
    get(target, key) {
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  config.observe(rw, probe);
  const fail = (why: string) => {
    throw new MetarlError('METARL_SPEC_MISMATCH', `env '${config.family}': observe() ${why}`, { env: config.family, field: 'spec.obsSize' });
  };
  if (pastEnd >= 0) fail(`writes ${pastEnd + 1} floats (up to obs[${pastEnd}]) but spec.obsSize is ${size}: set spec.obsSize to ${pastEnd + 1}`);
  const unwritten = [...written.keys()].filter((i) => Number.isNaN(written[i]));
  if (unwritten.length > 0) {
    fail(`writes ${size - unwritten.length} floats but spec.obsSize is ${size}: obs[${unwritten.join(', ')}] left unwritten (or NaN); write every slot, or set spec.obsSize to the floats you write`);
  }
}

/** The action box of every built-in family: [-1, 1]^n. */
export function unitActionSpec(n: number): { actLow: Float32Array; actHigh: Float32Array } {
  return { actLow: new Float32Array(n).fill(-1), actHigh: new Float32Array(n).fill(1) };
}

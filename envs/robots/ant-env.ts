/**
 * `AntEnv`: the `Env` of the three ant families (ant-dir, ant-goal, ant-terrain).
 * Each family supplies its ground, reward, termination height and extra observation.
 *
 * Why not `RobotEnv` (src/physics/robot-env.ts): the ant needs MuJoCo's armature.
 * In MuJoCo, armature a adds a·q̈ to each hinge's equation (joint space): at gear 150
 * the ant's 0.04–0.07 kg legs then accelerate at ~150 rad/s², not ~10⁴. Measured with
 * the builder (random actions, 200 steps): without armature the ant flew off at
 * 14–16 m/s within 3 steps; with the builder's armature (1 kg·m² of extra isotropic
 * inertia per leg body) it left the ground under zero action (torso to 3.7 m) and
 * reached 118 m/s; with that inertia about the hinge axis only, 10¹⁰ m/s, even at
 * gear 15: the reaction torque lands on the light torso. Here each hinge instead
 * gets, every substep h, an implicit velocity motor with damping D = a/h + d and
 * target v* = (a·q̇ₙ/h + τ)/D; Rapier solves it implicitly, so the joint feels
 * τ − a·(q̇ₙ₊₁ − q̇ₙ)/h − d·q̇ₙ₊₁: torque, armature and joint damping, with equal and
 * opposite reactions on the two bodies, as MuJoCo applies them. v* is also clamped
 * so one substep cannot cross a joint limit (Rapier's limits alone gave way by ~1 rad
 * against such a motor). Measured over 6 seeds × 200 random-action steps on flat
 * ground: no episode terminated, torso speed ≤ 2.3 m/s, joint limits exceeded by
 * ≤ 0.33 rad (test/envs/ant-dir.test.ts checks speed < 5 m/s and limits < 0.4 rad).
 * world.step() takes 91–95% of env.step().
 * This belongs in `RobotWorld.advance`; until it is there this class duplicates
 * RobotEnv's glue (checks, clipping, reset, scene).
 *
 * The observation (27 floats before a family's extras) follows gym's Ant, qpos[2:]
 * then qvel, in MuJoCo's z-up axes:
 *   0 torso height above the local ground (m) | 1–4 torso orientation quaternion w, x, y, z
 *   5–12 hip_1, ankle_1, …, hip_4, ankle_4 angles (rad)
 *   13–15 torso centre-of-mass velocity x, y, z (m/s) | 16–18 torso angular velocity (rad/s, world axes)
 *   19–26 the eight joint rates (rad/s)
 * (MuJoCo gives the free joint's angular velocity in the body frame; ours is in world axes.)
 */
import { MetarlError } from '../../src/core/errors.js';
import type { Rng } from '../../src/core/rng.js';
import { Rng as RngClass } from '../../src/core/rng.js';
import type { MarkerDescription, SceneDescription } from '../../src/core/scene.js';
import type { Env, EnvSpec, StepResult } from '../../src/core/types.js';
import { buildRobot, robotSceneBodies, type GroundDescription, type RobotWorld } from '../../src/physics/index.js';
import { ANT_ARMATURE, ANT_INIT_JOINTS, ANT_JOINT_DAMPING, antDescription } from './ant.js';

export const ANT_DT = 0.05;
/** World steps per env step: h = 0.01 s, MuJoCo's timestep × frame-skip 5. */
export const ANT_SUBSTEPS = 5;
/**
 * Rapier's default. 8 iterations held the limits a little better (≤ 0.28 rad vs
 * ≤ 0.33 rad over the runs below) but made env.step ~27% slower.
 */
export const ANT_SOLVER_ITERATIONS = 4;
export const ANT_BASE_OBS_SIZE = 27;
export const ANT_ACT_SIZE = 8;
/** Torso height at reset before noise: feet just clear of the ground at the init pose (0.55 m touches). */
export const ANT_RESET_HEIGHT = 0.65;
/** gym's "healthy" torso height range, m. */
export const ANT_HEALTHY_MIN = 0.2;
export const ANT_HEALTHY_MAX = 1.0;

/** What a family's reward sees after a step. */
export interface AntStep {
  rw: RobotWorld;
  /** The clipped action. */
  action: Float32Array;
  /** Torso centre of mass before and after the step, world axes (y up), m. */
  comBefore: Float64Array;
  comAfter: Float64Array;
  dt: number;
}

export interface AntEnvConfig {
  family: string;
  spec: EnvSpec;
  ground: GroundDescription;
  /** Ground height at world (x, z): termination and obs[0] are measured above it. */
  groundHeight(x: number, z: number): number;
  infoKeys: readonly string[];
  /** Returns the reward and writes each term into `info`. */
  reward(s: AntStep, info: Record<string, number>): number;
  /** Writes the family's observation floats after the first 27, from `offset`. */
  observeExtra?(rw: RobotWorld, out: Float32Array, offset: number): void;
  markers?: MarkerDescription[];
  taskLabel?: Record<string, number | string>;
}

/** Sum of squares: ‖a‖². */
export function squaredNorm(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

/** Torso centre-of-mass velocity along MuJoCo's x (axis 0) or y (axis 1, world −z) over a step, m/s. */
export function planeVelocity(s: AntStep, axis: 0 | 1): number {
  return axis === 0 ? (s.comAfter[0] - s.comBefore[0]) / s.dt : -(s.comAfter[2] - s.comBefore[2]) / s.dt;
}

/** Torso height above the ground under it, m (from the last read state). */
export function torsoHeight(rw: RobotWorld, groundHeight: (x: number, z: number) => number): number {
  return rw.rootPos[1] - groundHeight(rw.rootPos[0], rw.rootPos[2]);
}

/** gym's healthy check: finite state and ANT_HEALTHY_MIN ≤ height ≤ ANT_HEALTHY_MAX. */
export function antTerminated(height: number, obs: Float32Array): boolean {
  if (!(height >= ANT_HEALTHY_MIN && height <= ANT_HEALTHY_MAX)) return true;
  for (let i = 0; i < obs.length; i++) if (!Number.isFinite(obs[i])) return true;
  return false;
}

export class AntEnv implements Env {
  readonly spec: EnvSpec;
  private readonly config: AntEnvConfig;
  private readonly description = antDescription();
  private rw: RobotWorld;
  private rng: Rng = new RngClass(0);
  private t = 0;
  private disposed = false;
  private readonly action: Float32Array;
  private readonly obs: Float32Array;
  private readonly info: Record<string, number> = {};
  private readonly result: StepResult;
  private readonly antStep: AntStep;
  /** Per hinge (joint order): torque this step, range, gear of its actuator. */
  private readonly torque = new Float64Array(ANT_ACT_SIZE);
  private readonly lower: Float64Array;
  private readonly upper: Float64Array;
  private readonly actuatorJoint: Int32Array;
  private readonly gears: Float64Array;

  constructor(config: AntEnvConfig) {
    this.config = config;
    this.spec = config.spec;
    const joints = this.description.bodies.slice(1).map((b) => b.joint!);
    this.lower = Float64Array.from(joints, (j) => j.range![0]);
    this.upper = Float64Array.from(joints, (j) => j.range![1]);
    this.actuatorJoint = Int32Array.from(this.description.actuators, (a) => joints.findIndex((j) => j.name === a.joint));
    this.gears = Float64Array.from(this.description.actuators, (a) => a.gear);
    this.action = new Float32Array(config.spec.actSize);
    this.obs = new Float32Array(config.spec.obsSize);
    for (const key of config.infoKeys) this.info[key] = 0;
    this.rw = this.build();
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, info: this.info };
    this.antStep = { rw: this.rw, action: this.action, comBefore: new Float64Array(3), comAfter: new Float64Array(3), dt: config.spec.dt };
    this.startEpisode();
  }

  /** The robot world of the current episode (rebuilt by every reset). @internal for tests. */
  get robotWorld(): RobotWorld {
    return this.rw;
  }

  private build(): RobotWorld {
    return buildRobot(this.description, this.config.ground, { dt: this.spec.dt, substeps: ANT_SUBSTEPS, solverIterations: ANT_SOLVER_ITERATIONS });
  }

  /**
   * gym Ant's reset noise around the XML's init_qpos: position, joint angles and the
   * orientation quaternion's components + U(−0.1, 0.1) (then normalised), every
   * velocity + 0.1·N(0, 1). Draws in MuJoCo's qpos order, then qvel order.
   */
  private startEpisode(): void {
    const rng = this.rng;
    const u = () => rng.uniform(-0.1, 0.1);
    const x = u(), y = u(), z = u();
    const q = [1 + u(), u(), u(), u()]; // MuJoCo w, x, y, z
    const n = Math.hypot(q[0], q[1], q[2], q[3]);
    const jointAngles = this.description.bodies.slice(1).map((b) => ANT_INIT_JOINTS[b.joint!.name] + u());
    const v = () => 0.1 * rng.normal();
    const lin = [v(), v(), v()], ang = [v(), v(), v()];
    const jointVels = jointAngles.map(() => v());
    const ground = this.config.groundHeight(x, -y);
    // MuJoCo → world: (x, y, z) → (x, z, −y), for positions, quaternion vectors and velocities alike.
    this.rw.setPose({
      rootPos: [x, ground + ANT_RESET_HEIGHT + z, -y],
      rootQuat: [q[1] / n, q[3] / n, -q[2] / n, q[0] / n],
      rootLinvel: [lin[0], lin[2], -lin[1]],
      rootAngvel: [ang[0], ang[2], -ang[1]],
      jointAngles,
      jointVels,
    });
    this.antStep.rw = this.rw;
    this.t = 0;
    this.observe();
  }

  private observe(): void {
    const { rw, obs } = this;
    const p = rw.rootQuat, v = rw.rootLinvel, w = rw.rootAngvel;
    obs[0] = torsoHeight(rw, this.config.groundHeight);
    obs[1] = p[3]; obs[2] = p[0]; obs[3] = -p[2]; obs[4] = p[1];
    for (let j = 0; j < 8; j++) {
      obs[5 + j] = rw.jointPos[j];
      obs[19 + j] = rw.jointVel[j];
    }
    obs[13] = v[0]; obs[14] = -v[2]; obs[15] = v[1];
    obs[16] = w[0]; obs[17] = -w[2]; obs[18] = w[1];
    this.config.observeExtra?.(rw, obs, ANT_BASE_OBS_SIZE);
  }

  reset(seed?: number): Float32Array {
    this.assertLive('reset');
    if (seed !== undefined) this.rng = new RngClass(seed);
    // A fresh world each episode, so an episode depends on its seed alone.
    this.rw.dispose();
    this.rw = this.build();
    this.startEpisode();
    return this.obs.slice();
  }

  step(action: Float32Array): StepResult {
    this.assertLive('step');
    const { spec, rw, antStep } = this;
    if (!action || action.length !== spec.actSize) {
      throw new MetarlError('METARL_BAD_ACTION', `env '${this.config.family}': action has length ${action?.length ?? 'undefined'}, expected ${spec.actSize} (spec.actSize)`, { env: this.config.family });
    }
    for (let i = 0; i < spec.actSize; i++) {
      const a = action[i];
      if (Number.isNaN(a)) {
        throw new MetarlError('METARL_BAD_ACTION', `env '${this.config.family}': action[${i}] is NaN; check the policy's output for NaNs`, { env: this.config.family, index: i });
      }
      this.action[i] = a < spec.actLow[i] ? spec.actLow[i] : a > spec.actHigh[i] ? spec.actHigh[i] : a;
      this.torque[this.actuatorJoint[i]] = this.gears[i] * this.action[i];
    }
    rw.bodyCom(0, antStep.comBefore);
    const h = spec.dt / ANT_SUBSTEPS;
    const D = ANT_ARMATURE / h + ANT_JOINT_DAMPING;
    for (let s = 0; s < ANT_SUBSTEPS; s++) {
      // rw's state is fresh here: read by the previous substep, the last step or the reset.
      for (let j = 0; j < ANT_ACT_SIZE; j++) {
        const q = rw.jointPos[j];
        let target = ((ANT_ARMATURE / h) * rw.jointVel[j] + this.torque[j]) / D;
        const lo = (this.lower[j] - q) / h, hi = (this.upper[j] - q) / h;
        target = target < lo ? lo : target > hi ? hi : target;
        rw.joints[j].configureMotorVelocity(target, D);
      }
      rw.world.step();
      rw.readState();
    }
    rw.bodyCom(0, antStep.comAfter);
    this.t++;
    this.observe();
    const r = this.result;
    r.reward = this.config.reward(antStep, this.info);
    r.terminated = antTerminated(this.obs[0], this.obs);
    r.truncated = !r.terminated && this.t >= spec.horizon;
    return r;
  }

  scene(): SceneDescription {
    return {
      family: this.config.family,
      bodies: robotSceneBodies(this.description),
      ground: this.config.ground,
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

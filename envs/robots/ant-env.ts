/**
 * What the three ant families (ant-dir, ant-goal, ant-terrain) share: reset noise,
 * the observation, the healthy check, and `makeAntEnv`, a `RobotEnv` around the ant
 * to which each family adds its ground, reward and extra observation.
 *
 * Armature: the ant keeps the XML's armature 1 and damping 1, modelled in joint space
 * as MuJoCo does (the builder's default 'joint' model, src/physics/joint-motors.ts).
 * Measured with the builder's body-inertia model instead (random actions, 200 steps):
 * without armature the ant flew off at 14–16 m/s within 3 steps; with armature as
 * 1 kg·m² of extra isotropic inertia per leg body it left the ground under zero action
 * (torso to 3.7 m) and reached 118 m/s; with that inertia about the hinge axis only,
 * 10¹⁰ m/s, even at gear 15 — the reaction torque lands on the 0.48 kg torso. With the
 * joint model, over 6 seeds × 200 random-action steps on flat ground: no episode
 * terminated, torso speed ≤ 2.3 m/s, joint limits exceeded by ≤ 0.33 rad
 * (test/envs/ant-dir.test.ts checks < 5 m/s and < 0.4 rad). 8 solver iterations held
 * the limits a little better (≤ 0.28 rad) but made env.step ~27% slower.
 *
 * The observation (27 floats before a family's extras) follows gym's Ant, qpos[2:]
 * then qvel, in MuJoCo's z-up axes:
 *   0 torso height above the local ground (m) | 1–4 torso orientation quaternion w, x, y, z
 *   5–12 hip_1, ankle_1, …, hip_4, ankle_4 angles (rad)
 *   13–15 torso centre-of-mass velocity x, y, z (m/s) | 16–18 torso angular velocity (rad/s, world axes)
 *   19–26 the eight joint rates (rad/s)
 * (MuJoCo gives the free joint's angular velocity in the body frame; ours is in world axes.)
 */
import type { Rng } from '../../src/core/rng.js';
import type { MarkerDescription } from '../../src/core/scene.js';
import type { EnvSpec } from '../../src/core/types.js';
import { RobotEnv, type GroundDescription, type RobotPose, type RobotWorld, type StepContext } from '../../src/physics/index.js';
import { ANT_INIT_HEIGHT, ANT_INIT_JOINTS, antDescription } from './ant.js';

export const ANT_DT = 0.05;
/** World steps per env step: h = 0.01 s, MuJoCo's timestep × frame-skip 5. */
export const ANT_SUBSTEPS = 5;
/** Rapier's default; see the doc above for 8. */
export const ANT_SOLVER_ITERATIONS = 4;
export const ANT_BASE_OBS_SIZE = 27;
export const ANT_ACT_SIZE = 8;
/** Torso height at reset before noise (± 0.1): at ANT_INIT_HEIGHT the feet touch, so start 0.1 m above it. */
export const ANT_RESET_HEIGHT = ANT_INIT_HEIGHT + 0.1;
/** gym's "healthy" torso height range, m. */
export const ANT_HEALTHY_MIN = 0.2;
export const ANT_HEALTHY_MAX = 1.0;

/** What a family's reward reads from a step (a `StepContext` is one). */
export type AntStep = Pick<StepContext, 'action' | 'comBefore' | 'comAfter' | 'dt'>;

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

/** One ant env; the description is built fresh, so no two envs share it. */
export function makeAntEnv(config: AntEnvConfig): RobotEnv {
  const { groundHeight, observeExtra } = config;
  return new RobotEnv({
    family: config.family,
    robot: antDescription(),
    ground: config.ground,
    spec: config.spec,
    substeps: ANT_SUBSTEPS,
    solverIterations: ANT_SOLVER_ITERATIONS,
    infoKeys: config.infoKeys,
    resetPose: (rng, rw) => antResetPose(rng, rw, groundHeight),
    observe: (rw, out) => {
      observeAnt(rw, groundHeight, out);
      observeExtra?.(rw, out, ANT_BASE_OBS_SIZE);
    },
    reward: config.reward,
    terminated: (ctx) => !healthyHeight(torsoHeight(ctx.rw, groundHeight)) || !finiteState(ctx.rw),
    markers: config.markers,
    taskLabel: config.taskLabel,
  });
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

/** gym's healthy height: ANT_HEALTHY_MIN ≤ h ≤ ANT_HEALTHY_MAX (false for NaN). */
export function healthyHeight(h: number): boolean {
  return h >= ANT_HEALTHY_MIN && h <= ANT_HEALTHY_MAX;
}

/** gym's other healthy condition: every state variable finite. */
export function finiteState(rw: RobotWorld): boolean {
  return allFinite(rw.rootPos) && allFinite(rw.rootQuat) && allFinite(rw.rootLinvel) && allFinite(rw.rootAngvel) && allFinite(rw.jointPos) && allFinite(rw.jointVel);
}

function allFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/**
 * gym Ant's reset noise around the XML's init_qpos: position, joint angles and the
 * orientation quaternion's components + U(−0.1, 0.1) (then normalised), every
 * velocity + 0.1·N(0, 1). Draws in MuJoCo's qpos order, then qvel order.
 */
export function antResetPose(rng: Rng, rw: RobotWorld, groundHeight: (x: number, z: number) => number): RobotPose {
  const u = () => rng.uniform(-0.1, 0.1);
  const x = u(), y = u(), z = u();
  const q = [1 + u(), u(), u(), u()]; // MuJoCo w, x, y, z
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  const jointAngles = rw.description.bodies.slice(1).map((b) => ANT_INIT_JOINTS[b.joint!.name] + u());
  const v = () => 0.1 * rng.normal();
  const lin = [v(), v(), v()], ang = [v(), v(), v()];
  const jointVels = jointAngles.map(() => v());
  // MuJoCo → world: (x, y, z) → (x, z, −y), for positions, quaternion vectors and velocities alike.
  return {
    rootPos: [x, groundHeight(x, -y) + ANT_RESET_HEIGHT + z, -y],
    rootQuat: [q[1] / n, q[3] / n, -q[2] / n, q[0] / n],
    rootLinvel: [lin[0], lin[2], -lin[1]],
    rootAngvel: [ang[0], ang[2], -ang[1]],
    jointAngles,
    jointVels,
  };
}

/** Writes the 27 base floats (layout in the doc above) from `rw`'s last read state. */
export function observeAnt(rw: RobotWorld, groundHeight: (x: number, z: number) => number, out: Float32Array): void {
  const p = rw.rootQuat, v = rw.rootLinvel, w = rw.rootAngvel;
  out[0] = torsoHeight(rw, groundHeight);
  // World quaternion (x, y, z, w) → MuJoCo (w, x, y, z) with MuJoCo's y = world −z, z = world y.
  out[1] = p[3]; out[2] = p[0]; out[3] = -p[2]; out[4] = p[1];
  for (let j = 0; j < ANT_ACT_SIZE; j++) {
    out[5 + j] = rw.jointPos[j];
    out[19 + j] = rw.jointVel[j];
  }
  out[13] = v[0]; out[14] = -v[2]; out[15] = v[1];
  out[16] = w[0]; out[17] = -w[2]; out[18] = w[1];
}

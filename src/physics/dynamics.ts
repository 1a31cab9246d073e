/**
 * Dynamics randomisation as data (STYLE rule 7): `sampleDynamicsTask` draws log-scale
 * factors (rand_param_envs / PEARL / VariBAD Walker2DRandParams, HopperRandParams), and
 * `applyDynamicsTask` turns a task into an edited copy of the robot description.
 *
 * What is scaled: each body's mass and inertia by one factor 1.5^u (the original draws
 * mass and inertia factors separately; here one density factor scales both), each
 * joint's damping by 1.3^u, each geom's friction by 1.5^u and the ground's friction by
 * one more factor (the original scales the floor geom's friction too), u ~ U[−L, L].
 */
import type { Rng } from '../core/rng.js';
import type { RobotDescription } from './robot.js';

export interface DynamicsTask {
  /** One per body, in description order. */
  massScale: number[];
  /** One per joint (= bodies − 1). */
  dampingScale: number[];
  /** One per geom in description order (bodies, then their geoms), then one for the ground. */
  frictionScale: number[];
  [key: string]: number[];
}

export const MASS_BASE = 1.5;
export const DAMPING_BASE = 1.3;
export const FRICTION_BASE = 1.5;

export function dynamicsTaskSizes(robot: RobotDescription): { bodies: number; joints: number; frictions: number } {
  const geoms = robot.bodies.reduce((n, b) => n + b.geoms.length, 0);
  return { bodies: robot.bodies.length, joints: robot.bodies.length - 1, frictions: geoms + 1 };
}

/** Draws one task; `logScaleLimit` is L (3 in the literature). */
export function sampleDynamicsTask(rng: Rng, robot: RobotDescription, logScaleLimit: number): DynamicsTask {
  const n = dynamicsTaskSizes(robot);
  const draw = (base: number, count: number) => Array.from({ length: count }, () => base ** rng.uniform(-logScaleLimit, logScaleLimit));
  return { massScale: draw(MASS_BASE, n.bodies), dampingScale: draw(DAMPING_BASE, n.joints), frictionScale: draw(FRICTION_BASE, n.frictions) };
}

/** The identity task: every factor 1. */
export function nominalDynamicsTask(robot: RobotDescription): DynamicsTask {
  const n = dynamicsTaskSizes(robot);
  return { massScale: Array(n.bodies).fill(1), dampingScale: Array(n.joints).fill(1), frictionScale: Array(n.frictions).fill(1) };
}

/** A copy of `robot` with the task's factors applied; throws RangeError on a task of the wrong shape. */
export function applyDynamicsTask(robot: RobotDescription, task: DynamicsTask): RobotDescription {
  const n = dynamicsTaskSizes(robot);
  const check = (name: string, arr: unknown, len: number) => {
    if (!Array.isArray(arr) || arr.length !== len || !arr.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x))) {
      throw new RangeError(`dynamics task for robot '${robot.name}': ${name} must be ${len} positive numbers`);
    }
  };
  check('massScale', task.massScale, n.bodies);
  check('dampingScale', task.dampingScale, n.joints);
  check('frictionScale', task.frictionScale, n.frictions);
  let g = 0;
  const bodies = robot.bodies.map((b, i) => ({
    ...b,
    massScale: (b.massScale ?? 1) * task.massScale[i],
    joint: b.joint && { ...b.joint, damping: b.joint.damping * task.dampingScale[i - 1] },
    geoms: b.geoms.map((geom) => ({ ...geom, friction: (geom.friction ?? robot.friction) * task.frictionScale[g++] })),
  }));
  return { ...robot, bodies, groundFriction: robot.groundFriction * task.frictionScale[g] };
}

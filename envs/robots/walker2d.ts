/**
 * The planar walker2d, transcribed from anchors/models/walker2d.xml (gym Walker2d-v5):
 * torso + 2 × (thigh, leg, foot), 6 hinges about MuJoCo's −y with the XML's ranges,
 * capsules at density 1000, friction 0.9 (left foot 1.9), floor 0.7.
 *
 * Joint damping 0.1 and armature 0.01 are the XML's, in MuJoCo's joint-space form (an
 * implicit hinge motor every substep; see src/physics/build.ts). Gears are the XML's
 * 100: with those in place and 4 Rapier steps of 0.002 s the walker stays stable at
 * full torque, so no gear scaling.
 */
import type { Rng } from '../../src/core/rng.js';
import { capsuleQuat, observePlanar, planarResetPose, type BodyDescription, type RobotDescription, type RobotPose, type RobotWorld } from '../../src/physics/index.js';

const DEG = Math.PI / 180;
const NEG_Y: [number, number, number] = [0, -1, 0];
/** MuJoCo quat (0.7071, 0, −0.7071, 0) as x, y, z, w: the foot capsules lie along x. */
const FOOT_QUAT = [0, -Math.SQRT1_2, 0, Math.SQRT1_2];
const LEFT = '#b34d99';

function leg(side: '' | '_left', footFriction: number, color?: string): BodyDescription[] {
  const c = color ? { color } : {};
  return [
    {
      name: `thigh${side}`,
      parent: 'torso',
      pos: [0, 0, -0.2],
      joint: { name: `thigh${side}_joint`, axis: NEG_Y, range: [-150 * DEG, 0], damping: 0.1, armature: 0.01 },
      geoms: [{ kind: 'capsule', from: [0, 0, -0.45], to: [0, 0, 0], radius: 0.05, friction: 0.9, ...c }],
    },
    {
      name: `leg${side}`,
      parent: `thigh${side}`,
      pos: [0, 0, -0.7],
      joint: { name: `leg${side}_joint`, axis: NEG_Y, pos: [0, 0, 0.25], range: [-150 * DEG, 0], damping: 0.1, armature: 0.01 },
      geoms: [{ kind: 'capsule', from: [0, 0, -0.25], to: [0, 0, 0.25], radius: 0.04, friction: 0.9, ...c }],
    },
    {
      name: `foot${side}`,
      parent: `leg${side}`,
      pos: [0.2, 0, -0.35],
      joint: { name: `foot${side}_joint`, axis: NEG_Y, pos: [-0.2, 0, 0.1], range: [-45 * DEG, 45 * DEG], damping: 0.1, armature: 0.01 },
      geoms: [capsuleQuat([-0.1, 0, 0.1], FOOT_QUAT, 0.06, 0.1, { friction: footFriction, ...c })],
    },
  ];
}

export const WALKER2D: RobotDescription = {
  name: 'walker2d',
  root: 'planar',
  density: 1000,
  friction: 0.7,
  groundFriction: 0.7,
  bodies: [
    { name: 'torso', parent: null, pos: [0, 0, 1.25], geoms: [{ kind: 'capsule', from: [0, 0, -0.2], to: [0, 0, 0.2], radius: 0.05, friction: 0.9 }] },
    ...leg('', 0.9),
    ...leg('_left', 1.9, LEFT),
  ],
  actuators: ['thigh_joint', 'leg_joint', 'foot_joint', 'thigh_left_joint', 'leg_left_joint', 'foot_left_joint'].map((joint) => ({ joint, gear: 100 })),
};

/** MuJoCo's timestep 0.002 × frame-skip 4. */
export const WALKER_DT = 0.008;
export const WALKER_SUBSTEPS = 4;
/** 8 positions (height, pitch, 6 joints) + 9 velocities clipped to ±10. */
export const WALKER_OBS_SIZE = 17;
export const WALKER_VEL_CLIP = 10;

/** gym Walker2d-v5 reset noise: qpos and qvel + U(−0.005, 0.005). */
export function walkerResetPose(rng: Rng, rw: RobotWorld): RobotPose {
  const noise = (r: Rng) => r.uniform(-5e-3, 5e-3);
  return planarResetPose(rw, rng, noise, noise);
}

/** rootz has ref 1.25 in the XML, so MuJoCo's qpos[1] is the torso height itself. */
export function observeWalker(rw: RobotWorld, out: Float32Array): void {
  observePlanar(rw, out, 0, WALKER_VEL_CLIP);
}

/**
 * The planar hopper, transcribed from anchors/models/hopper.xml (gym Hopper-v5):
 * torso, thigh, leg, foot; 3 hinges about MuJoCo's −y with the XML's ranges, capsules
 * at density 1000, friction 0.9 (foot 2.0), floor 1.
 *
 * Joint damping 1 and armature 1 are the XML's, in MuJoCo's joint-space form (an
 * implicit hinge motor every substep; see src/physics/build.ts). Armature as body
 * inertia instead made the whole hopper slow to pitch and whipped its light torso
 * (random-action episodes: median 7 steps, vs 17 in joint space). Gears are the XML's
 * 200: stable at full torque with 4 Rapier steps of 0.002 s, so no scaling.
 */
import type { Rng } from '../../src/core/rng.js';
import { capsuleQuat, observePlanar, planarResetPose, type RobotDescription, type RobotPose, type RobotWorld } from '../../src/physics/index.js';

const DEG = Math.PI / 180;
const NEG_Y: [number, number, number] = [0, -1, 0];
const FOOT_QUAT = [0, -Math.SQRT1_2, 0, Math.SQRT1_2];

export const HOPPER: RobotDescription = {
  name: 'hopper',
  root: 'planar',
  density: 1000,
  friction: 1,
  groundFriction: 1,
  bodies: [
    { name: 'torso', parent: null, pos: [0, 0, 1.25], geoms: [{ kind: 'capsule', from: [0, 0, -0.2], to: [0, 0, 0.2], radius: 0.05, friction: 0.9 }] },
    {
      name: 'thigh',
      parent: 'torso',
      pos: [0, 0, -0.2],
      joint: { name: 'thigh_joint', axis: NEG_Y, range: [-150 * DEG, 0], damping: 1, armature: 1 },
      geoms: [{ kind: 'capsule', from: [0, 0, -0.45], to: [0, 0, 0], radius: 0.05, friction: 0.9 }],
    },
    {
      name: 'leg',
      parent: 'thigh',
      pos: [0, 0, -0.7],
      joint: { name: 'leg_joint', axis: NEG_Y, pos: [0, 0, 0.25], range: [-150 * DEG, 0], damping: 1, armature: 1 },
      geoms: [{ kind: 'capsule', from: [0, 0, -0.25], to: [0, 0, 0.25], radius: 0.04, friction: 0.9 }],
    },
    {
      name: 'foot',
      parent: 'leg',
      pos: [0.13, 0, -0.35],
      joint: { name: 'foot_joint', axis: NEG_Y, pos: [-0.13, 0, 0.1], range: [-45 * DEG, 45 * DEG], damping: 1, armature: 1 },
      geoms: [capsuleQuat([-0.065, 0, 0.1], FOOT_QUAT, 0.06, 0.195, { friction: 2.0 })],
    },
  ],
  actuators: ['thigh_joint', 'leg_joint', 'foot_joint'].map((joint) => ({ joint, gear: 200 })),
};

export const HOPPER_DT = 0.008;
export const HOPPER_SUBSTEPS = 4;
/** 5 positions (height, pitch, 3 joints) + 6 velocities clipped to ±10. */
export const HOPPER_OBS_SIZE = 11;
export const HOPPER_VEL_CLIP = 10;

/** gym Hopper-v5 reset noise: qpos and qvel + U(−0.005, 0.005). */
export function hopperResetPose(rng: Rng, rw: RobotWorld): RobotPose {
  const noise = (r: Rng) => r.uniform(-5e-3, 5e-3);
  return planarResetPose(rw, rng, noise, noise);
}

export function observeHopper(rw: RobotWorld, out: Float32Array): void {
  observePlanar(rw, out, 0, HOPPER_VEL_CLIP);
}

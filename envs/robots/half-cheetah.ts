/**
 * The planar half-cheetah, transcribed from anchors/models/half_cheetah.xml
 * (gym HalfCheetah): torso + 2 × (thigh, shin, foot), 6 hinges about MuJoCo's y,
 * capsules of radius 0.046, total mass 14 kg (MuJoCo `settotalmass`), friction 0.4.
 *
 * Joint damping and stiffness are the XML's, modelled as implicit force-based motors;
 * armature 0.1 is added as rotational inertia of each child body (`armature: 'body'`:
 * MuJoCo's joint-space model let the limits give way by 0.30 rad at full torque here,
 * body inertia 0.14; see src/physics/build.ts). Gears are the XML's (120/90/60/120/60/30):
 * with damping, stiffness and armature in place the robot does not blow up at full
 * torque, so no gear scaling was needed.
 */
import type { Rng } from '../../src/core/rng.js';
import { capsuleAxisAngle, observePlanar, planarResetPose, type RobotDescription, type RobotPose, type RobotWorld } from '../../src/physics/index.js';

const Y: [number, number, number] = [0, 1, 0];
const SHIN = '#e69999';

export const HALF_CHEETAH: RobotDescription = {
  name: 'half-cheetah',
  root: 'planar',
  density: 1000,
  totalMass: 14,
  friction: 0.4,
  groundFriction: 0.4,
  armature: 'body',
  bodies: [
    {
      name: 'torso',
      parent: null,
      pos: [0, 0, 0.7],
      geoms: [
        { kind: 'capsule', from: [-0.5, 0, 0], to: [0.5, 0, 0], radius: 0.046 },
        capsuleAxisAngle([0.6, 0, 0.1], Y, 0.87, 0.046, 0.15),
      ],
    },
    {
      name: 'bthigh',
      parent: 'torso',
      pos: [-0.5, 0, 0],
      joint: { name: 'bthigh', axis: Y, range: [-0.52, 1.05], damping: 6, stiffness: 240, armature: 0.1 },
      geoms: [capsuleAxisAngle([0.1, 0, -0.13], Y, -3.8, 0.046, 0.145)],
    },
    {
      name: 'bshin',
      parent: 'bthigh',
      pos: [0.16, 0, -0.25],
      joint: { name: 'bshin', axis: Y, range: [-0.785, 0.785], damping: 4.5, stiffness: 180, armature: 0.1 },
      geoms: [capsuleAxisAngle([-0.14, 0, -0.07], Y, -2.03, 0.046, 0.15, { color: SHIN })],
    },
    {
      name: 'bfoot',
      parent: 'bshin',
      pos: [-0.28, 0, -0.14],
      joint: { name: 'bfoot', axis: Y, range: [-0.4, 0.785], damping: 3, stiffness: 120, armature: 0.1 },
      geoms: [capsuleAxisAngle([0.03, 0, -0.097], Y, -0.27, 0.046, 0.094, { color: SHIN })],
    },
    {
      name: 'fthigh',
      parent: 'torso',
      pos: [0.5, 0, 0],
      joint: { name: 'fthigh', axis: Y, range: [-1, 0.7], damping: 4.5, stiffness: 180, armature: 0.1 },
      geoms: [capsuleAxisAngle([-0.07, 0, -0.12], Y, 0.52, 0.046, 0.133)],
    },
    {
      name: 'fshin',
      parent: 'fthigh',
      pos: [-0.14, 0, -0.24],
      joint: { name: 'fshin', axis: Y, range: [-1.2, 0.87], damping: 3, stiffness: 120, armature: 0.1 },
      geoms: [capsuleAxisAngle([0.065, 0, -0.09], Y, -0.6, 0.046, 0.106, { color: SHIN })],
    },
    {
      name: 'ffoot',
      parent: 'fshin',
      pos: [0.13, 0, -0.18],
      joint: { name: 'ffoot', axis: Y, range: [-0.5, 0.5], damping: 1.5, stiffness: 60, armature: 0.1 },
      geoms: [capsuleAxisAngle([0.045, 0, -0.07], Y, -0.6, 0.046, 0.07, { color: SHIN })],
    },
  ],
  actuators: [
    { joint: 'bthigh', gear: 120 },
    { joint: 'bshin', gear: 90 },
    { joint: 'bfoot', gear: 60 },
    { joint: 'fthigh', gear: 120 },
    { joint: 'fshin', gear: 60 },
    { joint: 'ffoot', gear: 30 },
  ],
};

/** MuJoCo's timestep 0.01 × frame-skip 5. */
export const CHEETAH_DT = 0.05;
export const CHEETAH_SUBSTEPS = 5;
/** 8 positions (rootz, rooty, 6 joints) + 9 velocities. */
export const CHEETAH_OBS_SIZE = 17;
/** The torso starts 0.7 m up; MuJoCo's rootz slider reads 0 there. */
export const CHEETAH_ROOT_HEIGHT = 0.7;

/** gym HalfCheetah-v5 reset noise: qpos + U(−0.1, 0.1), qvel + 0.1·N(0, 1). */
export function cheetahResetPose(rng: Rng, rw: RobotWorld): RobotPose {
  return planarResetPose(rw, rng, (r) => r.uniform(-0.1, 0.1), (r) => 0.1 * r.normal());
}

export function observeCheetah(rw: RobotWorld, out: Float32Array): void {
  observePlanar(rw, out, CHEETAH_ROOT_HEIGHT);
}

/**
 * MuJoCo's planar root coordinates (rootx, rootz, rooty) for robots built with
 * `root: 'planar'`: the cheetah, walker and hopper observe and reset through these.
 *
 * World y is MuJoCo's z, and MuJoCo's y axis is world −z, so rooty = −(world z angle).
 */
import type { Rng } from '../core/rng.js';
import type { RobotPose, RobotWorld } from './build.js';
import { mjToWorld } from './math.js';

/** Offsets into the array `planarRoot` fills. */
export const ROOT_X = 0, ROOT_Z = 1, ROOT_ANGLE = 2, ROOT_VX = 3, ROOT_VZ = 4, ROOT_ANGVEL = 5;

/**
 * Fills out[0..5] with x (m), height (m), pitch (rad, MuJoCo's rooty), their rates
 * (the velocity is the root body's centre of mass's, MuJoCo's is its origin's).
 */
export function planarRoot(rw: RobotWorld, out: Float64Array | Float32Array): void {
  const q = rw.rootQuat;
  out[ROOT_X] = rw.rootPos[0];
  out[ROOT_Z] = rw.rootPos[1];
  // The root turns about world z only, so q = (0, 0, sin(θ/2), cos(θ/2)).
  out[ROOT_ANGLE] = -2 * Math.atan2(q[2], q[3]);
  out[ROOT_VX] = rw.rootLinvel[0];
  out[ROOT_VZ] = rw.rootLinvel[1];
  out[ROOT_ANGVEL] = -rw.rootAngvel[2];
}

const _root = new Float64Array(6);

/**
 * The MuJoCo observation of a planar robot: qpos without rootx, then qvel, i.e.
 * [height − heightOffset, pitch, joint angles…, vx, vz, pitch rate, joint rates…].
 * Velocities are clipped to ±`velClip` (walker/hopper clip at 10). Returns the floats written.
 */
export function observePlanar(rw: RobotWorld, out: Float32Array, heightOffset = 0, velClip = Infinity): number {
  planarRoot(rw, _root);
  const nj = rw.jointCount;
  let k = 0;
  out[k++] = _root[ROOT_Z] - heightOffset;
  out[k++] = _root[ROOT_ANGLE];
  for (let j = 0; j < nj; j++) out[k++] = rw.jointPos[j];
  out[k++] = clip(_root[ROOT_VX], velClip);
  out[k++] = clip(_root[ROOT_VZ], velClip);
  out[k++] = clip(_root[ROOT_ANGVEL], velClip);
  for (let j = 0; j < nj; j++) out[k++] = clip(rw.jointVel[j], velClip);
  return k;
}

function clip(v: number, c: number): number {
  return v > c ? c : v < -c ? -c : v;
}

/**
 * A reset pose like gym's `init_qpos + noise`, `init_qvel + noise`: `posNoise(rng)` is
 * added to rootx, rootz, rooty and every joint angle, `velNoise(rng)` to every velocity.
 * Draws in MuJoCo's qpos order, then qvel order.
 */
export function planarResetPose(
  rw: RobotWorld,
  rng: Rng,
  posNoise: (rng: Rng) => number,
  velNoise: (rng: Rng) => number,
): RobotPose {
  const nj = rw.jointCount;
  const base = mjToWorld(rw.description.bodies[0].pos);
  const x = base[0] + posNoise(rng);
  const z = base[1] + posNoise(rng);
  const pitch = posNoise(rng);
  const jointAngles = new Float64Array(nj);
  for (let j = 0; j < nj; j++) jointAngles[j] = posNoise(rng);
  const vx = velNoise(rng), vz = velNoise(rng), w = velNoise(rng);
  const jointVels = new Float64Array(nj);
  for (let j = 0; j < nj; j++) jointVels[j] = velNoise(rng);
  return {
    rootPos: [x, z, base[2]],
    rootQuat: [0, 0, Math.sin(-pitch / 2), Math.cos(-pitch / 2)],
    rootLinvel: [vx, vz, 0],
    rootAngvel: [0, 0, -w],
    jointAngles,
    jointVels,
  };
}

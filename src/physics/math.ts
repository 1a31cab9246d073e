/**
 * Small vector and quaternion helpers on plain tuples and typed arrays. Quaternions
 * are (x, y, z, w), as Rapier and three.js store them. Nothing here allocates except
 * the tuple-returning helpers that run at build time.
 */
import type { Quat, Vec3 } from '../core/scene.js';

/** MuJoCo (z-up) → metarl world (y-up): (x, y, z) → (x, z, −y). A proper rotation (−90° about x). */
export function mjToWorld(v: readonly number[]): Vec3 {
  // `+ 0` turns −0 into 0, so descriptions survive a JSON round trip unchanged.
  return [v[0] + 0, v[2] + 0, -v[1] + 0];
}

export function quatFromAxisAngle(axis: readonly number[], angle: number): Quat {
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  const s = Math.sin(angle / 2) / n;
  return [axis[0] * s, axis[1] * s, axis[2] * s, Math.cos(angle / 2)];
}

/** The shortest rotation taking unit vector `from` onto unit vector `to`. */
export function quatBetween(from: readonly number[], to: readonly number[]): Quat {
  const d = from[0] * to[0] + from[1] * to[1] + from[2] * to[2];
  if (d < -0.999999) {
    // Opposite vectors: turn half a circle about any axis normal to `from`.
    const axis = Math.abs(from[0]) < 0.9 ? cross(from, [1, 0, 0]) : cross(from, [0, 1, 0]);
    return quatFromAxisAngle(axis, Math.PI);
  }
  const c = cross(from, to);
  const q: Quat = [c[0], c[1], c[2], 1 + d];
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  return [q[0] / n + 0, q[1] / n + 0, q[2] / n + 0, q[3] / n + 0];
}

export function cross(a: readonly number[], b: readonly number[]): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** out = a ⊗ b (apply b, then a). `out` may alias neither input. */
export function quatMul(out: Float64Array | number[], o: number, a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number): void {
  const ax = a[ao], ay = a[ao + 1], az = a[ao + 2], aw = a[ao + 3];
  const bx = b[bo], by = b[bo + 1], bz = b[bo + 2], bw = b[bo + 3];
  out[o] = aw * bx + ax * bw + ay * bz - az * by;
  out[o + 1] = aw * by - ax * bz + ay * bw + az * bx;
  out[o + 2] = aw * bz + ax * by - ay * bx + az * bw;
  out[o + 3] = aw * bw - ax * bx - ay * by - az * bz;
}

/** out = q · v · q⁻¹ (rotate v by unit q). */
export function rotate(out: Float64Array | number[], o: number, q: ArrayLike<number>, qo: number, v: ArrayLike<number>, vo: number): void {
  const qx = q[qo], qy = q[qo + 1], qz = q[qo + 2], qw = q[qo + 3];
  const vx = v[vo], vy = v[vo + 1], vz = v[vo + 2];
  // t = 2 q_xyz × v; v' = v + w t + q_xyz × t
  const tx = 2 * (qy * vz - qz * vy);
  const ty = 2 * (qz * vx - qx * vz);
  const tz = 2 * (qx * vy - qy * vx);
  out[o] = vx + qw * tx + (qy * tz - qz * ty);
  out[o + 1] = vy + qw * ty + (qz * tx - qx * tz);
  out[o + 2] = vz + qw * tz + (qx * ty - qy * tx);
}

/** Wraps an angle to (−π, π]. */
export function wrapAngle(a: number): number {
  const twoPi = 2 * Math.PI;
  a = a % twoPi;
  if (a > Math.PI) a -= twoPi;
  else if (a <= -Math.PI) a += twoPi;
  return a;
}

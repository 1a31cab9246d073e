/**
 * Kinematics of a hinge tree on flat arrays: joint coordinates from body states (for
 * `RobotWorld.readState`) and body states from joint coordinates (for `setPose`).
 */
import { quatMul, rotate, wrapAngle } from './math.js';

/** The tree's fixed geometry, in each parent's frame (world axes at build time). */
export interface HingeTree {
  /** Parent of body i (−1 for the root). Body i ≥ 1 hangs on joint i − 1. */
  parentIndex: Int32Array;
  /** Unit hinge axis of joint j, 3 per joint. */
  axes: Float64Array;
  /** Hinge point in the parent's frame and in the child's frame, 3 per joint each. */
  anchorsParent: Float64Array;
  anchorsChild: Float64Array;
}

/**
 * Fills bodies 1… of P (poses: x, y, z, qx, qy, qz, qw per body) and V (origin velocity,
 * angular velocity per body) from the root's entries (body 0, already set) and the
 * joint angles and rates. `tmp` is scratch of length ≥ 8.
 */
export function forwardKinematics(
  k: HingeTree,
  pose: { jointAngles?: ArrayLike<number>; jointVels?: ArrayLike<number> },
  P: Float64Array,
  V: Float64Array,
  tmp: Float64Array,
): void {
  const n = k.parentIndex.length;
    for (let i = 1; i < n; i++) {
      const j = i - 1, p = k.parentIndex[i];
      const q = pose.jointAngles?.[j] ?? 0, qd = pose.jointVels?.[j] ?? 0;
      // Orientation: parent ⊗ rotation about the (parent-frame) hinge axis.
      const s = Math.sin(q / 2);
      tmp[4] = k.axes[3 * j] * s; tmp[5] = k.axes[3 * j + 1] * s; tmp[6] = k.axes[3 * j + 2] * s; tmp[7] = Math.cos(q / 2);
      quatMul(P, 7 * i + 3, P, 7 * p + 3, tmp, 4);
      // Position: the hinge point must coincide in both bodies.
      rotate(tmp, 0, P, 7 * p + 3, k.anchorsParent, 3 * j);
      const hx = P[7 * p] + tmp[0], hy = P[7 * p + 1] + tmp[1], hz = P[7 * p + 2] + tmp[2];
      rotate(tmp, 0, P, 7 * i + 3, k.anchorsChild, 3 * j);
      P[7 * i] = hx - tmp[0]; P[7 * i + 1] = hy - tmp[1]; P[7 * i + 2] = hz - tmp[2];
      // Angular velocity adds the hinge rate about the world axis.
      rotate(tmp, 0, P, 7 * p + 3, k.axes, 3 * j);
      const wpx = V[6 * p + 3], wpy = V[6 * p + 4], wpz = V[6 * p + 5];
      V[6 * i + 3] = wpx + qd * tmp[0]; V[6 * i + 4] = wpy + qd * tmp[1]; V[6 * i + 5] = wpz + qd * tmp[2];
      // Origin velocity: v_p + ω_p × (hinge − o_p) + ω_i × (o_i − hinge).
      const rx = hx - P[7 * p], ry = hy - P[7 * p + 1], rz = hz - P[7 * p + 2];
      const sx = P[7 * i] - hx, sy = P[7 * i + 1] - hy, sz = P[7 * i + 2] - hz;
      const wx = V[6 * i + 3], wy = V[6 * i + 4], wz = V[6 * i + 5];
      V[6 * i] = V[6 * p] + (wpy * rz - wpz * ry) + (wy * sz - wz * sy);
      V[6 * i + 1] = V[6 * p + 1] + (wpz * rx - wpx * rz) + (wz * sx - wx * sz);
      V[6 * i + 2] = V[6 * p + 2] + (wpx * ry - wpy * rx) + (wx * sy - wy * sx);
    }
}

/**
 * Joint angles (the relative rotation's twist about the hinge axis, wrapped to (−π, π])
 * and rates ((ω_child − ω_parent) · world axis) from body orientations in P and
 * angular velocities in V (layouts as in `forwardKinematics`).
 */
export function jointCoordinates(k: HingeTree, P: Float64Array, V: Float64Array, jointPos: Float32Array, jointVel: Float32Array, tmp: Float64Array): void {
  for (let j = 0; j < jointPos.length; j++) {
    const child = j + 1, parent = k.parentIndex[child];
    // q_rel = q_parent⁻¹ ⊗ q_child
    tmp[4] = -P[7 * parent + 3]; tmp[5] = -P[7 * parent + 4]; tmp[6] = -P[7 * parent + 5]; tmp[7] = P[7 * parent + 6];
    quatMul(tmp, 0, tmp, 4, P, 7 * child + 3);
    const ax = k.axes[3 * j], ay = k.axes[3 * j + 1], az = k.axes[3 * j + 2];
    jointPos[j] = wrapAngle(2 * Math.atan2(tmp[0] * ax + tmp[1] * ay + tmp[2] * az, tmp[3]));
    rotate(tmp, 0, P, 7 * parent + 3, k.axes, 3 * j);
    jointVel[j] = (V[6 * child + 3] - V[6 * parent + 3]) * tmp[0] + (V[6 * child + 4] - V[6 * parent + 4]) * tmp[1] + (V[6 * child + 5] - V[6 * parent + 5]) * tmp[2];
  }
}

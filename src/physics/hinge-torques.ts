/**
 * The 'body' actuation model (build.ts): each hinge's torque τ acts as equal and
 * opposite torques on child (+τ·axis) and parent (−τ·axis). The axis is fixed in the
 * parent's frame, so it is re-aimed by the parent's orientation (a free robot's axes
 * turn; a planar robot's stay on world z). Rapier keeps added torques until reset.
 */
import { rotate } from './math.js';
import type { HingeTree } from './kinematics.js';
import type { R } from './rapier.js';

const _v = { x: 0, y: 0, z: 0 };
const _q = { x: 0, y: 0, z: 0, w: 1 };

/**
 * Writes every body's net hinge torque. `torque[j]` is joint j's torque (N·m), skipped
 * where `skip[j]` is 1; `rotated` re-reads orientations into `poses` (7 per body, the
 * quaternion at 3..6) to aim the axes. `sum` (3 per body) and `tmp` (≥ 3) are scratch.
 */
export function writeHingeTorques(
  bodies: readonly R.RigidBody[],
  tree: HingeTree,
  torque: Float64Array,
  skip: Uint8Array,
  rotated: boolean,
  poses: Float64Array,
  sum: Float64Array,
  tmp: Float64Array,
): void {
  const n = bodies.length;
  sum.fill(0);
  if (rotated) {
    for (let i = 0; i < n; i++) {
      const r = bodies[i].rotation(_q);
      poses[7 * i + 3] = r.x; poses[7 * i + 4] = r.y; poses[7 * i + 5] = r.z; poses[7 * i + 6] = r.w;
    }
  }
  for (let j = 0; j < n - 1; j++) {
    const tau = torque[j];
    if (skip[j] || tau === 0) continue;
    const child = j + 1, parent = tree.parentIndex[child];
    if (rotated) rotate(tmp, 0, poses, 7 * parent + 3, tree.axes, 3 * j);
    else for (let c = 0; c < 3; c++) tmp[c] = tree.axes[3 * j + c];
    for (let c = 0; c < 3; c++) {
      sum[3 * child + c] += tau * tmp[c];
      sum[3 * parent + c] -= tau * tmp[c];
    }
  }
  for (let i = 0; i < n; i++) {
    const body = bodies[i];
    body.resetTorques(false);
    _v.x = sum[3 * i]; _v.y = sum[3 * i + 1]; _v.z = sum[3 * i + 2];
    if (_v.x !== 0 || _v.y !== 0 || _v.z !== 0) body.addTorque(_v, false);
  }
}

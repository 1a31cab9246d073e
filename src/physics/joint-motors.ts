/**
 * MuJoCo's joint-space armature, damping and stiffness for Rapier impulse joints
 * (`armature: 'joint'`, see build.ts). MuJoCo integrates each hinge as
 * (I + a)·q̈ = τ − d·q̇ − k·q; Rapier has no joint-space inertia, so every substep h
 * each hinge with armature a gets an implicit, force-based motor with damping
 * D = a/h + d, spring k to angle 0 and target rate v* = (a·q̇ₙ/h + τ)/D. Rapier solves
 * the motor implicitly, so the joint feels τ − a·(q̇ₙ₊₁ − q̇ₙ)/h − d·q̇ₙ₊₁ − k·q, with
 * equal and opposite reactions on both bodies, as MuJoCo applies them. v* is clamped
 * so one substep cannot cross a joint limit (Rapier's limits alone give way against
 * such a motor). Same scheme as envs/robots/ant-env.ts.
 */
import type { R } from './rapier.js';
import type { JointDescription } from './robot.js';

export class JointSpaceMotors {
  /** True if at least one joint is driven this way. */
  readonly active: boolean;
  /** Actuator torque per joint for the coming substeps, N·m (every joint, driven or not). */
  readonly torque: Float64Array;
  /** 1 where the joint is driven by its motor. */
  readonly driven: Uint8Array;
  private readonly armature: Float64Array;
  private readonly damping: Float64Array;
  private readonly stiffness: Float64Array;
  private readonly lower: Float64Array;
  private readonly upper: Float64Array;

  /** `enabled` false drives no joint (the 'body' model); else every joint with armature > 0. */
  constructor(joints: readonly JointDescription[], enabled: boolean) {
    this.armature = Float64Array.from(joints, (j) => j.armature ?? 0);
    this.damping = Float64Array.from(joints, (j) => j.damping);
    this.stiffness = Float64Array.from(joints, (j) => j.stiffness ?? 0);
    this.lower = Float64Array.from(joints, (j) => j.range?.[0] ?? -Infinity);
    this.upper = Float64Array.from(joints, (j) => j.range?.[1] ?? Infinity);
    this.driven = Uint8Array.from(joints, (j) => (enabled && (j.armature ?? 0) > 0 ? 1 : 0));
    this.active = this.driven.some((d) => d === 1);
    this.torque = new Float64Array(joints.length);
  }

  /** Whether joint j's torque goes through its motor (else through body torques). */
  drives(j: number): boolean {
    return this.driven[j] === 1;
  }

  /** Sets every driven joint's motor for one substep of `h` seconds from its current angle and rate. */
  drive(joints: readonly R.RevoluteImpulseJoint[], q: Float32Array, qd: Float32Array, h: number): void {
    for (let j = 0; j < joints.length; j++) {
      if (!this.driven[j]) continue;
      const a = this.armature[j];
      const D = a / h + this.damping[j];
      let target = ((a / h) * qd[j] + this.torque[j]) / D;
      const lo = (this.lower[j] - q[j]) / h, hi = (this.upper[j] - q[j]) / h;
      target = target < lo ? lo : target > hi ? hi : target;
      joints[j].configureMotor(0, target, this.stiffness[j], D);
    }
  }
}

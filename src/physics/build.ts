/**
 * Robot builder: a `RobotDescription` (robot.ts, plain data in MuJoCo coordinates)
 * plus a ground (ground.ts) → a `RobotWorld` owning one Rapier `World`.
 *
 * How to use it (what an env does):
 *
 *   const rw = buildRobot(CHEETAH, flatGround(), { substeps: 5, dt: 0.05 });
 *   rw.setPose({ jointAngles, jointVels, rootPos, rootQuat, rootLinvel, rootAngvel }); // reset noise
 *   rw.readState();                  // fills rw.jointPos, rw.jointVel, rw.rootPos, ...
 *   rw.actuate(clippedAction);       // action in [-1, 1] per actuator → torque = gear · a
 *   rw.advance();                    // `substeps` world steps = one env step (dt)
 *   rw.readState();
 *   rw.frame(out);                   // packed poses for the viewer
 *   rw.dispose();                    // frees the World (idempotent)
 *
 * Conventions: world is y-up; MuJoCo (x, y, z) → (x, z, −y). Body i of the description
 * is `rw.bodies[i]`; joint j is the hinge of body j + 1 (every non-root body has one),
 * `rw.jointPos[j]` its angle (rad, MuJoCo's sign: about the mapped axis) and
 * `rw.jointVel[j]` its rate. Quaternions are x, y, z, w.
 *
 * Actuation and armature, two models (the description's `armature` picks one):
 * - 'joint' (default; walker, hopper): MuJoCo's joint-space armature, damping and
 *   stiffness, with the action torque, as one implicit motor per hinge set every
 *   substep (joint-motors.ts). A state read and a motor write per substep: ≈15% slower
 *   than 'body' on the cheetah. Body inertia blew up the ant's 0.05 kg legs.
 * - 'body' (cheetah): actions become equal and opposite torques on child and parent
 *   about the hinge axis (`addTorque`, kept by Rapier until reset: a planar robot
 *   writes them once per env step, a free robot re-aims them every substep); damping
 *   and stiffness are each joint's implicit motor, set once; armature is extra inertia
 *   of the child body about its origin (the hinge point here). Cheaper, but it also
 *   slows the whole robot's turning. The cheetah keeps it: under 'joint' its limits
 *   gave way by 0.30 rad at full torque (0.14 under 'body') with 4 solver iterations,
 *   and 8 iterations cost 50% more.
 * Motors as pure torque sources (target ±1e3, max force |gear·a|) with explicit damping
 * were stable on the cheetah but ≈20% slower, and explicit damping is unstable on light
 * links at large dt.
 */
import type { Vec3 } from '../core/scene.js';
import { POSE_STRIDE } from '../core/scene.js';
import { RAPIER, type R } from './rapier.js';
import { createGround, groundHeightAt, type GroundDescription } from './ground.js';
import { writeHingeTorques } from './hinge-torques.js';
import { JointSpaceMotors } from './joint-motors.js';
import { forwardKinematics, jointCoordinates, type HingeTree } from './kinematics.js';
import { mjToWorld, rotate } from './math.js';
import { checkDescription, geomVolume, totalVolume, type BodyDescription, type RobotDescription } from './robot.js';
import { colliderDesc } from './shapes.js';

export interface BuildOptions {
  /** Seconds per env step. */
  dt: number;
  /** World steps per env step (world timestep = dt / substeps). */
  substeps: number;
  /** Velocity solver iterations of the world (Rapier's default is 4). */
  solverIterations?: number;
  /** Gravity along world −y, m/s². Default 9.81. */
  gravity?: number;
  /**
   * How joint armature is modelled; overrides the description's `armature`. 'joint'
   * (default): as MuJoCo does, in joint space, by an implicit motor on each hinge set
   * every substep (see the file's doc). 'body': as extra rotational inertia of the child
   * body (cheaper, but it also slows the whole robot's turning, and blew up the ant).
   */
  armature?: 'joint' | 'body';
}

/** A whole-robot pose in world coordinates; omitted parts keep the description's initial pose (at rest). */
export interface RobotPose {
  rootPos?: ArrayLike<number>;
  rootQuat?: ArrayLike<number>;
  /** Velocity of the root body's origin, m/s. */
  rootLinvel?: ArrayLike<number>;
  rootAngvel?: ArrayLike<number>;
  jointAngles?: ArrayLike<number>;
  jointVels?: ArrayLike<number>;
}

const _v = { x: 0, y: 0, z: 0 };
const _q = { x: 0, y: 0, z: 0, w: 1 };

export class RobotWorld {
  readonly description: RobotDescription;
  readonly world: R.World;
  readonly ground: R.Collider;
  readonly groundDescription: GroundDescription;
  readonly bodies: R.RigidBody[] = [];
  readonly joints: R.RevoluteImpulseJoint[] = [];
  readonly substeps: number;
  readonly dt: number;
  /** Joint angles (rad) and rates (rad/s), one per non-root body; filled by `readState`. */
  readonly jointPos: Float32Array;
  readonly jointVel: Float32Array;
  /** Root body origin (m), orientation (x, y, z, w), centre-of-mass velocity (m/s), angular velocity (rad/s). */
  readonly rootPos = new Float32Array(3);
  readonly rootQuat = new Float32Array(4);
  readonly rootLinvel = new Float32Array(3);
  readonly rootAngvel = new Float32Array(3);
  /** Body masses (kg) and centres of mass in their body frames (world axes, m), 3 per body. */
  readonly masses: Float64Array;
  readonly localComs: Float64Array;

  /** The hinge tree's geometry (parents, axes, anchors) for kinematics. */
  private readonly tree: HingeTree;
  private readonly actuatorJoint: Int32Array;
  private readonly gears: Float64Array;
  /** Scratch: net hinge torque per body, 3 each. */
  private readonly torqueSum: Float64Array;
  /** Scratch: body poses (7 each) and velocities (6 each) in float64. */
  private readonly poses: Float64Array;
  private readonly vels: Float64Array;
  private readonly tmp = new Float64Array(8);
  private torquesDirty = false;
  private disposed = false;
  private readonly motors: JointSpaceMotors;
  private readonly armatureMode: 'joint' | 'body';
  /** True while jointPos/jointVel match the world (cleared by `advance`'s world steps). */
  private jointsFresh = false;

  constructor(description: RobotDescription, ground: GroundDescription, options: BuildOptions) {
    checkDescription(description);
    this.description = description;
    this.groundDescription = ground;
    this.substeps = options.substeps;
    this.dt = options.dt;
    const n = description.bodies.length;
    const nj = n - 1;
    this.jointPos = new Float32Array(nj);
    this.jointVel = new Float32Array(nj);
    this.tree = { parentIndex: new Int32Array(n).fill(-1), axes: new Float64Array(3 * nj), anchorsParent: new Float64Array(3 * nj), anchorsChild: new Float64Array(3 * nj) };
    this.masses = new Float64Array(n);
    this.localComs = new Float64Array(3 * n);
    this.poses = new Float64Array(7 * n);
    this.vels = new Float64Array(6 * n);
    this.torqueSum = new Float64Array(3 * n);
    this.armatureMode = options.armature ?? description.armature ?? 'joint';
    this.motors = new JointSpaceMotors(description.bodies.slice(1).map((b) => b.joint!), this.armatureMode === 'joint');

    const world = new RAPIER.World({ x: 0, y: -(options.gravity ?? 9.81), z: 0 });
    world.timestep = options.dt / options.substeps;
    if (options.solverIterations) world.numSolverIterations = options.solverIterations;
    this.world = world;
    this.ground = createGround(world, ground, description.groundFriction);

    const densityScale = description.totalMass ? description.totalMass / (description.density * totalVolume(description)) : 1;
    const index = new Map<string, number>();
    const worldPos: Vec3[] = [];
    description.bodies.forEach((b, i) => {
      index.set(b.name, i);
      const p = b.parent === null ? -1 : index.get(b.parent)!;
      this.tree.parentIndex[i] = p;
      const offset = mjToWorld(b.pos);
      const pos: Vec3 = p < 0 ? offset : [worldPos[p][0] + offset[0], worldPos[p][1] + offset[1], worldPos[p][2] + offset[2]];
      worldPos.push(pos);
      this.bodies.push(this.createBody(b, pos, description.density * densityScale * (b.massScale ?? 1), i));
      if (p >= 0) this.createJoint(b, i, p, offset);
    });

    this.actuatorJoint = new Int32Array(description.actuators.map((a) => {
      const j = description.bodies.findIndex((b) => b.joint?.name === a.joint);
      if (j < 1) throw new RangeError(`robot '${description.name}': actuator drives unknown joint '${a.joint}'`);
      return j - 1;
    }));
    this.gears = Float64Array.from(description.actuators.map((a) => a.gear));
    this.readState();
  }

  private createBody(b: BodyDescription, pos: Vec3, density: number, i: number): R.RigidBody {
    const fixedRoot = this.description.root === 'fixed' && i === 0;
    const desc = (fixedRoot ? RAPIER.RigidBodyDesc.fixed() : RAPIER.RigidBodyDesc.dynamic()).setTranslation(pos[0], pos[1], pos[2]).setCanSleep(false);
    if (this.description.root === 'planar' && i === 0) desc.enabledTranslations(true, true, false).enabledRotations(false, false, true);
    const armature = this.armatureMode === 'body' ? (b.joint?.armature ?? 0) : 0;
    if (armature > 0) desc.setAdditionalMassProperties(0, { x: 0, y: 0, z: 0 }, { x: armature, y: armature, z: armature }, { x: 0, y: 0, z: 0, w: 1 });
    const body = this.world.createRigidBody(desc);
    let mass = 0;
    const com = [0, 0, 0];
    for (const g of b.geoms) {
      const { volume, centroid } = geomVolume(g);
      const c = mjToWorld(centroid);
      mass += volume * density;
      for (let k = 0; k < 3; k++) com[k] += volume * density * c[k];
      this.world.createCollider(colliderDesc(g, density, g.friction ?? this.description.friction), body);
    }
    this.masses[i] = mass;
    for (let k = 0; k < 3; k++) this.localComs[3 * i + k] = mass > 0 ? com[k] / mass : 0;
    return body;
  }

  private createJoint(b: BodyDescription, i: number, p: number, offset: Vec3): void {
    const j = b.joint!;
    const axis = mjToWorld(j.axis);
    const norm = Math.hypot(axis[0], axis[1], axis[2]);
    const anchorChild = mjToWorld(j.pos ?? [0, 0, 0]);
    const anchorParent: Vec3 = [offset[0] + anchorChild[0], offset[1] + anchorChild[1], offset[2] + anchorChild[2]];
    const k = i - 1;
    for (let c = 0; c < 3; c++) {
      this.tree.axes[3 * k + c] = axis[c] / norm;
      this.tree.anchorsParent[3 * k + c] = anchorParent[c];
      this.tree.anchorsChild[3 * k + c] = anchorChild[c];
    }
    const data = RAPIER.JointData.revolute(
      { x: anchorParent[0], y: anchorParent[1], z: anchorParent[2] },
      { x: anchorChild[0], y: anchorChild[1], z: anchorChild[2] },
      { x: axis[0] / norm, y: axis[1] / norm, z: axis[2] / norm },
    );
    const joint = this.world.createImpulseJoint(data, this.bodies[p], this.bodies[i], true) as R.RevoluteImpulseJoint;
    // Limits on the JointData are ignored by rapier.js 0.20; only the created joint's setter works.
    if (j.range) joint.setLimits(j.range[0], j.range[1]);
    joint.configureMotorModel(RAPIER.MotorModel.ForceBased);
    if ((j.stiffness ?? 0) > 0) joint.configureMotorPosition(0, j.stiffness!, j.damping);
    else if (j.damping > 0) joint.configureMotorVelocity(0, j.damping);
    this.joints.push(joint);
  }

  /** Number of hinges (= bodies − 1). */
  get jointCount(): number {
    return this.joints.length;
  }

  get actuatorCount(): number {
    return this.gears.length;
  }

  /** Sets actuator torques from `action` (already clipped to [-1, 1]): τ = gear · a. Kept until the next call. */
  actuate(action: ArrayLike<number>): void {
    const torque = this.motors.torque;
    torque.fill(0);
    for (let a = 0; a < this.gears.length; a++) torque[this.actuatorJoint[a]] += this.gears[a] * action[a];
    this.torquesDirty = true;
  }

  /** Advances one env step: `substeps` world steps under the current torques. */
  advance(): void {
    // Only a planar robot's hinge axes stay put (on world z); others turn with their bodies.
    const free = this.description.root !== 'planar';
    for (let s = 0; s < this.substeps; s++) {
      if (this.motors.active) {
        if (!this.jointsFresh) this.readJoints();
        this.motors.drive(this.joints, this.jointPos, this.jointVel, this.dt / this.substeps);
      }
      // Planar axes stay on world z, so their torques are written once per action.
      if (free || this.torquesDirty) {
        writeHingeTorques(this.bodies, this.tree, this.motors.torque, this.motors.driven, free, this.poses, this.torqueSum, this.tmp);
        this.torquesDirty = false;
      }
      this.world.step();
      this.jointsFresh = false;
    }
  }

  /** Reads root state, joint angles and joint rates into the public arrays. */
  readState(): void {
    // Only the root's position is read here (joint angles need rotations and rates only);
    // `frame` and `bodyCom` read other bodies' positions when asked. Each read is a WASM call.
    const P = this.poses;
    const t = this.bodies[0].translation(_v);
    P[0] = t.x; P[1] = t.y; P[2] = t.z;
    this.readJoints();
    const lv = this.bodies[0].linvel(_v);
    this.rootLinvel[0] = lv.x; this.rootLinvel[1] = lv.y; this.rootLinvel[2] = lv.z;
    for (let c = 0; c < 3; c++) { this.rootPos[c] = P[c]; this.rootAngvel[c] = this.vels[3 + c]; }
    for (let c = 0; c < 4; c++) this.rootQuat[c] = P[3 + c];
  }

  /** Orientations and angular velocities of every body, then joint angles and rates: all the motors need. */
  private readJoints(): void {
    const P = this.poses, V = this.vels;
    for (let i = 0; i < this.bodies.length; i++) {
      const b = this.bodies[i];
      const r = b.rotation(_q);
      P[7 * i + 3] = r.x; P[7 * i + 4] = r.y; P[7 * i + 5] = r.z; P[7 * i + 6] = r.w;
      const w = b.angvel(_v);
      V[6 * i + 3] = w.x; V[6 * i + 4] = w.y; V[6 * i + 5] = w.z;
    }
    jointCoordinates(this.tree, P, V, this.jointPos, this.jointVel, this.tmp);
    this.jointsFresh = true;
  }

  /**
   * Places the whole robot by forward kinematics from a root pose and joint angles, with
   * consistent body velocities. Clears torques. Call on a fresh world (reset rebuilds it)
   * so no contact from an old episode carries over.
   */
  setPose(pose: RobotPose): void {
    const n = this.bodies.length;
    const P = this.poses, V = this.vels, tmp = this.tmp;
    const rootPos = pose.rootPos ?? mjToWorld(this.description.bodies[0].pos);
    const rootQuat = pose.rootQuat ?? [0, 0, 0, 1];
    for (let c = 0; c < 3; c++) {
      P[c] = rootPos[c];
      V[3 + c] = pose.rootAngvel?.[c] ?? 0;
      V[c] = pose.rootLinvel?.[c] ?? 0; // origin velocity for now; converted to COM velocity below
    }
    for (let c = 0; c < 4; c++) P[3 + c] = rootQuat[c];
    forwardKinematics(this.tree, pose, P, V, tmp);
    for (let i = 0; i < n; i++) {
      const b = this.bodies[i];
      _v.x = P[7 * i]; _v.y = P[7 * i + 1]; _v.z = P[7 * i + 2];
      b.setTranslation(_v, false);
      _q.x = P[7 * i + 3]; _q.y = P[7 * i + 4]; _q.z = P[7 * i + 5]; _q.w = P[7 * i + 6];
      b.setRotation(_q, false);
      // Rapier's linvel is the centre of mass's: v_com = v_origin + ω × (R · com_local).
      rotate(tmp, 0, P, 7 * i + 3, this.localComs, 3 * i);
      const wx = V[6 * i + 3], wy = V[6 * i + 4], wz = V[6 * i + 5];
      _v.x = V[6 * i] + (wy * tmp[2] - wz * tmp[1]);
      _v.y = V[6 * i + 1] + (wz * tmp[0] - wx * tmp[2]);
      _v.z = V[6 * i + 2] + (wx * tmp[1] - wy * tmp[0]);
      b.setLinvel(_v, false);
      _v.x = wx; _v.y = wy; _v.z = wz;
      b.setAngvel(_v, false);
      b.resetTorques(false);
      b.resetForces(false);
    }
    this.motors.torque.fill(0);
    this.torquesDirty = false;
    this.readState();
  }

  /** Reads body i's position now (readState reads only the root's). */
  private readPosition(i: number): void {
    if (i === 0) return;
    const t = this.bodies[i].translation(_v);
    this.poses[7 * i] = t.x; this.poses[7 * i + 1] = t.y; this.poses[7 * i + 2] = t.z;
  }

  /** World position of body i's centre of mass into out[o..o+2] (orientation from the last `readState`). */
  bodyCom(i: number, out: Float32Array | Float64Array, o = 0): void {
    this.readPosition(i);
    rotate(this.tmp, 0, this.poses, 7 * i + 3, this.localComs, 3 * i);
    for (let c = 0; c < 3; c++) out[o + c] = this.poses[7 * i + c] + this.tmp[c];
  }

  /** Whole-robot centre of mass into `out` (from the last `readState`). */
  robotCom(out: Float32Array | Float64Array): void {
    let m = 0, x = 0, y = 0, z = 0;
    const c = this.tmp;
    for (let i = 0; i < this.bodies.length; i++) {
      this.bodyCom(i, c, 5);
      const mi = this.masses[i];
      m += mi; x += mi * c[5]; y += mi * c[6]; z += mi * c[7];
    }
    out[0] = x / m; out[1] = y / m; out[2] = z / m;
  }

  /** Ground height at world (x, z), m. */
  groundHeight(x: number, z: number): number {
    return groundHeightAt(this.ground, x, z);
  }

  /** Packed body poses (bodies × POSE_STRIDE: x, y, z, qx, qy, qz, qw); orientations from the last `readState`. */
  frame(out?: Float32Array): Float32Array {
    const n = this.bodies.length;
    const dst = out ?? new Float32Array(n * POSE_STRIDE);
    for (let i = 1; i < n; i++) this.readPosition(i);
    for (let i = 0; i < 7 * n; i++) dst[i] = this.poses[i];
    return dst;
  }

  /** Frees the Rapier world and everything in it. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.world.free();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }
}

export function buildRobot(description: RobotDescription, ground: GroundDescription, options: BuildOptions): RobotWorld {
  return new RobotWorld(description, ground, options);
}

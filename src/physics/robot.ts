/**
 * The declarative robot description: plain data that `buildRobot` (build.ts) turns
 * into a Rapier world and that `robotSceneBodies` turns into the viewer's scene.
 *
 * Coordinates are MuJoCo's, z up, so a model transcribes line by line from its XML
 * (body `pos`, geom `fromto`, joint `axis`/`pos`/`range`). The builder maps them to
 * the y-up world with (x, y, z) → (x, z, −y). Body frames carry no rotation (true of
 * every classic locomotion model), so a body's `pos` is just an offset from its parent.
 */
import type { Vec3 } from '../core/scene.js';
import { quatFromAxisAngle, rotate } from './math.js';

export type GeomDescription =
  /** A capsule between two points of its body's frame (MuJoCo `fromto`). */
  | { kind: 'capsule'; from: Vec3; to: Vec3; radius: number; friction?: number; color?: string }
  | { kind: 'sphere'; pos: Vec3; radius: number; friction?: number; color?: string }
  | { kind: 'box'; pos: Vec3; halfExtents: Vec3; friction?: number; color?: string };

export interface JointDescription {
  name: string;
  /** Hinge axis in the body's (= parent's) frame; need not be unit length. */
  axis: Vec3;
  /** Hinge point in the child body's frame (MuJoCo joint `pos`). Default origin. */
  pos?: Vec3;
  /** [lower, upper] in radians, or null for a free hinge. */
  range: [number, number] | null;
  /** Viscous joint damping, N·m·s/rad (MuJoCo `damping`). */
  damping: number;
  /** Spring to angle 0, N·m/rad (MuJoCo `stiffness`). Default 0. */
  stiffness?: number;
  /** Rotor inertia added about the hinge, kg·m² (MuJoCo `armature`). Default 0. */
  armature?: number;
}

export interface BodyDescription {
  name: string;
  /** Name of the parent body; null for the root (exactly one, listed first). */
  parent: string | null;
  /** Offset from the parent body's origin (for the root: its initial world position), m. */
  pos: Vec3;
  geoms: GeomDescription[];
  /** The hinge that connects this body to its parent; required for every non-root body. */
  joint?: JointDescription;
  /** Multiplies this body's mass and inertia (dynamics randomisation). Default 1. */
  massScale?: number;
}

export interface ActuatorDescription {
  /** Name of the joint it drives. */
  joint: string;
  /** Torque at action 1, N·m. */
  gear: number;
}

export interface RobotDescription {
  name: string;
  /**
   * 'planar': the robot moves in MuJoCo's x–z plane (world x–y) and turns about MuJoCo's
   * y (world z), like the rootx/rootz/rooty joints of cheetah, walker and hopper; every
   * body is locked to the plane. 'free': a free-floating root (the ant). 'fixed': the
   * root is welded to the world where it stands (an arm on a table, a reacher).
   */
  root: 'planar' | 'free' | 'fixed';
  /** Parents before children; the first is the root. */
  bodies: BodyDescription[];
  actuators: ActuatorDescription[];
  /** kg/m³ for every geom (MuJoCo's default 1000). */
  density: number;
  /** If set, densities are scaled so the robot weighs this much (MuJoCo `settotalmass`), kg. */
  totalMass?: number;
  /** Geom friction where a geom gives none. */
  friction: number;
  /** Friction of the ground; contacts use the larger of the two, as MuJoCo does. */
  groundFriction: number;
  /** Default colour of geoms, CSS. */
  color?: string;
  /**
   * How joint armature is modelled: 'joint' (default, MuJoCo's joint-space armature as an
   * implicit hinge motor each substep) or 'body' (extra inertia of the child body).
   * See src/physics/build.ts; `BuildOptions.armature` overrides it.
   */
  armature?: 'joint' | 'body';
}

/** A capsule placed like MuJoCo's `pos` + `axisangle` + `size="radius halfLength"` (its axis is local z). */
export function capsuleAxisAngle(
  pos: Vec3,
  axis: Vec3,
  angle: number,
  radius: number,
  halfLength: number,
  extra: { friction?: number; color?: string } = {},
): GeomDescription {
  return capsuleQuat(pos, quatFromAxisAngle(axis, angle), radius, halfLength, extra);
}

/** A capsule placed like MuJoCo's `pos` + `quat` (here x, y, z, w) + `size`. */
export function capsuleQuat(
  pos: Vec3,
  quat: readonly number[],
  radius: number,
  halfLength: number,
  extra: { friction?: number; color?: string } = {},
): GeomDescription {
  const d = [0, 0, 0];
  rotate(d, 0, quat, 0, [0, 0, halfLength], 0);
  return {
    kind: 'capsule',
    from: [pos[0] - d[0], pos[1] - d[1], pos[2] - d[2]],
    to: [pos[0] + d[0], pos[1] + d[1], pos[2] + d[2]],
    radius,
    ...extra,
  };
}

/** Volume (m³) and centroid (body frame, MuJoCo coordinates) of a geom. */
export function geomVolume(g: GeomDescription): { volume: number; centroid: Vec3 } {
  switch (g.kind) {
    case 'capsule': {
      const len = Math.hypot(g.to[0] - g.from[0], g.to[1] - g.from[1], g.to[2] - g.from[2]);
      const volume = Math.PI * g.radius * g.radius * len + (4 / 3) * Math.PI * g.radius ** 3;
      const centroid: Vec3 = [(g.from[0] + g.to[0]) / 2, (g.from[1] + g.to[1]) / 2, (g.from[2] + g.to[2]) / 2];
      return { volume, centroid };
    }
    case 'sphere':
      return { volume: (4 / 3) * Math.PI * g.radius ** 3, centroid: [...g.pos] };
    case 'box':
      return { volume: 8 * g.halfExtents[0] * g.halfExtents[1] * g.halfExtents[2], centroid: [...g.pos] };
  }
}

/** Sum of every geom's volume, m³. */
export function totalVolume(d: RobotDescription): number {
  let v = 0;
  for (const b of d.bodies) for (const g of b.geoms) v += geomVolume(g).volume;
  return v;
}

/** Throws RangeError naming the robot if the body tree is malformed. */
export function checkDescription(d: RobotDescription): void {
  const fail = (why: string): never => {
    throw new RangeError(`robot '${d.name}': ${why}`);
  };
  if (d.bodies.length === 0 || d.bodies[0].parent !== null) fail('the first body must be the root (parent: null)');
  const seen = new Set<string>();
  for (const b of d.bodies) {
    if (seen.has(b.name)) fail(`body name '${b.name}' is used twice`);
    if (b !== d.bodies[0]) {
      if (b.parent === null) fail(`body '${b.name}': only the first body may be a root`);
      if (!seen.has(b.parent!)) fail(`body '${b.name}': parent '${b.parent}' must be listed before it`);
      if (!b.joint) fail(`body '${b.name}': every non-root body needs a joint`);
    }
    seen.add(b.name);
  }
}

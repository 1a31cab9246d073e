/**
 * What the viewer draws. A `SceneDescription` is static and sent once per env and
 * task; a frame is the packed poses of its bodies, sent every step.
 *
 * World frame: y is up, +x is "forward", the ground is the x–z plane. MuJoCo models
 * (z-up) are mapped with (x, y, z) → (x, z, −y).
 */
export type Vec3 = [number, number, number];
/** Quaternion as x, y, z, w. */
export type Quat = [number, number, number, number];

export type ShapeDescription =
  | { kind: 'sphere'; radius: number }
  | { kind: 'box'; halfExtents: Vec3 }
  /** Capsule along its local y axis. */
  | { kind: 'capsule'; radius: number; halfHeight: number }
  /** Cylinder along its local y axis. */
  | { kind: 'cylinder'; radius: number; halfHeight: number };

export interface SceneShape {
  shape: ShapeDescription;
  /** Pose of the shape in its body's frame. */
  position: Vec3;
  rotation: Quat;
  /** CSS colour, e.g. '#d08040'. */
  color: string;
}

export interface SceneBody {
  name: string;
  shapes: SceneShape[];
}

/**
 * Heights on a regular grid over the x–z plane, centred on `center`.
 * `heights[i * ncols + j]` is the height at x = center.x + (j / (ncols − 1) − 0.5) · sizeX,
 * z = center.z + (i / (nrows − 1) − 0.5) · sizeZ.
 */
export interface HeightfieldDescription {
  kind: 'heightfield';
  nrows: number;
  ncols: number;
  sizeX: number;
  sizeZ: number;
  center: Vec3;
  heights: number[];
  color: string;
}

export interface PlaneDescription {
  kind: 'plane';
  /** Height of the plane (y). */
  height: number;
  color: string;
}

export type MarkerDescription =
  | { kind: 'goal'; position: Vec3; radius: number; color: string }
  /** An arrow from `position` along `direction` (length = |direction|), e.g. a target velocity. */
  | { kind: 'arrow'; position: Vec3; direction: Vec3; color: string; label?: string }
  | { kind: 'text'; text: string };

export interface SceneDescription {
  /** Name of the task family. */
  family: string;
  bodies: SceneBody[];
  ground: PlaneDescription | HeightfieldDescription;
  markers: MarkerDescription[];
  /** Human-readable task parameters for the HUD, e.g. { 'target velocity': 1.3 }. */
  taskLabel: Record<string, number | string>;
}

/** Floats per body in a frame: position x, y, z then quaternion x, y, z, w. */
export const POSE_STRIDE = 7;

/**
 * The ground under a robot: a flat plane or a heightfield in the layout of
 * `HeightfieldDescription` (src/core/scene.ts), as a fixed Rapier collider. A
 * heightfield's world height at a grid node is `center[1] + heights[i * ncols + j]`.
 */
import type { HeightfieldDescription, PlaneDescription } from '../core/scene.js';
import { RAPIER, type R } from './rapier.js';

export type GroundDescription = PlaneDescription | HeightfieldDescription;

/** Collision groups: robots touch the ground only, never themselves (MuJoCo's conaffinity="0" on robot geoms). */
export const GROUND_GROUPS = (0x0001 << 16) | 0x0002;
export const ROBOT_GROUPS = (0x0002 << 16) | 0x0001;

/** Half-size of the box that stands in for an infinite plane (rapier.js has no half-space desc), m. */
const PLANE_HALF_SIZE = 500;

export function flatGround(height = 0, color = '#cfe3cf'): PlaneDescription {
  return { kind: 'plane', height, color };
}

/** Adds the ground to `world`, returns its collider. */
export function createGround(world: R.World, ground: GroundDescription, friction: number): R.Collider {
  let desc: R.ColliderDesc;
  if (ground.kind === 'plane') {
    desc = RAPIER.ColliderDesc.cuboid(PLANE_HALF_SIZE, 1, PLANE_HALF_SIZE).setTranslation(0, ground.height - 1, 0);
  } else {
    checkHeightfield(ground);
    const { nrows, ncols } = ground;
    // Rapier wants the heights column-major with rows along z and columns along x, and
    // counts cells, not samples: (nrows − 1) × (ncols − 1). Measured in test/physics/ground.test.ts.
    const heights = new Float32Array(nrows * ncols);
    for (let i = 0; i < nrows; i++) for (let j = 0; j < ncols; j++) heights[j * nrows + i] = ground.heights[i * ncols + j];
    desc = RAPIER.ColliderDesc.heightfield(nrows - 1, ncols - 1, heights, { x: ground.sizeX, y: 1, z: ground.sizeZ })
      .setTranslation(ground.center[0], ground.center[1], ground.center[2]);
  }
  desc.setFriction(friction).setFrictionCombineRule(RAPIER.CoefficientCombineRule.Max).setCollisionGroups(GROUND_GROUPS);
  return world.createCollider(desc);
}

function checkHeightfield(h: HeightfieldDescription): void {
  const ok = Number.isInteger(h.nrows) && Number.isInteger(h.ncols) && h.nrows >= 2 && h.ncols >= 2 && h.heights.length === h.nrows * h.ncols;
  if (!ok) throw new RangeError(`heightfield: need nrows, ncols >= 2 and heights.length = nrows·ncols, got ${h.nrows}×${h.ncols} and ${h.heights.length} heights`);
}

const _ray = new RAPIER.Ray({ x: 0, y: 0, z: 0 }, { x: 0, y: -1, z: 0 });
const RAY_TOP = 1000;

/** Height of the ground at world (x, z), by a ray cast straight down; −Infinity off the ground. */
export function groundHeightAt(ground: R.Collider, x: number, z: number): number {
  _ray.origin.x = x;
  _ray.origin.y = RAY_TOP;
  _ray.origin.z = z;
  const toi = ground.castRay(_ray, 2 * RAY_TOP, true);
  return toi < 0 ? -Infinity : RAY_TOP - toi;
}

/**
 * Geoms of a robot description (MuJoCo coordinates) as Rapier colliders and as the
 * viewer's scene shapes (world axes, y up). Capsules lie along local y in both.
 */
import type { Quat, SceneBody, SceneShape, Vec3 } from '../core/scene.js';
import { ROBOT_GROUPS } from './ground.js';
import { mjToWorld, quatBetween } from './math.js';
import { RAPIER, type R } from './rapier.js';
import type { GeomDescription, RobotDescription } from './robot.js';

const DEFAULT_COLOR = '#cc9966';

/** Midpoint, half length and rotation (local y → segment) of a capsule, in world axes. */
function capsulePlacement(g: Extract<GeomDescription, { kind: 'capsule' }>): { mid: Vec3; halfHeight: number; rotation: Quat } {
  const a = mjToWorld(g.from), b = mjToWorld(g.to);
  const d: Vec3 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
  const len = Math.hypot(d[0], d[1], d[2]);
  const rotation = len > 0 ? quatBetween([0, 1, 0], [d[0] / len, d[1] / len, d[2] / len]) : ([0, 0, 0, 1] as Quat);
  return { mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2], halfHeight: len / 2, rotation };
}

export function colliderDesc(g: GeomDescription, density: number, friction: number): R.ColliderDesc {
  let desc: R.ColliderDesc;
  switch (g.kind) {
    case 'capsule': {
      const { mid, halfHeight, rotation: q } = capsulePlacement(g);
      desc = RAPIER.ColliderDesc.capsule(halfHeight, g.radius)
        .setTranslation(mid[0], mid[1], mid[2])
        .setRotation({ x: q[0], y: q[1], z: q[2], w: q[3] });
      break;
    }
    case 'sphere': {
      const p = mjToWorld(g.pos);
      desc = RAPIER.ColliderDesc.ball(g.radius).setTranslation(p[0], p[1], p[2]);
      break;
    }
    case 'box': {
      const p = mjToWorld(g.pos), h = mjToWorld(g.halfExtents);
      desc = RAPIER.ColliderDesc.cuboid(Math.abs(h[0]), Math.abs(h[1]), Math.abs(h[2])).setTranslation(p[0], p[1], p[2]);
      break;
    }
  }
  return desc
    .setDensity(density)
    .setFriction(friction)
    .setFrictionCombineRule(RAPIER.CoefficientCombineRule.Max)
    .setRestitution(0)
    .setCollisionGroups(ROBOT_GROUPS);
}

/** The viewer's bodies for a description (shapes in body frames, world axes). */
export function robotSceneBodies(d: RobotDescription): SceneBody[] {
  return d.bodies.map((b) => ({ name: b.name, shapes: b.geoms.map((g) => sceneShape(g, d.color ?? DEFAULT_COLOR)) }));
}

function sceneShape(g: GeomDescription, color: string): SceneShape {
  const c = g.color ?? color;
  switch (g.kind) {
    case 'capsule': {
      const { mid, halfHeight, rotation } = capsulePlacement(g);
      return { shape: { kind: 'capsule', radius: g.radius, halfHeight }, position: mid, rotation, color: c };
    }
    case 'sphere':
      return { shape: { kind: 'sphere', radius: g.radius }, position: mjToWorld(g.pos), rotation: [0, 0, 0, 1], color: c };
    case 'box': {
      const h = mjToWorld(g.halfExtents);
      return { shape: { kind: 'box', halfExtents: [Math.abs(h[0]), Math.abs(h[1]), Math.abs(h[2])] }, position: mjToWorld(g.pos), rotation: [0, 0, 0, 1], color: c };
    }
  }
}

// Joint armature: the 'joint' model must behave as MuJoCo's joint-space armature
// ((I + a)·q̈ = τ), whatever the bodies weigh; the 'body' model only does so when the
// parent is heavy, which is why light robots use 'joint'.
import { afterEach, describe, expect, it } from 'vitest';
import { buildRobot, flatGround, type RobotDescription, type RobotWorld } from '../../src/physics/index.js';

let worlds: RobotWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.dispose();
  worlds = [];
});

/** A torso sphere of radius `torsoRadius` with one light limb on a hinge with armature 1. */
const arm = (torsoRadius: number, armature: 'joint' | 'body', damping = 0): RobotDescription => ({
  name: 'arm',
  root: 'free',
  density: 1000,
  friction: 1,
  groundFriction: 1,
  armature,
  bodies: [
    { name: 'torso', parent: null, pos: [0, 0, 5], geoms: [{ kind: 'sphere', pos: [0, 0, 0], radius: torsoRadius }] },
    {
      name: 'limb',
      parent: 'torso',
      pos: [torsoRadius + 0.1, 0, 0],
      joint: { name: 'hinge', axis: [0, 0, 1], range: null, damping, armature: 1 },
      geoms: [{ kind: 'capsule', from: [0, 0, 0], to: [0.2, 0, 0], radius: 0.02 }],
    },
  ],
  actuators: [{ joint: 'hinge', gear: 1 }],
});

/** Joint angle and rate after 0.5 s of torque 1 N·m in zero gravity. */
function spin(robot: RobotDescription): [number, number] {
  const rw = buildRobot(robot, flatGround(), { dt: 0.01, substeps: 5, gravity: 0 });
  worlds.push(rw);
  rw.actuate([1]);
  for (let t = 0; t < 50; t++) {
    rw.advance();
    rw.readState();
  }
  return [rw.jointPos[0], rw.jointVel[0]];
}

describe('joint armature', () => {
  it("'joint': q̈ ≈ τ / a even with a light torso (q ≈ 0.125 rad, q̇ ≈ 0.5 rad/s after 0.5 s)", () => {
    for (const torso of [1, 0.05]) {
      const [q, qd] = spin(arm(torso, 'joint'));
      expect(q).toBeGreaterThan(0.11);
      expect(q).toBeLessThan(0.13);
      expect(qd).toBeGreaterThan(0.44);
      expect(qd).toBeLessThan(0.51);
    }
  });

  it("'body': matches with a heavy torso but spins a light one far too fast", () => {
    const [qHeavy] = spin(arm(1, 'body'));
    expect(qHeavy).toBeCloseTo(0.125, 2);
    const [, qdLight] = spin(arm(0.05, 'body'));
    expect(qdLight).toBeGreaterThan(5);
  });

  it("'joint' damping slows the hinge as MuJoCo's joint damping does", () => {
    const [, free] = spin(arm(1, 'joint'));
    const [, damped] = spin(arm(1, 'joint', 2)); // a·q̈ = τ − d·q̇: q̇ → τ/d = 0.5 with time constant a/d
    expect(damped).toBeLessThan(free * 0.8);
    expect(damped).toBeGreaterThan(0.25);
  });
});

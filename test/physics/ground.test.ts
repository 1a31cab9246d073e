// The ground a robot stands on: heights under the robot match the heightfield passed
// in (layout of HeightfieldDescription), and a free-floating robot's internal torques
// act about its turning hinge axes.
import { afterEach, describe, expect, it } from 'vitest';
import type { HeightfieldDescription } from '../../src/core/scene.js';
import { buildRobot, flatGround, type RobotDescription, type RobotWorld } from '../../src/physics/index.js';

let worlds: RobotWorld[] = [];
afterEach(() => {
  for (const w of worlds) w.dispose();
  worlds = [];
});

const N = 9; // nodes per side, 1 m apart
/** Plateaus: 0.3 m where x ≥ 1, 0.15 m where z ≥ 1 and x ≤ −1, else 0; a bump at node (2, 2). */
function plateauField(): HeightfieldDescription {
  const heights: number[] = [];
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      const x = j - 4, z = i - 4;
      heights.push(i === 2 && j === 2 ? 0.5 : x >= 1 ? 0.3 : z >= 1 && x <= -1 ? 0.15 : 0);
    }
  }
  return { kind: 'heightfield', nrows: N, ncols: N, sizeX: N - 1, sizeZ: N - 1, center: [0, 0.1, 0], heights, color: '#999999' };
}

const BALL = (x: number, z: number): RobotDescription => ({
  name: 'ball',
  root: 'free',
  density: 1000,
  friction: 1,
  groundFriction: 1,
  bodies: [{ name: 'ball', parent: null, pos: [x, -z, 1.5], geoms: [{ kind: 'sphere', pos: [0, 0, 0], radius: 0.2 }] }],
  actuators: [],
});

describe('heightfield ground', () => {
  it('has the passed height at every grid node (center.y + heights[i·ncols + j])', () => {
    const field = plateauField();
    const rw = buildRobot(BALL(0, 0), field, { dt: 0.01, substeps: 1 });
    worlds.push(rw);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        const x = field.center[0] + (j / (N - 1) - 0.5) * field.sizeX;
        const z = field.center[2] + (i / (N - 1) - 0.5) * field.sizeZ;
        expect(rw.groundHeight(x, z)).toBeCloseTo(field.center[1] + field.heights[i * N + j], 4);
      }
    }
    // The bump is at row 2 (z = −2), column 2 (x = −2), not transposed.
    expect(rw.groundHeight(-2, -2)).toBeCloseTo(0.6, 4);
    expect(rw.groundHeight(-2, 2)).toBeCloseTo(0.1 + 0.15, 4);
  });

  it.each([
    [2.5, -2.5, 0.3],
    [-2.5, 2.5, 0.15],
    [-2.5, -2.6, 0],
  ])('a ball dropped at (x=%f, z=%f) comes to rest on the passed height %f', (x, z, h) => {
    const field = plateauField();
    // MuJoCo coordinates in the description: world z = −(MuJoCo y).
    const rw = buildRobot(BALL(x, z), field, { dt: 0.01, substeps: 2 });
    worlds.push(rw);
    for (let t = 0; t < 300; t++) rw.advance();
    rw.readState();
    expect(rw.rootPos[0]).toBeCloseTo(x, 2);
    expect(rw.rootPos[2]).toBeCloseTo(z, 2);
    expect(rw.rootPos[1] - 0.2).toBeCloseTo(field.center[1] + h, 2);
  });

  it('a plane ground is flat at its height', () => {
    const rw = buildRobot(BALL(0, 0), flatGround(0.25), { dt: 0.01, substeps: 1 });
    worlds.push(rw);
    expect(rw.groundHeight(3, -7)).toBeCloseTo(0.25, 5);
    for (let t = 0; t < 200; t++) rw.advance();
    rw.readState();
    expect(rw.rootPos[1]).toBeCloseTo(0.45, 2);
  });
});

describe('free-floating root', () => {
  const ARM: RobotDescription = {
    name: 'arm',
    root: 'free',
    density: 1000,
    friction: 1,
    groundFriction: 1,
    bodies: [
      { name: 'torso', parent: null, pos: [0, 0, 5], geoms: [{ kind: 'sphere', pos: [0, 0, 0], radius: 0.25 }] },
      {
        name: 'limb',
        parent: 'torso',
        pos: [0.2, 0.2, 0],
        joint: { name: 'hip', axis: [0, 0, 1], range: [-0.5, 0.5], damping: 0 },
        geoms: [{ kind: 'capsule', from: [0, 0, 0], to: [0.3, 0.3, 0], radius: 0.08 }],
      },
    ],
    actuators: [{ joint: 'hip', gear: 5 }],
  };

  it('turns its joints by action sign, about axes that turn with the body, with no net force', () => {
    const rw = buildRobot(ARM, flatGround(), { dt: 0.01, substeps: 2, gravity: 0 });
    worlds.push(rw);
    // Tilt the whole robot so the hinge axis is far from any world axis.
    const s = Math.sin(0.6), c = Math.cos(0.6);
    rw.setPose({ rootPos: [0, 5, 0], rootQuat: [s * 0.8, 0, s * 0.6, c] });
    const com0 = new Float64Array(3), com1 = new Float64Array(3);
    rw.robotCom(com0);
    rw.actuate([1]);
    for (let t = 0; t < 20; t++) rw.advance();
    rw.readState();
    expect(rw.jointPos[0]).toBeGreaterThan(0.05);
    rw.robotCom(com1);
    for (let k = 0; k < 3; k++) expect(com1[k]).toBeCloseTo(com0[k], 3); // internal torques only
    rw.actuate([-1]);
    for (let t = 0; t < 60; t++) rw.advance();
    rw.readState();
    expect(rw.jointPos[0]).toBeLessThan(-0.05);
    expect(rw.jointPos[0]).toBeGreaterThan(-0.5 - 0.05);
  });
});

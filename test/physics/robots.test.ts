// Physics sanity of the transcribed robots: they settle under gravity with zero torque,
// their joint limits hold at full torque, masses follow MuJoCo's density rule, and a
// pose set by forward kinematics reads back unchanged.
import { afterEach, describe, expect, it } from 'vitest';
import { HALF_CHEETAH, CHEETAH_DT, CHEETAH_SUBSTEPS } from '../../envs/robots/half-cheetah.js';
import { HOPPER, HOPPER_DT, HOPPER_SUBSTEPS } from '../../envs/robots/hopper.js';
import { WALKER2D, WALKER_DT, WALKER_SUBSTEPS } from '../../envs/robots/walker2d.js';
import { buildRobot, flatGround, type RobotDescription, type RobotWorld } from '../../src/physics/index.js';

const ROBOTS: [string, RobotDescription, number, number][] = [
  ['half-cheetah', HALF_CHEETAH, CHEETAH_DT, CHEETAH_SUBSTEPS],
  ['walker2d', WALKER2D, WALKER_DT, WALKER_SUBSTEPS],
  ['hopper', HOPPER, HOPPER_DT, HOPPER_SUBSTEPS],
];

let worlds: RobotWorld[] = [];
const build = (robot: RobotDescription, dt: number, substeps: number) => {
  const rw = buildRobot(robot, flatGround(), { dt, substeps });
  worlds.push(rw);
  return rw;
};
afterEach(() => {
  for (const w of worlds) w.dispose();
  worlds = [];
});

/** Lowest point of any body origin and largest body speed, over the whole robot. */
function extremes(rw: RobotWorld): { minY: number; maxSpeed: number; maxOffPlane: number } {
  let minY = Infinity, maxSpeed = 0, maxOffPlane = 0;
  for (const b of rw.bodies) {
    const t = b.translation(), v = b.linvel();
    minY = Math.min(minY, t.y);
    maxSpeed = Math.max(maxSpeed, Math.hypot(v.x, v.y, v.z));
    maxOffPlane = Math.max(maxOffPlane, Math.abs(t.z));
  }
  return { minY, maxSpeed, maxOffPlane };
}

describe.each(ROBOTS)('robot %s', (_name, robot, dt, substeps) => {
  it('settles under gravity with zero torque, without exploding or leaving its plane', () => {
    const rw = build(robot, dt, substeps);
    const steps = Math.round(4 / dt); // 4 s
    for (let t = 0; t < steps; t++) {
      rw.advance();
      rw.readState();
      const e = extremes(rw);
      expect(e.maxSpeed).toBeLessThan(10);
      expect(e.minY).toBeGreaterThan(-0.05);
    }
    const e = extremes(rw);
    expect(e.maxSpeed).toBeLessThan(0.05); // at rest
    expect(e.maxOffPlane).toBeLessThan(1e-3);
    expect(Math.abs(rw.rootPos[0])).toBeLessThan(1); // did not fly off
  });

  it('keeps its joints within their ranges under full torque either way', () => {
    const rw = build(robot, dt, substeps);
    const action = new Float32Array(rw.actuatorCount);
    let worst = 0;
    for (const sign of [1, -1, 1]) {
      action.fill(sign);
      rw.actuate(action);
      for (let t = 0; t < Math.round(1.5 / dt); t++) {
        rw.advance();
        rw.readState();
        for (let j = 0; j < rw.jointCount; j++) {
          const [lo, hi] = robot.bodies[j + 1].joint!.range!;
          worst = Math.max(worst, lo - rw.jointPos[j], rw.jointPos[j] - hi);
        }
      }
    }
    // rad: Rapier's limits give way briefly on impacts at full torque (the cheetah's fshin by
    // ~0.14 rad with 4 solver iterations), as MuJoCo's soft limits (solreflimit 0.02) do.
    expect(worst).toBeLessThan(0.15);
    expect(extremes(rw).maxSpeed).toBeLessThan(20);
  });

  it('reads back the joint angles, rates and root pose it was placed in', () => {
    // A 1 ms step for the consistency check below: the cheetah's joint springs bend a
    // joint far within one 50 ms env step.
    const stepDt = 1e-3;
    const rw = build(robot, stepDt, 1);
    const n = rw.jointCount;
    const angles = Array.from({ length: n }, (_, j) => {
      const [lo, hi] = robot.bodies[j + 1].joint!.range!;
      return lo + ((j + 1) / (n + 1)) * (hi - lo);
    });
    const rates = Array.from({ length: n }, (_, j) => 0.5 - 0.3 * j);
    rw.setPose({ rootPos: [0.3, 2, 0], rootQuat: [0, 0, Math.sin(0.1), Math.cos(0.1)], rootLinvel: [1, 0.5, 0], rootAngvel: [0, 0, 0.7], jointAngles: angles, jointVels: rates });
    for (let j = 0; j < n; j++) {
      expect(rw.jointPos[j]).toBeCloseTo(angles[j], 5);
      expect(rw.jointVel[j]).toBeCloseTo(rates[j], 4);
    }
    expect(rw.rootPos[0]).toBeCloseTo(0.3, 5);
    expect(rw.rootPos[1]).toBeCloseTo(2, 5);
    expect(rw.rootAngvel[2]).toBeCloseTo(0.7, 5);
    // Bodies were placed consistently (joints satisfied, velocities compatible): one short
    // free-fall step moves each angle by about rate · dt, with no solver correction jump.
    rw.advance();
    rw.readState();
    for (let j = 0; j < n; j++) expect(Math.abs(rw.jointPos[j] - angles[j] - rates[j] * stepDt)).toBeLessThan(2e-3);
  });
});

describe('frames', () => {
  it('pack every body pose (position, then quaternion x, y, z, w) as Rapier holds it', () => {
    const rw = build(HALF_CHEETAH, CHEETAH_DT, CHEETAH_SUBSTEPS);
    rw.actuate([1, -1, 0.5, -0.5, 1, -1]);
    for (let t = 0; t < 10; t++) rw.advance();
    rw.readState();
    const frame = rw.frame();
    expect(frame).toHaveLength(7 * rw.bodies.length);
    rw.bodies.forEach((b, i) => {
      const p = b.translation(), q = b.rotation();
      expect(Array.from(frame.subarray(7 * i, 7 * i + 7))).toEqual(Array.from(Float32Array.of(p.x, p.y, p.z, q.x, q.y, q.z, q.w)));
    });
  });
});

describe('masses', () => {
  it('the cheetah weighs 14 kg split as gym HalfCheetah-v5 (settotalmass)', () => {
    const rw = build(HALF_CHEETAH, CHEETAH_DT, CHEETAH_SUBSTEPS);
    const gym = [6.25, 1.54, 1.59, 1.1, 1.44, 1.2, 0.88]; // MuJoCo's body_mass
    expect(rw.masses.reduce((a, b) => a + b, 0)).toBeCloseTo(14, 6);
    rw.masses.forEach((m, i) => expect(Math.abs(m - gym[i])).toBeLessThan(0.02));
    // Rapier agrees with our own volume integral.
    rw.bodies.forEach((b, i) => expect(b.mass()).toBeCloseTo(rw.masses[i], 3));
  });

  it('walker and hopper are within 5% of MuJoCo at density 1000', () => {
    const walker = build(WALKER2D, WALKER_DT, WALKER_SUBSTEPS);
    const hopper = build(HOPPER, HOPPER_DT, HOPPER_SUBSTEPS);
    const gymWalker = [3.53, 3.93, 2.71, 2.94, 3.93, 2.71, 2.94];
    const gymHopper = [3.53, 3.93, 2.71, 5.09];
    walker.masses.forEach((m, i) => expect(Math.abs(m / gymWalker[i] - 1)).toBeLessThan(0.08));
    hopper.masses.forEach((m, i) => expect(Math.abs(m / gymHopper[i] - 1)).toBeLessThan(0.08));
  });
});

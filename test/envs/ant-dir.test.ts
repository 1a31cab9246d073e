import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import antDir, { antDirReward } from '../../envs/ant-dir.js';
import { ANT_INIT_JOINTS, antDescription } from '../../envs/robots/ant.js';
import { healthyHeight, type AntStep } from '../../envs/robots/ant-env.js';
import type { RobotEnv } from '../../src/physics/index.js';
import { Rng } from '../../src/core/rng.js';

/** A hand-made step: the torso's centre of mass moved from `before` to `after` (world axes) in dt. */
function handStep(before: number[], after: number[], action: number[], dt = 0.05): AntStep {
  return { action: Float32Array.from(action), comBefore: Float64Array.from(before), comAfter: Float64Array.from(after), dt };
}

describe('ant-dir tasks', () => {
  it('draws angles uniformly in [0, 2π), deterministically', () => {
    const tasks = antDir.sampleTasks(new Rng(3), 2000);
    expect(antDir.sampleTasks(new Rng(3), 2000)).toEqual(tasks);
    for (const t of tasks) expect(t.angle >= 0 && t.angle < 2 * Math.PI).toBe(true);
    // Each quarter of the circle gets about a quarter of the tasks.
    for (let q = 0; q < 4; q++) {
      const n = tasks.filter((t) => Math.floor(t.angle / (Math.PI / 2)) === q).length;
      expect(n / tasks.length).toBeGreaterThan(0.2);
      expect(n / tasks.length).toBeLessThan(0.3);
    }
  });
});

describe('ant-dir reward on hand-made states', () => {
  it('is d·v_xy + 1 − 0.5‖a‖², with MuJoCo y = world −z', () => {
    const info: Record<string, number> = {};
    // 0.1 m along world x and 0.05 m along world −z (MuJoCo +y) in 0.05 s: v = (2, 1) m/s.
    const s = handStep([0, 0.5, 0], [0.1, 0.5, -0.05], [0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0]);
    const theta = Math.PI / 2; // d = (0, 1): only v_y counts
    const r = antDirReward(s, Math.cos(theta), Math.sin(theta), info);
    expect(info.x_velocity).toBeCloseTo(2, 6);
    expect(info.y_velocity).toBeCloseTo(1, 6);
    expect(info.dir_reward).toBeCloseTo(1, 6);
    expect(info.ctrl_cost).toBeCloseTo(0.5, 6);
    expect(r).toBeCloseTo(1 + 1 - 0.5, 6);
    expect(antDirReward(s, 1, 0, info)).toBeCloseTo(2 + 1 - 0.5, 6);
  });
});

describe('ant-dir env', () => {
  let env: RobotEnv;
  beforeEach(() => {
    env = antDir.makeEnv({ angle: 0 }) as RobotEnv;
  });
  afterEach(() => env.dispose());

  it('weighs what MuJoCo computes from the XML (density 5): 0.911 kg, torso 0.484 kg with its fixed leg stubs', () => {
    const m = Array.from(env.robotWorld.masses);
    const sphere = (4 / 3) * Math.PI * 0.25 ** 3 * 5;
    const capsule = (len: number) => (Math.PI * 0.08 ** 2 * len + (4 / 3) * Math.PI * 0.08 ** 3) * 5;
    const [aux, ankle] = [capsule(0.2 * Math.SQRT2), capsule(0.4 * Math.SQRT2)];
    expect(m[0]).toBeCloseTo(sphere + 4 * aux, 6);
    expect(m.slice(1)).toEqual(Array.from({ length: 8 }, (_, k) => expect.closeTo(k % 2 === 0 ? aux : ankle, 6)));
    expect(m.reduce((a, b) => a + b)).toBeCloseTo(0.911, 3);
  });

  it('reports the reward terms in info, and they add up to the reward', () => {
    env.reset(1);
    const r = env.step(new Float32Array(8).fill(0.3));
    const i = r.info!;
    expect(Object.keys(i).sort()).toEqual(['alive_bonus', 'ctrl_cost', 'dir_reward', 'x_velocity', 'y_velocity']);
    expect(i.ctrl_cost).toBeCloseTo(0.5 * 8 * 0.09, 5);
    expect(r.reward).toBeCloseTo(i.dir_reward + i.alive_bonus - i.ctrl_cost, 5);
  });

  it('stands still under zero torque: settles at a healthy height with no drift', () => {
    env.reset(1);
    const zero = new Float32Array(8);
    let r = env.step(zero);
    for (let t = 1; t < 100; t++) {
      r = env.step(zero);
      expect(r.terminated).toBe(false);
    }
    expect(r.obs[0]).toBeGreaterThan(0.3);
    expect(r.obs[0]).toBeLessThan(0.7);
    expect(Math.hypot(...env.robotWorld.rootLinvel)).toBeLessThan(0.05);
  });

  it('does not blow up under random full-range torques (gear 150), and joint limits hold within 0.4 rad', () => {
    const ranges = antDescription().bodies.slice(1).map((b) => b.joint!.range!);
    const rng = new Rng(7);
    const a = new Float32Array(8);
    let excess = 0, speed = 0;
    env.reset(2);
    for (let t = 0; t < 200; t++) {
      for (let k = 0; k < 8; k++) a[k] = rng.uniform(-1, 1);
      const r = env.step(a);
      const rw = env.robotWorld;
      for (let j = 0; j < 8; j++) excess = Math.max(excess, ranges[j][0] - rw.jointPos[j], rw.jointPos[j] - ranges[j][1]);
      speed = Math.max(speed, Math.hypot(...rw.rootLinvel));
      if (r.terminated) break;
    }
    expect(speed).toBeLessThan(5);
    expect(excess).toBeLessThan(0.4);
  });

  it('terminates when the torso is dropped below 0.2 m or thrown above 1 m; a flipped ant is healthy by that rule, as in gym', () => {
    const joints = antDescription().bodies.slice(1).map((b) => ANT_INIT_JOINTS[b.joint!.name]);
    const zero = new Float32Array(8);
    env.reset(1);
    expect(env.step(zero).terminated).toBe(false);
    env.robotWorld.setPose({ rootPos: [0, 1.6, 0], jointAngles: joints });
    expect(env.step(zero).terminated).toBe(true);
    // Dropped: torso pressed 0.15 m into the ground (upside down, so the legs do not hold it up).
    const upsideDown = [1, 0, 0, 0];
    env.reset(1);
    env.robotWorld.setPose({ rootPos: [0, 0.1, 0], rootQuat: upsideDown, jointAngles: joints });
    const dropped = env.step(zero);
    expect(dropped.obs[0]).toBeLessThan(0.2);
    expect(dropped.terminated).toBe(true);
    // Flipped onto its back, the torso rests on its sphere (radius 0.25 m): healthy.
    env.reset(1);
    env.robotWorld.setPose({ rootPos: [0, 0.26, 0], rootQuat: upsideDown, jointAngles: joints });
    let flipped = env.step(zero);
    for (let t = 0; t < 20; t++) flipped = env.step(zero);
    expect(flipped.obs[0]).toBeCloseTo(0.25, 2);
    expect(Math.abs(flipped.obs[1])).toBeLessThan(0.1); // quaternion w ≈ 0: turned half a circle
    expect(flipped.terminated).toBe(false);
  });

  it('applies the height rule on hand-made heights: healthy in [0.2, 1.0], not for NaN', () => {
    expect(healthyHeight(0.19)).toBe(false);
    expect(healthyHeight(0.2)).toBe(true);
    expect(healthyHeight(1.0)).toBe(true);
    expect(healthyHeight(1.01)).toBe(false);
    expect(healthyHeight(Number.NaN)).toBe(false);
  });
});

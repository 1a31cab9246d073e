import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import antGoal, { antGoalReward } from '../../envs/ant-goal.js';
import type { AntStep } from '../../envs/robots/ant-env.js';
import type { RobotEnv } from '../../src/physics/index.js';
import { Rng } from '../../src/core/rng.js';

describe('ant-goal tasks', () => {
  it('draws goals uniformly on the disk of radius 3, deterministically', () => {
    const tasks = antGoal.sampleTasks(new Rng(5), 4000);
    expect(antGoal.sampleTasks(new Rng(5), 4000)).toEqual(tasks);
    const radii = tasks.map((t) => Math.hypot(t.goal[0], t.goal[1]));
    expect(Math.max(...radii)).toBeLessThanOrEqual(3);
    expect(Math.max(...radii)).toBeGreaterThan(2.95);
    // Uniform in area: half the goals lie inside radius 3/√2, a quarter inside 1.5
    // (uniform in radius would put half inside 1.5).
    const inside = (r: number) => radii.filter((x) => x < r).length / radii.length;
    expect(inside(3 / Math.SQRT2)).toBeGreaterThan(0.46);
    expect(inside(3 / Math.SQRT2)).toBeLessThan(0.54);
    expect(inside(1.5)).toBeGreaterThan(0.21);
    expect(inside(1.5)).toBeLessThan(0.29);
    // And every direction: each quadrant holds about a quarter.
    for (const [sx, sy] of [[1, 1], [-1, 1], [-1, -1], [1, -1]]) {
      const q = tasks.filter((t) => Math.sign(t.goal[0]) === sx && Math.sign(t.goal[1]) === sy).length / tasks.length;
      expect(q).toBeGreaterThan(0.22);
      expect(q).toBeLessThan(0.28);
    }
  });
});

describe('ant-goal reward on hand-made states', () => {
  it('is −‖xy − g‖₁ − 0.1‖a‖², with MuJoCo (x, y) = world (x, −z)', () => {
    const info: Record<string, number> = {};
    // Torso at world (1, 0.5, −2) = MuJoCo (1, 2); goal (3, −1): L1 distance 2 + 3 = 5.
    const s: AntStep = { action: new Float32Array(8).fill(0.5), comBefore: new Float64Array(3), comAfter: Float64Array.from([1, 0.5, -2]), dt: 0.05 };
    const r = antGoalReward(s, 3, -1, info);
    expect(info.x).toBe(1);
    expect(info.y).toBe(2);
    expect(info.goal_reward).toBeCloseTo(-5, 9);
    expect(info.ctrl_cost).toBeCloseTo(0.1 * 8 * 0.25, 9);
    expect(info.goal_distance).toBeCloseTo(Math.hypot(2, 3), 9);
    expect(r).toBeCloseTo(-5.2, 9);
    // At the goal with no action the reward is 0, its maximum.
    expect(antGoalReward({ ...s, action: new Float32Array(8) }, 1, 2, info)).toBeCloseTo(0, 9);
  });
});

describe('ant-goal env', () => {
  let env: RobotEnv;
  beforeEach(() => {
    env = antGoal.makeEnv({ goal: [2, -1] }) as RobotEnv;
  });
  afterEach(() => env.dispose());

  it('rewards being near the goal: the reward is minus the L1 distance of the torso after the step', () => {
    env.reset(3);
    const r = env.step(new Float32Array(8));
    const [x, , z] = env.robotWorld.rootPos; // the torso's centre of mass is its origin (symmetric body)
    expect(r.info!.x).toBeCloseTo(x, 4);
    expect(r.info!.y).toBeCloseTo(-z, 4);
    expect(r.reward).toBeCloseTo(-(Math.abs(x - 2) + Math.abs(-z + 1)), 4);
  });

  it('puts the goal marker at the goal in world axes', () => {
    const marker = env.scene().markers.find((m) => m.kind === 'goal');
    expect(marker && marker.kind === 'goal' && marker.position[0]).toBe(2);
    expect(marker && marker.kind === 'goal' && marker.position[2]).toBe(1);
  });
});

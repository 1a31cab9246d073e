import { afterEach, describe, expect, it } from 'vitest';
import cheetahHill, { CHEETAH_HILL_LANDING, CHEETAH_TOP_SPEED, cheetahHillReward, type CheetahHillTask } from '../../envs/cheetah-hill.js';
import { Rng } from '../../src/core/rng.js';
import type { RobotEnv } from '../../src/physics/index.js';
import { generateHill } from '../../src/physics/terrain.js';

describe('cheetah-hill tasks', () => {
  it('draws both hill directions about equally and grades in [0.1, 0.3], deterministically', () => {
    const tasks = cheetahHill.sampleTasks(new Rng(4), 400);
    expect(cheetahHill.sampleTasks(new Rng(4), 400)).toEqual(tasks);
    const up = tasks.filter((t) => t.direction === 1).length;
    expect(tasks.filter((t) => t.direction === -1).length).toBe(400 - up);
    expect(up).toBeGreaterThan(160);
    expect(up).toBeLessThan(240);
    for (const t of tasks) expect(t.grade >= 0.1 && t.grade <= 0.3).toBe(true);
  });
});

describe('cheetah-hill reward on hand-made states', () => {
  const terrain = generateHill({ direction: 1, grade: 0.15 }, CHEETAH_HILL_LANDING);
  const step = (x0: number, x1: number) => ({ action: new Float32Array(6).fill(-1), comBefore: [x0, 0.7, 0], comAfter: [x1, 0.7, 0], dt: 0.05 });

  it('pays the speed up the hill plus half the speed away from the spawn point, and charges 0.05‖a‖²', () => {
    const info: Record<string, number> = {};
    expect(cheetahHillReward(step(2, 2.1), terrain, 0.15, info)).toBeCloseTo(2 + 1 - 0.3, 4);
    expect(info.climb_reward).toBeCloseTo(2, 4);
    expect(info.run_reward).toBeCloseTo(1, 5);
    expect(info.x_velocity).toBeCloseTo(2, 6);
    // Running back down towards the start: both are charged.
    expect(cheetahHillReward(step(2.1, 2), terrain, 0.15, info)).toBeCloseTo(-2 - 1 - 0.3, 4);
    expect(info.climb_reward).toBeCloseTo(-2, 4);
    expect(info.run_reward).toBeCloseTo(-1, 5);
    // Flat ground, away from the hill or before its foot: only the running pays.
    expect(cheetahHillReward(step(-3, -3.1), terrain, 0.15, info)).toBeCloseTo(1 - 0.3, 4);
    expect(info.climb_reward).toBeCloseTo(0, 6);
    cheetahHillReward(step(0.2, 0.3), terrain, 0.15, info);
    expect(info.climb_reward).toBeCloseTo(0, 6);
    // Rocking across the spawn point earns nothing: away and back cancel.
    const there = cheetahHillReward(step(-0.05, 0.05), terrain, 0.15, info);
    const back = cheetahHillReward(step(0.05, -0.05), terrain, 0.15, info);
    expect(there + back).toBeCloseTo(-0.6, 4);
  });
});

describe('cheetah-hill env', () => {
  const envs: RobotEnv[] = [];
  afterEach(() => {
    for (const env of envs.splice(0)) env.dispose();
  });
  const make = (task: CheetahHillTask) => {
    const env = cheetahHill.makeEnv(task) as RobotEnv;
    envs.push(env);
    return env;
  };

  it('does not show the way at the start: both directions give the same observations and rewards', () => {
    const ahead = make({ direction: 1, grade: 0.3 });
    const behind = make({ direction: -1, grade: 0.3 });
    expect(Array.from(ahead.reset(5))).toEqual(Array.from(behind.reset(5)));
    const rng = new Rng(6);
    for (let t = 0; t < 8; t++) {
      const action = Float32Array.from({ length: 6 }, () => rng.uniform(-1, 1));
      const a = ahead.step(action);
      const b = behind.step(action);
      expect(Array.from(b.obs)).toEqual(Array.from(a.obs));
      expect(b.reward).toBe(a.reward);
    }
  });

  it('has the hill as its collider: a cheetah set down on the slope rests on it, and sliding back down is charged', () => {
    const task = { direction: 1 as const, grade: 0.3 };
    const env = make(task);
    env.reset(1);
    const rw = env.robotWorld;
    const ground = generateHill(task, CHEETAH_HILL_LANDING);
    // Off the grid lines: a ray straight down a vertex of the heightfield can slip between its triangles.
    expect(rw.groundHeight(3.07, 0.01)).toBeCloseTo(ground.heightAt(3.07, 0.01), 3);
    rw.setPose({ rootPos: [4, ground.heightAt(4, 0) + 0.8, 0], jointAngles: new Float32Array(6) });
    let climb = 0;
    let lowest = Infinity;
    const frame = new Float32Array(7 * 7);
    for (let t = 0; t < 60; t++) {
      climb += env.step(new Float32Array(6)).info!.climb_reward;
      env.frame(frame);
      for (let b = 0; b < 7; b++) lowest = Math.min(lowest, frame[7 * b + 1] - ground.heightAt(frame[7 * b], frame[7 * b + 2]));
    }
    // No body's origin sinks below the ground under it, and the torso is still up the hill.
    expect(lowest).toBeGreaterThan(0);
    expect(rw.rootPos[1]).toBeGreaterThan(ground.heightAt(rw.rootPos[0], 0) + 0.2);
    // Passive on a 17° slope with friction 0.4 it slides down, and every metre lost is charged.
    const x = rw.rootPos[0];
    expect(x).toBeLessThan(4);
    expect(climb).toBeLessThan(0);
  });

  it('has ground as far as the fastest gait can run in an episode, both ways (a 30 m ground was run off at 3.5 m/s)', () => {
    const far = CHEETAH_TOP_SPEED * 200 * 0.05;
    for (const [task, x] of [[{ direction: -1 as const, grade: 0.3 }, far], [{ direction: 1 as const, grade: 0.1 }, -far]] as const) {
      const env = make(task);
      env.reset(2);
      const rw = env.robotWorld;
      rw.setPose({ rootPos: [x, 0.8, 0], jointAngles: new Float32Array(6) });
      for (let t = 0; t < 40; t++) env.step(new Float32Array(6));
      // Set down on the flat far end, it rests there instead of falling through.
      expect(rw.rootPos[1]).toBeGreaterThan(0.2);
      expect(Math.abs(rw.rootPos[0] - x)).toBeLessThan(1);
    }
    // The hill's side reaches as far, risen by the grade.
    const env = make({ direction: 1, grade: 0.1 });
    env.reset(3);
    expect(env.robotWorld.groundHeight(far - 0.13, 0.01)).toBeCloseTo(0.1 * (far - 0.13 - CHEETAH_HILL_LANDING), 2);
  });
});

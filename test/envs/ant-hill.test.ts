import { afterEach, describe, expect, it } from 'vitest';
import antHill, { HILL_LANDING, antHillReward, hillTerrain, type AntHillTask } from '../../envs/ant-hill.js';
import { ANT_INIT_JOINTS, antDescription } from '../../envs/robots/ant.js';
import { ANT_BASE_OBS_SIZE, type AntStep } from '../../envs/robots/ant-env.js';
import { isMetarlError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { RobotEnv } from '../../src/physics/index.js';

describe('ant-hill tasks', () => {
  it('draws both uphill directions about equally and grades in [0.1, 0.3], deterministically', () => {
    const tasks = antHill.sampleTasks(new Rng(4), 400);
    expect(antHill.sampleTasks(new Rng(4), 400)).toEqual(tasks);
    const up = tasks.filter((t) => t.direction === 1).length;
    expect(tasks.filter((t) => t.direction === -1).length).toBe(400 - up);
    expect(up).toBeGreaterThan(160);
    expect(up).toBeLessThan(240);
    for (const t of tasks) expect(t.grade >= 0.1 && t.grade <= 0.3).toBe(true);
  });

  it('refuses a task with no direction or a grade that is not positive, naming the field', () => {
    for (const [task, field] of [
      [{ direction: 0, grade: 0.2 }, 'direction'],
      [{ direction: 1, grade: -0.1 }, 'grade'],
      [{ direction: -1, grade: Number.NaN }, 'grade'],
    ] as const) {
      let caught: unknown;
      try {
        hillTerrain(task as unknown as AntHillTask);
      } catch (err) {
        caught = err;
      }
      expect(isMetarlError(caught, 'METARL_CONFIG_INVALID'), String(caught)).toBe(true);
      expect((caught as Error).message).toContain(field);
    }
  });
});

describe('hill ground (generateHill), as ant-hill builds it', () => {
  it('is flat around the spawn point and on the far side, and rises by the grade past the foot of the hill', () => {
    for (const direction of [1, -1] as const) {
      const t = hillTerrain({ direction, grade: 0.25 });
      for (const x of [-1, -0.6, 0, 0.9, 1]) for (const z of [-2, 0, 3]) expect(t.heightAt(x, z)).toBeCloseTo(0, 6);
      expect(t.heightAt(direction * 5, 1)).toBeCloseTo(0.25 * 4, 5);
      expect(t.heightAt(direction * 3.1, 0.3)).toBeCloseTo(0.25 * (3.1 - HILL_LANDING), 5);
      for (const x of [2, 5.25, 11]) expect(t.heightAt(-direction * x, -1)).toBeCloseTo(0, 6);
    }
  });
});

describe('ant-hill reward on hand-made states', () => {
  const terrain = hillTerrain({ direction: -1, grade: 0.2 });
  const step = (x0: number, x1: number, z1 = 0): AntStep => ({
    action: new Float32Array(8).fill(0.5),
    comBefore: Float64Array.from([x0, 1, 0]),
    comAfter: Float64Array.from([x1, 1, z1]),
    dt: 0.05,
  });

  it('pays the speed up the hill: climb = Δ ground height / (grade · dt), whatever the grade', () => {
    const info: Record<string, number> = {};
    // Uphill is −x here: 0.1 m towards −x on the slope is 2 m/s up it.
    const r = antHillReward(step(-3, -3.1), terrain, 0.2, info);
    expect(info.climb_reward).toBeCloseTo(2, 4);
    expect(info.ctrl_cost).toBeCloseTo(0.1 * 8 * 0.25, 6);
    expect(r).toBeCloseTo(2 + 1 - 0.2, 4);
    expect(info.height).toBeCloseTo(1 - 0.2 * (3.1 - HILL_LANDING), 5);
    const steep = hillTerrain({ direction: -1, grade: 0.3 });
    antHillReward(step(-3, -3.1), steep, 0.3, info);
    expect(info.climb_reward).toBeCloseTo(2, 4);
  });

  it('charges walking back down, and pays nothing on flat ground or sideways', () => {
    const info: Record<string, number> = {};
    antHillReward(step(-3.1, -3), terrain, 0.2, info);
    expect(info.climb_reward).toBeCloseTo(-2, 4);
    antHillReward(step(3, 3.1), terrain, 0.2, info);
    expect(info.climb_reward).toBeCloseTo(0, 6);
    antHillReward(step(-0.5, 0.5), terrain, 0.2, info);
    expect(info.climb_reward).toBeCloseTo(0, 6);
    antHillReward(step(-3, -3, 0.4), terrain, 0.2, info);
    expect(info.climb_reward).toBeCloseTo(0, 6);
  });
});

describe('ant-hill env', () => {
  const envs: RobotEnv[] = [];
  afterEach(() => {
    for (const env of envs.splice(0)) env.dispose();
  });
  const make = (task: AntHillTask) => {
    const env = antHill.makeEnv(task) as RobotEnv;
    envs.push(env);
    return env;
  };

  it('does not show the way at the start: both directions give the same observations and rewards near the spawn point', () => {
    const up = make({ direction: 1, grade: 0.3 });
    const down = make({ direction: -1, grade: 0.3 });
    expect(Array.from(up.reset(5))).toEqual(Array.from(down.reset(5)));
    const rng = new Rng(6);
    for (let t = 0; t < 20; t++) {
      const action = Float32Array.from({ length: 8 }, () => rng.uniform(-1, 1));
      const a = up.step(action);
      const b = down.step(action);
      expect(a.obs).toHaveLength(ANT_BASE_OBS_SIZE);
      expect(Math.abs(up.robotWorld.rootPos[0])).toBeLessThan(HILL_LANDING);
      expect(Array.from(b.obs)).toEqual(Array.from(a.obs));
      expect(b.reward).toBe(a.reward);
    }
  });

  it('has the hillside as its collider: an ant set down on the slope stands on it, not through it', () => {
    const task = { direction: 1 as const, grade: 0.3 };
    const terrain = hillTerrain(task);
    const env = make(task);
    env.reset(2);
    const rw = env.robotWorld;
    // Off the grid lines: a ray straight down a vertex of the heightfield can slip between its triangles.
    for (const [x, z] of [[4.07, 0.13], [-4.3, 1.11], [0.2, -0.71]]) expect(rw.groundHeight(x, z)).toBeCloseTo(terrain.heightAt(x, z), 3);
    const joints = antDescription().bodies.slice(1).map((b) => ANT_INIT_JOINTS[b.joint!.name]);
    rw.setPose({ rootPos: [4, terrain.heightAt(4, 0) + 0.9, 0], jointAngles: joints });
    let last = 0;
    for (let t = 0; t < 30; t++) {
      const r = env.step(new Float32Array(8));
      expect(r.obs[0]).toBeGreaterThan(0.2);
      last = r.obs[0];
    }
    expect(last).toBeLessThan(1.0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import antTerrain, { HEIGHT_GRID, HEIGHT_SPACING, antTerrainReward } from '../../envs/ant-terrain.js';
import { ANT_INIT_JOINTS, antDescription } from '../../envs/robots/ant.js';
import { ANT_BASE_OBS_SIZE, type AntStep } from '../../envs/robots/ant-env.js';
import type { RobotEnv } from '../../src/physics/index.js';
import { Rng } from '../../src/core/rng.js';
import { TERRAIN_TYPES, generateTerrain, type TerrainType } from '../../src/physics/terrain.js';

describe('ant-terrain tasks', () => {
  it('draws every terrain type, δ in [0, 1] and integer seeds, deterministically', () => {
    const tasks = antTerrain.sampleTasks(new Rng(2), 300);
    expect(antTerrain.sampleTasks(new Rng(2), 300)).toEqual(tasks);
    expect(new Set(tasks.map((t) => t.type))).toEqual(new Set(TERRAIN_TYPES));
    for (const t of tasks) {
      expect(t.difficulty >= 0 && t.difficulty <= 1).toBe(true);
      expect(Number.isInteger(t.seed) && t.seed >= 0).toBe(true);
    }
    expect(new Set(tasks.map((t) => t.seed)).size).toBe(300);
  });
});

describe('ant-terrain reward on hand-made states', () => {
  it('is v_x + 1 − 0.5‖a‖², and reports the height above the local ground', () => {
    const terrain = generateTerrain({ type: 'slope-up', difficulty: 1, seed: 1 });
    const info: Record<string, number> = {};
    // 0.1 m forward in 0.05 s = 2 m/s; sideways motion (world z) does not count.
    const s: AntStep = { action: new Float32Array(8).fill(-1), comBefore: Float64Array.from([5, 2, 0]), comAfter: Float64Array.from([5.1, 2, 0.3]), dt: 0.05 };
    const r = antTerrainReward(s, terrain, info);
    expect(info.forward_reward).toBeCloseTo(2, 6);
    expect(info.ctrl_cost).toBeCloseTo(4, 6);
    expect(r).toBeCloseTo(2 + 1 - 4, 6);
    expect(info.height).toBeCloseTo(2 - 0.4 * (5.1 - 1.25), 5);
  });
});

describe('ant-terrain env on generated terrain', () => {
  let env: RobotEnv | null = null;
  afterEach(() => env?.dispose());

  const joints = antDescription().bodies.slice(1).map((b) => ANT_INIT_JOINTS[b.joint!.name]);

  it.each<[TerrainType, number]>([
    ['stairs-up', 4],
    ['rough', 4],
    ['obstacles', 5],
    ['slope-down', 4],
  ])('%s at δ = 1: the ant stands at x = %d m for 50 zero-action steps without sinking through the ground', (type, x) => {
    const task = { type, difficulty: 1, seed: 21 };
    const terrain = generateTerrain(task);
    env = antTerrain.makeEnv(task) as RobotEnv;
    env.reset(4);
    const rw = env.robotWorld;
    // The collider under the ant is the generated heightfield.
    for (const [dx, dz] of [[0, 0], [0.37, -0.21], [-0.5, 0.44]]) expect(rw.groundHeight(x + dx, dz)).toBeCloseTo(terrain.heightAt(x + dx, dz), 3);
    // Start clear of the highest ground under the legs (they reach ~0.9 m from the torso).
    let top = -Infinity;
    for (let dx = -1; dx <= 1; dx += 0.05) for (let dz = -1; dz <= 1; dz += 0.05) top = Math.max(top, terrain.heightAt(x + dx, dz));
    rw.setPose({ rootPos: [x, top + 0.65, 0], jointAngles: joints });
    const zero = new Float32Array(8);
    const frame = new Float32Array(9 * 7);
    const heights: number[] = [];
    for (let t = 0; t < 50; t++) {
      const r = env.step(zero);
      heights.push(r.obs[0]);
      expect(r.obs[0]).toBeGreaterThan(0.2); // torso above the local ground
      // No body's origin ends up below the ground under it (leg origins are at hips and knees).
      env.frame(frame);
      for (let b = 0; b < 9; b++) expect(frame[7 * b + 1]).toBeGreaterThan(terrain.heightAt(frame[7 * b], frame[7 * b + 2]));
    }
    // Dropped from clear of the highest ground, it comes to rest at a healthy height
    // (up to ~0.9 m above the step under the torso on 36° stairs, the hind legs lower down).
    expect(heights[49]).toBeGreaterThan(0.3);
    expect(heights[49]).toBeLessThan(1.0);
  });

  it('observes the 5 × 5 heights around the torso: torso height minus the ground at each point', () => {
    const task = { type: 'slope-up' as const, difficulty: 0.5, seed: 3 };
    env = antTerrain.makeEnv(task) as RobotEnv;
    const obs = env.reset(9);
    expect(obs).toHaveLength(ANT_BASE_OBS_SIZE + HEIGHT_GRID * HEIGHT_GRID);
    // On the flat start area every sample is the torso height.
    const y0 = env.robotWorld.rootPos[1];
    for (let k = 0; k < 25; k++) expect(obs[ANT_BASE_OBS_SIZE + k]).toBeCloseTo(y0, 5);
    // At the foot of the slope (grade 0.2 from x = 1.25), heading +x: the points ahead see it.
    env.robotWorld.setPose({ rootPos: [1, 0.75, 0], jointAngles: joints });
    const r = env.step(new Float32Array(8));
    const [px, py] = env.robotWorld.rootPos;
    const sample = (a: number, b: number) => r.obs[ANT_BASE_OBS_SIZE + a * HEIGHT_GRID + b];
    const reach = 2 * HEIGHT_SPACING;
    expect(sample(0, 2)).toBeCloseTo(py, 2); // 0.8 m behind: flat
    expect(sample(4, 2)).toBeCloseTo(py - 0.2 * (px + reach - 1.25), 2); // 0.8 m ahead: on the slope
    expect(sample(4, 0)).toBeCloseTo(sample(4, 4), 2); // level across the heading
  });
});

describe('ant-terrain-blind', () => {
  it('is ant-terrain without the heights: the same tasks, and the ant’s own 27 observations of the same motion', async () => {
    const { default: blind } = await import('../../envs/ant-terrain-blind.js');
    expect(blind.name).toBe('ant-terrain-blind');
    expect(blind.spec.obsSize).toBe(ANT_BASE_OBS_SIZE);
    expect(blind.sampleTasks(new Rng(5), 20)).toEqual(antTerrain.sampleTasks(new Rng(5), 20));
    const task = { type: 'stairs-up' as const, difficulty: 0.8, seed: 7 };
    const seen = antTerrain.makeEnv(task) as RobotEnv;
    const unseen = blind.makeEnv(task) as RobotEnv;
    try {
      expect(Array.from(unseen.reset(3))).toEqual(Array.from(seen.reset(3).subarray(0, ANT_BASE_OBS_SIZE)));
      const rng = new Rng(8);
      for (let t = 0; t < 40; t++) {
        const action = Float32Array.from({ length: 8 }, () => rng.uniform(-1, 1));
        const a = seen.step(action);
        const b = unseen.step(action);
        expect(b.obs).toHaveLength(ANT_BASE_OBS_SIZE);
        expect(Array.from(b.obs)).toEqual(Array.from(a.obs.subarray(0, ANT_BASE_OBS_SIZE)));
        expect(b.reward).toBe(a.reward);
      }
    } finally {
      seen.dispose();
      unseen.dispose();
    }
  });
});

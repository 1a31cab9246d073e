import { describe, expect, it } from 'vitest';
import { MetarlError } from '../../src/core/errors.js';
import { RAPIER, createGround } from '../../src/physics/index.js';
import { DEFAULT_TERRAIN_OPTIONS, HEIGHT_QUANTUM, TERRAIN_TYPES, generateTerrain, terrainRecipe, type TerrainTask } from '../../src/physics/terrain.js';

const task = (type: TerrainTask['type'], difficulty = 1, seed = 7): TerrainTask => ({ type, difficulty, seed });

/** Heights along row i (a line of constant z), one per column. */
function row(t: ReturnType<typeof generateTerrain>, i: number): number[] {
  return Array.from(t.heights.subarray(i * t.ncols, (i + 1) * t.ncols));
}

describe('generateTerrain', () => {
  it('is deterministic for a task and differs between seeds', () => {
    for (const type of ['rough', 'obstacles'] as const) {
      const a = generateTerrain(task(type, 0.8, 3));
      const b = generateTerrain(task(type, 0.8, 3));
      const c = generateTerrain(task(type, 0.8, 4));
      expect(Array.from(a.heights)).toEqual(Array.from(b.heights));
      expect(Array.from(a.heights)).not.toEqual(Array.from(c.heights));
    }
  });

  it('keeps the start area around the spawn point flat for every type', () => {
    for (const type of TERRAIN_TYPES) {
      const t = generateTerrain(task(type, 1));
      const half = DEFAULT_TERRAIN_OPTIONS.startHalfSize;
      for (let x = -half; x <= half; x += 0.1) for (let z = -half; z <= half; z += 0.1) expect(t.heightAt(x, z)).toBe(0);
    }
  });

  it('is flat everywhere for flat', () => {
    expect(generateTerrain(task('flat', 1)).heights.every((h) => h === 0)).toBe(true);
  });

  it('keeps rough noise within ±0.05·δ·s and uses most of that range', () => {
    const t = generateTerrain(task('rough', 0.6));
    const a = terrainRecipe(0.6).roughAmplitude;
    const max = Math.max(...t.heights.map(Math.abs));
    expect(max).toBeLessThanOrEqual(a + HEIGHT_QUANTUM / 2);
    expect(max).toBeGreaterThan(0.8 * a);
  });

  it('makes slopes monotone in x with gradient ±0.4·δ past the start area', () => {
    for (const [type, sign] of [['slope-up', 1], ['slope-down', -1]] as const) {
      const t = generateTerrain(task(type, 0.5));
      const h = row(t, 10);
      for (let j = 1; j < h.length; j++) expect(sign * (h[j] - h[j - 1])).toBeGreaterThanOrEqual(0);
      const gradient = (t.heightAt(10, 0.3) - t.heightAt(5, 0.3)) / 5;
      expect(gradient).toBeCloseTo(sign * 0.2, 4);
    }
  });

  it('makes stairs piecewise constant with steps of (0.05 + 0.18·δ)·s, monotone in x', () => {
    for (const [type, sign] of [['stairs-up', 1], ['stairs-down', -1]] as const) {
      const t = generateTerrain(task(type, 0.5));
      const { stepHeight, stepWidth } = terrainRecipe(0.5);
      const h = row(t, 3);
      const jumps = h.slice(1).map((v, j) => v - h[j]).filter((d) => d !== 0);
      expect(jumps.length).toBeGreaterThan(100);
      // Every step is the same height, stepHeight to within the 0.1 mm rounding of heights.
      for (const d of jumps) {
        expect(Math.abs(sign * d - stepHeight)).toBeLessThanOrEqual(HEIGHT_QUANTUM + 1e-7);
        expect(Math.abs(Math.abs(d) - Math.abs(jumps[0]))).toBeLessThanOrEqual(HEIGHT_QUANTUM + 1e-7);
      }
      // The number of steps matches the run: one per stepWidth past the start area.
      const run = t.x0 + t.sizeX - DEFAULT_TERRAIN_OPTIONS.startHalfSize;
      expect(Math.abs(jumps.length - run / stepWidth)).toBeLessThanOrEqual(1);
      // Every row (across z) is the same profile.
      expect(row(t, t.nrows - 1)).toEqual(h);
    }
  });

  it('raises or sinks obstacle boxes to ±h or ±h/2, h = (0.05 + 0.2·δ)·s', () => {
    const t = generateTerrain(task('obstacles', 1));
    const h = terrainRecipe(1).obstacleHeight;
    const levels = new Set(Array.from(t.heights).map((v) => Math.round((v / h) * 100) / 100));
    expect([...levels].sort((a, b) => a - b)).toEqual([-1, -0.5, 0, 0.5, 1]);
  });

  it('matches the grid at grid points and interpolates between them', () => {
    const t = generateTerrain(task('rough', 1));
    for (const [i, j] of [[0, 0], [5, 9], [t.nrows - 1, t.ncols - 1], [t.nrows >> 1, t.ncols >> 1]]) {
      expect(t.heightAt(t.x0 + j * t.cellSize, t.z0 + i * t.cellSize)).toBeCloseTo(t.heights[i * t.ncols + j], 6);
    }
    // Midway along a cell's x edge, the height is the mean of the two samples.
    const [i, j] = [t.nrows >> 2, (3 * t.ncols) >> 2];
    const mid = t.heightAt(t.x0 + (j + 0.5) * t.cellSize, t.z0 + i * t.cellSize);
    expect(mid).toBeCloseTo((t.heights[i * t.ncols + j] + t.heights[i * t.ncols + j + 1]) / 2, 6);
  });

  it('describes itself for the scene: same heights as the collider gets, in short decimals, centred on the field', () => {
    const t = generateTerrain(task('rough', 0.7, 9));
    const d = t.description();
    expect(Float32Array.from(d.heights)).toEqual(t.heights);
    expect(JSON.stringify(d.heights).length / d.heights.length).toBeLessThan(9);
    expect(d.nrows * d.ncols).toBe(d.heights.length);
    expect(d.center[0] - d.sizeX / 2).toBeCloseTo(t.x0, 9);
    expect(d.center[2] - d.sizeZ / 2).toBeCloseTo(t.z0, 9);
  });

  it('rejects an unknown type or a difficulty outside [0, 1]', () => {
    expect(() => generateTerrain({ type: 'lava' as never, difficulty: 0.5, seed: 1 })).toThrow(MetarlError);
    expect(() => generateTerrain(task('rough', 1.5))).toThrow(/difficulty must be in \[0, 1\]/);
  });
});

describe('Terrain.sampleAround', () => {
  it('writes torso height minus ground height on a grid aligned with the heading', () => {
    const t = generateTerrain(task('slope-up', 1));
    const out = new Float32Array(27);
    // Heading +x: along-heading index a runs with x, so heights grow with a.
    t.sampleAround(5, 0, 1, 0, 10, out, 2);
    expect(out[0]).toBe(0);
    expect(out[2 + 0 * 5 + 2]).toBeCloseTo(10 - 0.4 * (5 - 0.8 - 1.25), 4);
    expect(out[2 + 4 * 5 + 2]).toBeCloseTo(10 - 0.4 * (5 + 0.8 - 1.25), 4);
    // Across the heading the slope is level.
    expect(out[2 + 4 * 5 + 0]).toBeCloseTo(out[2 + 4 * 5 + 4], 5);
    // Heading +z: the slope now runs across the grid.
    t.sampleAround(5, 0, 0, 1, 10, out, 2);
    expect(out[2 + 0 * 5 + 2]).toBeCloseTo(out[2 + 4 * 5 + 2], 5);
    expect(out[2 + 2 * 5 + 0]).not.toBeCloseTo(out[2 + 2 * 5 + 4], 2);
  });
});

describe('Terrain as a Rapier heightfield', () => {
  it('has the collider surface exactly where heightAt says (ray casts at scattered points)', () => {
    const t = generateTerrain(task('obstacles', 1, 11));
    const world = new RAPIER.World({ x: 0, y: -9.81, z: 0 });
    try {
      // The ground as every env builds it, from the scene's HeightfieldDescription.
      createGround(world, t.description(), 1);
      world.step();
      let maxErr = 0;
      // Deterministic scattered points (golden-ratio sequences), most of them inside cells.
      for (let n = 0; n < 400; n++) {
        const x = t.x0 + ((n * 0.618034) % 1) * t.sizeX;
        const z = t.z0 + ((n * 0.754878) % 1) * t.sizeZ;
        const ray = new RAPIER.Ray({ x, y: 5, z }, { x: 0, y: -1, z: 0 });
        const hit = world.castRay(ray, 20, true);
        expect(hit).not.toBeNull();
        maxErr = Math.max(maxErr, Math.abs(5 - hit!.timeOfImpact - t.heightAt(x, z)));
      }
      expect(maxErr).toBeLessThan(1e-4);
    } finally {
      world.free();
    }
  });
});

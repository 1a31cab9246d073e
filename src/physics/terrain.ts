/**
 * Seeded heightfield terrains: the legged_gym / Isaac Lab curriculum terrains,
 * scaled to the ant. A terrain is a pure function of a `TerrainTask`
 * (type, difficulty δ ∈ [0, 1], its own seed), so a task stays plain JSON and the
 * same task gives the same ground on every thread.
 *
 * The recipe (legged_gym `terrain.py` with every height multiplied by `scale` s):
 *
 * | type | ground |
 * |---|---|
 * | flat | height 0 everywhere |
 * | rough | uniform noise in ±0.05·δ·s on a 0.2 m grid, linearly upsampled |
 * | slope-up / slope-down | ±0.4·δ·(x − x₀) past the start area (slope is a ratio, not scaled) |
 * | stairs-up / stairs-down | steps of height (0.05 + 0.18·δ)·s and width 0.31·s along +x |
 * | obstacles | ~0.31 boxes per m², sides U[0.5, 1.5] m, heights ±(0.05 + 0.2·δ)·s or half that |
 *
 * Why s = 0.3: the ant steps with capsule feet of radius 0.08 m and cannot lift a
 * foot much (its ankles only bend 30–70°), so an edge is passable roughly when it
 * is lower than a foot's radius: a capsule pushed against a step rides up it when
 * the step is below its centre. With s = 0.3 the hardest stair is 0.23·0.3 = 0.069 m
 * and the hardest obstacle 0.075 m, just under 0.08 m: the largest edges a foot can
 * still ride over; δ = 0 gives 0.015 m edges that the ant barely notices. Slopes keep legged_gym's 0.4 (22°).
 * s scales stair height and width alike, so the stair grade does not depend on s:
 * it runs from 0.16 (δ = 0) to 0.74 (δ = 1, 36°), as in legged_gym; over the ant's
 * 1.6 m span that incline, more than the edges, is what makes δ = 1 hard.
 * Checked with a hand-made trot, not a learned policy (legs 1+3 and 2+4 in antiphase
 * at 1 Hz, hips ±0.5 rad, ankles 0.87 ± 0.35 rad a quarter period ahead, PD gains 5
 * and 0.3 on the action; mean x after 200 steps over 4 reset seeds; inclines start at
 * x ≈ 1.3 m):
 * flat 4.0 m; stairs-up δ = 0 / 0.5 / 1: 2.4 / 1.2 / 1.0 m (at δ = 1 and s = 0.5 or
 * 0.8: 0.6 / 0.8 m); slope-up δ = 0.5 / 1: 2.1 / 1.0 m; obstacles δ = 1: 2.9 m (s = 0.5:
 * 2.6, s = 0.8: 2.2); rough δ = 1: 3.1 m. So at δ = 1 stairs and slopes stop a blind
 * gait at their foot whatever s is (their grade does not depend on s), while rough
 * ground and obstacles at s = 0.3 cost it only ~25% of its flat distance. That a
 * learned gait can climb δ = 1 stairs is not shown yet; `difficultyRange` in
 * ant-terrain narrows δ, and a larger s would make obstacles harder.
 *
 * Every type is flat (height 0) in the start area around the spawn point, the
 * square |x|, |z| ≤ `startHalfSize`; slopes start at x₀ = `startHalfSize`, stairs
 * one step width later, and both stay flat behind it. Tasks run along +x, so the
 * field reaches further ahead (x up to `forward`) than behind (`backward`).
 */
import { MetarlError, listChoices } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { HeightfieldDescription } from '../core/scene.js';

export const TERRAIN_TYPES = ['flat', 'rough', 'slope-up', 'slope-down', 'stairs-up', 'stairs-down', 'obstacles'] as const;
export type TerrainType = (typeof TERRAIN_TYPES)[number];

/** What varies between terrain tasks; plain JSON. */
export interface TerrainTask {
  type: TerrainType;
  /** δ ∈ [0, 1]. */
  difficulty: number;
  /** Seed of the terrain's own noise (rough heights, obstacle boxes). */
  seed: number;
}

export interface TerrainOptions {
  /** s: multiplies every height and the stair width (legged_gym's figures are for a robot ~3× the ant's foot size). */
  scale: number;
  /** Grid spacing in metres; by default `defaultCellSize(type, scale)`. */
  cellSize?: number;
  /** Field extent ahead of (+x) and behind (−x) the spawn point, and to each side (±z), in metres. */
  forward: number;
  backward: number;
  halfWidth: number;
  /** Half side of the flat square around the spawn point, metres. */
  startHalfSize: number;
}

export const TERRAIN_SCALE = 0.3;

export const DEFAULT_TERRAIN_OPTIONS: Readonly<TerrainOptions> = Object.freeze({
  scale: TERRAIN_SCALE,
  forward: 30,
  backward: 2,
  halfWidth: 4,
  startHalfSize: 1.25,
});

/** The heights and lengths a (type, δ, s) gives; exported so tests and docs quote the same numbers. */
export function terrainRecipe(difficulty: number, scale = TERRAIN_SCALE) {
  return {
    roughAmplitude: 0.05 * difficulty * scale,
    slope: 0.4 * difficulty,
    stepHeight: (0.05 + 0.18 * difficulty) * scale,
    stepWidth: 0.31 * scale,
    obstacleHeight: (0.05 + 0.2 * difficulty) * scale,
  };
}

/**
 * Heights are rounded to 0.1 mm (legged_gym rounds to its 5 mm vertical scale): the
 * scene's JSON then carries 5–7 digits a height instead of a float32's 17.
 */
export const HEIGHT_QUANTUM = 1e-4;
/** Divide by an integer, not multiply by 1e-4, so the double is the shortest decimal (0.0069, not 0.0069000000000000004). */
const QUANTA_PER_METRE = 1e4;
const quantize = (h: number) => Math.round(h * QUANTA_PER_METRE) / QUANTA_PER_METRE;

/**
 * Grid spacing per type, m. Rapier's heightfield contacts cost grows with the cells
 * under each capsule: with the ant's 5 substeps, world.step took ~3.5–4.5 ms per env
 * step on 0.0465 m cells, ~1.1–1.4 ms on 0.1 m and ~0.5–0.8 ms on 0.5 m (a plane: ~0.4–2;
 * 2 loaded cores, noisy). So stairs get two cells a step (one flat, one riser) and
 * nothing finer elsewhere: legged_gym's 0.1 m for rough, slopes and obstacles, 0.5 m
 * for flat ground.
 */
export function defaultCellSize(type: TerrainType, scale = TERRAIN_SCALE): number {
  if (type === 'stairs-up' || type === 'stairs-down') return (0.31 * scale) / 2;
  return type === 'flat' ? 0.5 : 0.1;
}

/** Spacing of the rough noise's coarse grid, m (legged_gym's downsampled_scale). */
const ROUGH_COARSE_SPACING = 0.2;
/** legged_gym puts 20 boxes on an 8 m × 8 m tile. */
const OBSTACLES_PER_M2 = 20 / 64;
const OBSTACLE_SIDE_MIN = 0.5;
const OBSTACLE_SIDE_MAX = 1.5;

/**
 * A generated heightfield. Sample (i, j) (row i along z, column j along x) is at
 * x = x0 + j·cellSize, z = z0 + i·cellSize; `heights[i * ncols + j]`, as in
 * `HeightfieldDescription`.
 */
export class Terrain {
  constructor(
    readonly nrows: number,
    readonly ncols: number,
    readonly cellSize: number,
    /** World x of column 0 and z of row 0. */
    readonly x0: number,
    readonly z0: number,
    readonly heights: Float32Array,
  ) {}

  get sizeX(): number {
    return (this.ncols - 1) * this.cellSize;
  }

  get sizeZ(): number {
    return (this.nrows - 1) * this.cellSize;
  }

  /**
   * Ground height at (x, z), exactly as Rapier's heightfield collider has it: each
   * cell is split into two triangles along the diagonal from (j, i+1) to (j+1, i),
   * and the height is linear on each. (Bilinear interpolation would agree at the
   * samples but differ from the collider inside non-planar cells.) Outside the
   * field the nearest edge is used; the collider itself ends there.
   */
  heightAt(x: number, z: number): number {
    const { ncols, nrows, heights } = this;
    let u = (x - this.x0) / this.cellSize;
    let v = (z - this.z0) / this.cellSize;
    u = Math.min(Math.max(u, 0), ncols - 1);
    v = Math.min(Math.max(v, 0), nrows - 1);
    const j = Math.min(Math.floor(u), ncols - 2);
    const i = Math.min(Math.floor(v), nrows - 2);
    u -= j;
    v -= i;
    const k = i * ncols + j;
    const h00 = heights[k];
    const h01 = heights[k + 1]; // x + 1
    const h10 = heights[k + ncols]; // z + 1
    if (u + v <= 1) return h00 + (h01 - h00) * u + (h10 - h00) * v;
    const h11 = heights[k + ncols + 1];
    return h11 + (h10 - h11) * (1 - u) + (h01 - h11) * (1 - v);
  }

  /**
   * Writes a `size × size` grid of `refY − ground height` into `out` from `offset`:
   * the points sit `spacing` apart around (x, z), aligned with the heading (fx, fz)
   * (a unit vector in the ground plane); index `a * size + b` is the a-th point along
   * the heading (from behind to ahead) and the b-th across it.
   */
  sampleAround(x: number, z: number, fx: number, fz: number, refY: number, out: Float32Array, offset: number, size = 5, spacing = 0.4): void {
    const half = (size - 1) / 2;
    for (let a = 0; a < size; a++) {
      const along = (a - half) * spacing;
      for (let b = 0; b < size; b++) {
        const across = (b - half) * spacing;
        // across is along (−fz, fx): the heading turned a quarter turn in the x–z plane.
        out[offset + a * size + b] = refY - this.heightAt(x + along * fx - across * fz, z + along * fz + across * fx);
      }
    }
  }

  /** The scene's ground (the viewer draws it, `createGround` in ground.ts builds its collider); copies the heights. */
  description(color = '#8a9a7a'): HeightfieldDescription {
    // Rounding again in double precision gives short decimals that map back to the same float32.
    const heights = new Array<number>(this.heights.length);
    for (let k = 0; k < heights.length; k++) heights[k] = quantize(this.heights[k]);
    return {
      kind: 'heightfield',
      nrows: this.nrows,
      ncols: this.ncols,
      sizeX: this.sizeX,
      sizeZ: this.sizeZ,
      center: [this.x0 + this.sizeX / 2, 0, this.z0 + this.sizeZ / 2],
      heights,
      color,
    };
  }
}

/** Checks a task at construction, so a bad one is reported with its field. */
export function checkTerrainTask(task: TerrainTask): void {
  if (!(TERRAIN_TYPES as readonly string[]).includes(task.type)) {
    throw new MetarlError('METARL_CONFIG_INVALID', `terrain type '${String(task.type)}' is unknown: choose ${listChoices(TERRAIN_TYPES)}`, { field: 'type' });
  }
  if (!(task.difficulty >= 0 && task.difficulty <= 1)) {
    throw new MetarlError('METARL_CONFIG_INVALID', `terrain difficulty must be in [0, 1], got ${String(task.difficulty)}`, { field: 'difficulty' });
  }
  if (!Number.isInteger(task.seed)) {
    throw new MetarlError('METARL_CONFIG_INVALID', `terrain seed must be an integer, got ${String(task.seed)}`, { field: 'seed' });
  }
}

/** Builds the terrain of a task. Deterministic: same task and options, same heights. */
export function generateTerrain(task: TerrainTask, options: Partial<TerrainOptions> = {}): Terrain {
  checkTerrainTask(task);
  const o = { ...DEFAULT_TERRAIN_OPTIONS, ...options };
  const c = o.cellSize ?? defaultCellSize(task.type, o.scale);
  const ncols = Math.round((o.forward + o.backward) / c) + 1;
  const nrows = Math.round((2 * o.halfWidth) / c) + 1;
  const x0 = -o.backward;
  const z0 = -((nrows - 1) * c) / 2;
  const heights = new Float32Array(nrows * ncols);
  const recipe = terrainRecipe(task.difficulty, o.scale);
  const rng = new Rng(task.seed);
  const start = o.startHalfSize;
  const xAt = (j: number) => x0 + j * c;
  const zAt = (i: number) => z0 + i * c;
  // Along-x profiles: one value per column, copied down every row.
  const profile = (f: (x: number) => number) => {
    for (let j = 0; j < ncols; j++) {
      const h = f(xAt(j));
      for (let i = 0; i < nrows; i++) heights[i * ncols + j] = h;
    }
  };

  switch (task.type) {
    case 'flat':
      break;
    case 'slope-up':
    case 'slope-down': {
      const sign = task.type === 'slope-up' ? 1 : -1;
      profile((x) => sign * recipe.slope * Math.max(0, x - start));
      break;
    }
    case 'stairs-up':
    case 'stairs-down': {
      const sign = task.type === 'stairs-up' ? 1 : -1;
      // The small epsilon keeps a sample that lands on a step edge from flipping with rounding.
      profile((x) => (x < start ? 0 : sign * recipe.stepHeight * Math.floor((x - start) / recipe.stepWidth + 1e-9)));
      break;
    }
    case 'rough':
      fillRough(heights, nrows, ncols, Math.max(1, Math.round(ROUGH_COARSE_SPACING / c)), recipe.roughAmplitude, rng);
      break;
    case 'obstacles':
      fillObstacles(heights, nrows, ncols, c, x0, z0, recipe.obstacleHeight, rng);
      break;
  }
  if (task.type === 'rough' || task.type === 'obstacles') {
    // One cell of margin, so the interpolated ground (not just the samples) is 0 up to the edge.
    const edge = start + c;
    for (let i = 0; i < nrows; i++) {
      if (Math.abs(zAt(i)) >= edge) continue;
      for (let j = 0; j < ncols; j++) if (Math.abs(xAt(j)) < edge) heights[i * ncols + j] = 0;
    }
  }
  for (let k = 0; k < heights.length; k++) heights[k] = quantize(heights[k]);
  return new Terrain(nrows, ncols, c, x0, z0, heights);
}

/** legged_gym's random_uniform_terrain: uniform heights on a coarse grid, bilinearly upsampled. */
function fillRough(heights: Float32Array, nrows: number, ncols: number, k: number, amplitude: number, rng: Rng): void {
  const crows = Math.ceil((nrows - 1) / k) + 1;
  const ccols = Math.ceil((ncols - 1) / k) + 1;
  const coarse = new Float64Array(crows * ccols);
  for (let n = 0; n < coarse.length; n++) coarse[n] = rng.uniform(-amplitude, amplitude);
  for (let i = 0; i < nrows; i++) {
    const ci = Math.floor(i / k);
    const v = i / k - ci;
    for (let j = 0; j < ncols; j++) {
      const cj = Math.floor(j / k);
      const u = j / k - cj;
      const a = coarse[ci * ccols + cj];
      const b = coarse[ci * ccols + Math.min(cj + 1, ccols - 1)];
      const d = coarse[Math.min(ci + 1, crows - 1) * ccols + cj];
      const e = coarse[Math.min(ci + 1, crows - 1) * ccols + Math.min(cj + 1, ccols - 1)];
      heights[i * ncols + j] = (a * (1 - u) + b * u) * (1 - v) + (d * (1 - u) + e * u) * v;
    }
  }
}

/** legged_gym's discrete_obstacles_terrain: axis-aligned boxes raised or sunk by h or h/2. */
function fillObstacles(heights: Float32Array, nrows: number, ncols: number, c: number, x0: number, z0: number, h: number, rng: Rng): void {
  const area = (ncols - 1) * c * (nrows - 1) * c;
  const count = Math.round(area * OBSTACLES_PER_M2);
  const levels = [-h, -h / 2, h / 2, h];
  for (let n = 0; n < count; n++) {
    const w = rng.uniform(OBSTACLE_SIDE_MIN, OBSTACLE_SIDE_MAX);
    const l = rng.uniform(OBSTACLE_SIDE_MIN, OBSTACLE_SIDE_MAX);
    const cx = x0 + rng.uniform(0, (ncols - 1) * c);
    const cz = z0 + rng.uniform(0, (nrows - 1) * c);
    const level = levels[rng.int(levels.length)];
    const j0 = Math.max(0, Math.ceil((cx - w / 2 - x0) / c));
    const j1 = Math.min(ncols - 1, Math.floor((cx + w / 2 - x0) / c));
    const i0 = Math.max(0, Math.ceil((cz - l / 2 - z0) / c));
    const i1 = Math.min(nrows - 1, Math.floor((cz + l / 2 - z0) / c));
    for (let i = i0; i <= i1; i++) for (let j = j0; j <= j1; j++) heights[i * ncols + j] = level;
  }
}

/** A hill task (ant-hill, cheetah-hill): the ground rises along +x (direction 1) or −x (−1) by `grade` per metre. */
export interface HillTask {
  direction: 1 | -1;
  grade: number;
}

/**
 * The ground of a hill task: height g·max(0, d·x − landing), flat around the spawn point and on
 * the far side, rising past `landing` metres on the hill's side. The grid has the kink as a
 * sample, so the collider is exactly this ground; ±`extent` m along x, ±`halfWidth` m across.
 */
export function generateHill(task: HillTask, landing: number, extent = 12, halfWidth = 4): Terrain {
  if (task.direction !== 1 && task.direction !== -1) {
    throw new MetarlError('METARL_CONFIG_INVALID', `hill task direction must be 1 or -1, got ${String(task.direction)}`, { field: 'direction' });
  }
  if (!(task.grade > 0 && Number.isFinite(task.grade))) {
    throw new MetarlError('METARL_CONFIG_INVALID', `hill task grade must be a positive number, got ${String(task.grade)}`, { field: 'grade' });
  }
  const cell = HILL_CELL;
  const ncols = Math.round((2 * extent) / cell) + 1;
  const nrows = Math.round((2 * halfWidth) / cell) + 1;
  const heights = new Float32Array(nrows * ncols);
  for (let j = 0; j < ncols; j++) {
    const h = quantize(task.grade * Math.max(0, task.direction * (-extent + j * cell) - landing));
    for (let i = 0; i < nrows; i++) heights[i * ncols + j] = h;
  }
  return new Terrain(nrows, ncols, cell, -extent, -halfWidth, heights);
}

/**
 * The speed up a hill task's slope over a step, m/s along x: the rise of the ground under a
 * point (the torso's centre of mass) from `before` to `after` (world x, y, z), over g·dt. 0 on
 * flat ground, negative going down; dividing by g makes a metre gained worth the same on every grade.
 */
export function climbSpeed(terrain: Terrain, grade: number, before: ArrayLike<number>, after: ArrayLike<number>, dt: number): number {
  return (terrain.heightAt(after[0], after[2]) - terrain.heightAt(before[0], before[2])) / (grade * dt);
}

/** A planar hill needs no fine grid: 0.25 m has the landings used here (1 m) on a sample. */
const HILL_CELL = 0.25;

/**
 * ant-terrain — the ant must walk forward (+x) over a seeded terrain: the legged_gym
 * / Isaac Lab curriculum terrains scaled to the ant (src/physics/terrain.ts has the
 * recipe and why s = 0.3).
 *
 * Task: { type, difficulty: δ, seed }: type uniform over flat, rough, slope-up,
 * slope-down, stairs-up, stairs-down, obstacles (option `types`); δ ~ U[0, 1]
 * (option `difficultyRange`); seed: the heightfield's own 31-bit seed. The ground
 * around the spawn point (|x|, |z| ≤ 1.25 m) is flat. The task is not observed.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m), the XML's actuator order:
 *   0 hip_4 150 | 1 ankle_4 150 | 2 hip_1 150 | 3 ankle_1 150
 *   4 hip_2 150 | 5 ankle_2 150 | 6 hip_3 150 | 7 ankle_3 150
 *
 * Observation (52 floats; 27 with `heights: false`, built in as ant-terrain-blind):
 *   0–26 as ant-dir (robots/ant-env.ts), but 0 is the torso height above the local ground (m)
 *   27–51 5 × 5 terrain samples 0.4 m apart around the torso, aligned with its heading:
 *         27 + 5a + b = torso height − ground height at the a-th point along the heading
 *         (a = 0 is 0.8 m behind, 4 is 0.8 m ahead) and the b-th across it (b = 0 on
 *         the left, MuJoCo +y when heading +x), m (legged_gym's measured_heights)
 *
 * Reward per step: v_x + 1 − 0.5·‖a‖², v_x = Δx of the torso's centre of mass / dt.
 *   info: forward_reward = v_x, alive_bonus = 1, ctrl_cost = 0.5·‖a‖², height = torso height above ground.
 * Termination: unless 0.2 ≤ torso height above the ground under it ≤ 1.0 m (or not finite).
 * Horizon H = 200 (option `horizon`), dt = 0.05 s (5 Rapier steps of 0.01 s).
 *
 * Where ours differs from legged_gym: one terrain per task on a 32 m × 8 m field
 * (2 m behind the spawn; 3 m/s on average stays on it for the 10 s horizon, and an
 * ant that leaves it falls and is terminated), not a curriculum grid of tiles; slopes
 * and stairs run along +x only (legged_gym's are pyramids); heights are sampled in a
 * 5 × 5 grid, not 17 × 11.
 * From MuJoCo's ant: as ant-dir.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { parseFamilyOptions, unitActionSpec, type RobotWorld } from '../src/physics/index.js';
import { TERRAIN_TYPES, generateTerrain, type Terrain, type TerrainType } from '../src/physics/terrain.js';
import { ANT_ACT_SIZE, ANT_BASE_OBS_SIZE, ANT_DT, makeAntEnv, planeVelocity, squaredNorm, type AntStep } from './robots/ant-env.js';
import { antDescription } from './robots/ant.js';

/** Side of the square grid of terrain samples, and their spacing (m). */
export const HEIGHT_GRID = 5;
export const HEIGHT_SPACING = 0.4;

export const antTerrainOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  types: z.array(z.enum(TERRAIN_TYPES)).min(1).default([...TERRAIN_TYPES]).describe('terrain types, drawn uniformly'),
  heights: z
    .boolean()
    .default(true)
    .describe('observe the 5 × 5 grid of terrain heights; false: blind, the terrain shows only through the body (RMA)'),
  difficultyRange: z
    .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
    .default([0, 1])
    .refine(([lo, hi]) => lo <= hi, 'must be [low, high] with low <= high')
    .describe('difficulty δ is drawn uniformly from [low, high] ⊂ [0, 1]'),
});
export type AntTerrainOptions = z.input<typeof antTerrainOptions>;

export interface AntTerrainTask extends Task {
  type: TerrainType;
  difficulty: number;
  seed: number;
}

const CTRL_COST = 0.5;
const ALIVE_BONUS = 1;

export function createAntTerrain(options: AntTerrainOptions = {}) {
  const opts = parseFamilyOptions('ant-terrain', antTerrainOptions, options);
  const [lo, hi] = opts.difficultyRange;
  const name = opts.heights ? 'ant-terrain' : 'ant-terrain-blind';
  const obsSize = ANT_BASE_OBS_SIZE + (opts.heights ? HEIGHT_GRID * HEIGHT_GRID : 0);
  const spec = { obsSize, actSize: ANT_ACT_SIZE, ...unitActionSpec(ANT_ACT_SIZE), horizon: opts.horizon, dt: ANT_DT, bodyCount: antDescription().bodies.length };
  return defineTaskFamily<AntTerrainTask>({
    name,
    description: opts.heights
      ? 'Ant walking forward over seeded rough, sloped, stepped or obstacle terrain (legged_gym terrains).'
      : 'Ant walking forward, blind, over seeded rough, sloped, stepped or obstacle terrain: the terrain is inferred from the body (RMA).',
    spec,
    taskRanges: { 'terrain type': opts.types.join(' | '), 'difficulty δ': `U[${lo}, ${hi}]`, 'terrain seed': '31-bit integer' },
    sampleTasks: (rng, n) =>
      Array.from({ length: n }, () => ({ type: opts.types[rng.int(opts.types.length)], difficulty: rng.uniform(lo, hi), seed: rng.seed() })),
    makeEnv: (task) => {
      const terrain = generateTerrain(task);
      return makeAntEnv({
        family: name,
        spec,
        ground: terrain.description(),
        groundHeight: (x, z) => terrain.heightAt(x, z),
        infoKeys: ['forward_reward', 'alive_bonus', 'ctrl_cost', 'height'],
        reward: (s, info) => antTerrainReward(s, terrain, info),
        observeExtra: opts.heights ? (rw, out, offset) => observeHeights(rw, terrain, out, offset) : undefined,
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [1, 0, 0], color: '#3070d0', label: `${task.type} δ = ${task.difficulty.toFixed(2)}` }],
        taskLabel: { terrain: task.type, 'difficulty δ': Number(task.difficulty.toFixed(3)), seed: task.seed },
      });
    },
  });
}

/** The 5 × 5 height samples around the torso, aligned with its heading in the ground plane. */
export function observeHeights(rw: RobotWorld, terrain: Terrain, out: Float32Array, offset: number): void {
  const [qx, qy, qz, qw] = rw.rootQuat;
  // The torso's x axis in the world (first column of its rotation matrix), projected on the ground.
  let fx = 1 - 2 * (qy * qy + qz * qz);
  let fz = 2 * (qx * qz - qw * qy);
  const n = Math.hypot(fx, fz);
  // Standing on its head the ant has no heading: fall back to +x rather than divide by ~0.
  if (n < 1e-6) { fx = 1; fz = 0; } else { fx /= n; fz /= n; }
  terrain.sampleAround(rw.rootPos[0], rw.rootPos[2], fx, fz, rw.rootPos[1], out, offset, HEIGHT_GRID, HEIGHT_SPACING);
}

/** v_x + 1 − 0.5‖a‖², with its terms written into `info`. */
export function antTerrainReward(s: AntStep, terrain: Terrain, info: Record<string, number>): number {
  info.forward_reward = planeVelocity(s, 0);
  info.alive_bonus = ALIVE_BONUS;
  info.ctrl_cost = CTRL_COST * squaredNorm(s.action);
  info.height = s.comAfter[1] - terrain.heightAt(s.comAfter[0], s.comAfter[2]);
  return info.forward_reward + info.alive_bonus - info.ctrl_cost;
}

export default createAntTerrain();

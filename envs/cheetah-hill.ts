/**
 * cheetah-hill — the half-cheetah starts on flat ground with a hill 1 m ahead of it or 1 m
 * behind it, and is paid for climbing. Which way the hill is, and how steep, is the task.
 *
 * The terrain family where the ground decides what to do (docs/envs.md): the reward is the
 * same function on every task, and from the start both ways look alike; running onto the
 * hill pays three times what running the other way over flat ground does. So the first
 * episode finds out where the hill is (the rootz reading rises and the climb pays, or
 * neither happens), and a meta-learner should run straight to it in the next.
 *
 * Task: { direction: d, grade: g }: d = +1 (the hill rises towards +x) or −1, each with
 * probability ½; g ~ U[0.1, 0.3] (option `gradeRange`). Not observed.
 *
 * Ground: height g·max(0, d·x − 1) (src/physics/terrain.ts `generateHill`), |x| ≤ 15 m/s × H·dt
 * + 2 m (152 m at H = 200): no gait leaves it within an episode. (It was ±30 m, and PEARL's
 * flat-ground gait ran off its end at 3.5 m/s and fell through space, still paid for its x.)
 * The cheetah's feet reach about 0.7 m from its centre, so at reset it stands on flat ground
 * whichever way the hill is.
 *
 * Actions and observation (17 floats): as cheetah-vel (robots/half-cheetah.ts); observation
 * 0 is rootz, the torso's height over its start (it rises on the hill).
 *
 * Reward per step: climb + 0.5·away − 0.05·‖a‖², climb = Δ(ground height under the torso's
 * centre of mass) / (g·dt), the speed up the hill along x (m/s): 0 on flat ground, negative
 * running back down; away = Δ|x| / dt, the speed away from the spawn point, either way. The
 * running term pays both ways alike, so it says nothing of the task; it is there because a
 * climb alone, first paid 1 m away, was too rare for any agent to find (docs/results.md),
 * where cheetah-dir's reward pays from the first step. It counts distance, not |v_x|, so
 * rocking in place earns nothing. info: climb_reward,
 * run_reward, ctrl_cost, x_velocity. Never terminates. Horizon H = 200 (option `horizon`),
 * dt = 0.05 s.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { RobotEnv, parseFamilyOptions, unitActionSpec } from '../src/physics/index.js';
import { climbSpeed, generateHill, type HillTask, type Terrain } from '../src/physics/terrain.js';
import { CHEETAH_DT, CHEETAH_OBS_SIZE, CHEETAH_SUBSTEPS, HALF_CHEETAH, cheetahResetPose, observeCheetah } from './robots/half-cheetah.js';
import { hillGradeRange } from './robots/hill.js';

export const cheetahHillOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  gradeRange: hillGradeRange,
});
export type CheetahHillOptions = z.input<typeof cheetahHillOptions>;

/** direction +1: the ground rises towards +x; −1: towards −x. */
export interface CheetahHillTask extends Task, HillTask {}

/** Distance from the spawn point to the foot of the hill, m. */
export const CHEETAH_HILL_LANDING = 1;
/** Faster than any half-cheetah gait (MuJoCo's best policies run about 12 m/s): the ground is this many m/s × the episode's length long each way. */
export const CHEETAH_TOP_SPEED = 15;
const RUN_WEIGHT = 0.5;
const CTRL_COST = 0.05;

export function createCheetahHill(options: CheetahHillOptions = {}) {
  const opts = parseFamilyOptions('cheetah-hill', cheetahHillOptions, options);
  const [lo, hi] = opts.gradeRange;
  const spec = { obsSize: CHEETAH_OBS_SIZE, actSize: 6, ...unitActionSpec(6), horizon: opts.horizon, dt: CHEETAH_DT, bodyCount: HALF_CHEETAH.bodies.length };
  // Past the end of the ground there is nothing: a cheetah that got there would fall, still paid for its x.
  const extent = CHEETAH_TOP_SPEED * opts.horizon * CHEETAH_DT + CHEETAH_HILL_LANDING + 1;
  return defineTaskFamily<CheetahHillTask>({
    name: 'cheetah-hill',
    description: 'Planar half-cheetah paid for running, and three times as much for climbing a hill it cannot see, 1 m ahead or behind; the other way is flat.',
    spec,
    taskRanges: { 'uphill direction': '+1 (towards +x) | −1', grade: `U[${lo}, ${hi}]` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ direction: rng.int(2) === 0 ? 1 : -1, grade: rng.uniform(lo, hi) })),
    makeEnv: (task) => {
      const terrain = generateHill(task, CHEETAH_HILL_LANDING, extent);
      return new RobotEnv({
        family: 'cheetah-hill',
        robot: HALF_CHEETAH,
        ground: terrain.description(),
        spec,
        substeps: CHEETAH_SUBSTEPS,
        infoKeys: ['climb_reward', 'run_reward', 'ctrl_cost', 'x_velocity'],
        resetPose: cheetahResetPose,
        observe: observeCheetah,
        reward: (ctx, info) => cheetahHillReward(ctx, terrain, task.grade, info),
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [0.6 * task.direction, 0, 0], color: '#3070d0', label: `uphill, grade ${task.grade.toFixed(2)}` }],
        taskLabel: { 'uphill direction': task.direction, grade: Number(task.grade.toFixed(3)) },
      });
    },
  });
}

/** climb + 0.5·Δ|x|/dt − 0.05‖a‖², with its terms written into `info`. */
export function cheetahHillReward(
  s: { action: Float32Array; comBefore: ArrayLike<number>; comAfter: ArrayLike<number>; dt: number },
  terrain: Terrain,
  grade: number,
  info: Record<string, number>,
): number {
  let a2 = 0;
  for (let i = 0; i < s.action.length; i++) a2 += s.action[i] * s.action[i];
  info.climb_reward = climbSpeed(terrain, grade, s.comBefore, s.comAfter, s.dt);
  info.ctrl_cost = CTRL_COST * a2;
  info.x_velocity = (s.comAfter[0] - s.comBefore[0]) / s.dt;
  info.run_reward = (RUN_WEIGHT * (Math.abs(s.comAfter[0]) - Math.abs(s.comBefore[0]))) / s.dt;
  return info.climb_reward + info.run_reward - info.ctrl_cost;
}

export default createCheetahHill();

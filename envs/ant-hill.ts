/**
 * ant-hill — the ant stands on flat ground at the foot of a hill it cannot see, and is paid
 * for climbing. The hill rises along +x or along −x; which, and how steeply, is the task.
 *
 * Why this family: on `ant-terrain` one forward gait serves every terrain type, so a
 * belief about the terrain has little to choose between (docs/results.md measured it).
 * Here the terrain decides what to do: one way the ground rises and climbing it pays, the
 * other way it stays flat and pays nothing, and from the start the two are alike. Only
 * walking out shows the way (the body pitches on the slope and the reward comes in, or
 * the ground stays level and nothing does), so the first episode is spent finding out and
 * a meta-learner should walk straight to the hill in the next. It is the terrain
 * counterpart of the MAML/PEARL "forward-backward" ant, with the way set by the ground.
 *
 * Why the far side is flat, the start area short and the control cost light: an ant that
 * stands still keeps its alive bonus, and an ant that walks is paid only once it is on the
 * hill. Two first PEARL runs learned to stand and never left the start area, so their
 * context never held the slope: one with a descent on the far side (walking either way
 * was then worth nothing before the task was known; 220 iterations), one with ant-dir's
 * control cost 0.5‖a‖² and 1.25 m to the hill (walking cost more than climbing paid; 140
 * iterations). Here the cost is PEARL AntGoal's 0.1‖a‖², and the hill starts 1 m from the
 * spawn point, just past the feet (they reach about 0.75 m). A third run on this version
 * still stood (306 iterations): reaching a reward 1 m away is an exploration problem our
 * agents do not solve yet (docs/results.md).
 *
 * Task: { direction: d, grade: g }: d = +1 (uphill towards +x) or −1, each with
 * probability ½; g ~ U[0.1, 0.3] (option `gradeRange`; 0.3 is 17°, about where a
 * hand-made trot stops on ant-terrain's slopes). Not observed.
 *
 * Ground: height g·max(0, d·x − 1): flat within 1 m of the spawn point and on the far
 * side, rising by g per metre beyond 1 m on the hill's side, out to |x| = 12 m and
 * |z| = 4 m (an ant that leaves the field falls and is terminated).
 *
 * Actions and observation (27 floats, obs 0 measured above the local ground): as
 * ant-dir (robots/ant-env.ts).
 *
 * Reward per step: climb + 1 − 0.1·‖a‖², climb = Δ(ground height under the torso's
 * centre of mass) / (g·dt): the speed up the hill along x (m/s), 0 on flat ground,
 * negative walking back down. Dividing by g keeps a metre gained uphill worth the same on
 * every grade, as forward speed is on ant-terrain.
 *   info: climb_reward, alive_bonus = 1, ctrl_cost = 0.1·‖a‖², height = torso height above the ground.
 * Termination: as ant-terrain (0.2 ≤ torso height above the ground under it ≤ 1.0 m).
 * Horizon H = 200 (option `horizon`), dt = 0.05 s.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { parseFamilyOptions, unitActionSpec } from '../src/physics/index.js';
import { climbSpeed, generateHill, type HillTask, type Terrain } from '../src/physics/terrain.js';
import { ANT_ACT_SIZE, ANT_BASE_OBS_SIZE, ANT_DT, makeAntEnv, squaredNorm, type AntStep } from './robots/ant-env.js';
import { antDescription } from './robots/ant.js';
import { hillGradeRange } from './robots/hill.js';

export const antHillOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  gradeRange: hillGradeRange,
});
export type AntHillOptions = z.input<typeof antHillOptions>;

/** direction +1: the ground rises towards +x; −1: towards −x. */
export interface AntHillTask extends Task, HillTask {}

/** Distance from the spawn point to the foot of the hill, m: ground within it is flat. */
export const HILL_LANDING = 1;
const CTRL_COST = 0.1;
const ALIVE_BONUS = 1;

export function createAntHill(options: AntHillOptions = {}) {
  const opts = parseFamilyOptions('ant-hill', antHillOptions, options);
  const [lo, hi] = opts.gradeRange;
  const spec = { obsSize: ANT_BASE_OBS_SIZE, actSize: ANT_ACT_SIZE, ...unitActionSpec(ANT_ACT_SIZE), horizon: opts.horizon, dt: ANT_DT, bodyCount: antDescription().bodies.length };
  return defineTaskFamily<AntHillTask>({
    name: 'ant-hill',
    description: 'Ant at the foot of a hill it cannot see, paid for climbing: the hill rises along +x or −x, the other way is flat.',
    spec,
    taskRanges: { 'uphill direction': '+1 (towards +x) | −1', grade: `U[${lo}, ${hi}]` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ direction: rng.uniform(0, 1) < 0.5 ? 1 : -1, grade: rng.uniform(lo, hi) })),
    makeEnv: (task) => {
      const terrain = hillTerrain(task);
      return makeAntEnv({
        family: 'ant-hill',
        spec,
        ground: terrain.description(),
        groundHeight: (x, z) => terrain.heightAt(x, z),
        infoKeys: ['climb_reward', 'alive_bonus', 'ctrl_cost', 'height'],
        reward: (s, info) => antHillReward(s, terrain, task.grade, info),
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [task.direction, 0, 0], color: '#3070d0', label: `uphill, grade ${task.grade.toFixed(2)}` }],
        taskLabel: { 'uphill direction': task.direction, grade: Number(task.grade.toFixed(3)) },
      });
    },
  });
}

/** The ground of a task: flat, except past HILL_LANDING m on the hill's side, where it rises g per metre. */
export const hillTerrain = (task: HillTask): Terrain => generateHill(task, HILL_LANDING);

/** climb + 1 − 0.1‖a‖², with its terms written into `info`. */
export function antHillReward(s: AntStep, terrain: Terrain, grade: number, info: Record<string, number>): number {
  info.climb_reward = climbSpeed(terrain, grade, s.comBefore, s.comAfter, s.dt);
  info.alive_bonus = ALIVE_BONUS;
  info.ctrl_cost = CTRL_COST * squaredNorm(s.action);
  info.height = s.comAfter[1] - terrain.heightAt(s.comAfter[0], s.comAfter[2]);
  return info.climb_reward + info.alive_bonus - info.ctrl_cost;
}

export default createAntHill();

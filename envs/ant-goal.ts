/**
 * ant-goal — the ant must walk to a goal position in the ground plane (PEARL /
 * VariBAD AntGoal).
 *
 * Task: { goal: [gx, gy] }, uniform on the disk of radius 3 m (option `radius`):
 * g = r·√u·(cos θ, sin θ), u ~ U[0, 1], θ ~ U[0, 2π), in MuJoCo's ground plane
 * (x forward, y left; world (x, −z)). The task is not observed.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m), the XML's actuator order:
 *   0 hip_4 150 | 1 ankle_4 150 | 2 hip_1 150 | 3 ankle_1 150
 *   4 hip_2 150 | 5 ankle_2 150 | 6 hip_3 150 | 7 ankle_3 150
 *
 * Observation (27 floats, gym Ant's qpos[2:] then qvel, MuJoCo axes; see robots/ant-env.ts):
 *   0 torso height (m) | 1–4 torso quaternion w, x, y, z | 5–12 joint angles hip_1, ankle_1 … ankle_4 (rad)
 *   13–15 torso velocity (m/s) | 16–18 torso angular velocity (rad/s) | 19–26 joint rates (rad/s)
 * The torso's x and y are not observed, as in gym's Ant.
 *
 * Reward per step: −‖xy − g‖₁ − 0.1·‖a‖², xy = the torso's centre of mass after the step.
 *   info: goal_reward = −‖xy − g‖₁, ctrl_cost = 0.1·‖a‖², x, y (m), goal_distance = ‖xy − g‖₂ (m).
 * Termination: unless 0.2 ≤ torso height ≤ 1.0 m (or the state is not finite).
 * Horizon H = 200 (option `horizon`), dt = 0.05 s (5 Rapier steps of 0.01 s).
 *
 * Where ours differs from MuJoCo: as ant-dir (implicit-motor armature and damping,
 * hard Rapier contacts). PEARL's AntGoal also adds a survive bonus and a contact
 * cost; ENVS.md's reward, used here, has neither.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { flatGround, parseFamilyOptions, unitActionSpec } from '../src/physics/index.js';
import { ANT_ACT_SIZE, ANT_BASE_OBS_SIZE, ANT_DT, makeAntEnv, squaredNorm, type AntStep } from './robots/ant-env.js';
import { antDescription } from './robots/ant.js';

export const antGoalOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  radius: z.number().positive().default(3).describe('goals are uniform on the disk of this radius around the start, m'),
});
export type AntGoalOptions = z.input<typeof antGoalOptions>;

export interface AntGoalTask extends Task {
  /** MuJoCo ground-plane coordinates (x, y), m. */
  goal: [number, number];
}

const CTRL_COST = 0.1;

export function createAntGoal(options: AntGoalOptions = {}) {
  const opts = parseFamilyOptions('ant-goal', antGoalOptions, options);
  const spec = { obsSize: ANT_BASE_OBS_SIZE, actSize: ANT_ACT_SIZE, ...unitActionSpec(ANT_ACT_SIZE), horizon: opts.horizon, dt: ANT_DT, bodyCount: antDescription().bodies.length };
  return defineTaskFamily<AntGoalTask>({
    name: 'ant-goal',
    description: 'Ant walking to a goal on a disk of radius 3 m (PEARL / VariBAD AntGoal).',
    spec,
    taskRanges: { 'goal (m)': `uniform on the disk of radius ${opts.radius}` },
    sampleTasks: (rng, n) =>
      Array.from({ length: n }, () => {
        // √u makes the density uniform in area, not in radius.
        const r = opts.radius * Math.sqrt(rng.next());
        const theta = rng.uniform(0, 2 * Math.PI);
        return { goal: [r * Math.cos(theta), r * Math.sin(theta)] as [number, number] };
      }),
    makeEnv: (task) => {
      const [gx, gy] = task.goal;
      return makeAntEnv({
        family: 'ant-goal',
        spec,
        ground: flatGround(),
        groundHeight: () => 0,
        infoKeys: ['goal_reward', 'ctrl_cost', 'x', 'y', 'goal_distance'],
        reward: (s, info) => antGoalReward(s, gx, gy, info),
        markers: [{ kind: 'goal', position: [gx, 0.05, -gy], radius: 0.25, color: '#d04040' }],
        taskLabel: { 'goal x (m)': Number(gx.toFixed(3)), 'goal y (m)': Number(gy.toFixed(3)) },
      });
    },
  });
}

/** −‖xy − g‖₁ − 0.1‖a‖², with its terms written into `info`. */
export function antGoalReward(s: AntStep, gx: number, gy: number, info: Record<string, number>): number {
  // World (x, z) → MuJoCo (x, y = −z).
  const x = s.comAfter[0], y = -s.comAfter[2];
  info.goal_reward = -(Math.abs(x - gx) + Math.abs(y - gy));
  info.ctrl_cost = CTRL_COST * squaredNorm(s.action);
  info.x = x;
  info.y = y;
  info.goal_distance = Math.hypot(x - gx, y - gy);
  return info.goal_reward - info.ctrl_cost;
}

export default createAntGoal();

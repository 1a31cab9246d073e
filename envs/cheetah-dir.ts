/**
 * cheetah-dir — the planar half-cheetah must run forward or backward (MAML HalfCheetahDir).
 *
 * Task: { direction: d } with d ∈ {−1, +1}, each with probability 0.5 (option
 * `forwardProbability`). The task is not observed.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 bthigh 120 | 1 bshin 90 | 2 bfoot 60 | 3 fthigh 120 | 4 fshin 60 | 5 ffoot 30
 *
 * Observation (17 floats, MuJoCo's qpos[1:] then qvel):
 *   0 torso height − 0.7 (m) | 1 torso pitch (rad) | 2–7 joint angles bthigh…ffoot (rad)
 *   8 torso vx (m/s) | 9 torso vz (m/s) | 10 pitch rate (rad/s) | 11–16 joint rates (rad/s)
 *
 * Reward per step: d·v − 0.05·‖a‖², v = Δx of the torso's centre of mass / dt.
 *   info: dir_reward = d·v, ctrl_cost = 0.05·‖a‖², x_velocity = v, direction = d.
 * Termination: never; truncated at the horizon H = 200 (option `horizon`). dt = 0.05 s
 * (5 Rapier steps of 0.01 s).
 *
 * Where ours differs from MuJoCo: as cheetah-vel (implicit-motor joint damping and
 * stiffness, armature as body inertia, Rapier contacts).
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { RobotEnv, parseFamilyOptions, unitActionSpec } from '../src/physics/index.js';
import {
  CHEETAH_DT,
  CHEETAH_OBS_SIZE,
  CHEETAH_SUBSTEPS,
  HALF_CHEETAH,
  cheetahResetPose,
  observeCheetah,
} from './robots/half-cheetah.js';

export const cheetahDirOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  forwardProbability: z.number().min(0).max(1).default(0.5).describe('probability that a task asks for +x (else −x)'),
});
export type CheetahDirOptions = z.input<typeof cheetahDirOptions>;

export interface CheetahDirTask extends Task {
  direction: 1 | -1;
}

const CTRL_COST = 0.05;

export function createCheetahDir(options: CheetahDirOptions = {}) {
  const opts = parseFamilyOptions('cheetah-dir', cheetahDirOptions, options);
  const spec = { obsSize: CHEETAH_OBS_SIZE, actSize: 6, ...unitActionSpec(6), horizon: opts.horizon, dt: CHEETAH_DT, bodyCount: HALF_CHEETAH.bodies.length };
  return defineTaskFamily<CheetahDirTask>({
    name: 'cheetah-dir',
    description: 'Planar half-cheetah running forward or backward (MAML HalfCheetahDir).',
    spec,
    taskRanges: { direction: `{−1, +1}, P(+1) = ${opts.forwardProbability}` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ direction: rng.next() < opts.forwardProbability ? 1 : -1 }) as CheetahDirTask),
    makeEnv: (task) =>
      new RobotEnv({
        family: 'cheetah-dir',
        robot: HALF_CHEETAH,
        spec,
        substeps: CHEETAH_SUBSTEPS,
        infoKeys: ['dir_reward', 'ctrl_cost', 'x_velocity', 'direction'],
        resetPose: cheetahResetPose,
        observe: observeCheetah,
        reward: (ctx, info) => cheetahDirReward((ctx.comAfter[0] - ctx.comBefore[0]) / ctx.dt, task.direction, ctx.action, info),
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [0.6 * task.direction, 0, 0], color: '#3070d0', label: task.direction > 0 ? 'forward' : 'backward' }],
        taskLabel: { direction: task.direction > 0 ? 'forward (+x)' : 'backward (−x)' },
      }),
  });
}

/** d·v − 0.05‖a‖², with its terms written into `info`. */
export function cheetahDirReward(v: number, direction: number, action: Float32Array, info: Record<string, number>): number {
  let a2 = 0;
  for (let i = 0; i < action.length; i++) a2 += action[i] * action[i];
  info.dir_reward = direction * v;
  info.ctrl_cost = CTRL_COST * a2;
  info.x_velocity = v;
  info.direction = direction;
  return info.dir_reward - info.ctrl_cost;
}

export default createCheetahDir();

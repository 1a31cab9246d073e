/**
 * cheetah-vel — the planar half-cheetah must run at a target forward velocity
 * (MAML / garage HalfCheetahVel; ProMP and PEARL sample up to 3 m/s).
 *
 * Task: { velocity: v* } with v* ~ U[0, 2] m/s (option `velocityRange`, e.g. [0, 3]).
 * The task is not observed: the agent infers it from rewards.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 bthigh 120 | 1 bshin 90 | 2 bfoot 60 | 3 fthigh 120 | 4 fshin 60 | 5 ffoot 30
 *
 * Observation (17 floats, MuJoCo's qpos[1:] then qvel):
 *   0 torso height − 0.7 (m) | 1 torso pitch (rad) | 2–7 joint angles bthigh…ffoot (rad)
 *   8 torso vx (m/s) | 9 torso vz (m/s) | 10 pitch rate (rad/s) | 11–16 joint rates (rad/s)
 *
 * Reward per step: −|v − v*| − 0.05·‖a‖², v = Δx of the torso's centre of mass / dt.
 *   info: vel_reward = −|v − v*|, ctrl_cost = 0.05·‖a‖², x_velocity = v, target_velocity = v*.
 * Termination: never; truncated at the horizon H = 200 (option `horizon`). dt = 0.05 s
 * (5 Rapier steps of 0.01 s, as MuJoCo's timestep 0.01 × frame-skip 5).
 *
 * Where ours differs from MuJoCo: Rapier contacts are stiffer and have no soft
 * constraint margin; joint damping/stiffness are implicit motors and armature is body
 * inertia (see src/physics/build.ts); velocities in the observation are centres of mass'.
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

export const cheetahVelOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  velocityRange: z
    .tuple([z.number().min(0), z.number()])
    .default([0, 2])
    .refine(([lo, hi]) => lo < hi, 'must be [low, high] with low < high')
    .describe('target velocities are drawn uniformly from [low, high], m/s'),
});
export type CheetahVelOptions = z.input<typeof cheetahVelOptions>;

export interface CheetahVelTask extends Task {
  velocity: number;
}

const CTRL_COST = 0.05;

export function createCheetahVel(options: CheetahVelOptions = {}) {
  const opts = parseFamilyOptions('cheetah-vel', cheetahVelOptions, options);
  const [lo, hi] = opts.velocityRange;
  const spec = { obsSize: CHEETAH_OBS_SIZE, actSize: 6, ...unitActionSpec(6), horizon: opts.horizon, dt: CHEETAH_DT, bodyCount: HALF_CHEETAH.bodies.length };
  return defineTaskFamily<CheetahVelTask>({
    name: 'cheetah-vel',
    description: 'Planar half-cheetah running at a target forward velocity (MAML HalfCheetahVel).',
    spec,
    taskRanges: { 'target velocity (m/s)': `U[${lo}, ${hi}]` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ velocity: rng.uniform(lo, hi) })),
    makeEnv: (task) =>
      new RobotEnv({
        family: 'cheetah-vel',
        robot: HALF_CHEETAH,
        spec,
        substeps: CHEETAH_SUBSTEPS,
        infoKeys: ['vel_reward', 'ctrl_cost', 'x_velocity', 'target_velocity'],
        resetPose: cheetahResetPose,
        observe: observeCheetah,
        reward: (ctx, info) => cheetahVelReward((ctx.comAfter[0] - ctx.comBefore[0]) / ctx.dt, task.velocity, ctx.action, info),
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [task.velocity / 2, 0, 0], color: '#3070d0', label: `${task.velocity.toFixed(2)} m/s` }],
        taskLabel: { 'target velocity (m/s)': Number(task.velocity.toFixed(3)) },
      }),
  });
}

/** −|v − v*| − 0.05‖a‖², with its terms written into `info`. */
export function cheetahVelReward(v: number, target: number, action: Float32Array, info: Record<string, number>): number {
  let a2 = 0;
  for (let i = 0; i < action.length; i++) a2 += action[i] * action[i];
  info.vel_reward = -Math.abs(v - target);
  info.ctrl_cost = CTRL_COST * a2;
  info.x_velocity = v;
  info.target_velocity = target;
  return info.vel_reward - info.ctrl_cost;
}

export default createCheetahVel();

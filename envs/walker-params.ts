/**
 * walker-params — the planar walker2d must walk forward under randomised dynamics
 * (PEARL / VariBAD Walker2DRandParams, from rand_param_envs).
 *
 * Task: { massScale[7], dampingScale[6], frictionScale[8] }: per-body mass and inertia
 * × 1.5^u, per-joint damping × 1.3^u, per-geom friction × 1.5^u (7 geoms, then the
 * ground), u ~ U[−3, 3] (option `logScaleLimit`). See src/physics/dynamics.ts. The task
 * is not observed; `spec` is the same for every task.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 thigh 100 | 1 leg 100 | 2 foot 100 | 3 thigh_left 100 | 4 leg_left 100 | 5 foot_left 100
 *
 * Observation (17 floats, MuJoCo's qpos[1:] then qvel clipped to ±10):
 *   0 torso height (m) | 1 torso pitch (rad) | 2–7 joint angles thigh…foot_left (rad)
 *   8 torso vx (m/s) | 9 torso vz (m/s) | 10 pitch rate (rad/s) | 11–16 joint rates (rad/s)
 *
 * Reward per step: v + 1 (alive) − 1e-3·‖a‖², v = Δx of the torso's centre of mass / dt.
 *   info: forward_reward = v, alive_bonus = 1, ctrl_cost = 1e-3·‖a‖².
 * Termination: unless 0.8 < torso height < 2.0 and |pitch| < 1. Horizon H = 200 (option
 * `horizon`); dt = 0.008 s (4 Rapier steps of 0.002 s, as MuJoCo's 0.002 × frame-skip 4).
 *
 * Where ours differs: Rapier's exact capsule volume makes bodies ~4% heavier than
 * MuJoCo's; one factor scales mass and inertia together; friction combines by max
 * as in MuJoCo, with the ground's own factor.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import {
  RobotEnv,
  applyDynamicsTask,
  parseFamilyOptions,
  planarRoot,
  sampleDynamicsTask,
  unitActionSpec,
  ROOT_ANGLE,
  ROOT_Z,
  type DynamicsTask,
} from '../src/physics/index.js';
import { WALKER2D, WALKER_DT, WALKER_OBS_SIZE, WALKER_SUBSTEPS, observeWalker, walkerResetPose } from './robots/walker2d.js';
import { locomotionReward } from './robots/locomotion-reward.js';

export const walkerParamsOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  logScaleLimit: z.number().min(0).default(3).describe('L: factors are base^u with u ~ U[−L, L]'),
});
export type WalkerParamsOptions = z.input<typeof walkerParamsOptions>;

export type WalkerParamsTask = DynamicsTask & Task;

const _root = new Float64Array(6);

export function createWalkerParams(options: WalkerParamsOptions = {}) {
  const opts = parseFamilyOptions('walker-params', walkerParamsOptions, options);
  const L = opts.logScaleLimit;
  const spec = { obsSize: WALKER_OBS_SIZE, actSize: 6, ...unitActionSpec(6), horizon: opts.horizon, dt: WALKER_DT, bodyCount: WALKER2D.bodies.length };
  return defineTaskFamily<WalkerParamsTask>({
    name: 'walker-params',
    description: 'Planar walker2d walking forward under randomised mass, damping and friction (Walker2DRandParams).',
    spec,
    taskRanges: { 'body mass & inertia': `× 1.5^U[−${L}, ${L}]`, 'joint damping': `× 1.3^U[−${L}, ${L}]`, 'geom friction': `× 1.5^U[−${L}, ${L}]` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => sampleDynamicsTask(rng, WALKER2D, L)),
    makeEnv: (task) =>
      new RobotEnv({
        family: 'walker-params',
        robot: applyDynamicsTask(WALKER2D, task),
        spec,
        substeps: WALKER_SUBSTEPS,
        infoKeys: ['forward_reward', 'alive_bonus', 'ctrl_cost'],
        resetPose: walkerResetPose,
        observe: observeWalker,
        reward: (ctx, info) => locomotionReward((ctx.comAfter[0] - ctx.comBefore[0]) / ctx.dt, ctx.action, info),
        terminated: (ctx) => {
          planarRoot(ctx.rw, _root);
          return !walkerHealthy(_root[ROOT_Z], _root[ROOT_ANGLE]);
        },
        taskLabel: { 'torso mass ×': Number(task.massScale[0].toFixed(2)), 'thigh damping ×': Number(task.dampingScale[0].toFixed(2)) },
      }),
  });
}

export function walkerHealthy(height: number, pitch: number): boolean {
  return height > 0.8 && height < 2.0 && Math.abs(pitch) < 1;
}

export default createWalkerParams();

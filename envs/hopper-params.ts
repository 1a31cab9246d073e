/**
 * hopper-params — the planar hopper must hop forward under randomised dynamics
 * (VariBAD HopperRandParams, from rand_param_envs).
 *
 * Task: { massScale[4], dampingScale[3], frictionScale[5] }: per-body mass and inertia
 * × 1.5^u, per-joint damping × 1.3^u, per-geom friction × 1.5^u (4 geoms, then the
 * ground), u ~ U[−3, 3] (option `logScaleLimit`). See src/physics/dynamics.ts. The task
 * is not observed; `spec` is the same for every task.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 thigh 200 | 1 leg 200 | 2 foot 200
 *
 * Observation (11 floats, MuJoCo's qpos[1:] then qvel clipped to ±10):
 *   0 torso height (m) | 1 torso pitch (rad) | 2–4 joint angles thigh, leg, foot (rad)
 *   5 torso vx (m/s) | 6 torso vz (m/s) | 7 pitch rate (rad/s) | 8–10 joint rates (rad/s)
 *
 * Reward per step: v + 1 (alive) − 1e-3·‖a‖², v = Δx of the torso's centre of mass / dt.
 *   info: forward_reward = v, alive_bonus = 1, ctrl_cost = 1e-3·‖a‖².
 * Termination: unless height > 0.7, |pitch| < 0.2, and every angle and (unclipped)
 * velocity is finite and within ±100. Horizon H = 200 (option `horizon`); dt = 0.008 s
 * (4 Rapier steps of 0.002 s).
 *
 * Where ours differs: as walker-params (capsule masses ~4% above MuJoCo's, one factor
 * for mass and inertia, the ground's friction has its own factor).
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
  type RobotWorld,
} from '../src/physics/index.js';
import { HOPPER, HOPPER_DT, HOPPER_OBS_SIZE, HOPPER_SUBSTEPS, hopperResetPose, observeHopper } from './robots/hopper.js';
import { locomotionReward } from './robots/locomotion-reward.js';

export const hopperParamsOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  logScaleLimit: z.number().min(0).default(3).describe('L: factors are base^u with u ~ U[−L, L]'),
});
export type HopperParamsOptions = z.input<typeof hopperParamsOptions>;

export type HopperParamsTask = DynamicsTask & Task;

const STATE_LIMIT = 100;
const _root = new Float64Array(6);

export function createHopperParams(options: HopperParamsOptions = {}) {
  const opts = parseFamilyOptions('hopper-params', hopperParamsOptions, options);
  const L = opts.logScaleLimit;
  const spec = { obsSize: HOPPER_OBS_SIZE, actSize: 3, ...unitActionSpec(3), horizon: opts.horizon, dt: HOPPER_DT, bodyCount: HOPPER.bodies.length };
  return defineTaskFamily<HopperParamsTask>({
    name: 'hopper-params',
    description: 'Planar hopper hopping forward under randomised mass, damping and friction (HopperRandParams).',
    spec,
    taskRanges: { 'body mass & inertia': `× 1.5^U[−${L}, ${L}]`, 'joint damping': `× 1.3^U[−${L}, ${L}]`, 'geom friction': `× 1.5^U[−${L}, ${L}]` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => sampleDynamicsTask(rng, HOPPER, L)),
    makeEnv: (task) =>
      new RobotEnv({
        family: 'hopper-params',
        robot: applyDynamicsTask(HOPPER, task),
        spec,
        substeps: HOPPER_SUBSTEPS,
        infoKeys: ['forward_reward', 'alive_bonus', 'ctrl_cost'],
        resetPose: hopperResetPose,
        observe: observeHopper,
        reward: (ctx, info) => locomotionReward((ctx.comAfter[0] - ctx.comBefore[0]) / ctx.dt, ctx.action, info),
        terminated: (ctx) => !hopperHealthy(ctx.rw),
        taskLabel: { 'torso mass ×': Number(task.massScale[0].toFixed(2)), 'foot friction ×': Number(task.frictionScale[3].toFixed(2)) },
      }),
  });
}

/** Gym Hopper-v5's `is_healthy`: height > 0.7, |pitch| < 0.2, state (without rootx, rootz) finite and within ±100. */
export function hopperHealthy(rw: RobotWorld): boolean {
  planarRoot(rw, _root);
  if (!(_root[ROOT_Z] > 0.7) || !(Math.abs(_root[ROOT_ANGLE]) < 0.2)) return false;
  const ok = (x: number) => Number.isFinite(x) && Math.abs(x) < STATE_LIMIT;
  if (!ok(_root[3]) || !ok(_root[4]) || !ok(_root[5])) return false;
  for (let j = 0; j < rw.jointCount; j++) if (!ok(rw.jointPos[j]) || !ok(rw.jointVel[j])) return false;
  return true;
}

export default createHopperParams();

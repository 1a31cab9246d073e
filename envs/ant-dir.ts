/**
 * ant-dir — the ant must walk in a direction in the ground plane (ProMP
 * AntRandDirec2D, learn2learn AntDirection).
 *
 * Task: { angle: θ } with θ ~ U[0, 2π) (option `angleRange`); the direction is
 * d = (cos θ, sin θ) in MuJoCo's ground plane (x forward, y left; world (x, −z)).
 * The task is not observed.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m), the XML's actuator order:
 *   0 hip_4 150 | 1 ankle_4 150 | 2 hip_1 150 | 3 ankle_1 150
 *   4 hip_2 150 | 5 ankle_2 150 | 6 hip_3 150 | 7 ankle_3 150
 *
 * Observation (27 floats, gym Ant's qpos[2:] then qvel, MuJoCo axes; see robots/ant-env.ts):
 *   0 torso height (m) | 1–4 torso quaternion w, x, y, z | 5–12 joint angles hip_1, ankle_1 … ankle_4 (rad)
 *   13–15 torso velocity (m/s) | 16–18 torso angular velocity (rad/s) | 19–26 joint rates (rad/s)
 *
 * Reward per step: d·v_xy + 1 − 0.5·‖a‖², v_xy = Δ(x, y) of the torso's centre of mass / dt.
 *   info: dir_reward = d·v_xy, alive_bonus = 1, ctrl_cost = 0.5·‖a‖², x_velocity, y_velocity.
 * Termination: unless 0.2 ≤ torso height ≤ 1.0 m (or the state is not finite).
 * Horizon H = 200 (option `horizon`), dt = 0.05 s (5 Rapier steps of 0.01 s).
 *
 * Where ours differs from MuJoCo: armature and joint damping are implicit hinge
 * motors (src/physics/joint-motors.ts); Rapier contacts are hard, with no soft margin; no
 * contact-force cost or contact forces in the observation (ProMP's ant has both).
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import type { Task } from '../src/core/types.js';
import { flatGround, parseFamilyOptions, unitActionSpec } from '../src/physics/index.js';
import { ANT_ACT_SIZE, ANT_BASE_OBS_SIZE, ANT_DT, makeAntEnv, planeVelocity, squaredNorm, type AntStep } from './robots/ant-env.js';
import { antDescription } from './robots/ant.js';

export const antDirOptions = z.object({
  horizon: z.number().int().positive().default(200).describe('steps per episode'),
  angleRange: z
    .tuple([z.number(), z.number()])
    .default([0, 2 * Math.PI])
    .refine(([lo, hi]) => lo < hi, 'must be [low, high] with low < high')
    .describe('direction angles θ are drawn uniformly from [low, high), rad (MuJoCo x towards y)'),
});
export type AntDirOptions = z.input<typeof antDirOptions>;

export interface AntDirTask extends Task {
  angle: number;
}

const CTRL_COST = 0.5;
const ALIVE_BONUS = 1;

export function createAntDir(options: AntDirOptions = {}) {
  const opts = parseFamilyOptions('ant-dir', antDirOptions, options);
  const [lo, hi] = opts.angleRange;
  const spec = { obsSize: ANT_BASE_OBS_SIZE, actSize: ANT_ACT_SIZE, ...unitActionSpec(ANT_ACT_SIZE), horizon: opts.horizon, dt: ANT_DT, bodyCount: antDescription().bodies.length };
  return defineTaskFamily<AntDirTask>({
    name: 'ant-dir',
    description: 'Ant walking in a direction of the ground plane (ProMP AntRandDirec2D).',
    spec,
    taskRanges: { 'direction angle (rad)': `U[${lo.toFixed(3)}, ${hi.toFixed(3)})` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ angle: rng.uniform(lo, hi) })),
    makeEnv: (task) => {
      const dx = Math.cos(task.angle), dy = Math.sin(task.angle);
      return makeAntEnv({
        family: 'ant-dir',
        spec,
        ground: flatGround(),
        groundHeight: () => 0,
        infoKeys: ['dir_reward', 'alive_bonus', 'ctrl_cost', 'x_velocity', 'y_velocity'],
        reward: (s, info) => antDirReward(s, dx, dy, info),
        // World axes: MuJoCo's y is world −z.
        markers: [{ kind: 'arrow', position: [0, 1.2, 0], direction: [dx, 0, -dy], color: '#3070d0', label: `θ = ${task.angle.toFixed(2)}` }],
        taskLabel: { 'direction angle (rad)': Number(task.angle.toFixed(3)) },
      });
    },
  });
}

/** d·v_xy + 1 − 0.5‖a‖², with its terms written into `info`. */
export function antDirReward(s: AntStep, dx: number, dy: number, info: Record<string, number>): number {
  const vx = planeVelocity(s, 0), vy = planeVelocity(s, 1);
  info.dir_reward = dx * vx + dy * vy;
  info.alive_bonus = ALIVE_BONUS;
  info.ctrl_cost = CTRL_COST * squaredNorm(s.action);
  info.x_velocity = vx;
  info.y_velocity = vy;
  return info.dir_reward + info.alive_bonus - info.ctrl_cost;
}

export default createAntDir();

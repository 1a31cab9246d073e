/**
 * point-nav — a point mass in the plane must reach a goal (MAML 2D navigation:
 * cbfinn/maml_rl point_env_randgoal, pytorch-maml-rl navigation).
 *
 * Task: { goal: [gx, gy] } with g ~ U[−0.5, 0.5]² (option `goalRange`). Not observed.
 *
 * Actions: 0 Δx, 1 Δy (m). The action box is [-1, 1] like every family; the step then
 *   clips each component to ±0.1 (option `maxStep`), as the original does: s' = s + a.
 * Observation (2 floats): 0 x, 1 y of the point (m), starting at the origin.
 * Reward per step: −‖s' − g‖₂. info: dist_reward = −‖s' − g‖₂, distance = ‖s' − g‖₂.
 * Termination: when |x − gx| < 0.01 and |y − gy| < 0.01. Horizon H = 100 (option
 * `horizon`), dt = 1 (one move per step; nothing here is time-based).
 *
 * Physics: the point is a Rapier ball (radius 0.05 m) moved kinematically on a plane,
 * so it has a world, a scene and frames like every env. The plane of the task is
 * MuJoCo's x–y, i.e. world x and −z.
 */
import { z } from 'zod';
import { defineTaskFamily } from '../src/core/define.js';
import { MetarlError } from '../src/core/errors.js';
import { POSE_STRIDE, type SceneDescription } from '../src/core/scene.js';
import type { Env, EnvSpec, StepResult, Task } from '../src/core/types.js';
import { RAPIER, flatGround, parseFamilyOptions, unitActionSpec, type R } from '../src/physics/index.js';

export const pointNavOptions = z.object({
  horizon: z.number().int().positive().default(100).describe('steps per episode'),
  goalRange: z.number().positive().default(0.5).describe('goals are drawn from U[−r, r]², m'),
  maxStep: z.number().positive().default(0.1).describe('each action component is clipped to ±maxStep, m'),
});
export type PointNavOptions = z.input<typeof pointNavOptions>;

export interface PointNavTask extends Task {
  goal: [number, number];
}

const RADIUS = 0.05;
const _p = { x: 0, y: 0, z: 0 };
const GOAL_TOLERANCE = 0.01;

class PointNavEnv implements Env {
  readonly spec: EnvSpec;
  private readonly world: R.World;
  private readonly ball: R.RigidBody;
  private readonly goal: [number, number];
  private readonly maxStep: number;
  private readonly obs = new Float32Array(2);
  private readonly info = { dist_reward: 0, distance: 0 };
  private readonly result: StepResult;
  private readonly next = { x: 0, y: RADIUS, z: 0 };
  private t = 0;
  private disposed = false;

  constructor(spec: EnvSpec, task: PointNavTask, maxStep: number) {
    this.spec = spec;
    this.goal = task.goal;
    this.maxStep = maxStep;
    this.world = new RAPIER.World({ x: 0, y: -9.81, z: 0 });
    this.world.timestep = spec.dt;
    this.world.createCollider(RAPIER.ColliderDesc.cuboid(50, 1, 50).setTranslation(0, -1, 0));
    this.ball = this.world.createRigidBody(RAPIER.RigidBodyDesc.kinematicPositionBased().setTranslation(0, RADIUS, 0));
    this.world.createCollider(RAPIER.ColliderDesc.ball(RADIUS), this.ball);
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, info: this.info };
  }

  /** The start is the origin, without noise, as in the original; the seed has nothing to drive. */
  reset(_seed?: number): Float32Array {
    this.assertLive('reset');
    this.next.x = 0;
    this.next.z = 0;
    this.ball.setTranslation(this.next, false);
    this.ball.setNextKinematicTranslation(this.next);
    this.t = 0;
    this.readObs();
    return this.obs.slice();
  }

  step(action: Float32Array): StepResult {
    this.assertLive('step');
    if (!action || action.length !== 2) {
      throw new MetarlError('METARL_BAD_ACTION', `env 'point-nav': action has length ${action?.length ?? 'undefined'}, expected 2 (spec.actSize)`, { env: 'point-nav' });
    }
    const dx = this.clip(action[0], 0), dy = this.clip(action[1], 1);
    const x = this.obs[0] + dx, y = this.obs[1] + dy;
    this.next.x = x;
    this.next.z = -y;
    this.ball.setNextKinematicTranslation(this.next);
    this.world.step();
    this.readObs();
    this.t++;
    const ex = this.obs[0] - this.goal[0], ey = this.obs[1] - this.goal[1];
    const r = this.result;
    this.info.distance = Math.hypot(ex, ey);
    this.info.dist_reward = -this.info.distance;
    r.reward = this.info.dist_reward;
    r.terminated = Math.abs(ex) < GOAL_TOLERANCE && Math.abs(ey) < GOAL_TOLERANCE;
    r.truncated = !r.terminated && this.t >= this.spec.horizon;
    return r;
  }

  private clip(a: number, i: number): number {
    if (Number.isNaN(a)) throw new MetarlError('METARL_BAD_ACTION', `env 'point-nav': action[${i}] is NaN; check the policy's output for NaNs`, { env: 'point-nav', index: i });
    const lo = Math.max(this.spec.actLow[i], -this.maxStep), hi = Math.min(this.spec.actHigh[i], this.maxStep);
    return a < lo ? lo : a > hi ? hi : a;
  }

  private readObs(): void {
    const p = this.ball.translation(_p);
    this.obs[0] = p.x;
    this.obs[1] = 0 - p.z; // not −p.z: that gives −0 at the start
  }

  scene(): SceneDescription {
    return {
      family: 'point-nav',
      bodies: [{ name: 'point', shapes: [{ shape: { kind: 'sphere', radius: RADIUS }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#d08040' }] }],
      ground: flatGround(),
      markers: [{ kind: 'goal', position: [this.goal[0], 0, -this.goal[1]], radius: 0.03, color: '#30a050' }],
      taskLabel: { goal: `(${this.goal[0].toFixed(2)}, ${this.goal[1].toFixed(2)})` },
    };
  }

  frame(out?: Float32Array): Float32Array {
    this.assertLive('frame');
    const dst = out ?? new Float32Array(POSE_STRIDE);
    const p = this.ball.translation(_p);
    dst[0] = p.x; dst[1] = p.y; dst[2] = p.z;
    dst[3] = 0; dst[4] = 0; dst[5] = 0; dst[6] = 1;
    return dst;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.world.free();
  }

  private assertLive(what: string): void {
    if (this.disposed) throw new MetarlError('METARL_DISPOSED', `env 'point-nav': ${what}() after dispose(); make a new env with family.makeEnv(task)`, { env: 'point-nav' });
  }
}

export function createPointNav(options: PointNavOptions = {}) {
  const opts = parseFamilyOptions('point-nav', pointNavOptions, options);
  const spec: EnvSpec = { obsSize: 2, actSize: 2, ...unitActionSpec(2), horizon: opts.horizon, dt: 1, bodyCount: 1 };
  const r = opts.goalRange;
  return defineTaskFamily<PointNavTask>({
    name: 'point-nav',
    description: 'A point mass in the plane moving to a goal (MAML 2D navigation).',
    spec,
    taskRanges: { goal: `U[−${r}, ${r}]²` },
    sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: [rng.uniform(-r, r), rng.uniform(-r, r)] as [number, number] })),
    makeEnv: (task) => {
      const env = new PointNavEnv(spec, task, opts.maxStep);
      env.reset();
      return env;
    },
  });
}

export default createPointNav();

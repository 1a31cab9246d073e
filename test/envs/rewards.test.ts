// Rewards and terminations on hand-made states: the robot is placed by forward
// kinematics (in the air, where nothing but gravity acts) at a known velocity, and one
// real env step must give the reward ENVS.md defines for that velocity.
import { afterEach, describe, expect, it } from 'vitest';
import { createCheetahDir } from '../../envs/cheetah-dir.js';
import { createCheetahVel } from '../../envs/cheetah-vel.js';
import { createHopperParams } from '../../envs/hopper-params.js';
import { createPointNav } from '../../envs/point-nav.js';
import { createWalkerParams } from '../../envs/walker-params.js';
import type { Env } from '../../src/core/types.js';
import { nominalDynamicsTask, type RobotEnv, type RobotPose } from '../../src/physics/index.js';
import { HALF_CHEETAH } from '../../envs/robots/half-cheetah.js';
import { WALKER2D } from '../../envs/robots/walker2d.js';
import { HOPPER } from '../../envs/robots/hopper.js';

let envs: Env[] = [];
const keep = <E extends Env>(env: E): E => (envs.push(env), env);
afterEach(() => {
  for (const e of envs) e.dispose();
  envs = [];
});

/** Puts the robot high in the air at horizontal velocity `vx` (m/s), joints at rest. */
function launch(env: Env, vx: number, pose: RobotPose = {}): void {
  const rw = (env as RobotEnv).robotWorld;
  rw.setPose({ rootPos: [0, 5, 0], rootLinvel: [vx, 0, 0], ...pose });
}

const zeros = (n: number) => new Float32Array(n);

describe('cheetah-vel', () => {
  it('gives −|v − v*| at a known velocity with zero action, and subtracts 0.05‖a‖²', () => {
    const family = createCheetahVel();
    const env = keep(family.makeEnv({ velocity: 1.5 }));
    env.reset(0);
    launch(env, 0.5);
    const r = env.step(zeros(6));
    expect(r.info!.x_velocity).toBeCloseTo(0.5, 3);
    expect(r.reward).toBeCloseTo(-1.0, 3);
    expect(r.info!.ctrl_cost).toBe(0);
    const env2 = keep(family.makeEnv({ velocity: 1.5 }));
    env2.reset(0);
    launch(env2, 2);
    const full = env2.step(new Float32Array(6).fill(1));
    expect(full.info!.ctrl_cost).toBeCloseTo(0.05 * 6, 6);
    expect(full.info!.vel_reward).toBeCloseTo(-Math.abs(full.info!.x_velocity - 1.5), 6);
    expect(full.reward).toBeCloseTo(full.info!.vel_reward - 0.3, 6);
  });

  it('never terminates and truncates at the horizon option', () => {
    const env = keep(createCheetahVel({ horizon: 5 }).makeEnv({ velocity: 1 }));
    env.reset(0);
    const flags = Array.from({ length: 5 }, () => {
      const r = env.step(zeros(6));
      return [r.terminated, r.truncated];
    });
    expect(flags).toEqual([[false, false], [false, false], [false, false], [false, false], [false, true]]);
  });

  it('rejects options outside their schema, listing the path', () => {
    expect(() => createCheetahVel({ velocityRange: [2, 1] })).toThrow(/velocityRange/);
    expect(() => createCheetahVel({ horizon: 0 })).toThrow(/horizon/);
  });
});

describe('cheetah-dir', () => {
  it('gives d·v: backward running pays when d = −1', () => {
    const family = createCheetahDir();
    const back = keep(family.makeEnv({ direction: -1 }));
    back.reset(0);
    launch(back, -1.2);
    expect(back.step(zeros(6)).reward).toBeCloseTo(1.2, 3);
    const fwd = keep(family.makeEnv({ direction: 1 }));
    fwd.reset(0);
    launch(fwd, -1.2);
    expect(fwd.step(zeros(6)).reward).toBeCloseTo(-1.2, 3);
  });
});

describe.each([
  // Heights in the healthy range, with the feet off the ground.
  ['walker-params', () => createWalkerParams().makeEnv(nominalDynamicsTask(WALKER2D) as never), 6, 1.9],
  ['hopper-params', () => createHopperParams().makeEnv(nominalDynamicsTask(HOPPER) as never), 3, 1.9],
])('%s', (name, make, actSize, height) => {
  it('gives v + 1 − 1e-3‖a‖² while healthy', () => {
    const env = keep(make());
    env.reset(0);
    launch(env, 0.8, { rootPos: [0, height, 0] });
    const coast = env.step(zeros(actSize));
    expect(coast.terminated).toBe(false);
    expect(coast.info!.forward_reward).toBeCloseTo(0.8, 3);
    expect(coast.reward).toBeCloseTo(1.8, 3);
    // Torques turn the torso too, so its velocity changes; the terms still add up.
    const r = env.step(new Float32Array(actSize).fill(0.5));
    expect(r.info!.alive_bonus).toBe(1);
    expect(r.info!.ctrl_cost).toBeCloseTo(1e-3 * 0.25 * actSize, 8);
    expect(r.reward).toBeCloseTo(r.info!.forward_reward + 1 - r.info!.ctrl_cost, 8);
  });

  it('terminates when the torso is too low or tilted', () => {
    const low = keep(make());
    low.reset(0);
    launch(low, 0, { rootPos: [0, 0.5, 0] });
    expect(low.step(zeros(actSize)).terminated).toBe(true);
    const tilted = keep(make());
    tilted.reset(0);
    const angle = name === 'walker-params' ? 1.2 : 0.3; // beyond |pitch| < 1 (walker) or 0.2 (hopper)
    launch(tilted, 0, { rootPos: [0, height, 0], rootQuat: [0, 0, Math.sin(angle / 2), Math.cos(angle / 2)] });
    expect(tilted.step(zeros(actSize)).terminated).toBe(true);
  });
});

describe('point-nav', () => {
  it('moves by the action clipped to ±0.1 and pays −‖s′ − g‖', () => {
    const env = keep(createPointNav().makeEnv({ goal: [0.3, 0] }));
    expect(Array.from(env.reset(0))).toEqual([0, 0]);
    const r = env.step(Float32Array.of(1, -0.05));
    expect(r.obs[0]).toBeCloseTo(0.1, 6);
    expect(r.obs[1]).toBeCloseTo(-0.05, 6);
    expect(r.reward).toBeCloseTo(-Math.hypot(0.2, 0.05), 6);
    expect(r.terminated).toBe(false);
  });

  it('ends the episode on reaching the goal within 0.01 per axis', () => {
    const env = keep(createPointNav().makeEnv({ goal: [0.1, 0.195] }));
    env.reset(0);
    expect(env.step(Float32Array.of(1, 1)).terminated).toBe(false);
    const r = env.step(Float32Array.of(0, 0.1));
    expect(r.terminated).toBe(true);
    expect(r.truncated).toBe(false);
  });
});

describe('scene', () => {
  it('the cheetah scene has one body per description body and a task marker', () => {
    const env = keep(createCheetahVel().makeEnv({ velocity: 1.3 }));
    const scene = env.scene();
    expect(scene.bodies.map((b) => b.name)).toEqual(HALF_CHEETAH.bodies.map((b) => b.name));
    expect(scene.markers).toHaveLength(1);
    expect(scene.taskLabel['target velocity (m/s)']).toBeCloseTo(1.3, 6);
  });
});

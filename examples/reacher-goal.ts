/**
 * reacher-goal — a two-link arm on a fixed base, lying flat above the floor, must put
 * its fingertip on a goal drawn anywhere in its reach (a manipulation task; the arm is
 * gym's Reacher, the goal distribution MAML-style: the goal is not observed, the agent
 * infers it from rewards).
 *
 * A user's env file: it uses only metarl's public API. In your own project write
 * `import { defineTaskFamily, robot } from 'metarl'`; this file sits inside metarl's
 * repository, so it imports the same API from '../src/index.js' (tests run from source).
 *
 * Task: { goal: [gx, gy] } (m, in the arm's plane, MuJoCo x–y), uniform over the disc
 * of radius 0.2 m around the shoulder (gym's Reacher goal distribution), sampled by
 * rejection from the square.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 shoulder 0.2 | 1 elbow 0.2
 *
 * Observation (8 floats):
 *   0 cos q0 | 1 cos q1 | 2 sin q0 | 3 sin q1 (q: shoulder, elbow angles)
 *   4 shoulder rate (rad/s) | 5 elbow rate (rad/s) | 6 fingertip x (m) | 7 fingertip y (m)
 *
 * Reward per step: −‖tip − goal‖ − 0.1·‖a‖² (gym Reacher-v5's weights).
 *   info: dist_reward = −‖tip − goal‖, ctrl_cost = 0.1·‖a‖², distance = ‖tip − goal‖.
 * Termination: never; truncated at H = 50 steps. dt = 0.02 s (2 world steps of 0.01 s).
 *
 * The base is the robot's fixed root (welded to the world). The arm's hinges are
 * vertical, so gravity does no work on it.
 */
import { defineTaskFamily, robot, type Env, type EnvSpec, type Rng, type Task } from '../src/index.js';

export interface ReacherTask extends Task {
  goal: [number, number];
}

/** Upper arm and forearm lengths, m; the fingertip sits 0.01 m past the forearm's end. */
const UPPER = 0.1;
const FORE = 0.1;
const TIP = FORE + 0.01;
const GOAL_RADIUS = 0.2;
/** Height of the arm above the floor, m. */
const ARM_HEIGHT = 0.02;
const CTRL_COST = 0.1;
const Z: [number, number, number] = [0, 0, 1];

const ARM: robot.RobotDescription = {
  name: 'two-link-arm',
  root: 'fixed',
  density: 1000,
  friction: 0.8,
  groundFriction: 0.8,
  bodies: [
    { name: 'base', parent: null, pos: [0, 0, ARM_HEIGHT], geoms: [{ kind: 'box', pos: [0, 0, 0], halfExtents: [0.02, 0.02, 0.011], color: '#606060' }] },
    {
      name: 'upper',
      parent: 'base',
      pos: [0, 0, 0],
      joint: { name: 'shoulder', axis: Z, range: null, damping: 0.02, armature: 0.002 },
      geoms: [{ kind: 'capsule', from: [0, 0, 0], to: [UPPER, 0, 0], radius: 0.01, color: '#4070c0' }],
    },
    {
      name: 'fore',
      parent: 'upper',
      pos: [UPPER, 0, 0],
      joint: { name: 'elbow', axis: Z, range: [-3, 3], damping: 0.02, armature: 0.002 },
      geoms: [
        { kind: 'capsule', from: [0, 0, 0], to: [FORE, 0, 0], radius: 0.01, color: '#4070c0' },
        { kind: 'sphere', pos: [TIP, 0, 0], radius: 0.01, color: '#c04040' },
      ],
    },
  ],
  actuators: [
    { joint: 'shoulder', gear: 0.2 },
    { joint: 'elbow', gear: 0.2 },
  ],
};

const spec: EnvSpec = { obsSize: 8, actSize: 2, ...robot.unitActionSpec(2), horizon: 50, dt: 0.02, bodyCount: ARM.bodies.length };

const _tip = new Float64Array(2);

/** Fingertip position in the arm's plane (MuJoCo x, y) from the joint angles, m, into `out` (a shared scratch by default). */
export function fingertip(q0: number, q1: number, out: Float64Array = _tip): Float64Array {
  out[0] = UPPER * Math.cos(q0) + TIP * Math.cos(q0 + q1);
  out[1] = UPPER * Math.sin(q0) + TIP * Math.sin(q0 + q1);
  return out;
}

/** gym's reset: joint angles + U(−0.1, 0.1), rates + U(−0.005, 0.005). */
function resetPose(rng: Rng): robot.RobotPose {
  return {
    jointAngles: [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1)],
    jointVels: [rng.uniform(-0.005, 0.005), rng.uniform(-0.005, 0.005)],
  };
}

function observe(rw: robot.RobotWorld, out: Float32Array): void {
  const q0 = rw.jointPos[0], q1 = rw.jointPos[1];
  const tip = fingertip(q0, q1);
  out[0] = Math.cos(q0); out[1] = Math.cos(q1);
  out[2] = Math.sin(q0); out[3] = Math.sin(q1);
  out[4] = rw.jointVel[0]; out[5] = rw.jointVel[1];
  out[6] = tip[0]; out[7] = tip[1];
}

function makeEnv(task: ReacherTask): Env {
  const [gx, gy] = task.goal;
  return new robot.RobotEnv({
    family: 'reacher-goal',
    robot: ARM,
    spec,
    substeps: 2,
    infoKeys: ['dist_reward', 'ctrl_cost', 'distance'],
    resetPose,
    observe,
    reward: ({ rw, action }, info) => {
      const tip = fingertip(rw.jointPos[0], rw.jointPos[1]);
      info.distance = Math.hypot(tip[0] - gx, tip[1] - gy);
      info.dist_reward = -info.distance;
      info.ctrl_cost = CTRL_COST * (action[0] * action[0] + action[1] * action[1]);
      return info.dist_reward - info.ctrl_cost;
    },
    // Markers are in the viewer's y-up world: MuJoCo (x, y, z) → (x, z, −y).
    markers: [{ kind: 'goal', position: [gx, ARM_HEIGHT, -gy], radius: 0.015, color: '#30a050' }],
    taskLabel: { goal: `(${gx.toFixed(2)}, ${gy.toFixed(2)}) m` },
  });
}

function sampleGoal(rng: Rng): [number, number] {
  for (;;) {
    const gx = rng.uniform(-GOAL_RADIUS, GOAL_RADIUS), gy = rng.uniform(-GOAL_RADIUS, GOAL_RADIUS);
    if (Math.hypot(gx, gy) < GOAL_RADIUS) return [gx, gy];
  }
}

export default defineTaskFamily<ReacherTask>({
  name: 'reacher-goal',
  description: 'A two-link planar arm on a fixed base reaching a random goal (gym Reacher, goal unobserved).',
  spec,
  taskRanges: { goal: `uniform in the disc of radius ${GOAL_RADIUS} m` },
  sampleTasks: (rng, n) => Array.from({ length: n }, () => ({ goal: sampleGoal(rng) })),
  makeEnv,
});

/**
 * cartpole-params — balance a pole on a cart whose pole mass and length change from
 * task to task (dynamics randomisation: the agent must adapt its balancing gains).
 *
 * A user's env file: it uses only metarl's public API. In your own project write
 * `import { defineTaskFamily, robot } from 'metarl'`; this file sits inside metarl's
 * repository, so it imports the same API from '../src/index.js' (tests run from source).
 *
 * The robot builder has hinges only, no prismatic (slider) joint, so the cart is a
 * wheeled one: a planar box on two ball wheels, the rear wheel driven, rolling on the
 * floor; the pole hangs on an unactuated hinge at the cart's top. Wheel torque / wheel
 * radius is the push of a classic cart-pole.
 *
 * Task: { poleMass, poleLength } with poleMass ~ U[0.05, 0.5] kg and poleLength ~
 * U[0.3, 1.0] m (gym CartPole: 0.1 kg, 1 m). The task is not observed.
 *
 * Actions (clipped to [-1, 1], torque = gear · a, N·m):
 *   0 rear wheel 0.4 (≈ 8 N of push at the 0.05 m wheel radius)
 *
 * Observation (4 floats, gym CartPole's):
 *   0 cart x (m) | 1 pole angle from vertical (rad, + leans forward) | 2 cart vx (m/s) | 3 pole rate (rad/s)
 *
 * Reward per step: 1 while balanced (gym CartPole). info: alive = 1, pole_angle (rad).
 * Termination: |pole angle| > 0.21 rad (12°) or |x| > 2.4 m. Horizon H = 200 steps,
 * dt = 0.02 s (4 world steps of 0.005 s).
 */
import { defineTaskFamily, robot, type Env, type EnvSpec, type Rng, type Task } from '../src/index.js';

export interface CartpoleTask extends Task {
  poleMass: number;
  poleLength: number;
}

const MASS_RANGE: [number, number] = [0.05, 0.5];
const LENGTH_RANGE: [number, number] = [0.3, 1.0];
const WHEEL_RADIUS = 0.05;
const POLE_RADIUS = 0.015;
const DENSITY = 1000;
const CART_MASS = 1;
const CART_HALF: [number, number, number] = [0.2, 0.06, 0.04];
const MAX_ANGLE = 0.21;
const MAX_X = 2.4;
const Y: [number, number, number] = [0, 1, 0];

/** The cart-pole for one task: the pole's length is geometry, its mass a `massScale` on the pole. */
export function cartpoleRobot(task: CartpoleTask): robot.RobotDescription {
  const poleVolume = Math.PI * POLE_RADIUS ** 2 * task.poleLength + (4 / 3) * Math.PI * POLE_RADIUS ** 3;
  const cartVolume = 8 * CART_HALF[0] * CART_HALF[1] * CART_HALF[2];
  const wheel = (name: string, x: number): robot.BodyDescription => ({
    name,
    parent: 'cart',
    pos: [x, 0, -CART_HALF[2] - 0.01],
    joint: { name, axis: Y, range: null, damping: 0.001 },
    geoms: [{ kind: 'sphere', pos: [0, 0, 0], radius: WHEEL_RADIUS, color: '#303030' }],
    massScale: 0.2,
  });
  return {
    name: 'cartpole',
    root: 'planar',
    density: DENSITY,
    friction: 1,
    groundFriction: 1,
    bodies: [
      {
        name: 'cart',
        parent: null,
        pos: [0, 0, WHEEL_RADIUS + CART_HALF[2] + 0.01],
        geoms: [{ kind: 'box', pos: [0, 0, 0], halfExtents: CART_HALF, color: '#4070c0' }],
        massScale: CART_MASS / (DENSITY * cartVolume),
      },
      wheel('rear_wheel', -0.14),
      wheel('front_wheel', 0.14),
      {
        name: 'pole',
        parent: 'cart',
        pos: [0, 0, CART_HALF[2]],
        joint: { name: 'hinge', axis: Y, range: null, damping: 0.001 },
        geoms: [{ kind: 'capsule', from: [0, 0, 0], to: [0, 0, task.poleLength], radius: POLE_RADIUS, color: '#d08040' }],
        massScale: task.poleMass / (DENSITY * poleVolume),
      },
    ],
    actuators: [{ joint: 'rear_wheel', gear: 0.4 }],
  };
}

const spec: EnvSpec = { obsSize: 4, actSize: 1, ...robot.unitActionSpec(1), horizon: 200, dt: 0.02, bodyCount: 4 };
const POLE_JOINT = 2; // joints follow the bodies after the root: rear wheel, front wheel, pole
const _root = new Float64Array(6);

/** gym CartPole's reset: every state variable U(−0.05, 0.05); the wheels start still. */
function resetPose(rng: Rng, rw: robot.RobotWorld): robot.RobotPose {
  const x = rng.uniform(-0.05, 0.05), theta = rng.uniform(-0.05, 0.05);
  const vx = rng.uniform(-0.05, 0.05), omega = rng.uniform(-0.05, 0.05);
  const base = rw.description.bodies[0].pos;
  return {
    rootPos: [base[0] + x, base[2], 0],
    rootLinvel: [vx, 0, 0],
    jointAngles: [0, 0, theta],
    jointVels: [-vx / WHEEL_RADIUS, -vx / WHEEL_RADIUS, omega],
  };
}

/** Pole angle from vertical: the cart's pitch plus the hinge angle (MuJoCo's sign about y). */
function observe(rw: robot.RobotWorld, out: Float32Array): void {
  robot.planarRoot(rw, _root);
  out[0] = _root[0];
  out[1] = _root[2] + rw.jointPos[POLE_JOINT];
  out[2] = _root[3];
  out[3] = _root[5] + rw.jointVel[POLE_JOINT];
}

function makeEnv(task: CartpoleTask): Env {
  const obs = new Float32Array(4);
  return new robot.RobotEnv({
    family: 'cartpole-params',
    robot: cartpoleRobot(task),
    spec,
    substeps: 4,
    infoKeys: ['alive', 'pole_angle'],
    resetPose,
    observe,
    reward: ({ rw }, info) => {
      observe(rw, obs);
      info.alive = 1;
      info.pole_angle = obs[1];
      return 1;
    },
    terminated: ({ rw }) => {
      observe(rw, obs);
      return Math.abs(obs[1]) > MAX_ANGLE || Math.abs(obs[0]) > MAX_X;
    },
    taskLabel: { 'pole mass (kg)': Number(task.poleMass.toFixed(3)), 'pole length (m)': Number(task.poleLength.toFixed(2)) },
  });
}

export default defineTaskFamily<CartpoleTask>({
  name: 'cartpole-params',
  description: 'A wheeled cart balancing a pole of random mass and length (cart-pole with dynamics randomisation).',
  spec,
  taskRanges: { 'pole mass (kg)': `U[${MASS_RANGE.join(', ')}]`, 'pole length (m)': `U[${LENGTH_RANGE.join(', ')}]` },
  sampleTasks: (rng, n) =>
    Array.from({ length: n }, () => ({ poleMass: rng.uniform(...MASS_RANGE), poleLength: rng.uniform(...LENGTH_RANGE) })),
  makeEnv,
});

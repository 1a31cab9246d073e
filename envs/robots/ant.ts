/**
 * The ant of gym / MuJoCo (`anchors/models/ant.xml`) as plain data, in MuJoCo's z-up
 * coordinates; `src/physics` maps it to the y-up world ((x, y, z) → (x, z, −y)).
 *
 * A torso sphere with four two-segment legs at the diagonals. Each leg: a hip hinge
 * about the vertical (swings the leg in the ground plane, ±30°) and an ankle hinge
 * about the horizontal normal of the leg (lifts and lowers the foot, 30–70°).
 *
 * Where this differs from the XML:
 * - The XML's `*_leg` bodies (e.g. `front_left_leg`) hang on the torso with no joint;
 *   their `aux_*_geom` capsules are merged into the torso body here, which is the
 *   same rigid body.
 * - Joint damping 1 and armature 1 are the XML's defaults, modelled in joint space
 *   (the builder's 'joint' model). Armature as extra body inertia (its 'body' model)
 *   blew this robot up: its legs weigh 0.04–0.07 kg, and the gear-150 reaction lands on
 *   a 0.48 kg torso. Measurements in ant-env.ts.
 * - Density 5 kg/m³ is the XML's (the gym ant weighs 0.91 kg), not MuJoCo's 1000.
 */
import type { ActuatorDescription, BodyDescription, RobotDescription } from '../../src/physics/robot.js';
import type { Vec3 } from '../../src/core/scene.js';

const DEG = Math.PI / 180;
const RADIUS = 0.08;
/** The XML's joint defaults (`<default><joint armature="1" damping="1"/>`). */
const JOINT = { damping: 1, armature: 1 } as const;

/** Leg names in the XML's numbering (hip_1/ankle_1 … hip_4/ankle_4). */
const LEGS = [
  // n, direction in the ground plane (x, y), ankle axis, ankle range (degrees)
  { n: 1, dir: [1, 1], ankleAxis: [-1, 1, 0], ankle: [30, 70] },
  { n: 2, dir: [-1, 1], ankleAxis: [1, 1, 0], ankle: [-70, -30] },
  { n: 3, dir: [-1, -1], ankleAxis: [-1, 1, 0], ankle: [-70, -30] },
  { n: 4, dir: [1, -1], ankleAxis: [1, 1, 0], ankle: [30, 70] },
] as const;

/** Torso origin height at MuJoCo's `init_qpos` pose (the XML's `<custom>` numeric), m. */
export const ANT_INIT_HEIGHT = 0.55;

/**
 * Joint angles of the resting pose, by joint name, radians: the XML's `init_qpos`
 * (hips 0, ankles ±1 rad ≈ ±57°, inside their ranges). The XML body pose itself has
 * the ankles at 0, outside their 30–70° range.
 */
export const ANT_INIT_JOINTS: Readonly<Record<string, number>> = Object.freeze({
  hip_1: 0, ankle_1: 1, hip_2: 0, ankle_2: -1, hip_3: 0, ankle_3: -1, hip_4: 0, ankle_4: 1,
});

function legBodies(leg: (typeof LEGS)[number]): BodyDescription[] {
  const [dx, dy] = leg.dir;
  const seg = (k: number): Vec3 => [k * dx, k * dy, 0];
  return [
    {
      name: `aux_${leg.n}`,
      parent: 'torso',
      pos: seg(0.2),
      geoms: [{ kind: 'capsule', from: [0, 0, 0], to: seg(0.2), radius: RADIUS }],
      joint: { name: `hip_${leg.n}`, axis: [0, 0, 1], range: [-30 * DEG, 30 * DEG], ...JOINT },
    },
    {
      name: `ankle_${leg.n}_body`,
      parent: `aux_${leg.n}`,
      pos: seg(0.2),
      geoms: [{ kind: 'capsule', from: [0, 0, 0], to: seg(0.4), radius: RADIUS }],
      joint: { name: `ankle_${leg.n}`, axis: [...leg.ankleAxis], range: [leg.ankle[0] * DEG, leg.ankle[1] * DEG], ...JOINT },
    },
  ];
}

/** Action order of the XML's `<actuator>` list: leg 4, then 1, 2, 3; hip before ankle. */
const ACTUATOR_ORDER = [4, 1, 2, 3] as const;
export const ANT_GEAR = 150;

/** Build a fresh copy, so a family may edit it (gear, pose) without touching others. */
export function antDescription(): RobotDescription {
  const actuators: ActuatorDescription[] = ACTUATOR_ORDER.flatMap((n) => [
    { joint: `hip_${n}`, gear: ANT_GEAR },
    { joint: `ankle_${n}`, gear: ANT_GEAR },
  ]);
  return {
    name: 'ant',
    root: 'free',
    bodies: [
      {
        name: 'torso',
        parent: null,
        pos: [0, 0, 0.75],
        geoms: [
          { kind: 'sphere', pos: [0, 0, 0], radius: 0.25 },
          // The XML's front_left_leg … right_back_leg bodies: fixed to the torso.
          ...LEGS.map((leg) => ({ kind: 'capsule' as const, from: [0, 0, 0] as Vec3, to: [0.2 * leg.dir[0], 0.2 * leg.dir[1], 0] as Vec3, radius: RADIUS })),
        ],
      },
      ...LEGS.flatMap(legBodies),
    ],
    actuators,
    density: 5,
    friction: 1,
    groundFriction: 1,
    color: '#cc9966',
    armature: 'joint',
  };
}

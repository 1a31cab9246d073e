/**
 * The `robot` namespace of the public API: what a custom family uses to describe a
 * robot, build it into a Rapier world, give it ground or terrain, and wrap it as an Env.
 */
export { RobotEnv, unitActionSpec } from './physics/robot-env.js';
export type { RobotEnvConfig, StepContext } from './physics/robot-env.js';
export { RobotWorld, buildRobot } from './physics/build.js';
export type { BuildOptions, RobotPose } from './physics/build.js';
export { capsuleAxisAngle } from './physics/robot.js';
export type { ActuatorDescription, BodyDescription, GeomDescription, JointDescription, RobotDescription } from './physics/robot.js';
export { flatGround } from './physics/ground.js';
export type { GroundDescription } from './physics/ground.js';
export { generateTerrain, Terrain, TERRAIN_TYPES } from './physics/terrain.js';
export type { TerrainTask, TerrainType, TerrainOptions } from './physics/terrain.js';
export { planarRoot, planarResetPose, observePlanar } from './physics/planar.js';
export { applyDynamicsTask, sampleDynamicsTask, nominalDynamicsTask } from './physics/dynamics.js';
export type { DynamicsTask } from './physics/dynamics.js';
export { RAPIER } from './physics/rapier.js';

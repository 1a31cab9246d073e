export { RAPIER, wasmMemoryBytes } from './rapier.js';
export { buildRobot, robotSceneBodies, RobotWorld } from './build.js';
export type { BuildOptions, RobotPose } from './build.js';
export { createGround, flatGround, groundHeightAt, GROUND_GROUPS, ROBOT_GROUPS } from './ground.js';
export type { GroundDescription } from './ground.js';
export { actuatedJoints, capsuleAxisAngle, capsuleQuat, geomVolume } from './robot.js';
export type { ActuatorDescription, BodyDescription, GeomDescription, JointDescription, RobotDescription } from './robot.js';
export { mjToWorld, mjQuatToWorld, quatFromAxisAngle } from './math.js';

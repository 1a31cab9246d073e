/**
 * metarl's public API: `import { defineTaskFamily, robot, train, evaluate, startViewer } from 'metarl'`.
 * Everything not listed here is internal and may change.
 */

// Task families: the contract a custom environment implements.
export { defineTaskFamily, isTaskFamily } from './core/define.js';
export { checkFamily, assertFamilyValid } from './core/check.js';
export type { CheckOptions, CheckResult } from './core/check.js';
export { Rng } from './core/rng.js';
export type { RngState } from './core/rng.js';
export { MetarlError, isMetarlError } from './core/errors.js';
export type { MetarlErrorCode } from './core/errors.js';
export { POSE_STRIDE } from './core/scene.js';
export type {
  HeightfieldDescription,
  MarkerDescription,
  PlaneDescription,
  Quat,
  SceneBody,
  SceneDescription,
  SceneShape,
  ShapeDescription,
  Vec3,
} from './core/scene.js';
export type { Env, EnvSpec, JsonValue, StepResult, Task, TaskFamily } from './core/types.js';
export type { AdaptationResult, AdaptedPolicy, AdaptOptions, IterationMetrics, LearnerState, MetaLearner } from './core/learner.js';
export { loadFamily } from './core/registry.js';
export type { FamilyRef } from './core/registry.js';

// The robot builder, terrains and the env base the built-in families use.
export * as robot from './robot.js';

// Training, evaluation, sampling.
export { train } from './train/train.js';
export type { TrainObserver, TrainOptions, TrainResult } from './train/train.js';
export { evaluate } from './train/evaluate.js';
export type { EvaluateRunOptions, EvaluateRunResult } from './train/evaluate.js';
export { openRun } from './train/open-run.js';
export type { OpenRun, OpenRunOptions } from './train/open-run.js';
export type { BaselineRow, BaselineRuns } from './train/baselines.js';
export type { StageSummary } from './train/adaptation-table.js';
export type { RunConfig, RunConfigInput } from './train/config.js';
export { createSampler } from './sampling/sampler.js';
export type { Batch, Belief, SampleHooks, SampleJob, Sampler, SamplerOptions, StepInput, VectorPolicy } from './sampling/types.js';
export { initBackend, releaseBackend } from './nn/backend.js';
export { builtinFamilies } from '../envs/index.js';
export { builtinAgents } from '../agents/index.js';

// The live viewer.
export { startViewer } from './stream/server.js';
export type { ViewerServer, ViewerServerOptions } from './stream/server.js';
export type { Publisher } from './stream/publisher.js';
export { viewerObserver } from './train/watch.js';
export type { WatchHooks } from '../agents/types.js';

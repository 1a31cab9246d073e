export { createSampler } from './sampler.js';
export type {
  Batch,
  Belief,
  FrameEvent,
  SampleHooks,
  SampleJob,
  Sampler,
  SamplerOptions,
  StepInput,
  VectorPolicy,
} from './types.js';

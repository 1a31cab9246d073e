export { createSampler } from './sampler.js';
export type {
  Batch,
  FrameEvent,
  SampleHooks,
  SampleJob,
  Sampler,
  SamplerOptions,
  StepInput,
  VectorPolicy,
} from './types.js';

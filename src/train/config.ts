import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MetarlError } from '../core/errors.js';
import { parseConfig } from '../core/parse-config.js';
import { withFileErrors } from './files.js';
import { assertSaneNumbers } from './flags.js';

export const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/** The run-level config; each agent's hyperparameters live in its own schema (agents/*.ts). */
export const runConfigSchema = z.strictObject({
  env: z.string().min(1).describe('task family: a built-in name (see `metarl envs`) or the path of a .ts/.js file'),
  agent: z.string().min(1).describe("meta-learner: 'maml', 'rl2' or 'pearl'"),
  iterations: z.number().int().positive().default(100).describe('meta-training iterations'),
  seed: z.number().int().nonnegative().default(1).describe('seed of every random draw in the run'),
  backend: z.enum(BACKENDS).default('auto').describe('TensorFlow.js backend'),
  workers: z.number().int().nonnegative().optional().describe('task worker threads, each sampling and learning on its share of the tasks (default: one per core; 0 = main thread)'),
  stepTimeout: z.number().min(0).max(2_000_000).default(60).describe('seconds one env call may take before the run stops with METARL_STEP_TIMEOUT (0 = no limit)'),
  workerMemoryMb: z.number().int().min(16).optional().describe("MB of JS heap each task worker may hold (default: a share of the machine's memory)"),
  out: z.string().min(1).describe('run directory'),
  checkpointEvery: z.number().int().positive().default(10).describe('iterations between checkpoints'),
  evalTasks: z.number().int().positive().default(40).describe('held-out tasks in the final adaptation table'),
  validateEvery: z.number().int().nonnegative().default(0).describe('iterations between adaptation checks on validation tasks, written to validation.jsonl (0 = none)'),
  validateTasks: z.number().int().positive().default(10).describe('validation tasks per check (their own draw, not the held-out tasks of the final table)'),
  agentConfig: z.record(z.string(), z.unknown()).default({}).describe("the agent's hyperparameters, validated by its schema"),
});

export type RunConfig = z.output<typeof runConfigSchema>;
export type RunConfigInput = z.input<typeof runConfigSchema>;


/** A `--config` file (run options and an "agentConfig" object), checked before any work. */
export function readConfigFile(path: string): Partial<RunConfigInput> {
  const text = withFileErrors('read --config', path, () => readFileSync(path, 'utf8'));
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new MetarlError('METARL_CONFIG_INVALID', `--config ${path} is not valid JSON: ${(err as Error).message}`, { path });
  }
  // Checked, not used: partial() still fills in every default, which would read as options the user set.
  parseConfig(runConfigSchema.partial(), value, `--config ${path}`);
  const input = value as Partial<RunConfigInput>;
  for (const [key, v] of Object.entries(input.agentConfig ?? {})) assertSaneNumbers(v, `agentConfig.${key} in --config ${path}`);
  return input;
}

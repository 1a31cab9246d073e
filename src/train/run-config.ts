import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetarlError } from '../core/errors.js';
import { parseConfig } from '../core/parse-config.js';
import { runConfigSchema, type RunConfig, type RunConfigInput } from './config.js';
import { assertRunEnvExists, storedEnv } from './families.js';
import { withFileErrors } from './files.js';

/**
 * The options a resumed run may change: how long it trains, how often it saves, how it
 * computes and within what limits, how often and how widely it checks its adaptation, and how
 * large its final table is; never what it learns
 * (env, agent, seed, hyperparameters), which would make the run two runs under one name.
 */
export const RESUMABLE_OPTIONS = ['iterations', 'checkpointEvery', 'evalTasks', 'validateEvery', 'validateTasks', 'workers', 'backend', 'stepTimeout', 'workerMemoryMb'] as const;

/** The config of a new run, or of the run in `resume` with the options that may change applied. */
export function resolveRunConfig(options: Partial<RunConfigInput>, resume?: string): RunConfig {
  const given = Object.fromEntries(
    Object.keys(runConfigSchema.shape)
      .filter((key) => options[key as keyof RunConfigInput] !== undefined)
      .map((key) => [key, options[key as keyof RunConfigInput]]),
  ) as Partial<RunConfigInput>;
  if (resume) return resumedConfig(given, resume);
  const out = given.out ?? join('runs', `${given.env ?? 'run'}-${given.agent ?? ''}-${timestamp()}`.replace(/[^\w.-]+/g, '_'));
  return parseConfig(runConfigSchema, { ...given, env: given.env && storedEnv(given.env), out }, 'run config');
}

function resumedConfig(given: Partial<RunConfigInput>, runDir: string): RunConfig {
  const fixed = Object.keys(given).filter((key) => !(RESUMABLE_OPTIONS as readonly string[]).includes(key));
  if (fixed.length > 0) {
    throw new MetarlError(
      'METARL_CONFIG_INVALID',
      `resuming ${runDir} cannot change ${fixed.join(', ')}: a resumed run keeps its own; only ${RESUMABLE_OPTIONS.join(', ')} may change. Start a new run in another directory instead`,
      { runDir, fixed },
    );
  }
  return readRunConfig(runDir, given);
}

/** The config a run directory was trained with, `overrides` applied; its env file must still be there. */
export function readRunConfig(runDir: string, overrides: Partial<RunConfigInput> = {}): RunConfig {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) {
    throw new MetarlError('METARL_CHECKPOINT_MISSING', `${runDir} is not a run directory: it has no config.json`, { runDir });
  }
  const text = withFileErrors('read', path, () => readFileSync(path, 'utf8'));
  let saved: unknown;
  try {
    saved = JSON.parse(text);
  } catch (err) {
    throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `${path} is not valid JSON: ${(err as Error).message}`, { runDir });
  }
  const config = parseConfig(runConfigSchema, { ...(saved as object), ...overrides, out: runDir }, `config of ${path}`);
  assertRunEnvExists(config.env, runDir);
  return config;
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

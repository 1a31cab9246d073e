import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { StageSummary } from './adaptation-table.js';
import type { RunConfig } from './config.js';
import { assertWritableFile, writeFileAtomic } from './files.js';
import { openRun } from './open-run.js';
import { evaluateLearner } from './train.js';

export interface EvaluateRunOptions {
  /** Held-out tasks (default 40). */
  tasks?: number;
  /** Where to write the table as JSON (default `<run>/eval.json`; false: nowhere). */
  out?: string | false;
  backend?: RunConfig['backend'];
}

export interface EvaluateRunResult {
  agent: string;
  family: string;
  iteration: number;
  adaptation: StageSummary[];
}

/** Loads a run's latest checkpoint and measures its return at each adaptation stage on held-out tasks. */
export async function evaluate(runDir: string, options: EvaluateRunOptions = {}): Promise<EvaluateRunResult> {
  const tasks = options.tasks ?? 40;
  const out = options.out === false ? null : (options.out ?? join(runDir, 'eval.json'));
  // Checked before the work, which can take minutes; openRun names a missing run directory better.
  if (out && (options.out || existsSync(runDir))) assertWritableFile(out);
  const run = await openRun(runDir, { backend: options.backend });
  try {
    const adaptation = await evaluateLearner(run.learner, run.family, run.config.seed, tasks);
    const result = { agent: run.config.agent, family: run.family.name, iteration: run.iteration, adaptation };
    if (out) writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } finally {
    await run.close();
  }
}

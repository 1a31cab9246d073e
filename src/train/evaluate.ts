import { dirname, join } from 'node:path';
import type { StageSummary } from './adaptation-table.js';
import { assertBaselineRuns, evaluateBaselines, type BaselineRow, type BaselineRuns } from './baselines.js';
import type { RunConfig } from './config.js';
import { assertWritableFile, makeDirectory, writeFileAtomic } from './files.js';
import { keptBaselines } from './kept-baselines.js';
import { openRun } from './open-run.js';
import { readRunConfig } from './run-config.js';
import { evaluateLearner } from './train.js';
import { outputDir, resolveRunDir } from './zoo.js';

export interface EvaluateRunOptions {
  /** Held-out tasks (default 40). */
  tasks?: number;
  /** Where to write the table as JSON (default `<run>/eval.json`, or `runs/zoo/<name>/eval.json` for a shipped run; false: nowhere). */
  out?: string | false;
  backend?: RunConfig['backend'];
  /** Seed of the held-out tasks and their rollouts (default the run's own, so tables reproduce). */
  seed?: number;
  /** Add the transfer-learning baselines: random init always, pretrained and oracle from these runs (`zoo/<name>` names a shipped one). */
  baselines?: BaselineRuns;
}

export interface EvaluateRunResult {
  agent: string;
  family: string;
  iteration: number;
  seed: number;
  tasks: number;
  adaptation: StageSummary[];
  baselines?: BaselineRow[];
}

/** Where `evaluate` writes a run's table unless told: `<run>/eval.json`, or `runs/zoo/<name>/eval.json` for a shipped run. */
export function defaultEvalPath(runDir: string): string {
  return join(outputDir(resolveRunDir(runDir)), 'eval.json');
}

/** Loads a run's latest checkpoint and measures its return at each adaptation stage on held-out tasks, and the baselines' beside it. */
export async function evaluate(runDir: string, options: EvaluateRunOptions = {}): Promise<EvaluateRunResult> {
  const dir = resolveRunDir(runDir);
  const tasks = options.tasks ?? 40;
  const out = options.out === false ? null : (options.out ?? defaultEvalPath(dir));
  // Everything that can be checked is checked before the work, which can take minutes: the run
  // first (naming a mistyped directory as such), then the baselines, then where the table goes.
  const config = readRunConfig(dir);
  if (options.baselines) assertBaselineRuns(options.baselines, config);
  if (out) {
    // A shipped run's folder under runs/zoo/ is made on first use.
    if (!options.out && outputDir(dir) !== dir) makeDirectory(dirname(out), 'the output folder of a shipped run');
    assertWritableFile(out);
  }
  const run = await openRun(dir, { backend: options.backend });
  const seed = options.seed ?? run.config.seed;
  let adaptation: StageSummary[];
  try {
    adaptation = await evaluateLearner(run.learner, run.family, seed, tasks);
  } finally {
    await run.close();
  }
  // After the run's own workers are gone (a baseline opens its own), on the run's backend.
  const backend = options.backend ?? (run.backend as RunConfig['backend']);
  const baselines = options.baselines
    ? await evaluateBaselines(dir, run.config, adaptation.length - 1, seed, tasks, options.baselines, backend)
    : out
      ? keptBaselines(out, { agent: run.config.agent, family: run.family.name, seed, tasks, stages: adaptation.length })
      : undefined;
  const result: EvaluateRunResult = { agent: run.config.agent, family: run.family.name, iteration: run.iteration, seed, tasks, adaptation, ...(baselines ? { baselines } : {}) };
  if (out) writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

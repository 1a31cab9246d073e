import { dirname, join } from 'node:path';
import type { StageSummary, TaskReturns } from './adaptation-table.js';
import { assertBaselineRuns, evaluateBaselines, type BaselineRow, type BaselineRuns } from './baselines.js';
import type { RunConfig } from './config.js';
import { assertWritableFile, makeDirectory, writeFileAtomic } from './files.js';
import { keptBaselines } from './kept-baselines.js';
import { openRun } from './open-run.js';
import { readRunConfig } from './run-config.js';
import { assertGroupKey, gainByTask, type TaskGroup } from './gain-by-task.js';
import { evaluateLearner, heldOutTasks } from './train.js';
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
  /** The iteration of the checkpoint to evaluate (default the newest); the table records it as `iteration`. */
  checkpoint?: number;
  /** Also cut the agent's gain by this task field (`type` for ant-terrain; a number with many values in quarters of the tasks): `groups`. */
  by?: string;
}

export interface EvaluateRunResult {
  agent: string;
  family: string;
  iteration: number;
  seed: number;
  tasks: number;
  adaptation: StageSummary[];
  baselines?: BaselineRow[];
  /** The agent's gain on each group of tasks sharing the `by` field's value. */
  groups?: { by: string; groups: TaskGroup[] };
  /** Each held-out task, as the family describes it, and the agent's return on it at each stage. */
  perTask: TaskReturns[];
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
  const run = await openRun(dir, { backend: options.backend, checkpoint: options.checkpoint });
  const seed = options.seed ?? run.config.seed;
  let evaluated: Awaited<ReturnType<typeof evaluateLearner>>;
  try {
    if (options.by !== undefined) assertGroupKey(heldOutTasks(run.family, seed, tasks), options.by, run.family.name);
    evaluated = await evaluateLearner(run.learner, run.family, seed, tasks);
  } finally {
    await run.close();
  }
  const { adaptation, perTask } = evaluated;
  // After the run's own workers are gone (a baseline opens its own), on the run's backend.
  const backend = options.backend ?? (run.backend as RunConfig['backend']);
  const baselines = options.baselines
    ? await evaluateBaselines(dir, run.config, adaptation.length - 1, seed, tasks, options.baselines, backend)
    : out
      ? keptBaselines(out, { agent: run.config.agent, family: run.family.name, seed, tasks, stages: adaptation.length })
      : undefined;
  const groups = options.by !== undefined ? { groups: { by: options.by, groups: gainByTask(perTask, options.by) } } : {};
  const result: EvaluateRunResult = { agent: run.config.agent, family: run.family.name, iteration: run.iteration, seed, tasks, adaptation, ...(baselines ? { baselines } : {}), ...groups, perTask };
  if (out) writeFileAtomic(out, `${JSON.stringify(result, null, 2)}\n`);
  return result;
}

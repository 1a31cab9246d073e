import type { MetaLearner } from '../core/learner.js';
import { Rng } from '../core/rng.js';
import type { Task, TaskFamily } from '../core/types.js';
import { summarizeAdaptation } from './adaptation-table.js';
import { SEEDS, seedFor } from './assemble.js';
import type { MetricsRow } from './metrics.js';

/**
 * The adaptation check a run makes every `--validate-every` iterations: the same measurement
 * as the final table (src/train/train.ts `evaluateLearner`) on tasks and rollouts of streams
 * of their own, so a checkpoint chosen by these figures was not chosen on the held-out tasks
 * the results are reported on. With one --validate-tasks the tasks are the same at every
 * check (a larger count adds tasks after the same first ones), so the row-to-row change is
 * the learner's, not the draw's.
 */
export async function validate(learner: MetaLearner, family: TaskFamily, seed: number, nTasks: number, iteration: number, wallSeconds: number): Promise<MetricsRow> {
  const tasks = validationTasks(family, seed, nTasks);
  const started = performance.now();
  // Unwatched: a viewer's lanes show training, and a check every few iterations would take them over.
  const stages = summarizeAdaptation(await learner.evaluate(tasks, { seed: seedFor(seed, SEEDS.validationRollouts), watch: false }));
  const row: MetricsRow = { iteration, tasks: nTasks };
  stages.forEach((s, i) => {
    row[`return${i}`] = s.mean;
    row[`stderr${i}`] = s.stderr;
    if (s.gain) {
      row[`gain${i}`] = s.gain.mean;
      row[`gainStderr${i}`] = s.gain.stderr;
    }
  });
  row.validateSeconds = (performance.now() - started) / 1000;
  row.wallSeconds = wallSeconds;
  return row;
}

/** The tasks every check of a run with this seed measures on. */
export function validationTasks(family: TaskFamily, seed: number, nTasks: number): Task[] {
  return family.sampleTasks(new Rng(seedFor(seed, SEEDS.validationTasks)), nTasks);
}

/**
 * The check as a log line, "validation at iteration 50 (10 tasks): episode 1 12.3 → episode 2 20.1
 * (gain +7.8 ± 1.2, 6.5 SE)", and a short form for a progress bar, "validation at 50: gain +7.8 ± 1.2, 6.5 SE".
 */
export function formatValidation(row: MetricsRow, stages: readonly string[]): { line: string; short: string } {
  const means = stages.map((stage, i) => `${stage} ${row[`return${i}`].toFixed(1)}`).join(' → ');
  const last = stages.length - 1;
  if (last === 0) return { line: `validation at iteration ${row.iteration} (${row.tasks} tasks): ${means}`, short: `validation at ${row.iteration}: ${means}` };
  const mean = row[`gain${last}`];
  const stderr = row[`gainStderr${last}`];
  const z = stderr > 0 ? `, ${(mean / stderr).toFixed(1)} SE` : '';
  const gain = `gain ${mean >= 0 ? '+' : '−'}${Math.abs(mean).toFixed(1)} ± ${stderr.toFixed(1)}${z}`;
  return { line: `validation at iteration ${row.iteration} (${row.tasks} tasks): ${means} (${gain})`, short: `validation at ${row.iteration}: ${gain}` };
}

import type { MetaLearner } from '../core/learner.js';
import type { TaskFamily } from '../core/types.js';
import type { MetricsRow } from './metrics.js';
import { evaluateLearner } from './train.js';

/**
 * The adaptation check a run makes every `--validate-every` iterations: the final table's
 * measurement (`evaluateLearner`) on the validation tasks, which are not the held-out tasks
 * the results are reported on. With one --validate-tasks the tasks are the same at every
 * check (a larger count adds tasks after the same first ones), so the row-to-row change is
 * the learner's, not the draw's.
 */
export async function validate(learner: MetaLearner, family: TaskFamily, seed: number, nTasks: number, iteration: number, wallSeconds: number): Promise<MetricsRow> {
  const started = performance.now();
  const { adaptation } = await evaluateLearner(learner, family, seed, nTasks, { set: 'validation' });
  const row: MetricsRow = { iteration, tasks: nTasks };
  adaptation.forEach((s, i) => {
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

import type { AdaptationResult } from '../core/learner.js';
import type { Task } from '../core/types.js';

export interface StageSummary {
  stage: string;
  mean: number;
  stderr: number;
  tasks: number;
  /**
   * After the first stage: the per-task gain over the first stage (this stage's return minus the
   * first's on the same task), mean ± stderr. Paired, so it is the figure that says whether
   * adaptation helped: the tasks' own spread cancels out of it.
   */
  gain?: { mean: number; stderr: number };
}

/** One held-out task and its return at each adaptation stage: what the means are taken over, kept so a table can be cut by task. */
export interface TaskReturns {
  task: Task;
  returns: number[];
}

/** The evaluation's returns regrouped by task: `returns[stage][task]` → one row per task. */
export function perTaskReturns(tasks: readonly Task[], result: AdaptationResult): TaskReturns[] {
  return tasks.map((task, t) => ({ task, returns: result.returns.map((stage) => stage[t]) }));
}

/** Mean ± standard error over tasks, per adaptation stage, and each later stage's paired gain over the first. */
export function summarizeAdaptation(result: AdaptationResult): StageSummary[] {
  const first = result.returns[0];
  return result.stages.map((stage, i) => {
    const xs = result.returns[i];
    const row: StageSummary = { stage, ...meanStderr(xs), tasks: xs.length };
    if (i > 0) row.gain = meanStderr(xs.map((x, t) => x - first[t]));
    return row;
  });
}

export function meanStderr(xs: readonly number[]): { mean: number; stderr: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, stderr: Math.sqrt(variance / n) };
}

/** "step 1 − pre: +26.8 ± 3.1 (8.6 standard errors)", one line per later stage. */
export function formatGains(rows: StageSummary[]): string {
  return rows
    .filter((r) => r.gain)
    .map((r) => {
      const { mean, stderr } = r.gain!;
      const sign = mean >= 0 ? '+' : '−';
      const z = stderr > 0 ? ` (${(mean / stderr).toFixed(1)} standard errors)` : '';
      return `${r.stage} − ${rows[0].stage}: ${sign}${Math.abs(mean).toFixed(2)} ± ${stderr.toFixed(2)} per task${z}`;
    })
    .join('\n');
}

export function formatAdaptationTable(rows: StageSummary[]): string {
  const lines = ['| stage | mean return | ± stderr | tasks |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.stage} | ${r.mean.toFixed(2)} | ${r.stderr.toFixed(2)} | ${r.tasks} |`);
  return lines.join('\n');
}

/**
 * One row per policy (the run, then its baselines), one column per adaptation stage, headed by
 * the run's stage names (a baseline's k-th fine-tuning step sits under the run's k-th stage),
 * then each row's paired gain of its last stage over its first.
 */
export function formatComparisonTable(rows: Array<{ label: string; adaptation: StageSummary[] }>): string {
  const stages = rows[0]?.adaptation.map((s) => s.stage) ?? [];
  const cell = (x: { mean: number; stderr: number }) => `${x.mean.toFixed(2)} ± ${x.stderr.toFixed(2)}`;
  const gain = (row: StageSummary[]) => {
    const last = row[row.length - 1]?.gain;
    return last ? `${last.mean >= 0 ? '+' : ''}${cell(last)}` : '—';
  };
  const lines = [`| policy | ${stages.join(' | ')} | gain |`, `|---|${stages.map(() => '---').join('|')}|---|`];
  for (const row of rows) lines.push(`| ${row.label} | ${row.adaptation.map(cell).join(' | ')} | ${gain(row.adaptation)} |`);
  return lines.join('\n');
}

import type { AdaptationResult } from '../core/learner.js';

export interface StageSummary {
  stage: string;
  mean: number;
  stderr: number;
  tasks: number;
}

/** Mean ± standard error over tasks, per adaptation stage. */
export function summarizeAdaptation(result: AdaptationResult): StageSummary[] {
  return result.stages.map((stage, i) => {
    const xs = result.returns[i];
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const variance = n > 1 ? xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
    return { stage, mean, stderr: Math.sqrt(variance / n), tasks: n };
  });
}

export function formatAdaptationTable(rows: StageSummary[]): string {
  const lines = ['| stage | mean return | ± stderr | tasks |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.stage} | ${r.mean.toFixed(2)} | ${r.stderr.toFixed(2)} | ${r.tasks} |`);
  return lines.join('\n');
}

/**
 * One row per policy (the run, then its baselines), one column per adaptation stage, headed by
 * the run's stage names: a baseline's k-th fine-tuning step sits under the run's k-th stage.
 */
export function formatComparisonTable(rows: Array<{ label: string; adaptation: StageSummary[] }>): string {
  const stages = rows[0]?.adaptation.map((s) => s.stage) ?? [];
  const lines = [`| policy | ${stages.join(' | ')} |`, `|---|${stages.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${row.label} | ${row.adaptation.map((s) => `${s.mean.toFixed(2)} ± ${s.stderr.toFixed(2)}`).join(' | ')} |`);
  return lines.join('\n');
}

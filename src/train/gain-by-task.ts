import { MetarlError } from '../core/errors.js';
import type { Task } from '../core/types.js';
import { meanStderr, type TaskReturns } from './adaptation-table.js';

/** The held-out tasks that share a value of one task field, and what adaptation gained on them. */
export interface TaskGroup {
  /** The field's value, or for a number with many values the range of one quarter of the tasks, `[lo, hi]`. */
  group: string;
  tasks: number;
  /** Mean return at each adaptation stage over the group's tasks. */
  means: number[];
  /** The last stage's paired gain over the first, mean ± stderr over the group's tasks. */
  gain: { mean: number; stderr: number };
}

/** Numbers with more distinct values than this are cut into quarters of the tasks rather than one group per value. */
const MAX_NUMERIC_GROUPS = 6;

/**
 * Fewer tasks than this and a group's gain is not put in standard errors: from two or three
 * tasks the stderr is itself a guess, and "+5.6 SE" from two of them reads as a finding.
 */
const MIN_TASKS_FOR_SE = 5;

/**
 * Checks that every task has `key` as a string, boolean or number, before minutes of evaluation
 * are spent on a table that cannot be cut by it; the error lists the fields that can.
 */
export function assertGroupKey(tasks: readonly Task[], key: string, family: string): void {
  const scalar = (task: Task, k: string) => ['string', 'number', 'boolean'].includes(typeof task[k]);
  if (tasks.every((task) => scalar(task, key))) return;
  const usable = Object.keys(tasks[0] ?? {}).filter((k) => tasks.every((task) => scalar(task, k)));
  const reason = tasks.some((task) => key in task) ? `is not a string, number or boolean in every task` : 'is not a field of its tasks';
  throw new MetarlError('METARL_CONFIG_INVALID', `--by ${key}: "${key}" ${reason} of ${family}; group by one of: ${usable.join(', ') || '(none: its tasks have no scalar field)'}`);
}

/** Adaptation's gain on each group of held-out tasks sharing `task[key]` (see TaskGroup), in the order of the key's values. */
export function gainByTask(perTask: readonly TaskReturns[], key: string): TaskGroup[] {
  const values = perTask.map((r) => r.task[key]);
  const distinct = [...new Set(values.map(String))];
  const numeric = values.every((v) => typeof v === 'number');
  const groups = new Map<string, TaskReturns[]>();
  if (numeric && distinct.length > MAX_NUMERIC_GROUPS) {
    const sorted = [...perTask].sort((a, b) => (a.task[key] as number) - (b.task[key] as number));
    for (let q = 0; q < 4; q++) {
      const part = sorted.slice(Math.round((q * sorted.length) / 4), Math.round(((q + 1) * sorted.length) / 4));
      if (part.length === 0) continue;
      const range = `[${fixed(part[0].task[key] as number)}, ${fixed(part[part.length - 1].task[key] as number)}]`;
      groups.set(range, part);
    }
  } else {
    const order = numeric ? distinct.sort((a, b) => Number(a) - Number(b)) : distinct.sort();
    for (const value of order) groups.set(value, perTask.filter((r) => String(r.task[key]) === value));
  }
  return [...groups].map(([group, rows]) => {
    const stages = rows[0].returns.length;
    const means = Array.from({ length: stages }, (_, s) => meanStderr(rows.map((r) => r.returns[s])).mean);
    return { group, tasks: rows.length, means, gain: meanStderr(rows.map((r) => r.returns[stages - 1] - r.returns[0])) };
  });
}

function fixed(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/** A markdown table: one row per group, its mean return per stage and its gain (last stage − first; in standard errors from MIN_TASKS_FOR_SE tasks). */
export function formatGainByTask(key: string, stages: readonly string[], groups: readonly TaskGroup[]): string {
  const lines = [`| ${key} | tasks | ${stages.join(' | ')} | gain |`, `|---|---|${stages.map(() => '---').join('|')}|---|`];
  for (const g of groups) {
    const { mean, stderr } = g.gain;
    const sign = mean >= 0 ? '+' : '−';
    const z = stderr > 0 && g.tasks >= MIN_TASKS_FOR_SE ? ` (${sign}${(Math.abs(mean) / stderr).toFixed(1)} SE)` : '';
    lines.push(`| ${g.group} | ${g.tasks} | ${g.means.map((m) => m.toFixed(2)).join(' | ')} | ${sign}${Math.abs(mean).toFixed(2)} ± ${stderr.toFixed(2)}${z} |`);
  }
  return lines.join('\n');
}

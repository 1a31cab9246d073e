import { existsSync, readFileSync } from 'node:fs';
import type { BaselineRow } from './baselines.js';

/**
 * The baseline rows of the table already at `path`, when they were measured on the same
 * held-out tasks (seed and count) over as many stages, for the same agent and family: a baseline does not depend on the
 * run's checkpoint, so a new table of the agent's own row (the end of `train`, or `eval`
 * without `--baselines`) keeps them instead of dropping minutes of work. Anything else,
 * a missing or unreadable file included, keeps nothing.
 */
export function keptBaselines(path: string, of: { agent: string; family: string; seed: number; tasks: number; stages: number }): BaselineRow[] | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const table = JSON.parse(readFileSync(path, 'utf8')) as { agent?: unknown; family?: unknown; seed?: unknown; tasks?: unknown; baselines?: unknown };
    // The random-init row is the agent's own untrained policy: a table of another agent or family is another experiment.
    if (table.agent !== of.agent || table.family !== of.family || table.seed !== of.seed || table.tasks !== of.tasks || !Array.isArray(table.baselines)) return undefined;
    const rows = table.baselines as BaselineRow[];
    return rows.length > 0 && rows.every((r) => Array.isArray(r?.adaptation) && r.adaptation.length === of.stages) ? rows : undefined;
  } catch {
    return undefined;
  }
}

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetarlError } from '../core/errors.js';
import type { MetricsRow as WireMetricsRow } from '../stream/protocol.js';
import { withFileErrors, writeFileAtomic } from './files.js';

export type MetricsRow = Record<string, number>;

/** A run's two tables: training figures per iteration, and the periodic adaptation checks (src/train/validation.ts). */
export type MetricsFile = 'metrics' | 'validation';

/**
 * Appends rows to `<name>.jsonl` and `<name>.csv` (`metrics`: one per iteration; `validation`:
 * one per check). The CSV's columns are fixed by the first row; on resume, rows past the
 * checkpoint are cut so the files read as one uninterrupted run.
 */
export class MetricsWriter {
  private readonly jsonlPath: string;
  private readonly csvPath: string;
  private columns: string[] | null = null;

  /**
   * `resumeAfter`: the checkpoint's iteration, when resuming. `log` hears of rows up to it that
   * were lost before the resume (it cannot recreate them); give it only for a file with a row
   * every iteration.
   */
  constructor(runDir: string, options: { resumeAfter?: number; log?: (line: string) => void; name?: MetricsFile } = {}) {
    const { resumeAfter: resumeAfterIteration, log, name = 'metrics' } = options;
    this.jsonlPath = join(runDir, `${name}.jsonl`);
    this.csvPath = join(runDir, `${name}.csv`);
    const kept = resumeAfterIteration === undefined ? [] : readMetrics(runDir, name).filter((row) => row.iteration <= resumeAfterIteration);
    if (log) {
      const present = new Set(kept.map((row) => row.iteration));
      const lost = Array.from({ length: resumeAfterIteration ?? 0 }, (_, i) => i + 1).filter((it) => !present.has(it));
      if (lost.length > 0) log(`warning: ${this.jsonlPath} has no rows for iteration(s) ${lost.join(', ')}; they were lost before this resume`);
    }
    if (kept.length > 0) this.columns = Object.keys(kept[0]);
    // Whole-file rewrites through temporary files: a disk still full on resume must not lose the rows kept.
    writeFileAtomic(this.jsonlPath, kept.map((row) => `${JSON.stringify(row)}\n`).join(''));
    writeFileAtomic(this.csvPath, this.columns ? [this.columns.join(','), ...kept.map((row) => this.csvLine(row))].map((l) => `${l}\n`).join('') : '');
  }

  write(row: MetricsRow): void {
    withFileErrors('write', this.jsonlPath, () => appendFileSync(this.jsonlPath, `${JSON.stringify(row)}\n`));
    const header = this.columns ? '' : `${(this.columns = Object.keys(row)).join(',')}\n`;
    withFileErrors('write', this.csvPath, () => appendFileSync(this.csvPath, `${header}${this.csvLine(row)}\n`));
  }

  private csvLine(row: MetricsRow): string {
    return this.columns!.map((c) => formatCell(row[c])).join(',');
  }
}

function formatCell(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '' : String(value);
}

/**
 * The rows of `<name>.jsonl` (default `metrics.jsonl`). A write cut short (a full disk, a kill) leaves a last line
 * without its newline that does not parse: that row never completed and is dropped. A
 * bad line anywhere else is damage, reported with its line number.
 */
export function readMetrics(runDir: string, name: MetricsFile = 'metrics'): MetricsRow[] {
  const path = join(runDir, `${name}.jsonl`);
  if (!existsSync(path)) return [];
  const lines = withFileErrors('read', path, () => readFileSync(path, 'utf8')).split('\n');
  const tail = parseRow(lines.pop()!);
  const rows = lines.flatMap((line, i) => {
    if (!line.trim()) return [];
    const row = parseRow(line);
    if (!row) throw new MetarlError('METARL_FILE_ERROR', `${path} line ${i + 1} is not a JSON row: repair or delete that line`, { path, line: i + 1 });
    return [row];
  });
  return tail ? [...rows, tail] : rows;
}

function parseRow(line: string): MetricsRow | undefined {
  try {
    return JSON.parse(line) as MetricsRow;
  } catch {
    return undefined;
  }
}

/** A metrics row as the viewer's wire carries it (returns per stage, other figures by name), with the check of `validation.jsonl` made at its iteration. */
export function wireMetricsRow(row: MetricsRow, stages: number, check?: MetricsRow): WireMetricsRow {
  const wire: WireMetricsRow = {
    iteration: row.iteration,
    stageReturns: Array.from({ length: stages }, (_, s) => row[`return${s}`]),
    values: Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'iteration' && !/^return\d+$/.test(k))),
  };
  if (check) {
    wire.validation = {
      returns: Array.from({ length: stages }, (_, s) => check[`return${s}`]),
      stderr: Array.from({ length: stages }, (_, s) => check[`stderr${s}`]),
      tasks: check.tasks,
    };
  }
  return wire;
}

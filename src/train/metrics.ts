import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type MetricsRow = Record<string, number>;

/**
 * Appends one row per iteration to `metrics.jsonl` and `metrics.csv`. The CSV's
 * columns are fixed by the first row; on resume, rows past the checkpoint are cut so
 * the files read as one uninterrupted run.
 */
export class MetricsWriter {
  private readonly jsonlPath: string;
  private readonly csvPath: string;
  private columns: string[] | null = null;

  constructor(runDir: string, resumeAfterIteration?: number) {
    this.jsonlPath = join(runDir, 'metrics.jsonl');
    this.csvPath = join(runDir, 'metrics.csv');
    if (resumeAfterIteration === undefined) {
      writeFileSync(this.jsonlPath, '');
      writeFileSync(this.csvPath, '');
      return;
    }
    const kept = readMetrics(runDir).filter((row) => row.iteration <= resumeAfterIteration);
    writeFileSync(this.jsonlPath, '');
    writeFileSync(this.csvPath, '');
    for (const row of kept) this.write(row);
  }

  write(row: MetricsRow): void {
    appendFileSync(this.jsonlPath, `${JSON.stringify(row)}\n`);
    if (!this.columns) {
      this.columns = Object.keys(row);
      appendFileSync(this.csvPath, `${this.columns.join(',')}\n`);
    }
    appendFileSync(this.csvPath, `${this.columns.map((c) => formatCell(row[c])).join(',')}\n`);
  }
}

function formatCell(value: number | undefined): string {
  return value === undefined || Number.isNaN(value) ? '' : String(value);
}

export function readMetrics(runDir: string): MetricsRow[] {
  const path = join(runDir, 'metrics.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as MetricsRow);
}

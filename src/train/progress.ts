import cliProgress from 'cli-progress';
import type { PoolProgress } from '../workers/types.js';

export interface ProgressFigures {
  iteration: number;
  stageReturns: number[];
  stages: readonly string[];
  figures: Record<string, number>;
  stepsPerSecond: number;
}

/**
 * A progress bar with ETA and the key figures on a terminal; one plain line per
 * iteration when quiet or when stdout is not a terminal (logs, CI).
 */
export class Progress {
  private readonly bar: cliProgress.SingleBar | null;
  private readonly log: (line: string) => void;
  private readonly pool?: () => PoolProgress;
  private readonly ticker: ReturnType<typeof setInterval> | null = null;
  private last: { iteration: number; summary: string };
  private validation = '';

  /** `pool`: the task pool's counts (queue workers alive, shards done / in flight / retried), refreshed every second on a terminal. */
  constructor(total: number, start: number, options: { quiet?: boolean; log?: (line: string) => void; pool?: () => PoolProgress } = {}) {
    this.log = options.log ?? ((line) => console.log(line));
    this.pool = options.pool;
    this.last = { iteration: start, summary: 'sampling…' };
    const interactive = !options.quiet && process.stdout.isTTY === true;
    this.bar = interactive
      ? new cliProgress.SingleBar(
          { format: 'iter {value}/{total} [{bar}] eta {eta_formatted} | {summary}', hideCursor: true, clearOnComplete: false, etaBuffer: 10 },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bar?.start(total, start, { summary: this.withPool(this.last.summary) });
    if (this.bar && this.pool) {
      // Mid-iteration the bar still moves: shards finish, workers come and go.
      this.ticker = setInterval(() => this.bar!.update(this.last.iteration, { summary: this.withPool(this.last.summary) }), 1000);
      this.ticker.unref();
    }
  }

  update(p: ProgressFigures): void {
    this.last = { iteration: p.iteration, summary: summarize(p) };
    const summary = this.withPool(this.last.summary);
    if (this.bar) this.bar.update(p.iteration, { summary });
    else this.log(`iter ${p.iteration} | ${summary}`);
  }

  /**
   * An adaptation check (src/train/validation.ts): its own line in a log; on a terminal, where a
   * line would tear the bar, its short form rides at the end of the bar's figures until the next one.
   */
  validated(line: string, short: string): void {
    if (!this.bar) {
      this.log(line);
      return;
    }
    this.validation = ` | ${short}`;
    this.bar.update(this.last.iteration, { summary: this.withPool(this.last.summary) });
  }

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.bar?.stop();
  }

  private withPool(figures: string): string {
    const summary = `${figures}${this.validation}`;
    if (!this.pool) return summary;
    const q = this.pool();
    return `${summary} | ${q.workersAlive} worker${q.workersAlive === 1 ? '' : 's'}, shards ${q.done} done ${q.inFlight} in flight ${q.retried} retried`;
  }
}

function summarize(p: ProgressFigures): string {
  const returns = p.stages.map((s, i) => `${s} ${fmt(p.stageReturns[i])}`).join(' → ');
  const keys = ['kl', 'loss', 'surrogate', 'entropy'].filter((k) => k in p.figures);
  const figures = keys.map((k) => `${k} ${fmt(p.figures[k])}`).join(' ');
  return `return ${returns} | ${figures} | ${Math.round(p.stepsPerSecond)} steps/s`;
}

function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? x.toExponential(2) : x.toFixed(a < 1 ? 4 : 2);
}

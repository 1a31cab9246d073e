import cliProgress from 'cli-progress';

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

  constructor(total: number, start: number, options: { quiet?: boolean; log?: (line: string) => void } = {}) {
    this.log = options.log ?? ((line) => console.log(line));
    const interactive = !options.quiet && process.stdout.isTTY === true;
    this.bar = interactive
      ? new cliProgress.SingleBar(
          { format: 'iter {value}/{total} [{bar}] eta {eta_formatted} | {summary}', hideCursor: true, clearOnComplete: false, etaBuffer: 10 },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bar?.start(total, start, { summary: 'sampling…' });
  }

  update(p: ProgressFigures): void {
    const summary = summarize(p);
    if (this.bar) this.bar.update(p.iteration, { summary });
    else this.log(`iter ${p.iteration} | ${summary}`);
  }

  stop(): void {
    this.bar?.stop();
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

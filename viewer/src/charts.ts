/**
 * The two return curves, drawn with uPlot: the training curve (mean return at each
 * adaptation stage vs iteration, one series per stage) and the adaptation curve of the
 * evaluation on screen (return vs stage), beside the run's reference curves when it has
 * them (its held-out mean and the fine-tuning baselines, each mean ± stderr). Each
 * container carries `data-points`, the number of live points drawn, and the adaptation
 * chart `data-reference-points` too, the training chart `data-validation-points` (its checks on
 * validation tasks, `train --validate-every`), for tests and for anyone inspecting the page.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricsRow, ReferenceCurve, Stage } from '../../src/stream/protocol.js';

/** One colour per adaptation stage, shared with the lane labels. */
export const STAGE_COLORS = ['#8c8c8c', '#e8803a', '#2f8fd8', '#3aa55c', '#b05cc8', '#d8b52f', '#d84a6a', '#2fb8b0'];
export const stageColor = (s: number): string => STAGE_COLORS[s % STAGE_COLORS.length];

/** The live adaptation curve's gold, and lighter colours for the reference curves that it is read against. */
const LIVE_COLOR = '#f0c24a';
const REFERENCE_COLORS = ['#7fd3ff', '#ff8a80', '#c5a3ff', '#9be7a0', '#ffd180'];
const referenceColor = (i: number): string => REFERENCE_COLORS[i % REFERENCE_COLORS.length];

/** Small enough that both charts and the toolbar fit a 540 px tall window. */
const HEIGHT = 150;
/** Half-width of a whisker's caps, CSS pixels. */
const CAP_PX = 4;

const AXIS_STYLE = { stroke: '#c8d0da', grid: { stroke: 'rgba(255,255,255,0.08)' }, ticks: { stroke: 'rgba(255,255,255,0.15)' } };

interface DrawOptions {
  xLabel: string;
  xValues?: uPlot.Axis['values'];
  xSplits?: uPlot.Axis['splits'];
  legend: boolean;
  yRange?: uPlot.Range.Function;
  plugins?: uPlot.Plugin[];
}

abstract class Chart {
  protected plot: uPlot | null = null;
  /** The series labels the plot was made with: uPlot cannot relabel series, so other labels need a new plot. */
  private seriesKey = '';
  private readonly placeholder: Element | null;

  constructor(protected readonly el: HTMLElement) {
    el.dataset.points = '0';
    this.placeholder = el.querySelector('.empty');
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  protected width(): number {
    return Math.max(200, this.el.clientWidth);
  }

  protected draw(data: uPlot.AlignedData, series: uPlot.Series[], o: DrawOptions): void {
    const key = series.map((s) => s.label).join('\n');
    if (this.plot !== null && key === this.seriesKey) {
      this.plot.setData(data);
      return;
    }
    this.placeholder?.remove();
    this.plot?.destroy();
    this.seriesKey = key;
    this.plot = new uPlot(
      {
        width: this.width(),
        height: HEIGHT,
        series,
        legend: { show: o.legend, live: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false }, y: o.yRange === undefined ? {} : { range: o.yRange } },
        axes: [
          { label: o.xLabel, values: o.xValues, splits: o.xSplits, ...AXIS_STYLE },
          { label: 'return', ...AXIS_STYLE, size: 56 },
        ],
        plugins: o.plugins ?? [],
      },
      data,
      this.el,
    );
  }

  /** Nothing to draw: back to the placeholder text. */
  protected clear(): void {
    this.plot?.destroy();
    this.plot = null;
    this.seriesKey = '';
    if (this.placeholder !== null) this.el.append(this.placeholder);
    this.el.dataset.points = '0';
  }
}

export class TrainingChart extends Chart {
  private rows: MetricsRow[] = [];

  /** `label(s)` names adaptation stage s (it depends on the agent). */
  constructor(
    el: HTMLElement,
    private readonly label: (s: number) => string,
  ) {
    super(el);
    el.dataset.validationPoints = '0';
  }

  add(rows: MetricsRow[], replace: boolean): void {
    if (replace) this.rows = [];
    this.rows.push(...rows);
    if (this.rows.length > 5000) this.rows.splice(0, this.rows.length - 5000);
    this.redraw();
  }

  /**
   * Draws the rows; also called when the series labels change (new run info). A run trained
   * with --validate-every also gets, per stage, its checks on the validation tasks: open dots
   * with ± 1 stderr whiskers, in the stage's colour, read against the training curve's line.
   */
  redraw(): void {
    if (this.rows.length === 0) return;
    const stages = Math.max(...this.rows.map((r) => r.stageReturns.length));
    const xs = this.rows.map((r) => r.iteration);
    const ys = Array.from({ length: stages }, (_, s) => this.rows.map((r) => finiteOrNull(r.stageReturns[s])));
    const checked = this.rows.some((r) => r.validation !== undefined);
    const checks = checked ? Array.from({ length: stages }, (_, s) => this.rows.map((r) => finiteOrNull(r.validation?.returns[s]))) : [];
    const series: uPlot.Series[] = [{ label: 'iteration' }];
    for (let s = 0; s < stages; s++) series.push({ label: this.label(s), stroke: stageColor(s), width: 2, points: { show: this.rows.length < 40 } });
    for (let s = 0; s < checks.length; s++) {
      series.push({ label: `${this.label(s)}, validation`, stroke: stageColor(s), width: 0, paths: () => null, points: { show: true, size: 8, width: 2, fill: '#1b1f24' } });
    }
    this.draw([xs, ...ys, ...checks], series, {
      xLabel: 'iteration',
      legend: true,
      yRange: checked ? (_u, min, max) => this.yRange(min, max) : undefined,
      plugins: checked ? [{ hooks: { draw: [(u) => this.drawWhiskers(u, stages)] } }] : [],
    });
    this.el.dataset.points = String(countPoints(ys));
    this.el.dataset.validationPoints = String(countPoints(checks));
  }

  private yRange(min: number, max: number): uPlot.Range.MinMax {
    const bars = this.rows.flatMap((r) => r.validation?.returns.flatMap((y, s) => [y - r.validation!.stderr[s], y + r.validation!.stderr[s]]) ?? []);
    return widenedRange(min, max, bars);
  }

  private drawWhiskers(u: uPlot, stages: number): void {
    for (let s = 0; s < stages; s++) {
      if (u.series[stages + s + 1]?.show !== true) continue; // hidden from its legend entry
      const points = this.rows.flatMap((r) => (r.validation ? [{ x: r.iteration, y: r.validation.returns[s], e: r.validation.stderr[s] }] : []));
      whiskers(u, stageColor(s), points);
    }
  }
}

export class AdaptationChart extends Chart {
  /** Latest episode return per env and stage index (an RL² env runs every stage of a trial). */
  private readonly live = new Map<string, { stage: Stage; ret: number }>();
  private reference: ReferenceCurve[] = [];
  // The axis and plugin callbacks are made once with the plot; they read these, which change with each evaluation.
  private stages: number[] = [];
  private liveLabels = new Map<number, string>();

  /** `stageName(s)` names stage s where no episode of the evaluation on screen has (the run's stage list). */
  constructor(
    el: HTMLElement,
    private readonly stageName: (s: number) => string,
  ) {
    super(el);
    el.dataset.referencePoints = '0';
  }

  /** The run's reference curves (none: `[]`), drawn until the next run's hello. */
  setReference(curves: readonly ReferenceCurve[]): void {
    this.reference = [...curves];
    this.redraw();
  }

  episodeEnd(envId: number, stage: Stage, ret: number): void {
    this.live.set(`${envId}:${stage.index}`, { stage, ret });
    this.redraw();
  }

  /** A new evaluation: the curve on screen stays until its first episode ends. */
  forgetEvaluation(): void {
    this.live.clear();
  }

  private redraw(): void {
    const byStage = new Map<number, number[]>();
    this.liveLabels = new Map();
    for (const { stage, ret } of this.live.values()) {
      this.liveLabels.set(stage.index, stage.label);
      byStage.set(stage.index, [...(byStage.get(stage.index) ?? []), ret]);
    }
    const referenceStages = Math.max(0, ...this.reference.map((c) => c.returns.length));
    const xs = [...new Set([...byStage.keys(), ...Array.from({ length: referenceStages }, (_, s) => s)])].sort((a, b) => a - b);
    if (xs.length === 0) {
      this.el.dataset.referencePoints = '0';
      return this.clear();
    }
    this.stages = xs;
    // The mean where several envs share a stage.
    const liveYs = xs.map((s) => {
      const r = byStage.get(s);
      return r === undefined ? null : r.reduce((a, b) => a + b, 0) / r.length;
    });
    const referenceYs = this.reference.map((c) => xs.map((s) => finiteOrNull(c.returns[s])));
    const withReference = this.reference.length > 0;
    const series: uPlot.Series[] = [
      { label: 'stage', value: (_u, v) => (v === null ? '' : this.label(v)) },
      { label: withReference ? 'task on screen' : 'return', stroke: LIVE_COLOR, width: 2, points: { show: true, size: 9, fill: LIVE_COLOR } },
      ...this.reference.map((c, i): uPlot.Series => ({ label: c.label, stroke: referenceColor(i), width: 1.5, dash: [6, 4], points: { show: true, size: 7, fill: referenceColor(i) } })),
    ];
    this.draw([xs, liveYs, ...referenceYs], series, {
      xLabel: 'adaptation stage',
      // One tick per stage, named like the axis has room for.
      xValues: (_u, splits) => splits.map((v) => this.label(v)),
      xSplits: () => this.stages,
      legend: withReference,
      yRange: (_u, min, max) => this.yRange(min, max),
      plugins: [{ hooks: { draw: [(u) => this.drawWhiskers(u)] } }],
    });
    this.el.dataset.points = String(countPoints([liveYs]));
    this.el.dataset.referencePoints = String(countPoints(referenceYs));
  }

  private label(s: number): string {
    return this.liveLabels.get(s) ?? this.stageName(s);
  }

  private yRange(min: number, max: number): uPlot.Range.MinMax {
    return widenedRange(min, max, this.reference.flatMap((c) => this.stages.flatMap((s) => [c.returns[s] - c.stderr[s], c.returns[s] + c.stderr[s]])));
  }

  private drawWhiskers(u: uPlot): void {
    this.reference.forEach((c, i) => {
      if (u.series[i + 2]?.show !== true) return; // hidden from its legend entry
      whiskers(u, referenceColor(i), this.stages.map((s) => ({ x: s, y: c.returns[s], e: c.stderr[s] })));
    });
  }
}

/** The data's range widened to every whisker end, so none is cut at the chart's edge. */
function widenedRange(min: number, max: number, ends: readonly number[]): uPlot.Range.MinMax {
  // A loop, not Math.min(...ends): thousands of checks would pass engines' argument limits.
  let lo = min;
  let hi = max;
  for (const e of ends) {
    if (!Number.isFinite(e)) continue;
    lo = Math.min(lo, e);
    hi = Math.max(hi, e);
  }
  return Number.isFinite(lo) && Number.isFinite(hi) ? uPlot.rangeNum(lo, hi, 0.1, true) : [min, max];
}

/** Mean ± stderr at each point: a vertical bar with caps, in one colour. */
function whiskers(u: uPlot, color: string, points: ReadonlyArray<{ x: number; y: number; e: number }>): void {
  const { ctx } = u;
  const cap = CAP_PX * uPlot.pxRatio;
  ctx.save();
  ctx.lineWidth = 1.5 * uPlot.pxRatio;
  ctx.strokeStyle = color;
  ctx.beginPath();
  for (const { x: xv, y, e } of points) {
    if (!Number.isFinite(y) || !(e > 0)) continue;
    const x = u.valToPos(xv, 'x', true);
    const top = u.valToPos(y + e, 'y', true);
    const bottom = u.valToPos(y - e, 'y', true);
    ctx.moveTo(x, top);
    ctx.lineTo(x, bottom);
    ctx.moveTo(x - cap, top);
    ctx.lineTo(x + cap, top);
    ctx.moveTo(x - cap, bottom);
    ctx.lineTo(x + cap, bottom);
  }
  ctx.stroke();
  ctx.restore();
}

function countPoints(ys: ReadonlyArray<ReadonlyArray<number | null>>): number {
  let points = 0;
  for (const line of ys) for (const y of line) if (y !== null && Number.isFinite(y)) points++;
  return points;
}

function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

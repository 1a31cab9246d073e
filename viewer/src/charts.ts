/**
 * The two return curves, drawn with uPlot: the training curve (mean return at each
 * adaptation stage vs iteration, one series per stage) and the adaptation curve of the
 * evaluation on screen (return vs stage). Each container carries `data-points`, the
 * number of points drawn, for tests and for anyone inspecting the page.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { MetricsRow, Stage } from '../../src/stream/protocol.js';

/** One colour per adaptation stage, shared with the lane labels. */
export const STAGE_COLORS = ['#8c8c8c', '#e8803a', '#2f8fd8', '#3aa55c', '#b05cc8', '#d8b52f', '#d84a6a', '#2fb8b0'];
export const stageColor = (s: number): string => STAGE_COLORS[s % STAGE_COLORS.length];

/** Small enough that both charts and the toolbar fit a 540 px tall window. */
const HEIGHT = 150;

abstract class Chart {
  protected plot: uPlot | null = null;
  protected seriesCount = -1;

  constructor(protected readonly el: HTMLElement) {
    el.dataset.points = '0';
  }

  resize(): void {
    this.plot?.setSize({ width: this.width(), height: HEIGHT });
  }

  protected width(): number {
    return Math.max(200, this.el.clientWidth);
  }

  protected draw(
    data: uPlot.AlignedData,
    series: uPlot.Series[],
    xLabel: string,
    xValues?: uPlot.Axis['values'],
    xSplits?: uPlot.Axis['splits'],
    legend = true,
  ): void {
    if (this.plot === null || series.length !== this.seriesCount) {
      this.el.querySelector('.empty')?.remove();
      this.plot?.destroy();
      this.seriesCount = series.length;
      this.plot = new uPlot(
        {
          width: this.width(),
          height: HEIGHT,
          series,
          legend: { show: legend, live: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: false } },
          axes: [
            { label: xLabel, values: xValues, splits: xSplits, stroke: '#c8d0da', grid: { stroke: 'rgba(255,255,255,0.08)' }, ticks: { stroke: 'rgba(255,255,255,0.15)' } },
            { label: 'return', stroke: '#c8d0da', grid: { stroke: 'rgba(255,255,255,0.08)' }, ticks: { stroke: 'rgba(255,255,255,0.15)' }, size: 56 },
          ],
        },
        data,
        this.el,
      );
    } else {
      this.plot.setData(data);
    }
    let points = 0;
    for (let s = 1; s < data.length; s++) for (const y of data[s]) if (y !== null && y !== undefined && Number.isFinite(y)) points++;
    this.el.dataset.points = String(points);
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
  }

  add(rows: MetricsRow[], replace: boolean): void {
    if (replace) this.rows = [];
    this.rows.push(...rows);
    if (this.rows.length > 5000) this.rows.splice(0, this.rows.length - 5000);
    this.redraw();
  }

  /** Series labels changed (new run info). */
  redraw(): void {
    if (this.rows.length === 0) return;
    const stages = Math.max(...this.rows.map((r) => r.stageReturns.length));
    const xs = this.rows.map((r) => r.iteration);
    const ys = Array.from({ length: stages }, (_, s) => this.rows.map((r) => finiteOrNull(r.stageReturns[s])));
    const series: uPlot.Series[] = [{ label: 'iteration' }];
    for (let s = 0; s < stages; s++) series.push({ label: this.label(s), stroke: stageColor(s), width: 2, points: { show: this.rows.length < 40 } });
    this.draw([xs, ...ys], series, 'iteration');
  }
}

export class AdaptationChart extends Chart {
  // The axis callbacks are made once with the plot; they read these, which change with each evaluation.
  private stages: number[] = [];
  private label: (s: number) => string = String;

  /** Return at each stage index of the current evaluation (the mean where several envs share a stage). */
  show(returnsByStage: Map<number, number[]>, label: (s: number) => string): void {
    const stages = [...returnsByStage.keys()].sort((a, b) => a - b);
    if (stages.length === 0) return;
    this.stages = stages;
    this.label = label;
    const ys = stages.map((s) => {
      const r = returnsByStage.get(s)!;
      return r.reduce((a, b) => a + b, 0) / r.length;
    });
    const series: uPlot.Series[] = [
      { label: 'stage', value: (_u, v) => (v === null ? '' : this.label(v)) },
      { label: 'return', stroke: '#f0c24a', width: 2, points: { show: true, size: 9, fill: '#f0c24a' } },
    ];
    // One tick per stage, named like the axis has room for.
    this.draw([stages, ys], series, 'adaptation stage', (_u, splits) => splits.map((v) => this.label(v)), () => this.stages, false);
  }
}

function finiteOrNull(v: number | undefined): number | null {
  return v !== undefined && Number.isFinite(v) ? v : null;
}

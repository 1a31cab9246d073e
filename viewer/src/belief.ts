/**
 * The belief panel: for a learner that keeps a Gaussian belief over a task latent z (PEARL's
 * q(z | context)), each episode's belief of the trial on screen, so a person sees the robot
 * figure out the task. Left, the plane of z's first two dimensions: the prior N(0, I) as the
 * dashed unit circle, each episode's mean as a point with its 1-σ ellipse (std[0], std[1]; a
 * circle of radius std[0] on the z[0] axis for a one-dimensional z),
 * the points joined in episode order and labelled 1, 2, 3 …; right, the belief's entropy per
 * episode, a number and a sparkline, falling as the belief narrows.
 *
 * Pure SVG, redrawn on each message (they come once per episode). The panel is hidden until a
 * belief arrives. It carries `data-episodes` and `data-entropy` (space-separated, in the
 * plotted order) for tests and for anyone inspecting the page; each ellipse its `data-episode`.
 */
import type { BeliefMessage } from '../../src/stream/protocol.js';
import { beliefOutlivesScene } from '../../src/stream/protocol.js';
import { stageColor } from './charts.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
/** The z-plane's side, CSS pixels (the charts' height). */
const PLOT_PX = 150;
const PAD_PX = 14;
/** The plane shows at least this far from the origin: the prior's unit circle with room around it. */
const MIN_EXTENT = 1.25;
const SPARK_W = 110;
const SPARK_H = 36;
/** Entropy of a standard normal per dimension: ½ log(2πe). */
const HALF_LOG_2PI_E = 0.5 * Math.log(2 * Math.PI * Math.E);

/** Differential entropy of N(mean, diag(std²)) in nats: Σ log std + (L / 2) log(2πe). */
export function entropyOfStd(std: readonly number[]): number {
  let h = 0;
  for (const s of std) h += Math.log(s) + HALF_LOG_2PI_E;
  return h;
}

export class BeliefPanel {
  /** By `envId:episode`: the trial on screen. */
  private readonly beliefs = new Map<string, BeliefMessage>();
  private readonly plot: SVGSVGElement;
  private readonly spark: SVGSVGElement;
  private readonly list: HTMLElement;

  /** `el` holds the panel's heading; the plot and the entropy column are made here. */
  constructor(private readonly el: HTMLElement) {
    el.hidden = true;
    el.dataset.episodes = '';
    el.dataset.entropy = '';
    const row = document.createElement('div');
    row.className = 'belief-row';
    this.plot = svg('svg', { class: 'belief-plot', width: PLOT_PX, height: PLOT_PX, viewBox: `0 0 ${PLOT_PX} ${PLOT_PX}`, role: 'img', 'aria-label': 'belief over z[0], z[1] per episode' });
    const side = document.createElement('div');
    side.className = 'belief-side';
    const title = document.createElement('div');
    title.className = 'belief-caption';
    title.textContent = 'entropy (nats)';
    this.spark = svg('svg', { class: 'belief-spark', width: SPARK_W, height: SPARK_H, viewBox: `0 0 ${SPARK_W} ${SPARK_H}` });
    this.list = document.createElement('ol');
    this.list.className = 'belief-entropy';
    side.append(title, this.spark, this.list);
    row.append(this.plot, side);
    el.append(row);
  }

  add(msg: BeliefMessage): void {
    this.beliefs.set(`${msg.envId}:${msg.episode}`, msg);
    this.redraw();
  }

  /** A scene for lane `envId`: a new trial (lane 0) or the lane started afresh ends the beliefs of that lane and later ones. */
  sceneArrived(envId: number): void {
    let changed = false;
    for (const [key, b] of this.beliefs) {
      if (beliefOutlivesScene(b.envId, envId)) continue;
      this.beliefs.delete(key);
      changed = true;
    }
    if (changed) this.redraw();
  }

  /** A reset or a reconnect: no trial on screen. */
  clear(): void {
    if (this.beliefs.size === 0) return;
    this.beliefs.clear();
    this.redraw();
  }

  private redraw(): void {
    const shown = [...this.beliefs.values()].sort((a, b) => a.episode - b.episode || a.envId - b.envId);
    this.el.hidden = shown.length === 0;
    const entropies = shown.map((b) => entropyOfStd(b.std));
    this.el.dataset.episodes = shown.map((b) => b.episode).join(' ');
    this.el.dataset.entropy = entropies.map((h) => h.toFixed(4)).join(' ');
    this.drawPlane(shown);
    this.drawEntropy(shown, entropies);
  }

  private drawPlane(shown: BeliefMessage[]): void {
    const dim = (b: BeliefMessage, i: number) => ({ m: b.mean[i] ?? 0, s: b.std[i] ?? 0 });
    let extent = MIN_EXTENT;
    for (const b of shown) for (const i of [0, 1]) extent = Math.max(extent, Math.abs(dim(b, i).m) + dim(b, i).s);
    const scale = (PLOT_PX / 2 - PAD_PX) / (extent * 1.05);
    const c = PLOT_PX / 2;
    const x = (z: number) => c + z * scale;
    const y = (z: number) => c - z * scale;
    const parts: SVGElement[] = [
      svg('line', { class: 'axis', x1: 0, y1: c, x2: PLOT_PX, y2: c }),
      svg('line', { class: 'axis', x1: c, y1: 0, x2: c, y2: PLOT_PX }),
      text('z[0]', PLOT_PX - 3, c - 4, 'end'),
      text(shown.some((b) => b.mean.length > 1) ? 'z[1]' : 'z[1] (none)', c + 4, 10, 'start'),
    ];
    for (const b of shown) {
      const color = stageColor(b.stage.index);
      // A one-dimensional z has no std[1]: an ellipse with ry 0 would draw nothing, a circle still shows std[0].
      const ry = b.std.length > 1 ? dim(b, 1).s : dim(b, 0).s;
      parts.push(
        svg('ellipse', { class: 'belief-ellipse', 'data-episode': b.episode, cx: x(dim(b, 0).m), cy: y(dim(b, 1).m), rx: dim(b, 0).s * scale, ry: ry * scale, fill: color, stroke: color }),
      );
    }
    // Over the ellipses: the first episode's belief is the prior itself, and the dashes stay visible on it.
    parts.push(svg('circle', { class: 'prior', cx: c, cy: c, r: scale }));
    if (shown.length > 1) parts.push(svg('polyline', { class: 'belief-path', points: shown.map((b) => `${x(dim(b, 0).m)},${y(dim(b, 1).m)}`).join(' ') }));
    for (const b of shown) {
      const [px, py] = [x(dim(b, 0).m), y(dim(b, 1).m)];
      parts.push(svg('circle', { class: 'belief-mean', cx: px, cy: py, r: 3, fill: stageColor(b.stage.index) }));
      parts.push(text(String(b.episode + 1), px + 5, py - 5, 'start', 'belief-label'));
    }
    this.plot.replaceChildren(...parts);
  }

  private drawEntropy(shown: BeliefMessage[], entropies: number[]): void {
    this.list.replaceChildren(
      ...shown.map((b, i) => {
        const li = document.createElement('li');
        li.innerHTML = `<span class="dot" style="background:${stageColor(b.stage.index)}"></span>${b.episode + 1}: `;
        li.append(entropies[i].toFixed(2));
        return li;
      }),
    );
    if (entropies.length < 2) {
      this.spark.replaceChildren();
      return;
    }
    const lo = Math.min(...entropies);
    const span = Math.max(...entropies) - lo || 1;
    const px = (i: number) => 3 + (i * (SPARK_W - 6)) / (entropies.length - 1);
    const py = (h: number) => 3 + (1 - (h - lo) / span) * (SPARK_H - 6);
    this.spark.replaceChildren(
      svg('polyline', { class: 'belief-spark-line', points: entropies.map((h, i) => `${px(i)},${py(h)}`).join(' ') }),
      ...entropies.map((h, i) => svg('circle', { cx: px(i), cy: py(h), r: 2, fill: stageColor(shown[i].stage.index) })),
    );
  }
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function text(s: string, x: number, y: number, anchor: 'start' | 'end', cls = 'belief-axis-label'): SVGTextElement {
  const t = svg('text', { x, y, 'text-anchor': anchor, class: cls });
  t.textContent = s;
  return t;
}

/**
 * A fading trail of one env's root body (its first body: the torso, the point): a line
 * through its positions over the last few seconds of played frames, the newest opaque and
 * the oldest transparent, so a still frame shows where the robot went before and after
 * adaptation. Memory is fixed at construction; nothing here allocates afterwards.
 *
 * The positions live in a ring stored twice over (slot k and k + capacity hold the same
 * point), so the last `count` points are always one contiguous run of vertices that the
 * line draws through `drawRange`, without copying. Only the colours of that run are
 * rewritten per point, since every point's age changes.
 */
import { BufferAttribute, BufferGeometry, Color, Line, LineBasicMaterial } from 'three';
import { ringCapacity } from './frames.js';

/** Seconds of played frames a trail keeps. */
const TRAIL_SECONDS = 4;
/** Opacity of the newest point; the oldest fades to 0. */
const HEAD_ALPHA = 1;
/**
 * A line is one pixel wide whatever its width: the stage's colour is darkened so it reads
 * against the light floor (the 'pre' stage's grey did not).
 */
const SHADE = 0.55;

export class Trail {
  readonly line: Line;
  /** Most points the trail holds (N): TRAIL_SECONDS of steps of `stepS`, within [16, 512]. */
  readonly capacity: number;
  private readonly geometry = new BufferGeometry();
  private readonly material = new LineBasicMaterial({ vertexColors: true, transparent: true, depthWrite: false });
  private readonly positions: BufferAttribute;
  private readonly colors: BufferAttribute;
  private readonly color = new Color();
  /** Ring slot the next point goes to. */
  private next = 0;
  private points = 0;
  /** Step of the newest point: a step that does not follow it starts the trail afresh. */
  private lastStep = -1;

  /** `stepS`: shown seconds per step of the env. */
  constructor(stepS: number) {
    this.capacity = ringCapacity(TRAIL_SECONDS, stepS);
    this.positions = new BufferAttribute(new Float32Array(2 * this.capacity * 3), 3);
    this.colors = new BufferAttribute(new Float32Array(2 * this.capacity * 4), 4);
    this.geometry.setAttribute('position', this.positions);
    this.geometry.setAttribute('color', this.colors);
    this.geometry.setDrawRange(0, 0);
    this.line = new Line(this.geometry, this.material);
    this.line.name = 'trail';
    // The points move every frame; a bounding sphere computed once would cull the line wrongly.
    this.line.frustumCulled = false;
    this.line.renderOrder = 4;
  }

  /** Points drawn now, at most `capacity`. */
  get count(): number {
    return this.points;
  }

  /** CSS colour of the trail (its stage's). */
  setColor(css: string): void {
    this.color.set(css).multiplyScalar(SHADE);
  }

  /**
   * Adds the root body's position at a played step. A cut (a new episode, a seek, frames
   * the page or the server dropped) starts the trail afresh: a line across it would show a
   * jump the robot never made.
   */
  readonly push = (poses: Float32Array, step: number): void => {
    if (step !== this.lastStep + 1) this.clear();
    this.lastStep = step;
    const p = this.positions.array as Float32Array;
    const k = this.next;
    for (let c = 0; c < 3; c++) p[3 * k + c] = p[3 * (k + this.capacity) + c] = poses[c];
    this.next = (k + 1) % this.capacity;
    this.points = Math.min(this.points + 1, this.capacity);
    // Every point is in both halves; the newest `points` end at slot next + capacity − 1.
    const start = (this.next === 0 ? this.capacity : this.next) + this.capacity - this.points;
    this.fade(start);
    this.geometry.setDrawRange(start, this.points);
    this.positions.needsUpdate = true;
    this.colors.needsUpdate = true;
  };

  /** Forgets every point (a new scene or episode, a reset). */
  clear(): void {
    this.points = 0;
    this.next = 0;
    this.lastStep = -1;
    this.geometry.setDrawRange(0, 0);
  }

  dispose(): void {
    this.line.removeFromParent();
    this.geometry.dispose();
    this.material.dispose();
  }

  /** Alpha from 0 at the oldest point to HEAD_ALPHA at the newest; the square root keeps most of the trail visible and fades its tail. */
  private fade(start: number): void {
    const c = this.colors.array as Float32Array;
    const n = this.points;
    for (let i = 0; i < n; i++) {
      const o = 4 * (start + i);
      c[o] = this.color.r;
      c[o + 1] = this.color.g;
      c[o + 2] = this.color.b;
      c[o + 3] = n === 1 ? HEAD_ALPHA : HEAD_ALPHA * Math.sqrt(i / (n - 1));
    }
  }
}

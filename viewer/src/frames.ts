/**
 * Plays one env's frames at simulation speed. Frames arrive in bursts (a sampler steps
 * far faster than real time, then waits for the learner), so they go into a small ring
 * with their simulated time and a playback clock walks through it at wall-clock pace,
 * interpolating between the two frames around it. When the ring runs ahead by more
 * than it holds, the clock jumps forward (frames are dropped, never queued); when it
 * runs dry, the last pose stays. Nothing here allocates after construction.
 */
import { Quaternion, Vector3 } from 'three';
import type { Object3D } from 'three';
import { POSE_STRIDE } from '../../src/core/scene.js';
import { shownStepS } from '../../src/stream/protocol.js';
import type { FrameMessage } from '../../src/stream/protocol.js';

/** Seconds of frames the ring holds. */
const RING_SECONDS = 3;

/** Ring slots for `seconds` of steps of `stepS` shown seconds, within [16, 512]: the frame ring's and a trail's size. */
export function ringCapacity(seconds: number, stepS: number): number {
  return Math.max(16, Math.min(512, Math.ceil(seconds / stepS)));
}
/** Playback trails the newest frame by this much, to ride over network jitter. */
const LAG_STEPS = 3;

const _pA = new Vector3();
const _pB = new Vector3();
const _qA = new Quaternion();
const _qB = new Quaternion();

export class FramePlayer {
  readonly bodyCount: number;
  /** Shown seconds per step. */
  readonly stepS: number;
  private readonly capacity: number;
  private readonly poses: Float32Array[];
  private readonly times: Float64Array;
  private readonly steps: Uint32Array;
  private readonly rets: Float32Array;
  /** 1 where a frame begins an episode: never interpolate into it. */
  private readonly starts: Uint8Array;
  private head = 0; // index of the oldest frame
  private count = 0;
  private clock = 0;
  private shown = -1; // ring index of the frame before the clock
  private alpha = 0;
  /** Time of the newest frame `visitPlayed` has passed on. */
  private visitedTime = -Infinity;
  /** Frames received and dropped (overwritten before being shown). */
  received = 0;
  skipped = 0;

  constructor(bodyCount: number, dt: number) {
    this.bodyCount = bodyCount;
    this.stepS = shownStepS(dt);
    this.capacity = ringCapacity(RING_SECONDS, this.stepS);
    this.poses = Array.from({ length: this.capacity }, () => new Float32Array(bodyCount * POSE_STRIDE));
    this.times = new Float64Array(this.capacity);
    this.steps = new Uint32Array(this.capacity);
    this.rets = new Float32Array(this.capacity);
    this.starts = new Uint8Array(this.capacity);
  }

  /** Copies the frame in; frames with another body count are ignored. */
  push(frame: FrameMessage): void {
    if (frame.poses.length !== this.bodyCount * POSE_STRIDE) return;
    this.received++;
    let t = 0;
    let start = 1;
    if (this.count > 0) {
      const last = this.index(this.count - 1);
      // Only consecutive steps are interpolated: a new episode (the step went back) or a cut
      // (the server paced frames, or a client dropped some) is shown as a cut, one step later.
      start = frame.step === this.steps[last] + 1 ? 0 : 1;
      t = this.times[last] + this.stepS;
    }
    if (this.count === this.capacity) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
      if (this.shown >= 0) this.skipped++;
    }
    const i = this.index(this.count);
    this.poses[i].set(frame.poses);
    this.times[i] = t;
    this.steps[i] = frame.step;
    this.rets[i] = frame.ret;
    this.starts[i] = start;
    this.count++;
    if (this.count === 1 && this.shown < 0) this.clock = t;
  }

  /** Forgets every frame (a new scene). */
  clear(): void {
    this.count = 0;
    this.head = 0;
    this.shown = -1;
    this.visitedTime = -Infinity;
  }

  /** Advances the playback clock by `wallS` seconds × `speed`; false while there is nothing to show. */
  update(wallS: number, speed = 1): boolean {
    if (this.count === 0) return false;
    const oldest = this.times[this.head];
    const newest = this.times[this.index(this.count - 1)];
    this.clock += wallS * speed;
    if (this.clock < oldest) this.clock = oldest;
    // Too far behind (the ring is full of unseen frames): jump near the front.
    if (newest - this.clock > RING_SECONDS * 0.8) this.clock = newest - LAG_STEPS * this.stepS;
    if (this.clock > newest) this.clock = newest;
    // The frame before the clock: rings are short, a backward scan from the newest is cheap.
    let k = this.count - 1;
    while (k > 0 && this.times[this.index(k)] > this.clock) k--;
    const a = this.index(k);
    this.shown = a;
    if (k === this.count - 1) {
      this.alpha = 0;
      return true;
    }
    const b = this.index(k + 1);
    const span = this.times[b] - this.times[a];
    this.alpha = this.starts[b] === 1 || span <= 0 ? 0 : (this.clock - this.times[a]) / span;
    return true;
  }

  /** Sets each body's position and rotation (in its parent's frame) from the interpolated poses. */
  apply(bodies: readonly Object3D[]): void {
    if (this.shown < 0) return;
    const a = this.poses[this.shown];
    const b = this.alpha > 0 ? this.poses[(this.shown + 1) % this.capacity] : a;
    const n = Math.min(bodies.length, this.bodyCount);
    for (let i = 0; i < n; i++) {
      const o = i * POSE_STRIDE;
      _pA.set(a[o], a[o + 1], a[o + 2]);
      _qA.set(a[o + 3], a[o + 4], a[o + 5], a[o + 6]);
      if (this.alpha > 0) {
        _pB.set(b[o], b[o + 1], b[o + 2]);
        _qB.set(b[o + 3], b[o + 4], b[o + 5], b[o + 6]);
        _pA.lerp(_pB, this.alpha);
        _qA.slerp(_qB, this.alpha);
      }
      bodies[i].position.copy(_pA);
      bodies[i].quaternion.copy(_qA);
    }
  }

  /**
   * Calls `visit` once with each frame the playback clock has reached since the last call,
   * oldest first: a trail gets every played step, however seldom the page draws. Frames
   * dropped unshown are not visited (the gap in their steps shows the cut).
   */
  visitPlayed(visit: (poses: Float32Array, step: number) => void): void {
    if (this.shown < 0) return;
    const shownTime = this.times[this.shown];
    for (let k = 0; k < this.count; k++) {
      const i = this.index(k);
      if (this.times[i] <= this.visitedTime) continue;
      if (this.times[i] > shownTime) break;
      visit(this.poses[i], this.steps[i]);
    }
    this.visitedTime = shownTime;
  }

  /** Step of the frame on screen (-1 before any). */
  get step(): number {
    return this.shown < 0 ? -1 : this.steps[this.shown];
  }

  /** Running return of the frame on screen. */
  get ret(): number {
    return this.shown < 0 ? 0 : this.rets[this.shown];
  }

  private index(k: number): number {
    return (this.head + k) % this.capacity;
  }
}

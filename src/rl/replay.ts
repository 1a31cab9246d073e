/**
 * A bounded replay buffer of transitions (s, a, r, s', terminal) for off-policy learners: a ring
 * of `capacity` rows in float32 arrays allocated once, the oldest row overwritten first. Its state
 * is plain arrays (the rows written so far and the write cursor), so a checkpoint restores it
 * exactly, and sampling draws from the caller's Rng, so a seed gives the same minibatches.
 */
import { MetarlError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import type { Batch } from '../sampling/types.js';

/** Rows gathered from a buffer: [n, obsSize], [n, actSize], [n], [n, obsSize], [n]. */
export interface Transitions {
  obs: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObs: Float32Array;
  /** 1 where s' is terminal (no bootstrap), 0 where the episode went on or was cut at the horizon. */
  terminals: Float32Array;
}

/** A buffer's contents as saved: the first `size` rows, in storage order, and the write cursor. */
export interface ReplayState extends Transitions {
  size: number;
  next: number;
}

export class ReplayBuffer {
  private readonly rows: Transitions;
  private count = 0;
  private cursor = 0;

  constructor(
    readonly capacity: number,
    readonly obsSize: number,
    readonly actSize: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new MetarlError('METARL_CONFIG_INVALID', `replay capacity must be a positive integer, got ${capacity}`);
    this.rows = emptyTransitions(capacity, obsSize, actSize);
  }

  /** Rows held, at most `capacity`. */
  get size(): number {
    return this.count;
  }

  /** Appends one transition, overwriting the oldest once full. */
  add(obs: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObs: ArrayLike<number>, terminal: boolean): void {
    const { obsSize: O, actSize: A } = this;
    const i = this.cursor;
    for (let k = 0; k < O; k++) this.rows.obs[i * O + k] = obs[k];
    for (let k = 0; k < A; k++) this.rows.actions[i * A + k] = action[k];
    this.rows.rewards[i] = reward;
    for (let k = 0; k < O; k++) this.rows.nextObs[i * O + k] = nextObs[k];
    this.rows.terminals[i] = terminal ? 1 : 0;
    this.cursor = (i + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /**
   * Appends every step of the episodes of `slot` in a sampled batch. s' of an episode's last
   * step is the batch's `finalObs`; it is terminal only if the env said so (an episode cut at
   * the horizon still bootstraps).
   */
  addEpisodes(batch: Batch, slot: number): void {
    const { episodes: E, horizon: H, obsSize: O, actSize: A } = batch;
    for (let e = 0; e < E; e++) {
      const ep = slot * E + e;
      const len = batch.lengths[ep];
      for (let t = 0; t < len; t++) {
        const row = ep * H + t;
        const last = t === len - 1;
        const next = last ? batch.finalObs.subarray(ep * O, (ep + 1) * O) : batch.obs.subarray((row + 1) * O, (row + 2) * O);
        this.add(batch.obs.subarray(row * O, (row + 1) * O), batch.actions.subarray(row * A, (row + 1) * A), batch.rewards[row], next, last && batch.terminated[ep] === 1);
      }
    }
  }

  clear(): void {
    this.count = 0;
    this.cursor = 0;
  }

  /** Copies `n` rows drawn uniformly with replacement (as rlkit's `random_batch`) into `out` at row `offset`. */
  sample(rng: Rng, n: number, out: Transitions, offset = 0): void {
    if (this.count === 0) throw new MetarlError('METARL_INTERNAL', `cannot sample ${n} transitions from an empty replay buffer (capacity ${this.capacity}, obs ${this.obsSize}, action ${this.actSize}): nothing was added to it yet`);
    const { obsSize: O, actSize: A } = this;
    for (let j = 0; j < n; j++) {
      const i = rng.int(this.count);
      const o = offset + j;
      out.obs.set(this.rows.obs.subarray(i * O, (i + 1) * O), o * O);
      out.actions.set(this.rows.actions.subarray(i * A, (i + 1) * A), o * A);
      out.rewards[o] = this.rows.rewards[i];
      out.nextObs.set(this.rows.nextObs.subarray(i * O, (i + 1) * O), o * O);
      out.terminals[o] = this.rows.terminals[i];
    }
  }

  /** The rows written so far (copies) and the cursor. */
  state(): ReplayState {
    const n = this.count;
    const { obsSize: O, actSize: A } = this;
    const r = this.rows;
    return {
      size: n,
      next: this.cursor,
      obs: r.obs.slice(0, n * O),
      actions: r.actions.slice(0, n * A),
      rewards: r.rewards.slice(0, n),
      nextObs: r.nextObs.slice(0, n * O),
      terminals: r.terminals.slice(0, n),
    };
  }

  /**
   * Restores `state()`; METARL_CHECKPOINT_CORRUPT, changing nothing, when its sizes do not fit
   * this buffer or its cursor is not one a buffer can have (a ring that is not full writes next
   * at row `size`).
   */
  load(state: ReplayState): void {
    const { obsSize: O, actSize: A } = this;
    const n = state.size;
    const fits =
      Number.isInteger(n) && n >= 0 && n <= this.capacity && Number.isInteger(state.next) && state.next >= 0 && state.next < this.capacity &&
      state.obs.length === n * O && state.actions.length === n * A && state.rewards.length === n && state.nextObs.length === n * O && state.terminals.length === n;
    if (!fits) throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `replay buffer state does not fit a buffer of ${this.capacity} rows of obs ${O}, action ${A} (saved with another capacity?)`);
    if (n < this.capacity && state.next !== n) {
      throw new MetarlError('METARL_CHECKPOINT_CORRUPT', `replay buffer state has its write cursor (next) at ${state.next} with ${n} of ${this.capacity} rows written: a ring that is not full writes next at row ${n}`);
    }
    this.rows.obs.set(state.obs);
    this.rows.actions.set(state.actions);
    this.rows.rewards.set(state.rewards);
    this.rows.nextObs.set(state.nextObs);
    this.rows.terminals.set(state.terminals);
    this.count = n;
    this.cursor = state.next;
  }
}

/** Zeroed arrays for `n` transitions. */
export function emptyTransitions(n: number, obsSize: number, actSize: number): Transitions {
  return {
    obs: new Float32Array(n * obsSize),
    actions: new Float32Array(n * actSize),
    rewards: new Float32Array(n),
    nextObs: new Float32Array(n * obsSize),
    terminals: new Float32Array(n),
  };
}

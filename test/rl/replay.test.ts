import { describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { ReplayBuffer, emptyTransitions } from '../../src/rl/replay.js';
import type { Batch } from '../../src/sampling/types.js';

/** Transition i: obs [i, −i], action [i / 10], reward i, s' [i + 1, −i − 1], terminal every 5th. */
function fill(buffer: ReplayBuffer, from: number, to: number): void {
  for (let i = from; i < to; i++) buffer.add([i, -i], [i / 10], i, [i + 1, -i - 1], i % 5 === 4);
}

describe('ReplayBuffer (#8)', () => {
  it('is bounded: past its capacity it holds the newest rows, the oldest overwritten first', () => {
    const buffer = new ReplayBuffer(8, 2, 1);
    fill(buffer, 0, 5);
    expect(buffer.size).toBe(5);
    fill(buffer, 5, 21);
    expect(buffer.size).toBe(8);
    const s = buffer.state();
    expect(s.obs.length).toBe(16);
    // 21 rows through 8 cells: cells hold rows 16..20 then 13..15, the cursor at cell 5.
    expect(Array.from(s.rewards)).toEqual([16, 17, 18, 19, 20, 13, 14, 15]);
    expect(s.next).toBe(5);
    expect(Array.from(s.terminals)).toEqual([0, 0, 0, 1, 0, 0, 1, 0]);
  });

  it('samples the same rows under the same seed, and only rows it holds', () => {
    const buffer = new ReplayBuffer(8, 2, 1);
    fill(buffer, 0, 21);
    const a = emptyTransitions(50, 2, 1);
    const b = emptyTransitions(50, 2, 1);
    buffer.sample(new Rng(4), 50, a);
    buffer.sample(new Rng(4), 50, b);
    expect(Array.from(a.obs)).toEqual(Array.from(b.obs));
    for (let j = 0; j < 50; j++) {
      const r = a.rewards[j];
      expect(r).toBeGreaterThanOrEqual(13);
      expect([a.obs[2 * j], a.actions[j], a.nextObs[2 * j]]).toEqual([r, Math.fround(r / 10), r + 1]);
    }
  });

  it('restores exactly from its state, cursor included (the next write lands in the same cell)', () => {
    const a = new ReplayBuffer(8, 2, 1);
    fill(a, 0, 11);
    const b = new ReplayBuffer(8, 2, 1);
    b.load(a.state());
    fill(a, 11, 14);
    fill(b, 11, 14);
    expect(b.state()).toEqual(a.state());
    expect(() => new ReplayBuffer(4, 2, 1).load(a.state())).toThrow(/does not fit/);
  });

  it('refuses a ring that is not full whose write cursor is not at its size, changing nothing', () => {
    const a = new ReplayBuffer(8, 2, 1);
    fill(a, 0, 5);
    const b = new ReplayBuffer(8, 2, 1);
    fill(b, 100, 102);
    const before = b.state();
    const err = (() => {
      try {
        b.load({ ...a.state(), next: 2 });
      } catch (e) {
        return e;
      }
    })();
    expect(isMetarlError(err, 'METARL_CHECKPOINT_CORRUPT')).toBe(true);
    expect((err as Error).message).toMatch(/write cursor \(next\) at 2 with 5 of 8 rows.*row 5/);
    expect(b.state()).toEqual(before);
    // A full ring's cursor may be anywhere.
    fill(a, 5, 11);
    expect(a.state().next).toBe(3);
    b.load(a.state());
    expect(b.state()).toEqual(a.state());
  });

  it('sampling an empty buffer is an internal error that names the buffer', () => {
    const err = (() => {
      try {
        new ReplayBuffer(8, 2, 1).sample(new Rng(1), 3, emptyTransitions(3, 2, 1));
      } catch (e) {
        return e;
      }
    })();
    expect(isMetarlError(err, 'METARL_INTERNAL')).toBe(true);
    expect((err as Error).message).toMatch(/empty replay buffer \(capacity 8, obs 2, action 1\)/);
  });

  it("adds a batch's episodes with s' from the next step, the final observation at the end, terminal only if the env said so", () => {
    // One slot, two episodes, horizon 3, obs [1], act [1]: episode 0 runs 3 steps (truncated), episode 1 ends at step 2 (terminal).
    const batch = {
      slots: 1, episodes: 2, horizon: 3, obsSize: 1, actSize: 1,
      obs: Float32Array.from([0, 1, 2, 10, 11, 0]),
      actions: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0]),
      rewards: Float32Array.from([-1, -2, -3, -4, -5, 0]),
      lengths: Int32Array.from([3, 2]),
      terminated: Uint8Array.from([0, 1]),
      finalObs: Float32Array.from([3, 12]),
    } as unknown as Batch;
    const buffer = new ReplayBuffer(10, 1, 1);
    buffer.addEpisodes(batch, 0);
    const s = buffer.state();
    expect(s.size).toBe(5);
    expect(Array.from(s.obs)).toEqual([0, 1, 2, 10, 11]);
    expect(Array.from(s.nextObs)).toEqual([1, 2, 3, 11, 12]);
    expect(Array.from(s.rewards)).toEqual([-1, -2, -3, -4, -5]);
    expect(Array.from(s.terminals)).toEqual([0, 0, 0, 0, 1]);
  });

  it("adds slot 1 of a two-slot batch from its own rows, lengths, terminal flags and final observations", () => {
    // Two slots × two episodes, horizon 3, obs [2], act [1]: episode index ep = slot·2 + e, row ep·3 + t.
    // Slot 1: episode 2 runs 2 steps and terminates, episode 3 runs 3 steps (truncated). Slot 0's values are negative.
    const obs = new Float32Array(4 * 3 * 2);
    const actions = new Float32Array(4 * 3);
    const rewards = new Float32Array(4 * 3);
    for (let row = 0; row < 12; row++) {
      const sign = row < 6 ? -1 : 1;
      obs.set([sign * row, sign * (row + 0.5)], row * 2);
      actions[row] = sign * row / 10;
      rewards[row] = sign * row * 100;
    }
    const batch = {
      slots: 2, episodes: 2, horizon: 3, obsSize: 2, actSize: 1,
      obs, actions, rewards,
      lengths: Int32Array.from([3, 1, 2, 3]),
      terminated: Uint8Array.from([0, 1, 1, 0]),
      finalObs: Float32Array.from([-1, -1, -2, -2, 70, 71, 90, 91]),
    } as unknown as Batch;
    const buffer = new ReplayBuffer(10, 2, 1);
    buffer.addEpisodes(batch, 1);
    const s = buffer.state();
    // Episode 2: rows 6, 7 (s' of row 7 is finalObs[2]); episode 3: rows 9, 10, 11 (s' of row 11 is finalObs[3]).
    expect(s.size).toBe(5);
    expect(Array.from(s.obs)).toEqual([6, 6.5, 7, 7.5, 9, 9.5, 10, 10.5, 11, 11.5]);
    expect(Array.from(s.nextObs)).toEqual([7, 7.5, 70, 71, 10, 10.5, 11, 11.5, 90, 91]);
    expect(Array.from(s.actions)).toEqual([6, 7, 9, 10, 11].map((r) => Math.fround(r / 10)));
    expect(Array.from(s.rewards)).toEqual([600, 700, 900, 1000, 1100]);
    expect(Array.from(s.terminals)).toEqual([0, 1, 0, 0, 0]);
  });
});

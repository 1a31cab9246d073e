import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/sampling/index.js';
import type { Batch, Sampler, SampleJob } from '../../src/sampling/index.js';
import { resetSeed } from '../../src/sampling/layout.js';
import { POINT_HORIZON } from '../fixtures/sampling-point.js';
import { POINT_REF, batchBytes, randomPolicy, recording } from '../fixtures/sampling-policies.js';

// Three tasks × 3 slots × 2 episodes; the second task ends every episode after 7 steps,
// so its slots run two short episodes back to back and go inactive long before the others.
const JOB: SampleJob = {
  tasks: [{ goal: 0.5 }, { goal: -0.5, terminateAt: 7 }, { goal: 0.1 }],
  slotsPerTask: 3,
  episodesPerSlot: 2,
  seed: 11,
};
const SLOTS = 9;
const SHORT_SLOTS = [3, 4, 5];

const samplers: Record<number, Sampler> = {};
beforeAll(async () => {
  for (const workers of [0, 1, 2]) samplers[workers] = await createSampler({ family: POINT_REF, workers });
});
afterAll(async () => {
  await Promise.all(Object.values(samplers).map((s) => s.close()));
});

describe('sampler determinism', () => {
  it('gives byte-identical batches with workers 0, 1 and 2 for the same seed', async () => {
    const batches: Batch[] = [];
    for (const workers of [0, 1, 2]) {
      expect(samplers[workers].workers).toBe(workers);
      batches.push(await samplers[workers].sample(JOB, randomPolicy(3, 1)));
    }
    const [serial, one, two] = batches.map(batchBytes);
    expect(Object.keys(serial).sort()).toEqual(['actions', 'finalObs', 'info.control', 'info.distance', 'lengths', 'obs', 'returns', 'rewards', 'terminated']);
    for (const key of Object.keys(serial)) {
      expect(one[key].equals(serial[key]), `workers 1 vs 0: ${key}`).toBe(true);
      expect(two[key].equals(serial[key]), `workers 2 vs 0: ${key}`).toBe(true);
    }
    expect(batches[2].envSteps).toBe(batches[0].envSteps);
  });

  it('gives a different batch for a different seed', async () => {
    const a = batchBytes(await samplers[2].sample(JOB, randomPolicy(3, 1)));
    const b = batchBytes(await samplers[2].sample({ ...JOB, seed: 12 }, randomPolicy(3, 1)));
    // Same actions, different reset noise: the observations must differ.
    expect(a.actions.equals(b.actions)).toBe(true);
    expect(a.obs.equals(b.obs)).toBe(false);
  });

  it('derives reset seeds from (seed, slot, episode) alone, all distinct', () => {
    const seeds = new Set<number>();
    for (let slot = 0; slot < 50; slot++) for (let episode = 0; episode < 20; episode++) seeds.add(resetSeed(7, slot, episode));
    expect(seeds.size).toBe(1000);
    expect(resetSeed(7, 3, 1)).toBe(resetSeed(7, 3, 1));
    expect(resetSeed(8, 3, 1)).not.toBe(resetSeed(7, 3, 1));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 31).toBe(true);
  });
});

describe('episodes and trials', () => {
  it('ends episodes at the horizon, or at termination with the next episode right after', async () => {
    const batch = await samplers[2].sample(JOB, randomPolicy(5, 1));
    expect([batch.slots, batch.episodes, batch.horizon, batch.obsSize, batch.actSize]).toEqual([SLOTS, 2, POINT_HORIZON, 2, 1]);
    let steps = 0;
    for (let s = 0; s < SLOTS; s++) {
      const short = SHORT_SLOTS.includes(s);
      for (let e = 0; e < 2; e++) {
        const cell = s * 2 + e;
        expect(batch.lengths[cell]).toBe(short ? 7 : POINT_HORIZON);
        expect(batch.terminated[cell]).toBe(short ? 1 : 0);
        steps += batch.lengths[cell];
        let ret = 0;
        for (let t = 0; t < POINT_HORIZON; t++) {
          const r = batch.rewards[cell * POINT_HORIZON + t];
          if (t < batch.lengths[cell]) expect(r).toBeLessThan(0);
          else expect(r).toBe(0); // padding
          ret += r;
        }
        expect(batch.returns[cell]).toBeCloseTo(ret, 4);
        // reward = −distance, so the info sum mirrors the return; the env's obs[1] is t / horizon.
        expect(batch.infoSums.distance[cell]).toBeCloseTo(-ret, 4);
        expect(batch.obs[(cell * POINT_HORIZON + 3) * 2 + 1]).toBeCloseTo(3 / POINT_HORIZON, 6);
      }
    }
    expect(batch.envSteps).toBe(steps);
  });

  it('honours a job horizon shorter than the family horizon', async () => {
    const batch = await samplers[1].sample({ ...JOB, horizon: 5 }, randomPolicy(5, 1));
    expect(batch.horizon).toBe(5);
    expect([...batch.lengths]).toEqual(new Array(SLOTS * 2).fill(5));
    expect(batch.rewards.length).toBe(SLOTS * 2 * 5);
    expect([...batch.terminated]).toEqual(new Array(SLOTS * 2).fill(0));
  });

  it('gives the policy what an RL² policy expects: trial start, previous action, reward and done', async () => {
    const rec = recording(randomPolicy(9, 1));
    const batch = await samplers[2].sample(JOB, rec.policy);
    const { steps } = rec;
    expect(steps.length).toBe(2 * POINT_HORIZON); // the longest trial: two full episodes
    const at = (s: number, e: number, t: number) => (s * 2 + e) * POINT_HORIZON + t;
    for (let s = 0; s < SLOTS; s++) {
      // Step 0: a trial starts, nothing came before.
      expect([steps[0].trialStart[s], steps[0].prevDone[s], steps[0].prevAction[s], steps[0].prevReward[s], steps[0].active[s]]).toEqual([1, 1, 0, 0, 1]);
      const len = batch.lengths[s * 2];
      for (let k = 1; k < steps.length; k++) {
        const cur = steps[k];
        const prev = steps[k - 1];
        expect(cur.trialStart[s]).toBe(0);
        expect(cur.step).toBe(k);
        if (k >= 2 * len) {
          expect(cur.active[s], `slot ${s} step ${k}`).toBe(0);
          expect(cur.obs[s * 2]).toBe(0);
          continue;
        }
        expect(cur.active[s]).toBe(1);
        expect(cur.prevAction[s]).toBe(prev.actions[s]);
        const [e, t] = k < len ? [0, k] : [1, k - len];
        const [pe, pt] = k - 1 < len ? [0, k - 1] : [1, k - 1 - len];
        expect(cur.prevReward[s]).toBe(batch.rewards[at(s, pe, pt)]);
        // Done flags: 1 exactly at the first step of the second episode.
        expect(cur.prevDone[s]).toBe(k === len ? 1 : 0);
        // What the policy saw and did is what the batch holds.
        expect(cur.obs[s * 2]).toBe(batch.obs[at(s, e, t) * 2]);
        expect(cur.actions[s]).toBe(batch.actions[at(s, e, t)]);
      }
    }
  });

  it('keeps the observation each episode ended on, terminal or truncated, which a reset then overwrites (#8)', async () => {
    const batch = await samplers[2].sample(JOB, randomPolicy(5, 1));
    const goals = JOB.tasks.map((t) => t.goal as number);
    for (let s = 0; s < SLOTS; s++) {
      for (let e = 0; e < 2; e++) {
        const ep = s * 2 + e;
        const len = batch.lengths[ep];
        const final = batch.finalObs.subarray(ep * 2, ep * 2 + 2);
        // The fixture observes [x, t / horizon] and rewards −|x − goal| after the step: the final
        // observation is the one after step len − 1, never the next episode's reset.
        expect(final[1]).toBe(Math.fround(len / POINT_HORIZON));
        expect(Math.abs(Math.abs(final[0] - goals[Math.floor(s / 3)]) + batch.rewards[ep * POINT_HORIZON + len - 1])).toBeLessThan(1e-6);
        expect(final[1]).not.toBe(batch.obs[ep * POINT_HORIZON * 2 + 1]);
      }
    }
  });

  it('ignores the actions of finished slots, NaN included', async () => {
    const base = randomPolicy(4, 1);
    const batch = await samplers[2].sample(JOB, {
      async act(input) {
        const a = (await base.act(input)).slice();
        for (let s = 0; s < a.length; s++) if (input.active[s] === 0) a[s] = Number.NaN;
        return a;
      },
    });
    expect(batch.lengths[SHORT_SLOTS[0] * 2 + 1]).toBe(7);
    expect(batch.envSteps).toBe(6 * 2 * POINT_HORIZON + 3 * 2 * 7);
  });
});

describe('hooks', () => {
  it('streams the scene, per-step poses and episode ends of watched slots from a worker', async () => {
    const scenes: Array<[number, string]> = [];
    const frames: Array<{ slot: number; episode: number; t: number; x: number; reward: number }> = [];
    const ends: Array<[number, number, number, number]> = [];
    const batch = await samplers[1].sample({ ...JOB, watchSlots: [4, 0] }, randomPolicy(2, 1), {
      onScene: (slot, scene) => scenes.push([slot, JSON.stringify(scene.taskLabel)]),
      onFrame: (f) => frames.push({ slot: f.slot, episode: f.episode, t: f.t, x: f.poses[0], reward: f.reward }),
      onEpisodeEnd: (slot, episode, ret, length) => ends.push([slot, episode, ret, length]),
    });
    expect(scenes).toEqual([
      [0, '{"goal":0.5}'],
      [4, '{"goal":-0.5}'],
    ]);
    const slot4 = frames.filter((f) => f.slot === 4);
    expect(slot4.length).toBe(14);
    expect(frames.filter((f) => f.slot === 0).length).toBe(2 * POINT_HORIZON);
    for (const f of slot4) {
      const cell = 4 * 2 + f.episode;
      expect(f.reward).toBe(batch.rewards[cell * POINT_HORIZON + f.t]);
      // The pose after step t is the observation of step t + 1 (within an episode).
      if (f.t + 1 < 7) expect(f.x).toBeCloseTo(batch.obs[(cell * POINT_HORIZON + f.t + 1) * 2], 6);
    }
    expect(slot4.map((f) => `${f.episode}:${f.t}`).slice(5, 9)).toEqual(['0:5', '0:6', '1:0', '1:1']);
    expect(ends.length).toBe(SLOTS * 2);
    for (const [slot, episode, ret, length] of ends) {
      expect(ret).toBe(batch.returns[slot * 2 + episode]);
      expect(length).toBe(batch.lengths[slot * 2 + episode]);
    }
  });
});

// Sampler throughput: env steps per second on a random policy with workers 0, 1 and 2, per built-in family,
// next to the bare env.step rate of as many envs stepped in turn on this thread; then the sampler's own cost per step on a
// near-free fixture env. Run: npx tsx bench/index.ts sampling
// Rounds interleave the variants so a busy machine slows them alike; each figure is the median round.
import { loadavg } from 'node:os';
import { builtinFamilies } from '../envs/index.js';
import { loadFamily } from '../src/core/registry.js';
import type { FamilyRef } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import type { TaskFamily } from '../src/core/types.js';
import { createSampler } from '../src/sampling/index.js';
import type { SampleJob, Sampler } from '../src/sampling/index.js';
import { POINT_REF, randomPolicy } from '../test/fixtures/sampling-policies.js';

const WORKERS = [0, 1, 2] as const;
const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

/**
 * Env steps/s of `slots` envs stepped round-robin on this thread with random actions, no sampler: the
 * fair baseline, since many Rapier worlds stepped in turn run slower than one (caches).
 */
function directRate(family: TaskFamily, slots: number, horizon: number): number {
  const envs = family.sampleTasks(new Rng(1), slots).map((task) => family.makeEnv(task));
  const t = new Int32Array(slots);
  const rng = new Rng(2);
  const action = new Float32Array(family.spec.actSize);
  envs.forEach((env, i) => env.reset(i));
  const t0 = performance.now();
  for (let k = 0; k < horizon; k++) {
    for (let i = 0; i < slots; i++) {
      rng.fillNormal(action);
      const r = envs[i].step(action);
      if (r.terminated || r.truncated || ++t[i] >= horizon) {
        envs[i].reset(k);
        t[i] = 0;
      }
    }
  }
  const rate = (slots * horizon) / ((performance.now() - t0) / 1000);
  for (const env of envs) env.dispose();
  return rate;
}

interface Measured {
  direct: number;
  /** env steps/s per worker count */
  rates: number[];
  /** wall µs per sampler step (one policy call, all slots) per worker count */
  stepUs: number[];
}

async function measure(ref: FamilyRef, family: TaskFamily, job: SampleJob): Promise<Measured> {
  const samplers: Sampler[] = [];
  for (const workers of WORKERS) samplers.push(await createSampler({ family: ref, workers }));
  const rates: number[][] = WORKERS.map(() => []);
  const stepUs: number[][] = WORKERS.map(() => []);
  const direct: number[] = [];
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      const rate = directRate(family, job.tasks.length * job.slotsPerTask, job.horizon ?? family.spec.horizon);
      if (round > 0) direct.push(rate);
      for (let i = 0; i < WORKERS.length; i++) {
        let steps = 0;
        const policy = randomPolicy(round, family.spec.actSize);
        const counting = { act: (input: Parameters<typeof policy.act>[0]) => (steps++, policy.act(input)) };
        const t0 = performance.now();
        const batch = await samplers[i].sample({ ...job, seed: round }, counting);
        const ms = performance.now() - t0;
        // Round 0 warms up the JIT and the workers.
        if (round > 0) {
          rates[i].push(batch.envSteps / (ms / 1000));
          stepUs[i].push((ms * 1000) / steps);
        }
      }
    }
  } finally {
    await Promise.all(samplers.map((s) => s.close()));
  }
  return { direct: median(direct), rates: rates.map(median), stepUs: stepUs.map(median) };
}

export default async function main(): Promise<void> {
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (the 2-vs-1 ratio needs two idle cores)\n`);
  console.log('| family | slots × horizon | env.step/s direct | workers 0 | workers 1 | workers 2 | 2 vs 1 |');
  console.log('|---|---|---|---|---|---|---|');
  for (const name of builtinFamilies.names()) {
    const ref = builtinFamilies.ref(name);
    const family = await loadFamily(ref);
    // Cheap envs need more slots for the per-step wake-up to amortise.
    const slots = family.spec.obsSize <= 4 ? 64 : 16;
    const horizon = Math.min(family.spec.horizon, 60);
    const job: SampleJob = { tasks: family.sampleTasks(new Rng(1), slots / 4), slotsPerTask: 4, episodesPerSlot: 1, horizon, seed: 1 };
    const m = await measure(ref, family, job);
    const [w0, w1, w2] = m.rates;
    console.log(`| ${name} | ${slots} × ${horizon} | ${fmt(m.direct)} | ${fmt(w0)} | ${fmt(w1)} | ${fmt(w2)} | ${(w2 / w1).toFixed(2)}× |`);
  }

  // The sampler's own cost: a fixture env whose step is ~0.1 µs, so a sampler step is almost pure overhead
  // (policy call, action copy and checks, batch recording, and for workers the Atomics round trip).
  const fixture = await loadFamily(POINT_REF);
  console.log('\n| sampler cost per step, near-free env | slots | workers 0 | workers 1 | workers 2 |');
  console.log('|---|---|---|---|---|');
  for (const slots of [1, 64]) {
    const job: SampleJob = { tasks: fixture.sampleTasks(new Rng(1), slots), slotsPerTask: 1, episodesPerSlot: 10, seed: 1 };
    const m = await measure(POINT_REF, fixture, job);
    console.log(`| µs per step (all slots) | ${slots} | ${m.stepUs.map((x) => x.toFixed(1)).join(' | ')} |`);
  }
}

// Physics benchmark: for every registered family, how fast its Rapier world steps,
// how fast env.step() runs, and the framework's share of the time; plus the
// rapier3d-simd-compat vs rapier3d-compat speed ratio and a determinism check per build.
//
//   npx tsx bench/index.ts physics
//
// Method: one random-action rollout per family (episodes reset as they end; resets are
// not timed). `World.prototype.step` is wrapped with a timer, so "raw" is the time spent
// inside Rapier's world.step() on exactly the trajectory the env ran, and
// ratio = raw time / env.step() time = the share of env.step() that is physics
// (goal ≥ 0.85, i.e. framework overhead ≤ 15%). The compat figures come from a child
// process started with METARL_RAPIER_BUILD=compat running the same measurement; the
// builds alternate over METARL_BENCH_ROUNDS rounds (default 3) and each figure is the
// best round, which resists load from other processes on a shared machine.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { builtinFamilies } from '../envs/index.js';
import { loadFamily } from '../src/core/registry.js';
import { Rng } from '../src/core/rng.js';
import { RAPIER, RAPIER_BUILD } from '../src/physics/index.js';

interface Measurement {
  family: string;
  build: string;
  envSteps: number;
  worldSteps: number;
  /** Seconds inside world.step() and inside env.step(). */
  rawSeconds: number;
  envSeconds: number;
  deterministic: boolean;
}

const WALL_SECONDS = Number(process.env.METARL_BENCH_SECONDS ?? 1.5);

let rawSeconds = 0;
let worldSteps = 0;
const originalStep = RAPIER.World.prototype.step;
RAPIER.World.prototype.step = function timedStep(this: InstanceType<typeof RAPIER.World>, ...args: Parameters<typeof originalStep>) {
  const t0 = performance.now();
  originalStep.apply(this, args);
  rawSeconds += (performance.now() - t0) / 1000;
  worldSteps++;
} as typeof originalStep;

/** A fingerprint of a short rollout, to compare two runs bit for bit. */
function fingerprint(env: ReturnType<Awaited<ReturnType<typeof loadFamily>>['makeEnv']>, actSize: number): string {
  const rng = new Rng(77);
  const parts: number[] = Array.from(env.reset(5));
  const a = new Float32Array(actSize);
  for (let t = 0; t < 100; t++) {
    for (let i = 0; i < actSize; i++) a[i] = rng.uniform(-1, 1);
    const r = env.step(a);
    parts.push(r.reward, ...r.obs);
    if (r.terminated || r.truncated) break;
  }
  return Buffer.from(Float64Array.from(parts).buffer).toString('base64');
}

async function measure(name: string): Promise<Measurement> {
  const family = await loadFamily(builtinFamilies.ref(name));
  const [task] = family.sampleTasks(new Rng(1), 1);
  const env = family.makeEnv(task);
  const { actSize } = family.spec;
  const deterministic = fingerprint(env, actSize) === fingerprint(env, actSize);
  const rng = new Rng(3);
  const pool = Array.from({ length: 997 }, () => Float32Array.from({ length: actSize }, () => rng.uniform(-1, 1)));
  env.reset(1);
  for (let t = 0; t < 300; t++) {
    const r = env.step(pool[t % pool.length]);
    if (r.terminated || r.truncated) env.reset(t);
  }
  rawSeconds = 0;
  worldSteps = 0;
  let envSeconds = 0, envSteps = 0, rawInResets = 0, stepsInResets = 0;
  const deadline = performance.now() + WALL_SECONDS * 1000;
  while (performance.now() < deadline) {
    const t0 = performance.now();
    let done = false;
    let n = 0;
    for (; n < 200 && !done; n++) {
      const r = env.step(pool[(envSteps + n) % pool.length]);
      done = r.terminated || r.truncated;
    }
    envSeconds += (performance.now() - t0) / 1000;
    envSteps += n;
    if (done) {
      const raw0 = rawSeconds, steps0 = worldSteps;
      env.reset(envSteps);
      rawInResets += rawSeconds - raw0; // resets step no world, but keep the books honest
      stepsInResets += worldSteps - steps0;
    }
  }
  env.dispose();
  return { family: name, build: RAPIER_BUILD, envSteps, worldSteps: worldSteps - stepsInResets, rawSeconds: rawSeconds - rawInResets, envSeconds, deterministic };
}

async function measureAll(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  for (const name of builtinFamilies.names()) out.push(await measure(name));
  return out;
}

/** Keeps, per family, the run with the fastest env.step() (best of N resists a loaded machine). */
function best(runs: Measurement[][]): Measurement[] {
  const byFamily = new Map<string, Measurement>();
  for (const run of runs) {
    for (const m of run) {
      const kept = byFamily.get(m.family);
      if (!kept) byFamily.set(m.family, m);
      else {
        const better = m.envSteps / m.envSeconds > kept.envSteps / kept.envSeconds ? m : kept;
        byFamily.set(m.family, { ...better, deterministic: kept.deterministic && m.deterministic });
      }
    }
  }
  return [...byFamily.values()];
}

function compatMeasurements(): Measurement[] | string {
  const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, METARL_RAPIER_BUILD: 'compat', METARL_PHYSICS_BENCH_CHILD: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  const line = child.stdout.split('\n').find((l) => l.startsWith('{"compat":'));
  if (child.status !== 0 || !line) return `compat run failed (${child.status}): ${child.stderr.slice(-300)}`;
  return (JSON.parse(line) as { compat: Measurement[] }).compat;
}

const fmt = (x: number) => (x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

const ROUNDS = Number(process.env.METARL_BENCH_ROUNDS ?? 3);

export default async function physicsBench(): Promise<void> {
  // Alternate the builds round by round, so a burst of load elsewhere hits both alike.
  const simdRuns: Measurement[][] = [];
  const compatRuns: Measurement[][] = [];
  let compatError = '';
  for (let r = 0; r < ROUNDS; r++) {
    simdRuns.push(await measureAll());
    const c = compatMeasurements();
    if (Array.isArray(c)) compatRuns.push(c);
    else compatError = c;
  }
  const simd = best(simdRuns);
  const compat = compatRuns.length ? best(compatRuns) : compatError;
  console.log(`Rapier ${RAPIER.version()}; best of ${ROUNDS} rounds of ${WALL_SECONDS} s per family and build; node ${process.version}.\n`);
  console.log('| family | substeps | world.step()/s (raw) | env.step()/s | env substeps/s | env/raw per substep | overhead | framework µs/env step | simd/compat raw | deterministic (simd, compat) |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const m of simd) {
    const substeps = m.worldSteps / m.envSteps;
    const raw = m.worldSteps / m.rawSeconds;
    const env = m.envSteps / m.envSeconds;
    const ratio = m.rawSeconds / m.envSeconds;
    const c = Array.isArray(compat) ? compat.find((x) => x.family === m.family) : undefined;
    const rawBest = Math.max(...simdRuns.map((run) => run.find((x) => x.family === m.family)!).map((x) => x.worldSteps / x.rawSeconds));
    const compatBest = c ? Math.max(...(compatRuns.map((run) => run.find((x) => x.family === m.family)).filter(Boolean) as Measurement[]).map((x) => x.worldSteps / x.rawSeconds)) : NaN;
    const speedup = rawBest / compatBest;
    console.log(
      `| ${m.family} | ${substeps.toFixed(0)} | ${fmt(raw)} | ${fmt(env)} | ${fmt(env * substeps)} | ${ratio.toFixed(2)} | ${((1 - ratio) * 100).toFixed(0)}% | ${(((m.envSeconds - m.rawSeconds) / m.envSteps) * 1e6).toFixed(1)} | ${c ? speedup.toFixed(2) + '×' : '—'} | ${m.deterministic ? 'yes' : 'NO'}, ${c ? (c.deterministic ? 'yes' : 'NO') : '—'} |`,
    );
  }
  if (!Array.isArray(compat)) console.log(`\n${compat}`);
}

if (process.env.METARL_PHYSICS_BENCH_CHILD === '1') {
  console.log(JSON.stringify({ compat: await measureAll() }));
}

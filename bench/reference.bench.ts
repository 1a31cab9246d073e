// `npm run bench -- reference`: metarl beside PyTorch references of the same algorithms
// (bench/reference/*.py on Debian's python3-torch, one thread), side by side in one run:
//   (a) the workloads of bench/nn.bench.ts (wasm) against bench/reference/kernels.py;
//   (b) MAML-TRPO on point-nav at the defaults against bench/reference/maml_trpo.py:
//       seconds and returns per iteration, and the time to a post-update return of −20;
//   (c) RL² on point-nav at docs/results.md's settings against bench/reference/rl2_ppo.py.
// metarl runs through its public `train()` and is read back from metrics.jsonl only, so the
// agents' internals may change freely. Runs go one after another, never two at once.
// METARL_BENCH_ITERS (default 3) iterations of each; METARL_BENCH_SEEDS (default 1) seeds 1..N
// of each MAML run; METARL_BENCH_TARGET (default −20) the post-update return of "time to
// quality"; METARL_BENCH_WORKERS metarl's --workers (default: metarl's own, one per core);
// METARL_BENCH_BACKEND metarl's --backend (default auto); METARL_PYTHON the interpreter
// (default: the first of python3, /usr/bin/python3 that imports torch).
// The references are benchmarks: no test runs them and metarl never needs them.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { train } from '../src/train/train.js';

const run = promisify(execFile);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const MAX_BUFFER = 64 * 1024 * 1024;

/** docs/results.md's RL² point-nav run: `--horizon 10 --trials-per-task 5 --lr 0.01 --epochs 8 --hidden 32`. */
const RL2_POINT_NAV = { horizon: 10, trialsPerTask: 5, lr: 0.01, epochs: 8, hidden: 32 };

type Row = Record<string, unknown>;

interface Python {
  path: string;
  torch: string;
}

/** The first interpreter that imports torch and numpy, or null. */
function findPython(): Python | null {
  const candidates = [process.env.METARL_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => Boolean(p));
  for (const path of candidates) {
    const probe = spawnSync(path, ['-B', '-c', 'import numpy, torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (probe.status === 0) return { path, torch: probe.stdout.trim() };
  }
  return null;
}

/** Runs a reference script and returns its JSON lines. */
async function runReference(python: Python, script: string, args: string[]): Promise<Row[]> {
  try {
    const { stdout } = await run(python.path, ['-B', here(`reference/${script}`), '--json', ...args], { maxBuffer: MAX_BUFFER });
    return stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`bench/reference/${script} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** metarl through train(), as a user runs it; the rows of metrics.jsonl. */
async function runMetarl(dir: string, agent: 'maml' | 'rl2', seed: number, iterations: number, agentConfig: Record<string, unknown> = {}): Promise<{ rows: Row[]; backend: string }> {
  const out = join(dir, `${agent}-seed${seed}`);
  const workers = process.env.METARL_BENCH_WORKERS;
  let backend = '?';
  await train({
    env: 'point-nav',
    agent,
    iterations,
    seed,
    out,
    agentConfig,
    backend: (process.env.METARL_BENCH_BACKEND ?? 'auto') as 'auto',
    ...(workers !== undefined ? { workers: Number(workers) } : {}),
    quiet: true,
    skipFinalEval: true,
    log: (line) => {
      if (line.startsWith('backend:')) backend = line.slice('backend:'.length).trim().split(' ')[0];
    },
  });
  const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Row);
  return { rows, backend };
}

const num = (row: Row | undefined, key: string): number | undefined => (typeof row?.[key] === 'number' ? (row[key] as number) : undefined);
const fmt = (x: number | undefined, digits = 2) => (x === undefined ? '—' : x.toFixed(digits));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
/** An iteration's own time: sampling + learning (metarl); `seconds` (the reference). */
const ourSeconds = (row: Row) => (num(row, 'sampleSeconds') ?? 0) + (num(row, 'learnSeconds') ?? 0);

/** First iteration whose post-update return reaches `target`, and the wall-clock until then. */
function timeToQuality(rows: Row[], postKey: string, seconds: (row: Row) => number, target: number): string {
  let wall = 0;
  for (const row of rows) {
    wall += seconds(row);
    const post = num(row, postKey);
    if (post !== undefined && post >= target) return `iteration ${row.iteration}, ${wall.toFixed(0)} s`;
  }
  return `not in ${rows.length} iterations`;
}

// ─────────────────────────── (a) kernels ───────────────────────────

/** The rows of bench/nn.bench.ts that kernels.py mirrors, by the start of their names. */
const KERNELS: [prefix: string, key: string][] = [
  ['Gaussian MLP', 'mlp'],
  ['LSTM policy BPTT', 'lstm'],
  ['MAML outer gradient', 'maml2'],
];

/** Runs bench/nn.bench.ts in a child process (its own tfjs) and reads ms per workload for `backend` off its table. */
async function ourKernels(backend: string): Promise<Map<string, number>> {
  // index.js where the benches are bundled (`npm run pack:offline`), index.ts in a checkout.
  const index = here(import.meta.url.endsWith('.js') ? 'index.js' : 'index.ts');
  const { stdout } = await run(process.execPath, [...process.execArgv, index, 'nn'], {
    env: { ...process.env, METARL_BENCH_BACKENDS: backend },
    maxBuffer: MAX_BUFFER,
  });
  const lines = stdout.split('\n').filter((l) => l.startsWith('|'));
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
  const column = cells(lines[0] ?? '').indexOf(`${backend} ms`);
  const out = new Map<string, number>();
  for (const line of lines.slice(2)) {
    const row = cells(line);
    const kernel = KERNELS.find(([prefix]) => row[0].startsWith(prefix));
    if (kernel && column > 0) out.set(kernel[1], Number.parseFloat(row[column]));
  }
  return out;
}

async function kernels(python: Python): Promise<void> {
  const backend = process.env.METARL_BENCH_BACKENDS?.split(',')[0] ?? 'wasm';
  console.log(`### (a) Neural-net workloads: metarl (${backend}) vs PyTorch (1 thread)\n`);
  const ours = await ourKernels(backend);
  const [ref] = await runReference(python, 'kernels.py', []);
  const workloads = ref.workloads as unknown as { key: string; name: string; ms: number; reps: number }[];
  const byKey = new Map(workloads.map((w) => [w.key, w]));
  console.log(`| workload | metarl ${backend} ms | PyTorch ms | metarl / PyTorch |`);
  console.log('|---|---:|---:|---:|');
  for (const [, key] of KERNELS) {
    const w = byKey.get(key);
    const mine = ours.get(key);
    if (!w) continue;
    console.log(`| ${w.name} | ${fmt(mine, 1)} | ${w.ms.toFixed(1)} | ${mine === undefined ? '—' : `${(mine / w.ms).toFixed(1)}×`} |`);
  }
  const ops = byKey.get('lstm_ops');
  const lstm = ours.get('lstm');
  if (ops) console.log(`| ${ops.name} | ${fmt(lstm, 1)} | ${ops.ms.toFixed(1)} | ${lstm === undefined ? '—' : `${(lstm / ops.ms).toFixed(1)}×`} |`);
  console.log(`\nPyTorch ${python.torch}, BLAS ${String(ref.blas)}, ${ref.threads} thread; metarl from \`METARL_BENCH_BACKENDS=${backend} npm run bench -- nn\` in a child process.`);
  if (ref.blas === 'reference') console.log('Warning: torch is using the unoptimised reference BLAS; `apt-get install libopenblas0-pthread` for a fair yardstick.');
}

// ─────────────────────────── (b) MAML ───────────────────────────

async function maml(python: Python, dir: string, iterations: number, seeds: number, target: number): Promise<void> {
  console.log(`\n### (b) MAML-TRPO on point-nav: metarl vs PyTorch, ${iterations} iterations, seeds 1..${seeds}\n`);
  console.log('20 tasks × 20 episodes, H 100, 64×64 tanh, inner α 0.1, TRPO max KL 0.01, CG 10, line search 15 × 0.8. Returns are training-batch means (per task, then over tasks); the same seed number does not give the same initial weights in both.\n');
  const summary: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const ours = await runMetarl(dir, 'maml', seed, iterations);
    const ref = await runReference(python, 'maml_trpo.py', ['--iterations', String(iterations), '--seed', String(seed)]);
    console.log(`Seed ${seed} (metarl backend: ${ours.backend}):\n`);
    console.log('| iteration | metarl s | PyTorch s | metarl pre | PyTorch pre | metarl post | PyTorch post | metarl backtracks | PyTorch backtracks |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (let i = 0; i < Math.max(ours.rows.length, ref.length); i++) {
      const o = ours.rows[i];
      const r = ref[i];
      console.log(`| ${i + 1} | ${fmt(o && ourSeconds(o), 1)} | ${fmt(num(r, 'seconds'), 1)} | ${fmt(num(o, 'return0'), 1)} | ${fmt(num(r, 'preReturn'), 1)} | ${fmt(num(o, 'return1'), 1)} | ${fmt(num(r, 'postReturn'), 1)} | ${fmt(num(o, 'backtracks'), 0)} | ${fmt(num(r, 'backtracks'), 0)} |`);
    }
    const ourMean = mean(ours.rows.map(ourSeconds));
    const refMean = mean(ref.map((r) => num(r, 'seconds') ?? 0));
    summary.push(
      `| ${seed} | ${ourMean.toFixed(2)} | ${refMean.toFixed(2)} | ${(ourMean / refMean).toFixed(2)}× | ` +
        `${timeToQuality(ours.rows, 'return1', ourSeconds, target)} | ${timeToQuality(ref, 'postReturn', (r) => num(r, 'seconds') ?? 0, target)} |`,
    );
    console.log('');
  }
  console.log(`| seed | metarl s/iteration | PyTorch s/iteration | ratio | metarl: post ≥ ${target} at | PyTorch: post ≥ ${target} at |`);
  console.log('|---:|---:|---:|---:|---|---|');
  summary.forEach((line) => console.log(line));
}

// ─────────────────────────── (c) RL² ───────────────────────────

async function rl2(python: Python, dir: string, iterations: number): Promise<void> {
  console.log(`\n### (c) RL² on point-nav (docs/results.md settings): metarl vs PyTorch, ${iterations} iterations, seed 1\n`);
  const ours = await runMetarl(dir, 'rl2', 1, iterations, RL2_POINT_NAV);
  const ref = await runReference(python, 'rl2_ppo.py', ['--iterations', String(iterations), '--seed', '1']);
  console.log('| iteration | metarl s | PyTorch s | metarl episode 1 | PyTorch episode 1 | metarl episode 2 | PyTorch episode 2 |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (let i = 0; i < Math.max(ours.rows.length, ref.length); i++) {
    const o = ours.rows[i];
    const r = ref[i];
    console.log(`| ${i + 1} | ${fmt(o && ourSeconds(o))} | ${fmt(num(r, 'seconds'))} | ${fmt(num(o, 'return0'))} | ${fmt(num(r, 'return0'))} | ${fmt(num(o, 'return1'))} | ${fmt(num(r, 'return1'))} |`);
  }
  const ourMean = mean(ours.rows.map(ourSeconds));
  const refMean = mean(ref.map((r) => num(r, 'seconds') ?? 0));
  console.log(`\nMean s/iteration: metarl ${ourMean.toFixed(2)} (backend ${ours.backend}), PyTorch ${refMean.toFixed(2)}: ${(ourMean / refMean).toFixed(1)}×.`);
}

export default async function referenceBench(): Promise<void> {
  if (!existsSync(here('reference/maml_trpo.py'))) {
    console.log('PyTorch reference skipped: bench/reference/*.py is not beside this file (run it from a checkout of metarl).');
    return;
  }
  const python = findPython();
  if (!python) {
    console.log(
      'PyTorch reference skipped: no python3 that imports torch was found. On Debian/Ubuntu: ' +
        '`sudo apt-get install python3-torch libopenblas0-pthread` (or set METARL_PYTHON to an interpreter with torch and numpy).',
    );
    return;
  }
  const iterations = Number(process.env.METARL_BENCH_ITERS ?? 3);
  const seeds = Number(process.env.METARL_BENCH_SEEDS ?? 1);
  const target = Number(process.env.METARL_BENCH_TARGET ?? -20);
  const workers = process.env.METARL_BENCH_WORKERS ?? `metarl's default, one per core (${availableParallelism()})`;
  console.log(`${availableParallelism()} cores; ${python.path} with torch ${python.torch} on 1 thread; metarl workers: ${workers}.\n`);
  const dir = mkdtempSync(join(tmpdir(), 'metarl-reference-'));
  try {
    await kernels(python);
    await maml(python, dir, iterations, seeds, target);
    await rl2(python, dir, iterations);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The CLI verbs as a user runs them, through the real `bin/metarl.js` in a child process
 * (reliability issue, item 18): `envs`, `rollout`, `train --help-agent`, the final adaptation
 * table of `train`, `eval`, and a training run on `--backend webgpu`.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinAgents } from '../../agents/index.js';
import type { AgentDefinition } from '../../agents/types.js';
import { builtinFamilies } from '../../envs/index.js';
import { loadFamily } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { StageSummary } from '../../src/train/adaptation-table.js';
import { SEEDS, seedFor } from '../../src/train/assemble.js';
import { parseAgentFlags } from '../../src/train/flags.js';
import { openRun } from '../../src/train/open-run.js';
import { describeRun, runCli, type CliRun } from './run-cli.js';

/** Observation and action sizes as docs/envs.md documents them (those of the MuJoCo originals). */
const SPACES: Record<string, [obs: number, act: number]> = {
  'point-nav': [2, 2],
  'cheetah-vel': [17, 6],
  'cheetah-dir': [17, 6],
  'walker-params': [17, 6],
  'hopper-params': [11, 3],
  'ant-dir': [27, 8],
  'ant-goal': [27, 8],
  'ant-terrain': [52, 8], // the ant's 27 and a 5 × 5 grid of terrain heights
  'ant-terrain-blind': [27, 8],
  'ant-hill': [27, 8],
  'cheetah-hill': [17, 6],
};

function expectSuccess(run: CliRun): void {
  expect(run.signal, describeRun(run)).toBeNull();
  expect(run.code, describeRun(run)).toBe(0);
}

/** The rows of a printed adaptation table (`| stage | mean | stderr | tasks |`), as printed. */
function printedTable(stdout: string): { stage: string; mean: string; stderr: string; tasks: number }[] {
  return [...stdout.matchAll(/^\| (pre|step \d+) \| (-?\d+\.\d\d) \| (\d+\.\d\d) \| (\d+) \|$/gm)].map((m) => ({ stage: m[1], mean: m[2], stderr: m[3], tasks: Number(m[4]) }));
}

/** The table a JSON file holds, rounded as the CLI prints it. */
const asPrinted = (rows: StageSummary[]) => rows.map((r) => ({ stage: r.stage, mean: r.mean.toFixed(2), stderr: r.stderr.toFixed(2), tasks: r.tasks }));

function readMetrics(runDir: string): Record<string, number>[] {
  const [header, ...lines] = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
  const keys = header.split(',');
  return lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [keys[i], Number(v)])));
}

const relativeError = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-12);

describe('metarl envs', () => {
  it('lists the 8 built-in families with their obs/act sizes, horizon, dt and task ranges', async () => {
    const run = await runCli(['envs']);
    expectSuccess(run);
    // Each family is a block: its name at column 0, then indented lines.
    const blocks = run.stdout.trimEnd().split(/\n(?=\S)/).map((block) => block.split('\n'));
    const listed = new Map(blocks.map(([name, ...lines]) => [name, lines]));
    expect([...listed.keys()].sort()).toEqual(Object.keys(SPACES).sort());
    for (const [name, [obs, act]] of Object.entries(SPACES)) {
      const family = await loadFamily(builtinFamilies.ref(name));
      const [description, spaces, ...ranges] = listed.get(name)!;
      expect(description).toBe(`  ${family.description}`);
      const m = /^ {2}obs (\d+), act (\d+) in \[-1, 1\], horizon (\d+), dt ([\d.]+) s$/.exec(spaces);
      expect(m, `${name}: '${spaces}'`).not.toBeNull();
      expect(m!.slice(1).map(Number), name).toEqual([obs, act, family.spec.horizon, family.spec.dt]);
      // Every family varies something, and says what and how.
      const expectedRanges = Object.entries(family.taskRanges ?? {}).map(([k, v]) => `  task: ${k} ~ ${v}`);
      expect(expectedRanges.length, name).toBeGreaterThan(0);
      expect(ranges, name).toEqual(expectedRanges);
    }
  });
});

describe('metarl rollout', () => {
  const rollout = (seed: number, workers: number) =>
    runCli(['rollout', '--env', 'point-nav', '--tasks', '3', '--episodes', '2', '--seed', String(seed), '--workers', String(workers)]);

  function parse(run: CliRun): { steps: number; tasks: unknown[]; returns: number[] } {
    expectSuccess(run);
    const header = /^point-nav: random policy, 3 tasks × 2 episodes, (\d+) steps$/m.exec(run.stdout);
    expect(header, run.stdout).not.toBeNull();
    const lines = [...run.stdout.matchAll(/^ {2}task (\d+) (\{.*\}): return (\S+)$/gm)];
    expect(lines.map((m) => Number(m[1])), run.stdout).toEqual([0, 1, 2]);
    return { steps: Number(header![1]), tasks: lines.map((m) => JSON.parse(m[2])), returns: lines.map((m) => Number(m[3])) };
  }

  it('prints one finite return per task: the same for the same seed (threads or not), different for another seed', async () => {
    const [a, threaded, other] = (await Promise.all([rollout(5, 0), rollout(5, 2), rollout(6, 0)])).map(parse);
    const family = await loadFamily(builtinFamilies.ref('point-nav'));
    // The tasks are the seed's: the first draws of Rng(seed).
    expect(a.tasks).toEqual(JSON.parse(JSON.stringify(family.sampleTasks(new Rng(5), 3))));
    for (const r of [a, other]) {
      // point-nav's reward is −(distance to the goal) at every step: a return is finite and negative.
      for (const x of r.returns) expect(Number.isFinite(x) && x < 0, `return ${x}`).toBe(true);
      expect(r.steps).toBeGreaterThan(0);
      expect(r.steps).toBeLessThanOrEqual(3 * 2 * family.spec.horizon);
    }
    expect(threaded).toEqual(a);
    expect(other.tasks).not.toEqual(a.tasks);
    other.returns.forEach((x, t) => expect(x, `task ${t}`).not.toBe(a.returns[t]));
  });
});

describe('metarl train --help-agent', () => {
  it.each(Object.keys(builtinAgents))("lists every hyperparameter of %s's schema with its description and default, each usable as a flag", async (name) => {
    const definition = (builtinAgents as Record<string, AgentDefinition>)[name];
    const shape = definition.configSchema.shape as Record<string, { description?: string }>;
    const defaults = definition.configSchema.parse({}) as Record<string, unknown>;
    const run = await runCli(['train', '--agent', name, '--help-agent']);
    expectSuccess(run);
    const [title, ...lines] = run.stdout.trimEnd().split('\n');
    expect(title).toBe(`${name}: ${definition.description}`);
    const listed = lines.map((line) => {
      const m = /^ {2}--([a-z0-9-]+) <value> {2}(.*) \(default: (.*)\)$/.exec(line);
      expect(m, line).not.toBeNull();
      return { flag: m![1], description: m![2], value: JSON.parse(m![3]) as unknown };
    });
    // Each flag as printed, given its printed default, sets exactly one schema key to that default.
    const keys = listed.map(({ flag, value }) => {
      const parsed = parseAgentFlags([`--${flag}`, JSON.stringify(value)], definition.configSchema, name);
      expect(Object.keys(parsed), flag).toHaveLength(1);
      return Object.keys(parsed)[0];
    });
    expect(keys).toEqual(Object.keys(shape));
    listed.forEach(({ flag, description, value }, i) => {
      expect(description, flag).toBe(shape[keys[i]].description);
      expect(value, flag).toEqual(defaults[keys[i]]);
    });
  });

  it('with --env, shows the defaults a run on that family gets', async () => {
    const maml = (builtinAgents as Record<string, AgentDefinition>).maml;
    const familyDefaults = maml.familyDefaults['cheetah-vel'] as Record<string, unknown>;
    expect(familyDefaults.metaBatchSize).not.toBe((maml.configSchema.parse({}) as Record<string, unknown>).metaBatchSize);
    const run = await runCli(['train', '--agent', 'maml', '--env', 'cheetah-vel', '--help-agent']);
    expectSuccess(run);
    expect(run.stdout.split('\n')[0]).toBe(`maml: ${maml.description} (defaults on cheetah-vel)`);
    expect(run.stdout).toMatch(new RegExp(`--meta-batch-size <value> .* \\(default: ${familyDefaults.metaBatchSize}\\)`));
  });
});

describe('metarl train and eval on a tiny MAML run', () => {
  const EVAL_TASKS = 4;
  const TINY = ['--env', 'point-nav', '--agent', 'maml', '--seed', '3', '--quiet', '--workers', '0', '--meta-batch-size', '3', '--episodes-per-task', '3', '--hidden', '[8]', '--horizon', '20'];
  let dir: string;
  let runDir: string;
  let trained: CliRun;
  /** eval.json as `train` left it (`eval` overwrites it). */
  let trainedTable: { iteration: number; adaptation: StageSummary[] } | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'metarl-cli-'));
    runDir = join(dir, 'maml-wasm');
    trained = await runCli(['train', ...TINY, '--backend', 'wasm', '--iterations', '2', '--eval-tasks', String(EVAL_TASKS), '--out', runDir]);
    const path = join(runDir, 'eval.json');
    if (existsSync(path)) trainedTable = JSON.parse(readFileSync(path, 'utf8'));
  }, 180_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('train prints the final adaptation table and writes the same numbers to eval.json', () => {
    expectSuccess(trained);
    expect(trained.stdout).toMatch(/^backend: wasm \(requested\)$/m);
    expect(trained.stdout.match(/^iter \d+ \|/gm)).toEqual(['iter 1 |', 'iter 2 |']);
    expect(trained.stdout).toMatch(new RegExp(`^adaptation on ${EVAL_TASKS} held-out tasks \\(iteration 2\\):$`, 'm'));
    const printed = printedTable(trained.stdout);
    expect(printed.map((r) => [r.stage, r.tasks])).toEqual([['pre', EVAL_TASKS], ['step 1', EVAL_TASKS]]);
    expect(trainedTable, 'eval.json written by train').not.toBeNull();
    expect(trainedTable).toMatchObject({ agent: 'maml', family: 'point-nav', iteration: 2 });
    expect(asPrinted(trainedTable!.adaptation)).toEqual(printed);
    for (const r of trainedTable!.adaptation) {
      expect(Number.isFinite(r.mean)).toBe(true);
      // Four tasks with different goals: their returns differ.
      expect(r.stderr).toBeGreaterThan(0);
    }
    expect(readMetrics(runDir).map((row) => row.iteration)).toEqual([1, 2]);
  });

  it('eval <run> prints mean ± stderr per stage, writes them to eval.json and reproduces the final table', async () => {
    expect(trainedTable, describeRun(trained)).not.toBeNull();
    const run = await runCli(['eval', runDir, '--tasks', String(EVAL_TASKS)]);
    expectSuccess(run);
    const path = join(runDir, 'eval.json');
    expect(run.stdout).toMatch(new RegExp(`^maml on point-nav, iteration 2, ${EVAL_TASKS} held-out tasks \\(seed \\d+\\):$`, 'm'));
    expect(run.stdout).toContain(`written to ${path}`);
    const written = JSON.parse(readFileSync(path, 'utf8')) as { agent: string; family: string; iteration: number; adaptation: StageSummary[] };
    expect(written).toMatchObject({ agent: 'maml', family: 'point-nav', iteration: 2, tasks: EVAL_TASKS });
    expect(asPrinted(written.adaptation)).toEqual(printedTable(run.stdout));
    expect(written.adaptation.map((r) => [r.stage, r.tasks])).toEqual([['pre', EVAL_TASKS], ['step 1', EVAL_TASKS]]);
    // The checkpoint of the last iteration on the same held-out tasks and seeds: train's table again.
    written.adaptation.forEach((r, i) => {
      expect(r.mean).toBeCloseTo(trainedTable!.adaptation[i].mean, 9);
      expect(r.stderr).toBeCloseTo(trainedTable!.adaptation[i].stderr, 9);
    });

    // eval.json keeps each task's returns: the same checkpoint, tasks and seeds give them again,
    // and each stage's mean and stderr = sample std / √n are theirs.
    const { perTask } = JSON.parse(readFileSync(path, 'utf8')) as { perTask: Array<{ task: Record<string, unknown>; returns: number[] }> };
    const opened = await openRun(runDir, { workers: 0 });
    try {
      const tasks = opened.family.sampleTasks(new Rng(seedFor(opened.config.seed, SEEDS.evalTasks)), EVAL_TASKS);
      const { stages, returns } = await opened.learner.evaluate(tasks, { seed: seedFor(opened.config.seed, SEEDS.evalRollouts) });
      expect(stages).toEqual(written.adaptation.map((r) => r.stage));
      expect(perTask.map((r) => r.task)).toEqual(tasks);
      returns.forEach((xs, i) => {
        expect(perTask.map((r) => r.returns[i])).toEqual(xs);
        const n = xs.length;
        const mean = xs.reduce((a, b) => a + b, 0) / n;
        const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
        expect(n).toBe(EVAL_TASKS);
        expect(relativeError(written.adaptation[i].mean, mean)).toBeLessThan(1e-6);
        expect(relativeError(written.adaptation[i].stderr, std / Math.sqrt(n))).toBeLessThan(1e-6);
      });
    } finally {
      await opened.close();
    }
  });

  it('eval --by refuses a field its tasks cannot be grouped by, before any work, naming it, and leaves eval.json as it was', async () => {
    expectSuccess(trained);
    const path = join(runDir, 'eval.json');
    const before = readFileSync(path, 'utf8');
    const run = await runCli(['eval', runDir, '--tasks', String(EVAL_TASKS), '--by', 'goal']);
    expect(run.code, describeRun(run)).toBe(1);
    expect(run.stderr).toMatch(/^error \[METARL_CONFIG_INVALID\]: --by goal: "goal" is not a string, number or boolean in every task of point-nav; group by one of: \(none/m);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });

  /** Dawn needs a Vulkan driver on Linux (Mesa's llvmpipe without a GPU: .ci/run installs it). */
  const hasVulkanDriver =
    process.platform !== 'linux' || ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d'].some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));

  it.skipIf(!hasVulkanDriver)('a tiny run on --backend webgpu exits 0 and matches the wasm run before its first update', async () => {
    expectSuccess(trained); // the wasm run to compare with
    const out = join(dir, 'maml-webgpu');
    const run = await runCli(['train', ...TINY, '--backend', 'webgpu', '--iterations', '1', '--eval-tasks', '2', '--out', out]);
    // A crash at exit (SIGSEGV from Dawn's teardown) shows as a signal here, after all the output.
    expectSuccess(run);
    expect(run.stdout).toMatch(/^backend: webgpu \(requested\)$/m);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).backend).toBe('webgpu');
    const [gpu] = readMetrics(out);
    const [cpu] = readMetrics(runDir);
    expect(gpu.iteration).toBe(1);
    // Iteration 1 samples with the same initial weights and action noise, and takes its meta-gradient
    // before any update: the backends agree to float32 rounding (measured: 3e-7 on the gradient norm).
    for (const key of ['return0', 'return1', 'gradNorm']) expect(relativeError(gpu[key], cpu[key]), key).toBeLessThan(1e-3);
    expect(gpu.stepAccepted).toBe(1);
    const table = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { adaptation: StageSummary[] };
    expect(table.adaptation.map((r) => [r.stage, r.tasks])).toEqual([['pre', 2], ['step 1', 2]]);
    for (const r of table.adaptation) expect(Number.isFinite(r.mean) && Number.isFinite(r.stderr)).toBe(true);
  });
});

describe('metarl eval --by', () => {
  it("cuts the gain by a task field: one row per value, each the paired gain of that value's own tasks", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metarl-by-'));
    try {
      const out = join(dir, 'run');
      const tiny = ['--env', 'cheetah-dir', '--agent', 'maml', '--seed', '2', '--quiet', '--workers', '0', '--meta-batch-size', '2', '--episodes-per-task', '2', '--hidden', '[8]', '--horizon', '10'];
      expectSuccess(await runCli(['train', ...tiny, '--iterations', '1', '--eval-tasks', '1', '--out', out]));
      const run = await runCli(['eval', out, '--tasks', '8', '--by', 'direction']);
      expectSuccess(run);
      type Group = { group: string; tasks: number; means: number[]; gain: { mean: number } };
      const table = JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')) as { perTask: Array<{ task: { direction: number }; returns: number[] }>; groups: { by: string; groups: Group[] } };
      expect(table.groups.by).toBe('direction');
      // Seed 2's eight held-out tasks run both ways.
      expect(table.groups.groups.map((g) => g.group)).toEqual(['-1', '1']);
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      for (const g of table.groups.groups) {
        const own = table.perTask.filter((r) => String(r.task.direction) === g.group);
        expect(g.tasks).toBe(own.length);
        expect(g.means[0]).toBeCloseTo(mean(own.map((r) => r.returns[0])), 9);
        expect(g.gain.mean).toBeCloseTo(mean(own.map((r) => r.returns[1] - r.returns[0])), 9);
        expect(run.stdout).toMatch(new RegExp(`^\\| ${g.group} \\| ${g.tasks} \\| ${g.means[0].toFixed(2)} \\| ${g.means[1].toFixed(2)} \\| `, 'm'));
      }
      expect(table.groups.groups[0].tasks + table.groups.groups[1].tasks).toBe(8);
      expect(run.stdout).toMatch(/^by direction:$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

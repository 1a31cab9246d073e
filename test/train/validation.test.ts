import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { tf } from '../../src/nn/tf.js';
import { SEEDS, seedFor } from '../../src/train/assemble.js';
import { resolveFamily } from '../../src/train/families.js';
import { readMetrics } from '../../src/train/metrics.js';
import { heldOutTasks, train } from '../../src/train/train.js';
import { LINE_GOAL_ENV, TINY_AGENT_CONFIG, learningFigures } from '../fixtures/tiny-runs.js';

const env = LINE_GOAL_ENV;
describe.each(['maml', 'rl2', 'pearl'])('train --validate-every with %s', (agent) => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-validate-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = { env, agent, seed: 3, workers: 0, backend: 'cpu' as const, quiet: true, log: () => {}, skipFinalEval: true, agentConfig: TINY_AGENT_CONFIG[agent] };

  it('writes one check every n iterations, each stage with its paired gain, and leaves the training as it was', async () => {
    const lines: string[] = [];
    const observed: Array<[number, number | undefined]> = [];
    const watches = { checked: 0, plain: 0 };
    const observer = (run: 'checked' | 'plain') => ({
      metrics: (row: { iteration: number }, _stages: readonly string[], check?: { iteration: number }) => run === 'checked' && observed.push([row.iteration, check?.iteration]),
      watch: () => void watches[run]++,
    });
    const tensors = tf.memory().numTensors;
    await train({ ...base, iterations: 4, out: join(dir, 'checked'), validateEvery: 2, validateTasks: 5, log: (l) => lines.push(l), observer: observer('checked') });
    expect(tf.memory().numTensors).toBe(tensors);
    await train({ ...base, iterations: 4, out: join(dir, 'plain'), observer: observer('plain') });

    const checks = readMetrics(join(dir, 'checked'), 'validation');
    expect(checks.map((r) => r.iteration)).toEqual([2, 4]);
    for (const row of checks) {
      expect(row.tasks).toBe(5);
      for (const key of ['return0', 'stderr0', 'return1', 'gain1', 'gainStderr1']) expect(Number.isFinite(row[key]), key).toBe(true);
      expect(row.stderr0).toBeGreaterThan(0);
      expect(row.gainStderr1).toBeGreaterThan(0);
    }
    // The learner changed between the checks, and the checks saw it.
    expect(checks[1].return0).not.toBe(checks[0].return0);
    expect(lines.filter((l) => l.startsWith('validation at iteration'))).toHaveLength(2);
    // A viewer gets each check with its iteration's row, and none of its rollouts in the lanes.
    expect(observed).toEqual([[1, undefined], [2, 2], [3, undefined], [4, 4]]);
    expect(watches.checked).toBe(watches.plain);
    expect(watches.plain).toBeGreaterThan(0);
    expect(readMetrics(join(dir, 'checked')).map(learningFigures)).toEqual(readMetrics(join(dir, 'plain')).map(learningFigures));
  });

  it('on resume recomputes the checks after the checkpoint, the same as an uninterrupted run', async () => {
    await train({ ...base, iterations: 4, out: join(dir, 'whole'), validateEvery: 1, validateTasks: 3 });
    await train({ ...base, iterations: 3, out: join(dir, 'split'), validateEvery: 1, validateTasks: 3, checkpointEvery: 2 });
    // Killed after the check of iteration 3, before its checkpoint: that row must not stay twice.
    rmSync(join(dir, 'split', 'checkpoints', '3'), { recursive: true });
    await train({ resume: join(dir, 'split'), iterations: 4, quiet: true, log: () => {}, skipFinalEval: true });

    const split = readMetrics(join(dir, 'split'), 'validation');
    expect(split.map((r) => r.iteration)).toEqual([1, 2, 3, 4]);
    expect(split.map(learningFigures)).toEqual(readMetrics(join(dir, 'whole'), 'validation').map(learningFigures));
  });
});

describe('train --validate-every, the run directory', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-validate-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = { env, agent: 'maml', seed: 3, backend: 'cpu' as const, quiet: true, log: () => {}, skipFinalEval: true, agentConfig: TINY_AGENT_CONFIG.maml };

  it('task workers make the same checks and training as the main thread', async () => {
    await train({ ...base, workers: 0, iterations: 2, out: join(dir, 'main'), validateEvery: 1, validateTasks: 4 });
    await train({ ...base, workers: 2, iterations: 2, out: join(dir, 'pool'), validateEvery: 1, validateTasks: 4 });
    expect(readMetrics(join(dir, 'pool'), 'validation').map(learningFigures)).toEqual(readMetrics(join(dir, 'main'), 'validation').map(learningFigures));
    expect(readMetrics(join(dir, 'pool')).map(learningFigures)).toEqual(readMetrics(join(dir, 'main')).map(learningFigures));
  });

  it('a resume that makes no checks still cuts those past its checkpoint; --force removes an old run\'s', async () => {
    const out = join(dir, 'run');
    await train({ ...base, workers: 0, iterations: 3, out, validateEvery: 1, validateTasks: 2, checkpointEvery: 2 });
    rmSync(join(out, 'checkpoints', '3'), { recursive: true });
    await train({ resume: out, iterations: 4, validateEvery: 0, quiet: true, log: () => {}, skipFinalEval: true });
    expect(readMetrics(out, 'validation').map((r) => r.iteration)).toEqual([1, 2]);
    expect(readFileSync(join(out, 'validation.csv'), 'utf8').trim().split('\n')).toHaveLength(3);

    await train({ ...base, workers: 0, iterations: 1, out, force: true });
    expect(existsSync(join(out, 'validation.jsonl'))).toBe(false);
    expect(existsSync(join(out, 'validation.csv'))).toBe(false);
  });
});

describe('validation tasks', () => {
  it('are a draw of their own: not the held-out tasks of the final table, and the same for one seed', async () => {
    const { family } = await resolveFamily('cheetah-vel');
    expect(heldOutTasks(family, 1, 10, 'validation')).toEqual(heldOutTasks(family, 1, 10, 'validation'));
    expect(heldOutTasks(family, 1, 10, 'validation')).not.toEqual(heldOutTasks(family, 1, 10));
    expect(heldOutTasks(family, 2, 10, 'validation')).not.toEqual(heldOutTasks(family, 1, 10, 'validation'));
    // Nor the tasks `metarl view` shows.
    expect(heldOutTasks(family, 1, 10, 'validation')).not.toEqual(family.sampleTasks(new Rng(seedFor(1, SEEDS.viewTasks)), 10));
    expect(new Set(Object.values(SEEDS)).size).toBe(Object.keys(SEEDS).length);
  });
});

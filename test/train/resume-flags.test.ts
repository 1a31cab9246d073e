/** What `metarl train --resume` does with other flags (reliability issue, item 10), through the real CLI. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { readMetrics } from '../../src/train/metrics.js';
import { train } from '../../src/train/train.js';
import { TINY_TRAIN, expectOneLineError, metarl } from './run-cli.js';

describe('train --resume with other flags', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-resume-flags-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses by name every flag that would change what the run learns, unknown ones included, and changes nothing', () => {
    const out = join(dir, 'run');
    expect(metarl([...TINY_TRAIN, '--iterations', '1', '--out', out]).status).toBe(0);
    const config = readFileSync(join(out, 'config.json'), 'utf8');

    const run = metarl(['train', '--resume', out, '--iterations', '2', '--env', 'cheetah-vel', '--seed', '3', '--config', join(dir, 'none.json'), '--inner-lr', '0.3', '--iteratons=5']);
    expectOneLineError(run, 'METARL_CONFIG_INVALID', /--resume keeps the run's env, agent, seed and hyperparameters, so it refuses --env, --seed, --config, --inner-lr, --iteratons; it takes only --iterations, .*--workers/);
    expect(readFileSync(join(out, 'config.json'), 'utf8')).toBe(config);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['1']);
  });

  it('applies the flags that may change: --iterations, --checkpoint-every, --workers, --eval-tasks, --validate-every, --validate-tasks, --quiet', () => {
    const out = join(dir, 'run');
    expect(metarl([...TINY_TRAIN, '--iterations', '1', '--out', out]).status).toBe(0);
    const before = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));

    const run = metarl(['train', '--resume', out, '--iterations', '3', '--checkpoint-every', '2', '--workers', '1', '--eval-tasks', '2', '--validate-every', '1', '--validate-tasks', '2', '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const after = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(after).toEqual({ ...before, iterations: 3, checkpointEvery: 2, workers: 1, evalTasks: 2, validateEvery: 1, validateTasks: 2 });
    expect(readMetrics(out, 'validation').map((r) => [r.iteration, r.tasks])).toEqual([[2, 2], [3, 2]]);
    expect(run.stdout).toMatch(/^validation at iteration 3 \(2 tasks\): pre -?\d+\.\d → step 1 -?\d+\.\d \(gain [+−]\d+\.\d ± \d+\.\d/m);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['1', '2', '3']);
    expect(JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8')).adaptation[0].tasks).toBe(2);
  });

  it('train() refuses the same options by key', async () => {
    const error = await train({ resume: join(dir, 'any'), seed: 4, agentConfig: { hidden: [4] } }).catch((err: unknown) => err);
    expect(isMetarlError(error, 'METARL_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toMatch(/cannot change seed, agentConfig: a resumed run keeps its own; only iterations, checkpointEvery, evalTasks, validateEvery, validateTasks, workers, backend\b.* may change/);
  });
});

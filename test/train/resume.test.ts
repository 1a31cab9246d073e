import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMetrics } from '../../src/train/metrics.js';
import { train } from '../../src/train/train.js';
import { LINE_GOAL_ENV, TINY_AGENT_CONFIG, learningFigures } from '../fixtures/tiny-runs.js';

const env = LINE_GOAL_ENV;
describe.each(['maml', 'rl2', 'pearl'])('train --resume with %s', (agent) => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-resume-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('continues with the same next iterations as an uninterrupted run (tasks, weights, optimiser, RNG)', async () => {
    const base = {
      env,
      agent,
      seed: 5,
      workers: 0,
      backend: 'cpu' as const,
      checkpointEvery: 1,
      quiet: true,
      log: () => {},
      skipFinalEval: true,
      agentConfig: TINY_AGENT_CONFIG[agent],
    };
    await train({ ...base, iterations: 4, out: join(dir, 'whole') });
    await train({ ...base, iterations: 2, out: join(dir, 'split') });
    await train({ resume: join(dir, 'split'), iterations: 4, quiet: true, log: () => {}, skipFinalEval: true });

    const whole = readMetrics(join(dir, 'whole')).map(learningFigures);
    const split = readMetrics(join(dir, 'split')).map(learningFigures);
    expect(split.map((r) => r.iteration)).toEqual([1, 2, 3, 4]);
    expect(split).toEqual(whole);
  });
});

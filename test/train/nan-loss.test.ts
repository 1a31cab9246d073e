import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import { listCheckpoints, readCheckpoint } from '../../src/train/checkpoint.js';
import { train } from '../../src/train/train.js';

const fixture = (name: string) => new URL(`../fixtures/envs/${name}.ts`, import.meta.url).pathname;

describe('training that diverges', () => {
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'metarl-nan-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('stops at the first non-finite figure, names the iteration and keeps no bad checkpoint', async () => {
    const error = await train({ ...options(out), env: fixture('overflowing-reward') }).catch((err: unknown) => err);
    expect(isMetarlError(error, 'METARL_NAN_LOSS')).toBe(true);
    expect((error as Error).message).toMatch(/^iteration 1 produced .*; stopped\. No checkpoint had been written yet/);
    expect(listCheckpoints(out)).toEqual([]);
  });

  it('keeps the checkpoint of the last good iteration and says how to resume from it', async () => {
    const error = await train({ ...options(out), env: fixture('overflowing-later') }).catch((err: unknown) => err);
    expect(isMetarlError(error, 'METARL_NAN_LOSS')).toBe(true);
    expect((error as Error).message).toMatch(/^iteration 2 produced .*The last good checkpoint \(iteration 1\) is kept.*--resume/);
    expect(listCheckpoints(out)).toEqual([1]);
    expect(readCheckpoint(join(out, 'checkpoints', '1')).iteration).toBe(1);
  });
});

function options(out: string) {
  return {
    agent: 'maml',
    iterations: 3,
    workers: 0,
    backend: 'cpu' as const,
    out,
    checkpointEvery: 1,
    quiet: true,
    log: () => {},
    agentConfig: { metaBatchSize: 2, episodesPerTask: 2, hidden: [8] },
  };
}

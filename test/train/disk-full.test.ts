/**
 * A disk that fills up (or a run directory made read-only) mid-run, through the real CLI with
 * the failure injected by test/fixtures/fs-faults.mjs (reliability issue, items 5 and 9): one
 * line naming the file, the checkpoint already written kept, and a resume that repairs the rest.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMetrics } from '../../src/train/metrics.js';
import { TINY_TRAIN, expectOneLineError, metarl } from './run-cli.js';

describe('a write that fails mid-run', () => {
  let out: string;
  beforeEach(() => (out = join(mkdtempSync(join(tmpdir(), 'metarl-full-')), 'run')));
  afterEach(() => rmSync(join(out, '..'), { recursive: true, force: true }));

  it.each([
    ['ENOSPC', 'no space left on the device'],
    ['EACCES', 'permission denied'],
  ])('%s on the 3rd metrics row: one line naming metrics.jsonl, checkpoint 2 kept (after ENOSPC, --resume drops the torn row and goes on)', (errno, reason) => {
    const run = metarl([...TINY_TRAIN, '--iterations', '3', '--checkpoint-every', '1', '--out', out], { fault: `appendFileSync:metrics.jsonl:3:${errno}` });
    expectOneLineError(run, 'METARL_FILE_ERROR', new RegExp(`cannot write ${out}/metrics\\.jsonl: ${reason} \\(${errno}\\); checkpoint 2 is kept: .*metarl train --resume ${out}\n`));
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['1', '2']);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toMatch(/\n\{"iteration":3[^\n]+$/);
    if (errno === 'EACCES') return;

    const resumed = metarl(['train', '--resume', out, '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(readMetrics(out).map((r) => r.iteration)).toEqual([1, 2, 3]);
    expect(readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n').map((l) => l.split(',')[0])).toEqual(['iteration', '1', '2', '3']);
  });

  it('ENOSPC while writing checkpoint 2: its temporary folder is removed, checkpoint 1 kept, and --resume redoes iteration 2 without a repeated row', () => {
    const run = metarl([...TINY_TRAIN, '--iterations', '3', '--checkpoint-every', '1', '--out', out], { fault: 'writeFileSync:weights.bin:2:ENOSPC' });
    expectOneLineError(run, 'METARL_FILE_ERROR', new RegExp(`cannot write checkpoint ${out}/checkpoints/2: no space left on the device \\(ENOSPC\\); checkpoint 1 is kept`));
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['1']);
    expect(readMetrics(out).map((r) => r.iteration)).toEqual([1, 2]);

    const resumed = metarl(['train', '--resume', out, '--quiet']);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`resumed ${out} at iteration 1`));
    expect(readMetrics(out).map((r) => r.iteration)).toEqual([1, 2, 3]);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['1', '2', '3']);
  });
});

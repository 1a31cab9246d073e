/** Where a run may be written, through the real CLI (reliability issue, items 4, 7 and 9). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readMetrics } from '../../src/train/metrics.js';
import { TINY_TRAIN, expectOneLineError, metarl } from './run-cli.js';

describe('metarl train --out', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-out-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a directory that holds a run, naming --resume and --force; --force replaces that run, but only once the new one can start', () => {
    const out = join(dir, 'run');
    expect(metarl([...TINY_TRAIN, '--iterations', '2', '--checkpoint-every', '1', '--out', out]).status).toBe(0);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const files = () => ['config.json', 'metrics.jsonl', 'eval.json'].map((f) => readFileSync(join(out, f), 'utf8'));
    const before = files();

    const again = metarl([...TINY_TRAIN, '--iterations', '1', '--seed', '9', '--out', out]);
    expectOneLineError(again, 'METARL_RUN_EXISTS', new RegExp(`${out} already holds a run .*--resume ${out}.*--force`));
    const badForce = metarl([...TINY_TRAIN, '--iterations', '1', '--out', out, '--force', '--inner-lr', '-1']);
    expectOneLineError(badForce, 'METARL_CONFIG_INVALID', /innerLr/);
    expect(files()).toEqual(before);
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['1', '2']);

    const forced = metarl([...TINY_TRAIN, '--iterations', '1', '--seed', '9', '--out', out, '--force']);
    expect(forced.stderr).toBe('');
    expect(forced.status).toBe(0);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual(['1']);
    expect(readMetrics(out).map((r) => r.iteration)).toEqual([1]);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).seed).toBe(9);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('accepts an existing empty directory', () => {
    const run = metarl([...TINY_TRAIN, '--iterations', '1', '--out', dir]);
    expect(run.status).toBe(0);
    expect(existsSync(join(dir, 'checkpoints', '1', 'state.json'))).toBe(true);
  });

  it('names a path that is a file, or runs through one, before any work', () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    expectOneLineError(metarl([...TINY_TRAIN, '--out', file]), 'METARL_FILE_ERROR', new RegExp(`cannot create run directory ${file}: it is a file, not a directory`));
    expectOneLineError(metarl([...TINY_TRAIN, '--out', join(file, 'run')]), 'METARL_FILE_ERROR', new RegExp(`${file} is a file, not a directory`));
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it.runIf(existsSync('/proc/self'))('fails at once under /proc, where a recursive mkdir never returns', () => {
    const run = metarl([...TINY_TRAIN, '--out', '/proc/metarl-run/x'], { timeoutMs: 30_000 });
    expectOneLineError(run, 'METARL_FILE_ERROR', /cannot create run directory \/proc\/metarl-run\/x: \/proc does not accept new entries/);
  });

  it.runIf(existsSync('/sys/kernel'))('names the run directory the system refuses to create (/sys)', () => {
    expectOneLineError(metarl([...TINY_TRAIN, '--out', '/sys/metarl-run']), 'METARL_FILE_ERROR', /cannot create run directory \/sys\/metarl-run: (permission denied|operation not permitted|read-only)/);
  });
});

describe('metarl eval --out', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-eval-out-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('checks that the table can be written before evaluating (which would take minutes at 100000 tasks)', () => {
    const out = join(dir, 'run');
    expect(metarl([...TINY_TRAIN, '--iterations', '1', '--out', out]).status).toBe(0);
    mkdirSync(join(dir, 'taken.json'));
    const targets: [string, RegExp][] = [
      [join(dir, 'taken.json'), /taken\.json: it is a directory/],
      [join(dir, 'no', 'such.json'), /such\.json: its folder .*no does not exist/],
    ];
    if (existsSync('/proc/self')) targets.push(['/proc/nope.json', /cannot write \/proc\/nope\.json: \/proc does not accept new entries/]);
    for (const [target, text] of targets) {
      const run = metarl(['eval', out, '--tasks', '100000', '--out', target], { timeoutMs: 30_000 });
      expectOneLineError(run, 'METARL_FILE_ERROR', text);
      expect(run.stdout).toBe('');
    }
  });
});

/** `metarl check` on a user's file (issue 5): a short report, exit 0 when every check passes. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TINY_TRAIN, expectOneLineError, metarl as metarlSources } from '../train/run-cli.js';

const root = new URL('../../', import.meta.url).pathname;
const metarl = (...args: string[]) => spawnSync(process.execPath, ['bin/metarl.js', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('metarl check <file>', () => {
  it('passes examples/reacher-goal.ts with exit 0', () => {
    const run = metarl('check', 'examples/reacher-goal.ts');
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.stdout).toMatch(/all checks passed/);
    expect(run.stdout).toMatch(/reset\/step follow the spec/);
    expect(run.status).toBe(0);
  });

  it('fails a broken fixture with a non-zero exit naming the failed check', () => {
    const run = metarl('check', 'test/fixtures/envs/nan-reward.ts');
    expect(run.status).not.toBe(0);
    expect(run.stdout + run.stderr).toMatch(/FAIL .*returned reward NaN/);
    expect(run.stdout).toMatch(/check\(s\) failed/);
  });
});

describe('metarl errors (reliability issue, item 9)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-cli-errors-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--config: a missing file, bad JSON and an unknown key are each one clear error naming the file', () => {
    writeFileSync(join(dir, 'bad.json'), '{"iterations": 3,');
    writeFileSync(join(dir, 'typo.json'), '{"iteratons": 3}');
    const cases: [string, string, RegExp][] = [
      ['missing.json', 'METARL_FILE_ERROR', /cannot read --config .*missing\.json: no such file or directory \(ENOENT\)/],
      ['bad.json', 'METARL_CONFIG_INVALID', /--config .*bad\.json is not valid JSON/],
      ['typo.json', 'METARL_CONFIG_INVALID', /invalid --config .*typo\.json:\n {2}- \(root\): Unrecognized key: "iteratons"/],
    ];
    for (const [file, code, text] of cases) {
      expectOneLineError(metarlSources([...TINY_TRAIN, '--config', join(dir, file), '--out', join(dir, 'run')]), code, text);
    }
  });

  it('--meta-batch-size 1e12 is METARL_CONFIG_INVALID naming the flag, not a RangeError', () => {
    const run = metarlSources([...TINY_TRAIN, '--meta-batch-size', '1e12', '--out', join(dir, 'run')]);
    expectOneLineError(run, 'METARL_CONFIG_INVALID', /--meta-batch-size is out of range \(1000000000000\)/);
  });

  it('`metarl envs | head -n 0` exits quietly (status 0, nothing on stderr) when the reader has closed the pipe', () => {
    const run = spawnSync('bash', ['-c', `"${process.execPath}" --import tsx src/train/cli.ts envs 2>"${join(dir, 'err')}" | head -n 0; echo "status \${PIPESTATUS[0]}"`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toBe('status 0\n');
    expect(readFileSync(join(dir, 'err'), 'utf8')).toBe('');
  });

  it('an unexpected error is one short line; METARL_DEBUG=1 adds its stack trace', () => {
    writeFileSync(join(dir, 'config.json'), '{}');
    const args = [...TINY_TRAIN, '--config', join(dir, 'config.json'), '--out', join(dir, 'run')];
    const fault = 'readFileSync:config.json:1:PLAIN';
    const plain = metarlSources(args, { fault });
    expect(plain.stderr).toBe('error: injected failure (unexpected: METARL_DEBUG=1 prints its stack trace)\n');
    expect(plain.status).toBe(1);
    const debug = metarlSources(args, { fault, env: { METARL_DEBUG: '1' } });
    expect(debug.stderr).toMatch(/^error: injected failure/);
    expect(debug.stderr).toMatch(/^\s+at .*config\.ts/m);
    expect(debug.status).toBe(1);
  });
});

/** `metarl check` on a user's file (issue 5): a short report, exit 0 when every check passes. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

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

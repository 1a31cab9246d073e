/**
 * A run trained on an env file records the file's absolute path, so `eval` works from any
 * directory, and says which file it misses when that has moved (reliability issue, item 16).
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectOneLineError, metarl } from './run-cli.js';

const lineGoal = new URL('../fixtures/envs/line-goal.ts', import.meta.url).pathname;
const tiny = ['--agent', 'maml', '--iterations', '1', '--meta-batch-size', '2', '--episodes-per-task', '2', '--hidden', '[8]', '--workers', '0', '--backend', 'cpu', '--quiet', '--eval-tasks', '1'];

describe('a run on an env file', () => {
  let project: string;
  beforeEach(() => {
    project = mkdtempSync(join(tmpdir(), 'metarl-env-path-'));
    mkdirSync(join(project, 'envs'));
    writeFileSync(join(project, 'envs', 'my-env.ts'), `export { default } from ${JSON.stringify(lineGoal)};\n`);
  });
  afterEach(() => rmSync(project, { recursive: true, force: true }));

  it('stores the path resolved, so eval works from another directory; a moved file is named as METARL_FILE_MISSING', () => {
    const trained = metarl(['train', '--env', 'envs/my-env.ts', ...tiny, '--out', 'run'], { cwd: project });
    expect(trained.stderr).toBe('');
    expect(trained.status).toBe(0);
    const stored = join(project, 'envs', 'my-env.ts');
    expect(JSON.parse(readFileSync(join(project, 'run', 'config.json'), 'utf8')).env).toBe(stored);

    const evaluated = metarl(['eval', join(project, 'run'), '--tasks', '1'], { cwd: tmpdir() });
    expect(evaluated.stderr).toBe('');
    expect(evaluated.status).toBe(0);

    renameSync(stored, join(project, 'envs', 'moved.ts'));
    for (const args of [['eval', join(project, 'run'), '--tasks', '1'], ['train', '--resume', join(project, 'run'), '--iterations', '2']]) {
      const run = metarl(args, { cwd: tmpdir() });
      expectOneLineError(run, 'METARL_FILE_MISSING', new RegExp(`was trained on the env file ${stored}, which no longer exists: move it back there, or set "env" in .*config\\.json`));
    }
  });
});

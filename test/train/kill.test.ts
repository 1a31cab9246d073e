// kill -9 mid-iteration: no handler runs, workers die with the process, a checkpoint may be half
// written. The run must resume from its newest whole checkpoint with every metrics row once.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listCheckpoints } from '../../src/train/checkpoint.js';
import { metarl } from './run-cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const env = fileURLToPath(new URL('../fixtures/envs/line-goal.ts', import.meta.url));
const RL2 = ['--agent', 'rl2', '--meta-batch-size', '2', '--trials-per-task', '1', '--hidden', '8', '--backend', 'cpu', '--quiet', '--eval-tasks', '1'];

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'metarl-kill-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('kill -9 mid-iteration', () => {
  it('resumes from the newest whole checkpoint; metrics rows run 1…N once each', async () => {
    const out = join(dir, 'run');
    const args = ['--import', tsx, join(root, 'src/train/cli.ts'), 'train', '--env', env, ...RL2, '--iterations', '100000', '--checkpoint-every', '1', '--workers', '2', '--out', out];
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const end = Date.now() + 120_000;
    while (listCheckpoints(out).length < 3) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no third checkpoint in ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    // Somewhere inside a later iteration, checkpoint writes included.
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 200));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const saved = Math.max(...listCheckpoints(out));
    const resumed = metarl(['train', '--resume', out, '--iterations', String(saved + 2)]);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { iteration: number });
    expect(rows.map((r) => r.iteration)).toEqual(Array.from({ length: saved + 2 }, (_, i) => i + 1));
    expect(readdirSync(join(out, 'checkpoints')).filter((name) => name.startsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(out, 'checkpoints', String(saved + 2)))).toBe(true);
  }, 300_000);
});

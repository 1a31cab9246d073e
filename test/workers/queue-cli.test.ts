// `metarl train --queue` and `metarl worker` as a user runs them (#9): the same run directory as
// --workers 0; with no worker, or with every worker gone mid-run, one clear error and the
// last checkpoint intact.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLatestCheckpoint } from '../../src/train/checkpoint.js';
import { root, startRedis, startWorker, type RedisServer, type WorkerProcess } from './queue-harness.js';

const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const TRAIN = ['train', '--env', 'point-nav', '--agent', 'maml', '--meta-batch-size', '4', '--episodes-per-task', '2', '--hidden', '[8]', '--backend', 'cpu', '--quiet', '--eval-tasks', '2', '--seed', '3'];
/** Figures that measure time, which no two runs share. */
const TIMED = ['sampleSeconds', 'learnSeconds', 'stepsPerSecond', 'wallSeconds', 'outerSeconds'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI from source, asynchronously (the test kills workers while it runs). */
function metarl(args: string[], onStdout?: (text: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsx, join(root, 'src/train/cli.ts'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, METARL_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function untimedMetrics(runDir: string): unknown[] {
  return readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => Object.fromEntries(Object.entries(JSON.parse(line) as Record<string, number>).filter(([k]) => !TIMED.includes(k))));
}

let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'metarl-queue-cli-'));
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('metarl train --queue', () => {
  it('with 2 `metarl worker` processes writes the metrics and the weights of --workers 0', async () => {
    const workers = await Promise.all([startWorker(redis.url), startWorker(redis.url)]);
    try {
      const local = await metarl([...TRAIN, '--iterations', '2', '--workers', '0', '--out', join(dir, 'local')]);
      expect(local.code, local.stderr).toBe(0);
      const queued = await metarl([...TRAIN, '--iterations', '2', '--queue', redis.url, '--out', join(dir, 'queued')]);
      expect(queued.code, queued.stderr).toBe(0);
      expect(queued.stdout).toMatch(/queue redis:\/\/127\.0\.0\.1:\d+: 2 lanes on 2 workers/);
      expect(untimedMetrics(join(dir, 'queued'))).toEqual(untimedMetrics(join(dir, 'local')));
      const weights = (run: string) => readFileSync(join(dir, run, 'checkpoints', '2', 'weights.bin'));
      expect(weights('queued').equals(weights('local'))).toBe(true);
      // The queue URL (which may hold a password) is not part of the run's config.
      expect(readFileSync(join(dir, 'queued', 'config.json'), 'utf8')).not.toContain('redis://');
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    // Two trainings and two workers in turn: ~2.5 min on a loaded 2-core machine.
  }, 600_000);

  it('with no worker: one error naming the server and how to start workers, after --queue-wait', async () => {
    const run = await metarl([...TRAIN, '--iterations', '2', '--queue', redis.url, '--queue-wait', '2', '--out', join(dir, 'none')]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error \[METARL_NO_WORKERS\]: no queue worker registered on redis:\/\/127\.0\.0\.1:\d+ within 2 s.*npx metarl worker --queue redis:\/\/127\.0\.0\.1:\d+/);
  });

  it('when every worker is killed mid-run: an error naming the shards left undone, and the last checkpoint intact', async () => {
    const worker: WorkerProcess = await startWorker(redis.url);
    const out = join(dir, 'orphaned');
    let killed: Promise<void> | null = null;
    const run = await metarl([...TRAIN, '--iterations', '500', '--checkpoint-every', '1', '--queue', redis.url, '--queue-wait', '3', '--out', out], () => {
      // After the first checkpoint: mid-run, with something to keep.
      if (!killed && existsSync(join(out, 'checkpoints', '1', 'state.json'))) killed = worker.kill();
    });
    await killed;
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^error \[METARL_NO_WORKERS\]: no live queue worker for 3 s, so these shards were not done: lane 0 \(tasks 0–3 of the meta-batch \(MAML '\w+'\)\)/);
    const kept = /checkpoint (\d+) is kept: fix that, then metarl train --resume/.exec(run.stderr);
    expect(kept).not.toBeNull();
    expect(readLatestCheckpoint(out).iteration).toBe(Number(kept![1]));
  }, 400_000);
});

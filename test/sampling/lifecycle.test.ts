import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { transformSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { createSampler } from '../../src/sampling/index.js';
import type { SampleJob, Sampler } from '../../src/sampling/index.js';
import { liveEnvs } from '../fixtures/sampling-point.js';
import { POINT_REF, randomPolicy } from '../fixtures/sampling-policies.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

let sampler: Sampler | null = null;
afterEach(async () => {
  await sampler?.close();
  sampler = null;
});

/** Timer ticks on this thread while one slot spends ~2 ms per step for 20 steps. */
async function ticksWhileSampling(workers: number): Promise<number> {
  sampler = await createSampler({ family: POINT_REF, workers });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const batch = await sampler.sample({ tasks: [{ goal: 0, busyMs: 2 }], slotsPerTask: 1, episodesPerSlot: 1, seed: 1 }, randomPolicy(1, 1));
  clearInterval(timer);
  expect(batch.envSteps).toBe(20);
  return ticks;
}

describe('sampler lifecycle', () => {
  it('keeps the event loop of the calling thread running while workers step', async () => {
    const threaded = await ticksWhileSampling(1);
    await sampler!.close();
    const inline = await ticksWhileSampling(0);
    // ~40 ms of env work: a free event loop ticks many times, the inline sampler (which owns the thread) never.
    expect(threaded).toBeGreaterThanOrEqual(5);
    expect(inline).toBeLessThan(threaded);
  });

  it('disposes every env it made, after a job and after a failed job', async () => {
    sampler = await createSampler({ family: POINT_REF, workers: 0 });
    const before = liveEnvs.count;
    const job = { tasks: [{ goal: 0 }, { goal: 1 }], slotsPerTask: 3, episodesPerSlot: 2, seed: 1 };
    let peak = 0;
    await sampler.sample(job, { act: (input) => ((peak = Math.max(peak, liveEnvs.count)), new Float32Array(6)) });
    expect(peak - before).toBe(6);
    expect(liveEnvs.count).toBe(before);
    await expect(sampler.sample({ ...job, tasks: [{ goal: 0, throwAt: 3 }] }, randomPolicy(1, 1))).rejects.toThrow('motor exploded');
    expect(liveEnvs.count).toBe(before);
  });

  for (const mode of ['close', 'forget']) {
    it(`lets the process exit by itself after sampling${mode === 'forget' ? ', even when close() is forgotten' : ''}`, async () => {
      // A hanging worker would keep the child alive until the timeout kills it (and execFile rejects).
      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'test/fixtures/sampling-exit.ts'), mode], { cwd: ROOT, timeout: 30_000 });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ mode, envSteps: 4 * 2 * 20 });
    });
  }

  it('runs from compiled JavaScript under plain node, with the same numbers, for a .js or a .ts family', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'metarl-sampling-'));
    try {
      // Transpile what the sampler needs, keeping the tree shape so the relative `.js` imports resolve.
      const sources = [
        ...readdirSync(join(ROOT, 'src/core')).map((f) => `src/core/${f}`),
        ...readdirSync(join(ROOT, 'src/sampling')).map((f) => `src/sampling/${f}`),
        'test/fixtures/sampling-point.ts',
        'test/fixtures/sampling-policies.ts',
      ].filter((f) => f.endsWith('.ts'));
      for (const file of sources) {
        const { code } = transformSync(readFileSync(join(ROOT, file), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' });
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        writeFileSync(join(dir, file.replace(/\.ts$/, '.js')), code);
      }
      copyFileSync(join(ROOT, 'test/fixtures/sampling-compiled.mjs'), join(dir, 'main.mjs'));
      writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const { stdout } = await run(process.execPath, [join(dir, 'main.mjs'), POINT_REF.module], { cwd: dir, timeout: 30_000 });
      const compiled = JSON.parse(stdout) as Record<string, string>;

      sampler = await createSampler({ family: POINT_REF, workers: 2 });
      const job: SampleJob = { tasks: [{ goal: 0.5 }, { goal: -0.5, terminateAt: 7 }], slotsPerTask: 3, episodesPerSlot: 2, seed: 11 };
      const batch = await sampler.sample(job, randomPolicy(3, 1));
      const hash = createHash('sha256');
      for (const a of [batch.obs, batch.actions, batch.rewards, batch.lengths]) hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      const fromSource = hash.digest('hex');
      expect(compiled).toEqual({ 0: fromSource, 2: fromSource, ts: fromSource });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

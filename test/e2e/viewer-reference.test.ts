/**
 * The viewer for issue 10's story, in headless Chromium on a scripted viewer server: the
 * adaptation chart draws the run's reference curves (its held-out eval and the fine-tuning
 * baselines, from hello) beside the task on screen, and each lane leaves a fading trail of
 * its root body that grows with the played frames, stays within its ring, and starts
 * afresh with a new episode. Screenshots go to test-output/e2e/.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { CHROMIUM } from './browser.js';
import { openScriptedViewer, type ScriptedViewer } from './scripted-viewer.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDescription } from '../../src/core/scene.js';
import type { RunInfo } from '../../src/stream/protocol.js';
import type { ViewerServer } from '../../src/stream/server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outDir = join(root, 'test-output/e2e');
const DT = 0.05;
/** viewer/src/trails.ts keeps 4 s of steps. */
const TRAIL_POINTS = 4 / DT;
/**
 * A step every 60 ms, a little slower than the 50 ms it is shown for: the server then
 * sends every frame (it holds frames back, leaving cuts, only when they come faster).
 */
const TICK_MS = 60;

const scene: SceneDescription = {
  family: 'trail-dot',
  bodies: [{ name: 'point', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4070c0' }] }],
  ground: { kind: 'plane', height: 0, color: '#cccccc' },
  markers: [],
  taskLabel: { goal: 1 },
};

const REFERENCE = [
  { label: 'maml (held-out eval)', returns: [-40.1, -20.3], stderr: [1.2, 0.9] },
  { label: 'random init + fine-tune', returns: [-45, -44], stderr: [1, 1.1] },
  { label: 'pretrained + fine-tune', returns: [-30, -29], stderr: [0.5, 0.6] },
];
const RUN: RunInfo = { family: 'trail-dot', agent: 'maml', backend: 'cpu', mode: 'view', config: {}, stages: ['pre', 'step 1'], reference: REFERENCE };

/** Each env's trail length, in env id order. */
const trailPoints = (page: Page): Promise<number[]> =>
  page.$eval('#app', (el) => (el.getAttribute('data-trail-points') ?? '').split(' ').filter(Boolean).map(Number));

describe.skipIf(!existsSync(CHROMIUM))('viewer: reference curves and fading trails (issue 10, headless Chromium)', () => {
  let viewer: ScriptedViewer;
  let server: ViewerServer;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    viewer = await openScriptedViewer({
      run: RUN,
      viewport: { width: 960, height: 540 },
      tickMs: TICK_MS,
      outDir,
      setup: (server) => {
        server.scene(0, scene, { index: 0, label: 'pre' }, DT);
        server.scene(1, scene, { index: 1, label: 'step 1' }, DT);
      },
      tick: (server, step) => {
        // Both points walk along x on a gentle curve: a trail has a shape to see.
        const poses = new Float32Array(7);
        poses[6] = 1;
        poses[0] = step * 0.03;
        poses[1] = 0.1;
        poses[2] = 0.3 * Math.sin(step * 0.08);
        server.frame(0, step, poses, -0.5);
        server.frame(1, step, poses, -0.2);
      },
    });
    ({ server, page, pageErrors } = viewer);
  }, 60_000);

  afterAll(() => viewer?.close());

  it('the adaptation chart draws each reference curve, labelled, beside the task on screen', async () => {
    await page.waitForFunction(() => Number(document.getElementById('chart-adapt')!.dataset.referencePoints) === 6, null, { timeout: 30_000 });
    const legend = await page.$$eval('#chart-adapt .u-legend .u-label', (els) => els.map((e) => e.textContent));
    expect(legend).toEqual(['task on screen', ...REFERENCE.map((c) => c.label)]);
    expect(await page.$eval('#chart-adapt', (el) => el.getAttribute('data-points'))).toBe('0'); // no episode has ended yet

    server.episodeEnd(0, -38, 100);
    server.episodeEnd(1, -19, 100);
    await page.waitForFunction(() => Number(document.getElementById('chart-adapt')!.dataset.points) === 2, null, { timeout: 10_000 });
    expect(await page.$eval('#chart-adapt', (el) => el.getAttribute('data-reference-points'))).toBe('6');
    await page.locator('#chart-adapt').screenshot({ path: join(outDir, 'adaptation-reference.png') });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("each lane's trail grows with the played frames up to its ring's size, never past it, and starts afresh with a new episode", async () => {
    expect(await page.$eval('#app', (el) => el.getAttribute('data-trail-capacity'))).toBe(`${TRAIL_POINTS} ${TRAIL_POINTS}`);
    // A new episode (the step starts again at 0): the trail starts afresh instead of joining the
    // two. Any length short of the ring shows the restart; a busy machine may poll it late.
    viewer.clock.step = 0;
    // The lengths that showed it are the trace's first sample: a loaded machine may fill the
    // ring between this poll and the next.
    const restarted = await page.waitForFunction((n) => {
      const points = (document.getElementById('app')!.dataset.trailPoints ?? '').split(' ').map(Number);
      return points.length === 2 && points.every((p) => p > 0 && p < n) ? points : null;
    }, TRAIL_POINTS, { timeout: 30_000, polling: 50 });
    const seen: number[][] = [(await restarted.jsonValue()) as number[]];
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      const points = await trailPoints(page);
      seen.push(points);
      if (points.every((n) => n === TRAIL_POINTS)) break;
      await page.waitForTimeout(250);
    }
    // Growing: the lengths rise, sample by sample, from part of the ring to all of it.
    const trace = `trail lengths seen: ${JSON.stringify(seen)}`;
    expect(seen[0].every((n) => n < TRAIL_POINTS), trace).toBe(true);
    for (let i = 1; i < seen.length; i++) for (const e of [0, 1]) expect(seen[i][e], trace).toBeGreaterThanOrEqual(seen[i - 1][e]);
    expect(seen.at(-1)).toEqual([TRAIL_POINTS, TRAIL_POINTS]);
    await page.screenshot({ path: join(outDir, 'trails.png') });
    // Bounded: frames keep coming for seconds more, and no trail passes its ring.
    for (let i = 0; i < 12; i++) {
      await page.waitForTimeout(250);
      seen.push(await trailPoints(page));
    }
    expect(seen.flat().every((n) => n <= TRAIL_POINTS)).toBe(true);
    expect(seen.at(-1)).toEqual([TRAIL_POINTS, TRAIL_POINTS]);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it("the training chart draws a run's checks on validation tasks as whiskered dots beside its curve, labelled per stage", async () => {
    const row = (iteration: number, validation?: { returns: number[]; stderr: number[]; tasks: number }) => ({ iteration, stageReturns: [-40 + iteration, -35 + 2 * iteration], values: { loss: 1 }, ...(validation ? { validation } : {}) });
    server.metrics(row(1));
    server.metrics(row(2, { returns: [-37, -30], stderr: [1.5, 1.2], tasks: 10 }));
    server.metrics(row(3));
    server.metrics(row(4, { returns: [-35, -24], stderr: [1.4, 1.1], tasks: 10 }));
    await page.waitForFunction(() => document.getElementById('chart-train')!.dataset.points === '8', null, { timeout: 20_000 });
    expect(await page.$eval('#chart-train', (el) => el.getAttribute('data-validation-points'))).toBe('4');
    const legend = await page.$$eval('#chart-train .u-legend .u-label', (els) => els.map((e) => e.textContent));
    expect(legend).toEqual(['pre', 'step 1', 'pre, validation', 'step 1, validation']);
    await page.locator('#chart-train').screenshot({ path: join(outDir, 'training-validation.png') });
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('a run without reference curves (train mode) draws the live curve alone', async () => {
    server.hello({ ...RUN, mode: 'train', reference: undefined });
    await page.waitForFunction(() => document.getElementById('chart-adapt')!.dataset.referencePoints === '0', null, { timeout: 20_000 });
    expect(await page.$$('#chart-adapt .u-legend')).toHaveLength(0);
    expect(pageErrors).toEqual([]);
  }, 30_000);
});

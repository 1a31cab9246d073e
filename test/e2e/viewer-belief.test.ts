/**
 * The viewer's belief panel for issue 8 (PEARL), in headless Chromium on a scripted viewer
 * server: no panel while no belief arrives; with a trial's three beliefs (std shrinking), the
 * z-plane shows three 1-σ ellipses whose radii shrink, labelled 1, 2, 3, around the prior's
 * dashed unit circle, and the entropy per episode falls; a new trial's scene or a reset clears
 * it; a one-dimensional belief still shows, as a circle. Screenshots go to test-output/e2e/.
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
const TICK_MS = 60;
const LANES = 3;

const scene: SceneDescription = {
  family: 'belief-dot',
  bodies: [{ name: 'point', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4070c0' }] }],
  ground: { kind: 'plane', height: 0, color: '#cccccc' },
  markers: [],
  taskLabel: { goal: 1 },
};
const RUN: RunInfo = { family: 'belief-dot', agent: 'pearl', backend: 'cpu', mode: 'view', config: {}, stages: ['episode 1', 'episode 2', 'episode 3'] };
const stage = (e: number) => ({ index: e, label: `episode ${e + 1}` });
/** The trial's beliefs: the prior, then narrower and narrower posteriors drifting to the task's z. */
const BELIEFS = [
  { mean: [0, 0, 0, 0, 0], std: [1, 1, 1, 1, 1] },
  { mean: [0.6, -0.3, 0.1, 0, 0.2], std: [0.5, 0.4, 0.6, 0.5, 0.5] },
  { mean: [0.8, -0.5, 0.1, 0, 0.2], std: [0.2, 0.15, 0.3, 0.2, 0.2] },
];

interface Ellipse {
  episode: number;
  rx: number;
  ry: number;
}

const ellipses = (page: Page): Promise<Ellipse[]> =>
  page.$$eval('#belief ellipse.belief-ellipse', (els) =>
    els.map((e) => ({ episode: Number(e.getAttribute('data-episode')), rx: Number(e.getAttribute('rx')), ry: Number(e.getAttribute('ry')) })),
  );
const panelHidden = (page: Page): Promise<boolean> => page.$eval('#belief', (el) => (el as HTMLElement).hidden);

describe.skipIf(!existsSync(CHROMIUM))('viewer: the belief panel (issue 8, headless Chromium)', () => {
  let viewer: ScriptedViewer;
  let server: ViewerServer;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    viewer = await openScriptedViewer({
      run: RUN,
      viewport: { width: 960, height: 720 },
      tickMs: TICK_MS,
      outDir,
      setup: (server) => {
        for (let e = 0; e < LANES; e++) server.scene(e, scene, stage(e), DT);
      },
      tick: (server, step) => {
        const poses = new Float32Array(7);
        poses[6] = 1;
        poses[0] = step * 0.03;
        for (let e = 0; e < LANES; e++) server.frame(e, step, poses, -0.1);
      },
    });
    ({ server, page, pageErrors } = viewer);
  }, 60_000);

  afterAll(() => viewer?.close());

  it('shows no belief panel while no belief arrives', async () => {
    // Frames have been played: the page is live, and it has had every chance to show a panel.
    await page.waitForFunction(() => Number(document.getElementById('app')!.dataset.frames) > 10, null, { timeout: 30_000 });
    expect(await panelHidden(page)).toBe(true);
    expect(await page.isVisible('#belief')).toBe(false);
    expect(await ellipses(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("draws the trial's beliefs as 1-σ ellipses that shrink episode by episode, labelled, around the prior, with the entropy falling", async () => {
    BELIEFS.forEach((b, e) => server.belief(e, e, b, stage(e)));
    await page.waitForFunction(() => document.querySelectorAll('#belief ellipse.belief-ellipse').length === 3, null, { timeout: 20_000 });
    expect(await page.isVisible('#belief')).toBe(true);
    const drawn = await ellipses(page);
    expect(drawn.map((d) => d.episode)).toEqual([0, 1, 2]);
    for (let i = 1; i < drawn.length; i++) {
      expect(drawn[i].rx).toBeLessThan(drawn[i - 1].rx);
      expect(drawn[i].ry).toBeLessThan(drawn[i - 1].ry);
    }
    // One plot scale for all: each radius is its std times the same factor, the prior's radius.
    const priorR = Number(await page.$eval('#belief circle.prior', (el) => el.getAttribute('r')));
    expect(await page.$eval('#belief circle.prior', (el) => getComputedStyle(el).strokeDasharray)).not.toBe('none');
    drawn.forEach((d, e) => {
      expect(d.rx).toBeCloseTo(BELIEFS[e].std[0] * priorR, 6);
      expect(d.ry).toBeCloseTo(BELIEFS[e].std[1] * priorR, 6);
    });
    expect(await page.$$eval('#belief text.belief-label', (els) => els.map((t) => t.textContent))).toEqual(['1', '2', '3']);
    expect(await page.$$eval('#belief polyline.belief-path', (els) => els.length)).toBe(1);
    // Entropy of N(μ, diag σ²): Σ log σ + (L / 2) log(2πe); the prior's is 5 × 1.4189.
    const entropy = (await page.$eval('#belief', (el) => (el as HTMLElement).dataset.entropy ?? '')).split(' ').map(Number);
    const expected = BELIEFS.map((b) => b.std.reduce((h, s) => h + Math.log(s) + 0.5 * Math.log(2 * Math.PI * Math.E), 0));
    entropy.forEach((h, i) => expect(h).toBeCloseTo(expected[i], 3));
    expect(entropy[1]).toBeLessThan(entropy[0]);
    expect(entropy[2]).toBeLessThan(entropy[1]);
    expect(await page.$$eval('#belief .belief-entropy li', (els) => els.map((li) => li.textContent))).toEqual(expected.map((h, i) => `${i + 1}: ${h.toFixed(2)}`));
    await page.locator('#charts').screenshot({ path: join(outDir, 'belief-panel.png') });
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("a later lane's new scene ends its belief and the later ones; a new trial's first scene, or a reset, all of them", async () => {
    server.scene(2, scene, stage(2), DT);
    await page.waitForFunction(() => document.querySelectorAll('#belief ellipse.belief-ellipse').length === 2, null, { timeout: 20_000 });
    expect((await ellipses(page)).map((d) => d.episode)).toEqual([0, 1]);
    server.scene(0, scene, stage(0), DT);
    await page.waitForFunction(() => (document.getElementById('belief') as HTMLElement).hidden, null, { timeout: 20_000 });
    expect(await ellipses(page)).toEqual([]);

    server.belief(0, 0, BELIEFS[0], stage(0));
    await page.waitForFunction(() => document.querySelectorAll('#belief ellipse.belief-ellipse').length === 1, null, { timeout: 20_000 });
    server.reset();
    await page.waitForFunction(() => (document.getElementById('belief') as HTMLElement).hidden, null, { timeout: 20_000 });
    expect(await ellipses(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('a one-dimensional belief is a circle of radius std[0], not an invisible flat ellipse, and z[1] is marked as none', async () => {
    server.scene(0, scene, stage(0), DT);
    server.belief(0, 0, { mean: [0.5], std: [0.4] }, stage(0));
    await page.waitForFunction(() => document.querySelectorAll('#belief ellipse.belief-ellipse').length === 1, null, { timeout: 20_000 });
    const priorR = Number(await page.$eval('#belief circle.prior', (el) => el.getAttribute('r')));
    const [drawn] = await ellipses(page);
    expect(drawn.rx).toBeCloseTo(0.4 * priorR, 6);
    expect(drawn.ry).toBeCloseTo(0.4 * priorR, 6);
    const box = await page.locator('#belief ellipse.belief-ellipse').boundingBox();
    expect(box!.height).toBeGreaterThan(1);
    expect(await page.$$eval('#belief text.belief-axis-label', (els) => els.map((t) => t.textContent))).toContain('z[1] (none)');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

/**
 * The viewer end to end: real `metarl` processes (./cli-process.ts) serve the page, and
 * Debian's Chromium (headless, WebGL on SwiftShader) watches them: a short `train --view`
 * on cheetah-vel, then `view` on the run it left (before/after adaptation side by side),
 * then `view --replay` of the recording that wrote, on the same port (the page reconnects).
 * Screenshots go to test-output/e2e/.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BrowserContext, Page } from 'playwright-core';
import { CHROMIUM, launchChromium } from './browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { PROTOCOL_VERSION } from '../../src/stream/protocol.js';
import { serveViewer } from '../../src/stream/static.js';
import { startCli, type CliProcess } from './cli-process.js';
import { ensureViewerBundle, viewerDir } from './viewer-bundle.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const outDir = join(root, 'test-output/e2e');

/** Small enough for a few seconds an iteration on two busy cores; 50 steps = 2.5 s on screen. */
// More iterations than any machine runs before the test's Ctrl-C: a fast CI machine had finished 40 first.
const TRAIN_ARGS = ['--env', 'cheetah-vel', '--agent', 'maml', '--iterations', '100000', '--seed', '3', '--backend', 'wasm', '--workers', '1', '--quiet'];
const AGENT_ARGS = ['--meta-batch-size', '4', '--episodes-per-task', '4', '--horizon', '50'];

const launch = (userDataDir: string): Promise<BrowserContext> => launchChromium(userDataDir, { width: 960, height: 540 });

/** Luminance of the WebGL canvas, downsampled to 96 × 54, read in the page. */
function canvasLuma(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const src = document.querySelector('#stage canvas') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = 96;
    c.height = 54;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(src, 0, 0, c.width, c.height);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    const out: number[] = [];
    for (let i = 0; i < px.length; i += 4) out.push(0.2126 * px[i] + 0.7152 * px[i + 1] + 0.0722 * px[i + 2]);
    return out;
  });
}

function variance(xs: number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
}

/**
 * Screenshots a second apart until two differ (the robots moved) or `tries` pairs are
 * spent: live training sends motion in chunks, with still gaps while the learner updates.
 */
async function seeMotion(page: Page, name: string, tries = 6): Promise<{ first: number[]; changed: number }> {
  let first = await canvasLuma(page);
  let changed = 0;
  for (let i = 0; i < tries && changed <= 20; i++) {
    await page.screenshot({ path: join(outDir, `${name}-1.png`) });
    await page.waitForTimeout(1000);
    const second = await canvasLuma(page);
    await page.screenshot({ path: join(outDir, `${name}-2.png`) });
    changed = first.filter((v, k) => Math.abs(v - second[k]) > 8).length;
    first = second;
  }
  return { first, changed };
}

const numberAttr = (page: Page, selector: string, attr: string): Promise<number> =>
  page.$eval(selector, (el, a) => Number(el.getAttribute(a as string) ?? '0'), attr);
const framesAbove = (page: Page, n: number, timeout = 60_000) =>
  page.waitForFunction((k) => Number(document.getElementById('app')!.dataset.frames) > k, n, { timeout });

// Off CI a machine without Chromium skips the browser suite; on CI a missing browser is a broken install, not a pass.
it.runIf(process.env.CI === 'true')('has the browser that .ci/run installs', () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: .ci/run installs Debian's chromium`).toBe(true);
});

describe.skipIf(!existsSync(CHROMIUM))('viewer in headless Chromium on real metarl processes', () => {
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let runDir: string;
  let proc: CliProcess | null = null;
  let viewPort = 0;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureViewerBundle();
    mkdirSync(outDir, { recursive: true });
    runDir = mkdtempSync(join(tmpdir(), 'metarl-e2e-run-'));
    userDataDir = mkdtempSync(join(tmpdir(), 'metarl-chromium-'));
    context = await launch(userDataDir);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await proc?.interrupt(5_000);
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it('train --view: moving robots, the HUD and the training curve; Ctrl-C saves a checkpoint', async () => {
    proc = startCli(['train', ...TRAIN_ARGS, '--view', '--out', runDir, ...AGENT_ARGS]);
    await page.goto(await proc.url);
    await framesAbove(page, 30);

    const { first, changed } = await seeMotion(page, 'train');
    // Not blank: a sky, a floor and robots make a spread of brightness.
    expect(variance(first)).toBeGreaterThan(50);
    // The robots move: a second later, part of the picture changed.
    expect(changed).toBeGreaterThan(20);

    expect(await page.textContent('#hud-mode')).toBe('live');
    expect(await page.textContent('#hud-family')).toBe('cheetah-vel');
    expect(await page.textContent('#hud-agent')).toBe('maml · wasm');
    // The learner's own stage labels (the protocol names no agent).
    expect(await page.textContent('#hud-stage')).toMatch(/^(pre|step \d+)$/);
    expect(await page.textContent('#hud-return')).toMatch(/^-?\d+\.\d$/);
    expect(await page.textContent('#hud-task')).toMatch(/target velocity/);
    // The training curve: one point per stage (pre, step 1) for each finished iteration.
    await page.waitForFunction(() => Number(document.getElementById('chart-train')!.dataset.points) >= 4, null, { timeout: 90_000 });
    await page.screenshot({ path: join(outDir, 'train-chart.png') });

    await page.click('#btn-layout');
    expect(await page.textContent('#btn-layout')).toBe('One at a time');
    expect(await page.evaluate(() => document.querySelectorAll('#hud-envs li.focus').length)).toBeLessThanOrEqual(1);
    await page.click('#btn-layout');
    expect(await page.textContent('#btn-layout')).toBe('Side by side');

    const code = await proc.interrupt();
    expect(proc.output()).toMatch(/stopped at iteration \d+; checkpoint saved/);
    expect(code).toBe(0);
    proc = null;
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('view <run>: the same task before and after adaptation, side by side, recorded', async () => {
    proc = startCli(['view', runDir, '--seed', '5']);
    const url = await proc.url;
    viewPort = Number(new URL(url).port);
    await page.goto(url);
    await page.waitForFunction(() => document.getElementById('hud-mode')!.textContent === 'evaluation', null, { timeout: 60_000 });
    await framesAbove(page, 20);
    // Both stages on screen at once: a lane each, labelled with its stage.
    await page.waitForFunction(() => document.querySelectorAll('#hud-envs li').length >= 2, null, { timeout: 30_000 });
    const lanes = await page.$$eval('#hud-envs li .name', (els) => els.map((e) => e.textContent));
    expect(lanes).toEqual(expect.arrayContaining(['pre', 'step 1']));
    const { first, changed } = await seeMotion(page, 'view');
    expect(variance(first)).toBeGreaterThan(50);
    expect(changed).toBeGreaterThan(20);
    // The adaptation curve gets a point per stage as the episodes end; the run's training curve comes along.
    await page.waitForFunction(() => Number(document.getElementById('chart-adapt')!.dataset.points) >= 2, null, { timeout: 30_000 });
    expect(await numberAttr(page, '#chart-train', 'data-points')).toBeGreaterThanOrEqual(4);
    await page.screenshot({ path: join(outDir, 'view-adaptation.png') });
    expect(readdirSync(join(runDir, 'rollouts')).some((f) => /^view-it\d+-seed5-task0\.mrr$/.test(f))).toBe(true);
    expect(proc.output()).toMatch(/task 0 \{.*\}: pre -?\d+\.\d, step 1 -?\d+\.\d/);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('reconnects by itself when the server restarts: view, then view --replay on the same port', async () => {
    // Ctrl-C stops view after the task it is sampling: on a loaded machine that took more than 30 s.
    expect(await proc!.interrupt(90_000)).toBe(0);
    proc = null;
    await page.waitForFunction(() => !document.getElementById('banner')!.hidden, null, { timeout: 30_000 });
    // The banner alternates between the two while the page retries.
    expect(await page.textContent('#banner')).toMatch(/disconnected from the metarl server; retrying|connecting to the metarl server/);

    const file = join(runDir, 'rollouts', readdirSync(join(runDir, 'rollouts')).find((f) => f.endsWith('task0.mrr'))!);
    proc = startCli(['view', '--replay', file, '--port', String(viewPort)]);
    await proc.url;
    await page.waitForFunction(() => document.getElementById('banner')!.hidden && document.getElementById('hud-mode')!.textContent === 'replay', null, { timeout: 60_000 });
    await framesAbove(page, 10);
    expect(await page.isVisible('#replay')).toBe(true);
    expect(await page.textContent('#hud-family')).toBe('cheetah-vel');
    await page.screenshot({ path: join(outDir, 'replay.png') });
    // The 2.5 s recording ends and pauses; ▶ from the page plays it again from the start.
    await page.waitForFunction(() => document.getElementById('btn-play')!.textContent === '▶', null, { timeout: 30_000 });
    await page.click('#btn-play');
    await page.waitForFunction(() => document.getElementById('btn-play')!.textContent === '❚❚', null, { timeout: 10_000 });
    expect(Number((await page.textContent('#replay-time'))!.split(' ')[0])).toBeLessThan(2.5);
    expect(await proc.interrupt()).toBe(0);
    proc = null;
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('a protocol version mismatch is a clear message on the page', async () => {
    // A server from "another version": the same page, a hello with protocol 99.
    const http: Server = createServer((req, res) => serveViewer(viewerDir, req, res));
    const wss = new WebSocketServer({ server: http, path: '/ws' });
    wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'hello', protocol: 99, run: null })));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const port = (http.address() as { port: number }).port;
    const other = await context.newPage();
    await other.goto(`http://127.0.0.1:${port}/`);
    await other.waitForFunction(() => document.getElementById('banner')!.classList.contains('error'), null, { timeout: 30_000 });
    const text = await other.textContent('#banner');
    expect(text).toMatch(new RegExp(`version mismatch: the server speaks protocol v99, this viewer v${PROTOCOL_VERSION}`));
    expect(text).toMatch(/npm run build/);
    await other.screenshot({ path: join(outDir, 'version-mismatch.png') });
    await other.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => http.close(() => r()));
  });
});

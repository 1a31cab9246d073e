/**
 * The viewer end to end in a real browser: Debian's Chromium (headless, WebGL on
 * SwiftShader) opens the page served by the viewer server while a real env streams
 * frames into it (./frame-source.ts). Screenshots go to test-output/e2e/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { startViewer, type ViewerServer } from '../../src/stream/server.js';
import { serveViewer } from '../../src/stream/static.js';
import { startFrameSource, type FrameSource } from './frame-source.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const viewerDir = join(root, 'viewer/dist');
const outDir = join(root, 'test-output/e2e');
const CHROMIUM = '/usr/bin/chromium';

/** Builds viewer/dist when it is missing or older than a viewer source or the protocol. */
function ensureBundle(): void {
  const bundle = join(viewerDir, 'viewer.js');
  const sources = [
    ...readdirSync(join(root, 'viewer/src')).map((f) => join(root, 'viewer/src', f)),
    join(root, 'viewer/index.html'),
    join(root, 'src/stream/protocol.ts'),
    join(root, 'src/stream/protocol-checks.ts'),
  ];
  const built = existsSync(bundle) && existsSync(join(viewerDir, 'index.html')) ? statSync(bundle).mtimeMs : 0;
  if (sources.some((f) => statSync(f).mtimeMs > built)) execFileSync(process.execPath, [join(root, 'scripts/build-viewer.mjs')], { stdio: 'inherit' });
}

async function launch(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 960, height: 540 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // WebGL without a GPU: ANGLE on SwiftShader's software Vulkan.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}

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

const numberAttr = (page: Page, selector: string, attr: string): Promise<number> =>
  page.$eval(selector, (el, a) => Number(el.getAttribute(a as string) ?? '0'), attr);

describe.skipIf(!existsSync(CHROMIUM))('viewer in headless Chromium', () => {
  let server: ViewerServer;
  let source: FrameSource;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureBundle();
    mkdirSync(outDir, { recursive: true });
    server = await startViewer({ log: () => {} });
    source = await startFrameSource(server, { horizon: 40 });
    userDataDir = mkdtempSync(join(tmpdir(), 'metarl-chromium-'));
    context = await launch(userDataDir);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });

  afterAll(async () => {
    await context?.close();
    await source?.stop();
    await server?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('shows moving robots, the HUD and the charts', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => Number(document.getElementById('app')!.dataset.frames) > 30, null, { timeout: 30_000 });

    const first = await canvasLuma(page);
    await page.screenshot({ path: join(outDir, 'viewer-1.png') });
    await page.waitForTimeout(1000);
    const second = await canvasLuma(page);
    await page.screenshot({ path: join(outDir, 'viewer-2.png') });

    // Not blank: a sky, a floor and robots make a spread of brightness.
    expect(variance(first)).toBeGreaterThan(50);
    // The robots move: a second later, part of the picture changed.
    const changed = first.filter((v, i) => Math.abs(v - second[i]) > 8).length;
    expect(changed).toBeGreaterThan(20);

    expect(await page.textContent('#hud-family')).toBe('cheetah-vel');
    expect(await page.textContent('#hud-stage')).toMatch(/^(before adaptation|after \d+ steps?)$/);
    expect(await page.textContent('#hud-return')).toMatch(/^-?\d+\.\d$/);
    expect(await page.textContent('#hud-task')).toMatch(/target velocity/);
    expect(await page.textContent('#hud-agent')).toBe('maml · cpu');
    // Three lanes, one per adaptation stage.
    expect(await page.locator('#hud-envs li').count()).toBe(3);

    expect(await numberAttr(page, '#chart-train', 'data-points')).toBe(6 * 3);
    // The adaptation curve fills once an episode ends (40 steps of 0.05 s).
    await page.waitForFunction(() => Number(document.getElementById('chart-adapt')!.dataset.points) === 3, null, { timeout: 30_000 });
    await page.screenshot({ path: join(outDir, 'viewer-charts.png') });
    expect(pageErrors).toEqual([]);
  });

  it('one at a time: the layout toggle shows a single lane', async () => {
    await page.click('#btn-layout');
    expect(await page.textContent('#btn-layout')).toBe('One at a time');
    const visibleLanes = await page.evaluate(() => document.querySelectorAll('#hud-envs li.focus').length);
    expect(visibleLanes).toBe(1);
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(outDir, 'viewer-one-at-a-time.png') });
    await page.click('#btn-layout');
    expect(await page.textContent('#btn-layout')).toBe('Side by side');
  });

  it('reconnects by itself when the server restarts', async () => {
    const port = server.port;
    await source.stop();
    await server.close();
    await page.waitForFunction(() => !document.getElementById('banner')!.hidden, null, { timeout: 30_000 });
    // The banner alternates between the two while the page retries.
    expect(await page.textContent('#banner')).toMatch(/disconnected from the metarl server; retrying|connecting to the metarl server/);
    server = await startViewer({ port, log: () => {} });
    source = await startFrameSource(server, { horizon: 40, seed: 11 });
    await page.waitForFunction(() => document.getElementById('banner')!.hidden && Number(document.getElementById('app')!.dataset.frames) > 10, null, { timeout: 30_000 });
    expect(await page.textContent('#hud-family')).toBe('cheetah-vel');
  });

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
    expect(text).toMatch(/version mismatch: the server speaks protocol v99, this viewer v1/);
    expect(text).toMatch(/npm run build/);
    await other.screenshot({ path: join(outDir, 'version-mismatch.png') });
    await other.close();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await new Promise<void>((r) => http.close(() => r()));
  });
});

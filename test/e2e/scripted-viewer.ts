/**
 * The fixture of the e2e tests that script what a viewer is sent: a real viewer server, its
 * scenes set up by the test, frames sent by a ticker (one step per tick), and a headless
 * Chromium page on it collecting page errors.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { RunInfo } from '../../src/stream/protocol.js';
import { startViewer, type ViewerServer } from '../../src/stream/server.js';
import { launchChromium } from './browser.js';
import { ensureViewerBundle, viewerDir } from './viewer-bundle.js';

export interface ScriptedViewer {
  server: ViewerServer;
  page: Page;
  pageErrors: string[];
  /** The step the next tick sends; a test sets it to 0 to start a new episode. */
  clock: { step: number };
  close(): Promise<void>;
}

export interface ScriptedViewerOptions {
  run: RunInfo;
  viewport: { width: number; height: number };
  tickMs: number;
  /** Sends the scenes, after the run's hello. */
  setup(server: ViewerServer): void;
  /** Sends step `step`'s frames. */
  tick(server: ViewerServer, step: number): void;
  /** Where screenshots go: made if missing. */
  outDir: string;
}

export async function openScriptedViewer(options: ScriptedViewerOptions): Promise<ScriptedViewer> {
  ensureViewerBundle();
  mkdirSync(options.outDir, { recursive: true });
  const server = await startViewer({ viewerDir, log: () => {} });
  server.hello(options.run);
  options.setup(server);
  const clock = { step: 0 };
  const ticker = setInterval(() => options.tick(server, clock.step++), options.tickMs);
  const userDir = mkdtempSync(join(tmpdir(), 'metarl-e2e-'));
  const pageErrors: string[] = [];
  const close = async () => {
    clearInterval(ticker);
    await context?.close();
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  };
  let context: Awaited<ReturnType<typeof launchChromium>> | undefined;
  try {
    context = await launchChromium(userDir, options.viewport);
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(server.url);
    return { server, page, pageErrors, clock, close };
  } catch (err) {
    await close();
    throw err;
  }
}

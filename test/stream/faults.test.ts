// Faults a viewer server meets on an open port: paths that try to leave the bundle folder, and a crowd of pages.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SceneDescription } from '../../src/core/scene.js';
import { startViewer, type ViewerServer } from '../../src/stream/server.js';
import { ViewerProbe } from '../fixtures/viewer-probe.js';

let root: string;
let server: ViewerServer;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'metarl-faults-'));
  const viewerDir = join(root, 'viewer');
  writeFileSync(join(root, 'secret.txt'), 'not for the network');
  mkdirSync(viewerDir);
  writeFileSync(join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
  server = await startViewer({ viewerDir, log: () => {} });
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** A raw GET with the path sent exactly as given (fetch and URL would normalise the dots away). */
function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('viewer HTTP port', () => {
  it('serves the bundle, and nothing outside its folder however the path is spelled', async () => {
    expect((await get('/')).body).toContain('<title>viewer</title>');
    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '//secret.txt', '/.%2e/secret.txt', '/..\\secret.txt', '/index.html/../../secret.txt']) {
      const res = await get(path);
      expect(res.body, path).not.toContain('not for the network');
      // '//secret.txt' parses as a URL with host 'secret.txt' and path '/': the page, not the file.
      expect(res.status === 404 || res.body.includes('<title>viewer</title>'), `${path}: ${res.status}`).toBe(true);
    }
  });
});

describe('a crowd of pages', () => {
  it('50 viewers all get the scene and every frame, and all are let go on close', async () => {
    const scene: SceneDescription = {
      family: 'crowd',
      bodies: [{ name: 'ball', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4080d0' }] }],
      ground: { kind: 'plane', height: 0, color: '#808080' },
      markers: [],
      taskLabel: {},
    };
    const crowd = await startViewer({ viewerDir: join(root, 'viewer'), log: () => {}, paceFrames: false });
    const probes = Array.from({ length: 50 }, () => new ViewerProbe(crowd.url));
    await Promise.all(probes.map((p) => p.opened()));
    const end = Date.now() + 30_000;
    while (crowd.clientCount < 50 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(crowd.clientCount).toBe(50);
    crowd.scene(0, scene, { index: 0, label: 'rollout' }, 0.05);
    for (let t = 0; t < 20; t++) crowd.frame(0, t, new Float32Array([t, 0, 0, 0, 0, 0, 1]));
    await Promise.all(probes.map((p) => p.until(() => p.of('frame').length === 20, 30_000)));
    for (const p of probes) {
      expect(p.of('scene')).toHaveLength(1);
      expect(p.of('frame').map((f) => f.step)).toEqual(Array.from({ length: 20 }, (_, t) => t));
    }
    const closed = probes.map((p) => new Promise<void>((resolve) => p.ws.once('close', () => resolve())));
    await crowd.close();
    await Promise.all(closed);
    expect(crowd.clientCount).toBe(0);
  });
});

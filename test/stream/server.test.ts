import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SceneDescription } from '../../src/core/scene.js';
import { MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION, encodeClientMessage, frameByteLength } from '../../src/stream/protocol.js';
import type { ClientMessage } from '../../src/stream/protocol.js';
import { startViewer, type ViewerServer } from '../../src/stream/server.js';
import { ViewerProbe as Probe } from '../fixtures/viewer-probe.js';

const scene: SceneDescription = {
  family: 'test-family',
  bodies: [{ name: 'ball', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4080d0' }] }],
  ground: { kind: 'plane', height: 0, color: '#808080' },
  markers: [],
  taskLabel: { goal: '(0.1, 0.2)' },
};
const run = { family: 'test-family', agent: 'maml', backend: 'cpu', mode: 'train' as const, config: { seed: 1 } };

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Completes the WebSocket handshake over a raw socket, then never reads again. */
async function stalledClient(port: number): Promise<Socket> {
  const sock = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
  sock.write(
    'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => sock.once('data', () => resolve()));
  sock.pause();
  return sock;
}

let server: ViewerServer;
let logs: string[];
let viewerDir: string;

beforeEach(async () => {
  logs = [];
  viewerDir = mkdtempSync(join(tmpdir(), 'metarl-viewer-'));
  writeFileSync(join(viewerDir, 'index.html'), '<!doctype html><title>metarl</title>');
  writeFileSync(join(viewerDir, 'viewer.js'), 'console.log(1)');
  // Pacing off: these tests count every frame; pacing has its own test.
  server = await startViewer({ viewerDir, maxBufferedBytes: 256 << 10, maxClientBytes: 4 << 20, paceFrames: false, log: (m) => logs.push(m) });
});

afterEach(async () => {
  await server.close();
  rmSync(viewerDir, { recursive: true, force: true });
});

describe('viewer server: http', () => {
  it('binds 127.0.0.1 on a free port and serves the bundle', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<title>metarl</title>');
    const js = await fetch(server.url + 'viewer.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(server.url + '..%2Fpackage.json')).status).toBe(404);
    expect((await fetch(server.url + 'nothing.css')).status).toBe(404);
  });

  it('says to run npm run build when the bundle is missing', async () => {
    rmSync(join(viewerDir, 'index.html'));
    const page = await fetch(server.url);
    expect(page.status).toBe(500);
    expect(await page.text()).toContain('npm run build');
  });
});

describe('viewer server: websocket', () => {
  it('publishing with nobody connected is a no-op that still tracks state', () => {
    server.hello(run);
    server.scene(0, scene, { index: 0, label: 'pre' }, 0.05);
    for (let t = 0; t < 100; t++) server.frame(0, t, new Float32Array(7), 1);
    expect(server.clientCount).toBe(0);
    expect(server.stats().framesDropped).toBe(0);
  });

  it('two clients get the same frames, with the running return', async () => {
    const a = new Probe(server.url);
    const b = new Probe(server.url);
    await Promise.all([a.opened(), b.opened()]);
    await waitFor(() => server.clientCount === 2);
    server.scene(1, scene, { index: 0, label: 'episode 1' }, 0.05);
    server.episodeStart(1);
    for (let t = 0; t < 50; t++) server.frame(1, t, new Float32Array([t, 0.1, 0, 0, 0, 0, 1]), 0.5);
    server.episodeEnd(1, 25, 50);
    for (const p of [a, b]) await p.until(() => p.of('episode').length === 2);
    const framesA = a.of('frame');
    expect(framesA).toHaveLength(50);
    expect(b.of('frame')).toEqual(framesA);
    expect(framesA[49].poses[0]).toBe(49);
    expect(framesA[49].ret).toBe(25);
    expect(a.of('episode').map((e) => [e.phase, e.stage])).toEqual([
      ['start', { index: 0, label: 'episode 1' }],
      ['end', { index: 0, label: 'episode 1' }],
    ]);
    a.close();
    b.close();
  });

  it('a late joiner gets hello, the current scenes, their last frame and the metrics history', async () => {
    server.hello(run);
    server.scene(0, scene, { index: 0, label: 'pre' }, 0.05);
    server.scene(1, scene, { index: 1, label: 'step 1' }, 0.05);
    for (let i = 0; i < 3; i++) server.metrics({ iteration: i, stageReturns: [-10 + i, -5 + i], values: { loss: i } });
    const early = new Probe(server.url);
    await early.opened();
    await early.until(() => early.of('scene').length === 2);
    server.frame(1, 0, new Float32Array([1, 2, 3, 0, 0, 0, 1]));
    await early.until(() => early.of('frame').length === 1);

    const late = new Probe(server.url);
    await late.opened();
    await late.until(() => late.of('metrics').length === 1 && late.of('frame').length === 1);
    expect(late.messages[0]).toEqual({ type: 'hello', protocol: PROTOCOL_VERSION, run });
    expect(late.of('scene').map((s) => s.stage)).toEqual([
      { index: 0, label: 'pre' },
      { index: 1, label: 'step 1' },
    ]);
    expect(late.of('frame')[0].poses[2]).toBe(3);
    const history = late.of('metrics')[0];
    expect(history.replace).toBe(true);
    expect(history.rows.map((r) => r.iteration)).toEqual([0, 1, 2]);

    server.reset();
    await late.until(() => late.of('reset').length === 1);
    const afterReset = new Probe(server.url);
    await afterReset.opened();
    await afterReset.until(() => afterReset.of('metrics').length === 1);
    expect(afterReset.of('scene')).toHaveLength(0);
    early.close();
    late.close();
    afterReset.close();
  });

  it('beliefs (issue 8) go to every client and to late joiners; a scene for lane k ends those of lanes k and up, a reset all; a NaN one is logged, not sent, any other error thrown', async () => {
    const live = new Probe(server.url);
    await live.opened();
    for (let env = 0; env < 3; env++) {
      server.scene(env, scene, { index: env, label: `episode ${env + 1}` }, 0.05);
      server.belief(env, env, { mean: new Float32Array([env, 0]), std: new Float32Array([1 / 2 ** env, 1]) });
    }
    await live.until(() => live.of('belief').length === 3);
    expect(live.of('belief')[2]).toEqual({ type: 'belief', envId: 2, stage: { index: 2, label: 'episode 3' }, episode: 2, mean: [2, 0], std: [0.25, 1] });

    const late = new Probe(server.url);
    await late.opened();
    await late.until(() => late.of('belief').length === 3);
    // After the scenes they belong to: a page clears a lane's belief when its scene arrives.
    expect(late.messages.findIndex((m) => m.type === 'belief')).toBeGreaterThan(late.messages.findLastIndex((m) => m.type === 'scene'));
    expect(late.of('belief').map((b) => b.episode)).toEqual([0, 1, 2]);

    server.scene(1, scene, { index: 1, label: 'episode 2' }, 0.05); // lane 1 starts afresh: beliefs of lanes 1 and 2 end
    server.belief(1, 1, { mean: [0, 0], std: [Number.NaN, 1] });
    await live.until(() => live.of('scene').length === 4);
    expect(logs.some((l) => /belief of env 1, episode 1 not sent: .*belief.std must be an array of finite numbers/.test(l))).toBe(true);
    // Only the validation's own error is swallowed: a bug elsewhere reaches the caller.
    const unreadable = { get mean(): number[] { throw new RangeError('not a protocol error'); }, std: [1] };
    expect(() => server.belief(1, 1, unreadable)).toThrow(RangeError);
    const third = new Probe(server.url);
    await third.opened();
    await third.until(() => third.of('scene').length === 3);
    await third.until(() => third.of('belief').length >= 1);
    expect(third.of('belief').map((b) => b.envId)).toEqual([0]);

    server.reset();
    await live.until(() => live.of('reset').length === 1);
    const afterReset = new Probe(server.url);
    await afterReset.opened();
    await afterReset.until(() => afterReset.of('hello').length === 1);
    server.metrics({ iteration: 0, stageReturns: [], values: {} }); // a marker: everything sent before it has arrived
    await afterReset.until(() => afterReset.of('metrics').length === 1);
    expect(afterReset.of('belief')).toHaveLength(0);
    expect(live.of('belief')).toHaveLength(3); // the NaN belief never went out
    for (const p of [live, late, third, afterReset]) p.close();
  });

  it('a client that never reads is dropped frames, and its backlog stays under the bound', async () => {
    const watcher = new Probe(server.url);
    await watcher.opened();
    const stalled = await stalledClient(server.port);
    await waitFor(() => server.clientCount === 2);
    server.scene(0, scene, { index: 0, label: 'rollout' }, 0.05);
    const bodies = 1000; // 28 KB frames fill buffers quickly
    const poses = new Float32Array(bodies * 7);
    const frames = 2000; // 56 MB in all
    let maxBuffered = 0;
    for (let t = 0; t < frames; t++) {
      server.frame(0, t, poses);
      if (t % 20 === 0) {
        await new Promise((r) => setTimeout(r, 1));
        const stalledStats = server.stats().clients.find((c) => c.id !== 1);
        maxBuffered = Math.max(maxBuffered, stalledStats?.bufferedBytes ?? 0);
      }
    }
    const stats = server.stats();
    const stalledStats = stats.clients.find((c) => c.id === 2)!;
    // The check happens before each send, so one frame (plus its ws header) can sit past the bound.
    expect(maxBuffered).toBeLessThanOrEqual((256 << 10) + frameByteLength(bodies) + 16);
    expect(stalledStats.framesDropped).toBeGreaterThan(frames / 2);
    expect(stalledStats.framesSent + stalledStats.framesDropped).toBe(frames);
    await watcher.until(() => watcher.of('frame').length > 0);
    // The reading client lost few frames, if any, and the stalled one never cost the other its stream.
    expect(stats.clients.find((c) => c.id === 1)!.framesSent).toBeGreaterThan(frames / 2);
    stalled.destroy();
    watcher.close();
  });

  it('a client past the hard bound on text messages is disconnected, the server goes on', async () => {
    const stalled = await stalledClient(server.port);
    await waitFor(() => server.clientCount === 1);
    const big: SceneDescription = { ...scene, ground: { kind: 'heightfield', nrows: 200, ncols: 200, sizeX: 10, sizeZ: 10, center: [0, 0, 0], heights: new Array(40000).fill(0.123456), color: '#777' } };
    for (let i = 0; i < 200 && server.clientCount > 0; i++) {
      server.scene(i % 4, big, { index: 0, label: 'rollout' }, 0.05);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(server.clientCount).toBe(0);
    expect(server.stats().disconnectedSlow).toBe(1);
    expect(logs.some((l) => l.includes('disconnecting'))).toBe(true);
    stalled.destroy();
    const fresh = new Probe(server.url);
    await fresh.opened();
    await fresh.until(() => fresh.of('scene').length === 4);
    fresh.close();
  });

  it('malformed and oversized client messages are ignored and logged, the server keeps serving', async () => {
    const controls: ClientMessage[] = [];
    server.onControl((m) => controls.push(m));
    const a = new Probe(server.url);
    const b = new Probe(server.url);
    await Promise.all([a.opened(), b.opened()]);
    a.ws.send('{"type":"seek","timeS":"soon"}');
    a.ws.send('not json at all');
    a.ws.send(Buffer.from([1, 2, 3]));
    a.ws.send(encodeClientMessage({ type: 'speed', speed: 2 }));
    await waitFor(() => controls.length === 1);
    expect(controls).toEqual([{ type: 'speed', speed: 2 }]);
    expect(server.stats().malformed).toBe(3);
    expect(logs.filter((l) => l.includes('malformed'))).toHaveLength(3);

    const closed = new Promise<number>((resolve) => b.ws.once('close', (code) => resolve(code)));
    b.ws.send('x'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    expect(await closed).toBe(1009); // "message too big", from ws's maxPayload
    server.frame(0, 0, new Float32Array(7));
    await a.until(() => a.of('frame').length === 1);
    expect(server.clientCount).toBe(1);
    a.close();
  });

  it('a burst of 2,500 malformed messages logs the first 3 and one counted line when the client goes (reliability item 12)', async () => {
    const a = new Probe(server.url);
    await a.opened();
    for (let i = 0; i < 2500; i++) a.ws.send(`bad ${i}`);
    await waitFor(() => server.stats().malformed === 2500, 20_000);
    const malformedLines = () => logs.filter((l) => l.includes('malformed'));
    expect(malformedLines()).toEqual([
      'ignored a malformed message from client 1: viewer protocol: message is not JSON: "bad 0"',
      'ignored a malformed message from client 1: viewer protocol: message is not JSON: "bad 1"',
      'ignored a malformed message from client 1: viewer protocol: message is not JSON: "bad 2"; more from this client are counted and logged every 10 s',
    ]);
    a.close();
    await waitFor(() => malformedLines().length === 4);
    expect(malformedLines()[3]).toBe('ignored 2497 more malformed message(s) from client 1 (2500 in all), the last: viewer protocol: message is not JSON: "bad 2499"');
    expect(logs).toHaveLength(4);
  });

  it('a client that keeps sending malformed messages gets one counted line per interval', async () => {
    const lines: string[] = [];
    const quick = await startViewer({ viewerDir, malformedSummaryMs: 1000, log: (m) => lines.push(m) });
    const a = new Probe(quick.url);
    try {
      await a.opened();
      for (let i = 0; i < 10; i++) a.ws.send(`bad ${i}`);
      await waitFor(() => lines.length === 4);
      expect(lines[3]).toBe('ignored 7 more malformed message(s) from client 1 (10 in all), the last: viewer protocol: message is not JSON: "bad 9"');
      for (let i = 10; i < 14; i++) a.ws.send(`bad ${i}`);
      await waitFor(() => lines.length === 5);
      expect(lines[4]).toBe('ignored 4 more malformed message(s) from client 1 (14 in all), the last: viewer protocol: message is not JSON: "bad 13"');
      expect(quick.clientCount).toBe(1);
    } finally {
      a.close();
      await quick.close();
    }
    expect(lines).toHaveLength(5);
  });

  it('disconnect and reconnect: a new socket picks up the stream where it is', async () => {
    server.hello(run);
    server.scene(0, scene, { index: 0, label: 'rollout' }, 0.05);
    const first = new Probe(server.url);
    await first.opened();
    await waitFor(() => server.clientCount === 1);
    first.close();
    await waitFor(() => server.clientCount === 0);
    server.frame(0, 0, new Float32Array(7)); // nobody watching: no-op
    const second = new Probe(server.url);
    await second.opened();
    await second.until(() => second.of('scene').length === 1);
    server.frame(0, 1, new Float32Array([5, 0, 0, 0, 0, 0, 1]));
    await second.until(() => second.of('frame').length === 1);
    expect(second.of('frame')[0].step).toBe(1);
    expect(second.of('hello')[0].run).toEqual(run);
    second.close();
  });

  it('paces live frames faster than real time into contiguous chunks of about a second', async () => {
    const paced = await startViewer({ viewerDir, log: () => {} });
    try {
      const p = new Probe(paced.url);
      await p.opened();
      await waitFor(() => paced.clientCount === 1);
      const start = performance.now();
      paced.scene(0, scene, { index: 0, label: 'rollout' }, 0.05);
      const poses = new Float32Array(7);
      for (let t = 0; t < 400; t++) paced.frame(0, t, poses); // 20 s of simulation in a few ms (longer on a busy machine)
      const sendingS = (performance.now() - start) / 1000;
      await p.until(() => p.of('frame').length >= 19);
      await new Promise((r) => setTimeout(r, 1000)); // the page plays the chunk
      for (let t = 400; t < 800; t++) paced.frame(0, t, poses);
      await p.until(() => p.of('frame').some((f) => f.step >= 400));
      await new Promise((r) => setTimeout(r, 50));
      const steps = p.of('frame').map((f) => f.step);
      const first = steps.filter((s) => s < 400);
      const second = steps.filter((s) => s >= 400);
      // 1 s of frames at dt 0.05 is 20 frames, plus what the wall clock advanced while sending; each chunk contiguous.
      expect(first).toEqual(Array.from({ length: first.length }, (_, i) => i));
      expect(first.length).toBeGreaterThanOrEqual(19);
      expect(first.length).toBeLessThanOrEqual(Math.ceil((1 + sendingS) / 0.05) + 1);
      expect(first.length).toBeLessThan(400);
      expect(second).toEqual(Array.from({ length: second.length }, (_, i) => 400 + i));
      expect(second.length).toBeGreaterThanOrEqual(19);
      expect(paced.stats().framesPaced).toBe(800 - steps.length);
      p.close();
    } finally {
      await paced.close();
    }
  });
});

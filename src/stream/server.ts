/**
 * The viewer's server: node:http serves the bundled page, `ws` streams the protocol of
 * ./protocol.ts to every connected browser.
 *
 * Publishing is the training loop's hot path, so each publisher call returns at once
 * when nobody watches, and with viewers a frame is encoded once and the same bytes go
 * to each. A slow browser is dropped frames (its socket's `bufferedAmount` is checked
 * against `maxBufferedBytes`); one that falls past `maxClientBytes` even on
 * scenes and metrics is disconnected, and reconnects by itself. Nothing is queued
 * without bound.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';
import type { RawData } from 'ws';
import {
  MAX_CLIENT_MESSAGE_BYTES,
  sendableBelief,
  beliefOutlivesScene,
  decodeClientMessage,
  encodeFrame,
  frameByteLength,
  MAX_SHOWN_STEP_S,
  PROTOCOL_VERSION,
  shownStepS,
} from './protocol.js';
import type { ClientMessage, MetricsRow, ReplayStateMessage, RunInfo, ServerMessage, Stage } from './protocol.js';
import { ROLLOUT_STAGE } from './protocol.js';
import { POSE_STRIDE } from '../core/scene.js';
import type { Publisher } from './publisher.js';
import { MalformedLog } from './malformed-log.js';
import { defaultViewerDir, serveViewer } from './static.js';

export interface ViewerServerOptions {
  /** 0 picks a free port. */
  port?: number;
  /** Interface to bind; 127.0.0.1 unless the user asks for more. */
  host?: string;
  /** Folder with the built viewer; default viewer/dist of this package. */
  viewerDir?: string;
  /** Per-client socket backlog above which frames are dropped for that client. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Backlog above which a client is disconnected (it reconnects and gets the current state). Default 16 MiB. */
  maxClientBytes?: number;
  /** Metrics rows kept for late joiners. Default 2000. */
  metricsHistory?: number;
  /**
   * Send live frames only as fast as a page plays them (contiguous chunks of about a second
   * of simulated time per env); false sends every frame. Default true.
   */
  paceFrames?: boolean;
  /** Where warnings go (malformed messages, dropped clients). Default console.warn. */
  log?: (message: string) => void;
  /** How often a client's malformed messages past the first few are logged, as one counted line. Default 10 000 ms. */
  malformedSummaryMs?: number;
}

export interface ClientStats {
  id: number;
  /** Bytes waiting in this client's socket now. */
  bufferedBytes: number;
  framesSent: number;
  framesDropped: number;
  bytesSent: number;
}

export interface ViewerStats {
  clients: ClientStats[];
  /** Frames dropped over all clients, including those gone. */
  framesDropped: number;
  /** Client messages ignored because they failed to decode. */
  malformed: number;
  /** Clients cut off for falling past `maxClientBytes`. */
  disconnectedSlow: number;
  /** Live frames not sent because the pages were still playing earlier ones (see `paceFrames`). */
  framesPaced: number;
}

/** The publisher side (see ./publisher.ts) plus what only a live server has. */
export interface ViewerServer extends Publisher {
  /** http://host:port/ — print it for the user. */
  readonly url: string;
  readonly port: number;
  readonly clientCount: number;
  /** Any server message, as the convenience methods above send it (frames carry their own running return). */
  publish(msg: ServerMessage): void;
  /** Play/pause/seek/speed/view-mode from any page. Returns an unsubscribe function. */
  onControl(listener: (msg: ClientMessage) => void): () => void;
  stats(): ViewerStats;
  /** Disconnects every client and stops listening; idempotent. */
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  stats: ClientStats;
  alive: boolean;
  malformed: MalformedLog;
}

interface EnvState {
  stage: Stage;
  ret: number;
  /** Seconds a step takes on screen. */
  stepS: number;
  /** Pacing: simulated seconds sent, against wall seconds since `originMs`. */
  originMs: number;
  sentS: number;
  holding: boolean;
}

/**
 * Live frames are paced to what a page can show. A viewer plays frames at simulation
 * speed, so when training steps 100× faster than that, sending every frame would only
 * cost the training loop and the wire. Each env instead sends a contiguous chunk of
 * `PACE_LEAD_S` simulated seconds, holds until the page has nearly played it, then sends
 * the next: smooth stretches of real motion, with cuts between them. When training is
 * slower than real time, nothing is held back.
 */
const PACE_LEAD_S = 1;
/** Resume sending this long before the page runs out of frames (covers the network). */
const PACE_MARGIN_S = 0.1;

const HEARTBEAT_MS = 15_000;
/** Beliefs kept for late joiners: a trial's episodes, many times over. */
const MAX_KEPT_BELIEFS = 256;

export async function startViewer(options: ViewerServerOptions = {}): Promise<ViewerServer> {
  const host = options.host ?? '127.0.0.1';
  const viewerDir = options.viewerDir ?? defaultViewerDir();
  const maxBufferedBytes = options.maxBufferedBytes ?? 1 << 20;
  const maxClientBytes = options.maxClientBytes ?? 16 << 20;
  const metricsHistory = options.metricsHistory ?? 2000;
  const log = options.log ?? ((m: string) => console.warn(`[viewer] ${m}`));
  const malformedSummaryMs = options.malformedSummaryMs ?? 10_000;

  const clients = new Set<Client>();
  const controlListeners = new Set<(msg: ClientMessage) => void>();
  const envs = new Map<number, EnvState>();
  // What a late joiner needs, kept already encoded.
  let helloText = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, run: null });
  const sceneTexts = new Map<number, string>();
  const lastFrames = new Map<number, Uint8Array>();
  /** The beliefs on screen, by `envId:episode`, each with its lane; at most MAX_KEPT_BELIEFS. */
  const beliefTexts = new Map<string, { envId: number; text: string }>();
  const history: MetricsRow[] = [];
  let replayText: string | null = null;
  let nextClientId = 1;
  let droppedTotal = 0;
  let malformed = 0;
  let disconnectedSlow = 0;
  let paced = 0;
  const paceFrames = options.paceFrames ?? true;
  let closed = false;

  const http = createServer((req, res) => serveViewer(viewerDir, req, res));
  const wss = new WebSocketServer({ server: http, path: '/ws', maxPayload: MAX_CLIENT_MESSAGE_BYTES });

  wss.on('connection', (ws) => {
    const id = nextClientId++;
    const client: Client = { ws, alive: true, stats: { id, bufferedBytes: 0, framesSent: 0, framesDropped: 0, bytesSent: 0 }, malformed: new MalformedLog(id, log, malformedSummaryMs) };
    clients.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('message', (data, isBinary) => onClientMessage(client, data, isBinary));
    // An oversized message makes ws close this socket with 1009 and emit 'error'; the server stays up.
    ws.on('error', (err) => log(`client ${client.stats.id}: ${err.message}`));
    ws.on('close', () => {
      clients.delete(client);
      client.malformed.flush();
    });
    sendText(client, helloText);
    for (const text of sceneTexts.values()) sendText(client, text);
    for (const bytes of lastFrames.values()) sendFrameTo(client, bytes);
    for (const b of beliefTexts.values()) sendText(client, b.text);
    if (history.length > 0) sendText(client, JSON.stringify({ type: 'metrics', replace: true, rows: history }));
    if (replayText !== null) sendText(client, replayText);
  });
  wss.on('error', (err) => log(`websocket server: ${err.message}`));

  let lastBeatMs = performance.now();
  const heartbeat = setInterval(() => {
    // A training step that held the thread past a beat leaves the pongs unread: judge no one then.
    const now = performance.now();
    const judge = now - lastBeatMs < HEARTBEAT_MS + 250;
    lastBeatMs = now;
    for (const c of clients) {
      if (!c.alive && judge) c.ws.terminate();
      else {
        c.alive = false;
        c.ws.ping();
      }
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  if (!['127.0.0.1', '::1', 'localhost'].includes(host)) {
    log(`listening on ${host}: anyone who can reach this machine on port ${port} can watch this run`);
  }
  const urlHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;

  function onClientMessage(client: Client, data: RawData, isBinary: boolean): void {
    let msg: ClientMessage;
    try {
      if (isBinary) throw new Error('binary messages from a client are not part of the protocol');
      msg = decodeClientMessage(rawText(data));
    } catch (err) {
      malformed++;
      client.malformed.note((err as Error).message);
      return;
    }
    for (const listener of controlListeners) {
      try {
        listener(msg);
      } catch (err) {
        log(`control listener failed on ${msg.type}: ${(err as Error).message}`);
      }
    }
  }

  function sendText(client: Client, text: string): void {
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > maxClientBytes) {
      disconnectedSlow++;
      log(`client ${client.stats.id} fell ${ws.bufferedAmount} bytes behind; disconnecting it (it will reconnect)`);
      ws.terminate();
      clients.delete(client);
      return;
    }
    client.stats.bytesSent += text.length;
    ws.send(text);
  }

  function sendFrameTo(client: Client, bytes: Uint8Array): void {
    const ws = client.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > maxBufferedBytes) {
      client.stats.framesDropped++;
      droppedTotal++;
      return;
    }
    client.stats.framesSent++;
    client.stats.bytesSent += bytes.byteLength;
    ws.send(bytes, { binary: true });
  }

  function broadcastText(text: string): void {
    for (const c of clients) sendText(c, text);
  }

  function envState(envId: number): EnvState {
    let s = envs.get(envId);
    if (s === undefined) {
      s = { stage: ROLLOUT_STAGE, ret: 0, stepS: MAX_SHOWN_STEP_S, originMs: performance.now(), sentS: 0, holding: false };
      envs.set(envId, s);
    }
    return s;
  }

  /** True when this frame goes out (see PACE_LEAD_S). */
  function pace(s: EnvState): boolean {
    const wallS = (performance.now() - s.originMs) / 1000;
    if (s.sentS < wallS) s.sentS = wallS; // slower than real time: no credit piles up
    if (s.holding) {
      if (s.sentS - wallS > PACE_MARGIN_S) return false;
      s.holding = false;
    }
    s.sentS += s.stepS;
    if (s.sentS - wallS >= PACE_LEAD_S) s.holding = true;
    return true;
  }

  function sendFrameBytes(envId: number, bytes: Uint8Array): void {
    lastFrames.set(envId, bytes);
    for (const c of clients) sendFrameTo(c, bytes);
  }

  const server: ViewerServer = {
    url: `http://${urlHost}:${port}/`,
    port,
    get clientCount() {
      return clients.size;
    },
    hello(run) {
      helloText = JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, run });
      broadcastText(helloText);
    },
    scene(envId, scene, stage, dt) {
      server.publish({ type: 'scene', envId, scene, stage, dt });
    },
    frame(envId, step, poses, reward = 0) {
      const s = envState(envId);
      s.ret = step === 0 ? reward : s.ret + reward;
      if (clients.size === 0) return;
      if (paceFrames && !pace(s)) {
        paced++;
        return;
      }
      const bytes = encodeFrame(envId, step, s.ret, poses, Buffer.allocUnsafe(frameByteLength(poses.length / POSE_STRIDE)));
      sendFrameBytes(envId, bytes);
    },
    episodeStart(envId, stage) {
      const s = envState(envId);
      s.ret = 0;
      if (stage !== undefined) s.stage = stage; // RL²: the next episode of a trial, same env
      server.publish({ type: 'episode', phase: 'start', envId, stage: s.stage, ret: 0, length: 0 });
    },
    episodeEnd(envId, ret, length, stage) {
      server.publish({ type: 'episode', phase: 'end', envId, stage: stage ?? envState(envId).stage, ret, length });
    },
    belief(envId, episode, b, stage) {
      const msg = sendableBelief(envId, stage ?? envState(envId).stage, episode, b);
      if ('dropped' in msg) log(`belief of env ${envId}, episode ${episode} not sent: ${msg.dropped}`);
      else server.publish(msg);
    },
    metrics(row) {
      server.publish({ type: 'metrics', replace: false, rows: [row] });
    },
    reset() {
      server.publish({ type: 'reset' });
    },
    publish(msg) {
      switch (msg.type) {
        case 'frame':
          envState(msg.envId).ret = msg.ret;
          if (clients.size > 0) sendFrameBytes(msg.envId, encodeFrame(msg.envId, msg.step, msg.ret, msg.poses));
          return;
        case 'hello':
          server.hello(msg.run);
          return;
        case 'scene': {
          const s = envState(msg.envId);
          s.stage = msg.stage;
          s.stepS = shownStepS(msg.dt);
          const text = JSON.stringify(msg);
          sceneTexts.set(msg.envId, text);
          lastFrames.delete(msg.envId);
          for (const [key, b] of beliefTexts) if (!beliefOutlivesScene(b.envId, msg.envId)) beliefTexts.delete(key);
          broadcastText(text);
          return;
        }
        case 'metrics':
          if (msg.replace) history.length = 0;
          history.push(...msg.rows);
          if (history.length > metricsHistory) history.splice(0, history.length - metricsHistory);
          break;
        case 'reset':
          envs.clear();
          sceneTexts.clear();
          lastFrames.clear();
          beliefTexts.clear();
          break;
        case 'replay-state':
          replayText = JSON.stringify(msg satisfies ReplayStateMessage);
          broadcastText(replayText);
          return;
        case 'belief': {
          const text = JSON.stringify(msg);
          const key = `${msg.envId}:${msg.episode}`;
          beliefTexts.delete(key); // re-inserted last, so the oldest go first
          beliefTexts.set(key, { envId: msg.envId, text });
          if (beliefTexts.size > MAX_KEPT_BELIEFS) beliefTexts.delete(beliefTexts.keys().next().value!);
          broadcastText(text);
          return;
        }
        case 'episode':
          break;
      }
      if (clients.size > 0) broadcastText(JSON.stringify(msg));
    },
    onControl(listener) {
      controlListeners.add(listener);
      return () => controlListeners.delete(listener);
    },
    stats() {
      return {
        clients: [...clients].map((c) => ({ ...c.stats, bufferedBytes: c.ws.bufferedAmount })),
        framesDropped: droppedTotal,
        malformed,
        disconnectedSlow,
        framesPaced: paced,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      for (const c of clients) c.ws.terminate();
      clients.clear();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  return server;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

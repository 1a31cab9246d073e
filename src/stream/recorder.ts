/**
 * Records rollouts (scenes, frames, episodes, beliefs) to a file under a run's `rollouts/`
 * folder, for `metarl view --replay`. The recorder is a `Publisher`, so a loop streams
 * to it exactly as to the live server (or to both through `teePublishers`).
 *
 * File format (`.mrr`, "metarl rollout recording"), all integers little-endian:
 *
 *   magic        8 bytes  "MRLROLL1"
 *   headerBytes  u32      length of the header JSON
 *   header       JSON     { format: 1, protocol: PROTOCOL_VERSION, run: RunInfo | null }
 *   padding      to a multiple of 8
 *   records…     each:
 *     kind       u8       RECORD_JSON (a ServerMessage as the wire's JSON) or RECORD_FRAME (the wire's frame bytes)
 *     reserved   3 bytes  zero
 *     bytes      u32      payload length
 *     timeS      f64      recording clock: simulated seconds since the start (see below)
 *     payload    bytes, then zero padding to a multiple of 8 (frames stay 4-byte aligned for a Float32Array view)
 *
 * The clock: an env's time is the recording's time when the env first appeared plus its
 * frame count × its dt, and a record's time is the largest env time so far, so envs
 * stepped side by side play together and envs or episodes stepped one after another
 * play in turn.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SceneDescription } from '../core/scene.js';
import { POSE_STRIDE } from '../core/scene.js';
import { PROTOCOL_VERSION, ROLLOUT_STAGE, encodeFrame, frameByteLength, sendableBelief, shownStepS } from './protocol.js';
import type { RunInfo, ServerMessage, Stage } from './protocol.js';
import type { Publisher } from './publisher.js';

export const RECORDING_MAGIC = 'MRLROLL1';
export const RECORDING_FORMAT = 1;
export const RECORDING_EXTENSION = '.mrr';
export const RECORD_JSON = 1;
export const RECORD_FRAME = 2;
/** kind u8, 3 reserved, payload bytes u32, timeS f64. */
export const RECORD_OFFSET_KIND = 0;
export const RECORD_OFFSET_BYTES = 4;
export const RECORD_OFFSET_TIME = 8;
export const RECORD_HEADER_BYTES = 16;
export const RECORD_ALIGN = 8;

export interface RolloutRecorder extends Publisher {
  readonly path: string;
  /** Simulated seconds recorded so far. */
  readonly durationS: number;
  /** Writes what is buffered and closes the file; idempotent. */
  close(): void;
}

const FLUSH_BYTES = 1 << 20;

/** `runs/<name>/rollouts/<label>.mrr` */
export function rolloutPath(runDir: string, label: string): string {
  return join(runDir, 'rollouts', `${label.replace(/[^\w.-]+/g, '-')}${RECORDING_EXTENSION}`);
}

export const alignUp = (n: number): number => Math.ceil(n / RECORD_ALIGN) * RECORD_ALIGN;

export function createRecorder(path: string, run: RunInfo | null = null): RolloutRecorder {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'w');
  let chunks: Uint8Array[] = [];
  let buffered = 0;
  let closed = false;
  const envs = new Map<number, { stage: Stage; dt: number; frames: number; ret: number; baseS: number }>();
  let clock = 0;

  const header = Buffer.from(JSON.stringify({ format: RECORDING_FORMAT, protocol: PROTOCOL_VERSION, run }), 'utf8');
  const head = Buffer.alloc(alignUp(RECORDING_MAGIC.length + 4 + header.length));
  head.write(RECORDING_MAGIC, 0, 'latin1');
  head.writeUInt32LE(header.length, RECORDING_MAGIC.length);
  header.copy(head, RECORDING_MAGIC.length + 4);
  push(head);

  function push(bytes: Uint8Array): void {
    chunks.push(bytes);
    buffered += bytes.byteLength;
    if (buffered >= FLUSH_BYTES) flush();
  }

  function flush(): void {
    if (chunks.length === 0) return;
    writeSync(fd, Buffer.concat(chunks, buffered));
    chunks = [];
    buffered = 0;
  }

  function record(kind: number, payload: Uint8Array): void {
    if (closed) return;
    const rec = Buffer.alloc(RECORD_HEADER_BYTES + alignUp(payload.byteLength));
    rec.writeUInt8(kind, RECORD_OFFSET_KIND);
    rec.writeUInt32LE(payload.byteLength, RECORD_OFFSET_BYTES);
    rec.writeDoubleLE(clock, RECORD_OFFSET_TIME);
    rec.set(payload, RECORD_HEADER_BYTES);
    push(rec);
  }

  function json(msg: ServerMessage): void {
    record(RECORD_JSON, Buffer.from(JSON.stringify(msg), 'utf8'));
  }

  function env(envId: number) {
    let e = envs.get(envId);
    if (e === undefined) {
      e = { stage: ROLLOUT_STAGE, dt: 0.05, frames: 0, ret: 0, baseS: clock };
      envs.set(envId, e);
    }
    return e;
  }

  const recorder: RolloutRecorder = {
    path,
    get durationS() {
      return clock;
    },
    hello() {
      // The run info is the file header's; replays announce themselves as such.
    },
    scene(envId, scene: SceneDescription, stage, dt) {
      const e = env(envId);
      e.stage = stage;
      // The recording's clock is the page's: a step lasts as long as it is shown.
      e.dt = shownStepS(dt);
      json({ type: 'scene', envId, scene, stage, dt });
    },
    frame(envId, step, poses, reward = 0) {
      const e = env(envId);
      e.ret = step === 0 ? reward : e.ret + reward;
      e.frames++;
      clock = Math.max(clock, e.baseS + e.frames * e.dt);
      record(RECORD_FRAME, encodeFrame(envId, step, e.ret, poses, new Uint8Array(frameByteLength(poses.length / POSE_STRIDE))));
    },
    episodeStart(envId, stage) {
      const e = env(envId);
      e.ret = 0;
      if (stage !== undefined) e.stage = stage;
      json({ type: 'episode', phase: 'start', envId, stage: e.stage, ret: 0, length: 0 });
    },
    episodeEnd(envId, ret, length, stage) {
      json({ type: 'episode', phase: 'end', envId, stage: stage ?? env(envId).stage, ret, length });
    },
    belief(envId, episode, b, stage) {
      // A diverged learner's belief is left out: the file must stay loadable.
      const msg = sendableBelief(envId, stage ?? env(envId).stage, episode, b);
      if (!('dropped' in msg)) json(msg);
    },
    metrics(row) {
      json({ type: 'metrics', replace: false, rows: [row] });
    },
    reset() {
      envs.clear();
      json({ type: 'reset' });
    },
    close() {
      if (closed) return;
      flush();
      closed = true;
      closeSync(fd);
    },
  };
  return recorder;
}

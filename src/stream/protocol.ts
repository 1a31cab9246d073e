/**
 * The viewer's wire protocol, shared by the server (src/stream/server.ts) and the
 * browser (viewer/src). Every message is one member of a union discriminated by
 * `type`. Frames, sent every step, are binary; everything else is JSON text.
 *
 * The server opens with `hello`, which carries `PROTOCOL_VERSION`; a viewer built
 * from another version says so on the page instead of misreading the stream.
 * Decoders validate and throw a `MetarlError` with code `METARL_PROTOCOL`.
 *
 * This file is bundled into the browser: it imports only dependency-free core files.
 */
import { MetarlError, isMetarlError } from '../core/errors.js';
import { belief, checkId, id, int, num, obj, parseObject, positive, protocolError, runInfo, scene, show, stage, versionMismatch, metricsRow } from './protocol-checks.js';
import { POSE_STRIDE } from '../core/scene.js';
import type { SceneDescription } from '../core/scene.js';

/**
 * Bump on any change to a message's shape or the frame layout. v4 added `belief`; every v3
 * message and the frame layout are unchanged, so a v3 recording still replays (see
 * `OLDEST_READABLE_RECORDING`).
 */
export const PROTOCOL_VERSION = 4;
/** The oldest protocol whose recordings this one replays: v4 only added a message type. */
export const OLDEST_READABLE_RECORDING = 3;

// ---------------------------------------------------------------- shared pieces

/**
 * Where a rollout sits in the adaptation, as the learner declares its stages: `index` 0 is before
 * adaptation, and `label` is the learner's name for it ('pre', 'step 1', 'episode 2'). The
 * protocol names no agent.
 */
export interface Stage {
  index: number;
  label: string;
}

/** A plain rollout (no adaptation). */
export const ROLLOUT_STAGE: Stage = { index: 0, label: 'rollout' };

/** One env at a time, or all envs (one per stage) in a row. */
export type ViewMode = 'side-by-side' | 'sequential';
export const VIEW_MODES: readonly ViewMode[] = ['side-by-side', 'sequential'];

export type RunMode = 'train' | 'view' | 'replay';

export interface RunInfo {
  family: string;
  agent: string;
  backend: string;
  mode: RunMode;
  runName?: string;
  /** A few resolved config values worth showing (seed, meta-batch, lr…). */
  config: Record<string, string | number | boolean | null>;
  /** The learner's adaptation stages, in order ('pre', 'step 1' or 'episode 1', 'episode 2'); absent for plain rollouts. */
  stages?: string[];
  /**
   * Fixed adaptation curves to draw beside the one on screen (`metarl view` reads them from
   * the run's eval.json: its held-out evaluation first, then each fine-tuning baseline).
   * Each has one entry per stage of `stages`.
   */
  reference?: ReferenceCurve[];
}

/** Mean return ± its standard error over held-out tasks at each adaptation stage. */
export interface ReferenceCurve {
  label: string;
  returns: number[];
  stderr: number[];
}

/** One training iteration. `stageReturns[s]` is the mean return at adaptation stage s. */
export interface MetricsRow {
  iteration: number;
  stageReturns: number[];
  /** Losses, KL, env steps, seconds… anything numeric, by name. */
  values: Record<string, number>;
  /** The adaptation check made at this iteration (`train --validate-every`): mean and stderr per stage over `tasks` validation tasks. */
  validation?: ValidationPoint;
}

export interface ValidationPoint {
  /** Mean return per adaptation stage over the validation tasks. */
  returns: number[];
  /** Its standard error per stage, ≥ 0. */
  stderr: number[];
  /** Validation tasks the means are over. */
  tasks: number;
}

// ---------------------------------------------------------------- server → client

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  run: RunInfo | null;
}

/** Sent once per env and task, before that env's frames. */
export interface SceneMessage {
  type: 'scene';
  envId: number;
  stage: Stage;
  /** Simulated seconds per step: frames are played back at this pace. */
  dt: number;
  scene: SceneDescription;
}

/** Binary on the wire; see the FRAME_OFFSET_* layout below. */
export interface FrameMessage {
  type: 'frame';
  envId: number;
  /** Step within the current episode. */
  step: number;
  /** Running (undiscounted) return of the current episode, including this step. */
  ret: number;
  /** bodyCount × POSE_STRIDE floats: position x, y, z, quaternion x, y, z, w per body. */
  poses: Float32Array;
}

export interface EpisodeMessage {
  type: 'episode';
  phase: 'start' | 'end';
  envId: number;
  stage: Stage;
  /** Return of the episode (0 at start). */
  ret: number;
  /** Steps taken (0 at start). */
  length: number;
}

export interface MetricsMessage {
  type: 'metrics';
  /** On connect: the recent history with `replace: true`; afterwards one new row each. */
  replace: boolean;
  rows: MetricsRow[];
}

/**
 * A learner's Gaussian belief over its latent task variable z (PEARL's q(z | context)) as it
 * stands for one episode of a trial: sent once the belief is set, before the episode's first
 * frame. `episode` counts the trial's episodes from 0 (the first acts on the prior N(0, I));
 * `mean` and `std` have one entry per latent dimension (1 to MAX_BELIEF_DIMS), std > 0.
 * A trial's beliefs run from its first lane up, so a scene for lane k ends the beliefs of
 * lanes k and above (`beliefOutlivesScene`), as a reset ends them all.
 */
export interface BeliefMessage {
  type: 'belief';
  /** The lane the episode plays in, as the scene and episode messages of that episode name it. */
  envId: number;
  stage: Stage;
  episode: number;
  mean: number[];
  std: number[];
}

export { MAX_BELIEF_DIMS } from './protocol-checks.js';

/**
 * A belief message from a learner's arrays, checked as a viewer checks it: a diverged learner's
 * NaN would otherwise go out as JSON null, and a recording holding it would not load.
 * Throws a `MetarlError` with code `METARL_PROTOCOL`.
 */
export function beliefMessage(envId: number, stage: Stage, episode: number, b: { mean: ArrayLike<number>; std: ArrayLike<number> }): BeliefMessage {
  return belief({ type: 'belief', envId, stage, episode, mean: Array.from(b.mean), std: Array.from(b.std) });
}

/**
 * `beliefMessage`, or why the belief cannot be sent: a diverged learner's belief is dropped by a
 * server or a recording (the viewer's loss, never the training loop's); any other error throws.
 */
export function sendableBelief(envId: number, stage: Stage, episode: number, b: { mean: ArrayLike<number>; std: ArrayLike<number> }): BeliefMessage | { dropped: string } {
  try {
    return beliefMessage(envId, stage, episode, b);
  } catch (err) {
    if (!isMetarlError(err, 'METARL_PROTOCOL')) throw err;
    return { dropped: err.message };
  }
}

/** Whether a belief of lane `beliefEnvId` stays when a scene for lane `sceneEnvId` arrives (see BeliefMessage). */
export function beliefOutlivesScene(beliefEnvId: number, sceneEnvId: number): boolean {
  return beliefEnvId < sceneEnvId;
}

/** Forget every env shown so far (a new evaluation starts with new scenes). */
export interface ResetMessage {
  type: 'reset';
}

/** Position of a replay, sent on every change and a few times a second while playing. */
export interface ReplayStateMessage {
  type: 'replay-state';
  file: string;
  playing: boolean;
  timeS: number;
  durationS: number;
  speed: number;
}

export type ServerMessage =
  | HelloMessage
  | SceneMessage
  | FrameMessage
  | EpisodeMessage
  | BeliefMessage
  | MetricsMessage
  | ResetMessage
  | ReplayStateMessage;

// ---------------------------------------------------------------- client → server

export interface PlayMessage {
  type: 'play';
}
export interface PauseMessage {
  type: 'pause';
}
export interface SeekMessage {
  type: 'seek';
  timeS: number;
}
export interface SpeedMessage {
  type: 'speed';
  /** Playback speed relative to simulation time, in (0, 16]. */
  speed: number;
}
export interface ViewModeMessage {
  type: 'view-mode';
  mode: ViewMode;
}

export type ClientMessage = PlayMessage | PauseMessage | SeekMessage | SpeedMessage | ViewModeMessage;

export type Message = ServerMessage | ClientMessage;

/** Largest client message the server accepts (ws maxPayload). */
export const MAX_CLIENT_MESSAGE_BYTES = 4096;
export const MAX_PLAYBACK_SPEED = 16;
/**
 * Longest time one step is shown for: frames play at simulation speed, but point-nav's dt
 * is one second of abstract time, and 100 s episodes would bore anyone, so no env plays
 * slower than 20 steps a second. The server paces live frames by the same clock.
 */
export const MAX_SHOWN_STEP_S = 0.05;

/** Seconds a step of an env with this dt takes on screen. */
export function shownStepS(dt: number): number {
  return Math.min(dt, MAX_SHOWN_STEP_S);
}

// ---------------------------------------------------------------- binary frame layout

/** Byte 0 of every binary message. */
export const BINARY_KIND_FRAME = 1;
/** u8: BINARY_KIND_FRAME. */
export const FRAME_OFFSET_KIND = 0;
/** u8: PROTOCOL_VERSION. */
export const FRAME_OFFSET_VERSION = 1;
/** u16 little-endian: bodies in the frame. */
export const FRAME_OFFSET_BODY_COUNT = 2;
/** u32 little-endian. */
export const FRAME_OFFSET_ENV_ID = 4;
/** u32 little-endian. */
export const FRAME_OFFSET_STEP = 8;
/** f32 little-endian: running return. */
export const FRAME_OFFSET_RETURN = 12;
/** f32 little-endian poses start here; 16 keeps them 4-byte aligned for a Float32Array view. */
export const FRAME_HEADER_BYTES = 16;
const MAX_BODIES = 0xffff;

/** Every platform we run on is little-endian; the fallback keeps the wire format right elsewhere. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function frameByteLength(bodyCount: number): number {
  return FRAME_HEADER_BYTES + bodyCount * POSE_STRIDE * 4;
}

/**
 * Packs a frame. `poses.length` must be a multiple of POSE_STRIDE. Writes into `out`
 * when given (it must be exactly `frameByteLength(bodyCount)` bytes), else allocates.
 */
export function encodeFrame(envId: number, step: number, ret: number, poses: Float32Array, out?: Uint8Array): Uint8Array {
  if (poses.length % POSE_STRIDE !== 0) {
    throw protocolError(`frame poses have ${poses.length} floats, not a multiple of POSE_STRIDE (${POSE_STRIDE})`);
  }
  const bodyCount = poses.length / POSE_STRIDE;
  if (bodyCount > MAX_BODIES) throw protocolError(`frame has ${bodyCount} bodies; at most ${MAX_BODIES} fit`);
  checkId('envId', envId);
  checkId('step', step);
  const bytes = frameByteLength(bodyCount);
  const buf = out ?? new Uint8Array(bytes);
  if (buf.byteLength !== bytes) throw protocolError(`frame buffer is ${buf.byteLength} bytes; ${bytes} needed`);
  const view = new DataView(buf.buffer, buf.byteOffset, bytes);
  view.setUint8(FRAME_OFFSET_KIND, BINARY_KIND_FRAME);
  view.setUint8(FRAME_OFFSET_VERSION, PROTOCOL_VERSION);
  view.setUint16(FRAME_OFFSET_BODY_COUNT, bodyCount, true);
  view.setUint32(FRAME_OFFSET_ENV_ID, envId, true);
  view.setUint32(FRAME_OFFSET_STEP, step, true);
  view.setFloat32(FRAME_OFFSET_RETURN, ret, true);
  if (HOST_LITTLE_ENDIAN && (buf.byteOffset + FRAME_HEADER_BYTES) % 4 === 0) {
    new Float32Array(buf.buffer, buf.byteOffset + FRAME_HEADER_BYTES, poses.length).set(poses);
  } else {
    for (let i = 0; i < poses.length; i++) view.setFloat32(FRAME_HEADER_BYTES + 4 * i, poses[i], true);
  }
  return buf;
}

/** Unpacks a binary frame. The poses are a view on `data` when alignment allows (no copy). */
export function decodeFrame(data: ArrayBuffer | Uint8Array): FrameMessage {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < FRAME_HEADER_BYTES) {
    throw protocolError(`binary message of ${bytes.byteLength} bytes is shorter than a frame header (${FRAME_HEADER_BYTES})`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint8(FRAME_OFFSET_KIND);
  if (kind !== BINARY_KIND_FRAME) throw protocolError(`unknown binary message kind ${kind}`);
  const version = view.getUint8(FRAME_OFFSET_VERSION);
  if (version !== PROTOCOL_VERSION) throw versionMismatch(version, PROTOCOL_VERSION);
  const bodyCount = view.getUint16(FRAME_OFFSET_BODY_COUNT, true);
  const expected = frameByteLength(bodyCount);
  if (bytes.byteLength !== expected) {
    throw protocolError(`frame of ${bodyCount} bodies should be ${expected} bytes, got ${bytes.byteLength}`);
  }
  const n = bodyCount * POSE_STRIDE;
  let poses: Float32Array;
  if (HOST_LITTLE_ENDIAN && (bytes.byteOffset + FRAME_HEADER_BYTES) % 4 === 0) {
    poses = new Float32Array(bytes.buffer, bytes.byteOffset + FRAME_HEADER_BYTES, n);
  } else {
    poses = new Float32Array(n);
    for (let i = 0; i < n; i++) poses[i] = view.getFloat32(FRAME_HEADER_BYTES + 4 * i, true);
  }
  return {
    type: 'frame',
    envId: view.getUint32(FRAME_OFFSET_ENV_ID, true),
    step: view.getUint32(FRAME_OFFSET_STEP, true),
    ret: view.getFloat32(FRAME_OFFSET_RETURN, true),
    poses,
  };
}

// ---------------------------------------------------------------- encode / decode

/** Frames become bytes, everything else a JSON string. */
export function encodeServerMessage(msg: ServerMessage): string | Uint8Array {
  if (msg.type === 'frame') return encodeFrame(msg.envId, msg.step, msg.ret, msg.poses);
  return JSON.stringify(msg);
}

export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg);
}

/** Validates a message from the server; binary data must be a frame. */
export function decodeServerMessage(data: string | ArrayBuffer | Uint8Array): ServerMessage {
  if (typeof data !== 'string') return decodeFrame(data);
  const o = parseObject(data);
  switch (o.type) {
    case 'hello': {
      const protocol = int(o, 'protocol', 'hello');
      // The version is checked before the rest, whose shape may differ between versions.
      if (protocol !== PROTOCOL_VERSION) throw versionMismatch(protocol, PROTOCOL_VERSION);
      return { type: 'hello', protocol, run: o.run === null ? null : runInfo(o.run) };
    }
    case 'scene':
      return { type: 'scene', envId: id(o, 'envId', 'scene'), stage: stage(o.stage), dt: positive(o, 'dt', 'scene'), scene: scene(o.scene) };
    case 'episode': {
      const phase = o.phase;
      if (phase !== 'start' && phase !== 'end') throw protocolError(`episode.phase must be 'start' or 'end', got ${show(phase)}`);
      return {
        type: 'episode',
        phase,
        envId: id(o, 'envId', 'episode'),
        stage: stage(o.stage),
        ret: num(o, 'ret', 'episode'),
        length: id(o, 'length', 'episode'),
      };
    }
    case 'belief':
      return belief(o);
    case 'metrics': {
      if (typeof o.replace !== 'boolean') throw protocolError('metrics.replace must be a boolean');
      if (!Array.isArray(o.rows)) throw protocolError('metrics.rows must be an array');
      return { type: 'metrics', replace: o.replace, rows: o.rows.map(metricsRow) };
    }
    case 'reset':
      return { type: 'reset' };
    case 'replay-state':
      if (typeof o.file !== 'string' || typeof o.playing !== 'boolean') throw protocolError('replay-state needs file and playing');
      return {
        type: 'replay-state',
        file: o.file,
        playing: o.playing,
        timeS: num(o, 'timeS', 'replay-state'),
        durationS: num(o, 'durationS', 'replay-state'),
        speed: positive(o, 'speed', 'replay-state'),
      };
    default:
      throw protocolError(`unknown server message type ${show(o.type)}`);
  }
}

/** Validates a message from a browser; anything else throws (the server logs and ignores it). */
export function decodeClientMessage(data: string): ClientMessage {
  const o = parseObject(data);
  switch (o.type) {
    case 'play':
    case 'pause':
      return { type: o.type };
    case 'seek': {
      const timeS = num(o, 'timeS', 'seek');
      if (timeS < 0) throw protocolError(`seek.timeS must be ≥ 0, got ${timeS}`);
      return { type: 'seek', timeS };
    }
    case 'speed': {
      const speed = positive(o, 'speed', 'speed');
      if (speed > MAX_PLAYBACK_SPEED) throw protocolError(`speed must be at most ${MAX_PLAYBACK_SPEED}, got ${speed}`);
      return { type: 'speed', speed };
    }
    case 'view-mode':
      if (!VIEW_MODES.includes(o.mode as ViewMode)) throw protocolError(`view-mode.mode must be one of ${VIEW_MODES.join(', ')}, got ${show(o.mode)}`);
      return { type: 'view-mode', mode: o.mode as ViewMode };
    default:
      throw protocolError(`unknown client message type ${show(o.type)}`);
  }
}

/** True for the error a decoder throws when the other end speaks another protocol version. */
export function isVersionMismatch(err: unknown): boolean {
  return err instanceof MetarlError && err.code === 'METARL_PROTOCOL' && err.details.reason === 'version';
}

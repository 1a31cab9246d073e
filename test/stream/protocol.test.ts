import { describe, expect, it } from 'vitest';
import { isMetarlError } from '../../src/core/errors.js';
import type { SceneDescription } from '../../src/core/scene.js';
import {
  FRAME_HEADER_BYTES,
  FRAME_OFFSET_VERSION,
  MAX_BELIEF_DIMS,
  PROTOCOL_VERSION,
  beliefMessage,
  decodeClientMessage,
  decodeFrame,
  decodeServerMessage,
  encodeClientMessage,
  encodeFrame,
  encodeServerMessage,
  frameByteLength,
  isVersionMismatch,
} from '../../src/stream/protocol.js';
import type { ClientMessage, ServerMessage } from '../../src/stream/protocol.js';

const scene: SceneDescription = {
  family: 'test-family',
  bodies: [
    { name: 'torso', shapes: [{ shape: { kind: 'capsule', radius: 0.05, halfHeight: 0.4 }, position: [0, 0, 0], rotation: [0, 0, 0.7071, 0.7071], color: '#d08040' }] },
    { name: 'ball', shapes: [{ shape: { kind: 'sphere', radius: 0.1 }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#4080d0' }] },
  ],
  ground: { kind: 'heightfield', nrows: 2, ncols: 3, sizeX: 4, sizeZ: 2, center: [0, 0, 0], heights: [0, 0.1, 0.2, 0.3, 0.2, 0.1], color: '#708060' },
  markers: [
    { kind: 'goal', position: [1, 0, 1], radius: 0.1, color: '#e03030' },
    { kind: 'arrow', position: [0, 1, 0], direction: [1.3, 0, 0], color: '#30a0e0', label: 'v* = 1.3' },
    { kind: 'text', text: 'hello' },
  ],
  taskLabel: { 'target velocity': 1.3, terrain: 'rough' },
};

const serverMessages: ServerMessage[] = [
  {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    run: { family: 'cheetah-vel', agent: 'maml', backend: 'wasm', mode: 'train', runName: 'r1', config: { seed: 1, lr: 0.1, firstOrder: false, note: null }, stages: ['pre', 'step 1'] },
  },
  { type: 'hello', protocol: PROTOCOL_VERSION, run: null },
  { type: 'scene', envId: 3, stage: { index: 2, label: 'step 2' }, dt: 0.05, scene },
  { type: 'episode', phase: 'start', envId: 3, stage: { index: 1, label: 'episode 2' }, ret: 0, length: 0 },
  { type: 'episode', phase: 'end', envId: 0, stage: { index: 0, label: 'rollout' }, ret: -12.5, length: 200 },
  { type: 'metrics', replace: true, rows: [{ iteration: 4, stageReturns: [-80, -60.5], values: { loss: 0.25, kl: 0.01 } }] },
  { type: 'belief', envId: 2, stage: { index: 2, label: 'episode 3' }, episode: 2, mean: [0.5, -1.25, 0, 3], std: [0.1, 0.2, 1, 0.05] },
  { type: 'reset' },
  { type: 'replay-state', file: 'x.mrr', playing: true, timeS: 1.5, durationS: 10, speed: 2 },
  {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    run: {
      family: 'point-nav',
      agent: 'maml',
      backend: 'cpu',
      mode: 'view',
      config: {},
      stages: ['pre', 'step 1'],
      reference: [
        { label: 'maml (held-out eval)', returns: [-40.1, -20.3], stderr: [1.2, 0.9] },
        { label: 'random init + fine-tune', returns: [-45, -44.5], stderr: [0, 1.5] },
      ],
    },
  },
];

const clientMessages: ClientMessage[] = [
  { type: 'play' },
  { type: 'pause' },
  { type: 'seek', timeS: 3.25 },
  { type: 'speed', speed: 0.5 },
  { type: 'view-mode', mode: 'sequential' },
];

function expectProtocolError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isMetarlError(caught, 'METARL_PROTOCOL')).toBe(true);
  expect((caught as Error).message).toMatch(pattern);
}

describe('protocol round trips', () => {
  it.each(serverMessages.map((m) => [m.type, m] as const))('server message %s', (_type, msg) => {
    const wire = encodeServerMessage(msg);
    expect(typeof wire).toBe('string');
    expect(decodeServerMessage(wire)).toEqual(msg);
  });

  it.each(clientMessages.map((m) => [m.type, m] as const))('client message %s', (_type, msg) => {
    expect(decodeClientMessage(encodeClientMessage(msg))).toEqual(msg);
  });

  it('frames are binary with the documented layout and round-trip exactly', () => {
    const poses = new Float32Array(14).map((_, i) => i * 0.5 - 3);
    const wire = encodeServerMessage({ type: 'frame', envId: 7, step: 123, ret: -4.5, poses });
    expect(wire).toBeInstanceOf(Uint8Array);
    const bytes = wire as Uint8Array;
    expect(bytes.byteLength).toBe(FRAME_HEADER_BYTES + 14 * 4);
    expect(bytes[FRAME_OFFSET_VERSION]).toBe(PROTOCOL_VERSION);
    const back = decodeServerMessage(bytes);
    expect(back).toEqual({ type: 'frame', envId: 7, step: 123, ret: -4.5, poses });
    // Decoding an ArrayBuffer (what a browser gets) gives the same.
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(decodeFrame(ab)).toEqual(back);
  });

  it('decodes a frame at an unaligned offset by copying', () => {
    const poses = new Float32Array([1, 2, 3, 0, 0, 0, 1]);
    const framed = new Uint8Array(frameByteLength(1) + 1);
    encodeFrame(1, 2, 3, poses, framed.subarray(1));
    expect(decodeFrame(framed.subarray(1)).poses).toEqual(poses);
  });

  it('NaN stage returns survive as NaN (JSON null)', () => {
    const msg: ServerMessage = { type: 'metrics', replace: false, rows: [{ iteration: 0, stageReturns: [Number.NaN, 1], values: {} }] };
    const back = decodeServerMessage(encodeServerMessage(msg)) as Extract<ServerMessage, { type: 'metrics' }>;
    expect(back.rows[0].stageReturns[0]).toBeNaN();
    expect(back.rows[0].stageReturns[1]).toBe(1);
  });
});

describe('protocol rejects malformed input', () => {
  it('non-JSON, non-objects and unknown types', () => {
    expectProtocolError(() => decodeServerMessage('{not json'), /not JSON/);
    expectProtocolError(() => decodeServerMessage('[1,2]'), /must be an object/);
    expectProtocolError(() => decodeServerMessage('{"type":"bogus"}'), /unknown server message type "bogus"/);
    expectProtocolError(() => decodeClientMessage('{"type":"frame"}'), /unknown client message type/);
  });

  it('bad fields name the field', () => {
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], envId: -1 })), /scene.envId/);
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], stage: { kind: 'maml-step', k: 1 } })), /stage.index/);
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], stage: { index: 1 } })), /stage.label must be a string/);
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], dt: 0 })), /scene.dt must be > 0/);
    const badScene = { ...scene, ground: { ...scene.ground, heights: [1, 2] } };
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], scene: badScene })), /heights must have 6 numbers/);
    const badShape = { ...scene, bodies: [{ name: 'b', shapes: [{ shape: { kind: 'torus' }, position: [0, 0, 0], rotation: [0, 0, 0, 1], color: '#fff' }] }] };
    expectProtocolError(() => decodeServerMessage(JSON.stringify({ ...serverMessages[2], scene: badShape })), /shape kind/);
    expectProtocolError(() => decodeClientMessage('{"type":"seek","timeS":-1}'), /timeS must be ≥ 0/);
    expectProtocolError(() => decodeClientMessage('{"type":"speed","speed":1000}'), /at most 16/);
    expectProtocolError(() => decodeClientMessage('{"type":"view-mode","mode":"grid"}'), /view-mode.mode/);
  });

  it('reference curves (issue 10): one finite value and stderr ≥ 0 per stage, and a label', () => {
    const run = { family: 'f', agent: 'maml', backend: 'cpu', mode: 'view', config: {}, stages: ['pre', 'step 1'] };
    const hello = (reference: unknown, r: object = run) => JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, run: { ...r, reference } });
    const curve = { label: 'pretrained + fine-tune', returns: [-3, -2], stderr: [0.5, 0.25] };
    expect(decodeServerMessage(hello([curve]))).toMatchObject({ run: { reference: [curve] } });
    expect(decodeServerMessage(hello([]))).toMatchObject({ run: { reference: [] } });
    expectProtocolError(() => decodeServerMessage(hello({ label: 'x' })), /hello.run.reference must be an array/);
    expectProtocolError(() => decodeServerMessage(hello([curve], { ...run, stages: undefined })), /hello.run.reference needs hello.run.stages/);
    expectProtocolError(() => decodeServerMessage(hello([curve, 'x'])), /hello.run.reference\[1\] must be an object/);
    expectProtocolError(() => decodeServerMessage(hello([{ ...curve, label: undefined }])), /hello.run.reference\[0\].label must be a string/);
    expectProtocolError(() => decodeServerMessage(hello([{ ...curve, returns: [-3] }])), /hello.run.reference\[0\].returns must have 2 numbers, got 1/);
    expectProtocolError(() => decodeServerMessage(hello([{ ...curve, returns: [-3, null] }])), /hello.run.reference\[0\].returns must be an array of finite numbers/);
    expectProtocolError(() => decodeServerMessage(hello([{ ...curve, stderr: [0.5, 0.5, 0.5] }])), /hello.run.reference\[0\].stderr must have 2 numbers, got 3/);
    expectProtocolError(() => decodeServerMessage(hello([{ ...curve, stderr: [0.5, -1] }])), /hello.run.reference\[0\].stderr must be ≥ 0/);
  });

  it('a metrics row\'s validation check: one finite mean and stderr ≥ 0 per stage, and a task count', () => {
    const validation = { returns: [-3, -2], stderr: [0.5, 0.25], tasks: 10 };
    const wire = (v: unknown) => JSON.stringify({ type: 'metrics', replace: false, rows: [{ iteration: 5, stageReturns: [-4, -1], values: {}, validation: v }] });
    expect(decodeServerMessage(wire(validation))).toMatchObject({ rows: [{ iteration: 5, validation }] });
    expect((decodeServerMessage(wire(undefined)) as Extract<ServerMessage, { type: 'metrics' }>).rows[0]).not.toHaveProperty('validation');
    expectProtocolError(() => decodeServerMessage(wire('x')), /metrics row validation must be an object/);
    expectProtocolError(() => decodeServerMessage(wire({ ...validation, returns: [-3] })), /metrics row validation.returns must have 2 numbers, got 1/);
    expectProtocolError(() => decodeServerMessage(wire({ ...validation, returns: [-3, null] })), /metrics row validation.returns must be an array of finite numbers/);
    expectProtocolError(() => decodeServerMessage(wire({ ...validation, stderr: [0.5, -1] })), /metrics row validation.stderr must be ≥ 0/);
    expectProtocolError(() => decodeServerMessage(wire({ ...validation, tasks: 0 })), /metrics row validation.tasks must be at least 1/);
    expectProtocolError(() => decodeServerMessage(wire({ ...validation, tasks: 2.5 })), /metrics row validation.tasks must be an integer/);
  });

  it('beliefs (issue 8): finite means, std > 0, as many stds as means, 1 to MAX_BELIEF_DIMS of each', () => {
    const good = { type: 'belief', envId: 1, stage: { index: 1, label: 'episode 2' }, episode: 1, mean: [0.5, -0.5], std: [0.3, 0.4] };
    const wire = (o: object) => JSON.stringify({ ...good, ...o });
    expect(decodeServerMessage(wire({}))).toEqual(good);
    const widest = Array.from({ length: MAX_BELIEF_DIMS }, () => 1);
    expect(decodeServerMessage(wire({ mean: widest, std: widest }))).toMatchObject({ mean: widest, std: widest });
    expectProtocolError(() => decodeServerMessage(wire({ mean: [0.5, null] })), /belief.mean must be an array of finite numbers/);
    expectProtocolError(() => decodeServerMessage(wire({ std: [0.3, 'x'] })), /belief.std must be an array of finite numbers/);
    expectProtocolError(() => decodeServerMessage(wire({ std: [0.3] })), /belief.std must have 2 numbers, got 1/);
    expectProtocolError(() => decodeServerMessage(wire({ std: [0.3, 0] })), /belief.std must be > 0/);
    expectProtocolError(() => decodeServerMessage(wire({ std: [0.3, -1] })), /belief.std must be > 0/);
    expectProtocolError(() => decodeServerMessage(wire({ mean: [], std: [] })), /belief.mean must be an array of 1 to 64 numbers/);
    expectProtocolError(() => decodeServerMessage(wire({ mean: [...widest, 1], std: [...widest, 1] })), /belief.mean must be an array of 1 to 64 numbers/);
    expectProtocolError(() => decodeServerMessage(wire({ mean: undefined })), /belief.mean must be an array/);
    expectProtocolError(() => decodeServerMessage(wire({ episode: -1 })), /belief.episode/);
    expectProtocolError(() => decodeServerMessage(wire({ envId: 1.5 })), /belief.envId must be an integer/);
    expectProtocolError(() => decodeServerMessage(wire({ stage: undefined })), /stage must be an object/);
  });

  it("a learner's NaN belief is refused when the message is made, not sent as JSON null (issue 8)", () => {
    const stage = { index: 0, label: 'episode 1' };
    expect(beliefMessage(0, stage, 0, { mean: new Float32Array([0.25, 0]), std: new Float32Array([1, 0.5]) })).toEqual({ type: 'belief', envId: 0, stage, episode: 0, mean: [0.25, 0], std: [1, 0.5] });
    expectProtocolError(() => beliefMessage(0, stage, 0, { mean: [Number.NaN, 0], std: [1, 1] }), /belief.mean must be an array of finite numbers/);
  });

  it('truncated, mis-sized or unknown binary messages', () => {
    const good = encodeFrame(0, 0, 0, new Float32Array(7));
    expectProtocolError(() => decodeFrame(good.subarray(0, 10)), /shorter than a frame header/);
    expectProtocolError(() => decodeFrame(good.subarray(0, good.byteLength - 4)), /should be 44 bytes, got 40/);
    const wrongKind = good.slice();
    wrongKind[0] = 9;
    expectProtocolError(() => decodeFrame(wrongKind), /unknown binary message kind 9/);
    expectProtocolError(() => encodeFrame(0, 0, 0, new Float32Array(5)), /multiple of POSE_STRIDE/);
    expectProtocolError(() => encodeFrame(-1, 0, 0, new Float32Array(7)), /envId/);
  });
});

describe('protocol version mismatch', () => {
  it('a hello from another version is a clear, recognisable error', () => {
    let caught: unknown;
    try {
      decodeServerMessage(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION + 1, run: { anything: 'else' } }));
    } catch (err) {
      caught = err;
    }
    expect(isVersionMismatch(caught)).toBe(true);
    expect((caught as Error).message).toMatch(new RegExp(`server speaks protocol v${PROTOCOL_VERSION + 1}, this viewer v${PROTOCOL_VERSION}`));
    expect((caught as Error).message).toMatch(/npm run build/);
  });

  it('a frame from another version is the same error', () => {
    const bytes = encodeFrame(0, 0, 0, new Float32Array(7));
    bytes[FRAME_OFFSET_VERSION] = PROTOCOL_VERSION + 1;
    let caught: unknown;
    try {
      decodeFrame(bytes);
    } catch (err) {
      caught = err;
    }
    expect(isVersionMismatch(caught)).toBe(true);
    expect(isVersionMismatch(new Error('other'))).toBe(false);
  });
});

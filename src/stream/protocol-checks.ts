/**
 * Validation for src/stream/protocol.ts: small hand-written checks (zod would triple the
 * viewer bundle) that throw a `MetarlError` with code `METARL_PROTOCOL` naming the field.
 * @internal
 */
import { MetarlError } from '../core/errors.js';
import type { SceneDescription } from '../core/scene.js';
import type { BeliefMessage, MetricsRow, ReferenceCurve, RunInfo, Stage, ValidationPoint } from './protocol.js';

/** Most latent dimensions a `belief` message carries (PEARL's default is 5); protocol.ts re-exports it. */
export const MAX_BELIEF_DIMS = 64;


export type Obj = Record<string, unknown>;

export function protocolError(message: string, details: Record<string, unknown> = {}): MetarlError {
  return new MetarlError('METARL_PROTOCOL', `viewer protocol: ${message}`, details);
}

export function versionMismatch(got: number, expected: number): MetarlError {
  return protocolError(
    `version mismatch: the server speaks protocol v${got}, this viewer v${expected}. ` +
      'Rebuild the viewer (`npm run build`) from the same metarl version as the server, then reload the page.',
    { reason: 'version', expected, got },
  );
}

export function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

export function parseObject(text: string): Obj {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw protocolError(`message is not JSON: ${show(text)}`);
  }
  return obj(v, 'message');
}

export function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw protocolError(`${what} must be an object, got ${show(v)}`);
  return v as Obj;
}

export function num(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw protocolError(`${what}.${key} must be a finite number, got ${show(v)}`);
  return v;
}

export function positive(o: Obj, key: string, what: string): number {
  const v = num(o, key, what);
  if (v <= 0) throw protocolError(`${what}.${key} must be > 0, got ${v}`);
  return v;
}

export function int(o: Obj, key: string, what: string): number {
  const v = num(o, key, what);
  if (!Number.isInteger(v)) throw protocolError(`${what}.${key} must be an integer, got ${v}`);
  return v;
}

export function id(o: Obj, key: string, what: string): number {
  const v = int(o, key, what);
  if (v < 0 || v > 0xffffffff) throw protocolError(`${what}.${key} must be in [0, 2^32), got ${v}`);
  return v;
}

export function checkId(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw protocolError(`frame ${what} must be an integer in [0, 2^32), got ${v}`);
}

export function str(o: Obj, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw protocolError(`${what}.${key} must be a string, got ${show(v)}`);
  return v;
}

function numbers(v: unknown, what: string, length?: number): number[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw protocolError(`${what} must be an array of finite numbers`);
  }
  if (length !== undefined && v.length !== length) throw protocolError(`${what} must have ${length} numbers, got ${v.length}`);
  return v as number[];
}

export function stage(v: unknown): Stage {
  const o = obj(v, 'stage');
  return { index: id(o, 'index', 'stage'), label: str(o, 'label', 'stage') };
}

/** A `belief` message: mean and std of equal length in [1, MAX_BELIEF_DIMS], finite, std > 0. */
export function belief(o: Obj): BeliefMessage {
  const mean = o.mean;
  const std = o.std;
  if (!Array.isArray(mean) || mean.length < 1 || mean.length > MAX_BELIEF_DIMS) {
    throw protocolError(`belief.mean must be an array of 1 to ${MAX_BELIEF_DIMS} numbers, got ${show(mean)}`);
  }
  numbers(mean, 'belief.mean');
  numbers(std, 'belief.std', mean.length);
  if ((std as number[]).some((x) => x <= 0)) throw protocolError(`belief.std must be > 0 in every dimension, got ${show(std)}`);
  return { type: 'belief', envId: id(o, 'envId', 'belief'), stage: stage(o.stage), episode: id(o, 'episode', 'belief'), mean: mean as number[], std: std as number[] };
}

export function runInfo(v: unknown): RunInfo {
  const o = obj(v, 'hello.run');
  const mode = o.mode;
  if (mode !== 'train' && mode !== 'view' && mode !== 'replay') throw protocolError(`hello.run.mode must be train, view or replay, got ${show(mode)}`);
  const config = obj(o.config, 'hello.run.config');
  for (const [k, x] of Object.entries(config)) {
    if (x !== null && typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      throw protocolError(`hello.run.config.${k} must be a string, number, boolean or null`);
    }
  }
  const info: RunInfo = {
    family: str(o, 'family', 'hello.run'),
    agent: str(o, 'agent', 'hello.run'),
    backend: str(o, 'backend', 'hello.run'),
    mode,
    config: config as RunInfo['config'],
  };
  if (o.runName !== undefined) info.runName = str(o, 'runName', 'hello.run');
  if (o.stages !== undefined) {
    if (!Array.isArray(o.stages) || o.stages.some((x) => typeof x !== 'string')) throw protocolError(`hello.run.stages must be an array of strings, got ${show(o.stages)}`);
    info.stages = o.stages as string[];
  }
  if (o.reference !== undefined) info.reference = referenceCurves(o.reference, info.stages);
  return info;
}

/** Each curve needs a value and a standard error (≥ 0) at every one of the run's stages. */
function referenceCurves(v: unknown, stages: string[] | undefined): ReferenceCurve[] {
  if (!Array.isArray(v)) throw protocolError(`hello.run.reference must be an array, got ${show(v)}`);
  if (stages === undefined) throw protocolError('hello.run.reference needs hello.run.stages: its values are per stage');
  return v.map((c, i) => {
    const what = `hello.run.reference[${i}]`;
    const o = obj(c, what);
    const label = str(o, 'label', what);
    const returns = numbers(o.returns, `${what}.returns`, stages.length);
    const stderr = numbers(o.stderr, `${what}.stderr`, stages.length);
    if (stderr.some((x) => x < 0)) throw protocolError(`${what}.stderr must be ≥ 0, got ${show(stderr)}`);
    return { label, returns, stderr };
  });
}

export function metricsRow(v: unknown): MetricsRow {
  const o = obj(v, 'metrics row');
  const values = obj(o.values, 'metrics row values');
  for (const [k, x] of Object.entries(values)) {
    if (x === null) values[k] = Number.NaN;
    else if (typeof x !== 'number') throw protocolError(`metrics row value ${k} must be a number`);
  }
  // Returns may be NaN in a row (a stage not evaluated); JSON carries that as null.
  const stageReturns = o.stageReturns;
  if (!Array.isArray(stageReturns) || stageReturns.some((x) => x !== null && typeof x !== 'number')) {
    throw protocolError('metrics row stageReturns must be an array of numbers');
  }
  const row: MetricsRow = {
    iteration: id(o, 'iteration', 'metrics row'),
    stageReturns: stageReturns.map((x) => (x === null ? Number.NaN : (x as number))),
    values: values as Record<string, number>,
  };
  if (o.validation !== undefined) row.validation = validationPoint(o.validation, stageReturns.length);
  return row;
}

function validationPoint(v: unknown, stages: number): ValidationPoint {
  const what = 'metrics row validation';
  const o = obj(v, what);
  const returns = numbers(o.returns, `${what}.returns`, stages);
  const stderr = numbers(o.stderr, `${what}.stderr`, stages);
  if (stderr.some((x) => x < 0)) throw protocolError(`${what}.stderr must be ≥ 0, got ${show(stderr)}`);
  const tasks = int(o, 'tasks', what);
  if (tasks < 1) throw protocolError(`${what}.tasks must be at least 1, got ${tasks}`);
  return { returns, stderr, tasks };
}

const SHAPE_KINDS = ['sphere', 'box', 'capsule', 'cylinder'];

export function scene(v: unknown): SceneDescription {
  const o = obj(v, 'scene');
  str(o, 'family', 'scene');
  if (!Array.isArray(o.bodies)) throw protocolError('scene.bodies must be an array');
  for (const b of o.bodies) {
    const body = obj(b, 'scene body');
    str(body, 'name', 'scene body');
    if (!Array.isArray(body.shapes)) throw protocolError(`scene body ${show(body.name)} needs a shapes array`);
    for (const s of body.shapes) {
      const sh = obj(s, 'scene shape');
      const kind = obj(sh.shape, 'scene shape.shape').kind;
      if (!SHAPE_KINDS.includes(kind as string)) throw protocolError(`shape kind must be one of ${SHAPE_KINDS.join(', ')}, got ${show(kind)}`);
      numbers(sh.position, 'shape position', 3);
      numbers(sh.rotation, 'shape rotation', 4);
      str(sh, 'color', 'scene shape');
    }
  }
  const ground = obj(o.ground, 'scene.ground');
  if (ground.kind === 'heightfield') {
    const nrows = id(ground, 'nrows', 'heightfield');
    const ncols = id(ground, 'ncols', 'heightfield');
    if (nrows < 2 || ncols < 2) throw protocolError('heightfield needs at least 2 × 2 samples');
    numbers(ground.heights, 'heightfield heights', nrows * ncols);
    numbers(ground.center, 'heightfield center', 3);
    positive(ground, 'sizeX', 'heightfield');
    positive(ground, 'sizeZ', 'heightfield');
  } else if (ground.kind === 'plane') {
    num(ground, 'height', 'plane');
  } else {
    throw protocolError(`scene.ground.kind must be 'plane' or 'heightfield', got ${show(ground.kind)}`);
  }
  if (!Array.isArray(o.markers)) throw protocolError('scene.markers must be an array');
  for (const m of o.markers) {
    const kind = obj(m, 'marker').kind;
    if (kind !== 'goal' && kind !== 'arrow' && kind !== 'text') throw protocolError(`marker kind must be goal, arrow or text, got ${show(kind)}`);
  }
  obj(o.taskLabel, 'scene.taskLabel');
  return o as unknown as SceneDescription;
}

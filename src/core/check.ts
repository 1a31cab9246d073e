import { MetarlError } from './errors.js';
import { Rng } from './rng.js';
import { POSE_STRIDE } from './scene.js';
import type { Env, Task, TaskFamily } from './types.js';

export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
}

export interface CheckOptions {
  /** Tasks to try; each runs one short episode. */
  tasks?: number;
  /** Steps per episode at most. */
  steps?: number;
  seed?: number;
}

/**
 * Runs a family through the contract every learner relies on, as `metarl check`
 * and training do before they start: tasks are JSON and deterministic for a seed,
 * reset/step return the spec's sizes, observations and rewards are finite, the
 * scene and frame hold spec.bodyCount bodies, and dispose exists. Never throws for a broken family: each failure is a row.
 */
export function checkFamily(family: TaskFamily, options: CheckOptions = {}): CheckResult[] {
  const { tasks: nTasks = 3, steps = 50, seed = 1 } = options;
  const results: CheckResult[] = [];
  const record = (check: string, run: () => string) => {
    try {
      results.push({ check, ok: true, detail: run() });
    } catch (err) {
      results.push({ check, ok: false, detail: (err as Error).message });
    }
    return results[results.length - 1].ok;
  };
  let tasks: Task[] = [];
  const sampled = record('sampleTasks returns n tasks', () => {
    tasks = family.sampleTasks(new Rng(seed), nTasks);
    if (!Array.isArray(tasks) || tasks.length !== nTasks) throw new Error(`sampleTasks(rng, ${nTasks}) returned ${Array.isArray(tasks) ? `${tasks.length} tasks` : typeof tasks}`);
    return `${nTasks} tasks, e.g. ${JSON.stringify(tasks[0])}`;
  });
  if (!sampled) return results;
  record('tasks are JSON-serialisable', () => {
    tasks.forEach((task, i) => assertJson(task, `task ${i}`));
    return 'plain data';
  });
  record('sampleTasks is deterministic for a seed', () => {
    const again = family.sampleTasks(new Rng(seed), nTasks);
    if (JSON.stringify(again) !== JSON.stringify(tasks)) throw new Error('two calls with the same seed gave different tasks: draw every random number from the rng argument');
    return 'same seed, same tasks';
  });
  tasks.forEach((task, i) => {
    let env: Env | null = null;
    record(`task ${i}: reset/step follow the spec`, () => {
      env = family.makeEnv(task);
      if (typeof env?.dispose !== 'function') throw new Error('the env has no dispose() method: it must free its physics world');
      const { obsSize, actSize } = family.spec;
      expectObs(env.reset(seed + i), obsSize, 'reset()');
      const action = new Float32Array(actSize);
      const rng = new Rng(seed + 100 + i);
      let t = 0;
      for (; t < steps; t++) {
        for (let a = 0; a < actSize; a++) action[a] = rng.uniform(-1, 1);
        const result = env.step(action);
        expectObs(result.obs, obsSize, `step() at step ${t}`);
        if (typeof result.reward !== 'number' || !Number.isFinite(result.reward)) throw new Error(`step() at step ${t} returned reward ${String(result.reward)}: rewards must be finite numbers`);
        if (result.terminated || result.truncated) break;
      }
      return `${t + 1} steps, obs ${obsSize}, act ${actSize}`;
    });
    if (env) {
      record(`task ${i}: scene() and frame() have spec.bodyCount bodies`, () => expectBodies(env as Env, family.spec.bodyCount));
      record(`task ${i}: dispose()`, () => ((env as Env).dispose(), 'freed'));
    }
  });
  return results;
}

/** Throws one `METARL_FAMILY_INVALID` error listing every failed check. */
export function assertFamilyValid(family: TaskFamily, options?: CheckOptions): void {
  const failed = checkFamily(family, options).filter((r) => !r.ok);
  if (failed.length) {
    throw new MetarlError(
      'METARL_FAMILY_INVALID',
      `task family '${family.name}' fails ${failed.length} check(s):\n${failed.map((r) => `  - ${r.check}: ${r.detail}`).join('\n')}`,
      { family: family.name, failed },
    );
  }
}

function expectObs(obs: unknown, size: number, where: string): void {
  if (!(obs instanceof Float32Array)) throw new Error(`${where} returned ${describe(obs)} as observation: return a Float32Array`);
  if (obs.length !== size) throw new Error(`${where} returned an observation of length ${obs.length}, but spec.obsSize is ${size}`);
  const bad = obs.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`${where} returned a non-finite observation: obs[${bad}] = ${obs[bad]}`);
}

/** The viewer and the sampler's pose buffers are sized from spec.bodyCount: a wrong count draws the wrong bodies or none. */
function expectBodies(env: Env, bodyCount: number): string {
  const listed = env.scene().bodies.length;
  if (listed !== bodyCount) throw new Error(`scene() lists ${listed} bodies but spec.bodyCount is ${bodyCount}`);
  const floats = env.frame().length;
  if (floats !== bodyCount * POSE_STRIDE) throw new Error(`frame() returned ${floats} floats but spec.bodyCount ${bodyCount} needs ${bodyCount * POSE_STRIDE} (${POSE_STRIDE} per body)`);
  return `${bodyCount} bodies`;
}

function assertJson(value: unknown, path: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${path} is ${value}: JSON has no NaN or Infinity`);
    return;
  }
  if (Array.isArray(value)) return value.forEach((v, i) => assertJson(v, `${path}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) assertJson(v, `${path}.${k}`);
    return;
  }
  throw new Error(`${path} is ${describe(value)}, not plain JSON data: tasks cross threads and the wire, so use numbers, strings, booleans, arrays and plain objects`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}

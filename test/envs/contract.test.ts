// The Env contract, run over every family registered in envs/index.ts (ant families
// included once they are registered).
import { afterEach, describe, expect, it } from 'vitest';
import { builtinFamilies } from '../../envs/index.js';
import { isMetarlError } from '../../src/core/errors.js';
import { loadFamily } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import { POSE_STRIDE } from '../../src/core/scene.js';
import type { Env, TaskFamily } from '../../src/core/types.js';
import { wasmMemoryBytes } from '../../src/physics/index.js';

const names = builtinFamilies.names();
const STEPS = 30;

function randomActions(rng: Rng, actSize: number, steps: number, scale = 1): Float32Array[] {
  return Array.from({ length: steps }, () => Float32Array.from({ length: actSize }, () => scale * rng.uniform(-1, 1)));
}

/** Runs `actions` from reset(seed); returns every obs and reward (copied), stopping at an episode end. */
function rollout(env: Env, seed: number, actions: Float32Array[]): { obs: number[][]; rewards: number[] } {
  const obs = [Array.from(env.reset(seed))];
  const rewards: number[] = [];
  for (const a of actions) {
    const r = env.step(a);
    obs.push(Array.from(r.obs));
    rewards.push(r.reward);
    if (r.terminated || r.truncated) break;
  }
  return { obs, rewards };
}

describe.each(names)('env contract: %s', (name) => {
  let envs: Env[] = [];
  const make = async () => {
    const family = await loadFamily(builtinFamilies.ref(name));
    const [task] = family.sampleTasks(new Rng(11), 1);
    const env = family.makeEnv(task);
    envs.push(env);
    return { family, env, task };
  };
  afterEach(() => {
    for (const e of envs) e.dispose();
    envs = [];
  });

  it('has a spec with consistent sizes, and reset/step return finite observations of obsSize', async () => {
    const { family, env } = await make();
    const { spec } = family;
    expect(family.name).toBe(name);
    expect(spec.actLow).toHaveLength(spec.actSize);
    expect(spec.actHigh).toHaveLength(spec.actSize);
    expect(env.spec).toEqual(spec);
    const obs0 = env.reset(3);
    expect(obs0).toBeInstanceOf(Float32Array);
    expect(obs0).toHaveLength(spec.obsSize);
    expect(obs0.every(Number.isFinite)).toBe(true);
    let keys: string[] | null = null;
    for (const a of randomActions(new Rng(4), spec.actSize, STEPS)) {
      const r = env.step(a);
      expect(r.obs).toHaveLength(spec.obsSize);
      expect(r.obs.every(Number.isFinite)).toBe(true);
      expect(Number.isFinite(r.reward)).toBe(true);
      const k = Object.keys(r.info ?? {}).sort();
      keys ??= k;
      expect(k).toEqual(keys); // same info keys from the first step on
      if (r.terminated || r.truncated) break;
    }
    expect(keys!.length).toBeGreaterThan(0);
  });

  it('describes a scene whose bodies match the frame', async () => {
    const { family, env } = await make();
    const scene = env.scene();
    expect(scene.family).toBe(name);
    expect(scene.bodies).toHaveLength(family.spec.bodyCount);
    const frame = env.frame();
    expect(frame).toHaveLength(family.spec.bodyCount * POSE_STRIDE);
    expect(frame.every(Number.isFinite)).toBe(true);
    const out = new Float32Array(frame.length);
    expect(env.frame(out)).toBe(out);
    expect(jsonProblem(scene, 'scene')).toBe(null); // crosses the wire as JSON
  });

  it('clips out-of-range actions: same trajectory as the clipped actions', async () => {
    const { family } = await make();
    const { env: a } = await make();
    const { env: b } = await make();
    const big = randomActions(new Rng(5), family.spec.actSize, STEPS, 3);
    const clipped = big.map((x) => x.map((v, i) => Math.min(family.spec.actHigh[i], Math.max(family.spec.actLow[i], v))));
    expect(big.some((x) => x.some((v) => Math.abs(v) > 1))).toBe(true);
    expect(rollout(a, 9, big)).toEqual(rollout(b, 9, clipped));
  });

  it('rejects a wrong-length or NaN action with an error naming the env', async () => {
    const { family, env } = await make();
    env.reset(1);
    const wrong = new Float32Array(family.spec.actSize + 1);
    const nan = new Float32Array(family.spec.actSize).fill(Number.NaN);
    for (const bad of [wrong, nan]) {
      let caught: unknown = null;
      try {
        env.step(bad);
      } catch (err) {
        caught = err;
      }
      expect(isMetarlError(caught, 'METARL_BAD_ACTION')).toBe(true);
      expect((caught as Error).message).toContain(`'${name}'`);
    }
  });

  it('is deterministic for a seed: two envs, and one env reset again after other episodes', async () => {
    const { family, env: a } = await make();
    const { env: b } = await make();
    const actions = randomActions(new Rng(6), family.spec.actSize, STEPS);
    const first = rollout(a, 42, actions);
    expect(rollout(b, 42, actions)).toEqual(first);
    rollout(a, 7, actions); // a different episode in between
    expect(rollout(a, 42, actions)).toEqual(first);
  });

  it('samples tasks deterministically, as plain JSON, inside the ranges of ENVS.md', async () => {
    const { family } = await make();
    const tasks = family.sampleTasks(new Rng(1), 200);
    expect(tasks).toHaveLength(200);
    expect(family.sampleTasks(new Rng(1), 200)).toEqual(tasks);
    expect(JSON.parse(JSON.stringify(tasks))).toEqual(tasks);
    const check = RANGE_CHECKS[name];
    if (check) for (const t of tasks) check(t, family);
  });

  it('dispose() is idempotent and later calls fail clearly', async () => {
    const { family, env } = await make();
    env.dispose();
    env.dispose();
    let caught: unknown = null;
    try {
      env.step(new Float32Array(family.spec.actSize));
    } catch (err) {
      caught = err;
    }
    expect(isMetarlError(caught, 'METARL_DISPOSED')).toBe(true);
  });
});

/** The first value that JSON would not carry faithfully (−0 → 0 is fine), or null. */
function jsonProblem(value: unknown, path: string): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} = ${value}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = jsonProblem(value[i], `${path}[${i}]`);
      if (p) return p;
    }
    return null;
  }
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) {
      const p = jsonProblem(v, `${path}.${k}`);
      if (p) return p;
    }
    return null;
  }
  return `${path} is ${typeof value === 'object' ? (value as object).constructor?.name : typeof value}`;
}

const inRange = (x: number, lo: number, hi: number) => expect(x >= lo && x <= hi, `${x} in [${lo}, ${hi}]`).toBe(true);
const factorsIn = (xs: number[], base: number, len: number) => {
  expect(xs).toHaveLength(len);
  for (const x of xs) inRange(x, base ** -3 * (1 - 1e-12), base ** 3 * (1 + 1e-12));
};

/** The ant-terrain families' tasks, seen or blind. */
const hillTask = (t: { direction: number; grade: number }): void => {
  expect([1, -1]).toContain(t.direction);
  inRange(t.grade, 0.1, 0.3);
};
const terrainTask = (t: { type: string; difficulty: number; seed: number }): void => {
  expect(['flat', 'rough', 'slope-up', 'slope-down', 'stairs-up', 'stairs-down', 'obstacles']).toContain(t.type);
  inRange(t.difficulty, 0, 1);
  expect(Number.isInteger(t.seed)).toBe(true);
};

/** ENVS.md's default ranges, per family. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each check reads its own family's task shape
const RANGE_CHECKS: Record<string, (task: any, family: TaskFamily) => void> = {
  'point-nav': (t: { goal: number[] }) => {
    expect(t.goal).toHaveLength(2);
    for (const g of t.goal) inRange(g, -0.5, 0.5);
  },
  'cheetah-vel': (t: { velocity: number }) => inRange(t.velocity, 0, 2),
  'cheetah-dir': (t: { direction: number }) => expect([1, -1]).toContain(t.direction),
  'walker-params': (t: { massScale: number[]; dampingScale: number[]; frictionScale: number[] }) => {
    factorsIn(t.massScale, 1.5, 7);
    factorsIn(t.dampingScale, 1.3, 6);
    factorsIn(t.frictionScale, 1.5, 8);
  },
  'hopper-params': (t: { massScale: number[]; dampingScale: number[]; frictionScale: number[] }) => {
    factorsIn(t.massScale, 1.5, 4);
    factorsIn(t.dampingScale, 1.3, 3);
    factorsIn(t.frictionScale, 1.5, 5);
  },
  'ant-dir': (t: { angle: number }) => inRange(t.angle, 0, 2 * Math.PI),
  'ant-goal': (t: { goal: number[] }) => {
    expect(t.goal).toHaveLength(2);
    inRange(Math.hypot(t.goal[0], t.goal[1]), 0, 3);
  },
  'ant-terrain': terrainTask,
  'ant-terrain-blind': terrainTask,
  'ant-hill': hillTask,
  'cheetah-hill': hillTask,
};

describe('dispose frees WASM memory', () => {
  it('1000 cheetah envs created and disposed grow Rapier memory by less than 4 MB', async () => {
    const family = await loadFamily(builtinFamilies.ref('cheetah-vel'));
    const [task] = family.sampleTasks(new Rng(2), 1);
    const warm = family.makeEnv(task);
    warm.dispose();
    const before = wasmMemoryBytes();
    expect(before).toBeGreaterThan(0);
    const action = new Float32Array(family.spec.actSize).fill(0.5);
    for (let i = 0; i < 1000; i++) {
      const env = family.makeEnv(task);
      env.reset(i);
      env.step(action);
      env.dispose();
    }
    expect(wasmMemoryBytes() - before).toBeLessThan(4 * 2 ** 20);
  });

  it('the same loop without dispose() does grow it (so the check above can fail)', async () => {
    const family = await loadFamily(builtinFamilies.ref('cheetah-vel'));
    const [task] = family.sampleTasks(new Rng(2), 1);
    const before = wasmMemoryBytes();
    const kept: Env[] = [];
    for (let i = 0; i < 1000; i++) kept.push(family.makeEnv(task));
    const grown = wasmMemoryBytes() - before;
    for (const env of kept) env.dispose();
    expect(grown).toBeGreaterThan(4 * 2 ** 20);
  });
});

describe('Rapier loading', () => {
  it('reports how many Rapier instances this thread loaded (families and tests may load separate copies)', async () => {
    await loadFamily(builtinFamilies.ref('cheetah-vel'));
    const { rapierInstanceCount } = await import('../../src/physics/index.js');
    expect(rapierInstanceCount()).toBeGreaterThanOrEqual(1);
  });
});

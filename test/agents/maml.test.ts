import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMaml, definition, mamlConfigSchema, metaObjective, type MamlConfig, type StageData } from '../../agents/maml.js';
import type { MetaLearner } from '../../src/core/learner.js';
import { loadFamily, type FamilyRef } from '../../src/core/registry.js';
import { Rng } from '../../src/core/rng.js';
import type { TaskFamily } from '../../src/core/types.js';
import { initBackend } from '../../src/nn/backend.js';
import { createGaussianMlp } from '../../src/nn/mlp.js';
import { flattenParams, unflattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import { createSampler } from '../../src/sampling/sampler.js';
import type { Sampler } from '../../src/sampling/types.js';

const POINT_NAV: FamilyRef = { name: 'point-nav', module: new URL('../../envs/point-nav.ts', import.meta.url).href };

let family: TaskFamily;
let sampler: Sampler;
const learners: MetaLearner[] = [];

beforeAll(async () => {
  await initBackend('cpu', { log: () => {} });
  family = await loadFamily(POINT_NAV);
  sampler = await createSampler({ family: POINT_NAV, workers: 0 });
});
afterAll(async () => {
  await sampler.close();
});
afterEach(() => {
  while (learners.length) learners.pop()!.dispose();
});

const config = (overrides: Partial<MamlConfig> = {}): MamlConfig =>
  mamlConfigSchema.parse({ ...definition.familyDefaults['point-nav'], hidden: [16], metaBatchSize: 4, episodesPerTask: 4, horizon: 20, ...overrides });

async function learner(cfg: MamlConfig, seed: number): Promise<MetaLearner> {
  const l = await createMaml({ config: cfg, family, familyRef: POINT_NAV, sampler, seed });
  learners.push(l);
  return l;
}

/** A random stage of T tasks × N steps, for the gradient checks. */
function randomStage(rng: Rng, T: number, N: number, O: number, A: number): StageData {
  const fill = (size: number, std = 1) => Float32Array.from({ length: size }, () => rng.normal(0, std));
  return {
    tasks: Array.from({ length: T }, () => ({ obs: tf.tensor2d(fill(N * O), [N, O]), actions: tf.tensor2d(fill(N * A), [N, A]), advantages: tf.tensor1d(fill(N)) })),
    returns: new Array(T).fill(0),
    envSteps: T * N,
  };
}

describe('MAML meta-gradient', () => {
  it('matches central finite differences through the inner step; first-order differs (tfjs#3252)', async () => {
    const rng = new Rng(11);
    const O = 2;
    const A = 2;
    const T = 2;
    const N = 6;
    const alpha = 0.5;
    const policy = createGaussianMlp({ obsSize: O, actSize: A, hidden: [3], initStd: 0.7 }, rng.fork());
    const pre = [randomStage(rng, T, N, O, A)];
    const post = randomStage(rng, T, N, O, A);
    const oldLogProb = post.tasks.map(() => tf.tensor1d(Float32Array.from({ length: N }, () => rng.normal(-2, 0.3))));
    const theta = policy.params;
    const shapes = theta.map((p) => p.shape);
    const objective = (flat: tf.Tensor1D, firstOrder = false) =>
      tf.tidy(() => metaObjective(policy, unflattenParams(flat, shapes), pre, post, oldLogProb, alpha, firstOrder));
    const gradient = async (firstOrder: boolean) => {
      const grads = tf.grads((...ps: tf.Tensor[]) => metaObjective(policy, ps, pre, post, oldLogProb, alpha, firstOrder))([...theta]);
      const flat = flattenParams(grads);
      const values = Float64Array.from(await flat.data());
      tf.dispose([flat, ...grads]);
      return values;
    };
    const exact = await gradient(false);
    const firstOrder = await gradient(true);

    const theta0 = Float64Array.from(await flattenParams(theta).data());
    const eps = 3e-3;
    const fd = new Float64Array(theta0.length);
    for (let i = 0; i < theta0.length; i++) {
      const at = async (delta: number) => {
        const x = Float32Array.from(theta0);
        x[i] += delta;
        const flat = tf.tensor1d(x);
        const y = objective(flat);
        const v = (await y.data())[0];
        tf.dispose([flat, y]);
        return v;
      };
      fd[i] = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    }
    const relErr = (a: Float64Array, b: Float64Array) => Math.hypot(...a.map((x, i) => x - b[i])) / Math.hypot(...b);
    expect(relErr(exact, fd)).toBeLessThan(5e-3);
    // The dropped second-order term is large at this α: a first-order (or #3252-broken) gradient fails the check above.
    expect(relErr(firstOrder, fd)).toBeGreaterThan(0.05);
    policy.dispose();
    for (const s of [...pre, post]) for (const t of s.tasks) tf.dispose([t.obs, t.actions, t.advantages]);
    tf.dispose(oldLogProb);
  });
});

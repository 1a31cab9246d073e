import { describe, expect, it } from 'vitest';
import { definition, mamlConfigSchema, type MamlConfig, type StageData } from '../../agents/maml.js';
import { disposeStage, pointNavLearners, randomStage, relErr } from './maml-harness.js';
import { Rng } from '../../src/core/rng.js';
import { gaussianKl, gaussianLogProb } from '../../src/nn/distributions.js';
import { createGaussianMlp, type GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { flattenParams, unflattenParams } from '../../src/nn/params.js';
import { tf } from '../../src/nn/tf.js';
import { innerPath } from '../../src/rl/inner-loop.js';
import { metaGradient } from '../../src/rl/meta-gradient.js';
import { taskFisherProduct, type MetaTask } from '../../src/rl/meta-task.js';
import { oldPolicy, type OldPolicy } from '../../src/rl/surrogate.js';

const { family, learner } = pointNavLearners();

const config = (overrides: Partial<MamlConfig> = {}): MamlConfig =>
  mamlConfigSchema.parse({ ...definition.familyDefaults['point-nav'], hidden: [8], metaBatchSize: 3, episodesPerTask: 3, horizon: 10, ...overrides });

/**
 * Meta-SGD's adaptation written out with the tape alone (no closed-form products): θ'_k of
 * φ = [θ, α] after the inner VPG steps θ'_j = θ'_{j−1} − α ⊙ ∇L_in(θ'_{j−1}). The reference the
 * closed-form gradient and Fisher product are checked against by finite differences.
 */
function adaptedAt(policy: GaussianMlpPolicy, phi: Float32Array, pre: readonly StageData[]): tf.Tensor[] {
  const shapes = policy.params.map((p) => p.shape);
  return tf.tidy(() => {
    const P = phi.length / 2;
    const alpha = unflattenParams(tf.tensor1d(phi.subarray(P)), shapes);
    let params = unflattenParams(tf.tensor1d(phi.subarray(0, P)), shapes);
    for (const stage of pre) {
      const inner = (...ps: tf.Tensor[]) => {
        const { mean, logStd } = policy.forward(ps, stage.obs);
        return tf.neg(tf.div(tf.sum(tf.mul(tf.mul(gaussianLogProb(mean, logStd, stage.actions), stage.advantages), stage.mask)), stage.steps)) as tf.Scalar;
      };
      const grads = tf.grads(inner)(params);
      params = params.map((p, i) => tf.sub(p, tf.mul(alpha[i], grads[i])));
    }
    return params;
  });
}

/** The closed-form [∂/∂θ, ∂/∂α] of `loss(θ'_k)` at φ, through the learner's own code path. */
async function closedForm(policy: GaussianMlpPolicy, phi: Float32Array, pre: readonly StageData[], loss: (adapted: tf.Tensor[]) => tf.Scalar, cfg: MamlConfig): Promise<Float64Array> {
  const run = runAt(policy, phi, pre, pre[0]);
  const { value, gradient } = metaGradient(run.path, pre, loss, cfg, run.learned);
  const out = Float64Array.from(await gradient.data());
  tf.dispose([value, gradient]);
  disposeRun(run);
  return out;
}

/** A MetaTask at φ as a worker builds it (the shard's own Meta-SGD path and inner gradients), for `taskFisherProduct` and `metaGradient`. */
function runAt(policy: GaussianMlpPolicy, phi: Float32Array, pre: readonly StageData[], post: StageData): MetaTask {
  const P = phi.length / 2;
  const theta = unflattenParams(tf.tensor1d(phi.subarray(0, P)), policy.params.map((p) => p.shape));
  const { path, step } = innerPath(policy, theta, pre, tf.tensor1d(phi.subarray(P)));
  const old = oldPolicy(policy, path[path.length - 1], post);
  return { path, pre: [...pre], post, old, fisherPre: [...pre], fisherPost: post, learned: step };
}

function disposeRun(run: MetaTask): void {
  tf.dispose([...run.path.flat(), ...run.learned!.grads, run.learned!.alpha, run.old.mean, run.old.logStd, run.old.logProb]);
}

describe('Meta-SGD meta-gradient', () => {
  it('∂L/∂θ and ∂L/∂α match central finite differences through two inner steps', async () => {
    const rng = new Rng(21);
    const [O, A, N] = [2, 2, 12];
    const cfg = config({ innerSteps: 2, learnInnerLr: true });
    const policy = createGaussianMlp({ obsSize: O, actSize: A, hidden: [3], initStd: 0.7 }, rng.fork());
    const pre = [randomStage(rng, N, O, A, 2), randomStage(rng, N, O, A, 1)];
    const post = randomStage(rng, N, O, A, 1);
    const old: OldPolicy = { mean: tf.zeros([N, A]), logStd: tf.zeros([A]), logProb: tf.tensor1d(Float32Array.from({ length: N }, () => rng.normal(-2, 0.3))) };
    const surrogate = (ps: tf.Tensor[]) =>
      tf.tidy(() => {
        const { mean, logStd } = policy.forward(ps, post.obs);
        const ratio = tf.exp(tf.sub(gaussianLogProb(mean, logStd, post.actions), old.logProb));
        return tf.neg(tf.div(tf.sum(tf.mul(tf.mul(ratio, post.advantages), post.mask)), post.steps)) as tf.Scalar;
      });
    const theta = Float32Array.from(await flattenParams(policy.params).data());
    // A per-parameter α that is not one number, so a scalar-α gradient would fail the check.
    const phi = Float32Array.from([...theta, ...Array.from(theta, () => 0.3 + 0.4 * rng.next())]);

    const exact = await closedForm(policy, phi, pre, surrogate, cfg);
    // Two steps with α up to 0.7 curve hard: the error falls as ε² (0.009 at 3e-3, 0.001 at 1e-3, 0.0002 at 3e-4).
    const eps = 1e-3;
    const fd = new Float64Array(phi.length);
    for (let i = 0; i < phi.length; i++) {
      const at = async (delta: number) => {
        const x = Float32Array.from(phi);
        x[i] += delta;
        const adapted = adaptedAt(policy, x, pre);
        const y = surrogate(adapted);
        const v = (await y.data())[0];
        tf.dispose([y, ...adapted]);
        return v;
      };
      fd[i] = ((await at(eps)) - (await at(-eps))) / (2 * eps);
    }
    const P = theta.length;
    expect(relErr(exact.subarray(0, P), fd.subarray(0, P))).toBeLessThan(5e-3);
    expect(relErr(exact.subarray(P), fd.subarray(P))).toBeLessThan(5e-3);
    // The α half is not the θ half again.
    expect(relErr(exact.subarray(P), exact.subarray(0, P))).toBeGreaterThan(0.1);
    // First order drops the Hessian terms; at this α that is far off (measured 0.95).
    expect(relErr(await closedForm(policy, phi, pre, surrogate, { ...cfg, firstOrder: true }), fd)).toBeGreaterThan(0.1);
    policy.dispose();
    [...pre, post].forEach(disposeStage);
    tf.dispose([old.mean, old.logStd, old.logProb]);
  });

  it('the Fisher product over φ = (θ, α) is the Hessian of the re-adapted KL (finite differences)', async () => {
    const rng = new Rng(22);
    const [O, A, N] = [2, 2, 16];
    const cfg = config({ learnInnerLr: true, fisherSubsample: 1 });
    const policy = createGaussianMlp({ obsSize: O, actSize: A, hidden: [4], initStd: 0.7 }, rng.fork());
    const pre = [randomStage(rng, N, O, A, 3)];
    const post = randomStage(rng, N, O, A, 2);
    const theta = Float32Array.from(await flattenParams(policy.params).data());
    const phi = Float32Array.from([...theta, ...Array.from(theta, () => 0.2 + 0.6 * rng.next())]);
    const run = runAt(policy, phi, pre, post);
    const v = Float32Array.from(phi, () => rng.normal(0, 1));
    const vt = tf.tensor1d(v);
    const product = taskFisherProduct(run, vt, cfg);
    const exact = Float64Array.from(await product.data());
    const kl = (ps: tf.Tensor[]) =>
      tf.tidy(() => {
        const { mean, logStd } = policy.forward(ps, post.obs);
        return tf.div(tf.sum(tf.mul(gaussianKl(run.old.mean, run.old.logStd, mean, logStd), post.mask)), post.steps) as tf.Scalar;
      });
    const h = 1e-2;
    const [plus, minus] = [
      await closedForm(policy, Float32Array.from(phi, (x, i) => x + h * v[i]), pre, kl, cfg),
      await closedForm(policy, Float32Array.from(phi, (x, i) => x - h * v[i]), pre, kl, cfg),
    ];
    const fd = plus.map((x, i) => (x - minus[i]) / (2 * h));
    expect(exact).toHaveLength(phi.length);
    expect(relErr(exact, fd)).toBeLessThan(2e-2);
    policy.dispose();
    disposeRun(run);
    [...pre, post].forEach(disposeStage);
    tf.dispose([vt, product]);
  });
});

describe('MAML with and without --learn-inner-lr', () => {
  // Recorded from agents/maml.ts before Meta-SGD was added (cpu backend): the default path must not move by a bit.
  it('off: two TRPO iterations give the recorded numbers of MAML before Meta-SGD existed', async () => {
    const l = await learner(config(), 5);
    const rng = new Rng(9);
    const first = await l.iterate(family().sampleTasks(rng, 3));
    const second = await l.iterate(family().sampleTasks(rng, 3));
    expect(first.stageReturns).toEqual([-4.639961587058173, -5.131712012820774]);
    expect([first.figures.surrogate, first.figures.kl]).toEqual([-0.007969151561458906, 0.009587782435119152]);
    expect(second.stageReturns).toEqual([-5.576573901706271, -4.484204133351644]);
    expect([second.figures.surrogate, second.figures.kl]).toEqual([-0.013530114976068338, 0.005702340587352713]);
  });

  it('on: starts where MAML starts (α = innerLr everywhere), then learns α, reports its spread, and evaluates with it', async () => {
    const plain = await learner(config(), 5);
    const sgd = await learner(config({ learnInnerLr: true }), 5);
    const tasks = family().sampleTasks(new Rng(9), 3);
    const heldOut = family().sampleTasks(new Rng(10), 3);
    // With α = innerLr in every entry the adapted policies, and so every sampled return, are MAML's.
    expect((await sgd.evaluate(heldOut, { seed: 4 })).returns).toEqual((await plain.evaluate(heldOut, { seed: 4 })).returns);
    const [a, b] = [await plain.iterate(tasks), await sgd.iterate(tasks)];
    expect(b.stageReturns).toEqual(a.stageReturns);
    // The figures are after the outer step, which moved α per parameter (α is float32: 0.1 reads 0.10000000149).
    expect(Math.abs(b.figures.innerLrMean - Math.fround(0.1))).toBeGreaterThan(1e-6);
    expect(b.figures.innerLrStd).toBeGreaterThan(0);
    expect(a.figures.innerLrMean).toBeUndefined();
    const next = await sgd.iterate(family().sampleTasks(new Rng(11), 3));
    expect(next.figures.kl).toBeLessThanOrEqual(0.01 * (1 + 1e-6));
    expect(next.figures.innerLrMean).not.toBe(b.figures.innerLrMean);
    const state = await sgd.state();
    const keys = Object.keys(state.arrays).filter((k) => k.startsWith('policy/'));
    // One α per weight tensor, beside it in the checkpoint.
    expect(keys.filter((k) => k.startsWith('policy/innerLr.')).map((k) => k.replace('innerLr.', ''))).toEqual(keys.filter((k) => !k.includes('innerLr.')));
    // Evaluation adapts with the learned α: with α = 0 the step-1 policy is θ itself.
    const learned = await sgd.evaluate(heldOut, { seed: 4 });
    for (const key of Object.keys(state.arrays)) if (key.startsWith('policy/innerLr.')) state.arrays[key].data.fill(0);
    await sgd.restore(state);
    const frozen = await sgd.evaluate(heldOut, { seed: 4 });
    expect(frozen.returns[0]).toEqual(learned.returns[0]);
    expect(frozen.returns[1]).not.toEqual(learned.returns[1]);
  });

  it.each(['trpo', 'ppo'] as const)('on: restore() gives the same next iteration, and tensors stay flat (%s)', async (outer) => {
    const cfg = config({ learnInnerLr: true, outer });
    const a = await learner(cfg, 3);
    const rng = new Rng(7);
    await a.iterate(family().sampleTasks(rng, 3));
    const b = await learner(cfg, 999);
    await b.restore(await a.state());
    const tasks = family().sampleTasks(rng, 3);
    const [ra, rb] = [await a.iterate(tasks), await b.iterate(tasks)];
    const { outerSeconds: _a, ...fa } = ra.figures;
    const { outerSeconds: _b, ...fb } = rb.figures;
    expect(fb).toEqual(fa);
    const counts: number[] = [];
    for (let i = 1; i <= 8; i++) {
      await a.iterate(family().sampleTasks(rng, 3));
      if (i === 2 || i === 8) counts.push(tf.memory().numTensors);
    }
    await a.evaluate(family().sampleTasks(rng, 2), { adaptationSteps: 2, seed: 1 });
    counts.push(tf.memory().numTensors);
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
  });

  it("refuses a plain MAML checkpoint, naming the learned α it lacks", async () => {
    const saved = await (await learner(config(), 4)).state();
    const sgd = await learner(config({ learnInnerLr: true }), 4);
    await expect(sgd.restore(saved)).rejects.toMatchObject({ code: 'METARL_CHECKPOINT_CORRUPT', message: expect.stringContaining('innerLr.') });
  });
});

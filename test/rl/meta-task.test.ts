// One task's share of MAML's outer step: its closed-form meta-gradient equals the tape's through
// the inner step, its line-search terms at the sampling θ are (surrogate, 0), and PPO's clipped
// gradient at that θ is the surrogate's (no ratio is clipped yet).
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import type { GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { tf } from '../../src/nn/tf.js';
import { adaptParams, innerPath } from '../../src/rl/inner-loop.js';
import { disposeMetaTask, metaTask, taskClippedGradient, taskGradient, taskLossKl, type MetaTask } from '../../src/rl/meta-task.js';
import { surrogateLoss } from '../../src/rl/surrogate.js';
import { flat, randomRows, relErr, scalar, smallPolicy } from './rl-fixture.js';

const ALPHA = 0.3;
const OPTIONS = { innerLr: ALPHA, firstOrder: false };

describe('meta task', () => {
  let policy: GaussianMlpPolicy;
  let task: MetaTask;
  beforeAll(async () => {
    await initBackend('cpu', { log: () => {} });
  });
  afterEach(() => {
    disposeMetaTask(task);
    policy.dispose();
  });

  async function build(seed: number): Promise<void> {
    policy = smallPolicy(seed);
    const rng = new Rng(seed + 1);
    const stages = [randomRows(rng, 28, 3), randomRows(rng, 28)];
    const { path, step } = innerPath(policy, policy.params, stages.slice(0, 1), ALPHA);
    task = await metaTask(policy, path, stages, step, 1);
  }

  it('gives the tape’s meta-gradient through the inner step, in closed form', async () => {
    await build(21);
    const { value, gradient } = taskGradient(policy, task, OPTIONS);
    const tape = tf.grads((...theta: tf.Tensor[]) => {
      const adapted = adaptParams(policy, theta, task.pre, ALPHA, false);
      return surrogateLoss(policy, adapted, task.post, task.old);
    })([...policy.params]);
    const firstOrder = taskGradient(policy, task, { innerLr: ALPHA, firstOrder: true });
    const want = await flat(tape);
    expect(relErr((await gradient.data()) as Float32Array, want)).toBeLessThan(1e-4);
    expect(relErr((await firstOrder.gradient.data()) as Float32Array, want)).toBeGreaterThan(1e-3);
    expect(await scalar(value)).toBeCloseTo(await scalar(surrogateLoss(policy, task.path[1], task.post, task.old)), 6);
    tf.dispose([gradient, firstOrder.value, firstOrder.gradient, ...tape]);
  });

  it('re-adapts from the sampling θ to the surrogate it started from and a KL of 0', async () => {
    await build(23);
    const [loss, kl] = taskLossKl(policy, task, policy.params, ALPHA);
    expect(await scalar(kl)).toBeCloseTo(0, 6);
    expect(await scalar(loss)).toBeCloseTo(await scalar(surrogateLoss(policy, task.path[1], task.post, task.old)), 6);
    const moved = policy.params.map((p) => tf.add(p, 0.05));
    const [, klMoved] = taskLossKl(policy, task, moved, ALPHA);
    expect(await scalar(klMoved)).toBeGreaterThan(1e-4);
    tf.dispose(moved);
  });

  it('gives PPO the surrogate’s gradient at the sampling θ, where no ratio is clipped', async () => {
    await build(25);
    const plain = taskGradient(policy, task, OPTIONS);
    const clipped = taskClippedGradient(policy, task, policy.params, ALPHA, { ...OPTIONS, ppoClip: 0.2 });
    expect(relErr((await clipped.gradient.data()) as Float32Array, (await plain.gradient.data()) as Float32Array)).toBeLessThan(1e-4);
    tf.dispose([plain.value, plain.gradient, clipped.value, clipped.gradient]);
  });
});

// MAML's inner loop: the VPG step on the tape and off it agree, masked rows change nothing, and
// a uniform Meta-SGD α is MAML's α.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import type { GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { tf } from '../../src/nn/tf.js';
import { adaptParams, disposeRows, innerLoss, innerPath, innerStep, type PolicyRows } from '../../src/rl/inner-loop.js';
import { flat, paramCount, randomRows, relErr, scalar, smallPolicy } from './rl-fixture.js';

describe('inner loop', () => {
  let policy: GaussianMlpPolicy;
  const rows: PolicyRows[] = [];
  beforeAll(async () => {
    await initBackend('cpu', { log: () => {} });
  });
  afterEach(() => {
    policy?.dispose();
    while (rows.length) disposeRows(rows.pop()!);
  });
  const stage = (rng: Rng, n: number, padding = 0) => {
    const r = randomRows(rng, n, padding);
    rows.push(r);
    return r;
  };

  it('takes a step that lowers the inner loss, by α times its gradient', async () => {
    policy = smallPolicy(1);
    const data = stage(new Rng(2), 40);
    const before = await scalar(innerLoss(policy, policy.params, data));
    const grads = tf.grads((...ps: tf.Tensor[]) => innerLoss(policy, ps, data))([...policy.params]);
    const stepped = innerStep(policy, policy.params, data, 0.01, false);
    const after = await scalar(innerLoss(policy, stepped, data));
    const expected = await flat(policy.params.map((p, i) => tf.sub(p, tf.mul(0.01, grads[i]))));
    expect(relErr(await flat(stepped), expected)).toBeLessThan(1e-6);
    expect(after).toBeLessThan(before);
    tf.dispose([...grads, ...stepped]);
  });

  it('ignores masked rows: padding the stage does not move the step', async () => {
    policy = smallPolicy(3);
    const real = stage(new Rng(4), 20);
    const extra = stage(new Rng(9), 6);
    const joined: PolicyRows = {
      obs: tf.concat([real.obs, extra.obs]) as tf.Tensor2D,
      actions: tf.concat([real.actions, extra.actions]) as tf.Tensor2D,
      advantages: tf.concat([real.advantages, tf.fill([6], 5)]) as tf.Tensor1D,
      mask: tf.concat([real.mask, tf.zeros([6])]) as tf.Tensor1D,
      steps: 20,
    };
    rows.push(joined);
    const a = innerStep(policy, policy.params, real, 0.1, false);
    const b = innerStep(policy, policy.params, joined, 0.1, false);
    expect(relErr(await flat(b), await flat(a))).toBeLessThan(1e-6);
    tf.dispose([...a, ...b]);
  });

  it('walks the same path off the tape (innerPath) as on it (adaptParams), for MAML and a uniform Meta-SGD α', async () => {
    policy = smallPolicy(5);
    const rng = new Rng(6);
    const stages = [stage(rng, 30, 4), stage(rng, 30)];
    const onTape = adaptParams(policy, policy.params, stages, 0.2, false);
    const maml = innerPath(policy, policy.params, stages, 0.2);
    const alpha = tf.fill([paramCount(policy)], 0.2) as tf.Tensor1D;
    const metaSgd = innerPath(policy, policy.params, stages, alpha);
    const want = await flat(onTape);
    expect(maml.path).toHaveLength(3);
    expect(maml.step).toBeNull();
    expect(relErr(await flat(maml.path[2]), want)).toBeLessThan(1e-5);
    expect(relErr(await flat(metaSgd.path[2]), want)).toBeLessThan(1e-5);
    expect(metaSgd.step?.grads).toHaveLength(2);
    expect(relErr(await flat(maml.path[1]), want)).toBeGreaterThan(1e-3);
    tf.dispose([...onTape, ...maml.path.slice(1).flat(), ...metaSgd.path.slice(1).flat(), ...(metaSgd.step?.grads ?? []), alpha]);
  });

  it('moves only the parameters a per-parameter α lets move', async () => {
    policy = smallPolicy(7);
    const data = stage(new Rng(8), 30);
    const size = paramCount(policy);
    const alpha = tf.tensor1d(Float32Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 0.3 : 0)));
    const { path, step } = innerPath(policy, policy.params, [data], alpha);
    const before = await flat(policy.params);
    const after = await flat(path[1]);
    const moved = Array.from(after, (x, i) => x !== before[i]);
    expect(moved.filter((m, i) => m && i % 2 === 1)).toHaveLength(0);
    expect(moved.filter((m, i) => m && i % 2 === 0).length).toBeGreaterThan(size / 4);
    tf.dispose([...path.slice(1).flat(), ...(step?.grads ?? []), alpha]);
  });
});

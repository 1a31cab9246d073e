// TRPO's surrogate and KL at the policy that sampled the rows: the surrogate is −mean Â with the
// VPG gradient, the KL is 0 there and grows away from it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { initBackend } from '../../src/nn/backend.js';
import type { GaussianMlpPolicy } from '../../src/nn/mlp.js';
import { tf } from '../../src/nn/tf.js';
import { disposeRows, innerLoss, type PolicyRows } from '../../src/rl/inner-loop.js';
import { disposeOld, meanKl, oldPolicy, surrogateLoss, type OldPolicy } from '../../src/rl/surrogate.js';
import { flat, randomRows, relErr, scalar, smallPolicy } from './rl-fixture.js';

describe('surrogate', () => {
  let policy: GaussianMlpPolicy;
  let rows: PolicyRows;
  let old: OldPolicy;
  beforeAll(async () => {
    await initBackend('cpu', { log: () => {} });
  });
  afterEach(() => {
    policy.dispose();
    disposeRows(rows);
    disposeOld(old);
  });

  it('is −mean Â over the real rows at π_old, where the KL is 0', async () => {
    policy = smallPolicy(11);
    rows = randomRows(new Rng(12), 32, 5);
    old = oldPolicy(policy, policy.params, rows);
    const adv = (await rows.advantages.data()) as Float32Array;
    const meanAdv = adv.reduce((a, b) => a + b, 0) / 27;
    expect(await scalar(surrogateLoss(policy, policy.params, rows, old))).toBeCloseTo(-meanAdv, 5);
    expect(await scalar(meanKl(policy, policy.params, rows, old))).toBeCloseTo(0, 6);
  });

  it('has the VPG gradient at π_old (the ratio’s derivative is ∇ log π)', async () => {
    policy = smallPolicy(13);
    rows = randomRows(new Rng(14), 32);
    old = oldPolicy(policy, policy.params, rows);
    const surrogate = tf.grads((...ps: tf.Tensor[]) => surrogateLoss(policy, ps, rows, old))([...policy.params]);
    const vpg = tf.grads((...ps: tf.Tensor[]) => innerLoss(policy, ps, rows))([...policy.params]);
    expect(relErr(await flat(surrogate), await flat(vpg))).toBeLessThan(1e-5);
    tf.dispose([...surrogate, ...vpg]);
  });

  it('measures a positive KL once the policy moves, larger for a larger move', async () => {
    policy = smallPolicy(15);
    rows = randomRows(new Rng(16), 32);
    old = oldPolicy(policy, policy.params, rows);
    const moved = (by: number) => policy.params.map((p) => tf.add(p, by));
    const small = moved(0.01);
    const large = moved(0.1);
    const klSmall = await scalar(meanKl(policy, small, rows, old));
    const klLarge = await scalar(meanKl(policy, large, rows, old));
    expect(klSmall).toBeGreaterThan(0);
    expect(klLarge).toBeGreaterThan(10 * klSmall);
    tf.dispose([...small, ...large]);
  });
});

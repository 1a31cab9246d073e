/** Fisher-vector products by double backprop through the KL (TRPO), second-order-safe. */
import { flattenParams } from '../nn/params.js';
import { tf } from '../nn/tf.js';

/**
 * F v + damping · v, with F the Hessian of `kl` at `params` (which equals the Fisher matrix
 * there when kl(params) = mean KL(π_old ‖ π_params) and π_old = π_params).
 * Computed as ∇_θ (∇_θ kl · v): `kl` must be built from second-order-safe ops (src/nn/ops.js,
 * gaussianKl), or the Hessian is silently wrong (tfjs #3252).
 * params: tensors of any shapes; v: [Σ sizes] in flattenParams order → [Σ sizes].
 */
export function fisherVectorProduct(
  kl: (params: tf.Tensor[]) => tf.Scalar,
  params: readonly tf.Tensor[],
  v: tf.Tensor1D,
  damping = 0.1,
): tf.Tensor1D {
  return tf.tidy(() => {
    const gradDotV = (...ps: tf.Tensor[]): tf.Scalar => {
      const g = tf.grads((...qs: tf.Tensor[]) => kl(qs))(ps);
      return tf.dot(flattenParams(g), v) as tf.Scalar;
    };
    const hv = tf.grads(gradDotV)([...params]);
    return tf.add(flattenParams(hv), tf.mul(damping, v)) as tf.Tensor1D;
  });
}

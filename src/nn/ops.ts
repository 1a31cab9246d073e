/**
 * Second-order-safe elementwise ops.
 *
 * THE TRAP (tfjs issue #3252, still open in 4.22): the gradients of tf.tanh, tf.exp and
 * tf.sigmoid are written in terms of the op's saved OUTPUT, a clone taken while the tape is
 * off. A gradient of a gradient therefore loses every term that flows through that output,
 * silently: MAML's meta-gradient comes out ~25% wrong and Fisher-vector products by double
 * backprop are wrong too. These versions recompute the derivative from the op's INPUT, which
 * is on the tape, and build it from themselves, so every order of derivative is right.
 *
 * The input is handed to `save`, which keeps a clone of it until the outermost `tf.grads`
 * finishes. A clone of an INPUT is safe: tfjs records the clone on the tape after the
 * input's producer, so the path back to the parameters stays whole. (An OUTPUT's clone is
 * recorded before the op that produces the output, which is exactly why tf.tanh breaks.)
 * Capturing the input in a closure instead does not work: `tf.grads` runs the forward pass in
 * a tidy, which disposes the input before the backward pass needs it.
 *
 * Use these on every path that is differentiated twice: MAML's inner update (activations,
 * Gaussian log-prob) and anything fed to `fisherVectorProduct`.
 */
import { tf } from './tf.js';

/** tanh(x), with d/dx = 1 − tanh(x)² recomputed from x. */
export function tanh<T extends tf.Tensor>(x: T): T {
  return tanhOp(x) as T;
}

/** exp(x), with d/dx = exp(x) recomputed from x. */
export function exp<T extends tf.Tensor>(x: T): T {
  return expOp(x) as T;
}

/** sigmoid(x), with d/dx = σ(x)(1 − σ(x)) recomputed from x. */
export function sigmoid<T extends tf.Tensor>(x: T): T {
  return sigmoidOp(x) as T;
}

/** A unary op whose gradient is `dy · derivative(x)`, with x the saved input. */
function unary(forward: (x: tf.Tensor) => tf.Tensor, derivative: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return { value: forward(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, derivative(saved[0])) };
  });
}

const tanhOp = unary(tf.tanh, (x) => tf.sub(1, tf.square(tanh(x))));
const expOp = unary(tf.exp, (x) => exp(x));
const sigmoidOp = unary(tf.sigmoid, (x) => {
  const s = sigmoid(x);
  return tf.mul(s, tf.sub(1, s));
});

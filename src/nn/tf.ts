/**
 * The one place metarl imports TensorFlow.js from. Import `tf` from here, never from
 * '@tensorflow/tfjs-core' directly: this module also registers the gradient functions.
 *
 * Why the umbrella package: tfjs-core's Node entry (`tf-core.node.js`) ships no gradients,
 * and its `dist/register_all_gradients.js` is extensionless ESM that Node cannot load. The
 * `@tensorflow/tfjs` Node bundle registers them on the same tfjs-core instance (its
 * `require('@tensorflow/tfjs-core')` resolves to ours), so `tf.grads` works on every backend.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

// Production mode: skips tfjs's per-kernel debug checks and its "install tfjs-node" banner.
tf.env().set('PROD', true);

export { tf };

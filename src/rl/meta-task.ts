/**
 * One task's share of MAML's outer step, which a task worker holds between the learner's
 * requests of an iteration (ARCHITECTURE.md "Workers"): the inner path θ → θ'_k, the stages it
 * was taken on, the post-update rows and the policy that sampled them. From it come the outer
 * gradient through the inner steps, F·v for conjugate gradient, the surrogate and KL at a
 * candidate θ for the line search (the task re-adapted from it, as the paper), and PPO's
 * clipped-surrogate gradient. The learner adds the tasks' answers up in task order.
 */
import type { GaussianMlpPolicy } from '../nn/mlp.js';
import { tf } from '../nn/tf.js';
import { disposeRows, innerPath, policyLogProb, type LearnedStep, type Params, type PolicyRows } from './inner-loop.js';
import { ppoClipLoss } from './losses.js';
import { fisherRows, metaFisherProduct, metaGradient, type InnerStepOptions } from './meta-gradient.js';
import { disposeOld, meanKl, oldPolicy, surrogateLoss, type OldPolicy } from './surrogate.js';

export interface MetaTask<Rows extends PolicyRows = PolicyRows> {
  /** [θ, θ'_1, …, θ'_k]: θ is the caller's (shared by its tasks), the others the task's own. */
  path: tf.Tensor[][];
  /** Stages 0..k−1: the rows each inner step was taken on. */
  pre: Rows[];
  /** Stage k: the post-update rows the outer loss is measured on. */
  post: Rows;
  old: OldPolicy;
  /** The rows Fisher products use (every k-th, `fisherRows`). */
  fisherPre: Rows[];
  fisherPost: Rows;
  /** Meta-SGD: the learned α and the inner gradients of the steps; null for MAML's one α. */
  learned: LearnedStep | null;
}

/**
 * A task's terms from its inner path and its stages 0..k (the last the post-update one), which
 * it takes over: `disposeMetaTask` frees them with the path past θ and the inner gradients.
 */
export async function metaTask<Rows extends PolicyRows>(policy: GaussianMlpPolicy, path: tf.Tensor[][], stages: Rows[], learned: LearnedStep | null, fisherSubsample: number): Promise<MetaTask<Rows>> {
  const pre = stages.slice(0, -1);
  const post = stages[stages.length - 1];
  return {
    path,
    pre,
    post,
    old: oldPolicy(policy, path[pre.length], post),
    fisherPre: await Promise.all(pre.map((s) => fisherRows(s, fisherSubsample))),
    fisherPost: await fisherRows(post, fisherSubsample),
    learned,
  };
}

export function disposeMetaTask(task: MetaTask): void {
  [...task.pre, task.post, ...task.fisherPre, task.fisherPost].forEach(disposeRows);
  disposeOld(task.old);
  tf.dispose([...task.path.slice(1).flat(), ...(task.learned?.grads ?? [])]);
}

/** The surrogate at θ (0 by construction: ratio 1, advantages of mean 0) and its gradient through the inner steps. */
export function taskGradient(policy: GaussianMlpPolicy, task: MetaTask, options: InnerStepOptions): { value: tf.Scalar; gradient: tf.Tensor1D } {
  return metaGradient(task.path, task.pre, (ps) => surrogateLoss(policy, ps, task.post, task.old), options, task.learned);
}

/** F·v for conjugate gradient: the KL's Hessian through the task's inner steps, on its Fisher rows. */
export function taskFisherProduct(task: MetaTask, v: tf.Tensor1D, options: InnerStepOptions): tf.Tensor1D {
  return metaFisherProduct(task.path, task.fisherPre, task.fisherPost, v, options, task.learned);
}

/** The surrogate and mean KL at a candidate θ (and Meta-SGD's α), the task re-adapted from it. */
export function taskLossKl(policy: GaussianMlpPolicy, task: MetaTask, theta: Params, alpha: number | tf.Tensor1D): [tf.Scalar, tf.Scalar] {
  return tf.tidy(() => {
    const adapted = innerPath(policy, theta, task.pre, alpha).path[task.pre.length];
    return [surrogateLoss(policy, adapted, task.post, task.old), meanKl(policy, adapted, task.post, task.old)];
  });
}

/**
 * PPO: the clipped surrogate (a mean over the post-update steps) and its meta-gradient at a
 * candidate θ. θ moved since sampling, so the inner steps are retaken from it and J is J at θ.
 */
export function taskClippedGradient(policy: GaussianMlpPolicy, task: MetaTask, theta: Params, alpha: number | tf.Tensor1D, options: InnerStepOptions & { ppoClip: number }): { value: tf.Scalar; gradient: tf.Tensor1D } {
  const clipped = (ps: tf.Tensor[]) =>
    ppoClipLoss({ logProb: policyLogProb(policy, ps, task.post), oldLogProb: task.old.logProb, advantages: task.post.advantages, mask: task.post.mask, clip: options.ppoClip }).policyLoss;
  const { path, step } = innerPath(policy, theta, task.pre, alpha);
  const out = metaGradient(path, task.pre, clipped, options, step);
  tf.dispose([...path.slice(1).flat(), ...(step?.grads ?? [])]);
  return out;
}

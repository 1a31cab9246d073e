"""MAML-TRPO on point-nav in PyTorch: the yardstick for metarl's MAML.

A benchmark only (never a test, never a dependency of metarl). The algorithm is
pytorch-maml-rl's (tristandeleu/pytorch-maml-rl, configs/maml/2d-navigation.yaml),
written afresh and batched over tasks; the definitions that decide what a
figure means follow agents/maml.ts so the two print comparable numbers.

One iteration on a meta-batch of T tasks (20), n episodes each (20), H = 100:
  stage 0   sample n episodes per task with theta                      ("pre")
  inner     theta'_t = theta - alpha grad L_VPG(theta; stage-0 episodes of t), alpha 0.1
  stage 1   sample n episodes per task with theta'_t                   ("post")
  outer     TRPO on the stage-1 surrogate, theta'_t re-adapted from theta with the
            graph kept (second order); max KL 0.01, CG 10 iterations, damping 1e-5,
            line search 15 steps x 0.8. The Fisher-vector product is the Hessian of
            the mean KL of the ADAPTED policies as a function of theta, on every row
            (pytorch-maml-rl's hessian_vector_product), i.e. J^T F J with J the
            Jacobian of the inner update.
Advantages per task and stage, as agents/maml.ts prepareStage: a linear feature
baseline [o, o^2, t/100, (t/100)^2, (t/100)^3, 1] fitted by ridge regression (1e-5,
x10 until finite) to the discounted returns (gamma 0.99) of the task's own n
episodes; GAE lambda 1; normalised over the task's real steps.

Returns printed: the mean undiscounted return per episode of each task, averaged
over tasks (metarl's return0 = preReturn, return1 = postReturn).

Usage: python3 bench/reference/maml_trpo.py --iterations 15 --seed 1 --json
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (first: it pins the BLAS threads before numpy and torch load)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import point_nav  # noqa: E402

MIN_LOG_STD = math.log(1e-6)  # pytorch-maml-rl's NormalMLPPolicy clamp


# ─────────────────────────────── policy ───────────────────────────────

def init_policy(gen, obs_size, act_size, hidden, init_std):
    """theta as a list: [W0 [in, h1], b0, ..., Wout [hk, act], bout, logStd [act]].

    Glorot-uniform weights and zero biases (pytorch-maml-rl's weight_init, metarl's
    createGaussianMlp), a state-independent log-std at log(init_std).
    """
    sizes = [obs_size, *hidden, act_size]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        params.append((torch.rand(fan_in, fan_out, generator=gen) * 2 - 1) * limit)
        params.append(torch.zeros(fan_out))
    params.append(torch.full((act_size,), math.log(init_std)))
    return [p.requires_grad_() for p in params]


def per_task(theta, T):
    """theta repeated for T tasks (leading axis). Differentiable: gradients sum over tasks."""
    return [p.unsqueeze(0).expand(T, *p.shape) for p in theta]


def forward(params, obs):
    """Per-task parameters (leading axis T) on per-task rows obs [T, R, O] -> mean [T, R, A], logStd [T, A]."""
    h = obs
    layers = (len(params) - 1) // 2
    for l in range(layers):
        w, b = params[2 * l], params[2 * l + 1]
        h = torch.baddbmm(b.unsqueeze(1), h, w)
        if l < layers - 1:
            h = torch.tanh(h)
    return h, params[-1].clamp(min=MIN_LOG_STD)


def log_prob(mean, log_std, actions):
    """Diagonal Gaussian log-density summed over actions: [T, R, A] -> [T, R]."""
    z = (actions - mean) * torch.exp(-log_std).unsqueeze(1)
    return -0.5 * (z ** 2).sum(-1) - log_std.sum(-1, keepdim=True) - 0.5 * mean.shape[-1] * math.log(2 * math.pi)


def kl_old_new(old_mean, old_log_std, mean, log_std):
    """KL(pi_old || pi_new) per row, summed over actions: [T, R].

    metarl's direction. pytorch-maml-rl takes KL(pi_new || pi_old); both have the
    same value, gradient (0) and Hessian at theta_old, so CG sees the same matrix;
    they differ at third order, in the line search's KL check only.
    """
    lo, ln = old_log_std.unsqueeze(1), log_std.unsqueeze(1)
    var_ratio = torch.exp(2 * (lo - ln))
    mean_term = (old_mean - mean) ** 2 * torch.exp(-2 * ln)
    return (ln - lo + 0.5 * (var_ratio + mean_term - 1)).sum(-1)


# ─────────────────────────────── rollout ───────────────────────────────

def rollout(params, goals, n, gen, horizon):
    """n episodes per task with per-task params (no graph). Episodes are task-major.

    Returns the point_nav.sample dict reshaped per task: obs [T, n*H, O] etc.
    """
    T = len(goals)
    goals_per_episode = np.repeat(goals, n, axis=0)
    detached = [p.detach() for p in params]

    def act(obs):
        with torch.no_grad():
            o = torch.from_numpy(obs).view(T, n, -1)
            mean, log_std = forward(detached, o)
            noise = torch.randn(mean.shape, generator=gen)
            return (mean + torch.exp(log_std).unsqueeze(1) * noise).view(T * n, -1).numpy()

    batch = point_nav.sample(goals_per_episode, act, horizon)
    batch['T'], batch['n'], batch['H'] = T, n, horizon
    return batch


# ────────────────────────────── advantages ──────────────────────────────

def discounted_returns(rewards, lengths, gamma):
    """Reward-to-go per episode, no bootstrapping: [E, H] -> [E, H] (0 on padding)."""
    out = np.zeros_like(rewards, dtype=np.float64)
    acc = np.zeros(rewards.shape[0])
    for t in range(rewards.shape[1] - 1, -1, -1):
        live = t < lengths
        acc = np.where(live, rewards[:, t] + gamma * acc, 0.0)
        out[:, t] = acc
    return out


def baseline_features(obs, horizon):
    """[o, o^2, t/100, (t/100)^2, (t/100)^3, 1] per step: [E, H, O] -> [E, H, 2O + 4]."""
    o = np.clip(obs.astype(np.float64), -10, 10)
    s = np.broadcast_to((np.arange(horizon) / 100.0)[None, :, None], o.shape[:2] + (1,))
    return np.concatenate([o, o ** 2, s, s ** 2, s ** 3, np.ones_like(s)], axis=2)


def fit_baseline(features, targets, mask, reg):
    """Ridge regression on the real steps; the ridge grows x10 (5 tries) until the fit is finite."""
    x = features[mask > 0]
    y = targets[mask > 0]
    xtx, xty = x.T @ x, x.T @ y
    for _ in range(5):
        try:
            w = np.linalg.solve(xtx + reg * np.eye(len(xtx)), xty)
            if np.all(np.isfinite(w)):
                return w
        except np.linalg.LinAlgError:
            pass
        reg *= 10
    return np.zeros(len(xtx))


def task_advantages(ep, gamma, lam, reg, bootstrap):
    """One task's n episodes -> advantages [n, H], normalised over the task's real steps.

    bootstrap: value after a truncated (horizon-ended) episode's last step.
      'none' -> 0, as pytorch-maml-rl (its values are padded with a zero row);
      'last' -> V(s_last), as metarl's src/rl gae() without a bootstrap array.
    """
    obs, rewards, mask, lengths, terminated = ep['obs'], ep['rewards'], ep['mask'], ep['lengths'], ep['terminated']
    E, H = rewards.shape
    feats = baseline_features(obs, H)
    w = fit_baseline(feats, discounted_returns(rewards, lengths, gamma), mask, reg)
    values = (feats @ w) * mask
    adv = np.zeros((E, H))
    for e in range(E):
        L = lengths[e]
        if L == 0:
            continue
        nxt = 0.0 if (terminated[e] or bootstrap == 'none') else values[e, L - 1]
        acc = 0.0
        for t in range(L - 1, -1, -1):
            delta = rewards[e, t] + gamma * nxt - values[e, t]
            acc = delta + gamma * lam * acc
            adv[e, t] = acc
            nxt = values[e, t]
    real = mask > 0
    mean = adv[real].mean()
    std = adv[real].std()  # population std, as metarl's normalizeAdvantages
    return np.where(real, (adv - mean) / (std + 1e-8), 0.0)


def prepare_stage(batch, args):
    """Per task: baseline, GAE, normalisation. Returns tensors [T, R, ...] with R = n*H, and the returns."""
    T, n, H = batch['T'], batch['n'], batch['H']
    adv = np.zeros((T, n, H))
    for t in range(T):
        rows = slice(t * n, (t + 1) * n)
        ep = {k: batch[k][rows] for k in ('obs', 'rewards', 'mask', 'lengths', 'terminated')}
        adv[t] = task_advantages(ep, args.gamma, args.gae_lambda, args.baseline_reg, args.bootstrap)
    mask = torch.from_numpy(batch['mask']).view(T, n * H)
    return {
        'obs': torch.from_numpy(batch['obs']).view(T, n * H, -1),
        'actions': torch.from_numpy(batch['actions']).view(T, n * H, -1),
        'advantages': torch.from_numpy(adv.astype(np.float32)).view(T, n * H),
        'mask': mask,
        'steps': mask.sum(1).clamp(min=1),
        # Mean undiscounted return of each task's n episodes (metarl's stageReturns).
        'returns': batch['returns'].reshape(T, n).mean(axis=1),
    }


# ──────────────────────────────── losses ────────────────────────────────

def task_mean(x, stage):
    """Mean over each task's real steps: [T, R] -> [T] (agents/maml.ts taskMean)."""
    return (x * stage['mask']).sum(1) / stage['steps']


def inner_losses(params, stage):
    """VPG per task: -mean_t log pi(a_t|s_t) A_t -> [T]."""
    mean, log_std = forward(params, stage['obs'])
    return -task_mean(log_prob(mean, log_std, stage['actions']) * stage['advantages'], stage)


def adapt(theta, pre, alpha, create_graph):
    """theta'_t = theta - alpha grad L_in,t(theta), all tasks in one backward (their losses are independent)."""
    start = per_task(theta, pre['obs'].shape[0])
    grads = torch.autograd.grad(inner_losses(start, pre).sum(), start, create_graph=create_graph)
    return [p - alpha * g for p, g in zip(start, grads)]


def surrogate_and_kl(theta, pre, post, old, alpha, create_graph):
    """Outer surrogate and mean KL, both means over tasks of per-task step means, at theta'(theta)."""
    adapted = adapt(theta, pre, alpha, create_graph)
    mean, log_std = forward(adapted, post['obs'])
    ratio = torch.exp(log_prob(mean, log_std, post['actions']) - old['log_prob'])
    loss = -task_mean(ratio * post['advantages'], post).mean()
    kl = task_mean(kl_old_new(old['mean'], old['log_std'], mean, log_std), post).mean()
    return loss, kl


# ────────────────────────────── outer step ──────────────────────────────

def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def conjugate_gradient(avp, b, iters, residual_tol=1e-10):
    """Solves A x = b (pytorch-maml-rl's loop)."""
    x = torch.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr = r @ r
    for _ in range(iters):
        z = avp(p)
        v = rr / (p @ z)
        x += v * p
        r -= v * z
        new_rr = r @ r
        p = r + (new_rr / rr) * p
        rr = new_rr
        if rr.item() < residual_tol:
            break
    return x


def trpo_step(theta, pre, post, old, args):
    """TRPO on the meta-objective; returns (backtracks, accepted, kl). Mutates theta."""
    loss, kl = surrogate_and_kl(theta, pre, post, old, args.inner_lr, create_graph=True)
    g = flat(torch.autograd.grad(loss, theta, retain_graph=True))
    # The KL's gradient with its graph kept, once; each F v differentiates (grad KL . v) again.
    grad_kl = flat(torch.autograd.grad(kl, theta, create_graph=True))

    def fvp(v):
        hv = flat(torch.autograd.grad(grad_kl @ v, theta, retain_graph=True))
        return hv + args.cg_damping * v

    direction = conjugate_gradient(fvp, g, args.cg_iters)
    shs = 0.5 * (direction @ fvp(direction))
    step = direction / torch.sqrt(shs / args.max_kl)
    old_loss = loss.item()
    with torch.no_grad():
        theta0 = [p.detach().clone() for p in theta]
    del grad_kl, loss, kl

    fraction = 1.0
    for k in range(args.ls_steps):
        set_flat(theta, flat(theta0) - fraction * step)
        # The line search needs values only, but the inner step still needs its gradient.
        new_loss, new_kl = surrogate_and_kl(theta, pre, post, old, args.inner_lr, create_graph=False)
        if new_loss.item() < old_loss and new_kl.item() < args.max_kl:
            return k, True, new_kl.item()
        fraction *= args.ls_decay
    set_flat(theta, flat(theta0))
    return args.ls_steps, False, 0.0


def set_flat(theta, vector):
    with torch.no_grad():
        i = 0
        for p in theta:
            p.copy_(vector[i:i + p.numel()].view_as(p))
            i += p.numel()


# ─────────────────────────────── main loop ───────────────────────────────

def iterate(theta, goals, args, gen):
    t0 = time.perf_counter()
    pre_batch = rollout(per_task(theta, len(goals)), goals, args.episodes, gen, args.horizon)
    t1 = time.perf_counter()
    pre = prepare_stage(pre_batch, args)
    # The sampling policy theta'_t: its values only (the outer step rebuilds it with a graph).
    adapted = [p.detach() for p in adapt(theta, pre, args.inner_lr, create_graph=False)]
    t2 = time.perf_counter()
    post_batch = rollout(adapted, goals, args.episodes, gen, args.horizon)
    t3 = time.perf_counter()
    post = prepare_stage(post_batch, args)
    with torch.no_grad():
        old_mean, old_log_std = forward(adapted, post['obs'])
        old = {'mean': old_mean, 'log_std': old_log_std, 'log_prob': log_prob(old_mean, old_log_std, post['actions'])}
    t4 = time.perf_counter()
    backtracks, accepted, kl = trpo_step(theta, pre, post, old, args)
    t5 = time.perf_counter()
    return {
        'preReturn': float(pre['returns'].mean()),
        'postReturn': float(post['returns'].mean()),
        'seconds': t5 - t0,
        'sampleSeconds': (t1 - t0) + (t3 - t2),
        'outerSeconds': t5 - t4,
        'backtracks': backtracks,
        'stepAccepted': int(accepted),
        'kl': kl,
        'std': float(torch.exp(theta[-1]).mean()),
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='MAML-TRPO on point-nav (PyTorch reference for metarl)')
    p.add_argument('--iterations', type=int, default=15)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads (1: one core, like-for-like per core)')
    p.add_argument('--json', action='store_true', help='one JSON line per iteration')
    p.add_argument('--tasks', type=int, default=20, help='meta-batch size T')
    p.add_argument('--episodes', type=int, default=20, help='episodes per task and stage n')
    p.add_argument('--horizon', type=int, default=point_nav.HORIZON)
    p.add_argument('--hidden', type=int, nargs='+', default=[64, 64])
    p.add_argument('--init-std', type=float, default=1.0)
    p.add_argument('--inner-lr', type=float, default=0.1)
    p.add_argument('--gamma', type=float, default=0.99)
    p.add_argument('--gae-lambda', type=float, default=1.0)
    p.add_argument('--baseline-reg', type=float, default=1e-5)
    p.add_argument('--bootstrap', choices=['none', 'last'], default='none',
                   help="value after a horizon-truncated episode: 'none' = 0 (pytorch-maml-rl), 'last' = V(s_last) (metarl's gae())")
    p.add_argument('--max-kl', type=float, default=0.01)
    p.add_argument('--cg-iters', type=int, default=10)
    p.add_argument('--cg-damping', type=float, default=1e-5)
    p.add_argument('--ls-steps', type=int, default=15)
    p.add_argument('--ls-decay', type=float, default=0.8)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    task_rng = np.random.default_rng(args.seed)
    theta = init_policy(gen, point_nav.OBS_SIZE, point_nav.ACT_SIZE, args.hidden, args.init_std)
    wall = 0.0
    for it in range(1, args.iterations + 1):
        goals = point_nav.sample_goals(task_rng, args.tasks)
        row = iterate(theta, goals, args, gen)
        wall += row['seconds']
        row = {'iteration': it, **row, 'wallSeconds': wall}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"it {it:3d}  pre {row['preReturn']:8.2f}  post {row['postReturn']:8.2f}  "
                  f"{row['seconds']:5.2f}s (sample {row['sampleSeconds']:.2f}, outer {row['outerSeconds']:.2f})  "
                  f"backtracks {row['backtracks']}  kl {row['kl']:.4f}", flush=True)


if __name__ == '__main__':
    main()

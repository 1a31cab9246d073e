"""RL² with an LSTM policy and PPO on point-nav in PyTorch: the yardstick for metarl's RL².

A benchmark only (never a test, never a dependency of metarl). The algorithm and
its defaults are agents/rl2.ts's at docs/results.md's point-nav settings
(`--horizon 10 --trials-per-task 5 --lr 0.01 --epochs 8 --hidden 32`):

  trials   T tasks (20) x 5 trials, each a trial of 2 episodes of H = 10 steps; the
           LSTM state runs across the episodes of a trial and starts at zero per trial.
  input    [obs, previous action, previous reward, done flag]: the previous action and
           reward cross episode boundaries (zeros only at the trial's start); the flag
           is 1 on the first step of every episode.
  policy   LSTM(hidden 32; gates i, f, g, o; forget bias 1) -> Gaussian mean head
           (Glorot x 0.01) and value head (Glorot); state-independent log-std (std 1).
  GAE      gamma 0.99, lambda 0.95 over the whole trial as one episode (an episode's
           last step bootstraps from the next episode's first; only the trial's end is
           terminal); advantages normalised over the batch's real steps.
  PPO      8 epochs x 2 minibatches of whole trials (a random permutation of trials per
           epoch, each minibatch cut to its longest trial), clip 0.2, value coefficient
           0.5 on 0.5 (V - R)^2, entropy 0, global gradient-norm clip 0.5, Adam lr 0.01.

Returns printed: per stage (episode 1, 2 of a trial), the mean undiscounted return of
that episode over each task's trials, averaged over tasks (metarl's return0, return1).

Usage: python3 bench/reference/rl2_ppo.py --iterations 20 --seed 1 --json
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
from torch import nn  # noqa: E402

import point_nav  # noqa: E402


# ─────────────────────────────── policy ───────────────────────────────

def glorot_(tensor_in_out, gain=1.0):
    """Glorot-uniform on an [in, out] matrix, as metarl's glorotUniform."""
    fan_in, fan_out = tensor_in_out.shape
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        tensor_in_out.uniform_(-limit, limit)
    return tensor_in_out


class LstmPolicy(nn.Module):
    """metarl's createLstmPolicy in torch: one LSTM layer, mean and value heads on h, log-std."""

    def __init__(self, input_size, hidden, act_size, init_std=1.0, mean_gain=0.01):
        super().__init__()
        self.hidden = hidden
        self.lstm = nn.LSTM(input_size, hidden)
        # torch stores W_ih [4H, I]; metarl's wx is [I, 4H] with fans (I, 4H): init there, transpose.
        with torch.no_grad():
            self.lstm.weight_ih_l0.copy_(glorot_(torch.empty(input_size, 4 * hidden)).T)
            self.lstm.weight_hh_l0.copy_(glorot_(torch.empty(hidden, 4 * hidden)).T)
            bias = torch.zeros(4 * hidden)
            bias[hidden:2 * hidden] = 1.0  # forget gate: remember by default
            self.lstm.bias_ih_l0.copy_(bias)
            self.lstm.bias_hh_l0.zero_()
        # metarl has one gate bias; torch has two. Freezing the second at 0 keeps the
        # parameter set (and so Adam's and the norm clip's behaviour) the same.
        self.lstm.bias_hh_l0.requires_grad_(False)
        self.mean = nn.Linear(hidden, act_size)
        self.value = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.mean.weight.copy_(glorot_(torch.empty(hidden, act_size), mean_gain).T)
            self.mean.bias.zero_()
            self.value.weight.copy_(glorot_(torch.empty(hidden, 1)).T)
            self.value.bias.zero_()
        self.log_std = nn.Parameter(torch.full((act_size,), math.log(init_std)))

    def forward(self, inputs, state=None):
        """inputs [T, B, I] -> mean [T, B, A], value [T, B], next state."""
        h, state = self.lstm(inputs, state)
        return self.mean(h), self.value(h).squeeze(-1), state


def gaussian_log_prob(mean, log_std, actions):
    z = (actions - mean) * torch.exp(-log_std)
    return -0.5 * (z ** 2).sum(-1) - log_std.sum() - 0.5 * mean.shape[-1] * math.log(2 * math.pi)


# ─────────────────────────────── rollout ───────────────────────────────

def sample_trials(policy, goals, trials, episodes, horizon, gen):
    """One trial per slot (slots task-major); returns the trials packed time-major.

    A slot's episodes follow each other with no gap, exactly as the LSTM stepped
    through them; the tail past a trial's last step is padding (mask 0).
    """
    O, A = point_nav.OBS_SIZE, point_nav.ACT_SIZE
    I = O + A + 2
    B = len(goals) * trials
    env = point_nav.PointNavBatch(np.repeat(goals, trials, axis=0), horizon)
    T = episodes * horizon
    inputs = np.zeros((T, B, I), dtype=np.float32)
    actions = np.zeros((T, B, A), dtype=np.float32)
    rewards = np.zeros((T, B), dtype=np.float32)
    mask = np.zeros((T, B), dtype=np.float32)
    episode_returns = np.zeros((B, episodes))
    episode = np.zeros(B, dtype=np.int64)  # the episode each slot is in
    live = np.ones(B, dtype=bool)
    lengths = np.zeros(B, dtype=np.int64)
    obs = env.reset()
    prev_action = np.zeros((B, A), dtype=np.float32)
    prev_reward = np.zeros(B, dtype=np.float32)
    first = np.ones(B, dtype=np.float32)
    state = None
    log_std = policy.log_std.detach()
    for t in range(T):
        if not live.any():
            break
        x = np.concatenate([obs, prev_action, prev_reward[:, None], first[:, None]], axis=1).astype(np.float32)
        with torch.no_grad():
            mean, _, state = policy(torch.from_numpy(x)[None], state)
            a = (mean[0] + torch.exp(log_std) * torch.randn(mean.shape[1:], generator=gen)).numpy()
        _, reward, terminated, truncated = env.step(a)
        inputs[t, live] = x[live]
        actions[t, live] = a[live]
        rewards[t, live] = reward[live]
        mask[t, live] = 1.0
        lengths[live] += 1
        idx = np.nonzero(live)[0]
        episode_returns[idx, episode[idx]] += reward[idx]
        ended = live & (terminated | truncated)
        episode[ended] += 1
        live &= episode < episodes
        # The next episode of the trial starts at once: its first observation is the start state.
        obs = env.reset_envs(ended)
        prev_action, prev_reward = a.astype(np.float32), reward.astype(np.float32)
        first = ended.astype(np.float32)
    steps = max(1, int(lengths.max()))
    return {
        'inputs': inputs[:steps], 'actions': actions[:steps], 'rewards': rewards[:steps],
        'mask': mask[:steps], 'lengths': lengths, 'episode_returns': episode_returns,
    }


# ────────────────────────────── advantages ──────────────────────────────

def trial_advantages(rewards, values, lengths, gamma, lam, normalize):
    """GAE over each whole trial (terminal only at its end): [T, B] -> advantages, lambda-returns."""
    T, B = rewards.shape
    adv = np.zeros((T, B))
    for b in range(B):
        acc, nxt = 0.0, 0.0
        for t in range(lengths[b] - 1, -1, -1):
            delta = rewards[t, b] + gamma * nxt - values[t, b]
            acc = delta + gamma * lam * acc
            adv[t, b] = acc
            nxt = values[t, b]
    returns = adv + values
    real = np.arange(T)[:, None] < lengths[None, :]
    if normalize:
        mean, std = adv[real].mean(), adv[real].std()
        adv = np.where(real, (adv - mean) / (std + 1e-8), 0.0)
    return adv, np.where(real, returns, 0.0)


# ─────────────────────────── losses and update ───────────────────────────

def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum().clamp(min=1)


def ppo_update(policy, optimizer, data, args, gen):
    B = data['inputs'].shape[1]
    per_batch = math.ceil(B / min(args.minibatches, B))
    lengths = data['lengths']
    for _ in range(args.epochs):
        order = torch.randperm(B, generator=gen)
        for start in range(0, B, per_batch):
            cols = order[start:start + per_batch]
            steps = int(lengths[cols.numpy()].max())
            take = lambda x: x[:steps, cols]  # noqa: E731  (whole trials, cut to the longest)
            mean, value, _ = policy(take(data['inputs']))
            log_prob = gaussian_log_prob(mean, policy.log_std, take(data['actions']))
            mask, adv = take(data['mask']), take(data['advantages'])
            ratio = torch.exp(log_prob - take(data['old_log_prob']))
            surr = torch.min(ratio * adv, ratio.clamp(1 - args.clip, 1 + args.clip) * adv)
            policy_loss = -masked_mean(surr, mask)
            value_loss = 0.5 * masked_mean((value - take(data['returns'])) ** 2, mask)
            entropy = policy.log_std.sum() + 0.5 * policy.log_std.numel() * (1 + math.log(2 * math.pi))
            loss = policy_loss + args.value_coef * value_loss - args.entropy_coef * entropy
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_([p for p in policy.parameters() if p.requires_grad], args.max_grad_norm)
            optimizer.step()


def iterate(policy, optimizer, goals, args, gen):
    t0 = time.perf_counter()
    trials = sample_trials(policy, goals, args.trials_per_task, args.episodes_per_trial, args.horizon, gen)
    t1 = time.perf_counter()
    inputs = torch.from_numpy(trials['inputs'])
    actions = torch.from_numpy(trials['actions'])
    with torch.no_grad():
        mean, value, _ = policy(inputs)
        old_log_prob = gaussian_log_prob(mean, policy.log_std, actions)
    adv, returns = trial_advantages(trials['rewards'], value.numpy().astype(np.float64), trials['lengths'],
                                    args.gamma, args.gae_lambda, normalize=True)
    data = {
        'inputs': inputs, 'actions': actions, 'mask': torch.from_numpy(trials['mask']),
        'old_log_prob': old_log_prob, 'advantages': torch.from_numpy(adv.astype(np.float32)),
        'returns': torch.from_numpy(returns.astype(np.float32)), 'lengths': trials['lengths'],
    }
    ppo_update(policy, optimizer, data, args, gen)
    t2 = time.perf_counter()
    # Slots are task-major with equal trials per task: the mean over slots is the mean over tasks.
    stage_returns = trials['episode_returns'].mean(axis=0)
    return {
        'returns': [float(r) for r in stage_returns],
        'seconds': t2 - t0,
        'sampleSeconds': t1 - t0,
        'learnSeconds': t2 - t1,
        'std': float(torch.exp(policy.log_std).mean()),
    }


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='RL² (LSTM + PPO) on point-nav (PyTorch reference for metarl)')
    p.add_argument('--iterations', type=int, default=20)
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads (1: one core, like-for-like per core)')
    p.add_argument('--json', action='store_true', help='one JSON line per iteration')
    p.add_argument('--tasks', type=int, default=20, help='meta-batch size')
    p.add_argument('--trials-per-task', type=int, default=5)
    p.add_argument('--episodes-per-trial', type=int, default=2)
    p.add_argument('--horizon', type=int, default=10)
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--init-std', type=float, default=1.0)
    p.add_argument('--lr', type=float, default=0.01)
    p.add_argument('--epochs', type=int, default=8)
    p.add_argument('--minibatches', type=int, default=2)
    p.add_argument('--clip', type=float, default=0.2)
    p.add_argument('--gamma', type=float, default=0.99)
    p.add_argument('--gae-lambda', type=float, default=0.95)
    p.add_argument('--value-coef', type=float, default=0.5)
    p.add_argument('--entropy-coef', type=float, default=0.0)
    p.add_argument('--max-grad-norm', type=float, default=0.5)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)  # the policy's init draws from the global generator
    task_rng = np.random.default_rng(args.seed)
    O, A = point_nav.OBS_SIZE, point_nav.ACT_SIZE
    policy = LstmPolicy(O + A + 2, args.hidden, A, args.init_std)
    optimizer = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=args.lr, eps=1e-8)
    wall = 0.0
    for it in range(1, args.iterations + 1):
        goals = point_nav.sample_goals(task_rng, args.tasks)
        row = iterate(policy, optimizer, goals, args, gen)
        wall += row['seconds']
        row = {'iteration': it, **{f'return{i}': r for i, r in enumerate(row['returns'])}, **row, 'wallSeconds': wall}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            rets = '  '.join(f'ep{i + 1} {r:7.2f}' for i, r in enumerate(row['returns']))
            print(f"it {it:3d}  {rets}  {row['seconds']:5.2f}s (sample {row['sampleSeconds']:.2f}, learn {row['learnSeconds']:.2f})", flush=True)


if __name__ == '__main__':
    main()

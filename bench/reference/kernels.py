"""The neural-net workloads of bench/nn.bench.ts in PyTorch, timed the same way.

A benchmark only (never a test, never a dependency of metarl). Shapes, losses and
what one rep covers match bench/nn.bench.ts; each `key` names the row there:

  mlp     Gaussian MLP 20-64-64-6, batch 4000: forward, VPG loss -mean(log pi(a|s) A),
          backward, one Adam step (lr 1e-3)
  lstm    LSTM policy BPTT, T 200, batch 40, hidden 64, input 30: the sequence forward
          (input projection, recurrence, mean and value heads), loss mean(mean^2) +
          mean(value^2), gradients of the 7 non-log-std parameters. torch's nn.LSTM
          (one fused kernel per step and its fused backward).
  lstm_ops  the same LSTM written op by op as src/nn/lstm.ts does (matmul, split,
          sigmoid/tanh, mul/add per step), to separate fusion from per-op overhead.
  maml2   MAML outer gradient, second order: 20 tasks x 200 + 200 samples, 20-64-64-6,
          inner step alpha 0.1 through which the outer loss is differentiated.

Median ms of the reps after one warm-up: reps until 5 are done or ~20 s have passed
(at least 2), as bench/nn.bench.ts. One thread by default (--threads N).

Usage: python3 bench/reference/kernels.py [--json] [--threads N] [--only mlp,lstm]
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (first: it pins the BLAS threads before torch loads)

import torch  # noqa: E402
from torch import nn  # noqa: E402

OBS, ACT, BATCH, TASKS = 20, 6, 4000, 20
LSTM_T, LSTM_B, LSTM_H, LSTM_IN = 200, 40, 64, 30
LOG_2PI = math.log(2 * math.pi)


def glorot(fan_in, fan_out, gain=1.0):
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return ((torch.rand(fan_in, fan_out) * 2 - 1) * limit).requires_grad_()


def mlp_params(hidden=(64, 64)):
    sizes = [OBS, *hidden, ACT]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params += [glorot(a, b), torch.zeros(b, requires_grad=True)]
    return params + [torch.zeros(ACT, requires_grad=True)]  # logStd


def mlp_mean(params, obs):
    h = obs
    layers = (len(params) - 1) // 2
    for l in range(layers):
        h = torch.addmm(params[2 * l + 1], h, params[2 * l])
        if l < layers - 1:
            h = torch.tanh(h)
    return h


def log_prob(mean, log_std, x):
    z = (x - mean) * torch.exp(-log_std)
    return -0.5 * (z ** 2).sum(-1) - (log_std.sum() + 0.5 * mean.shape[-1] * LOG_2PI)


def vpg_loss(params, obs, act, adv):
    return -(log_prob(mlp_mean(params, obs), params[-1], act) * adv).mean()


def setup_mlp():
    params = mlp_params()
    adam = torch.optim.Adam(params, lr=1e-3)
    obs, act, adv = torch.randn(BATCH, OBS), torch.randn(BATCH, ACT), torch.randn(BATCH)

    def rep():
        adam.zero_grad()
        vpg_loss(params, obs, act, adv).backward()
        adam.step()
    return rep


class FusedLstmPolicy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(LSTM_IN, LSTM_H)
        self.lstm.bias_hh_l0.requires_grad_(False)  # metarl has one gate bias: freeze torch's second
        self.mean = nn.Linear(LSTM_H, ACT)
        self.value = nn.Linear(LSTM_H, 1)


def setup_lstm():
    policy = FusedLstmPolicy()
    inputs = torch.randn(LSTM_T, LSTM_B, LSTM_IN)
    params = [p for p in policy.parameters() if p.requires_grad]

    def rep():
        h, _ = policy.lstm(inputs)
        loss = (policy.mean(h) ** 2).mean() + (policy.value(h) ** 2).mean()
        torch.autograd.grad(loss, params)
    return rep


def setup_lstm_ops():
    H = LSTM_H
    wx, wh = glorot(LSTM_IN, 4 * H), glorot(H, 4 * H)
    b = torch.zeros(4 * H, requires_grad=True)
    wm, bm = glorot(H, ACT, 0.01), torch.zeros(ACT, requires_grad=True)
    wv, bv = glorot(H, 1), torch.zeros(1, requires_grad=True)
    params = [wx, wh, b, wm, bm, wv, bv]
    inputs = torch.randn(LSTM_T, LSTM_B, LSTM_IN)

    def rep():
        # As src/nn/lstm.ts: the input projection in one matmul over all T, then the recurrence.
        xw = (inputs.reshape(-1, LSTM_IN) @ wx + b).reshape(LSTM_T, LSTM_B, 4 * H)
        h = torch.zeros(LSTM_B, H)
        c = torch.zeros(LSTM_B, H)
        hs = []
        # unbind, not xw[t]: each indexing's backward would write a zero tensor of all T steps.
        for x_t in xw.unbind(0):
            i, f, g, o = (x_t + h @ wh).split(H, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        hh = torch.stack(hs).reshape(-1, H)
        loss = ((hh @ wm + bm) ** 2).mean() + ((hh @ wv + bv) ** 2).mean()
        torch.autograd.grad(loss, params)
    return rep


def setup_maml2():
    params = mlp_params()
    n = BATCH // TASKS

    def task():
        return torch.randn(n, OBS), torch.randn(n, ACT), torch.randn(n)
    data = [(task(), task()) for _ in range(TASKS)]

    def rep():
        outer = []
        for pre, post in data:
            g = torch.autograd.grad(vpg_loss(params, *pre), params, create_graph=True)
            outer.append(vpg_loss([p - 0.1 * gi for p, gi in zip(params, g)], *post))
        torch.autograd.grad(torch.stack(outer).mean(), params)
    return rep


WORKLOADS = {
    'mlp': (f'Gaussian MLP {OBS}-64-64-{ACT}, batch {BATCH}: fwd + bwd + Adam', setup_mlp),
    'lstm': (f'LSTM policy BPTT: T={LSTM_T}, batch {LSTM_B}, hidden {LSTM_H}, input {LSTM_IN}: fwd + bwd (nn.LSTM)', setup_lstm),
    'lstm_ops': (f'LSTM policy BPTT: T={LSTM_T}, batch {LSTM_B}, hidden {LSTM_H}, input {LSTM_IN}: fwd + bwd (op by op)', setup_lstm_ops),
    'maml2': (f'MAML outer gradient, 2nd order: {TASKS} tasks x {BATCH // TASKS} + {BATCH // TASKS} samples, 20-64-64-6', setup_maml2),
}


def time_rep(rep):
    """Median ms per rep: one warm-up, then reps until 5 are done or ~20 s have passed (at least 2)."""
    rep()
    samples = []
    start = time.perf_counter()
    while len(samples) < 5 and (len(samples) < 2 or time.perf_counter() - start < 20):
        t0 = time.perf_counter()
        rep()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return samples[len(samples) // 2], len(samples)


def main(argv=None):
    p = argparse.ArgumentParser(description='bench/nn.bench.ts workloads in PyTorch')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--json', action='store_true', help='one JSON object on one line')
    p.add_argument('--only', default=','.join(WORKLOADS), help='comma-separated keys: ' + ', '.join(WORKLOADS))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    results = []
    for key in [k for k in args.only.split(',') if k]:
        name, setup = WORKLOADS[key]
        ms, reps = time_rep(setup())
        results.append({'key': key, 'name': name, 'ms': ms, 'reps': reps})
    info = {'torch': torch.__version__, 'threads': args.threads, 'blas': common.blas_library(), 'workloads': results}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"torch {info['torch']}, {args.threads} thread(s), BLAS: {info['blas']}")
        for r in results:
            print(f"{r['ms']:9.1f} ms (n={r['reps']})  {r['name']}")


if __name__ == '__main__':
    main()

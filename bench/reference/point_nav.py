"""point-nav, vectorised in numpy: the reference twin of envs/point-nav.ts.

A benchmark helper only (never a test, never a dependency of metarl).

Definition (docs/envs.md, envs/point-nav.ts; MAML's 2D navigation):
  task       goal g ~ U[-0.5, 0.5]^2, not observed
  start      s_0 = (0, 0), no noise
  obs        s_t = (x, y), the position BEFORE the step's action (float32, as Rapier's)
  action     each component clipped to [-1, 1] (the action box) and then to +-0.1: s' = s + a
  reward     -||s' - g||_2
  end        terminated when |x' - gx| < 0.01 and |y' - gy| < 0.01; truncated at H = 100

`sample` runs N envs at once until every one has ended; an env that has ended
is frozen and its later steps are padding (mask 0), as metarl's sampler lays
episodes out: arrays are episode-major [N, H, ...].
"""
import numpy as np

HORIZON = 100
GOAL_RANGE = 0.5
MAX_STEP = 0.1
GOAL_TOLERANCE = 0.01
OBS_SIZE = 2
ACT_SIZE = 2


def sample_goals(rng, n, goal_range=GOAL_RANGE):
    """n goals from U[-r, r]^2, float64 like metarl's task JSON."""
    return rng.uniform(-goal_range, goal_range, size=(n, 2))


class PointNavBatch:
    """N point-nav envs stepped together; env i has goal goals[i] and its own clock.

    `step` moves every env it is given; the caller decides which are live (MAML
    freezes an env once its episode ends, RL² resets it for the trial's next
    episode with `reset_envs`).
    """

    def __init__(self, goals, horizon=HORIZON):
        self.goals = np.asarray(goals, dtype=np.float64)
        self.n = len(self.goals)
        self.horizon = horizon
        self.reset()

    def reset(self):
        self.state = np.zeros((self.n, 2), dtype=np.float32)
        self.t = np.zeros(self.n, dtype=np.int64)
        return self.state.copy()

    def reset_envs(self, which):
        """Starts a new episode in the envs where `which` [N] is True; returns the observations."""
        self.state[which] = 0.0
        self.t[which] = 0
        return self.state.copy()

    def step(self, actions):
        """actions [N, 2] -> (obs [N, 2], reward [N], terminated [N], truncated [N])."""
        # The action box is [-1, 1] and point-nav clips again to +-0.1: the tighter bound wins.
        a = np.clip(np.asarray(actions, dtype=np.float32), -MAX_STEP, MAX_STEP)
        self.state = (self.state + a).astype(np.float32)
        err = self.state.astype(np.float64) - self.goals
        reward = -np.sqrt((err ** 2).sum(axis=1))
        terminated = (np.abs(err[:, 0]) < GOAL_TOLERANCE) & (np.abs(err[:, 1]) < GOAL_TOLERANCE)
        self.t += 1
        truncated = ~terminated & (self.t >= self.horizon)
        return self.state.copy(), reward, terminated, truncated


def sample(goals, act, horizon=HORIZON):
    """Runs one episode per goal with `act(obs [N, 2]) -> actions [N, 2]` (numpy, float32).

    Returns a dict of episode-major arrays: obs [N, H, 2], actions [N, H, 2] (as
    the policy gave them, unclipped: the log-probs are of these), rewards [N, H],
    mask [N, H] (1 on real steps), lengths [N], terminated [N] (ended at the goal,
    not by the horizon), returns [N] (undiscounted sums of rewards).
    """
    env = PointNavBatch(goals, horizon)
    n = env.n
    obs_buf = np.zeros((n, horizon, OBS_SIZE), dtype=np.float32)
    act_buf = np.zeros((n, horizon, ACT_SIZE), dtype=np.float32)
    rew_buf = np.zeros((n, horizon), dtype=np.float32)
    mask = np.zeros((n, horizon), dtype=np.float32)
    lengths = np.zeros(n, dtype=np.int64)
    terminated = np.zeros(n, dtype=bool)
    obs = env.reset()
    live = np.ones(n, dtype=bool)
    for t in range(horizon):
        if not live.any():
            break
        actions = np.asarray(act(obs), dtype=np.float32)
        actions[~live] = 0.0  # an ended episode stays where it stopped
        next_obs, reward, done, _ = env.step(actions)
        obs_buf[live, t] = obs[live]
        act_buf[live, t] = actions[live]
        rew_buf[live, t] = reward[live]
        mask[live, t] = 1.0
        lengths[live] += 1
        ended = live & done
        terminated |= ended
        live &= ~ended
        obs = next_obs
    return {
        'obs': obs_buf,
        'actions': act_buf,
        'rewards': rew_buf,
        'mask': mask,
        'lengths': lengths,
        'terminated': terminated,
        'returns': rew_buf.sum(axis=1, dtype=np.float64),
    }


if __name__ == '__main__':
    # A quick look: a random policy and the straight-to-goal policy on 4 goals.
    rng = np.random.default_rng(0)
    goals = sample_goals(rng, 4)
    random_run = sample(goals, lambda o: rng.normal(size=o.shape))
    greedy = sample(goals, lambda o: (goals - o).astype(np.float32))
    print('goals', np.round(goals, 3).tolist())
    print('random returns', np.round(random_run['returns'], 2).tolist(), 'lengths', random_run['lengths'].tolist())
    print('greedy returns', np.round(greedy['returns'], 2).tolist(), 'lengths', greedy['lengths'].tolist())

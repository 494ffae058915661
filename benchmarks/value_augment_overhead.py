"""Per-step overhead of the RL^3 value augmentation: RL^3 step time minus RL^2 step time.

For each seeded trial the RL^3 env is played by an epsilon-greedy policy on its own ``q_values``
input (epsilon 0.1, random tie-breaking; it finds the gridworld goals, so values propagate as
they would under a trained agent), and the RL^2 env replays the same seed and actions, which
gives the same trajectory (the augmentation draws no random numbers). Only ``step`` calls are
timed, in process CPU time (the machine is shared, wall time is not reproducible); trial
resets, which sample the tasks, are not. Prints the mean step time of each env and the
difference, the best of ``--repeats`` runs. Goals: < 50 us on the 10-state tabular MDP, < 500 us
on the 13x13 (169-state) gridworld.

    .venv/bin/python benchmarks/value_augment_overhead.py
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)
from rl2_agent.arguments import positive_int

CASES = [
    ("10-state tabular MDP, H=500", "TabularMDP-v0", {"steps_per_trial": 500}, 50.0),
    ("11x11 gridworld, H=250", "GridWorld-v0", {"size": 11}, 500.0),
    ("13x13 gridworld, H=350", "GridWorld-v0", {"size": 13}, 500.0),
]
EPSILON = 0.1


def timed_trials(env: gym.Env, seeds: range, actions: list[list[int]] | None = None) -> tuple[float, list[list[int]]]:
    """Mean CPU time of ``step`` over the trials of ``seeds``; replays ``actions`` if given, else
    plays epsilon-greedy on the ``q_values`` input. Returns the mean and the actions taken."""
    env = env.unwrapped
    q_slice = env.obs_layout.get("q_values")
    rng = np.random.default_rng(0)
    elapsed, steps, played = 0.0, 0, []
    for i, seed in enumerate(seeds):
        obs, _ = env.reset(seed=seed)
        trial_actions = actions[i] if actions is not None else []
        terminated, t = False, 0
        while not terminated:
            if actions is not None:
                action = trial_actions[t]
            else:
                q = obs[q_slice]
                greedy = np.flatnonzero(q == q.max())
                action = int(rng.integers(len(q))) if rng.random() < EPSILON else int(rng.choice(greedy))
                trial_actions.append(action)
            start = time.process_time()
            obs, _, terminated, _, _ = env.step(action)
            elapsed += time.process_time() - start
            steps, t = steps + 1, t + 1
        played.append(trial_actions)
    return elapsed / steps, played


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=positive_int, default=4, help="trials per measurement")
    parser.add_argument("--repeats", type=positive_int, default=3, help="measurements per env (the best is kept)")
    args = parser.parse_args(argv)
    seeds = range(args.trials)
    print(f"{'domain':30s} {'RL^2 step':>11s} {'RL^3 step':>11s} {'overhead':>10s} {'goal':>8s}")
    for name, suffix, kwargs, goal in CASES:
        rl3_runs = [timed_trials(gym.make("RL3" + suffix, **kwargs), seeds) for _ in range(args.repeats)]
        actions = rl3_runs[0][1]
        rl3 = min(seconds for seconds, _ in rl3_runs)
        rl2 = min(timed_trials(gym.make("RL2" + suffix, **kwargs), seeds, actions)[0] for _ in range(args.repeats))
        overhead = (rl3 - rl2) * 1e6
        print(f"{name:30s} {rl2 * 1e6:9.1f}us {rl3 * 1e6:9.1f}us {overhead:8.1f}us {'<' + format(goal, '.0f') + 'us':>8s}")


if __name__ == "__main__":
    main()

"""Per-step overhead of the RL^3 value augmentation: RL^3 step time minus RL^2 step time.

Both envs play the same seeded trials with the same uniformly random actions; only ``step`` calls
are timed (trial resets, which sample the tasks, are not). Prints the mean step time of each env
and their difference, the best of ``--repeats`` runs. Goals: < 50 us on the 10-state tabular MDP,
< 500 us on the 13x13 (169-state) gridworld.

    .venv/bin/python benchmarks/value_augment_overhead.py
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)

CASES = [
    ("10-state tabular MDP", "TabularMDP-v0", {"steps_per_trial": 500}, 50.0),
    ("11x11 gridworld (121 states)", "GridWorld-v0", {"size": 11}, 500.0),
    ("13x13 gridworld (169 states)", "GridWorld-v0", {"size": 13}, 500.0),
]


def mean_step_seconds(env: gym.Env, trials: int, seed: int) -> float:
    """Mean wall time of ``env.unwrapped.step`` over ``trials`` seeded trials of random actions."""
    env = env.unwrapped
    rng = np.random.default_rng(seed)
    elapsed, steps = 0.0, 0
    for trial in range(trials):
        env.reset(seed=seed + trial)
        terminated = False
        while not terminated:
            action = int(rng.integers(env.action_space.n))
            start = time.perf_counter()
            _, _, terminated, _, _ = env.step(action)
            elapsed += time.perf_counter() - start
            steps += 1
    return elapsed / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=4, help="trials per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per env (the best is kept)")
    args = parser.parse_args()
    print(f"{'domain':32s} {'RL^2 step':>11s} {'RL^3 step':>11s} {'overhead':>10s} {'goal':>8s}")
    for name, suffix, kwargs, goal in CASES:
        rl2 = min(mean_step_seconds(gym.make("RL2" + suffix, **kwargs), args.trials, 0) for _ in range(args.repeats))
        rl3 = min(mean_step_seconds(gym.make("RL3" + suffix, **kwargs), args.trials, 0) for _ in range(args.repeats))
        overhead = (rl3 - rl2) * 1e6
        print(f"{name:32s} {rl2 * 1e6:9.1f}us {rl3 * 1e6:9.1f}us {overhead:8.1f}us {'<' + format(goal, '.0f') + 'us':>8s}")


if __name__ == "__main__":
    main()

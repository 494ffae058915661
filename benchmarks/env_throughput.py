"""Env stepping throughput: single env, SB3 DummyVecEnv(64), batched env (64 and 1024 envs).

Usage::

    python benchmarks/env_throughput.py [--seconds 2]

Prints steps/s (env steps, i.e. transitions) for RL2Bandit-v0 (k=5, n=100), RL2TabularMDP-v0
(defaults) and RL3TabularMDP-v0 (H = 100: a value iteration per env and step), measured side by side in one run, and the ratio batched / DummyVecEnv at 64 envs
(goal: >= 20x). Random actions are drawn in advance so only stepping is timed.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

import meta_envs  # noqa: F401
from rl2_agent.arguments import positive_float
from rl2_agent.envs import make_vec_env

CASES = {
    "RL2Bandit-v0": {"num_arms": 5, "episodes_per_trial": 100},
    "RL2TabularMDP-v0": {},
    "RL3TabularMDP-v0": {"steps_per_trial": 100},  # the RL^3 paper's H = 100, value inputs and time
}


def timed(step: Callable[[int], None], n_envs: int, seconds: float) -> float:
    """Run ``step(i)`` repeatedly for about ``seconds``; return env steps per second."""
    step(0)  # warm-up
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            step(calls)
            calls += 1
    return calls * n_envs / elapsed


def bench_single(env_id: str, kwargs: dict, seconds: float) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=4096)

    def step(i: int) -> None:
        _, _, terminated, _, _ = env.step(actions[i % 4096])
        if terminated:
            env.reset()

    return timed(step, 1, seconds)


def bench_vec(venv, n_envs: int, n_actions: int, seconds: float, sb3: bool) -> float:
    actions = np.random.default_rng(0).integers(n_actions, size=(256, n_envs))
    if sb3:
        venv.reset()
        return timed(lambda i: venv.step(actions[i % 256]), n_envs, seconds)
    venv.reset(seed=0)
    return timed(lambda i: venv.step(actions[i % 256]), n_envs, seconds)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=positive_float, default=2.0, help="time per measurement")
    args = parser.parse_args(argv)
    rows = []
    for env_id, kwargs in CASES.items():
        n_actions = gym.make(env_id, **kwargs).action_space.n
        single = bench_single(env_id, kwargs, args.seconds)
        dummy = bench_vec(
            DummyVecEnv([lambda env_id=env_id, kwargs=kwargs: gym.make(env_id, **kwargs)] * 64),
            64,
            n_actions,
            args.seconds,
            sb3=True,
        )
        b64 = bench_vec(
            gym.make_vec(env_id, 64, vectorization_mode="vector_entry_point", **kwargs), 64, n_actions, args.seconds, False
        )
        b1024 = bench_vec(
            gym.make_vec(env_id, 1024, vectorization_mode="vector_entry_point", **kwargs), 1024, n_actions, args.seconds, False
        )
        sb3_64 = bench_vec(make_vec_env(env_id, 64, kwargs, monitor=True), 64, n_actions, args.seconds, sb3=True)
        rows.append((env_id, single, dummy, b64, b1024, sb3_64, b64 / dummy, sb3_64 / dummy))
    print(
        "| env | single env | SB3 DummyVecEnv x64 | batched x64 | batched x1024 | batched x64 via SB3 adapter+VecMonitor | batched/Dummy (x64) | adapter/Dummy (x64) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for env_id, *vals, r1, r2 in rows:
        cells = " | ".join(f"{v:,.0f}" for v in vals)
        print(f"| {env_id} | {cells} | {r1:.1f}x | {r2:.1f}x |")
    print("(env steps per second)")


if __name__ == "__main__":
    main()

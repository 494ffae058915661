"""Steps per second of the first-person maze ``RL2Maze-v0`` (one process, one core).

Steps a ``gym.make`` env (trial wrapper, ray-cast 30 x 40 observations) with uniformly random
actions, starting a new trial whenever one ends, and prints steps/s per maze size::

    .venv/bin/python benchmarks/maze_speed.py [--steps 20000] [--height 30] [--width 40]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)
from rl2_agent.arguments import int_at_least, positive_int

MIN_VIEW = 8  # the smallest height / width RL2Maze-v0 accepts


def steps_per_second(env_id: str, steps: int, **kwargs: object) -> float:
    """Random-action steps per second of ``gym.make(env_id, **kwargs)``."""
    env = gym.make(env_id, **kwargs)
    actions = np.random.default_rng(0).integers(env.action_space.n, size=steps)
    env.reset(seed=0)
    start = time.perf_counter()
    for action in actions:
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - start
    env.close()
    return steps / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=20_000, help="steps per maze size")
    parser.add_argument("--height", type=int_at_least(MIN_VIEW), default=30, help="observation height in pixels")
    parser.add_argument("--width", type=int_at_least(MIN_VIEW), default=40, help="observation width in pixels")
    args = parser.parse_args(argv)
    for size in ("small", "large"):
        rate = steps_per_second("RL2Maze-v0", args.steps, size=size, height=args.height, width=args.width)
        print(f"RL2Maze-v0 size={size} {args.height}x{args.width}: {rate:,.0f} steps/s ({1e6 / rate:.0f} us/step)")


if __name__ == "__main__":
    main()

"""Reference scores of the RL^3 gridworlds: what standing still, acting at random, the object-level
RL of RL^3 alone and a policy that knows the grid score on the held-out tasks.

They bracket the meta-learners of ``benchmarks/rl3_vs_rl2.py`` (see :mod:`rl2_agent.baselines.gridworld`)::

    .venv/bin/python benchmarks/gridworld_reference.py                    # 11x11, 1000 tasks
    .venv/bin/python benchmarks/gridworld_reference.py --grids all --trials 200
    .venv/bin/python benchmarks/gridworld_reference.py --out docs/tables/gridworld_reference.json

Every agent plays the same held-out tasks (seeds ``--eval-seed`` onwards, as ``rl2_agent
evaluate`` and the RL^3-vs-RL^2 benchmark); the value-greedy agent plays the RL^3 twin of the id
(without time inputs), whose tasks for a seed are the same.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.gridworld import VARIANTS
from rl2_agent.baselines.gridworld import ConstantAgent, KnownGridOptimal, ValueGreedyAgent
from rl2_agent.evaluate import EVAL_SEED, UniformRandomAgent, held_out_tasks, run_trials
from rl2_agent.paper import RL3_PAPER

AGENTS = ("stay", "random", "value_greedy", "known_grid_optimal")
GRIDS = {"grid11": {"size": 11}, "grid13": {"size": 13}} | {f"grid13_{v}": {"size": 13, "variant": v} for v in VARIANTS[1:]}
"""Grid name (the experiment names of ``benchmarks/rl3_vs_rl2.py``) -> env kwargs."""


def reference_scores(env_kwargs: dict[str, Any], trials: int, seed: int = EVAL_SEED) -> dict[str, tuple[float, float]]:
    """agent -> (mean, standard error) of the trial return on the held-out tasks ``seed ..``."""
    env = gym.make("RL2GridWorld-v0", **env_kwargs).unwrapped
    steps, layout = env.steps_per_trial, env.obs_layout
    env.close()
    rl3_kwargs = {**env_kwargs, "time_inputs": False}
    rl3_layout = gym.make("RL3GridWorld-v0", **rl3_kwargs).unwrapped.obs_layout
    tasks = held_out_tasks("RL2GridWorld-v0", env_kwargs, trials, seed)
    plays = {
        "stay": ("RL2GridWorld-v0", env_kwargs, ConstantAgent()),
        "random": ("RL2GridWorld-v0", env_kwargs, UniformRandomAgent(5, seed=seed)),
        "value_greedy": ("RL3GridWorld-v0", rl3_kwargs, ValueGreedyAgent(rl3_layout, seed=seed)),
        "known_grid_optimal": ("RL2GridWorld-v0", env_kwargs, KnownGridOptimal(tasks, steps, layout)),
    }
    scores = {}
    for name, (env_id, kwargs, agent) in plays.items():
        res = run_trials(agent, env_id, kwargs, n_trials=trials, seed=seed)
        scores[name] = (res.mean, res.se)
    return scores


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", default="grid11", help=f"comma-separated names or 'all' (known: {list(GRIDS)})")
    parser.add_argument("--trials", type=int, default=1000, help="held-out tasks per grid")
    parser.add_argument("--eval-seed", type=int, default=EVAL_SEED)
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    names = list(GRIDS) if args.grids == "all" else [n.strip() for n in args.grids.split(",") if n.strip()]
    unknown = [n for n in names if n not in GRIDS]
    if unknown:
        parser.error(f"unknown grids {unknown}; known: {list(GRIDS)}")
    if args.trials < 1:
        parser.error("--trials must be >= 1")

    print(f"mean trial return +- s.e. on {args.trials} held-out tasks (seeds {args.eval_seed}..)\n")
    print("| grid | " + " | ".join(AGENTS) + " | paper RL^2 | paper RL^3 | seconds |")
    print("|---" * (len(AGENTS) + 4) + "|")
    table = {}
    for name in names:
        start = time.perf_counter()
        scores = reference_scores(GRIDS[name], args.trials, args.eval_seed)
        seconds = time.perf_counter() - start
        paper = RL3_PAPER[name]
        cells = [f"{scores[a][0]:.1f} ± {scores[a][1]:.1f}" for a in AGENTS]
        cells += [f"{paper[k][0]:.0f} ± {paper[k][1]:.0f}" for k in ("rl2", "rl3")]
        print(f"| {name} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)
        table[name] = {"env_kwargs": GRIDS[name], "scores": scores, "seconds": seconds}
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"trials": args.trials, "eval_seed": args.eval_seed, "grids": table}, indent=2))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

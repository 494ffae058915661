"""Reference scores of the RL^3 gridworlds: what standing still, acting at random, the object-level
RL of RL^3 alone and a policy that knows the grid score on the held-out tasks, and what each of
them, and any trained meta-learner given with ``--models``, does there.

They bracket the meta-learners of :mod:`rl2_agent.experiments.rl3_vs_rl2` (see
:mod:`rl2_agent.agents.baselines.gridworld`)::

    python -m rl2_agent.experiments.gridworld_reference                    # 11x11, 1000 tasks
    python -m rl2_agent.experiments.gridworld_reference --grids all --trials 200
    python -m rl2_agent.experiments.gridworld_reference --out docs/tables/gridworld_reference.json
    python -m rl2_agent.experiments.gridworld_reference --models RL^2=runs/rl3_vs_rl2/grid11/rl2 RL^3=runs/rl3_vs_rl2/grid11/rl3

It prints two tables: the mean trial return +- s.e. of every agent on every grid, and the
behaviour behind it (:func:`~rl2_agent.agents.baselines.gridworld.grid_behaviour`: the share of trials
that found the goal, goals per trial, the step of the first goal, dangers entered, the share of
"stay" actions). A model plays greedy (argmax) and sampled; it plays its own env id with its own
env kwargs except ``size`` and ``variant``, which are the grid's.

Every agent plays the same held-out tasks (seeds ``--eval-seed`` onwards, as ``rl2 evaluate``
and the RL^3-vs-RL^2 experiment); the value-greedy agent plays the RL^3 twin of the id
(without time inputs), whose tasks for a seed are the same.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any, cast

import gymnasium as gym

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.gridworld import VARIANTS, GridWorld
from meta_envs.trial import TrialEnv
from rl2_agent.agents.baselines.gridworld import (
    BEHAVIOUR_KEYS,
    ConstantAgent,
    KnownGridOptimal,
    ValueGreedyAgent,
    grid_behaviour,
)
from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.agents.scripted import UniformRandomAgent
from rl2_agent.arguments import non_negative_int, parse_names, positive_int
from rl2_agent.evaluation.agent import TrialAgent
from rl2_agent.evaluation.runner import TrialResults, run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, held_out_tasks
from rl2_agent.experiments.evaluate import load_run
from rl2_agent.experiments.paper import RL3_PAPER
from rl2_agent.training import run_folder

GRIDS = {"grid11": {"size": 11}, "grid13": {"size": 13}} | {f"grid13_{v}": {"size": 13, "variant": v} for v in VARIANTS[1:]}
"""Grid name (the experiment names of :mod:`rl2_agent.experiments.rl3_vs_rl2`) -> env kwargs."""
GRID_IDS = ("RL2GridWorld-v0", "RL3GridWorld-v0")
"""The env ids a model given with ``--models`` may have been trained on (it plays its own id)."""
DEFAULT_SIZE = inspect.signature(GridWorld).parameters["size"].default
"""The grid size of a gridworld id whose env kwargs give none."""


def reference_plays(
    env_kwargs: dict[str, Any], trials: int, seed: int = EVAL_SEED
) -> dict[str, tuple[str, dict[str, Any], TrialAgent]]:
    """agent name -> (env id, env kwargs, agent) of the reference policies on the grid ``env_kwargs``."""
    env = cast(TrialEnv, gym.make("RL2GridWorld-v0", **env_kwargs).unwrapped)
    steps, layout = env.steps_per_trial, env.obs_layout
    env.close()
    assert steps is not None  # the RL2GridWorld-v0 entry point always gives steps_per_trial
    rl3_kwargs = {**env_kwargs, "time_inputs": False}
    rl3_layout = cast(TrialEnv, gym.make("RL3GridWorld-v0", **rl3_kwargs).unwrapped).obs_layout
    tasks = held_out_tasks("RL2GridWorld-v0", env_kwargs, trials, seed)
    return {
        "stay": ("RL2GridWorld-v0", env_kwargs, ConstantAgent()),
        "random": ("RL2GridWorld-v0", env_kwargs, UniformRandomAgent(5, seed=seed)),
        "value_greedy": ("RL3GridWorld-v0", rl3_kwargs, ValueGreedyAgent(rl3_layout, seed=seed)),
        "known_grid_optimal": ("RL2GridWorld-v0", env_kwargs, KnownGridOptimal(tasks, steps, layout)),
    }


def model_plays(models: dict[str, str], env_kwargs: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any], TrialAgent]]:
    """``"<label> greedy"`` / ``"<label> sampled"`` -> (env id, env kwargs, agent) of each trained model
    (label -> run folder) on the grid ``env_kwargs``."""
    plays: dict[str, tuple[str, dict[str, Any], TrialAgent]] = {}
    for label, run_dir in models.items():
        model, config = load_run(run_dir)
        kwargs = {k: v for k, v in config["env_kwargs"].items() if k not in ("size", "variant")} | env_kwargs
        check_observation_space(model, config["env_id"], kwargs)
        for mode, deterministic in (("greedy", True), ("sampled", False)):
            plays[f"{label} {mode}"] = (config["env_id"], kwargs, SB3RecurrentAgent(model, deterministic))
    return plays


def play_all(
    plays: dict[str, tuple[str, dict[str, Any], TrialAgent]], trials: int, seed: int = EVAL_SEED
) -> dict[str, TrialResults]:
    """agent name -> its recorded held-out trials ``seed ..``."""
    return {
        name: run_trials(agent, env_id, kwargs, n_trials=trials, seed=seed, record=True)
        for name, (env_id, kwargs, agent) in plays.items()
    }


def _parse_models(items: list[str]) -> dict[str, str]:
    models = {}
    for item in items:
        label, sep, run_dir = item.partition("=")
        if not sep or not label or not run_dir:
            raise ValueError(f"--models takes LABEL=RUN_DIR items, got {item!r}")
        if not Path(run_dir).is_dir():
            raise ValueError(f"--models {item!r}: {run_dir} is not a run folder")
        if label in models:
            raise ValueError(f"--models {item!r}: the label {label!r} is given twice")
        models[label] = run_dir
    return models


def _check_models(models: dict[str, str], grids: list[str]) -> None:
    """Raise ``ValueError`` unless every run folder of ``models`` (label -> run folder) holds a model trained on a
    gridworld id (``GRID_IDS``) of the size of every grid of ``grids``: a model plays its own id and env kwargs with
    the grid's ``size`` and ``variant``, and its observations (one per cell) fit one size only."""
    for label, run_dir in models.items():
        item = "--models " + repr(f"{label}={run_dir}")  # as _parse_models names an item
        try:
            config = run_folder.read_config(run_dir)
        except (FileNotFoundError, json.JSONDecodeError) as err:
            raise ValueError(f"{item}: {err}") from None
        if not run_folder.existing_run(run_dir):
            names = " or ".join(run_folder.MODELS["final"])
            raise ValueError(f"{item}: no {names} in {run_dir}: the run has no model yet")
        env_id, env_kwargs = config.get("env_id"), config.get("env_kwargs") or {}
        if env_id not in GRID_IDS:
            raise ValueError(f"{item}: trained on {env_id} {env_kwargs}, not on a gridworld; allowed ids: {list(GRID_IDS)}")
        size = env_kwargs.get("size", DEFAULT_SIZE)
        other = [name for name in grids if GRIDS[name]["size"] != size]
        if other:
            fitting = [name for name in GRIDS if GRIDS[name]["size"] == size]
            raise ValueError(
                f"{item}: trained on {env_id} size {size!r}, cannot play the grids {other} of another size; "
                f"--grids it can play: {fitting}"
            )


def _cell(key: str, value: float) -> str:
    return (
        f"{value:.0%}" if key in ("goal_trials", "stay_share") else f"{value:.2f}" if key.endswith("trial") else f"{value:.0f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rl2_agent.experiments.gridworld_reference", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--grids", default="grid11", help=f"comma-separated names or 'all' (known: {list(GRIDS)})")
    parser.add_argument("--trials", type=positive_int, default=1000, help="held-out tasks per grid")
    parser.add_argument("--eval-seed", type=non_negative_int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument(
        "--models",
        nargs="*",
        default=[],
        metavar="LABEL=RUN_DIR",
        help="trained models to play next to the reference policies (greedy and sampled)",
    )
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    names = parse_names(parser, "--grids", args.grids, GRIDS, "grids", everything="all")
    try:  # before any agent plays: a wrong model would otherwise fail after all the reference policies
        models = _parse_models(args.models)
        _check_models(models, names)
    except ValueError as err:
        parser.error(str(err))

    table: dict[str, Any] = {}
    for name in names:
        start = time.perf_counter()
        plays = reference_plays(GRIDS[name], args.trials, args.eval_seed) | model_plays(models, GRIDS[name])
        results = play_all(plays, args.trials, args.eval_seed)
        seconds = time.perf_counter() - start
        table[name] = {
            "env_kwargs": GRIDS[name],
            "scores": {agent: (res.mean, res.se) for agent, res in results.items()},
            "behaviour": {agent: grid_behaviour(res) for agent, res in results.items()},
            "seconds": seconds,
        }
        print(f"{name}: {len(plays)} agents x {args.trials} trials in {seconds:.0f} s", file=sys.stderr, flush=True)
    agents = list(next(iter(table.values()))["scores"])

    print(f"mean trial return +- s.e. on {args.trials} held-out tasks (seeds {args.eval_seed}..)\n")
    print("| grid | " + " | ".join(agents) + " | paper RL^2 | paper RL^3 | seconds |")
    print("|---" * (len(agents) + 4) + "|")
    for name in table:
        scores, paper = table[name]["scores"], RL3_PAPER[name]
        cells = [f"{scores[a][0]:.1f} ± {scores[a][1]:.1f}" for a in agents]
        cells += [f"{paper[k][0]:.0f} ± {paper[k][1]:.0f}" for k in ("rl2", "rl3")]
        print(f"| {name} | " + " | ".join(cells) + f" | {table[name]['seconds']:.0f} |")
    print("\nbehaviour (rl2_agent.agents.baselines.gridworld.grid_behaviour)\n")
    print("| grid | agent | " + " | ".join(BEHAVIOUR_KEYS) + " |")
    print("|---" * (len(BEHAVIOUR_KEYS) + 2) + "|")
    for name in table:
        for agent, figures in table[name]["behaviour"].items():
            print(f"| {name} | {agent} | " + " | ".join(_cell(k, figures[k]) for k in BEHAVIOUR_KEYS) + " |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        record = {"trials": args.trials, "eval_seed": args.eval_seed, "models": models, "grids": table}
        Path(args.out).write_text(json.dumps(record, indent=2))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

"""``python -m rl2_agent tune``: grid-search the baselines' parameter per cell, as the paper did.

For every cell and every agent with a tunable parameter (``Agent.tunable``: UCB1 ``c`` in
0..1, epsilon in 0..1, the OTS / OPSRL sample count, the UCRL2 / BEB scale log-spaced in
1e-4..1), every grid value is run on the same tuning trials (seeds ``--seed`` onwards, by default
the validation tasks of :data:`~rl2_agent.evaluation.seeds.VALIDATION_SEED`, disjoint from the
held-out test tasks) and the best mean wins. The command prints the scores and the updated
:data:`~rl2_agent.agents.baselines.tuned.TUNED` dict to paste into
``rl2_agent/agents/baselines/tuned.py`` (the one place the defaults come from)::

    python -m rl2_agent tune --family bandit --trials 1000
    python -m rl2_agent tune --family mdp --cells "10 25" --agents ucrl2,beb --json tune_mdp.json
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import pprint
import sys
from pathlib import Path
from typing import Any

import numpy as np

from rl2_agent.agents.baselines import AGENTS, ENV_IDS, Cell, TrialSpec, agent_class, make_agent, parse_agents, parse_cells
from rl2_agent.agents.baselines.tuned import TUNED
from rl2_agent.arguments import run_command
from rl2_agent.evaluation.runner import run_trials
from rl2_agent.evaluation.seeds import VALIDATION_SEED, check_held_out_args

logger = logging.getLogger(__name__)


def tunable_agents(family: str) -> list[str]:
    """Names of the agents of ``family`` that have a tunable parameter."""
    return [name for name, cls in AGENTS[family].items() if cls.tunable]


def tune_cell(family: str, name: str, cell: Cell, n_trials: int, seed: int) -> dict[Any, tuple[float, float]]:
    """Mean and standard error of the trial return for every grid value (same trials for all)."""
    cls = agent_class(family, name)
    if cls.tunable is None:
        raise ValueError(f"{family} agent {name!r} has no tunable parameter; tunable: {tunable_agents(family)}")
    param, grid = cls.tunable
    env_id, env_kwargs = ENV_IDS[family], cell.env_kwargs()
    spec = TrialSpec.from_env(env_id, env_kwargs)
    scores: dict[Any, tuple[float, float]] = {}
    for value in grid:
        agent = make_agent(family, name, spec, seed=seed, **{param: value})
        returns = run_trials(agent, env_id, env_kwargs, n_trials, seed).trial_returns
        scores[value] = (float(returns.mean()), float(returns.std(ddof=1) / np.sqrt(len(returns))))
        logger.debug("%s %s %s=%s: %.3f", cell.key, name, param, value, scores[value][0])
    return scores


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=list(AGENTS), required=True, help="bandit (RL^2 Table 1) or mdp (Table 2)")
    parser.add_argument("--cells", default=None, help='cells, e.g. "10,5 100,5" (bandit) or "10 25" (mdp); default: all')
    parser.add_argument("--agents", default=None, help="comma-separated agents with a tunable parameter; default: all of them")
    parser.add_argument("--trials", type=int, default=1000, help="tuning trials per grid value (default 1000)")
    parser.add_argument(
        "--seed",
        type=int,
        default=VALIDATION_SEED,
        help=f"first tuning seed (default {VALIDATION_SEED}, the validation tasks)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write every score to this JSON file")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from rl2_agent.experiments.paper import PAPER

    family = args.family
    try:
        cells = parse_cells(family, args.cells, list(PAPER[family]))
        names = parse_agents(family, args.agents) if args.agents else tunable_agents(family)
        for name in names:
            if agent_class(family, name).tunable is None:
                raise ValueError(f"{family} agent {name!r} has no tunable parameter; tunable: {tunable_agents(family)}")
        check_held_out_args(args.trials, args.seed)
    except ValueError as err:
        logger.error("%s", err)
        return 2
    console = Console(stderr=True)
    results: dict[str, dict[str, dict[Any, tuple[float, float]]]] = {name: {} for name in names}
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("tuning", total=len(names) * len(cells))
        for name in names:
            for cell in cells:
                progress.update(task, description=f"tuning {name} on {cell.key}")
                results[name][cell.key] = tune_cell(family, name, cell, args.trials, args.seed)
                progress.advance(task)
    tuned = copy.deepcopy(TUNED)
    for name in names:
        param, grid = agent_class(family, name).tunable  # type: ignore[misc]
        keys = list(results[name])
        best = {key: max(scores, key=lambda v: scores[v][0]) for key, scores in results[name].items()}
        for key in keys:
            tuned.setdefault(family, {}).setdefault(name, {})[key] = {param: best[key]}
        print(f"\n{family} {name}: mean return on {args.trials} tuning trials per {param} (* best)")
        print(f"| {param} | " + " | ".join(keys) + " |")
        print("|" + "---|" * (len(keys) + 1))
        for value in grid:
            cells_text = [f"{results[name][k][value][0]:.2f}{'*' if best[k] == value else ''}" for k in keys]
            print(f"| {value} | " + " | ".join(cells_text) + " |")
    print("\nPaste into rl2_agent/agents/baselines/tuned.py:\nTUNED = " + pprint.pformat(tuned, sort_dicts=False, width=120))
    if args.json:
        out = {
            name: {key: {str(v): {"mean": m, "se": s} for v, (m, s) in sc.items()} for key, sc in per.items()}
            for name, per in results.items()
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"family": family, "trials": args.trials, "seed": args.seed, "scores": out}, indent=1))
        logger.info("wrote %s", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.tune", add_arguments, run, description=__doc__.splitlines()[0]))

"""``rl2 evaluate``: score a trained run on held-out trials.

::

    python -m rl2_agent evaluate runs/x --trials 1000 [--deterministic] [--seed 1000000] [--model best]

prints the mean trial return +- standard error and the mean return per episode index within
the trial (the signature of fast adaptation), and writes ``eval.json`` and ``eval.png`` in the
run folder (``best_eval.json`` and ``best_eval.png`` for ``--model best``). The trials are the
held-out test tasks of :data:`~rl2_agent.evaluation.seeds.EVAL_SEED`, which no training or model
selection sees.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.arguments import parse_kwargs, run_command
from rl2_agent.evaluation.runner import TrialResults, format_results, run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, check_held_out_args
from rl2_agent.training import run_folder

logger = logging.getLogger(__name__)

__all__ = ["evaluate_run", "load_run"]


def load_run(run_dir: str | Path, which: str = "final") -> tuple[Any, dict[str, Any]]:
    """A model of a training run folder (``which``: ``"final"`` or ``"best"``, see
    :func:`rl2_agent.training.run_folder.load_model`) and the run's config."""
    config = run_folder.read_config(run_dir)
    return run_folder.load_model(run_dir, which=which), config


def evaluate_run(
    run_dir: str | Path,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    deterministic: bool = False,
    record: bool = False,
    which: str = "final",
) -> TrialResults:
    """Evaluate a saved run on held-out trials (by default on the env it was trained on).

    ``env_kwargs`` override the run's own (e.g. ``{"arm_prior": "normal"}`` for the OOD test keeps
    the trained ``num_arms`` and ``episodes_per_trial``). ``which`` picks the model: ``"final"`` or
    ``"best"`` (see :func:`load_run`).
    """
    model, config = load_run(run_dir, which)
    env_id = env_id or config["env_id"]
    env_kwargs = {**config["env_kwargs"], **(env_kwargs or {})}
    check_observation_space(model, env_id, env_kwargs)
    return run_trials(SB3RecurrentAgent(model, deterministic), env_id, env_kwargs, n_trials, seed, record=record)


# ----------------------------------------------------------------------------- rl2 evaluate
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="training output folder (holds model.zip and config.json)")
    parser.add_argument("--trials", type=int, default=1000, help="number of held-out trials")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument("--deterministic", action="store_true", help="greedy actions (default: sample, as RL^2)")
    parser.add_argument(
        "--model", choices=list(run_folder.MODELS), default="final",
        help="final: model.zip; best: best_model.zip, the best validation score during training",
    )  # fmt: skip
    parser.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE",
                        help="override the run's env kwargs, e.g. arm_prior=normal (the others stay as trained)")  # fmt: skip
    parser.add_argument("--out", default=None, help="where to write eval.json / eval.png (default: the run folder)")


def run(args: argparse.Namespace) -> int:
    from rl2_agent.reporting.figures import plot_episode_returns

    check_held_out_args(args.trials, args.seed)
    env_kwargs = None if args.env_kwargs is None else parse_kwargs(args.env_kwargs)
    results = evaluate_run(args.run_dir, None, env_kwargs, args.trials, args.seed, args.deterministic, which=args.model)
    print(format_results(results, "RL^2" if args.model == "final" else "RL^2 (best model)"))
    out = Path(args.out or args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    # load_model falls back to the latest checkpoint when training has not finished: say so in the record
    scored = run_folder.scored_model(args.run_dir, args.model)
    summary = results.summary() | {"deterministic": args.deterministic, "run_dir": str(args.run_dir), "model": scored}
    json_path, png_path = run_folder.evaluation_files(out, args.model)
    json_path.write_text(json.dumps(summary, indent=2))
    plot_episode_returns({"RL^2": results}, png_path)
    logger.info("wrote %s and %s", json_path, png_path)
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.evaluate", add_arguments, run, description=__doc__.splitlines()[0]))

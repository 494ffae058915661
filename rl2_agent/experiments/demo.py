"""``make demo`` / ``python -m rl2_agent demo``: the main job, end to end.

1. trains RL^2 (stock RecurrentPPO + RL2GRUPolicy, project defaults) on ``RL2Bandit-v0`` with
   5 arms and 10 pulls per trial, for at most ``--minutes`` of wall-clock (progress bar, evaluations
   on validation tasks along the way);
2. evaluates it on 1000 held-out trials (stochastic policy, state reset only at trial starts)
   and runs random, greedy, UCB1, Thompson sampling and the Gittins index on the SAME trials;
3. prints the results table next to the RL^2 paper's figures, and writes plots: the learning
   curve, the mean return per pull within the trial, a bar chart and the cumulative regret.

Everything lands in ``--out`` (default ``runs/demo``): the trained run folder (model, config,
checkpoints, eval log) plus ``demo.json``, ``demo.md`` and the PNGs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from meta_envs.validation import check_positive_float
from rl2_agent.arguments import run_command
from rl2_agent.evaluation.seeds import EVAL_SEED, check_held_out_args

logger = logging.getLogger(__name__)

ENV_ID = "RL2Bandit-v0"
ENV_KWARGS = {"num_arms": 5, "episodes_per_trial": 10}
BASELINES = ("random", "greedy", "ucb1", "thompson", "gittins")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--minutes", type=float, default=4.5, help="wall-clock budget of the training (default 4.5)")
    parser.add_argument(
        "--timesteps", type=float, default=3e6, help="step cap of the training (about what 4.5 min give on 2 cores)"
    )
    parser.add_argument("--trials", type=int, default=1000, help="held-out trials of the final comparison")
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    parser.add_argument("--out", default="runs/demo", help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rl2_agent.agents.baselines import Cell
    from rl2_agent.experiments.table import Entry, compute_table, markdown_table
    from rl2_agent.reporting.curves import draw_learning_curves
    from rl2_agent.training.config import TrainConfig
    from rl2_agent.training.loop import train

    check_held_out_args(args.trials)  # before 5 minutes of training
    check_positive_float("--minutes", args.minutes)
    out = Path(args.out)
    run_dir = out / "rl2"
    start = time.perf_counter()
    config = TrainConfig(
        env_id=ENV_ID,
        env_kwargs=dict(ENV_KWARGS),
        total_timesteps=int(args.timesteps),
        seed=args.seed,
        out=str(run_dir),
        eval_every=200_000,
        eval_trials=500,
        max_seconds=60.0 * args.minutes,
    )
    print(f"[1/3] training RL^2 on {ENV_ID} {ENV_KWARGS} for at most {args.minutes:g} min (runs in {run_dir}) ...")
    train(config, progress=not args.no_progress, overwrite=True)  # the demo's own folder: each demo trains afresh
    train_seconds = time.perf_counter() - start

    print(f"[2/3] evaluating RL^2 and {', '.join(BASELINES)} on the same {args.trials} held-out trials ...")
    cell = Cell("bandit", ENV_KWARGS["episodes_per_trial"], ENV_KWARGS["num_arms"])
    entries = [Entry(name) for name in BASELINES] + [Entry("rl2", run_dir)]
    table = compute_table("bandit", [cell], entries, args.trials, EVAL_SEED, plot_dir=out)

    print("[3/3] results\n")
    print(
        f"Mean return of a {ENV_KWARGS['episodes_per_trial']}-pull trial on {ENV_KWARGS['num_arms']}-armed Bernoulli bandits "
        f"(± s.e., {args.trials} held-out trials, seeds {EVAL_SEED}..; the RL^2 paper's figure in brackets; bold: not "
        "significantly below the best):\n"
    )
    text = markdown_table("bandit", table.stats, [e.label for e in entries])
    print(text)
    (out / "demo.md").write_text(text + "\n")
    (out / "demo.json").write_text(json.dumps({"stats": table.stats, "train_seconds": train_seconds}, indent=1))
    _, curve = draw_learning_curves(
        [run_dir],
        out / "learning_curve.png",
        labels=["RL^2"],
        target=6.6,
        title=f"RL^2 on {ENV_ID}, k={ENV_KWARGS['num_arms']} n={ENV_KWARGS['episodes_per_trial']} (Gittins level: 6.6)",
    )
    print(f"\ntraining: {train_seconds / 60:.1f} min;  plots: {curve}, {', '.join(str(p) for p in table.plots)}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.demo", add_arguments, run, description=__doc__.splitlines()[0]))

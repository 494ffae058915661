"""Wall-clock until the mean trial return on held-out (validation) tasks reaches the Gittins level.

Usage::

    python benchmarks/time_to_quality.py --cells 10 --which ours,stock        # (k=5, n=10): 5-minute budget
    python benchmarks/time_to_quality.py --cells 100 --which ours             # (k=5, n=100): 60-minute budget
    python benchmarks/time_to_quality.py --cells 10 --budget-scale 0.2        # a quick look
    python benchmarks/time_to_quality.py --cells 100 --which ours --lr-anneal 0.3   # learning rate -> 0 over the last 30%
    python benchmarks/time_to_quality.py --workers 2                          # (k=5, n=100): 1 worker, then 2, 30 minutes each

For each cell and configuration it trains with :func:`rl2_agent.training.loop.train` under the
cell's wall-clock budget (``--minutes`` sets another one), evaluating the stochastic policy on the validation tasks
along the way (evaluation time is excluded from the clock), and prints the first time the mean reached the target, or
the best mean reached. Configurations:

``ours``
    RecurrentPPO + RL2GRUPolicy with the project defaults (rl2_agent/hyperparams.py);
``stock``
    RecurrentPPO + MlpLstmPolicy with RL Zoo-style defaults: the Zoo has no entry for these
    envs, so its ``default`` (RecurrentPPO's own defaults: n_steps 128, batch 128, 10 epochs,
    lr 3e-4, gae_lambda 0.95, ent_coef 0, LSTM 256 units, separate critic LSTM) with 8 envs.

Both use the same batched env. Curves go to ``--out`` (CSV logs and a PNG per cell).

``--workers N`` compares data-parallel training with one worker: each configuration (default ``ours``) of each cell
(default n = 100) trains with 1 worker, then with N (``rl2 train --workers N``: the same global rollout and
minibatches), each for the same wall-clock budget (default 30 minutes), one after the other; both final models
(``model.zip``) are then scored on the 1000 held-out test trials (``rl2 evaluate``'s tasks), with their paired
difference, trial by trial on the same tasks.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from rl2_agent.arguments import non_negative_int, parse_names, positive_float, positive_int
from rl2_agent.reporting.curves import summarize
from rl2_agent.reporting.figures import plot_learning_curves
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import train
from rl2_agent.training.run_folder import read_eval_log

# n -> (target = the paper's Gittins figure, budget in seconds, steps between held-out evaluations)
CELLS = {10: (6.6, 300.0, 50_000), 100: (78.3, 3600.0, 250_000)}
STOCK = {
    "policy": "MlpLstmPolicy",
    "n_envs": 8,
    "n_steps": 128,
    "batch_size": 128,
    "n_epochs": 10,
    "learning_rate": 3e-4,
    "gae_lambda": 0.95,
    "ent_coef": 0.0,
    "policy_kwargs": {"lstm_hidden_size": 256},
}
CONFIGS = {"ours": {}, "stock": STOCK}
"""Configuration name (``--which``) -> hyperparameter overrides of ``rl2_agent.hyperparams``'s defaults."""

#: The budget of each run of the ``--workers`` comparison, in minutes, and the held-out test trials of its models.
WORKERS_MINUTES = 30.0
HELD_OUT_TRIALS = 1000


def train_config(
    n: int,
    which: str,
    budget_scale: float,
    seed: int,
    out: str,
    lr_anneal: float = 0.0,
    workers: int | None = None,
    minutes: float | None = None,
) -> TrainConfig:
    """The training run of cell ``n`` (k=5 arms) and configuration ``which`` (a key of ``CONFIGS``); ``lr_anneal``
    as in :class:`~rl2_agent.training.config.TrainConfig`. ``workers``: the run's worker count, and its folder's
    suffix (``None``: one worker, no suffix); ``minutes``: the budget instead of the cell's (both times
    ``budget_scale``)."""
    _, budget, eval_every = CELLS[n]
    if minutes is not None:
        budget = 60.0 * minutes
    budget *= budget_scale
    suffix = "" if workers is None else f"_w{workers}"
    return TrainConfig(
        env_id="RL2Bandit-v0",
        env_kwargs={"num_arms": 5, "episodes_per_trial": n},
        total_timesteps=int(budget * 100_000),  # a cap never reached: the wall-clock budget stops the run
        seed=seed,
        out=str(Path(out) / f"k5_n{n}_{which}{suffix}"),
        hyperparams=dict(CONFIGS[which]),
        eval_every=eval_every,
        eval_trials=500,
        max_seconds=budget,
        lr_anneal=lr_anneal,
        workers=1 if workers is None else workers,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, checked before any training: ``args.cells`` (ints) and ``args.which`` (names) become lists and
    ``args.runs`` the ``(n, which, TrainConfig)`` of each run, in order (with ``--workers``: 1 worker, then N)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cells",
        default=None,
        help=f"trial lengths n (k=5 arms), space or comma separated: {list(CELLS)} (default 10; 100 with --workers)",
    )
    parser.add_argument(
        "--which",
        default=None,
        help=f"configurations, space or comma separated: {list(CONFIGS)} (default ours,stock; ours with --workers)",
    )
    parser.add_argument("--budget-scale", type=positive_float, default=1.0, help="multiply the wall-clock budgets")
    parser.add_argument(
        "--minutes",
        type=positive_float,
        default=None,
        help=f"wall-clock budget of each run (default: the cell's; {WORKERS_MINUTES:g} with --workers)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="compare this many data-parallel workers with 1, for the same budget (e.g. 2)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument(
        "--lr-anneal",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="decay every run's learning rate linearly to 0 over this final fraction of its budget (0: constant)",
    )
    parser.add_argument("--out", default="runs/time_to_quality")
    args = parser.parse_args(argv)
    comparing = args.workers is not None
    if comparing and args.workers < 2:
        parser.error(f"--workers: the number of workers compared with 1 must be >= 2, got {args.workers}")
    cells_text = args.cells if args.cells is not None else ("100" if comparing else "10")
    which_text = args.which if args.which is not None else ("ours" if comparing else "ours,stock")
    cells = parse_names(parser, "--cells", cells_text, CELLS, "cells", label="allowed")
    which = parse_names(parser, "--which", which_text, CONFIGS, "configurations", label="allowed")
    args.cells, args.which = list(dict.fromkeys(int(c) for c in cells)), which
    minutes = args.minutes if args.minutes is not None or not comparing else WORKERS_MINUTES
    worker_counts: list[int | None] = [1, args.workers] if comparing else [None]
    try:  # the runs' settings are checked now (e.g. a budget too small for one step), not after the first runs
        args.runs = [
            (n, w, train_config(n, w, args.budget_scale, args.seed, args.out, args.lr_anneal, workers, minutes))
            for n in args.cells
            for w in which
            for workers in worker_counts
        ]
    except ValueError as err:
        parser.error(str(err))
    return args


def held_out(config: TrainConfig) -> np.ndarray:
    """The trial returns of the final model of ``config``'s run on the held-out test trials (``rl2 evaluate``'s)."""
    from rl2_agent.experiments.evaluate import evaluate_run

    return evaluate_run(config.out, n_trials=HELD_OUT_TRIALS).trial_returns


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    comparing = args.workers is not None
    results = []
    for n, which, config in args.runs:
        target, budget = CELLS[n][0], config.max_seconds
        out = Path(config.out)
        train(config, progress=False, overwrite=True)
        log = read_eval_log(out)
        row = summarize({which: log}, target)[0]
        reached = (
            "not reached"
            if row["target_steps"] is None
            else f"{row['target_minutes'] * 60:.0f} s ({row['target_steps']:.0f} steps)"
        )
        returns = held_out(config) if comparing else None
        results.append(
            (
                n,
                which,
                config.workers,
                target,
                budget,
                reached,
                row["best_mean"],
                row["best_se"],
                row["best_minutes"] * 60,
                row["steps"],
                row["steps"] / max(row["minutes"] * 60, 1e-9),
                returns,
            )
        )
        label = f"{which}, {config.workers} worker{'s' if config.workers > 1 else ''}" if comparing else which
        plot_learning_curves(
            {label: log}, out / "curve.png", x="minutes", target=target, title=f"RL2Bandit k=5 n={n}: {label}"
        )
    workers_head = " workers |" if comparing else ""
    held_head = f" final model, {HELD_OUT_TRIALS} held-out trials |" if comparing else ""
    print(
        f"| cell (k=5) | config |{workers_head} target | budget | time to target | best held-out mean (+- s.e.) at | steps trained | steps/s |{held_head}"
    )
    print("|---" * (8 + 2 * comparing) + "|")
    for n, which, workers, target, budget, reached, best, se, at, steps, sps, returns in results:
        workers_cell = f" {workers} |" if comparing else ""
        held_cell = f" {returns.mean():.2f} +- {returns.std(ddof=1) / np.sqrt(len(returns)):.2f} |" if comparing else ""
        print(
            f"| n={n} | {which} |{workers_cell} {target} | {budget:.0f} s | {reached} | {best:.2f} +- {se:.2f} at {at:.0f} s | "
            f"{steps:,.0f} | {sps:,.0f} |{held_cell}"
        )
    if comparing:  # N workers - 1 worker, trial by trial on the same held-out tasks
        for (n, which, workers, *_, sps_n, returns_n), (_, _, _, *_, sps_1, returns_1) in zip(results[1::2], results[::2]):
            diff = returns_n - returns_1
            print(
                f"n={n}, {which}: {workers} workers - 1 worker on the same {len(diff)} held-out trials: {diff.mean():+.2f} +- "
                f"{diff.std(ddof=1) / np.sqrt(len(diff)):.2f} (paired); steps/s {sps_n / sps_1:.2f}x"
            )


if __name__ == "__main__":
    main()

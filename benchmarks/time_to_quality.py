"""Wall-clock until the mean trial return on held-out (validation) tasks reaches the Gittins level.

Usage::

    python benchmarks/time_to_quality.py --cells 10 --which ours,stock        # (k=5, n=10): 5-minute budget
    python benchmarks/time_to_quality.py --cells 100 --which ours             # (k=5, n=100): 60-minute budget
    python benchmarks/time_to_quality.py --cells 10 --budget-scale 0.2        # a quick look
    python benchmarks/time_to_quality.py --cells 100 --which ours --lr-anneal 0.3   # learning rate -> 0 over the last 30%

For each cell and configuration it trains with :func:`rl2_agent.training.loop.train` under the
cell's wall-clock budget, evaluating the stochastic policy on the validation tasks along the way (evaluation time is
excluded from the clock), and prints the first time the mean reached the target, or the best
mean reached. Configurations:

``ours``
    RecurrentPPO + RL2GRUPolicy with the project defaults (rl2_agent/hyperparams.py);
``stock``
    RecurrentPPO + MlpLstmPolicy with RL Zoo-style defaults: the Zoo has no entry for these
    envs, so its ``default`` (RecurrentPPO's own defaults: n_steps 128, batch 128, 10 epochs,
    lr 3e-4, gae_lambda 0.95, ent_coef 0, LSTM 256 units, separate critic LSTM) with 8 envs.

Both use the same batched env. Curves go to ``--out`` (CSV logs and a PNG per cell).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rl2_agent.arguments import non_negative_int, parse_names, positive_float
from rl2_agent.reporting.curves import summarize
from rl2_agent.reporting.figures import plot_learning_curves
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import train
from rl2_agent.training.run_folder import read_eval_log

# n -> (target = the paper's Gittins figure, budget in seconds, steps between held-out evaluations)
CELLS = {10: (6.6, 300.0, 50_000), 100: (78.3, 3600.0, 250_000)}
STOCK = {"policy": "MlpLstmPolicy", "n_envs": 8, "n_steps": 128, "batch_size": 128, "n_epochs": 10, "learning_rate": 3e-4,
         "gae_lambda": 0.95, "ent_coef": 0.0, "policy_kwargs": {"lstm_hidden_size": 256}}
CONFIGS = {"ours": {}, "stock": STOCK}
"""Configuration name (``--which``) -> hyperparameter overrides of ``rl2_agent.hyperparams``'s defaults."""


def train_config(n: int, which: str, budget_scale: float, seed: int, out: str, lr_anneal: float = 0.0) -> TrainConfig:
    """The training run of cell ``n`` (k=5 arms) and configuration ``which`` (a key of ``CONFIGS``); ``lr_anneal``
    as in :class:`~rl2_agent.training.config.TrainConfig`."""
    _, budget, eval_every = CELLS[n]
    budget *= budget_scale
    return TrainConfig(
        env_id="RL2Bandit-v0",
        env_kwargs={"num_arms": 5, "episodes_per_trial": n},
        total_timesteps=int(budget * 100_000),  # a cap never reached: the wall-clock budget stops the run
        seed=seed,
        out=str(Path(out) / f"k5_n{n}_{which}"),
        hyperparams=dict(CONFIGS[which]),
        eval_every=eval_every,
        eval_trials=500,
        max_seconds=budget,
        lr_anneal=lr_anneal,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, checked before any training: ``args.cells`` (ints) and ``args.which`` (names) become lists and
    ``args.runs`` the ``(n, which, TrainConfig)`` of each run, in order."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="10", help=f"trial lengths n (k=5 arms), space or comma separated: {list(CELLS)}")
    parser.add_argument("--which", default="ours,stock", help=f"configurations, space or comma separated: {list(CONFIGS)}")
    parser.add_argument("--budget-scale", type=positive_float, default=1.0, help="multiply the wall-clock budgets")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--lr-anneal", type=float, default=0.0, metavar="FRACTION",
                        help="decay every run's learning rate linearly to 0 over this final fraction of its budget (0: constant)")
    parser.add_argument("--out", default="runs/time_to_quality")
    args = parser.parse_args(argv)
    cells = parse_names(parser, "--cells", args.cells, CELLS, "cells", label="allowed")
    which = parse_names(parser, "--which", args.which, CONFIGS, "configurations", label="allowed")
    args.cells, args.which = list(dict.fromkeys(int(c) for c in cells)), which
    try:  # the runs' settings are checked now (e.g. a budget too small for one step), not after the first runs
        args.runs = [(n, w, train_config(n, w, args.budget_scale, args.seed, args.out, args.lr_anneal)) for n in args.cells for w in which]
    except ValueError as err:
        parser.error(str(err))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = []
    for n, which, config in args.runs:
        target, budget = CELLS[n][0], config.max_seconds
        out = Path(config.out)
        train(config, progress=False, overwrite=True)
        log = read_eval_log(out)
        row = summarize({which: log}, target)[0]
        reached = "not reached" if row["target_steps"] is None else f"{row['target_minutes'] * 60:.0f} s ({row['target_steps']:.0f} steps)"
        results.append((n, which, target, budget, reached, row["best_mean"], row["best_se"], row["best_minutes"] * 60,
                        row["steps"], row["steps"] / max(row["minutes"] * 60, 1e-9)))
        plot_learning_curves({which: log}, out / "curve.png", x="minutes", target=target, title=f"RL2Bandit k=5 n={n}: {which}")
    print("| cell (k=5) | config | target | budget | time to target | best held-out mean (+- s.e.) at | steps trained | steps/s |")
    print("|---|---|---|---|---|---|---|---|")
    for n, which, target, budget, reached, best, se, at, steps, sps in results:
        print(f"| n={n} | {which} | {target} | {budget:.0f} s | {reached} | {best:.2f} +- {se:.2f} at {at:.0f} s | {steps:,.0f} | {sps:,.0f} |")


if __name__ == "__main__":
    main()

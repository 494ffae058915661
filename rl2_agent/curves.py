"""Learning curves of training runs: read ``eval_log.csv``, compare runs in one table and one plot.

Every ``rl2 train`` run appends one row per evaluation on the validation tasks to
``<run>/eval_log.csv`` (``timesteps, seconds, mean, se``; ``seconds`` is training wall-clock,
evaluation time excluded, cumulative across ``--resume``). This module turns one or more of those
logs into what a hyperparameter comparison needs: final and best validation scores, the time and
steps to a target score, and a plot against steps or minutes.

CLI::

    python -m rl2_agent curves runs/a runs/b [--labels A B] [--x steps|minutes] [--target 78.3] [--out curves.png]

prints a markdown table (one row per run) and writes the plot (default ``curves.png`` in the
current folder). Scores are on the validation tasks, which also chose ``best_model.zip``: report
test-task figures with ``rl2 evaluate`` / ``rl2 table``.
"""

from __future__ import annotations

import argparse
import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

logger = logging.getLogger(__name__)

#: Name of the evaluation log in a run folder (written by :class:`rl2_agent.train.HeldOutEvalCallback`).
EVAL_LOG = "eval_log.csv"
EVAL_LOG_COLUMNS = ("timesteps", "seconds", "mean", "se")


@dataclass(frozen=True, eq=False)
class EvalLog:
    """One run's evaluations during training; every array has shape (n_evaluations,)."""

    timesteps: np.ndarray
    seconds: np.ndarray
    mean: np.ndarray
    se: np.ndarray

    def __post_init__(self) -> None:
        if len(self.timesteps) == 0:
            raise ValueError("an evaluation log needs at least one evaluation")

    @property
    def best(self) -> int:
        """Index of the best mean (the first one on ties, as ``best_model.zip`` keeps)."""
        return int(np.argmax(self.mean))

    def first_reaching(self, target: float) -> int | None:
        """Index of the first evaluation with ``mean >= target``; None if none."""
        hits = np.flatnonzero(self.mean >= target)
        return int(hits[0]) if hits.size else None


def read_eval_log(path: str | Path) -> EvalLog:
    """Read ``eval_log.csv`` from a run folder, or from a CSV file given directly.

    :raises FileNotFoundError: when there is no log (the run never evaluated).
    :raises ValueError: when the file lacks a column or has no rows.
    """
    path = Path(path)
    if path.is_dir():
        path = path / EVAL_LOG
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation log {path}: the run has not evaluated yet (see --eval-every of rl2 train)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in EVAL_LOG_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; an evaluation log has columns {list(EVAL_LOG_COLUMNS)}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: no evaluations in the log")
    cols = {c: np.array([float(r[c]) for r in rows]) for c in EVAL_LOG_COLUMNS}
    return EvalLog(**cols)


def summarize(logs: Mapping[str, EvalLog], target: float | None = None) -> list[dict[str, float | str | None]]:
    """One row per run: steps and minutes trained, final and best mean (+- s.e.), time to ``target``."""
    rows = []
    for label, log in logs.items():
        b = log.best
        row: dict[str, float | str | None] = {
            "run": label,
            "evaluations": len(log.mean),
            "steps": float(log.timesteps[-1]),
            "minutes": float(log.seconds[-1]) / 60.0,
            "final_mean": float(log.mean[-1]),
            "final_se": float(log.se[-1]),
            "best_mean": float(log.mean[b]),
            "best_se": float(log.se[b]),
            "best_steps": float(log.timesteps[b]),
            "best_minutes": float(log.seconds[b]) / 60.0,
        }
        if target is not None:
            hit = log.first_reaching(target)
            row["target_steps"] = None if hit is None else float(log.timesteps[hit])
            row["target_minutes"] = None if hit is None else float(log.seconds[hit]) / 60.0
        rows.append(row)
    return rows


def markdown_summary(rows: Sequence[Mapping[str, float | str | None]], target: float | None = None) -> str:
    """The rows of :func:`summarize` as a markdown table."""
    head = ["run", "steps", "minutes", "final (validation)", "best (validation) at"]
    if target is not None:
        head.append(f"first >= {target:g} at")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            str(r["run"]),
            f"{r['steps'] / 1e6:.2f}M",
            f"{r['minutes']:.1f}",
            f"{r['final_mean']:.2f} ± {r['final_se']:.2f}",
            f"{r['best_mean']:.2f} ± {r['best_se']:.2f} ({r['best_steps'] / 1e6:.2f}M steps, {r['best_minutes']:.1f} min)",
        ]
        if target is not None:
            reached = r["target_steps"] is not None
            cells.append(f"{r['target_steps'] / 1e6:.2f}M steps, {r['target_minutes']:.1f} min" if reached else "not reached")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _log_file(run: str | Path) -> Path:
    """The evaluation log that ``run`` (a run folder or the CSV file itself) names, resolved."""
    path = Path(run)
    return (path / EVAL_LOG if path.is_dir() else path).resolve()


def _labels(runs: Sequence[str], labels: Sequence[str] | None) -> list[str]:
    """One distinct label per run: ``labels``, else the folder names (the paths where names collide).

    :raises ValueError: for a label given twice or the wrong number of labels (``--labels``), or,
        without labels, for the same run given twice.
    """
    if labels is None:
        seen: dict[Path, str] = {}
        for r in runs:
            log = _log_file(r)
            if log in seen:
                twice = f"run {r} is given twice" if seen[log] == str(r) else f"{seen[log]} and {r} are the same run ({log})"
                raise ValueError(f"{twice}: give each run once, or tell them apart with --labels")
            seen[log] = str(r)
        names = [Path(r).name or str(r) for r in runs]
        return names if len(set(names)) == len(names) else [str(r) for r in runs]
    if len(labels) != len(runs):
        raise ValueError(f"--labels: got {len(labels)} label(s) for {len(runs)} run(s); give one label per run")
    repeated = sorted({label for label in labels if list(labels).count(label) > 1})
    if repeated:
        raise ValueError(f"--labels: {', '.join(map(repr, repeated))} given more than once; give each run its own label")
    return list(labels)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (each with eval_log.csv) or eval_log.csv files")
    parser.add_argument("--labels", nargs="+", default=None, help="legend labels, one per run (default: folder names)")
    parser.add_argument("--x", choices=["steps", "minutes"], default="steps", help="x axis of the plot")
    parser.add_argument("--target", type=float, default=None, help="a target score: dashed line, and time to reach it")
    parser.add_argument("--title", default="", help="plot title")
    parser.add_argument("--out", default="curves.png", help="output PNG")


def run(args: argparse.Namespace) -> int:
    from rl2_agent.plots import plot_learning_curves

    logs = {label: read_eval_log(r) for label, r in zip(_labels(args.runs, args.labels), args.runs)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    print(markdown_summary(summarize(logs, args.target), args.target))
    path = plot_learning_curves(logs, args.out, x=args.x, target=args.target, title=args.title)
    logger.info("wrote %s", path)
    return 0

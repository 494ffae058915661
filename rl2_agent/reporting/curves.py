"""Learning curves of training runs: compare runs' ``eval_log.csv`` in one table and one plot.

Every ``rl2 train`` run logs one row per evaluation on the validation tasks (see
:mod:`rl2_agent.training.run_folder`). This module turns one or more of those logs into what a
hyperparameter comparison needs: final and best validation scores, the time and steps to a target
score, and a plot against steps or minutes. :func:`draw_learning_curves` is the one
implementation behind both ``rl2 curves`` and the run folders given to ``rl2 plot``.

CLI::

    python -m rl2_agent curves runs/a runs/b [--labels A B] [--x steps|minutes] [--target 78.3] [--out curves.png]

prints a markdown table (one row per run) and writes the plot (default ``curves.png`` in the
current folder). Scores are on the validation tasks, which also chose ``best_model.zip``: report
test-task figures with ``rl2 evaluate`` / ``rl2 table``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypedDict

from rl2_agent.training.run_folder import EvalLog, eval_log_file, read_eval_log

logger = logging.getLogger(__name__)

__all__ = ["draw_learning_curves", "markdown_summary", "run_labels", "summarize"]


class _RunSummary(TypedDict):
    run: str
    evaluations: int
    steps: float
    minutes: float
    final_mean: float
    final_se: float
    best_mean: float
    best_se: float
    best_steps: float
    best_minutes: float


class RunSummary(_RunSummary, total=False):
    """A row of :func:`summarize`; the ``target_*`` keys only when it is given a target (None: not reached)."""

    target_steps: float | None
    target_minutes: float | None


def summarize(logs: Mapping[str, EvalLog], target: float | None = None) -> list[RunSummary]:
    """One row per run: steps and minutes trained, final and best mean (+- s.e.), time to ``target``."""
    rows = []
    for label, log in logs.items():
        b = log.best
        row: RunSummary = {
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


def markdown_summary(rows: Sequence[RunSummary], target: float | None = None) -> str:
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
            steps = r["target_steps"]
            cells.append(f"{steps / 1e6:.2f}M steps, {r['target_minutes']:.1f} min" if steps is not None else "not reached")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_labels(runs: Sequence[str | Path], labels: Sequence[str] | None = None) -> list[str]:
    """One distinct label per run: ``labels``, else the folder names (the paths where names collide).

    :raises ValueError: for a label given twice or the wrong number of labels (``--labels``), or,
        without labels, for the same run given twice.
    """
    if labels is None:
        seen: dict[Path, str] = {}
        for r in runs:
            log = eval_log_file(r).resolve()
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


def draw_learning_curves(
    runs: Sequence[str | Path],
    path: str | Path,
    labels: Sequence[str] | None = None,
    x: str = "steps",
    target: float | None = None,
    title: str = "",
) -> tuple[dict[str, EvalLog], Path]:
    """Read the evaluation logs of ``runs`` (run folders or ``eval_log.csv`` files) and plot them into ``path``.

    :returns: label (:func:`run_labels`) -> log, and the PNG written.
    :raises FileNotFoundError: for a run without a log; ``ValueError`` for bad labels or a bad ``x``.
    """
    from rl2_agent.reporting.figures import plot_learning_curves

    logs = {label: read_eval_log(r) for label, r in zip(run_labels(runs, labels), runs)}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return logs, plot_learning_curves(logs, path, x=x, target=target, title=title)


# ----------------------------------------------------------------------------- rl2 curves
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", help="run folders (each with eval_log.csv) or eval_log.csv files")
    parser.add_argument("--labels", nargs="+", default=None, help="legend labels, one per run (default: folder names)")
    parser.add_argument("--x", choices=["steps", "minutes"], default="steps", help="x axis of the plot")
    parser.add_argument("--target", type=float, default=None, help="a target score: dashed line, and time to reach it")
    parser.add_argument("--title", default="", help="plot title")
    parser.add_argument("--out", default="curves.png", help="output PNG")


def run(args: argparse.Namespace) -> int:
    logs, path = draw_learning_curves(args.runs, args.out, args.labels, x=args.x, target=args.target, title=args.title)
    print(markdown_summary(summarize(logs, args.target), args.target))
    logger.info("wrote %s", path)
    return 0

"""``rl2 plot``: redraw the figures of saved results, without running anything again.

Usage::

    python -m rl2_agent plot runs/a/eval.json runs/b/eval.json --out-dir figs   # return per episode index, overlaid
    python -m rl2_agent plot results/bandit.json --out-dir figs                 # a bar chart per cell of a table
    python -m rl2_agent plot runs/a runs/b --out-dir figs                       # learning curves (as rl2 curves)

Each input is recognised by its content:

* an evaluation JSON of ``rl2 evaluate`` (``eval.json``, ``best_eval.json``): its mean return per
  episode index within the trial; all of them go into ``episode_returns.png``, one line each;
* a table JSON of ``rl2 table --json`` (``{cell: {agent: {"mean", "se", ...}}}``): one bar chart per
  cell, ``<file stem>_<cell>.png``;
* a run folder or an ``eval_log.csv``: the validation score over training; all of them go into
  ``learning_curves.png``, drawn by :func:`rl2_agent.reporting.curves.draw_learning_curves`, the
  implementation of ``rl2 curves`` (which has more options: labels, time axis, target, a table).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SavedEpisodeReturns:
    """The per-episode summary that ``rl2 evaluate`` writes, with the interface that
    :func:`~rl2_agent.reporting.figures.plot_episode_returns` reads."""

    env_id: str
    env_kwargs: dict[str, Any]
    mean: float
    per_episode_mean: np.ndarray  # (episodes_per_trial,)
    per_episode_se: np.ndarray  # (episodes_per_trial,)

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> SavedEpisodeReturns:
        return cls(
            summary["env_id"],
            summary["env_kwargs"],
            float(summary["mean"]),
            np.asarray(summary["per_episode_mean"], dtype=float),
            np.asarray(summary["per_episode_se"], dtype=float),
        )

    def per_episode(self) -> tuple[np.ndarray, np.ndarray]:
        return self.per_episode_mean, self.per_episode_se


_EVAL_KEYS = ("env_id", "env_kwargs", "mean", "per_episode_mean", "per_episode_se")  # what from_summary reads


def classify(path: Path) -> str:
    """``"eval"``, ``"table"`` or ``"run"``: what ``path`` holds (see the module docstring).

    :raises FileNotFoundError: if ``path`` does not exist.
    :raises ValueError: if it is none of the three.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path} not found")
    if path.is_dir() or path.suffix.lower() == ".csv":
        return "run"
    if path.suffix.lower() == ".json":
        from rl2_agent.training.run_folder import read_json

        data = read_json(path, "result file")
        if isinstance(data, dict) and all(key in data for key in _EVAL_KEYS):
            return "eval"
        if (
            isinstance(data, dict)
            and data
            and all(
                isinstance(row, dict) and all(isinstance(s, dict) and "mean" in s and "se" in s for s in row.values())
                for row in data.values()
            )
        ):
            return "table"
    raise ValueError(
        f"{path}: not a result this command plots; allowed: an eval.json of 'rl2 evaluate', a table JSON of "
        "'rl2 table --json', a run folder or an eval_log.csv"
    )


def plot_results(inputs: list[str | Path], out_dir: str | Path) -> list[Path]:
    """Draw the figures of ``inputs`` (see the module docstring) into ``out_dir``; the files written."""
    from rl2_agent.reporting.curves import draw_learning_curves
    from rl2_agent.reporting.figures import plot_cell_bars, plot_episode_returns
    from rl2_agent.training.run_folder import read_json

    paths = [Path(p) for p in inputs]
    kinds = {p: classify(p) for p in paths}  # every input checked before anything is drawn
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    evals = [p for p in paths if kinds[p] == "eval"]
    if evals:
        labels = [p.parent.name + ("" if p.stem == "eval" else f" ({p.stem})") for p in evals]  # run folder (model)
        if len(set(labels)) < len(labels):
            labels = [str(p) for p in evals]
        results = {label: SavedEpisodeReturns.from_summary(read_json(p)) for label, p in zip(labels, evals)}
        written.append(plot_episode_returns(results, out / "episode_returns.png"))
    for table in (p for p in paths if kinds[p] == "table"):
        for cell, row in read_json(table).items():
            name = f"{table.stem}_{cell.replace(',', '_').replace(' ', '')}.png"
            written.append(plot_cell_bars(row, out / name, title=f"{table.stem} {cell}"))
    runs = [str(p) for p in paths if kinds[p] == "run"]
    if runs:
        written.append(draw_learning_curves(runs, out / "learning_curves.png")[1])
    return written


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "inputs",
        nargs="+",
        help="eval.json files (rl2 evaluate), table JSON files (rl2 table --json), run folders or eval_log.csv files",
    )
    parser.add_argument("--out-dir", default="plots", help="folder for the PNG files (default: plots)")


def run(args: argparse.Namespace) -> int:
    for path in plot_results(args.inputs, args.out_dir):
        print(path)
    return 0

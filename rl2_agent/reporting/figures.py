"""Every matplotlib figure of the project (Agg backend: files only, no screen needed).

Each function draws one figure from numbers already computed and writes it to a PNG; the commands
and experiments that compute the numbers call them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

if TYPE_CHECKING:
    from rl2_agent.training.run_folder import EvalLog


def _label_line_plot(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    """Axis labels, title, grid and legend of a one-panel line plot."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _save(fig: Any, path: str | Path, **savefig_kwargs: Any) -> Path:
    """Lay ``fig`` out, write it to ``path`` and close it; the path written."""
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, **savefig_kwargs)
    plt.close(fig)
    return path


def plot_episode_returns(results: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Mean return per episode index within the trial (+- s.e.), one line per agent.

    :param results: label -> :class:`~rl2_agent.evaluation.runner.TrialResults` (or anything with
        ``per_episode()``, ``mean``, ``env_id`` and ``env_kwargs``).
    :param path: output PNG.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, res in results.items():
        mean, se = res.per_episode()
        x = np.arange(1, len(mean) + 1)
        ax.plot(x, mean, marker="o" if len(mean) <= 20 else None, ms=3, label=f"{label} ({res.mean:.2f})")
        ax.fill_between(x, mean - se, mean + se, alpha=0.2)
    first = next(iter(results.values()))
    _label_line_plot(
        ax,
        "episode index within the trial",
        "mean episode return (held-out trials)",
        title or f"{first.env_id} {first.env_kwargs}",
    )
    return _save(fig, path)


def plot_learning_curves(
    logs: Mapping[str, EvalLog], path: str | Path, x: str = "steps", target: float | None = None, title: str = ""
) -> Path:
    """Mean trial return on the validation tasks over training (+- s.e.), one line per run.

    :param logs: label -> :class:`~rl2_agent.training.run_folder.EvalLog`.
    :param x: ``"steps"`` (environment steps) or ``"minutes"`` (training wall-clock).
    :param target: a score to draw as a dashed line.
    """
    if x not in ("steps", "minutes"):
        raise ValueError(f"x must be 'steps' or 'minutes', got {x!r}")
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, log in logs.items():
        xs = log.timesteps if x == "steps" else log.seconds / 60.0
        ax.plot(xs, log.mean, marker="o" if len(xs) <= 60 else None, ms=3, label=label)
        ax.fill_between(xs, log.mean - log.se, log.mean + log.se, alpha=0.2)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target:g}")
    xlabel = "environment steps" if x == "steps" else "training wall-clock (minutes)"
    _label_line_plot(ax, xlabel, "mean trial return (validation tasks)", title)
    return _save(fig, path)


def plot_cell_bars(row: Mapping[str, Mapping[str, Any]], path: str | Path, title: str = "") -> Path:
    """Bar chart of one table cell: mean +- s.e. per agent, the paper's figure as a black tick.

    :param row: agent -> ``{"mean", "se", "paper", "bold"}`` (a row of ``python -m rl2_agent table``).
    :param path: output PNG.
    """
    labels = list(row)
    means = np.array([row[k]["mean"] for k in labels], dtype=float)
    ses = np.array([row[k]["se"] for k in labels], dtype=float)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.8 * len(labels) + 1.5), 3.6), dpi=120)
    x = np.arange(len(labels))
    colors = ["tab:orange" if row[k].get("bold") else "tab:blue" for k in labels]
    ax.bar(x, means, yerr=1.96 * ses, color=colors, alpha=0.8, capsize=3)
    paper = [row[k].get("paper") for k in labels]
    if any(p is not None for p in paper):
        px = [i for i, p in enumerate(paper) if p is not None]
        ax.scatter(px, [p for p in paper if p is not None], marker="_", s=400, color="k", zorder=3, label="paper")
        ax.legend(fontsize=8, loc="lower right")
    low = min(np.min(means - 2 * ses), min((p for p in paper if p is not None), default=np.inf))
    ax.set_ylim(bottom=max(0.0, low - 0.15 * (np.max(means) - low + 1e-9)))
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean trial return (95% CI)")
    ax.set_title(title + "  (orange: not significantly below the best)", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_regret_curves(curves: Mapping[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Mean cumulative (pseudo-)regret over pulls, one line per agent.

    :param curves: agent -> ``(pulls,)`` mean cumulative regret ``sum_t (p* - p[a_t])``.
    :param path: output PNG.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, curve in curves.items():
        x = np.arange(1, len(curve) + 1)
        ax.plot(x, curve, label=f"{label} ({curve[-1]:.1f})")
    _label_line_plot(ax, "pull", "mean cumulative regret", title)
    return _save(fig, path)


_HEADING_MARKERS = "^>v<"  # headings 0..3 = north, east, south, west (rows grow downwards)
_EPISODE_COLOURS = ("tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink")


def plot_maze_trajectories(trials: Sequence[Mapping[str, Any]], path: str | Path, title: str = "") -> Path:
    """One panel per trial: the maze, the start pose, the goal and the squares visited in each episode.

    :param trials: dicts with ``grid`` (``(n, n)`` array, nonzero = wall), ``start`` ``(row, col)``,
        ``heading`` (0..3 = N, E, S, W), ``goal`` ``(row, col)``, ``paths`` (per inner episode,
        the squares visited, start included: one entry per step, so a path of ``L + 1`` squares is
        an episode of ``L`` steps) and optionally ``label``.
    :param path: output PNG.
    """
    from matplotlib.patches import Rectangle

    cols = min(len(trials), 4)
    rows = -(-len(trials) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 3.5 * rows), dpi=120, squeeze=False)
    for ax in axes.flat[len(trials) :]:
        ax.axis("off")
    for ax, trial in zip(axes.flat, trials):
        grid = np.asarray(trial["grid"]) != 0
        ax.imshow(grid, cmap="Greys", vmin=0.0, vmax=1.3, interpolation="nearest")
        goal_r, goal_c = trial["goal"]
        ax.add_patch(Rectangle((goal_c - 0.5, goal_r - 0.5), 1, 1, color="tab:green", alpha=0.85, zorder=1))
        paths = [np.asarray(p, dtype=float).reshape(-1, 2) for p in trial["paths"]]
        for e, squares in enumerate(paths):
            offset = (e - (len(paths) - 1) / 2) * 0.2  # side by side where the episodes overlap
            reached = tuple(squares[-1].astype(int)) == (int(goal_r), int(goal_c))
            colour = _EPISODE_COLOURS[e % len(_EPISODE_COLOURS)]
            label = f"ep {e + 1}: {len(squares) - 1} steps" + ("" if reached else ", failed")
            ax.plot(squares[:, 1] + offset, squares[:, 0] + offset, color=colour, lw=1.8, alpha=0.75, label=label, zorder=2)
            ax.plot(squares[-1, 1] + offset, squares[-1, 0] + offset, "o" if reached else "x", color=colour, ms=5, zorder=3)
        start_r, start_c = trial["start"]
        ax.plot(start_c, start_r, marker=_HEADING_MARKERS[int(trial["heading"])], color="k", ms=9, ls="none", zorder=4)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(trial.get("label", ""), fontsize=8)
        ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False, handlelength=1.2)
    fig.suptitle(title + "\n(black triangle: start and heading; green: goal; o reached, x failed)", fontsize=8)
    return _save(fig, path, bbox_inches="tight")


def plot_frame_strip(
    rows: Mapping[str, Sequence[np.ndarray]],
    path: str | Path,
    captions: Mapping[str, Sequence[str]] | None = None,
    title: str = "",
) -> Path:
    """Images in a grid: one row per entry of ``rows`` (e.g. one per inner episode), left to right.

    :param rows: row label -> RGB frames (``(H, W, 3)`` uint8).
    :param captions: row label -> one caption per frame (e.g. the step).
    :param path: output PNG.
    """
    n_cols = max(len(frames) for frames in rows.values())
    height, width = np.asarray(next(iter(rows.values()))[0]).shape[:2]
    panel = 1.9
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(panel * n_cols, (panel * height / width + 0.3) * len(rows) + 0.4), dpi=120, squeeze=False
    )
    for r, (label, frames) in enumerate(rows.items()):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(frames):
                ax.axis("off")
                continue
            ax.imshow(frames[c], interpolation="nearest")
            if captions and label in captions:
                ax.set_title(captions[label][c], fontsize=7)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.suptitle(title, fontsize=8)
    return _save(fig, path)

"""Matplotlib figures (Agg backend: files only, no screen needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_episode_returns(results: Mapping[str, Any], path: str | Path, title: str | None = None) -> Path:
    """Mean return per episode index within the trial (+- s.e.), one line per agent.

    :param results: label -> :class:`rl2_agent.evaluate.TrialResults`.
    :param path: output PNG.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, res in results.items():
        mean, se = res.per_episode()
        x = np.arange(1, len(mean) + 1)
        ax.plot(x, mean, marker="o" if len(mean) <= 20 else None, ms=3, label=f"{label} ({res.mean:.2f})")
        ax.fill_between(x, mean - se, mean + se, alpha=0.2)
    first = next(iter(results.values()))
    ax.set_xlabel("episode index within the trial")
    ax.set_ylabel("mean episode return (held-out trials)")
    ax.set_title(title or f"{first.env_id} {first.env_kwargs}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_learning_curve(timesteps: Sequence[float], means: Sequence[float], ses: Sequence[float], path: str | Path,
                        target: float | None = None, title: str = "", x_seconds: Sequence[float] | None = None) -> Path:
    """Held-out mean trial return over training (against steps, or wall-clock seconds if given)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    x = np.asarray(x_seconds if x_seconds is not None else timesteps, dtype=float)
    m, s = np.asarray(means, dtype=float), np.asarray(ses, dtype=float)
    ax.plot(x, m, marker="o", ms=3, label="RL^2 (held-out, stochastic policy)")
    ax.fill_between(x, m - s, m + s, alpha=0.2)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target {target}")
    ax.set_xlabel("wall-clock seconds" if x_seconds is not None else "environment steps")
    ax.set_ylabel("mean trial return")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


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
        ax.scatter(px, [paper[i] for i in px], marker="_", s=400, color="k", zorder=3, label="paper")
        ax.legend(fontsize=8, loc="lower right")
    low = min(np.min(means - 2 * ses), min((p for p in paper if p is not None), default=np.inf))
    ax.set_ylim(bottom=max(0.0, low - 0.15 * (np.max(means) - low + 1e-9)))
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean trial return (95% CI)")
    ax.set_title(title + "  (orange: not significantly below the best)", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_regret_curves(curves: Mapping[str, np.ndarray], path: str | Path, title: str = "") -> Path:
    """Mean cumulative (pseudo-)regret over pulls, one line per agent.

    :param curves: agent -> ``(pulls,)`` mean cumulative regret ``sum_t (p* - p[a_t])``.
    :param path: output PNG.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, curve in curves.items():
        x = np.arange(1, len(curve) + 1)
        ax.plot(x, curve, label=f"{label} ({curve[-1]:.1f})")
    ax.set_xlabel("pull")
    ax.set_ylabel("mean cumulative regret")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path

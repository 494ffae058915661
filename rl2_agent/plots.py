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

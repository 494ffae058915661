"""The observation layout of a trial env: ``obs_layout`` maps names to slices of the flat observation.

The layout is the only interface between envs and agents: ``[inner obs, previous action, previous
reward, done flag]``, then any extra named entries (RL^3's ``q_values`` / ``visit_counts``), then
``time`` when ``time_inputs=True``. Image families return ``Dict(image=..., context=...)`` and the
layout indexes ``context``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

__all__ = ["ObsLayout", "build_layout", "fixed_trial_length", "is_image", "longest_episode", "time_scales"]

ObsLayout = dict[str, slice]


def _space_dim(space: spaces.Space) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    raise TypeError(f"unsupported space {space!r}: only Discrete and Box are supported")


def is_image(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def _bounds(space: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(space, (spaces.Discrete, spaces.Box)):
        raise TypeError(f"unsupported space {space!r}: a task family's spaces must be Discrete or Box")
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:  # the one-hot encodings and action checks index from 0
            raise TypeError(f"Discrete spaces of a task family must start at 0, got {space!r}")
        return np.zeros(space.n, np.float32), np.ones(space.n, np.float32)
    return space.low.reshape(-1).astype(np.float32), space.high.reshape(-1).astype(np.float32)


def build_layout(
    inner_obs_space: spaces.Space,
    action_space: spaces.Space,
    extra: dict[str, tuple[int, float, float]] | None = None,
    time_inputs: bool = False,
) -> tuple[spaces.Space, ObsLayout, spaces.Box]:
    """Observation space and ``obs_layout`` of a trial env.

    Parameters
    ----------
    inner_obs_space, action_space:
        The task family's spaces.
    extra:
        Optional extra named entries appended after the done flag (used by RL^3), as
        ``name -> (size, low, high)``.
    time_inputs:
        Append ``"time"`` (2 entries in [0, 1]: time in trial, time in episode) last.

    Returns
    -------
    (observation_space, obs_layout, flat_box)
        ``flat_box`` is the flat augmented part (the whole observation for non-image families,
        ``context`` for image families).
    """
    image = is_image(inner_obs_space)
    parts: list[tuple[str, np.ndarray, np.ndarray]] = []
    if not image:
        parts.append(("obs", *_bounds(inner_obs_space)))
    parts.append(("prev_action", *_bounds(action_space)))
    parts.append(("prev_reward", np.full(1, -np.inf, np.float32), np.full(1, np.inf, np.float32)))
    parts.append(("done", np.zeros(1, np.float32), np.ones(1, np.float32)))
    for name, (size, lo, hi) in {**(extra or {}), **({"time": (2, 0.0, 1.0)} if time_inputs else {})}.items():
        parts.append((name, np.full(size, lo, np.float32), np.full(size, hi, np.float32)))
    layout: ObsLayout = {}
    start = 0
    for name, low, _ in parts:
        layout[name] = slice(start, start + low.size)
        start += low.size
    flat = spaces.Box(np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), dtype=np.float32)
    if image:
        return spaces.Dict({"image": inner_obs_space, "context": flat}), layout, flat
    return flat, layout, flat


def longest_episode(family: Any) -> int | None:
    """The most steps an inner episode of ``family`` lasts: its ``episode_length`` (fixed length) or
    ``max_episode_length`` (time limit), None when it has neither (episodes of unbounded length)."""
    for name in ("episode_length", "max_episode_length"):
        value = getattr(family, name, None)
        if value is not None:
            return int(value)
    return None


def fixed_trial_length(family: Any, episodes_per_trial: int | None, steps_per_trial: int | None) -> int | None:
    """Steps per trial when fixed (``steps_per_trial``, or ``episodes_per_trial * family.episode_length``), else None."""
    if steps_per_trial is not None:
        return steps_per_trial
    episode_length = getattr(family, "episode_length", None)
    return None if episode_length is None else episodes_per_trial * int(episode_length)  # type: ignore[operator]


def time_scales(family: Any, episodes_per_trial: int | None, steps_per_trial: int | None) -> tuple[int, int]:
    """``(T, episode_length)``: the normalisers of the ``"time"`` inputs (see the module docstring).

    Raises ``ValueError`` when the trial length is not fixed (``episodes_per_trial`` of a family
    without an ``episode_length``).
    """
    trial_length = fixed_trial_length(family, episodes_per_trial, steps_per_trial)
    if trial_length is None:
        raise ValueError(
            "time_inputs=True needs a fixed trial length: give steps_per_trial (this task family has no episode_length)"
        )
    episode_length = getattr(family, "episode_length", None)
    return trial_length, int(episode_length) if episode_length is not None else trial_length

"""Argument checks shared by every env family and by ``rl2_agent``: each raises ``ValueError``
with one line that names the parameter and the allowed values.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

import numpy as np
from gymnasium import spaces

__all__ = [
    "UnknownKwargError",
    "check_bool",
    "check_choice",
    "check_options",
    "check_positive_float",
    "check_positive_int",
    "check_render_mode",
    "check_trial_length",
    "default_trial_length",
    "strict_kwargs",
    "validate_action",
]

F = TypeVar("F", bound=Callable[..., Any])


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def check_render_mode(render_mode: Any, modes: list[str] | tuple[str, ...]) -> str | None:
    """Return ``render_mode`` if it is None or one of ``modes``, else raise ``ValueError`` listing them."""
    if render_mode is not None and render_mode not in modes:
        raise ValueError(f"render_mode must be one of {list(modes)} or None, got {render_mode!r}")
    return render_mode


class UnknownKwargError(TypeError, ValueError):
    """An env kwarg that the env does not take (both a TypeError, as Python raises, and a ValueError)."""


def strict_kwargs(fn: F) -> F:
    """Make an env entry point reject unknown kwargs with an error that lists the allowed ones."""
    allowed = [p for p in inspect.signature(fn).parameters]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise UnknownKwargError(f"unknown env kwarg(s) {unknown} for {fn.__module__}.{fn.__name__}; allowed kwargs: {allowed}")
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_trial_length(episodes_per_trial: int | None, steps_per_trial: int | None) -> tuple[int | None, int | None]:
    """Validate that exactly one of the two trial-length arguments is given."""
    if (episodes_per_trial is None) == (steps_per_trial is None):
        raise ValueError(
            "give exactly one of episodes_per_trial (integer >= 1) or steps_per_trial (integer >= 1), "
            f"got episodes_per_trial={episodes_per_trial!r}, steps_per_trial={steps_per_trial!r}"
        )
    if episodes_per_trial is not None:
        return check_positive_int("episodes_per_trial", episodes_per_trial), None
    return None, check_positive_int("steps_per_trial", steps_per_trial)


def default_trial_length(
    episodes_per_trial: int | None, steps_per_trial: int | None, default_episodes: int
) -> tuple[int | None, int | None]:
    """The entry points' rule: ``episodes_per_trial`` is ``default_episodes`` unless one of the two is given.

    :raises ValueError: when both are given (as :func:`check_trial_length`), or one is not an integer >= 1.
    """
    if episodes_per_trial is None and steps_per_trial is None:
        return check_positive_int("episodes_per_trial", default_episodes), None
    return check_trial_length(episodes_per_trial, steps_per_trial)


def check_options(options: dict[str, Any] | None, allowed: tuple[str, ...], what: str) -> None:
    """Raise ``ValueError`` naming the allowed keys if ``options`` (of ``reset``) holds any other."""
    unknown = sorted(set(options or {}) - set(allowed))
    if unknown:
        hint = ""
        if "task" in unknown and "tasks" in allowed:
            hint = " (a vector env takes 'tasks', one task per env)"
        elif "tasks" in unknown and "task" in allowed:
            hint = " (a single env takes 'task'; 'tasks' is the vector envs' key)"
        raise ValueError(f"reset options may hold only {list(allowed)} ({what}), got unknown keys {unknown}{hint}")


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, or raise ``ValueError`` if it is not True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def validate_action(space: spaces.Space, action: Any) -> Any:
    """Raise ``ValueError`` naming the allowed actions if ``action`` is not valid for ``space``."""
    if isinstance(space, spaces.Discrete):
        a = np.asarray(action)
        if a.shape not in ((), (1,)) or not np.issubdtype(a.dtype, np.integer) or not (0 <= int(a.reshape(())) < space.n):
            raise ValueError(f"action must be an integer in [0, {space.n - 1}], got {action!r}")
        return int(a.reshape(()))
    a = np.asarray(action, dtype=space.dtype)
    if a.shape != space.shape or not np.all(np.isfinite(a)):
        raise ValueError(f"action must be a finite array of shape {space.shape}, got {action!r}")
    return a

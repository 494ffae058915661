"""Argument checks shared by every env family and by ``rl2_agent``: each raises ``ValueError``
with one line that names the parameter and the allowed values.

Limits
------
No argument may make an env allocate without bound. Two limits, both checked from the arguments
BEFORE anything is allocated:

* :data:`MEMORY_BUDGET` (1 GiB): the arrays one env allocates (a single env, or a whole numpy
  vector env with all its ``num_envs`` tasks), as each family estimates them from its kwargs
  (:func:`check_memory`; every family's docstring gives its estimate, which counts the largest
  temporaries too). The papers' settings use a few percent of it at most (1024 vector envs of
  10-state MDPs: about 25 MB).
* :data:`MAX_TRIAL_STEPS` (1,000,000): the longest trial, and so the longest inner episode
  (:func:`check_trial_steps`, :func:`check_episode_length`). A trial keeps a record that grows
  with its steps (the per-episode returns; with ``render_mode="rgb_array"`` every step, measured
  125-465 bytes each, so at most about 0.5 GiB), and a numpy vector env allocates ``num_envs x
  (episodes per trial + 1)`` returns up front (within the budget above); the papers' trials are at
  most a few thousand steps.

Both are module constants, read when an env is made (a test may lower :data:`MEMORY_BUDGET`).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from gymnasium import spaces

__all__ = [
    "MAX_TRIAL_STEPS",
    "MEMORY_BUDGET",
    "UnknownKwargError",
    "check_array",
    "check_bool",
    "check_choice",
    "check_episode_length",
    "check_int_range",
    "check_memory",
    "check_number",
    "check_options",
    "check_positive_float",
    "check_positive_int",
    "check_render_mode",
    "check_seed",
    "check_seeds",
    "check_trial_length",
    "check_trial_steps",
    "default_trial_length",
    "format_bytes",
    "short_repr",
    "strict_kwargs",
    "validate_action",
]

MEMORY_BUDGET = 1 << 30
"""Bytes of arrays one env may allocate (a single env, or a whole numpy vector env): 1 GiB."""

MAX_TRIAL_STEPS = 1_000_000
"""The longest trial in steps (``steps_per_trial``, or ``episodes_per_trial`` x the longest inner episode)."""

F = TypeVar("F", bound=Callable[..., Any])


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters (an array or a long sequence by its shape), for one-line errors."""
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)) and len(value) > 8:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (any failing repr: it must not hide the error being reported)
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int_range(name: str, value: Any, low: int, high: int | None = None, why: str = "") -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]`` (no upper bound when ``high`` is None),
    else raise ``ValueError`` naming ``name`` and the range (and ``why``, the reason of the upper bound)."""
    if not _is_int(value) or value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {allowed}{f' ({why})' if why else ''}, got {short_repr(value)}")
    return int(value)


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` and the allowed range."""
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {short_repr(value)}")
    return int(value)


def check_number(name: str, value: Any, low: float = -np.inf, high: float = np.inf, *, open_low: bool = False) -> float:
    """Return ``value`` as a float if it is a real number (not a bool) in ``[low, high]`` (``(low, high]`` with
    ``open_low``), else raise ``ValueError`` naming ``name`` and the range. NaN is refused."""
    try:
        number = (
            float(value)
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            else None
        )
    except OverflowError:  # an int too large for a float
        number = None
    ok = number is not None and (low < number if open_low else low <= number) and number <= high
    if not ok:
        raise ValueError(f"{name} must be a number in {'(' if open_low else '['}{low}, {high}], got {short_repr(value)}")
    return number  # type: ignore[return-value]


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite number > 0."""
    try:
        number = (
            float(value)
            if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
            else None
        )
    except OverflowError:
        number = None
    if number is None or not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {short_repr(value)}")
    return number


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in the largest binary unit that keeps it >= 1 (``"1.5 GiB"``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def check_memory(params: Mapping[str, Any], nbytes: int, what: str) -> None:
    """Raise ``ValueError`` if ``nbytes`` (the estimate of what ``params`` make an env allocate) exceeds
    :data:`MEMORY_BUDGET`. The message names the parameters and their values, the estimate, what it is
    for (``what``) and the limit. Call it BEFORE allocating."""
    if nbytes > MEMORY_BUDGET:
        given = ", ".join(f"{k}={short_repr(v)}" for k, v in params.items())
        raise ValueError(
            f"{given} would allocate about {format_bytes(nbytes)} ({what}), over the {format_bytes(MEMORY_BUDGET)} "
            "memory limit of one env (meta_envs.validation.MEMORY_BUDGET): use smaller values"
        )


def check_episode_length(name: str, value: Any) -> int:
    """An inner episode's length (or time limit) ``name``: an integer in ``[1, MAX_TRIAL_STEPS]`` (no episode
    outlasts the longest trial), else ``ValueError`` naming it and the range."""
    return check_int_range(
        name, value, 1, MAX_TRIAL_STEPS, "no longer than the longest trial, meta_envs.validation.MAX_TRIAL_STEPS"
    )


def check_trial_steps(episodes_per_trial: int | None, steps_per_trial: int | None, longest_episode: int | None = None) -> int:
    """The most steps a trial can last, or ``ValueError`` if it exceeds :data:`MAX_TRIAL_STEPS`.

    ``longest_episode`` is the longest inner episode of the family (its ``episode_length`` or
    ``max_episode_length``), None when unbounded (then each episode counts as one step at least).
    """
    if steps_per_trial is not None:
        check_int_range(
            "steps_per_trial",
            steps_per_trial,
            1,
            MAX_TRIAL_STEPS,
            "the trial-length limit, meta_envs.validation.MAX_TRIAL_STEPS",
        )
        return int(steps_per_trial)
    longest = 1 if longest_episode is None else int(longest_episode)
    steps = int(episodes_per_trial) * longest  # type: ignore[arg-type]
    if steps > MAX_TRIAL_STEPS:
        per = "" if longest_episode is None else f" (inner episodes of up to {longest} steps)"
        raise ValueError(
            f"episodes_per_trial={short_repr(episodes_per_trial)}{per} makes trials of up to {steps} steps, over the "
            f"limit of {MAX_TRIAL_STEPS} steps per trial (meta_envs.validation.MAX_TRIAL_STEPS): use fewer episodes"
        )
    return steps


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {short_repr(value)}")
    return value


def check_render_mode(render_mode: Any, modes: list[str] | tuple[str, ...]) -> str | None:
    """Return ``render_mode`` if it is None or one of ``modes``, else raise ``ValueError`` listing them."""
    if render_mode is not None and (not isinstance(render_mode, str) or render_mode not in modes):
        raise ValueError(f"render_mode must be one of {list(modes)} or None, got {short_repr(render_mode)}")
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
            raise UnknownKwargError(
                f"unknown env kwarg(s) {unknown} for {fn.__module__}.{fn.__name__}; allowed kwargs: {allowed}"
            )
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_trial_length(episodes_per_trial: int | None, steps_per_trial: int | None) -> tuple[int | None, int | None]:
    """Validate that exactly one of the two trial-length arguments is given."""
    if (episodes_per_trial is None) == (steps_per_trial is None):
        raise ValueError(
            "give exactly one of episodes_per_trial (integer >= 1) or steps_per_trial (integer >= 1), "
            f"got episodes_per_trial={short_repr(episodes_per_trial)}, steps_per_trial={short_repr(steps_per_trial)}"
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
    if options is not None and not isinstance(options, Mapping):
        raise ValueError(f"reset options must be None or a dict with keys among {list(allowed)}, got {short_repr(options)}")
    unknown = sorted(map(str, set(options or {}) - set(allowed)))
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
        raise ValueError(f"{name} must be True or False, got {short_repr(value)}")
    return bool(value)


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """Return ``seed`` as an int (or None), or raise ``ValueError`` unless it is None or an integer >= 0."""
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"{name} must be None or an integer >= 0, got {short_repr(seed)}")
    return None if seed is None else int(seed)


def check_seeds(seed: Any, num_envs: int) -> list[int] | None:
    """The seeds of a vector env's ``reset(seed=...)``: None, one integer ``s >= 0`` (env ``i`` gets ``s + i``) or
    a sequence of ``num_envs`` integers >= 0; else ``ValueError`` naming ``seed`` and these forms."""
    if seed is None:
        return None
    if _is_int(seed):
        first = check_seed(seed)
        return [first + i for i in range(num_envs)]  # type: ignore[operator]
    forms = f"None, an integer >= 0 or a sequence of {num_envs} integers >= 0 (one per env)"
    sequence = (isinstance(seed, np.ndarray) and seed.ndim == 1) or (
        isinstance(seed, Sequence) and not isinstance(seed, (str, bytes))
    )
    if sequence and len(seed) == num_envs and all(_is_int(s) and s >= 0 for s in seed):
        return [int(s) for s in seed]
    raise ValueError(f"seed must be {forms}, got {short_repr(seed)}")


def check_array(
    name: str,
    value: Any,
    shape: tuple[int | None, ...],
    *,
    integer: bool = False,
    low: float | None = None,
    high: float | None = None,
    what: str = "",
) -> np.ndarray:
    """``value`` (any array-like of real numbers) as a float64 array, or an int64 one with ``integer``
    (integral floats are accepted), checked BEFORE use: its shape (``None`` in ``shape``: any length), finite
    values and the range ``[low, high]``. Raises ``ValueError`` naming ``name`` and what was expected (``what``
    describes the values in place of the default ``"finite numbers in [low, high]"``, e.g. ``"3 arm
    probabilities in [0, 1]"``)."""
    expected = "(" + ", ".join("n" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    bounds = f" in [{low:g}, {high:g}]" if low is not None and high is not None else ""
    what = what or f"finite {'integers' if integer else 'numbers'}{bounds}"
    description = f"{name} must be {what} (an array of shape {expected})"
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged nesting, unconvertible objects
        array = None
    if array is None or array.dtype.kind not in "iuf":
        raise ValueError(f"{description}, got {short_repr(value)}")
    if array.ndim != len(shape) or any(d is not None and d != n for d, n in zip(shape, array.shape)):
        raise ValueError(f"{description}, got shape {array.shape}")
    array = array.astype(np.float64, copy=False)
    finite = bool(np.isfinite(array).all())
    if not finite or (low is not None and not (array >= low).all()) or (high is not None and not (array <= high).all()):
        raise ValueError(f"{description}, got {short_repr(value)}")
    if integer:
        if not (array == np.round(array)).all():
            raise ValueError(f"{description}, got non-integer values in {short_repr(value)}")
        return array.astype(np.int64)
    return array


def validate_action(space: spaces.Space, action: Any) -> Any:
    """Raise ``ValueError`` naming the allowed actions if ``action`` is not valid for ``space``."""
    if isinstance(space, spaces.Discrete):
        try:
            a = np.asarray(action)
        except (ValueError, TypeError, OverflowError):
            a = np.asarray(None)
        if a.shape not in ((), (1,)) or a.dtype.kind not in "iu" or not (0 <= int(a.reshape(())) < space.n):
            raise ValueError(f"action must be an integer in [0, {space.n - 1}], got {short_repr(action)}")
        return int(a.reshape(()))
    try:
        a = np.asarray(action)
    except (ValueError, TypeError, OverflowError):
        a = np.asarray(None)
    if a.dtype.kind in "iuf":
        with np.errstate(over="ignore"):  # a value beyond the space's dtype becomes inf, refused below
            a = a.astype(space.dtype, copy=False)
    if a.dtype != space.dtype or a.shape != space.shape or not np.all(np.isfinite(a)):
        raise ValueError(f"action must be a finite array of shape {space.shape}, got {short_repr(action)}")
    return a

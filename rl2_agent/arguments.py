"""Arguments of the ``rl2`` commands, the experiments and the benchmarks, built on :mod:`meta_envs.validation`.

* argparse ``type=`` callables (:func:`int_at_least`, :data:`positive_int`, :data:`non_negative_int`,
  :func:`positive_float`, :func:`non_negative_float`): a value out of range is refused by argparse
  itself, before any work, with exit code 2 and ``<prog>: error: argument --flag: must be an
  integer >= 1, got '0'``;
* :func:`parse_kwargs` (``KEY=VALUE`` lists) and :func:`parse_names` (comma or space separated names);
* :func:`check_fraction` and :func:`check_non_negative_float`, the two number checks of the Python
  API (hyperparameters, agent parameters) that :mod:`meta_envs.validation` has no function for,
  both built on its :func:`~meta_envs.validation.check_positive_float`;
* :func:`run_command`: ``python -m rl2_agent.experiments.<name>`` for a module with a command.
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from typing import Any, Callable, Iterable

import numpy as np

from meta_envs.validation import check_positive_float, check_positive_int

__all__ = [
    "USER_ERRORS",
    "check_fraction",
    "check_non_negative_float",
    "int_at_least",
    "non_negative_float",
    "non_negative_int",
    "parse_kwargs",
    "parse_names",
    "positive_float",
    "positive_int",
    "run_command",
]

#: What a user's input causes (the message names the parameter or the file); anything else is a bug: traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


# ----------------------------------------------------------------------------- number checks
def check_non_negative_float(name: str, value: Any) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` unless it is a finite number >= 0."""
    try:
        return 0.0 if _is_zero(value) else check_positive_float(name, value)
    except ValueError:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None


def check_fraction(name: str, value: Any, zero: bool = True) -> float:
    """``value`` as a float, or ``ValueError`` naming ``name`` unless it lies in [0, 1] (``(0, 1]`` with ``zero=False``)."""
    try:
        number = 0.0 if zero and _is_zero(value) else check_positive_float(name, value)
    except ValueError:
        number = None
    if number is None or number > 1:
        raise ValueError(f"{name} must be a number in {'[' if zero else '('}0, 1], got {value!r}")
    return number


def _is_zero(value: Any) -> bool:
    return not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.number)) and value == 0


# ----------------------------------------------------------------------------- argparse types
def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum`` (:func:`~meta_envs.validation.check_positive_int`)."""

    def parse(text: str) -> int:
        try:
            return check_positive_int("value", int(text), minimum)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}") from None

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


positive_int = int_at_least(1)
"""An argparse type: an integer >= 1 (a count)."""

non_negative_int = int_at_least(0)
"""An argparse type: an integer >= 0 (a seed)."""


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (a duration, a scale)."""
    try:
        return check_positive_float("value", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}") from None


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0 (a step count given as ``1e6``, where 0 means "none")."""
    try:
        return check_non_negative_float("value", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}") from None


# ----------------------------------------------------------------------------- lists
def parse_kwargs(items: list[str] | None) -> dict[str, Any]:
    """``["num_arms=5", "arm_prior=normal"]`` -> ``{"num_arms": 5, "arm_prior": "normal"}``.

    Values are Python literals when they parse as such, else strings; ``a.b=1`` sets ``{"a": {"b": 1}}``.

    :raises ValueError: for an item without ``=``.
    """
    result: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        *parents, leaf = key.split(".")
        target = result
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return result


def parse_names(
    parser: argparse.ArgumentParser,
    flag: str,
    text: str,
    known: Iterable[Any],
    what: str,
    label: str = "known",
    everything: str | None = None,
) -> list[str]:
    """The names of a comma or space separated option, stripped and without repeats (in order).

    Each must be one of ``known`` (compared as strings); ``everything`` (e.g. ``"all"``) stands for all of
    them. Otherwise ``parser.error`` (exit code 2): ``--flag: unknown <what> [...]; <label>: [...]``, or
    ``none given``.
    """
    known = list(known)
    names = [str(k) for k in known] if everything is not None and text.strip() == everything else list(
        dict.fromkeys(text.replace(",", " ").split())
    )
    unknown = [n for n in names if n not in {str(k) for k in known}]
    if unknown or not names:
        parser.error(f"{flag}: {f'unknown {what} {unknown}' if names else 'none given'}; {label}: {known}")
    return names


# ----------------------------------------------------------------------------- a command run on its own
def run_command(
    prog: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int | None],
    description: str | None = None,
    argv: list[str] | None = None,
) -> int:
    """Parse ``argv`` with the arguments of ``add_arguments`` and ``run`` them (``python -m <module>``).

    As ``rl2 <command>``: a user error (:data:`USER_ERRORS`) is printed as ``<prog>: error: ...``
    and gives exit code 2; argparse's own refusals exit with 2 too.
    """
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(run(args) or 0)
    except USER_ERRORS as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2

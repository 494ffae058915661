"""argparse ``type=`` checks for command-line counts, seeds and durations (used by ``benchmarks/``).

A value out of range is refused by argparse itself, before the script does any work: exit code 2
and ``<script>: error: argument --flag: must be an integer >= 1, got '0'``.
"""

from __future__ import annotations

import argparse
import math
from typing import Any, Callable, Iterable


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"int_at_least_{minimum}"
    return parse


positive_int = int_at_least(1)
"""An argparse type: an integer >= 1 (a count)."""

non_negative_int = int_at_least(0)
"""An argparse type: an integer >= 0 (a seed)."""


def _float(text: str, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (strict and value == 0):
        raise argparse.ArgumentTypeError(f"must be a finite number {'>' if strict else '>='} 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0 (a duration, a scale)."""
    return _float(text, strict=True)


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0 (a step count given as ``1e6``, where 0 means "none")."""
    return _float(text, strict=False)


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

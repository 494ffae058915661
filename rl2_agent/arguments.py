"""Arguments of the ``rl2`` commands, the experiments and the benchmarks, built on :mod:`meta_envs.validation`.

* argparse ``type=`` callables (:func:`int_at_least`, :data:`positive_int`, :data:`non_negative_int`,
  :func:`positive_float`, :func:`non_negative_float`): a value out of range is refused by argparse
  itself, before any work, with exit code 2 and ``<prog>: error: argument --flag: must be an
  integer >= 1, got '0'``;
* :func:`parse_kwargs` (``KEY=VALUE`` lists) and :func:`parse_names` (comma or space separated names);
* :func:`check_fraction` and :func:`check_non_negative_float`, the two number checks of the Python
  API (hyperparameters, agent parameters) that :mod:`meta_envs.validation` has no function for,
  both built on its :func:`~meta_envs.validation.check_positive_float`;
* :func:`step_count` (argparse type: a whole number of steps, ``2e6`` allowed), :func:`check_device`
  (a torch device that this machine has) and its argparse type :func:`device`;
* :class:`UserError` and :func:`user_error_message`: what a user's input or machine causes (a bad value,
  a missing, corrupt or misplaced file, a full disk, a read-only folder) as one line naming what to
  change; anything else is a bug and keeps its traceback;
* :class:`ArgumentParser`: argparse's parser with its refusals in one line (``prog: error: ...``);
* :func:`run_command`: ``python -m rl2_agent.experiments.<name>`` for a module with a command.
"""

from __future__ import annotations

import argparse
import ast
import errno
import logging
import math
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import numpy as np

from meta_envs.validation import check_positive_float, check_positive_int

__all__ = [
    "MAX_STEPS",
    "USER_ERRNOS",
    "USER_ERRORS",
    "ArgumentParser",
    "UserError",
    "check_device",
    "check_fraction",
    "check_non_negative_float",
    "device",
    "int_at_least",
    "non_negative_float",
    "non_negative_int",
    "parse_kwargs",
    "parse_names",
    "positive_float",
    "positive_int",
    "run_command",
    "step_count",
    "user_error_message",
]


# ----------------------------------------------------------------------------- user errors
class UserError(ValueError):
    """An error of the user's input, whose message says what to change: a bad value, or a file (named in
    the message) that is missing, corrupt or in the way. A ``ValueError``, as every argument check raises."""


#: What a user's input causes (the message names the parameter or the file); anything else is a bug: traceback.
#: OSErrors count only with an errno of :data:`USER_ERRNOS` (or none: a message of this package).
USER_ERRORS = (ValueError, OSError)

#: errno of an ``OSError`` that the user's machine or paths cause -> what to do about it.
USER_ERRNOS: dict[int, str] = {
    errno.ENOSPC: "the disk is full: free some space or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space or write elsewhere",
    errno.EROFS: "a read-only file system: write elsewhere",
    errno.EACCES: "permission denied: write elsewhere, or give yourself the permission",
    errno.EPERM: "operation not permitted: write elsewhere, or give yourself the permission",
    errno.ENOTDIR: "a part of this path is a file, not a folder: give a path under a folder",
    errno.EISDIR: "a folder, where a file is wanted: give a file path",
    errno.EEXIST: "a file is in the way, where a folder is wanted: give another path, or move the file",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "the path is too long: give a shorter one",
    errno.ELOOP: "too many symbolic links in the path",
}


def user_error_message(err: BaseException) -> str | None:
    """The one line that tells a user what to change, for a user error (:data:`USER_ERRORS`); None for a bug.

    An ``OSError`` with an errno names its path(s) and what to do (:data:`USER_ERRNOS`); one without
    (raised by this package, with its own message) is shown as it is; any other errno is a bug.
    """
    if isinstance(err, OSError):
        if err.errno is None:
            return " ".join(str(err).split()) or type(err).__name__
        if err.errno not in USER_ERRNOS:
            return None
        paths = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
        return f"{paths or 'a file'}: {USER_ERRNOS[err.errno]} ({err.strerror or errno.errorcode.get(err.errno, err.errno)})"
    if isinstance(err, ValueError):
        return " ".join(str(err).split()) or type(err).__name__
    return None


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose refusals are one line, ``prog: error: message`` (exit code 2), without the
    usage (``--help`` prints it); its subparsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


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


#: The most steps a count (``--timesteps``, ``--eval-every``) may name: years of training at any speed.
MAX_STEPS = 10**15


def step_count(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of steps in ``[minimum, MAX_STEPS]``, as an integer (``2000000``,
    ``2_000_000``) or in scientific notation (``2e6``); ``1.5``, ``inf`` and ``nan`` are refused."""

    def parse(text: str) -> int:
        value: int | None
        try:
            value = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            value = int(number) if math.isfinite(number) and number.is_integer() else None
        if value is None or not minimum <= value <= MAX_STEPS:
            raise argparse.ArgumentTypeError(
                f"must be a whole number of steps in [{minimum}, {MAX_STEPS:.0e}], e.g. 2e6 or 2000000, got {text!r}"
            )
        return value

    parse.__name__ = f"step_count_{minimum}"
    return parse


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0 (a step count given as ``1e6``, where 0 means "none")."""
    try:
        return check_non_negative_float("value", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}") from None


# ----------------------------------------------------------------------------- devices
_DEVICE = re.compile(r"(cpu|cuda|mps|auto)(?::(\d+))?")
DEVICES = "cpu, cuda, cuda:N, mps or auto"


def check_device(name: str, value: Any) -> str:
    """``value`` as the torch device it names, if this machine has it: ``cpu``, ``cuda``, ``cuda:N``, ``mps``,
    or ``auto`` (``cuda`` when torch sees a GPU, else ``cpu``: the device a run really uses).

    :raises UserError: naming ``name``, for another name, or a device that torch does not see here.
    """
    import torch as th

    text = str(value) if isinstance(value, (str, th.device)) else None
    match = _DEVICE.fullmatch(text or "")
    if match is None or (match[2] is not None and match[1] != "cuda"):
        raise UserError(f"{name} must be one of {DEVICES}, got {value!r}")
    kind, index = match[1], match[2]
    if kind == "auto":
        return "cuda" if th.cuda.is_available() else "cpu"
    if kind == "cuda":
        count = th.cuda.device_count() if th.cuda.is_available() else 0
        if count == 0:
            why = "a torch built without CUDA" if th.version.cuda is None else "no CUDA GPU visible"
            raise UserError(f"{name} {text!r}: this machine has no CUDA device ({why}); use cpu")
        if index is not None and int(index) >= count:
            raise UserError(f"{name} {text!r}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    if kind == "mps" and not th.backends.mps.is_available():
        raise UserError(f"{name} 'mps': this machine has no Apple MPS device; use cpu")
    return text  # type: ignore[return-value]


def device(text: str) -> str:
    """An argparse type: a torch device that this machine has (:func:`check_device`)."""
    try:
        return check_device("device", text)
    except UserError as err:
        raise argparse.ArgumentTypeError(str(err).replace("device ", "", 1)) from None


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
    names = (
        [str(k) for k in known]
        if everything is not None and text.strip() == everything
        else list(dict.fromkeys(text.replace(",", " ").split()))
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

    As ``rl2 <command>``: a user error (:func:`user_error_message`) is printed as one line,
    ``<prog>: error: ...`` (its traceback too with ``-v``), and gives exit code 2; argparse's own
    refusals exit with 2 too; a bug keeps its traceback.
    """
    parser = ArgumentParser(prog=prog, description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(run(args) or 0)
    except USER_ERRORS as err:
        message = user_error_message(err)
        if message is None:
            raise
        logging.getLogger(__name__).debug("the error's traceback (a user error: %s)", message, exc_info=True)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

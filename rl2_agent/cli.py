"""``rl2 <command>`` (also ``python -m rl2_agent <command>``): parsing and dispatch only.

Each command lives next to its code, in a module that exposes ``add_arguments(parser)`` and
``run(args)``; a module is imported only when its command runs. :func:`main` raises the
commands' errors (for use from Python and tests); :func:`cli`, the command line's entry point,
prints a user error as one line, ``rl2 COMMAND: error: ...``, and exits with 2: a bad value (argparse's
refusals too), a missing, damaged or misplaced file (named), a run folder in the way, a device this
machine lacks, a full disk, a read-only or forbidden folder
(:func:`~rl2_agent.arguments.user_error_message`). With ``-v`` the error's traceback is logged too.
Anything else is a bug and keeps its traceback. Ctrl-C exits with 130.
"""

from __future__ import annotations

import importlib
import logging
import sys

from rl2_agent.arguments import USER_ERRORS, ArgumentParser, user_error_message

__all__ = ["COMMANDS", "cli", "main"]

#: command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("rl2_agent.training.command", "train RL^2 (RecurrentPPO + RL2GRUPolicy) on a meta_envs id"),
    "evaluate": ("rl2_agent.experiments.evaluate", "evaluate a trained run on held-out trials (JSON + plot)"),
    "curves": (
        "rl2_agent.reporting.curves",
        "compare runs' learning curves (validation scores during training): table + plot",
    ),
    "plot": ("rl2_agent.reporting.redraw", "redraw figures from saved results: eval.json, table JSON, run folders"),
    "demo": ("rl2_agent.experiments.demo", "the main job: train on RL2Bandit-v0, evaluate, compare with baselines"),
    "table": ("rl2_agent.experiments.table", "the RL^2 paper's tables: every agent on the same held-out tasks"),
    "reproduce": (
        "rl2_agent.experiments.reproduce",
        "train every RL^2 / RL^3 cell of a paper's table, then score it with the baselines",
    ),
    "tune": ("rl2_agent.experiments.tune", "grid-search the classical baselines' parameters"),
    "scaling": (
        "rl2_agent.experiments.scaling",
        "the RL^2 navigation scaling experiment: maze metrics vs the paper, trajectory plots",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run its command; returns the exit code. Errors propagate (see :func:`cli`)."""
    parser = ArgumentParser(prog="rl2", description="RL^2 meta-RL on Stable-Baselines3")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    argv = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in argv if a in COMMANDS), None)
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == wanted:
            importlib.import_module(module_name).add_arguments(p)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    result = importlib.import_module(COMMANDS[args.command][0]).run(args)
    return int(result or 0)


def cli(argv: list[str] | None = None) -> int:
    """The ``rl2`` / ``python -m rl2_agent`` entry point: :func:`main` with user errors as one line; returns the exit
    code (2 for a user error, argparse's refusals included)."""
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if a in COMMANDS), None)
    prog = "rl2" if command is None else f"rl2 {command}"
    try:
        return main(argv)
    except SystemExit as exit_info:  # argparse's refusals (code 2, their line printed) and --help (code 0)
        return exit_info.code if isinstance(exit_info.code, int) else int(exit_info.code is not None)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except USER_ERRORS as err:
        message = user_error_message(err)
        if message is None:  # an OSError that no user input explains: a bug
            raise
        logging.getLogger(__name__).debug("the error's traceback (a user error: %s)", message, exc_info=True)
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2

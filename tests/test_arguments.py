"""rl2_agent.arguments: argparse types, KEY=VALUE and name lists, the number checks, a command run on its own."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from rl2_agent import arguments
from rl2_agent.arguments import check_fraction, check_non_negative_float, parse_kwargs, parse_names


def test_argparse_types_accept_their_range_and_name_the_refused_text():
    assert arguments.int_at_least(2)("2") == 2 and arguments.positive_int("1") == 1 and arguments.non_negative_int("0") == 0
    assert arguments.positive_float("0.5") == 0.5 and arguments.non_negative_float("1e6") == 1e6
    assert arguments.non_negative_float("0") == 0.0
    for parse, text, message in (
        (arguments.int_at_least(2), "1", "must be an integer >= 2, got '1'"),
        (arguments.non_negative_int, "1.5", "must be an integer >= 0, got '1.5'"),
        (arguments.positive_float, "inf", "must be a finite number > 0, got 'inf'"),
        (arguments.positive_float, "0", "must be a finite number > 0, got '0'"),
        (arguments.non_negative_float, "-0.1", "must be a finite number >= 0, got '-0.1'"),
        (arguments.positive_float, "fast", "must be a finite number > 0, got 'fast'"),
    ):
        with pytest.raises(argparse.ArgumentTypeError) as err:
            parse(text)
        assert str(err.value) == message


def test_a_refused_value_is_argparses_error_naming_the_flag(capsys):
    parser = argparse.ArgumentParser(prog="prog")
    parser.add_argument("--trials", type=arguments.int_at_least(2))
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--trials", "0"])
    assert exit_info.value.code == 2
    assert "prog: error: argument --trials: must be an integer >= 2, got '0'" in capsys.readouterr().err


def test_parse_kwargs_reads_literals_strings_and_dotted_keys():
    assert parse_kwargs(["num_arms=5", "arm_prior=normal", "policy_kwargs.gru_hidden_size=64", "x=1e-3"]) == {
        "num_arms": 5,
        "arm_prior": "normal",
        "policy_kwargs": {"gru_hidden_size": 64},
        "x": 1e-3,
    }
    assert parse_kwargs(None) == {}
    with pytest.raises(ValueError, match="expected KEY=VALUE, got 'oops'"):
        parse_kwargs(["oops"])


def test_parse_names_strips_repeats_and_refuses_unknown_names(capsys):
    parser = argparse.ArgumentParser(prog="prog")
    assert parse_names(parser, "--grids", " a, b a ", ["a", "b", "c"], "grids") == ["a", "b"]
    assert parse_names(parser, "--grids", "all", ["a", "b"], "grids", everything="all") == ["a", "b"]
    for text, message in (("a,z", "--grids: unknown grids ['z']; known: ['a', 'b']"), (" , ", "--grids: none given")):
        with pytest.raises(SystemExit):
            parse_names(parser, "--grids", text, ["a", "b"], "grids")
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "zero", "expected"),
    [(0, True, 0.0), (np.float64(0.0), True, 0.0), (0.25, True, 0.25), (1, True, 1.0), (1e-9, False, 1e-9), (1.0, False, 1.0)],
)
def test_check_fraction_accepts_its_interval(value, zero, expected):
    assert check_fraction("x", value, zero=zero) == expected


@pytest.mark.parametrize(
    ("value", "zero", "match"),
    [
        (1.5, True, r"x must be a number in \[0, 1\], got 1.5"),
        (-0.1, True, r"x must be a number in \[0, 1\], got -0.1"),
        (0, False, r"x must be a number in \(0, 1\], got 0"),
        (True, True, r"x must be a number in \[0, 1\], got True"),
        (float("nan"), True, r"x must be a number in \[0, 1\], got nan"),
        ("0.5", True, r"x must be a number in \[0, 1\], got '0.5'"),
    ],
)
def test_check_fraction_names_the_parameter_and_the_interval(value, zero, match):
    with pytest.raises(ValueError, match=match):
        check_fraction("x", value, zero=zero)


def test_check_non_negative_float():
    assert check_non_negative_float("scale", 0) == 0.0 and check_non_negative_float("scale", np.int64(3)) == 3.0
    for value in (-1, float("inf"), None, False):
        with pytest.raises(ValueError, match=r"scale must be a finite number >= 0, got "):
            check_non_negative_float("scale", value)


def test_run_command_runs_a_command_and_prints_a_user_error_in_one_line(capsys):
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--n", type=arguments.positive_int, default=1)

    def run(args: argparse.Namespace) -> int:
        if args.n > 5:
            raise ValueError(f"--n must be <= 5, got {args.n}")
        print("n =", args.n)
        return 0

    assert arguments.run_command("prog", add_arguments, run, argv=["--n", "3"]) == 0
    assert capsys.readouterr().out == "n = 3\n"
    assert arguments.run_command("prog", add_arguments, run, argv=["--n", "9"]) == 2
    assert capsys.readouterr().err == "prog: error: --n must be <= 5, got 9\n"
    with pytest.raises(SystemExit):
        arguments.run_command("prog", add_arguments, run, argv=["--n", "0"])

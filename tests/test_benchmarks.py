"""The quick benchmark scripts of `make bench` run and print their figures (tiny settings; no timing asserted)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("env_throughput.py", ["--seconds", "0.05"], ["RL2Bandit-v0", "RL2TabularMDP-v0", "batched"]),
        ("train_speed.py", ["--timesteps", "64", "--n-steps", "8", "--batch-size", "64", "--n-epochs", "1", "--hidden", "8"],
         ["ratio RL2GRUPolicy / stock MlpLstmPolicy", "project defaults", "% of peak"]),
        ("maze_speed.py", ["--steps", "200"], ["RL2Maze-v0"]),
        ("value_augment_overhead.py", ["--trials", "2", "--repeats", "1"], ["overhead"]),
    ],
)
def test_benchmark_runs_and_prints_its_figures(script, args, expected, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(BENCHMARKS / script), run_name="__main__")
    out = capsys.readouterr().out
    for text in expected:
        assert text in out, (text, out[-2000:])

"""The speed benchmarks of `make bench` run and print their figures (tiny settings; no timing asserted), and
every benchmark script refuses bad arguments with argparse's error before doing any work."""

from __future__ import annotations

import functools
import importlib.util
import runpy
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("env_throughput.py", ["--seconds", "0.05"], ["RL2Bandit-v0", "RL2TabularMDP-v0", "| RL3TabularMDP-v0 |", "batched"]),
        (
            "train_speed.py",
            ["--only-workers", "--workers", "1", "--worker-seconds", "0.5", "--worker-envs", "rl3_mdp", "--single-envs"],
            [
                "| RL3TabularMDP-v0 {'steps_per_trial': 100} | 1 | single envs |",
                "ratio 1 worker, batched env / single envs, RL3TabularMDP-v0:",
            ],
        ),
        (
            "train_speed.py",
            [
                "--timesteps",
                "64",
                "--n-envs",
                "8",
                "--n-steps",
                "8",
                "--batch-size",
                "64",
                "--n-epochs",
                "1",
                "--hidden",
                "8",
                "--workers",
                "1",
                "--worker-seconds",
                "0.5",
                "--worker-envs",
                "bandit",
            ],
            [
                "ratio RL2GRUPolicy / stock MlpLstmPolicy (n_envs=8, n_steps=8",
                "layout of the project defaults",
                "project defaults (n_envs=320",
                "% of peak",
                "ratio fused GRU layer + fused Adam / nn.GRU + Adam's loop",
                "share of the one-thread matmul peak",
                "data-parallel training (rl2 train --workers N)",
                "| RL2Bandit-v0 {'num_arms': 5, 'episodes_per_trial': 100} | 1 |",
            ],
        ),
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


# ----------------------------------------------------------------------------- bad arguments
@functools.cache
def _load(script: str) -> ModuleType:
    """The benchmark ``script`` as a module (``main`` not run), loaded once."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{Path(script).stem}", BENCHMARKS / script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


WORK = {
    "env_throughput.py": "bench_single",
    "maze_speed.py": "steps_per_second",
    "value_augment_overhead.py": "timed_trials",
    "train_speed.py": "matmul_peak",
    "time_to_quality.py": "train",
}
"""Script -> its first function that does work: the tests make it fail, so a refusal must come before it."""


@pytest.mark.parametrize(
    "script, argv, message",
    [
        (
            "time_to_quality.py",
            ["--which", "ours,fast"],
            "--which: unknown configurations ['fast']; allowed: ['ours', 'stock']",
        ),
        ("time_to_quality.py", ["--which", " , "], "--which: none given; allowed: ['ours', 'stock']"),
        ("time_to_quality.py", ["--cells", "7"], "--cells: unknown cells ['7']; allowed: [10, 100]"),
        ("time_to_quality.py", ["--cells", "10,ten"], "--cells: unknown cells ['ten']; allowed: [10, 100]"),
        ("time_to_quality.py", ["--budget-scale", "0"], "argument --budget-scale: must be a finite number > 0, got '0'"),
        ("time_to_quality.py", ["--budget-scale", "1e-9"], "total_timesteps must be an integer >= 1"),
        ("time_to_quality.py", ["--seed", "-2"], "argument --seed: must be an integer >= 0, got '-2'"),
        ("time_to_quality.py", ["--lr-anneal", "2"], "lr_anneal must be a number in [0, 1], got 2.0"),
        ("env_throughput.py", ["--seconds", "0"], "argument --seconds: must be a finite number > 0, got '0'"),
        ("env_throughput.py", ["--seconds", "nan"], "argument --seconds: must be a finite number > 0, got 'nan'"),
        ("maze_speed.py", ["--steps", "0"], "argument --steps: must be an integer >= 1, got '0'"),
        ("maze_speed.py", ["--steps", "-10"], "argument --steps: must be an integer >= 1, got '-10'"),
        ("maze_speed.py", ["--height", "4"], "argument --height: must be an integer >= 8, got '4'"),
        ("value_augment_overhead.py", ["--trials", "0"], "argument --trials: must be an integer >= 1, got '0'"),
        ("value_augment_overhead.py", ["--repeats", "0"], "argument --repeats: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--timesteps", "0"], "argument --timesteps: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--threads", "0"], "argument --threads: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--repeats", "0"], "argument --repeats: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--hidden", "0"], "argument --hidden: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--n-steps", "0"], "argument --n-steps: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--n-envs", "0"], "argument --n-envs: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--n-envs", "2", "--n-steps", "2"], "batch_size (1600) must be <= one rollout"),
        (
            "train_speed.py",
            ["--n-envs", "128", "--batch-size", "7000"],
            "with the layout of the project defaults: batch_size (7000) must be <= one rollout, n_envs * n_steps = 320 * 20",
        ),
        ("train_speed.py", ["--n-steps", "2", "--batch-size", "1000"], "batch_size (1000) must be <= one rollout"),
        ("train_speed.py", ["--workers", "0"], "--workers: must be an integer >= 1, got '0'"),
        ("train_speed.py", ["--workers", " , "], "--workers: none given"),
        ("train_speed.py", ["--worker-sizes", "global,double"], "--worker-sizes: unknown sizes ['double']"),
        ("train_speed.py", ["--only-workers", "--worker-seconds", "0"], "--only-workers needs --worker-seconds > 0"),
        (
            "train_speed.py",
            ["--workers", "1,3"],
            "--workers 3 with RL2Bandit-v0: n_envs (320) must be divisible by the number of workers (3)",
        ),
        (
            "train_speed.py",
            ["--worker-envs", "bandit,maze"],
            "--worker-envs: unknown names ['maze']; allowed: ['bandit', 'mdp', 'rl3_mdp']",
        ),
        ("train_speed.py", ["--worker-seconds", "-1"], "argument --worker-seconds: must be a finite number >= 0, got '-1'"),
    ],
)
def test_bad_arguments_are_refused_up_front(script, argv, message, refused):
    err = refused(_load(script), WORK[script], argv)
    assert message in err, err


def test_time_to_quality_strips_and_checks_its_lists(tmp_path):
    bench = _load("time_to_quality.py")
    args = bench.parse_args(["--which", "ours, stock", "--cells", " 10, 100 10", "--out", str(tmp_path)])
    assert args.which == ["ours", "stock"] and args.cells == [10, 100]
    runs = {(n, which): config for n, which, config in args.runs}
    assert list(runs) == [(10, "ours"), (10, "stock"), (100, "ours"), (100, "stock")]
    assert runs[10, "stock"].hyperparams["policy"] == "MlpLstmPolicy" != runs[10, "ours"].hyperparams["policy"]
    assert Path(runs[100, "ours"].out) == tmp_path / "k5_n100_ours" and runs[100, "ours"].max_seconds == 3600.0


def test_time_to_quality_compares_workers_with_one_for_the_same_budget(tmp_path):
    bench = _load("time_to_quality.py")
    args = bench.parse_args(["--workers", "2", "--out", str(tmp_path)])
    assert [(n, which, config.workers) for n, which, config in args.runs] == [(100, "ours", 1), (100, "ours", 2)]
    first, second = (config for _, _, config in args.runs)
    assert first.max_seconds == second.max_seconds == 30 * 60.0
    assert Path(first.out) == tmp_path / "k5_n100_ours_w1" and Path(second.out) == tmp_path / "k5_n100_ours_w2"
    assert first.hyperparams == second.hyperparams  # the same global rollout and minibatches
    args = bench.parse_args(["--workers", "2", "--minutes", "0.5", "--cells", "10", "--budget-scale", "2"])
    assert [config.max_seconds for _, _, config in args.runs] == [60.0, 60.0]
    assert bench.parse_args(["--cells", "10"]).runs[0][2].workers == 1  # without --workers: one run per cell, 1 worker


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "1"], "--workers: the number of workers compared with 1 must be >= 2, got 1"),
        (["--workers", "0"], "argument --workers: must be an integer >= 1, got '0'"),
        (["--workers", "3"], "n_envs (320) must be divisible by the number of workers (3)"),
        (["--minutes", "0"], "argument --minutes: must be a finite number > 0, got '0'"),
    ],
)
def test_time_to_quality_refuses_bad_worker_comparisons(argv, message, refused):
    err = refused(_load("time_to_quality.py"), WORK["time_to_quality.py"], argv)
    assert message in err, err

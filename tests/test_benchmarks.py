"""The quick benchmark scripts of `make bench` run and print their figures (tiny settings; no timing asserted), and
every benchmark script refuses bad arguments with argparse's error before doing any work."""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import runpy
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    "script, args, expected",
    [
        ("env_throughput.py", ["--seconds", "0.05"], ["RL2Bandit-v0", "RL2TabularMDP-v0", "batched"]),
        ("train_speed.py", ["--timesteps", "64", "--n-envs", "8", "--n-steps", "8", "--batch-size", "64", "--n-epochs", "1",
                            "--hidden", "8"],
         ["ratio RL2GRUPolicy / stock MlpLstmPolicy (n_envs=8, n_steps=8", "layout of the project defaults", "project defaults (n_envs=320", "% of peak"]),
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
    "gridworld_reference.py": "reference_plays",
    "rl3_vs_rl2.py": "ensure_trained",
}
"""Script -> its first function that does work: the tests make it fail, so a refusal must come before it."""


def _refused(script: str, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main(argv)`` of ``script``; assert argparse's refusal (exit code 2, no work started); return stderr."""
    module = _load(script)

    def no_work(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{script} started working before refusing {argv}")

    monkeypatch.setattr(module, WORK[script], no_work)
    with pytest.raises(SystemExit) as exit_info:
        module.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error: " in err
    return err


@pytest.mark.parametrize(
    "script, argv, message",
    [
        ("rl3_vs_rl2.py", ["--trials", "0"], "argument --trials: must be an integer >= 2, got '0'"),
        ("rl3_vs_rl2.py", ["--smoke", "--trials", "1"], "argument --trials: must be an integer >= 2, got '1'"),
        ("rl3_vs_rl2.py", ["--train-eval-trials", "0"], "argument --train-eval-trials: must be an integer >= 2, got '0'"),
        ("rl3_vs_rl2.py", ["--minutes", "0"], "argument --minutes: must be a finite number > 0, got '0'"),
        ("rl3_vs_rl2.py", ["--steps=-1e6"], "argument --steps: must be a finite number >= 0, got '-1e6'"),
        ("rl3_vs_rl2.py", ["--eval-every", "-5"], "argument --eval-every: must be a finite number >= 0, got '-5'"),
        ("rl3_vs_rl2.py", ["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
        ("rl3_vs_rl2.py", ["--eval-seed", "x"], "argument --eval-seed: must be an integer >= 0, got 'x'"),
        ("rl3_vs_rl2.py", ["--experiments", ","], "--experiments: none given; known: ['bandit_h100',"),
        ("rl3_vs_rl2.py", ["--hyperparams", "learning_rate"], "--hyperparams: expected KEY=VALUE, got 'learning_rate'"),
        ("rl3_vs_rl2.py", ["--experiments", "mdp_h100", "--hyperparams", "no_such=1"], "unknown hyperparameter 'no_such'"),
        ("time_to_quality.py", ["--which", "ours,fast"], "--which: unknown configurations ['fast']; allowed: ['ours', 'stock']"),
        ("time_to_quality.py", ["--which", " , "], "--which: none given; allowed: ['ours', 'stock']"),
        ("time_to_quality.py", ["--cells", "7"], "--cells: unknown cells ['7']; allowed: [10, 100]"),
        ("time_to_quality.py", ["--cells", "10,ten"], "--cells: unknown cells ['ten']; allowed: [10, 100]"),
        ("time_to_quality.py", ["--budget-scale", "0"], "argument --budget-scale: must be a finite number > 0, got '0'"),
        ("time_to_quality.py", ["--budget-scale", "1e-9"], "total_timesteps must be an integer >= 1"),
        ("time_to_quality.py", ["--seed", "-2"], "argument --seed: must be an integer >= 0, got '-2'"),
        ("time_to_quality.py", ["--lr-anneal", "2"], "lr_anneal must be a fraction of the training budget in [0, 1]"),
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
        ("train_speed.py", ["--n-envs", "128", "--batch-size", "7000"],
         "with the layout of the project defaults: batch_size (7000) must be <= one rollout, n_envs * n_steps = 320 * 20"),
        ("train_speed.py", ["--n-steps", "2", "--batch-size", "1000"], "batch_size (1000) must be <= one rollout"),
        ("gridworld_reference.py", ["--trials", "0"], "argument --trials: must be an integer >= 1, got '0'"),
        ("gridworld_reference.py", ["--eval-seed", "-1"], "argument --eval-seed: must be an integer >= 0, got '-1'"),
        ("gridworld_reference.py", ["--grids", ","], "--grids: none given; known: ['grid11',"),
        ("gridworld_reference.py", ["--grids", "grid12"], "--grids: unknown grids ['grid12']; known: ['grid11',"),
    ],
)
def test_bad_arguments_are_refused_up_front(script, argv, message, monkeypatch, capsys):
    err = _refused(script, argv, monkeypatch, capsys)
    assert message in err, err


def test_rl3_vs_rl2_uses_given_trial_counts_as_given():
    bench = _load("rl3_vs_rl2.py")
    args = bench.parse_args(["--trials", "2", "--train-eval-trials", "2"])
    assert (args.trials, args.train_eval_trials) == (2, 2)
    smoke = bench.parse_args(["--smoke", "--trials", "7", "--train-eval-trials", "3"])
    assert (smoke.trials, smoke.train_eval_trials) == (7, 3)
    assert (bench.parse_args(["--smoke"]).trials, bench.parse_args([]).trials) == (bench.SMOKE_TRIALS, 1000)


def test_time_to_quality_strips_and_checks_its_lists(tmp_path):
    bench = _load("time_to_quality.py")
    args = bench.parse_args(["--which", "ours, stock", "--cells", " 10, 100 10", "--out", str(tmp_path)])
    assert args.which == ["ours", "stock"] and args.cells == [10, 100]
    runs = {(n, which): config for n, which, config in args.runs}
    assert list(runs) == [(10, "ours"), (10, "stock"), (100, "ours"), (100, "stock")]
    assert runs[10, "stock"].hyperparams["policy"] == "MlpLstmPolicy" != runs[10, "ours"].hyperparams["policy"]
    assert Path(runs[100, "ours"].out) == tmp_path / "k5_n100_ours" and runs[100, "ours"].max_seconds == 3600.0


def _fake_run(folder: Path, env_id: str, env_kwargs: dict, model: bool = True) -> Path:
    """A run folder with a ``config.json`` (and an empty model file): enough for the up-front checks."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"env_id": env_id, "env_kwargs": env_kwargs}))
    if model:
        (folder / "model.zip").write_bytes(b"")
    return folder


def test_gridworld_reference_checks_its_models_up_front(tmp_path, monkeypatch, capsys):
    bandit = _fake_run(tmp_path / "bandit", "RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 10})
    grid11 = _fake_run(tmp_path / "grid11", "RL2GridWorld-v0", {})  # no size: the default, 11
    grid13 = _fake_run(tmp_path / "grid13", "RL3GridWorld-v0", {"size": 13, "time_inputs": False})
    untrained = _fake_run(tmp_path / "untrained", "RL2GridWorld-v0", {"size": 11}, model=False)
    (tmp_path / "empty").mkdir()
    cases = [
        ([f"X={bandit}"], "trained on RL2Bandit-v0 {'num_arms': 5, 'episodes_per_trial': 10}, not on a gridworld; "
                          "allowed ids: ['RL2GridWorld-v0', 'RL3GridWorld-v0']"),
        ([f"X={tmp_path / 'empty'}"], "config.json not found"),
        ([f"X={untrained}"], "no model.zip or checkpoint"),
        ([f"X={grid11}", "--grids", "grid11,grid13_dense"], "trained on RL2GridWorld-v0 size 11, cannot play the grids "
                                                            "['grid13_dense'] of another size; --grids it can play: ['grid11']"),
        ([f"X={grid13}"], "trained on RL3GridWorld-v0 size 13, cannot play the grids ['grid11'] of another size"),
        ([f"X={grid11}", f"X={grid13}", "--grids", "grid11"], "the label 'X' is given twice"),
        ([f"X={tmp_path / 'missing'}"], "is not a run folder"),
    ]
    for models, message in cases:
        err = _refused("gridworld_reference.py", ["--trials", "2", "--models", *models], monkeypatch, capsys)
        assert "error: --models 'X=" in err and message in err, (models, err)
    bench = _load("gridworld_reference.py")
    bench._check_models({"a": str(grid11)}, ["grid11"])
    bench._check_models({"b": str(grid13)}, ["grid13", "grid13_dense", "grid13_corner"])


def test_shared_argparse_types():
    from rl2_agent import cli_args as types

    assert types.int_at_least(2)("2") == 2 and types.positive_int("1") == 1 and types.non_negative_int("0") == 0
    assert types.positive_float("0.5") == 0.5 and types.non_negative_float("1e6") == 1e6
    for parse, text in ((types.int_at_least(2), "1"), (types.non_negative_int, "1.5"), (types.positive_float, "inf"),
                        (types.non_negative_float, "-0.1"), (types.positive_float, "fast")):  # fmt: skip
        with pytest.raises(argparse.ArgumentTypeError, match=repr(text)):
            parse(text)

"""rl2_agent.experiments.rl3_vs_rl2: the RL^3 vs RL^2 experiment (smoke mode), its experiment registry and its
command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import gymnasium as gym
import pytest

import meta_envs  # noqa: F401  (registers the ids)
from rl2_agent.experiments import rl3_vs_rl2
from rl2_agent.experiments.paper import RL3_PAPER
from rl2_agent.hyperparams import RL3_TWINS, get_hyperparams


@pytest.fixture
def bench():
    return rl3_vs_rl2


def test_every_experiment_has_paper_numbers_and_valid_envs(bench):
    assert set(RL3_PAPER) == set(bench.EXPERIMENTS)
    assert set(bench.DEFAULT_EXPERIMENTS) <= set(bench.EXPERIMENTS)
    assert RL3_PAPER["mdp_h1000_from_500"] == {"rl2": (1871.8, 7.4), "rl3": (1916.8, 7.4)}
    assert RL3_PAPER["grid13_deterministic"]["rl3"] == (1574.0, 35.0)
    for name, exp in bench.EXPERIMENTS.items():
        setting = bench.SETTINGS[exp.setting]
        assert RL3_TWINS[setting.rl3_id] == setting.rl2_id
        eval_kwargs = {**setting.env_kwargs, **exp.eval_changes}
        spaces = {}
        for agent in bench.AGENTS:
            train_space = _space(bench, setting, agent, setting.env_kwargs)
            eval_space = _space(bench, setting, agent, eval_kwargs)
            assert eval_space == train_space, f"{name}: the {agent} model could not be evaluated on {eval_kwargs}"
            spaces[agent] = train_space.shape[0]
        # time_inputs=False: RL^3 adds exactly Q(s, .) and N(s, .)
        num_actions = gym.make(setting.rl2_id, **setting.env_kwargs).action_space.n
        assert spaces["rl3"] == spaces["rl2"] + 2 * num_actions, name


def _space(bench, setting, agent, kwargs) -> gym.Space:
    env_id, env_kwargs = bench.agent_env(setting, agent, kwargs, time_inputs=False)
    return gym.make(env_id, **env_kwargs).observation_space


def test_both_agents_get_the_same_hyperparameters(bench, tmp_path):
    for rl3_id, rl2_id in RL3_TWINS.items():
        assert get_hyperparams(rl3_id) == get_hyperparams(rl2_id)
    args = bench.parse_args(["--runs", str(tmp_path), "--hyperparams", "learning_rate=3e-4"])
    assert args.trials == 1000 and args.seconds == 1200.0 and not args.time_inputs
    for setting in bench.SETTINGS:
        rl2, rl3 = (bench.train_config(args, setting, agent) for agent in bench.AGENTS)
        assert rl2.hyperparams == rl3.hyperparams and rl2.hyperparams["learning_rate"] == 3e-4
        assert (rl2.max_seconds, rl2.seed, rl2.total_timesteps) == (rl3.max_seconds, rl3.seed, rl3.total_timesteps)
        assert rl3.env_kwargs == {**rl2.env_kwargs, "time_inputs": False}
        assert Path(rl3.out).name == "rl3" and Path(rl2.out).parent == Path(rl3.out).parent == tmp_path / setting
    timed_args = bench.parse_args(["--runs", str(tmp_path), "--time-inputs"])
    for agent in bench.AGENTS:  # the paper's setup: both agents get the time inputs
        timed = bench.train_config(timed_args, "mdp_h100", agent)
        assert timed.env_kwargs["time_inputs"] is True and Path(timed.out).name == f"{agent}_time"
    with pytest.raises(SystemExit):
        bench.parse_args(["--experiments", "bandit_h7"])


def test_smoke_run_writes_the_table_and_reuses_its_runs(bench, tmp_path, capsys):
    argv = ["--experiments", "bandit_h100", "--smoke", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "report")]
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["config"]["trials"] == 50 and report["config"]["smoke"] and not report["config"]["time_inputs"]
    assert list(report["experiments"]) == ["bandit_h100"] and list(report["models"]) == ["bandit_h100"]
    row = report["experiments"]["bandit_h100"]
    assert row["paper"] == {"rl2": {"mean": 76.9, "se": 0.6}, "rl3": {"mean": 77.5, "se": 0.5}}
    assert row["eval_env_kwargs"] == {"num_arms": 5, "episodes_per_trial": 100}
    for key in ("rl2", "rl3", "rl3_minus_rl2"):
        for mode in ("greedy", "stochastic"):
            value = row[key][mode]
            assert math.isfinite(value["mean"]) and value["se"] > 0, (key, mode)
            if key != "rl3_minus_rl2":
                assert 0 <= value["mean"] <= 100  # 100 Bernoulli pulls
    models = report["models"]["bandit_h100"]
    assert models["rl2"]["env_id"] == "RL2Bandit-v0" and models["rl3"]["env_id"] == "RL3Bandit-v0"
    assert models["rl3"]["env_kwargs"]["time_inputs"] is False
    for m in models.values():
        assert m["steps"] > 0 and 0 < m["train_seconds"] < 30 and m["budget_seconds"] == 3.0 and not m["reused"]

    # the markdown: the results table (10 columns, one row) and the training table (one row per model)
    md = (tmp_path / "report.md").read_text()
    assert md.strip() in printed
    tables = [[line for line in block.splitlines() if line.startswith("|")] for block in md.split("\n\n")]
    results, training = [t for t in tables if t]
    assert len(results) == 3 and all(line.count("|") == 11 for line in results)
    assert results[2].startswith("| bandit_h100 | bandit_h100 | 76.9 +- 0.6 | 77.5 +- 0.5 |")
    assert len(training) == 4 and "RL^2" in training[2] and "RL^3" in training[3]

    # a second run reuses the models and the cached evaluations
    model_zip = tmp_path / "runs" / "bandit_h100" / "rl3" / "model.zip"
    stamp = model_zip.stat().st_mtime_ns
    assert bench.main(argv) == 0
    again = json.loads((tmp_path / "report.json").read_text())
    assert model_zip.stat().st_mtime_ns == stamp
    assert all(m["reused"] for m in again["models"]["bandit_h100"].values())
    assert again["experiments"] == report["experiments"]

    # other hyperparameters on the same run folders: refused, not silently mixed
    with pytest.raises(SystemExit, match="--retrain"):
        bench.main(argv + ["--hyperparams", "learning_rate=1e-4"])


def test_train_only_trains_one_agent_and_the_table_reuses_it(bench, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["--experiments", "bandit_h100", "--smoke", "--runs", str(runs), "--out", str(tmp_path / "report")]
    assert bench.main(argv + ["--train-only", "rl3"]) == 0
    assert (runs / "bandit_h100" / "rl3" / "model.zip").exists()
    assert not (runs / "bandit_h100" / "rl2").exists()  # the other agent is left to another process
    assert not (tmp_path / "report.json").exists()  # no evaluation, no table
    assert "bandit_h100 rl3:" in capsys.readouterr().out
    assert bench.main(argv) == 0  # the table run trains RL^2 and reuses RL^3
    models = json.loads((tmp_path / "report.json").read_text())["models"]["bandit_h100"]
    assert models["rl3"]["reused"] and not models["rl2"]["reused"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--train-only", "rl4"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--trials", "0"], "argument --trials: must be an integer >= 2, got '0'"),
        (["--smoke", "--trials", "1"], "argument --trials: must be an integer >= 2, got '1'"),
        (["--train-eval-trials", "0"], "argument --train-eval-trials: must be an integer >= 2, got '0'"),
        (["--minutes", "0"], "argument --minutes: must be a finite number > 0, got '0'"),
        (["--steps=-1e6"], "argument --steps: must be a finite number >= 0, got '-1e6'"),
        (["--eval-every", "-5"], "argument --eval-every: must be a finite number >= 0, got '-5'"),
        (["--seed", "-1"], "argument --seed: must be an integer >= 0, got '-1'"),
        (["--eval-seed", "x"], "argument --eval-seed: must be an integer >= 0, got 'x'"),
        (["--experiments", ","], "--experiments: none given; known: ['bandit_h100',"),
        (["--hyperparams", "learning_rate"], "--hyperparams: expected KEY=VALUE, got 'learning_rate'"),
        (["--experiments", "mdp_h100", "--hyperparams", "no_such=1"], "unknown hyperparameter 'no_such'"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(argv, message, refused):
    err = refused(rl3_vs_rl2, "ensure_trained", argv)
    assert message in err, err


def test_rl3_vs_rl2_uses_given_trial_counts_as_given():
    bench = rl3_vs_rl2
    args = bench.parse_args(["--trials", "2", "--train-eval-trials", "2"])
    assert (args.trials, args.train_eval_trials) == (2, 2)
    smoke = bench.parse_args(["--smoke", "--trials", "7", "--train-eval-trials", "3"])
    assert (smoke.trials, smoke.train_eval_trials) == (7, 3)
    assert (bench.parse_args(["--smoke"]).trials, bench.parse_args([]).trials) == (bench.SMOKE_TRIALS, 1000)

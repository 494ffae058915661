"""Training / evaluation CLI and API: run folders, resume, ctrl-C, held-out evaluation, the demo."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from tiny_runs import TINY, tiny_train_args

from rl2_agent.arguments import parse_kwargs
from rl2_agent.cli import main
from rl2_agent.evaluation import EVAL_SEED, VALIDATION_SEED, held_out_tasks, run_trials
from rl2_agent.experiments.evaluate import evaluate_run
from rl2_agent.training.callbacks import LearningRateAnneal, ValidationCallback
from rl2_agent.training.command import add_arguments, config_from_args
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import make_training_env, resumed_seed, train
from rl2_agent.training.run_folder import load_model


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert main(tiny_train_args(out)) == 0
    return out


def test_train_writes_the_run_folder(run_dir):
    for name in ("config.json", "checkpoint.zip", "checkpoint.json", "model.zip", "best_model.zip", "eval_log.csv"):
        assert (run_dir / name).exists(), name
    assert not list(run_dir.glob("*.tmp*")), "no temporary files left behind"
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env_id"] == "RL2Bandit-v0" and config["env_kwargs"] == {"num_arms": 3, "episodes_per_trial": 5}
    hp = config["hyperparams"]
    assert hp["n_steps"] == 16 and hp["policy_kwargs"]["gru_hidden_size"] == 16 and hp["gae_lambda"] == 0.3
    assert config["versions"]["torch"] == th.__version__
    rows = list(csv.DictReader((run_dir / "eval_log.csv").open()))
    assert [int(r["timesteps"]) for r in rows] == sorted(int(r["timesteps"]) for r in rows)
    assert int(rows[-1]["timesteps"]) == 1024
    model = load_model(run_dir)
    assert type(model.policy).__name__ == "RL2GRUPolicy" and model.num_timesteps == 1024


def best_row(out: Path) -> dict[str, float]:
    rows = list(csv.DictReader((out / "eval_log.csv").open()))
    return max(rows, key=lambda r: float(r["mean"]))


def test_best_model_is_the_best_evaluation(run_dir):
    best = best_row(run_dir)
    state = json.loads((run_dir / "checkpoint.json").read_text())
    assert state["best"]["timesteps"] == int(best["timesteps"]) and state["best"]["mean"] == pytest.approx(float(best["mean"]))
    assert load_model(run_dir, which="best").num_timesteps == int(best["timesteps"])


def test_load_model_errors(run_dir, tmp_path):
    with pytest.raises(ValueError, match=r"which must be one of \['final', 'best'\], got 'last'"):
        load_model(run_dir, which="last")
    with pytest.raises(FileNotFoundError, match="no best_model.zip in"):
        load_model(tmp_path, which="best")


def test_training_evaluations_play_the_validation_tasks_not_the_test_tasks(monkeypatch, tmp_path):
    import rl2_agent.training.callbacks as callbacks

    seeds = []

    def spy(*args, **kwargs):
        seeds.append(args[4])
        return run_trials(*args, **kwargs)

    monkeypatch.setattr(callbacks, "run_trials", spy)
    assert main(tiny_train_args(tmp_path / "v", timesteps=512)) == 0
    assert seeds and set(seeds) == {VALIDATION_SEED}
    assert VALIDATION_SEED >= EVAL_SEED + 100_000  # the two task sets cannot overlap for any usual --trials


def test_curves_of_a_trained_run(run_dir, tmp_path, capsys):
    rows = list(csv.DictReader((run_dir / "eval_log.csv").open()))
    assert main(["curves", str(run_dir), "--out", str(tmp_path / "c.png")]) == 0
    best = best_row(run_dir)
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith(f"| {run_dir.name} | 0.00M |") and f"{float(rows[-1]['mean']):.2f} ± " in line
    assert f"{float(best['mean']):.2f} ± {float(best['se']):.2f}" in line and (tmp_path / "c.png").exists()


def test_resume_continues_from_the_checkpoint(run_dir, tmp_path):
    import shutil

    out = tmp_path / "resumed"
    shutil.copytree(run_dir, out)
    assert main(tiny_train_args(out, timesteps=2048) + ["--resume"]) == 0
    assert load_model(out).num_timesteps == 2048
    steps = [int(r["timesteps"]) for r in csv.DictReader((out / "eval_log.csv").open())]
    assert steps[0] < 1024 < steps[-1] == 2048  # the log of the first part is kept
    # the best model is chosen over the whole run, the evaluations before the resume included
    best = best_row(out)
    assert json.loads((out / "checkpoint.json").read_text())["best"]["timesteps"] == int(best["timesteps"])
    assert load_model(out, which="best").num_timesteps == int(best["timesteps"])


def test_resume_drops_evaluations_logged_after_the_checkpoint(run_dir, tmp_path, caplog):
    """A run killed between an evaluation and its checkpoint: the resumed log holds no evaluation of lost weights."""
    out = tmp_path / "killed"
    args = resumed_copy(run_dir, out, timesteps=1536)
    with (out / "eval_log.csv").open("a", newline="") as f:  # the evaluation at step 1536 of a killed run
        csv.writer(f).writerow([1536, 99.0, 9.9, 0.1])
    state = json.loads((out / "checkpoint.json").read_text())
    (out / "checkpoint.json").write_text(json.dumps({**state, "num_timesteps": 1280}))  # a set not written whole
    with caplog.at_level("WARNING"):
        assert main(args) == 0
    assert "checkpoint.zip is at step 1024 but checkpoint.json says 1280" in caplog.text
    rows = list(csv.DictReader((out / "eval_log.csv").open()))
    assert [float(r["mean"]) for r in rows].count(9.9) == 0
    assert int(rows[-1]["timesteps"]) == 1536 and [int(r["timesteps"]) for r in rows] == sorted(
        int(r["timesteps"]) for r in rows
    )
    assert not list(out.glob("*.tmp*"))  # no temporary file of the checkpoint set is left behind


def test_resumed_seed_is_reproducible_new_and_far_from_the_held_out_seeds():
    seeds = {resumed_seed(s, t) for s in range(3) for t in (1024, 2048, 10**7)}
    assert len(seeds) == 9 and resumed_seed(0, 1024) == resumed_seed(0, 1024)
    assert all(0 <= x < 2**62 and not EVAL_SEED - 10**6 <= x <= VALIDATION_SEED + 10**6 for x in seeds)


@pytest.mark.parametrize(("env_id", "n_envs", "batch_size"), [("RL2Bandit-v0", 32, 160), ("RL2TabularMDP-v0", 32, 800)])
def test_n_envs_scales_the_minibatch_with_the_rollout(env_id, n_envs, batch_size, tmp_path):
    """``rl2 train --env RL2Bandit-v0 ... --n-envs 32`` trains: batch_size keeps the defaults' minibatch count."""
    import argparse

    from rl2_agent.hyperparams import get_hyperparams

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    argv = ["--env", env_id, "--n-envs", str(n_envs), "--out", str(tmp_path)]
    hp = config_from_args(parser.parse_args(argv)).hyperparams
    default = get_hyperparams(env_id)
    assert hp["n_envs"] == n_envs and hp["batch_size"] == batch_size
    assert n_envs * hp["n_steps"] // hp["batch_size"] == default["n_envs"] * default["n_steps"] // default["batch_size"]
    # an explicit batch_size is kept (and checked against the rollout)
    hp = config_from_args(parser.parse_args(argv + ["--hyperparams", "batch_size=320"])).hyperparams
    assert hp["batch_size"] == 320
    with pytest.raises(ValueError, match=r"batch_size \(6400\) must be <= one rollout"):
        config_from_args(parser.parse_args(argv + ["--hyperparams", "batch_size=6400"]))


def test_train_with_fewer_envs_than_the_defaults_runs(tmp_path):
    """``--n-envs 32`` on the 5-armed 10-pull bandit (a tiny budget): the minibatches shrink with the rollout."""
    out = tmp_path / "x"
    argv = [
        "train",
        "--env",
        "RL2Bandit-v0",
        "--env-kwargs",
        "num_arms=5",
        "episodes_per_trial=10",
        "--timesteps",
        "1280",
        "--n-envs",
        "32",
        "--seed",
        "0",
        "--out",
        str(out),
        "--eval-trials",
        "20",
        "--no-progress",
    ]
    assert main(argv) == 0
    model = load_model(out)
    assert model.num_timesteps == 1280 and model.n_envs == 32 and model.batch_size == 160


def resumed_copy(run_dir: Path, out: Path, timesteps: int) -> list[str]:
    """Copy ``run_dir`` to ``out``; the train arguments that resume the copy with the run's own settings (no TINY)."""
    import shutil

    shutil.copytree(run_dir, out)
    return [a for a in tiny_train_args(out, timesteps=timesteps) if a not in TINY and a != "--hyperparams"] + ["--resume"]


def test_resume_keeps_the_runs_settings_and_may_change_ppo_ones(run_dir, tmp_path):
    out = tmp_path / "finetune"
    args = resumed_copy(run_dir, out, timesteps=1536)
    # without TINY on the command line: the run's own n_steps / network, plus a lower learning rate
    assert main(args + ["--hyperparams", "learning_rate=1e-4", "batch_size=32"]) == 0
    model = load_model(out)
    assert model.num_timesteps == 1536 and model.n_steps == 16 and model.batch_size == 32
    assert model.lr_schedule(1.0) == 1e-4 and model.policy.optimizer.param_groups[0]["lr"] == 1e-4
    config = json.loads((out / "config.json").read_text())
    assert config["hyperparams"]["learning_rate"] == 1e-4 and config["hyperparams"]["n_steps"] == 16
    [resumed] = config["resumes"]
    assert resumed["at_step"] == 1024 and resumed["changed"] == {"learning_rate": 1e-4, "batch_size": 32}
    assert resumed["seed"] == resumed_seed(0, 1024) != 0  # new tasks and noise, not a replay of the run's start
    with pytest.raises(ValueError, match=r"n_steps \(16 -> 32\) cannot change in a resumed run; settings that can: "):
        main(args + ["--timesteps", "4096", "--hyperparams", "n_steps=32"])


def test_linear_schedules_follow_rl_zoo_and_resume(run_dir, tmp_path):
    out = tmp_path / "lin"
    args = resumed_copy(run_dir, out, timesteps=2048)
    assert main(args + ["--hyperparams", "learning_rate=lin_2e-3", "clip_range=lin_0.3"]) == 0
    model = load_model(out)
    assert model.lr_schedule(1.0) == pytest.approx(2e-3) and model.lr_schedule(0.25) == pytest.approx(5e-4)
    assert model.clip_range(0.5) == pytest.approx(0.15)
    # SB3 updates progress_remaining after each rollout, so the last update (at step 2048 of 2048) ran at lr 0
    assert model.policy.optimizer.param_groups[0]["lr"] == 0.0
    config = json.loads((out / "config.json").read_text())
    assert config["hyperparams"]["learning_rate"] == "lin_2e-3"  # the config keeps the Zoo's string


@pytest.mark.parametrize("value", ["lin_fast", "lin_-1e-3", "fast", -1e-3, 0])
def test_bad_learning_rate_is_refused_at_construction(value):
    with pytest.raises(ValueError, match=r"learning_rate must be a number in \(0, 1\] or 'lin_<a number in \(0, 1\]>'"):
        TrainConfig("RL2Bandit-v0", {"num_arms": 3}, hyperparams={"learning_rate": value})


def test_linear_schedule_needs_a_step_budget():
    from rl2_agent.hyperparams import TIME_BUDGET_STEP_CAP

    with pytest.raises(ValueError, match=r"learning_rate='lin_1e-3': a 'lin_' schedule decays to 0 at total_timesteps"):
        TrainConfig(
            "RL2Bandit-v0",
            {"num_arms": 3},
            total_timesteps=TIME_BUDGET_STEP_CAP,
            max_seconds=60,
            hyperparams={"learning_rate": "lin_1e-3"},
        )


def test_lr_anneal_decays_over_the_last_fraction_of_either_budget(tmp_path, monkeypatch):
    steps = TrainConfig("RL2Bandit-v0", {"num_arms": 3}, total_timesteps=1000, lr_anneal=0.5)
    anneal = LearningRateAnneal(ValidationCallback(steps, tmp_path), steps.lr_anneal)

    def factor_at(steps: int) -> float:
        anneal.num_timesteps = steps
        return anneal.factor()

    assert [factor_at(n) for n in (0, 400, 500, 750, 900, 1000)] == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.2, 0.0])
    # a wall-clock budget: its clock decides when it is nearer to its end than the step budget
    timed = TrainConfig("RL2Bandit-v0", {"num_arms": 3}, total_timesteps=10**9, max_seconds=100.0, lr_anneal=0.25)
    clock = ValidationCallback(timed, tmp_path)
    anneal = LearningRateAnneal(clock, timed.lr_anneal)
    anneal.num_timesteps = 123_456
    for seconds, factor in ((10.0, 1.0), (75.0, 1.0), (85.0, 0.6), (100.0, 0.0), (130.0, 0.0)):
        monkeypatch.setattr(clock, "elapsed", lambda s=seconds: s)
        assert anneal.factor() == pytest.approx(factor)


def test_lr_anneal_trains_with_a_decaying_rate_and_saves_the_configured_one(run_dir, tmp_path, monkeypatch):
    out = tmp_path / "anneal"
    args = resumed_copy(run_dir, out, timesteps=2048)  # 1024 steps trained, 8 more updates of 128 steps
    rates: list[float] = []
    real = LearningRateAnneal._on_rollout_end

    def record(self):
        real(self)
        rates.append(self.model.lr_schedule(1.0))

    monkeypatch.setattr(LearningRateAnneal, "_on_rollout_end", record)
    assert main(args + ["--lr-anneal", "0.25"]) == 0
    # constant 1e-3 until 1536 of 2048 steps, then down by 1e-3 / 4 per 128-step rollout
    assert rates == pytest.approx([1e-3] * 4 + [7.5e-4, 5e-4, 2.5e-4, 0.0])
    model = load_model(out)
    assert model.learning_rate == 1e-3 and model.lr_schedule(1.0) == 1e-3  # a saved model keeps the configured rate
    saved = json.loads((out / "config.json").read_text())
    assert saved["lr_anneal"] == 0.25
    # --resume keeps it, like every saved setting; a config.json without it resumes with none
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--out", str(out), "--resume"])).lr_anneal == 0.25
    del saved["lr_anneal"]
    (out / "config.json").write_text(json.dumps(saved))
    assert config_from_args(parser.parse_args(["--out", str(out), "--resume"])).lr_anneal == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr_anneal": 1.5}, r"lr_anneal must be a number in \[0, 1\], got 1.5"),
        ({"lr_anneal": -0.1}, r"lr_anneal must be a number in \[0, 1\], got -0.1"),
        ({"lr_anneal": True}, r"lr_anneal must be a number in \[0, 1\], got True"),
        ({"max_seconds": -1.0}, r"max_seconds must be a finite number >= 0, got -1.0"),
        (
            {"lr_anneal": 0.3, "hyperparams": {"learning_rate": "lin_1e-3"}},
            r"lr_anneal=0.3 and learning_rate='lin_1e-3' are two learning-rate schedules",
        ),
    ],
)
def test_bad_lr_anneal_is_refused_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig("RL2Bandit-v0", {"num_arms": 3}, **kwargs)


def test_resume_without_arguments_takes_every_saved_setting(run_dir, tmp_path):
    import argparse
    import shutil

    out = tmp_path / "bare"
    shutil.copytree(run_dir, out)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--env", "RL2Bandit-v0", "--out", str(out), "--resume"]))
    assert config.env_kwargs == {"num_arms": 3, "episodes_per_trial": 5}
    assert (config.total_timesteps, config.eval_every, config.eval_trials) == (1024, 512, 20)
    assert config.hyperparams["n_steps"] == 16
    config = config_from_args(
        parser.parse_args(["--env", "RL2Bandit-v0", "--out", str(out), "--resume", "--timesteps", "2048"])
    )
    assert (config.total_timesteps, config.eval_trials) == (2048, 20)
    # the env id too: --resume --out <run> needs nothing else
    config = config_from_args(parser.parse_args(["--out", str(out), "--resume"]))
    assert (config.env_id, config.env_kwargs, config.total_timesteps) == (
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 5},
        1024,
    )
    for argv in ([], ["--out", str(tmp_path / "empty"), "--resume"], ["--resume"]):
        with pytest.raises(
            ValueError, match=r"--env is required \(an env id, e.g. RL2Bandit-v0\), except with --resume --out"
        ):
            config_from_args(parser.parse_args(argv))


def test_resuming_a_finished_run_trains_nothing_and_logs_nothing_twice(run_dir, tmp_path):
    import shutil

    out = tmp_path / "finished"
    shutil.copytree(run_dir, out)
    before = (out / "eval_log.csv").read_text()
    assert main(["train", "--env", "RL2Bandit-v0", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert (out / "eval_log.csv").read_text() == before
    assert load_model(out).num_timesteps == 1024


def test_a_new_run_refuses_a_folder_with_a_run_unless_overwrite(run_dir, tmp_path):
    import shutil

    out = tmp_path / "taken"
    shutil.copytree(run_dir, out)
    with pytest.raises(
        FileExistsError, match=r"already holds a training run \(model.zip, checkpoint.zip\): continue it with --resume"
    ):
        main(tiny_train_args(out, timesteps=512))
    assert load_model(out).num_timesteps == 1024  # untouched
    assert main(tiny_train_args(out, timesteps=512) + ["--overwrite"]) == 0
    assert load_model(out).num_timesteps == 512
    assert [int(r["timesteps"]) for r in csv.DictReader((out / "eval_log.csv").open())] == [512]


def test_ctrl_c_leaves_a_usable_checkpoint(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = ValidationCallback._on_step

    def interrupt_after_a_while(self):
        calls["n"] += 1
        if calls["n"] == 100:  # mid-rollout of the 7th rollout (8 envs x 16 steps per rollout)
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(ValidationCallback, "_on_step", interrupt_after_a_while)
    config = TrainConfig(
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 5},
        4096,
        out=str(tmp_path),
        hyperparams={"n_envs": 8, **parse_kwargs(TINY)},
        eval_trials=10,
    )
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False)
    saved = load_model(tmp_path)  # the checkpoint (no model.zip yet)
    assert not (tmp_path / "model.zip").exists()
    assert saved.num_timesteps == 768  # 6 complete rollouts of 8 x 16: the interrupted rollout is not counted
    monkeypatch.setattr(ValidationCallback, "_on_step", original)
    config.total_timesteps = 1024
    train(config, resume=True, progress=False)
    assert load_model(tmp_path).num_timesteps == 1024


@pytest.mark.parametrize(
    "extra, steps, eval_every",
    [
        ([], 1_000_000, 50_000),  # no budget given: 1e6 steps, 20 evaluations
        (["--max-minutes", "30"], 1_000_000_000, 500_000),  # a time budget: time ends the run, not 1e6 steps
        (["--max-minutes", "30", "--timesteps", "2e6"], 2_000_000, 100_000),  # both: whichever comes first
        (["--max-minutes", "30", "--eval-every", "1e5"], 1_000_000_000, 100_000),
    ],
)
def test_the_training_budget_defaults(extra, steps, eval_every):
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--env", "RL2Bandit-v0", *extra]))
    assert (config.total_timesteps, config.eval_every) == (steps, eval_every)


def test_a_time_limited_run_stops_on_time_with_a_time_progress_bar(tmp_path, capsys):
    config = TrainConfig(
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 5},
        10**9,
        out=str(tmp_path),
        hyperparams={"n_envs": 8, **parse_kwargs(TINY)},
        eval_every=10**8,
        eval_trials=10,
        max_seconds=2.0,
    )
    model = train(config, progress=True)
    assert 0 < model.num_timesteps < 10**6
    state = json.loads((tmp_path / "checkpoint.json").read_text())
    assert 2.0 <= state["train_seconds"] < 10.0
    # the rollout cut by the time limit was never trained on: logs and checkpoint count trained steps only
    assert state["num_timesteps"] == model.num_timesteps and model.num_timesteps % (8 * 16) == 0
    assert int(list(csv.DictReader((tmp_path / "eval_log.csv").open()))[-1]["timesteps"]) == model.num_timesteps
    bar = capsys.readouterr().err
    assert "training (wall-clock budget)" in bar and "/2" in bar and f"{model.num_timesteps:,} steps" in bar


def test_evaluate_cli_writes_json_and_plot(run_dir, capsys):
    assert main(["evaluate", str(run_dir), "--trials", "50"]) == 0
    summary = json.loads((run_dir / "eval.json").read_text())
    assert summary["n_trials"] == 50 and len(summary["per_episode_mean"]) == 5
    assert summary["mean"] == pytest.approx(sum(summary["per_episode_mean"]))
    assert (run_dir / "eval.png").stat().st_size > 1000
    assert "mean trial return" in capsys.readouterr().out
    assert main(["evaluate", str(run_dir), "--trials", "50", "--model", "best"]) == 0
    best = json.loads((run_dir / "best_eval.json").read_text())
    assert best["model"] == "best" and best["n_trials"] == 50 and (run_dir / "best_eval.png").exists()
    assert "RL^2 (best model)" in capsys.readouterr().out


def test_evaluate_random_plays_the_same_trials_and_reports_the_paired_difference(run_dir, tmp_path, capsys):
    from rl2_agent.experiments.evaluate import evaluate_random, evaluate_run

    assert main(["evaluate", str(run_dir), "--trials", "40", "--random", "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "eval.json").read_text())
    trained, random = evaluate_run(run_dir, n_trials=40), evaluate_random(run_dir, n_trials=40)
    assert summary["random"]["mean"] == pytest.approx(random.mean) and summary["mean"] == pytest.approx(trained.mean)
    difference = trained.trial_returns - random.trial_returns  # trial by trial: the same tasks
    assert summary["minus_random"]["mean"] == pytest.approx(difference.mean())
    assert summary["minus_random"]["se"] == pytest.approx(difference.std(ddof=1) / np.sqrt(40))
    assert "RL^2 - random, paired on the same trials" in capsys.readouterr().out
    # random pulls of 3 arms, 5 per trial: each pays the mean arm probability, about 0.5
    assert 0.35 < random.mean / 5 < 0.65


def test_plot_redraws_saved_results(run_dir, tmp_path, capsys):
    """``rl2 plot``: eval.json files overlaid, a table JSON's cells as bar charts, run folders' learning curves."""
    if not (run_dir / "eval.json").exists():
        assert main(["evaluate", str(run_dir), "--trials", "20"]) == 0
    table = tmp_path / "bandit.json"
    table.write_text(
        json.dumps(
            {
                "10,5": {
                    "ucb1": {"mean": 6.5, "se": 0.1, "paper": 6.7, "bold": True},
                    "random": {"mean": 5.0, "se": 0.1, "paper": 5.0, "bold": False},
                }
            }
        )
    )
    figs = tmp_path / "figs"
    assert main(["plot", str(run_dir / "eval.json"), str(table), str(run_dir), "--out-dir", str(figs)]) == 0
    written = sorted(p.name for p in figs.iterdir())
    assert written == ["bandit_10_5.png", "episode_returns.png", "learning_curves.png"]
    assert all((figs / name).stat().st_size > 1000 for name in written)
    assert capsys.readouterr().out.split() == [
        str(figs / n) for n in ("episode_returns.png", "bandit_10_5.png", "learning_curves.png")
    ]
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(ValueError, match=r"other.json: not a result this command plots; allowed: an eval.json"):
        main(["plot", str(tmp_path / "other.json")])
    with pytest.raises(FileNotFoundError, match="missing.json not found"):
        main(["plot", str(tmp_path / "missing.json")])


def test_the_command_line_entry_points_run_as_programs():
    """``python -m rl2_agent`` and the installed ``rl2`` script list every command."""
    import re
    import shutil
    import subprocess
    import sys

    from rl2_agent.cli import COMMANDS

    commands = [[sys.executable, "-m", "rl2_agent", "--help"]]
    script = shutil.which("rl2", path=str(Path(sys.executable).parent))
    assert script is not None, "the rl2 console script is not installed next to the interpreter"
    commands.append([script, "--help"])
    for command in commands:
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
        listed = re.findall(r"^ {4}(\w+) ", out, re.M)  # argparse lists each command indented by 4 spaces
        assert listed == list(COMMANDS) and "plot" in listed
    err = subprocess.run(
        [sys.executable, "-m", "rl2_agent", "evaluate", "no/such/run"], capture_output=True, text=True, timeout=60
    )
    assert err.returncode == 2 and err.stderr.startswith("rl2 evaluate: error: ") and "no/such/run" in err.stderr


def test_independent_evaluation_reproduces_the_score(run_dir):
    """Single envs, seeded trials, stochastic actions, state reset only at trial starts."""
    model = load_model(run_dir)
    reported = evaluate_run(run_dir, n_trials=400)
    returns = []
    for i in range(400):
        env = gym.make("RL2Bandit-v0", num_arms=3, episodes_per_trial=5)
        obs, _ = env.reset(seed=EVAL_SEED + i)
        state, start, total, done = None, np.array([True]), 0.0, False
        while not done:
            action, state = model.predict(obs[None], state, start, deterministic=False)
            obs, reward, done, _, _ = env.step(int(action[0]))
            total += reward
            start = np.array([False])
        returns.append(total)
    se = np.sqrt(np.var(returns) / 400 + reported.se**2)
    assert abs(np.mean(returns) - reported.mean) < 4 * se


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"env_id": "RL2Nope-v0"}, "unknown env id 'RL2Nope-v0'"),
        ({"env_kwargs": {"num_arms": 1}}, "num_arms must be an integer >= 2"),
        ({"total_timesteps": -5}, "total_timesteps must be an integer >= 1"),
        ({"hyperparams": {"learning_rat": 1e-3}}, "unknown hyperparameter 'learning_rat'"),
        ({"threads": 0}, "threads must be an integer >= 1"),
        ({"hyperparams": {"n_envs": 0}}, "n_envs must be an integer >= 1, got 0"),
        ({"hyperparams": {"n_steps": 0}}, "n_steps must be an integer >= 1, got 0"),
        (
            {"hyperparams": {"n_envs": 4, "n_steps": 100, "batch_size": 1600}},
            r"batch_size \(1600\) must be <= one rollout, n_envs \* n_steps = 4 \* 100 = 400",
        ),
    ],
)
def test_bad_train_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"env_id": "RL2Bandit-v0", **kwargs})


def test_wrong_observation_shape_for_checkpoint(run_dir):
    with pytest.raises(ValueError, match="the model expects observations"):
        evaluate_run(run_dir, env_kwargs={"num_arms": 5, "episodes_per_trial": 5}, n_trials=2)


def test_run_trials_refuses_explicit_tasks_it_cannot_set():
    from rl2_agent.agents.baselines.gridworld import ConstantAgent

    tasks = held_out_tasks("RL2GridWorld-v0", {}, 2, seed=5)
    with pytest.raises(ValueError, match="tasks= needs an id with a batched implementation; RL2GridWorld-v0 has none"):
        run_trials(ConstantAgent(), "RL2GridWorld-v0", {}, n_trials=2, tasks=tasks)


def test_evaluate_env_kwargs_override_the_trained_ones(run_dir):
    ood = evaluate_run(run_dir, env_kwargs={"arm_prior": "normal"}, n_trials=20)
    assert ood.env_kwargs == {"num_arms": 3, "episodes_per_trial": 5, "arm_prior": "normal"}
    assert ood.episode_returns.shape == (20, 5)


def test_the_command_line_reports_user_errors_in_one_line(tmp_path, capsys):
    from rl2_agent.cli import cli

    assert cli(["evaluate", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rl2 evaluate: error: ") and "config.json not found" in err and "Traceback" not in err
    assert cli(["train", "--env", "RL2Bandit-v0", "--env-kwargs", "num_arms=0", "--no-progress"]) == 2
    assert "num_arms" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["evaluate", "RUN", "--trials", "1"], "--trials must be an integer >= 2 (a standard error needs two trials), got 1"),
        (["evaluate", "RUN", "--seed", "-5"], "--seed must be an integer >= 0 (the first held-out task seed), got -5"),
        (["demo", "--trials", "0", "--out", "DEMO"], "--trials must be an integer >= 2"),
        (["demo", "--minutes", "-1", "--out", "DEMO"], "--minutes must be a finite number > 0, got -1.0"),
        (
            ["train", "--env", "RL2Bandit-v0", "--max-minutes", "-1", "--out", "DEMO"],
            "--max-minutes must be a finite number >= 0",
        ),
    ],
)
def test_counts_and_budgets_are_checked_before_any_work(argv, message, run_dir, tmp_path, capsys):
    from rl2_agent.cli import cli

    argv = [str(run_dir) if a == "RUN" else str(tmp_path / "demo") if a == "DEMO" else a for a in argv]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"rl2 {argv[0]}: error: ") and message in err
    assert not (tmp_path / "demo").exists()  # nothing trained


def test_evaluate_records_that_it_scored_the_checkpoint(run_dir, tmp_path, caplog):
    import shutil

    out = tmp_path / "unfinished"
    shutil.copytree(run_dir, out)
    (out / "model.zip").unlink()  # as after a crash: only the checkpoint
    with caplog.at_level("WARNING"):
        assert main(["evaluate", str(out), "--trials", "4"]) == 0
    assert "no model.zip in" in caplog.text and "using the latest checkpoint" in caplog.text
    assert json.loads((out / "eval.json").read_text())["model"] == "checkpoint"


def test_demo_runs_end_to_end(tmp_path, capsys):
    assert main(["demo", "--minutes", "0.05", "--trials", "40", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| n, k | random | greedy | ucb1 | thompson | gittins | rl2 |" in out
    for name in ("demo.md", "demo.json", "learning_curve.png", "bandit_10_5_bars.png", "bandit_10_5_regret.png"):
        assert (tmp_path / name).exists(), name
    stats = json.loads((tmp_path / "demo.json").read_text())["stats"]["10,5"]
    assert set(stats) == {"random", "greedy", "ucb1", "thompson", "gittins", "rl2"}


@pytest.mark.parametrize(
    "env_id,env_kwargs",
    [
        ("RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 100}),
        ("RL2TabularMDP-v0", {"steps_per_trial": 100}),
        ("RL2GridWorld-v0", {}),
        ("RL3Bandit-v0", {"num_arms": 5, "episodes_per_trial": 500}),
        ("RL2PointNav-v0", {"reward": "dense"}),
    ],
)
def test_the_critic_learns_targets_of_order_one_with_the_defaults(env_id, env_kwargs):
    """The returns-to-go that the learner sees (its reward scaling applied) stay of order 1.

    Raw targets of tens or hundreds killed the critic: on RL2Bandit k=5 n=100 (raw returns-to-go
    0..~45) the tanh layer of its value MLP saturated and it predicted one constant for every state
    (docs/results.md, "The dead critic"). A random policy plays three trials through the training
    env; the third one's returns-to-go (the scaling statistics have adapted by then) are checked.
    Without scaling their maxima are 52 (bandit), 106 (MDP), 767 (gridworld), 79 (500 pulls), 106 (dense point robot).
    """
    config = TrainConfig(env_id=env_id, env_kwargs=env_kwargs, hyperparams={"n_envs": 16, "batch_size": 64})
    env = make_training_env(config)
    env.reset()
    gamma, length = config.hyperparams["gamma"], gym.make(env_id, **env_kwargs).unwrapped.trial_length
    rng = np.random.default_rng(0)

    def random_actions() -> np.ndarray:
        space = env.action_space
        if hasattr(space, "n"):
            return rng.integers(space.n, size=16)
        return rng.uniform(space.low, space.high, size=(16, *space.shape)).astype(np.float32)

    rewards = np.array([env.step(random_actions())[1] for _ in range(3 * length)])
    returns, acc = np.zeros(length), np.zeros(16)
    for t in reversed(range(length)):  # the third trial (trials of the batched envs stay aligned)
        acc = rewards[2 * length + t] + gamma * acc
        returns[t] = np.abs(acc).max()
    assert returns.max() < 10, (env_id, returns.max())


# --------------------------------------------------------------------------------------
# the Python API refuses bad input at construction
# --------------------------------------------------------------------------------------
def test_numpy_scalars_in_a_config_read_back_as_given():
    config = TrainConfig(
        "RL2Bandit-v0", {"num_arms": np.int64(3), "time_inputs": np.bool_(True)}, seed=np.int64(2), total_timesteps=2e3
    )
    assert config.env_kwargs == {"num_arms": 3, "time_inputs": True} and type(config.env_kwargs["num_arms"]) is int
    assert type(config.seed) is int and config.total_timesteps == 2000
    assert json.loads(json.dumps(config.env_kwargs)) == config.env_kwargs


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eval_trials": 10.5}, r"eval_trials must be an integer >= 1, got 10.5"),
        ({"eval_every": 0.5}, r"eval_every must be an integer >= 0, got 0.5"),
        ({"threads": 1.5}, r"threads must be an integer >= 1, got 1.5"),
        ({"total_timesteps": 1.5}, r"total_timesteps must be an integer >= 1, got 1.5"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
        ({"hyperparams": {"gamma": 1.5}}, r"gamma must be a number in \(0, 1\], got 1.5"),
        ({"hyperparams": {"gae_lambda": 0}}, r"gae_lambda must be a number in \(0, 1\], got 0"),
        ({"hyperparams": {"device": "cpu"}}, r"device is not a hyperparameter here: give it to TrainConfig\(device=...\)"),
    ],
)
def test_train_config_refuses_bad_values_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig("RL2Bandit-v0", {"num_arms": 3}, **kwargs)


def test_the_policy_class_is_the_same_policy_as_its_dotted_path():
    from rl2_agent.hyperparams import POLICY, get_hyperparams
    from rl2_agent.policies import RL2GRUPolicy

    assert get_hyperparams("RL2Bandit-v0", {"policy": RL2GRUPolicy}) == get_hyperparams("RL2Bandit-v0")
    assert get_hyperparams("RL2Bandit-v0", {"policy": RL2GRUPolicy})["policy"] == POLICY


def test_resume_accepts_the_same_env_written_differently(run_dir, tmp_path):
    out = tmp_path / "same_env"
    args = resumed_copy(run_dir, out, timesteps=1536)
    args[args.index("--env-kwargs") + 1 : args.index("--env-kwargs") + 1] = ["arm_prior=uniform"]  # the default, now explicit
    assert main(args) == 0 and load_model(out).num_timesteps == 1536


def test_make_vec_env_and_run_trials_name_their_own_arguments():
    from rl2_agent.agents.scripted import UniformRandomAgent
    from rl2_agent.envs import make_vec_env

    with pytest.raises(ValueError, match=r"n_envs must be an integer >= 1, got 0"):
        make_vec_env("RL3Bandit-v0", 0)
    venv = make_vec_env("meta_envs:RL2Bandit-v0", 2)  # the prefixed id of the README works here too
    assert venv.num_envs == 2
    agent = UniformRandomAgent(5)
    for kwargs, match in (
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"n_trials": 2.5}, "n_trials must be an integer >= 1, got 2.5"),
    ):
        with pytest.raises(ValueError, match=match):
            run_trials(agent, "RL2Bandit-v0", {}, **{"n_trials": 4, **kwargs})


def test_baselines_docstring_example_runs():
    import textwrap

    import rl2_agent.agents.baselines as baselines

    code = textwrap.dedent("\n".join(line for line in baselines.__doc__.splitlines() if line.startswith("    ")))
    code = code.replace(", 1000, seed=0)", ", 50, seed=0)")  # fewer trials, same code
    scope: dict = {}
    exec(code, scope)
    assert 60 < scope["result"].trial_returns.mean() < 90  # UCB1 on 100 pulls of 5 arms: ~78


@pytest.mark.parametrize("env_id", sorted(__import__("meta_envs").ENV_IDS))
def test_every_env_id_trains_and_evaluates_through_the_cli(env_id, tmp_path):
    """``rl2 train`` + ``rl2 evaluate`` on every registered id (tiny: 20-step trials, a few updates)."""
    out = tmp_path / env_id
    tiny = ["n_steps=8", "batch_size=16", "n_epochs=1", "policy_kwargs.gru_hidden_size=8"]
    argv = [
        "train",
        "--env",
        env_id,
        "--env-kwargs",
        "steps_per_trial=20",
        "--timesteps",
        "32",
        "--n-envs",
        "2",
        "--hyperparams",
        *tiny,
        "--eval-trials",
        "2",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    assert load_model(out).num_timesteps == 32
    assert main(["evaluate", str(out), "--trials", "3"]) == 0
    summary = json.loads((out / "eval.json").read_text())
    assert summary["env_id"] == env_id and summary["n_trials"] == 3 and np.isfinite(summary["mean"])

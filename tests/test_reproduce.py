"""rl2_agent.experiments.reproduce (``rl2 reproduce``): train every cell of a paper's table, resume, report both protocols."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import meta_envs  # noqa: F401  (registers the ids)
from rl2_agent.cli import cli
from rl2_agent.experiments.reproduce import PROTOCOLS, ReproduceConfig, reproduce
from rl2_agent.hyperparams import TIME_BUDGET_STEP_CAP
from rl2_agent.training import run_folder

TINY = ["n_envs=8", "n_steps=10", "batch_size=40", "n_epochs=1", "policy_kwargs.gru_hidden_size=8"]
MINUTES = 0.03  # 1.8 s of training per run


def reproduce_command(out: Path, *extra: str) -> list[str]:
    return [
        "reproduce",
        "--table",
        "bandit",
        "--cells",
        "10,5",
        "--minutes",
        str(MINUTES),
        "--seeds",
        "2",
        "--trials",
        "40",
        "--eval-every",
        "400",
        "--eval-trials",
        "10",
        "--out",
        str(out),
        "--no-progress",
        *extra,
        "--hyperparams",
        *TINY,
    ]


def read_report(out: Path) -> dict[str, Any]:
    return json.loads((out / "table.json").read_text())


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """One bandit cell, 2 seeds, a couple of seconds of training each, 40 test trials."""
    out = tmp_path_factory.mktemp("reproduce") / "bandit"
    assert cli(reproduce_command(out)) == 0
    return out, read_report(out)


def test_every_seed_of_a_cell_trains_in_its_own_run_folder_on_a_time_budget(reproduction: tuple[Path, dict[str, Any]]) -> None:
    out, report = reproduction
    assert [r["status"] for r in report["runs"]] == ["trained", "trained"]
    for seed in (0, 1):
        run = out / "runs" / "10_5" / f"seed{seed}"
        config = run_folder.read_config(run)
        assert (run / run_folder.MODEL_FILE).exists() and (run / run_folder.BEST_MODEL_FILE).exists()
        assert config["seed"] == seed and config["env_kwargs"] == {"num_arms": 5, "episodes_per_trial": 10}
        assert config["max_seconds"] == pytest.approx(60 * MINUTES) and config["total_timesteps"] == TIME_BUDGET_STEP_CAP
        assert config["hyperparams"]["n_envs"] == 8 and config["hyperparams"]["policy_kwargs"]["gru_hidden_size"] == 8


def test_the_report_holds_both_protocols_with_the_papers_figures(reproduction: tuple[Path, dict[str, Any]]) -> None:
    out, report = reproduction
    assert set(report["protocols"]) == set(PROTOCOLS)
    for block in report["protocols"].values():
        row = block["stats"]["10,5"]
        assert list(row) == ["random", "greedy", "eps_greedy", "ucb1", "thompson", "ots", "gittins", "rl2"]
        assert row["rl2"]["paper"] == 6.7 and row["gittins"]["paper"] == 6.6 and row["random"]["paper"] == 5.0
        assert any(s["bold"] for s in row.values())
    # mean over seeds: the mean and s.e. over seeds of each seed's final-model test score
    seeds = report["seeds"]["10,5"]["rl2"]
    means = np.array([seeds[s]["test_mean"] for s in ("0", "1")])
    over_seeds = report["protocols"]["mean_over_seeds"]["stats"]["10,5"]["rl2"]
    assert over_seeds["mean"] == pytest.approx(means.mean()) and over_seeds["se_over"] == "seeds"
    assert over_seeds["se"] == pytest.approx(means.std(ddof=1) / np.sqrt(2))
    # paper protocol: the seed of the best validation score, scored by its best model
    paper = report["protocols"]["paper_protocol"]["stats"]["10,5"]["rl2"]
    best_validation = [seeds[s]["best_validation"] for s in ("0", "1")]
    assert paper["seed"] == int(np.argmax(best_validation)) and seeds[str(paper["seed"])]["chosen"]
    for s in ("0", "1"):
        log = run_folder.read_eval_log(out / "runs" / "10_5" / f"seed{s}")
        assert seeds[s]["best_validation"] == pytest.approx(log.mean.max())
    cached = json.loads((out / "evals" / "10_5.json").read_text())["entries"]
    assert paper["mean"] == pytest.approx(np.mean(cached["rl2 best"]["returns"])) and len(cached["rl2 best"]["returns"]) == 40
    # the baselines are the same in both protocols: the same trials
    assert report["protocols"]["paper_protocol"]["stats"]["10,5"]["ucb1"] == over_seeds_row(report)["ucb1"]


def over_seeds_row(report: dict[str, Any]) -> dict[str, Any]:
    return report["protocols"]["mean_over_seeds"]["stats"]["10,5"]


def test_the_markdown_csv_and_figures_are_written(reproduction: tuple[Path, dict[str, Any]]) -> None:
    out, report = reproduction
    text = (out / "table.md").read_text()
    assert all(title in text for title in PROTOCOLS.values()) and "(6.7)" in text and "| n, k |" in text
    with (out / "table.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 8 and {r["protocol"] for r in rows} == set(PROTOCOLS)
    figures = {Path(p).name for p in report["figures"]}
    assert figures == {"bandit_10_5_mean_over_seeds_bars.png", "bandit_10_5_paper_protocol_bars.png", "bandit_10_5_curves.png"}
    assert all(Path(p).stat().st_size > 1000 for p in report["figures"])


def test_a_second_invocation_trains_nothing_and_reuses_every_evaluation(reproduction: tuple[Path, dict[str, Any]]) -> None:
    out, first = reproduction
    models = sorted((out / "runs").rglob("*.zip"))
    stamps = [p.stat().st_mtime_ns for p in models]
    assert cli(reproduce_command(out)) == 0
    second = read_report(out)
    assert [r["status"] for r in second["runs"]] == ["done", "done"]
    assert second["evaluations"]["10,5"]["computed"] == [] and len(second["evaluations"]["10,5"]["reused"]) == 7 + 2 + 1
    assert [p.stat().st_mtime_ns for p in models] == stamps
    assert second["protocols"] == first["protocols"]


def test_a_killed_reproduction_resumes_the_unfinished_run_from_its_checkpoint(
    reproduction: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "copy"
    shutil.copytree(reproduction[0], out)  # keeps the files' modification times: the copied evaluations stay valid
    # seed 1 as a run killed after a checkpoint taken half-way through its budget
    run = out / "runs" / "10_5" / "seed1"
    (run / run_folder.MODEL_FILE).unlink()
    state = run_folder.read_checkpoint_state(run)
    (run / run_folder.CHECKPOINT_STATE).write_text(json.dumps({**state, "train_seconds": 30 * MINUTES}))
    assert cli(reproduce_command(out)) == 0
    report = read_report(out)
    assert [r["status"] for r in report["runs"]] == ["done", "resumed"]
    assert [r["at_step"] for r in run_folder.read_config(run)["resumes"]] == [state["num_timesteps"]]
    assert run_folder.read_checkpoint_state(run)["num_timesteps"] > state["num_timesteps"]
    evaluations = report["evaluations"]["10,5"]
    assert "rl2 seed 1" in evaluations["computed"] and {"rl2 seed 0", "gittins", "random"} <= set(evaluations["reused"])


def test_a_run_folder_trained_with_other_settings_is_refused(reproduction: tuple[Path, dict[str, Any]]) -> None:
    out, _ = reproduction
    config = ReproduceConfig(
        "bandit",
        out,
        MINUTES,
        cells="10,5",
        seeds=1,
        trials=40,
        eval_trials=10,
        eval_every=400,
        hyperparams={"n_envs": 8, "n_steps": 10, "batch_size": 40, "learning_rate": 1e-4},
    )
    with pytest.raises(ValueError, match=r"seed0 holds a run trained with other hyperparams"):
        reproduce(config, progress=False)


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--table", "atari"], "--table must be one of ['bandit', 'mdp', 'rl3'], got 'atari'"),
        (["--cells", "10"], "--cells: bad bandit cell '10': expected 'n,k'"),
        (["--table", "rl3", "--cells", "bandit_h7"], "--cells: unknown rl3 experiment(s) ['bandit_h7']"),
        (["--minutes", "0"], "--minutes must be a finite number > 0, got 0"),
        (["--minutes", "soon"], "--minutes must be a number, got 'soon'"),
        (["--seeds", "0"], "--seeds must be"),
        (["--workers", "1.5"], "--workers must be an integer, got '1.5'"),
        (["--jobs", "0"], "--jobs must be an integer >= 1, got 0"),
        (["--trials", "1"], "--trials must be an integer >= 2"),
    ],
)
def test_bad_arguments_are_refused_in_one_line_before_any_work(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"--table": "bandit", "--cells": "10,5", "--minutes": "1", "--out": str(tmp_path / "out")}
    base.update(dict(zip(flags[::2], flags[1::2])))
    assert cli(["reproduce", *(x for kv in base.items() for x in kv)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("rl2 reproduce: error: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_rl3_cells_train_both_agents_per_setting_with_the_same_hyperparameters(tmp_path: Path) -> None:
    config = ReproduceConfig(
        "rl3", tmp_path, 1.0, cells="bandit_h500 bandit_h500_ood", seeds=2, hyperparams={"learning_rate": 3e-4}
    )
    runs = config.runs()  # the OOD experiment evaluates the bandit_h500 models: 2 agents x 2 seeds in all
    assert [r.run_dir.relative_to(tmp_path).as_posix() for r in runs] == [
        "runs/bandit_h500/rl2/seed0",
        "runs/bandit_h500/rl2/seed1",
        "runs/bandit_h500/rl3/seed0",
        "runs/bandit_h500/rl3/seed1",
    ]
    rl2, rl3 = config.train_config(runs[0]), config.train_config(runs[2])
    assert (rl2.env_id, rl3.env_id) == ("RL2Bandit-v0", "RL3Bandit-v0")
    assert rl2.hyperparams == rl3.hyperparams and rl2.hyperparams["learning_rate"] == 3e-4
    assert rl3.env_kwargs == {**rl2.env_kwargs, "time_inputs": False} and rl2.max_seconds == rl3.max_seconds == 60.0


def test_an_rl3_table_with_time_inputs_trains_and_scores_both_agents_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "rl3"
    command = reproduce_command(out, "--time-inputs", "--seeds", "1", "--jobs", "2")
    command[command.index("bandit")] = "rl3"
    command[command.index("10,5")] = "bandit_h100"
    assert cli(command) == 0
    for agent in ("rl2", "rl3"):
        assert run_folder.read_config(out / "runs" / "bandit_h100" / agent / "seed0")["env_kwargs"]["time_inputs"] is True
    row = read_report(out)["protocols"]["mean_over_seeds"]["stats"]["bandit_h100"]
    assert set(row) == {"rl2", "rl3"} and all(0.0 <= row[a]["mean"] <= 100.0 for a in row)  # 100 Bernoulli pulls


def test_every_cell_of_the_paper_is_the_default(tmp_path: Path) -> None:
    assert [c.key for c in ReproduceConfig("mdp", tmp_path, 1.0).cell_list] == ["10", "25", "50", "75", "100"]
    assert len(ReproduceConfig("bandit", tmp_path, 1.0).runs()) == 9


def test_jobs_train_the_runs_side_by_side_each_in_its_own_process(tmp_path: Path) -> None:
    out = tmp_path / "jobs"
    assert cli(reproduce_command(out, "--jobs", "2")) == 0
    report = read_report(out)
    assert [r["status"] for r in report["runs"]] == ["trained", "trained"] and report["config"]["jobs"] == 2
    runs = [out / "runs" / "10_5" / f"seed{seed}" for seed in (0, 1)]
    assert all(run_folder.read_checkpoint_state(run)["num_timesteps"] > 0 for run in runs)
    # side by side: seed 1 started (its config is written first) before seed 0 saved its final model
    assert (runs[1] / run_folder.CONFIG_FILE).stat().st_mtime_ns < (runs[0] / run_folder.MODEL_FILE).stat().st_mtime_ns
    assert np.isfinite(over_seeds_row(report)["rl2"]["mean"])
    assert cli(reproduce_command(out, "--jobs", "2")) == 0  # nothing left to train: no process is started
    assert [r["status"] for r in read_report(out)["runs"]] == ["done", "done"]


def test_workers_reach_every_runs_training_config(tmp_path: Path) -> None:
    config = ReproduceConfig(
        "bandit", tmp_path, 1.0, cells="10,5", workers=2, hyperparams={"n_envs": 8, "n_steps": 10, "batch_size": 40}
    )
    assert config.train_config(config.runs()[0]).workers == 2


def test_the_recipe_flags_reach_every_run_and_a_run_of_another_recipe_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "recipe"
    assert cli(reproduce_command(out, "--time-inputs", "--lr-anneal", "0.3", "--seeds", "1")) == 0
    saved = run_folder.read_config(out / "runs" / "10_5" / "seed0")
    assert saved["env_kwargs"]["time_inputs"] is True and saved["lr_anneal"] == 0.3
    report = read_report(out)
    assert np.isfinite(over_seeds_row(report)["rl2"]["mean"])  # the models with time inputs were scored
    with pytest.raises(ValueError, match=r"seed0 holds a run trained with other .*lr_anneal=0.3, now 0.0"):
        reproduce(
            ReproduceConfig(
                "bandit",
                out,
                MINUTES,
                cells="10,5",
                trials=40,
                eval_trials=10,
                eval_every=400,
                time_inputs=True,
                hyperparams={
                    "n_envs": 8,
                    "n_steps": 10,
                    "batch_size": 40,
                    "n_epochs": 1,
                    "policy_kwargs": {"gru_hidden_size": 8},
                },
            ),
            progress=False,
        )
    with pytest.raises(ValueError, match=r"lr_anneal must be"):
        ReproduceConfig("bandit", tmp_path / "x", 1.0, cells="10,5", lr_anneal=1.5)

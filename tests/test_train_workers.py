"""``rl2 train --workers N`` and ``torchrun -m rl2_agent train``: a data-parallel run is an ordinary run.

Worker 0 owns the run folder; the saved model is a plain ``RecurrentPPO`` zip with the GLOBAL layout
(``n_envs``, ``batch_size``) and a run resumes with another number of workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sb3_contrib import RecurrentPPO
from tiny_runs import tiny_train_args

from rl2_agent.arguments import parse_kwargs
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.distributed import _free_port
from rl2_agent.training.loop import train

TINY = {"n_envs": 8, "n_steps": 16, "batch_size": 64, "n_epochs": 2, **parse_kwargs(["policy_kwargs.gru_hidden_size=16"])}
ENV_KWARGS = {"num_arms": 3, "episodes_per_trial": 5}


def tiny_config(out: Path, timesteps: int, workers: int) -> TrainConfig:
    return TrainConfig(
        "RL2Bandit-v0",
        ENV_KWARGS,
        total_timesteps=timesteps,
        out=str(out),
        hyperparams=TINY,
        eval_every=512,
        eval_trials=10,
        workers=workers,
    )


def test_two_workers_write_one_run_folder_whose_model_loads_as_a_plain_recurrent_ppo(tmp_path: Path) -> None:
    out = tmp_path / "run"
    model = train(tiny_config(out, 1024, workers=2), progress=False)
    assert model is not None and model.num_timesteps == 1024
    saved = RecurrentPPO.load(out / run_folder.MODEL_FILE)
    assert type(saved) is RecurrentPPO
    assert (saved.n_envs, saved.batch_size, saved.num_timesteps) == (8, 64, 1024)  # the global layout, not a share
    assert saved.max_grad_norm == model.max_grad_norm  # the real one, not the inf used inside a data-parallel update
    assert json.loads((out / run_folder.CONFIG_FILE).read_text())["workers"] == 2
    rows = run_folder.read_eval_log(out).rows()
    assert [r["timesteps"] for r in rows] == [512, 1024]  # global steps: 8 envs x 16 steps x 4 rollouts + ...


def test_a_two_worker_run_resumes_as_one_worker_and_then_again_as_two(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(tiny_config(out, 512, workers=2), progress=False)
    one = train(tiny_config(out, 1024, workers=1), resume=True, progress=False)
    assert one is not None and one.num_timesteps == 1024 and one.batch_size == 64
    two = train(tiny_config(out, 1536, workers=2), resume=True, progress=False)
    assert two is not None and two.num_timesteps == 1536
    record = json.loads((out / run_folder.CONFIG_FILE).read_text())
    assert [r["at_step"] for r in record["resumes"]] == [512, 1024]
    assert [r["timesteps"] for r in run_folder.read_eval_log(out).rows()] == [512, 1024, 1536]


def test_each_workers_share_need_not_divide_again_by_the_number_of_workers(tmp_path: Path) -> None:
    # 6 envs and minibatches of 48 over 2 workers: 3 envs and 24 samples each (odd shares train too)
    config = TrainConfig(
        "RL2Bandit-v0",
        ENV_KWARGS,
        total_timesteps=192,
        out=str(tmp_path / "run"),
        hyperparams={**TINY, "n_envs": 6, "batch_size": 48},
        eval_every=192,
        eval_trials=4,
        workers=2,
    )
    model = train(config, progress=False)
    assert model is not None and model.num_timesteps == 192 and (model.n_envs, model.batch_size) == (6, 48)


def test_workers_that_do_not_divide_n_envs_are_refused_when_the_config_is_built(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"n_envs \(8\) must be divisible by the number of workers \(3\)"):
        tiny_config(tmp_path, 1024, workers=3)
    with pytest.raises(ValueError, match="target_kl"):
        TrainConfig("RL2Bandit-v0", ENV_KWARGS, hyperparams={**TINY, "target_kl": 0.02}, workers=2)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        tiny_config(tmp_path, 1024, workers=0)


def test_torchrun_runs_rl2_train_as_two_workers_and_only_worker_0_reports(tmp_path: Path) -> None:
    out = tmp_path / "run"
    torchrun = Path(sys.executable).with_name("torchrun")
    tiny = [*(f"{k}={v}" for k, v in TINY.items() if k not in ("n_envs", "policy_kwargs")), "policy_kwargs.gru_hidden_size=16"]
    endpoint = ["--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{_free_port()}"]
    command = [str(torchrun), "--nnodes", "1", "--nproc-per-node", "2", *endpoint, "-m", "rl2_agent"]
    command += tiny_train_args(out, 512, eval_trials=10, hyperparams=tiny)
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (done.stdout + done.stderr).count("evaluate: python -m rl2_agent evaluate") == 1  # worker 0 alone reports
    assert json.loads((out / run_folder.CONFIG_FILE).read_text())["workers"] == 2
    assert RecurrentPPO.load(out / run_folder.MODEL_FILE).num_timesteps == 512

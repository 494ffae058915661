"""RL Baselines3 Zoo integration (docs/zoo.md): config generation, train / enjoy / evaluate for every
registered id, the RL^2 hyperparameter sampler with a 2-worker journal-file study, and the Zoo's plots.

The Zoo's ``train`` / ``enjoy`` / plot entry points are called in this process with ``sys.argv`` set
(the exact code path of ``python -m rl_zoo3.train ...``, without paying torch's import per call); the
distributed search runs two real ``python -m rl_zoo3.train`` worker processes. Budgets are tiny.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

# `make test` sets RL2_REQUIRE_ZOO=1: there a missing rl_zoo3 or pyyaml FAILS the run (an ImportError while
# collecting this module) instead of skipping these tests silently. Elsewhere they are skipped without the zoo extra.
REQUIRE_ZOO = os.environ.get("RL2_REQUIRE_ZOO", "").strip().lower() not in ("", "0", "false", "no")
if REQUIRE_ZOO:
    import rl_zoo3  # noqa: F401  (ImportError: pip install -e '.[zoo]')
    import yaml
else:
    yaml = pytest.importorskip("yaml", reason="pyyaml comes with the zoo extra (pip install -e '.[zoo]')")

import meta_envs  # noqa: E402,F401  (registers the ids)
from meta_envs import ENV_IDS  # noqa: E402
from rl2_agent.hyperparams import POLICY, get_hyperparams, known_env_ids  # noqa: E402
from rl2_agent.zoo import config as zoo_config  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONF = REPO / "zoo_configs" / "ppo_lstm.yml"
HAS_ZOO = REQUIRE_ZOO or importlib.util.find_spec("rl_zoo3") is not None
requires_zoo = pytest.mark.skipif(not HAS_ZOO, reason="rl_zoo3 is not installed (pip install -e '.[zoo]')")

# Tiny budgets: 2 envs x 16 steps per rollout. The Maze (a CNN on images) gets the least: 32 steps,
# one evaluation of one trial, inner episodes cut to 20 steps (--env-kwargs, which enjoy reuses).
TINY_PARAMS = ("n_envs:2", "n_steps:16", "batch_size:32")
DEFAULT_BUDGET = dict(n=64, eval_freq=32, eval_episodes=2, env_kwargs={}, enjoy_steps=1000)  # evaluations at 32, 64
BUDGET = {
    "RL2Maze-v0": dict(n=32, eval_freq=32, eval_episodes=1, env_kwargs={"max_episode_length": 20}, enjoy_steps=100),
    # 10-step episodes: trials of 20 (MuJoCo) and 100 (Meta-World) steps, so that enjoy finishes some
    **{
        env_id: dict(DEFAULT_BUDGET, env_kwargs={"episode_length": 10}, enjoy_steps=300)
        for env_id in ("RL2HalfCheetahVel-v0", "RL2HalfCheetahDir-v0", "RL2AntDir-v0", "RL2AntGoal-v0", "RL2MetaWorld-v0")
    },
}


# ----------------------------------------------------------------------------- the yaml file
def test_yaml_is_generated_from_hyperparams() -> None:
    assert CONF.read_text(encoding="utf-8") == zoo_config.render(), (
        "zoo_configs/ppo_lstm.yml is out of date: run `python -m rl2_agent.zoo.config`"
    )


def test_yaml_has_every_registered_id_with_the_defaults() -> None:
    config = yaml.safe_load(CONF.read_text(encoding="utf-8"))
    assert list(config) == list(ENV_IDS)
    assert set(known_env_ids()) <= set(config), "hyperparams.py tunes ids that are not registered"
    for env_id, entry in config.items():
        entry = dict(entry)
        assert entry["policy"] == POLICY
        assert int(entry.pop("n_timesteps")) > 0
        assert entry.pop("callback") == zoo_config.CALLBACK
        assert entry == get_hyperparams(env_id)


def test_check_mode(tmp_path: Path) -> None:
    out = tmp_path / "ppo_lstm.yml"
    assert zoo_config.main(["--check", "--out", str(out)]) == 1
    assert zoo_config.main(["--out", str(out)]) == 0
    assert zoo_config.main(["--check", "--out", str(out)]) == 0


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def argv(*args: str) -> Iterator[None]:
    saved = sys.argv
    sys.argv = [str(a) for a in args]
    try:
        yield
    finally:
        sys.argv = saved


def env_kwargs_args(env_kwargs: dict) -> list[str]:
    return ["--env-kwargs", *(f"{k}:{v!r}" for k, v in env_kwargs.items())] if env_kwargs else []


def zoo_train(
    log_folder: Path,
    env_id: str,
    *extra: str,
    n: int | None = None,
    eval_freq: int | None = None,
    params: tuple[str, ...] = TINY_PARAMS,
    gym_packages: tuple[str, ...] = ("meta_envs",),
) -> Path:
    """``python -m rl_zoo3.train --algo ppo_lstm --env <id> --gym-packages meta_envs --conf-file ...`` in process;
    returns the new run folder."""
    from rl_zoo3.train import train

    budget = BUDGET.get(env_id, DEFAULT_BUDGET)
    with argv(
        "train",
        "--algo",
        "ppo_lstm",
        "--env",
        env_id,
        "--gym-packages",
        *gym_packages,
        "--conf-file",
        CONF,
        "-n",
        n or budget["n"],
        "-f",
        log_folder,
        "--seed",
        0,
        "--verbose",
        0,
        "--num-threads",
        1,
        "--eval-freq",
        eval_freq or budget["eval_freq"],
        "--eval-episodes",
        budget["eval_episodes"],
        "-params",
        *params,
        *env_kwargs_args(budget["env_kwargs"]),
        *extra,
    ):
        train()
    runs = sorted((log_folder / "ppo_lstm").glob(f"{env_id}_*"), key=lambda p: int(p.name.rsplit("_", 1)[1]))
    return runs[-1]


@pytest.fixture(scope="module", autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """``--num-threads 1`` (what the Zoo's scripts do with it: ``torch.set_num_threads``) is much faster
    for these tiny batches on a busy CPU; put the process-wide setting back afterwards."""
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def fixed_trial_length(env_id: str, env_kwargs: dict) -> int | None:
    """The trial length of ``env_id`` when it is fixed by construction (``steps_per_trial``, or
    ``episodes_per_trial`` inner episodes of a fixed ``episode_length``), else None (e.g. mazes,
    whose inner episodes end at the goal)."""
    import gymnasium as gym

    env = gym.make(env_id, **env_kwargs)
    trial_env = env.unwrapped
    length = None
    if getattr(trial_env, "steps_per_trial", None):
        length = int(trial_env.steps_per_trial)
    elif getattr(trial_env, "episodes_per_trial", None) and isinstance(getattr(trial_env.family, "episode_length", None), int):
        length = int(trial_env.episodes_per_trial) * trial_env.family.episode_length
    env.close()
    return length


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``trained(env_id)``: the run folder of a tiny Zoo training of ``env_id`` (trained once per module)."""
    log_folder = tmp_path_factory.mktemp("zoo_logs")
    runs: dict[str, Path] = {}

    def get(env_id: str) -> Path:
        if env_id not in runs:
            runs[env_id] = zoo_train(log_folder, env_id)
        return runs[env_id]

    return get


def monitor_rows(run_dir: Path) -> list[dict[str, float]]:
    rows = []
    for path in run_dir.glob("*.monitor.csv"):
        with path.open() as f:
            next(f)  # the Monitor's json header line
            rows += [{k: float(v) for k, v in row.items() if k in ("r", "l")} for row in csv.DictReader(f)]
    return rows


# ----------------------------------------------------------------------------- train / enjoy / evaluate
@requires_zoo
@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_zoo_train_enjoy_evaluate(env_id: str, trained: Callable[[str], Path], capsys: pytest.CaptureFixture) -> None:
    from rl_zoo3.enjoy import enjoy
    from sb3_contrib import RecurrentPPO

    from rl2_agent.policies import RL2GRUPolicy

    run = trained(env_id)
    # the policy of the yaml (a dotted path) with its policy_kwargs
    model = RecurrentPPO.load(run / f"{env_id}.zip", device="cpu")
    assert type(model.policy) is RL2GRUPolicy
    assert model.policy.lstm_actor.hidden_size == get_hyperparams(env_id)["policy_kwargs"]["gru_hidden_size"]
    saved = yaml.unsafe_load((run / env_id / "config.yml").read_text())
    assert saved["policy"] == POLICY
    assert saved["callback"] == zoo_config.CALLBACK  # the gather-padding buffer (tests/test_buffers.py)

    # one gymnasium episode = one RL^2 trial, in the Monitor files (training) and in the Zoo's evaluations
    rows = monitor_rows(run)
    evals = np.load(run / "evaluations.npz")
    budget = BUDGET.get(env_id, DEFAULT_BUDGET)
    assert evals["results"].shape == (budget["n"] // budget["eval_freq"], budget["eval_episodes"])
    assert np.all(evals["ep_lengths"] > 1) and np.all(np.isfinite(evals["results"]))
    assert all(row["l"] > 1 for row in rows)
    trial_length = fixed_trial_length(env_id, budget["env_kwargs"])
    if trial_length is not None:  # every Monitor episode and every evaluation episode is one whole trial
        assert np.all(evals["ep_lengths"] == trial_length)
        assert all(row["l"] == trial_length for row in rows)
        if trial_length <= budget["n"] // 2:  # each of the 2 envs finished a trial
            assert rows
    if env_id in ("RL2Bandit-v0", "RL3Bandit-v0"):  # 10 Bernoulli pulls per trial
        assert rows and all(0 <= row["r"] <= 10 and row["r"] == int(row["r"]) for row in rows)
        assert np.all((evals["results"] >= 0) & (evals["results"] <= 10))

    # enjoy: loads the model, runs whole trials (stochastic actions, as RL^2 is evaluated)
    capsys.readouterr()
    with argv(
        "enjoy",
        "--algo",
        "ppo_lstm",
        "--env",
        env_id,
        "--gym-packages",
        "meta_envs",
        "-f",
        run.parent.parent,
        "--exp-id",
        run.name.rsplit("_", 1)[1],
        "--no-render",
        "--stochastic",
        "-n",
        budget["enjoy_steps"],
        "--device",
        "cpu",
        "--num-threads",
        1,
    ):
        enjoy()
    out = capsys.readouterr().out
    trial_returns = [float(x) for x in re.findall(r"Episode Reward: (-?[\d.]+)", out)]
    assert trial_returns, out[-2000:]
    assert re.search(r"Mean reward: -?[\d.]+ \+/- [\d.]+", out)
    if env_id == "RL2Bandit-v0":
        assert all(0 <= r <= 10 for r in trial_returns)


@requires_zoo
def test_env_kwargs_variant(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A paper-table variant (10 arms, 100 pulls) through --env-kwargs; enjoy reuses it from args.yml."""
    from rl_zoo3.enjoy import enjoy

    run = zoo_train(tmp_path, "RL2Bandit-v0", "--env-kwargs", "num_arms:10", "episodes_per_trial:100", n=256, eval_freq=-1)
    rows = monitor_rows(run)
    assert rows and all(row["l"] == 100 for row in rows)
    capsys.readouterr()
    with argv(
        "enjoy",
        "--algo",
        "ppo_lstm",
        "--env",
        "RL2Bandit-v0",
        "--gym-packages",
        "meta_envs",
        "-f",
        tmp_path,
        "--no-render",
        "--stochastic",
        "-n",
        200,
        "--num-threads",
        1,
    ):
        enjoy()
    assert "Mean episode length: 100.00" in capsys.readouterr().out


@requires_zoo
def test_eval_env_kwargs_row_of_the_docs(tmp_path: Path) -> None:
    """docs/zoo.md's out-of-distribution row: --eval-env-kwargs repeats the trial's kwargs (the Zoo replaces, not
    merges), so the evaluations play 10-arm, 20-pull trials with the normal prior."""
    run = zoo_train(
        tmp_path,
        "RL2Bandit-v0",
        "--env-kwargs",
        "num_arms:10",
        "episodes_per_trial:20",
        "--eval-env-kwargs",
        "num_arms:10",
        "episodes_per_trial:20",
        "arm_prior:'normal'",
        n=64,
        eval_freq=32,
    )
    lengths = np.load(run / "evaluations.npz")["ep_lengths"]
    assert lengths.size and (lengths == 20).all()


# ----------------------------------------------------------------------------- plots
@requires_zoo
def test_plot_train_and_all_plots(trained: Callable[[str], Path], tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import pickle

    from matplotlib import pyplot as plt
    from rl_zoo3.plots import all_plots, plot_train

    run = trained("RL2Bandit-v0")
    log_folder = run.parent.parent
    plt.close("all")
    with argv("plot_train", "-a", "ppo_lstm", "-e", "RL2Bandit-v0", "-f", log_folder, "-w", 2), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Agg: plt.show() only warns
        plot_train()
    lines = plt.gcf().axes[0].get_lines()
    assert lines and np.all((lines[0].get_ydata() >= 0) & (lines[0].get_ydata() <= 10))
    plt.gcf().savefig(tmp_path / "train.png")
    plt.close("all")

    out = tmp_path / "all_plots"
    with argv(
        "all_plots",
        "-a",
        "ppo_lstm",
        "-e",
        "RL2Bandit-v0",
        "-f",
        log_folder,
        "-l",
        "zoo",
        "--no-display",
        "--no-million",
        "-o",
        out,
    ):
        all_plots()
    plt.close("all")
    with open(f"{out}.pkl", "rb") as f:
        results = pickle.load(f)["RL2Bandit-v0"]["PPO_LSTM-zoo"]
    assert len(results["timesteps"]) == 2 and np.all((results["mean"] >= 0) & (results["mean"] <= 10))


# ----------------------------------------------------------------------------- plots and search beyond the bandit
#: Ids on which the Zoo's plots and a 1-trial ``-optimize`` (our sampler, a journal-file storage) also run, besides
#: RL2Bandit-v0 (whose plots and 2-worker search are tested above and below): tiny budgets that still finish whole
#: trials (the MDP's trial is 10 episodes x 10 steps = 100 steps): ``n`` steps of 2 envs give 2 trials per env for
#: plot_train, 2 evaluations for all_plots.
BEYOND_BANDIT = {"RL2TabularMDP-v0": dict(n=448, eval_freq=224, trial_length=100, eval_episodes=2)}


@requires_zoo
@pytest.mark.parametrize("env_id", list(BEYOND_BANDIT))
def test_plots_and_one_trial_optimize(env_id: str, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import pickle

    import optuna
    from matplotlib import pyplot as plt
    from rl_zoo3.plots import all_plots, plot_train
    from rl_zoo3.train import train

    budget = BEYOND_BANDIT[env_id]
    run = zoo_train(tmp_path / "logs", env_id, n=budget["n"], eval_freq=budget["eval_freq"])
    rows = monitor_rows(run)
    assert len(rows) >= 4 and all(row["l"] == budget["trial_length"] for row in rows)

    plt.close("all")
    with argv("plot_train", "-a", "ppo_lstm", "-e", env_id, "-f", tmp_path / "logs", "-w", 2), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Agg: plt.show() only warns
        plot_train()
    lines = plt.gcf().axes[0].get_lines()
    assert lines and len(lines[0].get_ydata()) >= 1 and np.all(np.isfinite(lines[0].get_ydata()))
    plt.gcf().savefig(tmp_path / "train.png")
    plt.close("all")
    out = tmp_path / "all_plots"
    with argv(
        "all_plots",
        "-a",
        "ppo_lstm",
        "-e",
        env_id,
        "-f",
        tmp_path / "logs",
        "-l",
        "zoo",
        "--no-display",
        "--no-million",
        "-o",
        out,
    ):
        all_plots()
    plt.close("all")
    with open(f"{out}.pkl", "rb") as f:
        results = pickle.load(f)[env_id]["PPO_LSTM-zoo"]
    assert len(results["timesteps"]) == 2 and np.all(np.isfinite(results["mean"]))

    # -optimize, one worker, one trial of our sampler, in this process (the same entry point as the workers above)
    storage = tmp_path / "optuna" / "study.log"
    with (
        argv(
            "train",
            "--algo",
            "ppo_lstm",
            "--env",
            env_id,
            "--gym-packages",
            "meta_envs",
            "rl2_agent.zoo.sampler",
            "--conf-file",
            CONF,
            "-optimize",
            "--storage",
            storage,
            "--study-name",
            "tiny",
            "--n-trials",
            1,
            "--sampler",
            "random",
            "--pruner",
            "none",
            "--n-evaluations",
            1,
            "--eval-episodes",
            2,
            "-n",
            32,
            "-params",
            "n_envs:2",
            "--no-optim-plots",
            "--num-threads",
            1,
            "--seed",
            0,
            "--verbose",
            0,
            "-f",
            tmp_path / "opt",
        ),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        train()
    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage)))
    trials = optuna.load_study(study_name="tiny", storage=journal).get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 1 and "gru_hidden_size" in trials[0].params and np.isfinite(trials[0].value)
    assert list((tmp_path / "opt" / "ppo_lstm").glob(f"report_{env_id}_*.csv"))


# ----------------------------------------------------------------------------- hyperparameter search
@requires_zoo
def test_sampler_is_registered_and_round_trips() -> None:
    import optuna
    from rl_zoo3 import hyperparams_opt

    from rl2_agent.zoo import sampler as zoo_sampler

    assert hyperparams_opt.HYPERPARAMS_SAMPLER["ppo_lstm"] is zoo_sampler.sample_rl2_params
    assert hyperparams_opt.HYPERPARAMS_CONVERTER["ppo_lstm"] is zoo_sampler.convert_rl2_params
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        params = zoo_sampler.sample_rl2_params(trial, n_actions=0, n_envs=4, additional_args={})
        assert set(params["policy_kwargs"]) == {"gru_hidden_size"}
        assert "policy" not in params  # the yaml's RL2GRUPolicy stays
        assert 0.1 <= params["gae_lambda"] <= 1.0 and 0.9 <= params["gamma"] < 1.0
        # a stored trial converts back to exactly what it trained with (--trial-id)
        assert zoo_sampler.convert_rl2_params(trial.params) == params
        study.tell(trial, 0.0)


@requires_zoo
def test_two_workers_share_a_journal_file_study(tmp_path: Path) -> None:
    import optuna

    storage = tmp_path / "optuna" / "rl2_bandit.log"
    command = [
        sys.executable,
        "-m",
        "rl_zoo3.train",
        "--algo",
        "ppo_lstm",
        "--env",
        "RL2Bandit-v0",
        "--gym-packages",
        "meta_envs",
        "rl2_agent.zoo.sampler",
        "--conf-file",
        str(CONF),
        "-optimize",
        "--storage",
        str(storage),
        "--study-name",
        "rl2-bandit",
        "--n-trials",
        "1",
        "--sampler",
        "random",
        "--pruner",
        "none",
        "--n-evaluations",
        "1",
        "--eval-episodes",
        "2",
        "-n",
        "32",
        "-params",
        "n_envs:2",
        "--no-optim-plots",
        "--num-threads",
        "1",
        "-f",
        str(tmp_path / "logs"),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    workers = [
        subprocess.Popen(
            [*command, "--seed", str(seed)], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for seed in (1, 2)
    ]
    outputs = [w.communicate(timeout=170)[0] for w in workers]
    for worker, out in zip(workers, outputs):
        assert worker.returncode == 0, out[-3000:]

    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage)))
    study = optuna.load_study(study_name="rl2-bandit", storage=journal)
    trials = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    assert len(trials) == 2
    for trial in trials:
        assert "gru_hidden_size" in trial.params and np.isfinite(trial.value)
    assert trials[0].params != trials[1].params  # the workers sampled independently

    # train with a stored trial's hyperparameters (--trial-id; the Zoo ignores --trial-id 0)
    run = zoo_train(
        tmp_path / "best",
        "RL2Bandit-v0",
        "--storage",
        str(storage),
        "--study-name",
        "rl2-bandit",
        "--trial-id",
        "1",
        n=32,
        eval_freq=-1,
        params=("n_envs:2",),
        gym_packages=("meta_envs", "rl2_agent.zoo.sampler"),
    )
    saved = yaml.unsafe_load((run / "RL2Bandit-v0" / "config.yml").read_text())
    assert saved["policy"] == POLICY
    assert saved["policy_kwargs"] == {"gru_hidden_size": study.trials[1].params["gru_hidden_size"]}
    assert saved["n_steps"] == study.trials[1].params["n_steps"]

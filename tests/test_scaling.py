"""The navigation scaling experiment (rl2_agent.experiments.scaling): metrics, reference agents, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.navigation import MazeTask, generate_maze
from meta_envs.navigation.maze import FORWARD, TURN_LEFT, TURN_RIGHT, next_pose
from rl2_agent.agents.sb3 import check_observation_space
from rl2_agent.agents.scripted import ShortestPathAgent, UniformRandomAgent
from rl2_agent.cli import cli, main
from rl2_agent.evaluation import EVAL_SEED, held_out_tasks, run_trials
from rl2_agent.experiments.paper import PAPER_SCALING
from rl2_agent.experiments.scaling import (
    ScalingResult,
    actions_from_poses,
    evaluate_agent,
    format_table,
    optimal_lengths,
    split_episodes,
)

th.set_num_threads(1)

TINY = ["n_steps=16", "batch_size=32", "n_epochs=1", "policy_kwargs.gru_hidden_size=16"]


def a_task(seed: int = 0) -> MazeTask:
    grid = generate_maze(np.random.default_rng(seed), 3)
    return MazeTask(grid, (1, 1), 1, (5, 5))


def episode(start: tuple[int, int, int], length: int, last: tuple[int, int]) -> list[tuple[int, int, int]]:
    """A hand-built episode of ``length`` steps ending on the square ``last``."""
    return [start] + [(3, 3, 0)] * (length - 1) + [(*last, 0)]


# ----------------------------------------------------------------------------- metrics
def test_split_episodes_cuts_at_inner_episode_ends() -> None:
    start = (1, 1, 1)
    poses = [(1, 1, 2), (2, 1, 2), (3, 1, 2), (1, 1, 0), (1, 2, 1)]
    done = [False, False, True, False, True]
    episodes = split_episodes(start, poses, done)
    assert episodes == [[start, (1, 1, 2), (2, 1, 2), (3, 1, 2)], [start, (1, 1, 0), (1, 2, 1)]]
    assert split_episodes(start, poses[:4], done[:4])[-1] == [start, (1, 1, 0)]  # a cut last episode is kept
    with pytest.raises(ValueError, match="poses"):
        split_episodes(start, poses, done[:2])


def test_metrics_on_hand_built_trajectories() -> None:
    task = a_task()
    s, goal, elsewhere = (1, 1, 1), task.goal, (1, 3)
    episodes = [
        [episode(s, 10, goal), episode(s, 6, goal)],  # faster the second time
        [episode(s, 30, elsewhere), episode(s, 8, goal)],  # failed (full length), then succeeded
        [episode(s, 5, goal), episode(s, 9, goal)],  # slower the second time
        [episode(s, 30, elsewhere), episode(s, 30, elsewhere)],  # failed twice: ep 2 is not longer
    ]
    result = ScalingResult("hand", "RL2GridNav-v0", {}, 0, [task] * 4, episodes, np.zeros((4, 2)), 0.0)
    assert result.lengths.tolist() == [[10, 6], [30, 8], [5, 9], [30, 30]]
    assert result.success.tolist() == [[True, True], [False, True], [True, True], [False, False]]
    assert result.paths(0)[0][0] == (1, 1) and result.paths(0)[0][-1] == goal
    m = result.metrics()
    assert m["success_rate_ep1"] == 0.5 and m["success_rate_ep2"] == 0.75
    assert m["mean_success_length_ep1"] == 7.5 and m["mean_success_length_ep2"] == pytest.approx(23 / 3)
    assert m["frac_ep2_not_longer"] == 0.75
    assert m["frac_ep2_shorter"] == 0.5  # the two failures tie: not longer, not shorter
    # paired over the trials whose both episodes succeeded (trials 0 and 2): 10 - 6 and 5 - 9
    assert m["steps_saved_ep2"] == 0.0 and m["se_steps_saved_ep2"] == pytest.approx(np.std([4, -4], ddof=1) / np.sqrt(2))
    assert m["length_ratio"] == pytest.approx((23 / 3) / 7.5)
    assert m["mean_length_ep1"] == 18.75
    assert m["se_success_rate_ep1"] == pytest.approx(np.sqrt(0.25 / 4))
    assert m["se_mean_success_length_ep1"] == pytest.approx(np.std([10, 5], ddof=1) / np.sqrt(2))
    table = format_table({"hand": result}, PAPER_SCALING["small"], "paper")
    assert "| success rate, ep 1 | 99.3 % | 50.0 % ± 25.0 |" in table
    assert "| avg length of successful episodes, ep 2 | 39.1 | 7.7 ± " in table
    assert "| ... of which ep 2 is strictly shorter (not in the paper) | n/a | 50.0 % ± 25.0 |" in table


def test_actions_from_poses_replays_a_random_walk() -> None:
    task = a_task(3)
    rng = np.random.default_rng(0)
    actions = rng.integers(3, size=200).tolist()
    poses = [(*task.start, task.heading)]
    for a in actions:
        poses.append(next_pose(task.grid, poses[-1], a)[0])
    assert actions_from_poses(poses) == actions
    assert {FORWARD, TURN_LEFT, TURN_RIGHT} == set(actions)


# ----------------------------------------------------------------------------- run_trials and the agents
def test_run_trials_keeps_step_infos_of_each_trial_batched_env() -> None:
    res = run_trials(
        UniformRandomAgent(3),
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 5},
        7,
        batch_size=3,
        info_keys=("inner_done", "episode_index", "no_such_key"),
    )
    assert len(res.step_infos) == 7
    for infos in res.step_infos:
        assert [bool(x) for x in infos["inner_done"]] == [True] * 5
        assert [int(x) for x in infos["episode_index"]] == [0, 1, 2, 3, 4]
        assert infos["no_such_key"] == [None] * 5
    assert run_trials(UniformRandomAgent(3), "RL2Bandit-v0", n_trials=2).step_infos is None


@pytest.mark.parametrize("env_id", ["RL2GridNav-v0", "RL2Maze-v0"])
def test_oracle_succeeds_with_equal_optimal_episodes(env_id: str) -> None:
    n = 7 if env_id == "RL2GridNav-v0" else 4
    tasks = held_out_tasks(env_id, {}, n)
    result = evaluate_agent(ShortestPathAgent(tasks), "oracle", env_id, {}, n, batch_size=3, tasks=tasks)  # 3 batches
    optimal = optimal_lengths(tasks)
    assert result.success.all()
    np.testing.assert_array_equal(result.lengths[:, 0], optimal)
    np.testing.assert_array_equal(result.lengths[:, 1], optimal)
    m = result.metrics()
    assert m["success_rate_ep1"] == m["success_rate_ep2"] == m["frac_ep2_not_longer"] == 1.0
    assert m["frac_ep2_shorter"] == m["steps_saved_ep2"] == 0.0  # optimal twice: nothing left to save
    assert m["mean_success_length_ep1"] == m["mean_success_length_ep2"] == optimal.mean()
    # the returns run_trials reports agree with the reconstructed episodes: one goal reward, -0.01 per step
    np.testing.assert_allclose(result.episode_returns, 1.0 - 0.01 * result.lengths)


def test_held_out_tasks_are_the_evaluation_tasks() -> None:
    env = gym.make("RL2GridNav-v0", size="large")
    env.reset(seed=EVAL_SEED + 2)
    task = held_out_tasks("RL2GridNav-v0", {"size": "large"}, 3)[2]
    assert np.array_equal(task.grid, env.unwrapped.task.grid) and task.goal == env.unwrapped.task.goal


def test_maze_model_passes_the_observation_check() -> None:
    """SB3 stores the maze's images channels-first: the check must accept the env's channel-last space."""
    from rl2_agent.envs import make_vec_env
    from rl2_agent.training.config import TrainConfig
    from rl2_agent.training.loop import build_model

    config = TrainConfig("RL2Maze-v0", {}, 32, hyperparams={"n_envs": 1, "n_steps": 16, "batch_size": 16})
    model = build_model(config, make_vec_env("RL2Maze-v0", 1))
    check_observation_space(model, "RL2Maze-v0", {})
    with pytest.raises(ValueError, match="expects observations"):
        check_observation_space(model, "RL2Maze-v0", {"height": 24})


# ----------------------------------------------------------------------------- the CLI
def test_cli_trains_a_tiny_run_then_evaluates_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run, out = tmp_path / "run", tmp_path / "out"
    argv = [
        "scaling",
        "--env",
        "RL2GridNav-v0",
        "--env-kwargs",
        "size=small",
        "max_episode_length=30",
        "--run",
        str(run),
        "--train-minutes",
        "1",
        "--timesteps",
        "256",
        "--n-envs",
        "2",
        "--workers",
        "2",
        "--hyperparams",
        *TINY,
        "--eval-every",
        "128",
        "--eval-trials",
        "2",
        "--trials",
        "8",
        "--draw",
        "2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| metric | paper (small maze, ViZDoom) | rl2 | random | oracle |" in printed and "| 91.7 % |" in printed
    summary = json.loads((out / "scaling.json").read_text())
    assert summary["run"]["num_timesteps"] == 256 and summary["env_kwargs"] == {"size": "small", "max_episode_length": 30}
    assert json.loads((run / "config.json").read_text())["workers"] == 2  # trained data-parallel
    assert set(summary["agents"]) == {"rl2", "random", "oracle"}
    for name, agent in summary["agents"].items():
        assert np.shape(agent["episode_lengths"]) == (8, 2) and np.shape(agent["episode_success"]) == (8, 2)
        assert np.all(np.array(agent["episode_lengths"]) <= 30)
        assert (out / f"trajectories_{name}.png").stat().st_size > 1000
    oracle = summary["agents"]["oracle"]
    assert oracle["metrics"]["success_rate_ep1"] == oracle["metrics"]["success_rate_ep2"] == 1.0
    lengths = np.array(oracle["episode_lengths"])
    assert np.array_equal(lengths[:, 0], lengths[:, 1]) and lengths.mean() == summary["optimal_length_mean"]
    assert summary["paper"]["success_rate_ep1"] == 0.993

    # evaluate the existing run as it is: env and kwargs come from its config.json
    again = tmp_path / "again"
    assert main(["scaling", "--run", str(run), "--agents", "rl2", "--trials", "3", "--draw", "1", "--out", str(again)]) == 0
    summary = json.loads((again / "scaling.json").read_text())
    assert summary["env_kwargs"] == {"size": "small", "max_episode_length": 30} and list(summary["agents"]) == ["rl2"]


def test_cli_maze_draws_first_person_frames(tmp_path: Path) -> None:
    argv = [
        "scaling",
        "--env",
        "RL2Maze-v0",
        "--env-kwargs",
        "max_episode_length=40",
        "--trials",
        "3",
        "--frames",
        "3",
        "--draw",
        "2",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    for name in ("random", "oracle"):
        assert (tmp_path / f"frames_{name}.png").stat().st_size > 1000
        assert (tmp_path / f"trajectories_{name}.png").stat().st_size > 1000
    assert json.loads((tmp_path / "scaling.json").read_text())["agents"]["oracle"]["metrics"]["frac_ep2_not_longer"] == 1.0


def test_cli_rejects_non_maze_ids_and_rl2_without_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):  # argparse: --env has choices
        main(["scaling", "--env", "RL2PointNav-v0", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="needs --run"):
        main(["scaling", "--agents", "rl2", "--trials", "2", "--out", str(tmp_path)])
    capsys.readouterr()
    # the command line: exit 2 with "rl2 scaling: error: ..."
    bandit_run = tmp_path / "bandit_run"
    bandit_run.mkdir()
    (bandit_run / "config.json").write_text(json.dumps({"env_id": "RL2Bandit-v0", "env_kwargs": {}}))
    cases = [
        (["--agents", "rl2"], "--agents rl2 needs --run"),
        (["--train-minutes", "1"], "--train-minutes needs --run"),
        (
            ["--run", str(bandit_run), "--agents", "random"],
            f"maze id (RL2GridNav-v0, RL2Maze-v0): --run {bandit_run} was trained on RL2Bandit-v0",
        ),
        (["--env-kwargs", "episodes_per_trial=1"], "--env-kwargs: the scaling experiment needs trials of >= 2 episodes"),
        (["--run", str(tmp_path / "no_run"), "--agents", "random", "rl2"], "config.json not found"),
    ]
    for extra, message in cases:
        assert cli(["scaling", *extra, "--trials", "2", "--out", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("rl2 scaling: error: ") and message in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--draw", "0"], "argument --draw: must be an integer >= 1, got '0'"),
        (["--draw", "-1"], "argument --draw: must be an integer >= 1, got '-1'"),
        (["--batch-size", "0"], "argument --batch-size: must be an integer >= 1, got '0'"),
        (["--trials", "0"], "argument --trials: must be an integer >= 1, got '0'"),
        (["--frames", "0"], "argument --frames: must be an integer >= 1, got '0'"),
        (["--threads", "0"], "argument --threads: must be an integer >= 1, got '0'"),
        (["--eval-seed", "-1"], "argument --eval-seed: must be an integer >= 0, got '-1'"),
        (["--run", "RUN", "--train-minutes", "-1"], "argument --train-minutes: must be a finite number >= 0, got '-1'"),
        (["--run", "RUN", "--train-minutes", "nan"], "argument --train-minutes: must be a finite number >= 0, got 'nan'"),
        (["--run", "RUN", "--train-minutes", "1", "--timesteps", "0"], "argument --timesteps: must be a finite number > 0"),
        (
            ["--run", "RUN", "--train-minutes", "1", "--timesteps", "0.5"],
            "--timesteps must be a number of steps >= 1, got 0.5",
        ),
        (["--run", "RUN", "--train-minutes", "1", "--eval-trials", "0"], "argument --eval-trials: must be an integer >= 1"),
        (["--run", "RUN", "--train-minutes", "1", "--n-envs", "0"], "argument --n-envs: must be an integer >= 1"),
        (
            ["--run", "RUN", "--train-minutes", "1", "--eval-every", "-5"],
            "argument --eval-every: must be a finite number >= 0",
        ),
    ],
)
def test_cli_checks_numeric_options_before_training_or_evaluating(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    import rl2_agent.experiments.scaling as scaling

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("trained or evaluated before checking the options")

    for name in ("_train", "evaluate_agent", "held_out_tasks"):
        monkeypatch.setattr(scaling, name, must_not_run)
    out = tmp_path / "out"
    extra = [str(tmp_path / "run") if x == "RUN" else x for x in extra]
    try:  # argparse's types exit with 2; the cross-option checks return 2 through cli()
        code = cli(["scaling", *extra, "--out", str(out)])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert "rl2 scaling: error: " in err and message in err, err
    assert "max_seconds" not in err
    assert not out.exists() and not (tmp_path / "run").exists()


def test_cli_writes_scaling_json_before_the_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rl2_agent.experiments.scaling as scaling

    def failing_figure(*args: object, **kwargs: object) -> None:
        assert (tmp_path / "scaling.json").exists(), "figures drawn before scaling.json was written"
        raise RuntimeError("the figure failed")

    monkeypatch.setattr(scaling, "draw_trajectories", failing_figure)
    argv = [
        "scaling",
        "--env-kwargs",
        "size=small",
        "max_episode_length=20",
        "--agents",
        "oracle",
        "random",
        "--trials",
        "2",
        "--out",
        str(tmp_path),
    ]
    with pytest.raises(RuntimeError, match="the figure failed"):
        main(argv)
    summary = json.loads((tmp_path / "scaling.json").read_text())
    assert list(summary["agents"]) == ["oracle", "random"] and summary["figures"] == []
    assert summary["agents"]["oracle"]["metrics"]["success_rate_ep1"] == 1.0

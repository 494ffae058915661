"""Reference policies of the RL^3 gridworlds (rl2_agent.agents.baselines.gridworld) and the experiment that
scores them (rl2_agent.experiments.gridworld_reference)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import meta_envs  # noqa: F401
from meta_envs.gridworld import DANGER, GOAL, NORMAL, STAY, WARNING, GridTask
from rl2_agent.agents.baselines.gridworld import (
    BEHAVIOUR_KEYS,
    ConstantAgent,
    KnownGridOptimal,
    ValueGreedyAgent,
    grid_behaviour,
    trial_optimal_policy,
)
from rl2_agent.evaluation import TrialResults, held_out_tasks, run_trials
from rl2_agent.experiments import gridworld_reference


def _open_grid(goal: tuple[int, int] = (0, 2), slip: float = 0.0) -> GridTask:
    tiles = np.full((11, 11), NORMAL, dtype=np.int8)
    tiles[goal] = GOAL
    return GridTask(tiles, slip)


def _play(agent, task: GridTask, layout_env: str = "RL2GridWorld-v0") -> tuple[float, int]:
    env = gym.make(layout_env)
    obs, _ = env.reset(seed=0, options={"task": task})
    total, goals, start, done = 0.0, 0, True, False
    while not done:
        action = agent.act(obs[None], np.array([start]))[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        total, goals, start, done = total + reward, goals + (reward == 100), False, terminated or truncated
    return total, goals


def test_known_grid_optimal_on_an_open_deterministic_grid() -> None:
    # goal 8 moves from the centre, no slip: 31 episodes of 7 x -1 + 100 in 248 steps, then 2 x -1
    task = _open_grid()
    layout = gym.make("RL2GridWorld-v0").unwrapped.obs_layout
    total, goals = _play(KnownGridOptimal([task], 250, layout), task)
    assert goals == 31
    assert total == 31 * 93 - 2


def test_trial_optimal_policy_heads_for_the_goal_only_when_it_can_reach_it() -> None:
    task = _open_grid(goal=(0, 2))  # up 5, left 3 from the centre (5, 5)
    policy = trial_optimal_policy(task, 250)
    centre = 60
    assert policy.shape == (250, 121)
    assert policy[7, centre] in (0, 3) and policy[249, centre] in (0, 3)  # 8 or more steps left: up or left
    one_step_away = 1 * 11 + 2  # (1, 2), just below the goal
    assert policy[0, one_step_away] == 0  # 1 step left there: step up onto the goal


def test_trial_optimal_policy_avoids_a_danger_on_the_shortest_path() -> None:
    tiles = np.full((11, 11), NORMAL, dtype=np.int8)
    tiles[0, 5] = GOAL  # straight up from the centre (5, 5), 5 moves (a hand-made grid, not a sampled one)
    tiles[3, 5] = DANGER
    for p in ((2, 5), (4, 5), (3, 4), (3, 6)):
        tiles[p] = WARNING
    task = GridTask(tiles, 0.0)
    layout = gym.make("RL2GridWorld-v0").unwrapped.obs_layout
    total, goals = _play(KnownGridOptimal([task], 250, layout), task)
    # 7 moves through one warning tile (5 x -1 - 10 + 100 = 85) or 9 moves around the ring (8 x -1 + 100
    # = 92); best mix in 250 steps: 33 short + 2 long episodes (249 steps) and one step of -1
    assert goals == 35
    assert total == 33 * 85 + 2 * 92 - 1


def test_value_greedy_prefers_the_best_value_then_the_least_tried() -> None:
    layout = gym.make("RL3GridWorld-v0", time_inputs=False).unwrapped.obs_layout
    agent = ValueGreedyAgent(layout, seed=0)
    obs = np.zeros((2, layout["visit_counts"].stop), dtype=np.float32)
    obs[0, layout["q_values"]] = [-0.01, 0.5, 0.5, 0.0, -0.02]
    obs[0, layout["visit_counts"]] = [0.1, 0.3, 0.2, 0.0, 0.1]
    obs[1, layout["q_values"]] = [0.0, 0.0, -0.01, 0.0, -0.01]
    obs[1, layout["visit_counts"]] = [0.0, 0.0, 0.1, 0.0, 0.1]
    picks = np.array([agent.act(obs, np.zeros(2, dtype=bool)) for _ in range(200)])
    assert (picks[:, 0] == 2).all()  # best value 0.5, fewer visits than action 1
    assert set(picks[:, 1]) == {0, 1, 3}  # the untried, zero-valued ones, at random


def test_value_greedy_needs_an_rl3_layout() -> None:
    with pytest.raises(ValueError, match="q_values"):
        ValueGreedyAgent(gym.make("RL2GridWorld-v0").unwrapped.obs_layout)


def test_reference_agents_bracket_on_held_out_grids() -> None:
    n = 8
    layout = gym.make("RL2GridWorld-v0").unwrapped.obs_layout
    tasks = held_out_tasks("RL2GridWorld-v0", {}, n)
    stay = run_trials(ConstantAgent(STAY), "RL2GridWorld-v0", n_trials=n)
    best = run_trials(KnownGridOptimal(tasks, 250, layout), "RL2GridWorld-v0", n_trials=n)
    np.testing.assert_array_equal(stay.trial_returns, -250.0)
    # every held-out grid has an optimal 100-step return >= 50, so the trial optimum is far above standing still
    assert best.trial_returns.min() > 500


def test_known_grid_optimal_refuses_untracked_trials() -> None:
    layout = gym.make("RL2GridWorld-v0").unwrapped.obs_layout
    agent = KnownGridOptimal(held_out_tasks("RL2GridWorld-v0", {}, 1), 250, layout)
    with pytest.raises(RuntimeError, match="lost track"):
        agent.act(np.zeros((2, 128), dtype=np.float32), np.ones(2, dtype=bool))


def test_grid_behaviour_counts_goals_dangers_and_stays() -> None:
    # 3 trials of 4 steps: goals at steps 2 and 4 of trial 0, a danger in trial 1, nothing in trial 2
    rewards = np.array([[-1.0, -1.0, -1.0], [100.0, -10.0, -1.0], [-1.0, -100.0, -1.0], [100.0, -1.0, -1.0]])
    actions = np.array([[0, 4, 4], [1, 0, 4], [4, 2, 4], [2, 4, 4]])
    results = TrialResults("RL2GridWorld-v0", {}, 0, rewards.sum(axis=0)[:, None], 0.0, actions=actions, rewards=rewards)
    figures = grid_behaviour(results)
    assert list(figures) == list(BEHAVIOUR_KEYS)
    assert figures["goal_trials"] == pytest.approx(1 / 3)
    assert figures["goals_per_trial"] == pytest.approx(2 / 3)
    assert figures["goals_per_goal_trial"] == 2.0
    assert figures["first_goal_step"] == 2.0
    assert figures["dangers_per_trial"] == pytest.approx(1 / 3)
    assert figures["stay_share"] == pytest.approx(7 / 12)
    with pytest.raises(ValueError, match="record=True"):
        grid_behaviour(TrialResults("RL2GridWorld-v0", {}, 0, rewards.sum(axis=0)[:, None], 0.0))


def test_grid_behaviour_of_the_reference_policies() -> None:
    stay = grid_behaviour(run_trials(ConstantAgent(), "RL2GridWorld-v0", {}, n_trials=4, record=True))
    assert stay["goal_trials"] == 0.0 and stay["stay_share"] == 1.0 and np.isnan(stay["first_goal_step"])
    layout = gym.make("RL2GridWorld-v0").unwrapped.obs_layout
    optimal = KnownGridOptimal(held_out_tasks("RL2GridWorld-v0", {}, 4), 250, layout)
    best = grid_behaviour(run_trials(optimal, "RL2GridWorld-v0", {}, n_trials=4, record=True))
    assert best["goal_trials"] == 1.0 and best["goals_per_trial"] > 10 and best["first_goal_step"] >= 8


def test_the_experiment_prints_every_agent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    module = gridworld_reference
    module.main(["--trials", "3", "--out", str(tmp_path / "ref.json")])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| grid11 |"))
    assert row.startswith("| grid11 | -250.0 ± 0.0 |")
    assert "524 ± 22 | 630 ± 22" in row
    assert "| grid11 | stay | 0% | 0.00 | 0.00 | nan | 0.00 | 100% |" in out
    assert (tmp_path / "ref.json").exists()
    with pytest.raises(SystemExit):
        module.main(["--grids", "grid12"])


def test_the_experiment_plays_trained_models(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from rl2_agent.training.config import TrainConfig
    from rl2_agent.training.loop import train

    run = tmp_path / "run"
    tiny = {"n_envs": 2, "n_steps": 25, "batch_size": 50, "n_epochs": 1, "policy_kwargs": {"gru_hidden_size": 8}}
    train(TrainConfig("RL2GridWorld-v0", {"size": 11}, 100, 0, str(run), hyperparams=tiny, eval_trials=2), progress=False)
    module = gridworld_reference
    module.main(["--trials", "2", "--models", f"tiny={run}"])
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| grid |"))
    assert "| tiny greedy | tiny sampled |" in header
    assert any(line.startswith("| grid11 | tiny sampled |") for line in out.splitlines())
    for bad in (
        ["--models", "tiny"],
        ["--models", f"tiny={tmp_path / 'missing'}"],
        ["--grids", "grid13", "--models", f"tiny={run}"],
    ):
        with pytest.raises((SystemExit, ValueError)):
            module.main(["--trials", "2", *bad])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--trials", "0"], "argument --trials: must be an integer >= 1, got '0'"),
        (["--eval-seed", "-1"], "argument --eval-seed: must be an integer >= 0, got '-1'"),
        (["--grids", ","], "--grids: none given; known: ['grid11',"),
        (["--grids", "grid12"], "--grids: unknown grids ['grid12']; known: ['grid11',"),
    ],
)
def test_bad_arguments_are_refused_before_any_agent_plays(argv, message, refused):
    err = refused(gridworld_reference, "reference_plays", argv)
    assert message in err, err


def _fake_run(folder: Path, env_id: str, env_kwargs: dict, model: bool = True) -> Path:
    """A run folder with a ``config.json`` (and an empty model file): enough for the up-front checks."""
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"env_id": env_id, "env_kwargs": env_kwargs}))
    if model:
        (folder / "model.zip").write_bytes(b"")
    return folder


def test_the_experiment_checks_its_models_up_front(tmp_path, refused):
    bandit = _fake_run(tmp_path / "bandit", "RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 10})
    grid11 = _fake_run(tmp_path / "grid11", "RL2GridWorld-v0", {})  # no size: the default, 11
    grid13 = _fake_run(tmp_path / "grid13", "RL3GridWorld-v0", {"size": 13, "time_inputs": False})
    untrained = _fake_run(tmp_path / "untrained", "RL2GridWorld-v0", {"size": 11}, model=False)
    (tmp_path / "empty").mkdir()
    cases = [
        (
            [f"X={bandit}"],
            "trained on RL2Bandit-v0 {'num_arms': 5, 'episodes_per_trial': 10}, not on a gridworld; "
            "allowed ids: ['RL2GridWorld-v0', 'RL3GridWorld-v0']",
        ),
        ([f"X={tmp_path / 'empty'}"], "config.json not found"),
        ([f"X={untrained}"], "no model.zip or checkpoint"),
        (
            [f"X={grid11}", "--grids", "grid11,grid13_dense"],
            "trained on RL2GridWorld-v0 size 11, cannot play the grids "
            "['grid13_dense'] of another size; --grids it can play: ['grid11']",
        ),
        ([f"X={grid13}"], "trained on RL3GridWorld-v0 size 13, cannot play the grids ['grid11'] of another size"),
        ([f"X={grid11}", f"X={grid13}", "--grids", "grid11"], "the label 'X' is given twice"),
        ([f"X={tmp_path / 'missing'}"], "is not a run folder"),
    ]
    for models, message in cases:
        err = refused(gridworld_reference, "reference_plays", ["--trials", "2", "--models", *models])
        assert "error: --models 'X=" in err and message in err, (models, err)
    bench = gridworld_reference
    bench._check_models({"a": str(grid11)}, ["grid11"])
    bench._check_models({"b": str(grid13)}, ["grid13", "grid13_dense", "grid13_corner"])

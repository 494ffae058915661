"""The MuJoCo locomotion families (meta_envs.mujoco): tasks, rewards, trials, seeding, errors and frames."""

from __future__ import annotations

import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

pytest.importorskip("mujoco")

from frames import requires_mujoco_frames  # noqa: E402

import meta_envs  # noqa: E402,F401  (registers the ids)
from meta_envs.mujoco.ant import AntDir, AntGoal  # noqa: E402
from meta_envs.mujoco.half_cheetah import HalfCheetahDir, HalfCheetahVel  # noqa: E402

IDS = ["RL2HalfCheetahVel-v0", "RL2HalfCheetahDir-v0", "RL2AntDir-v0", "RL2AntGoal-v0"]
# id -> (inner observation size, action size)
SIZES = {"RL2HalfCheetahVel-v0": (17, 6), "RL2HalfCheetahDir-v0": (17, 6), "RL2AntDir-v0": (27, 8), "RL2AntGoal-v0": (29, 8)}


def test_importing_meta_envs_imports_neither_mujoco_nor_metaworld():
    code = "import sys, meta_envs; print(sorted(m for m in ('mujoco', 'metaworld', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_mujoco_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", None)  # import mujoco -> ImportError
    with pytest.raises(ImportError, match=r'RL2AntGoal-v0 needs MuJoCo: pip install "rl2\[mujoco\]"'):
        gym.make("RL2AntGoal-v0")


@pytest.mark.parametrize("env_id", IDS)
def test_spaces_layout_and_the_trial_of_two_200_step_episodes(env_id):
    env = gym.make(env_id)
    obs_size, action_size = SIZES[env_id]
    layout = env.unwrapped.obs_layout
    assert layout["obs"] == slice(0, obs_size) and layout["prev_action"] == slice(obs_size, obs_size + action_size)
    assert env.observation_space.shape == (obs_size + action_size + 2,)
    assert env.action_space.shape == (action_size,) and env.unwrapped.trial_length == 400
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and not obs[obs_size:].any()  # no previous action, reward or flag yet
    ends, steps, terminated = [], 0, False
    while not terminated:
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        assert not truncated
        if info["inner_done"]:
            ends.append(steps)
            assert obs[layout["done"]][0] == 1.0
    assert ends == [200, 400] and len(info["trial_returns"]) == 2
    check_env(env.unwrapped, skip_render_check=True)


def test_episode_length_and_steps_per_trial():
    env = gym.make("RL2HalfCheetahDir-v0", episode_length=5, episodes_per_trial=3)
    env.reset(seed=1)
    dones = [env.step(env.action_space.sample())[4]["inner_done"] for _ in range(15)]
    assert [i + 1 for i, d in enumerate(dones) if d] == [5, 10, 15]
    env = gym.make("RL2AntDir-v0", steps_per_trial=7)
    env.reset(seed=1)
    assert [env.step(env.action_space.sample())[2] for _ in range(7)] == [False] * 6 + [True]


@pytest.mark.parametrize("env_id", IDS)
def test_a_seed_determines_the_trial(env_id):
    def run(seed):
        env = gym.make(env_id, episode_length=20)
        env.action_space.seed(5)
        obs, _ = env.reset(seed=seed)
        trace = [obs]
        for _ in range(30):
            obs, reward, *_ = env.step(env.action_space.sample())
            trace += [obs, [reward]]
        return np.asarray(env.unwrapped.task, dtype=float), np.concatenate([np.ravel(x) for x in trace])

    (task_a, trace_a), (task_b, trace_b), (_, trace_c) = run(3), run(3), run(4)
    assert np.array_equal(task_a, task_b) and np.array_equal(trace_a, trace_b)
    assert not np.array_equal(trace_a, trace_c)


def _reward_check(env_id, expected, task, steps=25):
    env = gym.make(env_id)
    env.reset(seed=2, options={"task": task})
    rng = np.random.default_rng(0)
    for _ in range(steps):
        action = rng.uniform(-1.5, 1.5, env.action_space.shape)  # beyond the box: the costs use the clipped action
        _, reward, _, _, info = env.step(action)
        clipped = np.clip(action, -1.0, 1.0)
        assert reward == pytest.approx(expected(info, clipped, env.unwrapped.family), rel=1e-5, abs=1e-5)  # float32 actions


def test_rewards_follow_the_literature_definitions():
    _reward_check("RL2HalfCheetahVel-v0", lambda i, a, f: -abs(i["x_velocity"] - 1.5) - 0.05 * np.square(a).sum(), 1.5)
    _reward_check("RL2HalfCheetahDir-v0", lambda i, a, f: -i["x_velocity"] - 0.05 * np.square(a).sum(), -1)

    def contact(family):  # gymnasium's contact cost of the ant's last step
        forces = np.clip(family.robot.data.cfrc_ext[1:], -1.0, 1.0)
        return 5e-4 * np.square(forces).sum()

    angle = 3 * math.pi / 4
    _reward_check(
        "RL2AntDir-v0",
        lambda i, a, f: (
            i["x_velocity"] * math.cos(angle) + i["y_velocity"] * math.sin(angle) + 1.0 - 0.5 * np.square(a).sum() - contact(f)
        ),
        angle,
    )
    _reward_check(
        "RL2AntGoal-v0",
        lambda i, a, f: -abs(i["x_position"] - 2.0) - abs(i["y_position"] + 1.0) - 0.1 * np.square(a).sum() - contact(f),
        [2.0, -1.0],
    )


def test_task_distributions():
    family = HalfCheetahVel(max_velocity=2.0)
    velocities = np.array([family.sample_task(np.random.default_rng(i)) for i in range(4000)])
    assert velocities.min() >= 0 and velocities.max() <= 2.0 and abs(velocities.mean() - 1.0) < 0.05
    directions = [HalfCheetahDir().sample_task(np.random.default_rng(i)) for i in range(2000)]
    assert set(directions) == {-1, 1} and abs(np.mean(directions)) < 0.07
    angles = [AntDir().sample_task(np.random.default_rng(i)) for i in range(2000)]
    assert set(angles) == {0.0, math.pi} and abs(np.mean(angles) - math.pi / 2) < 0.15
    angles = np.array([AntDir(directions="all").sample_task(np.random.default_rng(i)) for i in range(2000)])
    assert angles.min() >= 0 and angles.max() < 2 * math.pi and abs(angles.mean() - math.pi) < 0.1
    goals = np.array([AntGoal().sample_task(np.random.default_rng(i)) for i in range(4000)])
    radii = np.linalg.norm(goals, axis=1)
    assert radii.max() <= 3.0 and abs((radii < 1.5).mean() - 0.25) < 0.03  # uniform on the disc: area fraction
    assert abs(goals.mean(axis=0)).max() < 0.1


@pytest.mark.parametrize(
    ("env_id", "kwargs", "message"),
    [
        ("RL2HalfCheetahVel-v0", {"max_velocity": 0}, "max_velocity must be a number in"),
        ("RL2HalfCheetahVel-v0", {"max_velocity": "fast"}, "max_velocity must be a number in"),
        ("RL2HalfCheetahDir-v0", {"episode_length": 0}, "episode_length"),
        ("RL2AntDir-v0", {"directions": "left"}, r"directions must be one of .*forward_backward"),
        ("RL2AntGoal-v0", {"goal_radius": -1.0}, "goal_radius must be a number in"),
        ("RL2AntGoal-v0", {"episodes_per_trial": 2, "steps_per_trial": 10}, "episodes_per_trial"),
        ("RL2AntGoal-v0", {"goal_raduis": 2.0}, "goal_raduis"),
    ],
)
def test_bad_kwargs_are_refused_with_the_parameter_named(env_id, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize(
    ("env_id", "task", "message"),
    [
        ("RL2HalfCheetahVel-v0", float("nan"), "task must be a number in"),
        ("RL2HalfCheetahDir-v0", 0, "task must be the direction -1"),
        ("RL2HalfCheetahDir-v0", True, "task must be the direction -1"),
        ("RL2AntDir-v0", 7.0, "task must be a number in"),
        ("RL2AntGoal-v0", [1.0, 2.0, 3.0], "task must be a goal position"),
    ],
)
def test_bad_tasks_are_refused_and_the_trial_goes_on(env_id, task, message):
    env = gym.make(env_id)
    env.reset(seed=0)
    before = np.copy(env.unwrapped.task)
    with pytest.raises(ValueError, match=message):
        env.reset(options={"task": task})
    assert np.array_equal(env.unwrapped.task, before)
    env.step(env.action_space.sample())  # the trial under way goes on


@requires_mujoco_frames
@pytest.mark.parametrize("env_id", ["RL2HalfCheetahVel-v0", "RL2AntGoal-v0"])
def test_frames_show_the_robot_and_keep_one_shape(env_id):
    env = gym.make(env_id, render_mode="rgb_array", episode_length=10)
    env.reset(seed=0)
    first = env.render()
    for _ in range(12):
        env.step(env.action_space.sample())
    later = env.render()
    assert first.dtype == np.uint8 and first.ndim == 3 and first.shape == later.shape and first.shape[1] == 340
    assert not np.array_equal(first, later)  # the robot moved (and the header changed)
    assert first[:, :, 1].std() > 20  # a picture, not a blank
    text = env.unwrapped.family.describe_task()
    assert "step 2/10" in text  # 12 steps: the second episode's step 2


def test_a_uniformly_random_agent_plays_the_box_of_the_torques():
    from rl2_agent.agents.scripted import UniformRandomAgent
    from rl2_agent.evaluation.runner import run_trials

    env = gym.make("RL2AntGoal-v0")
    agent = UniformRandomAgent.for_space(env.action_space, seed=0)
    actions = agent.act(None, np.ones(500, dtype=bool))
    assert actions.shape == (500, 8) and actions.dtype == np.float32
    assert actions.min() >= -1 and actions.max() <= 1 and abs(actions.mean()) < 0.02 and actions.std() > 0.55
    results = run_trials(agent, "RL2AntGoal-v0", {"episode_length": 10}, n_trials=4, seed=0)
    assert results.trial_returns.shape == (4,) and (results.trial_returns < 0).all()  # L1 distance and costs
    with pytest.raises(ValueError, match="needs a Discrete or Box action space"):
        UniformRandomAgent.for_space(gym.spaces.MultiBinary(3))

"""Rendering: every registered id draws ``rgb_array`` frames (SB3's ``make_vec_env`` asks for them), which
gymnasium's ``RecordVideo``, RL Zoo's ``record_video`` and :func:`meta_envs.film_trial` turn into videos."""

from __future__ import annotations

import contextlib
import importlib.util
import runpy
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from frames import frames_param
from gymnasium.utils.env_checker import check_env as gym_check_env

import meta_envs
from meta_envs import ENV_IDS, TrialEnv, film_trial, rendering, trial_frames
from meta_envs.bandit import PAID_COLOUR, UNPAID_COLOUR, BernoulliBandit
from meta_envs.gridworld import AGENT_COLOUR
from meta_envs.navigation.grid_nav import MAP_AGENT

REPO = Path(__file__).resolve().parent.parent
HAS_MOVIEPY = importlib.util.find_spec("moviepy") is not None
requires_moviepy = pytest.mark.skipif(not HAS_MOVIEPY, reason="writing videos needs moviepy (pip install -e '.[dev]')")

# short trials, so that playing one whole trial with a frame per step takes a fraction of a second
FAST_KWARGS: dict[str, dict] = {
    "RL2GridNav-v0": {"max_episode_length": 12},
    "RL2Maze-v0": {"max_episode_length": 12},
    "RL2PointNav-v0": {"episode_length": 10},
    "RL2GridWorld-v0": {"steps_per_trial": 30},
    "RL3GridWorld-v0": {"steps_per_trial": 30},
    **dict.fromkeys(["RL2HalfCheetahVel-v0", "RL2HalfCheetahDir-v0", "RL2AntDir-v0", "RL2AntGoal-v0"], {"episode_length": 10}),
    "RL2MetaWorld-v0": {"episode_length": 10},
}
FRAME_IDS = [frames_param(env_id) for env_id in ENV_IDS]  # MuJoCo's frames need an OpenGL backend (tests/frames.py)
HEADER_ROWS = rendering.text_panel(["", ""], 340, scale=2).shape[0] + 1  # the header and the line under it


def make(env_id: str, **kwargs) -> gym.Env:
    return gym.make(env_id, render_mode="rgb_array", **{**FAST_KWARGS.get(env_id, {}), **kwargs})


@contextlib.contextmanager
def argv(*args: object) -> Iterator[None]:
    saved = sys.argv
    sys.argv = [str(a) for a in args]
    try:
        yield
    finally:
        sys.argv = saved


# ----------------------------------------------------------------------------- the contract
@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_every_id_declares_rgb_array_on_the_env_and_its_entry_point(env_id: str) -> None:
    env = gym.make(env_id)
    assert {"ansi", "rgb_array"} <= set(env.metadata["render_modes"]) and env.metadata["render_fps"] > 0
    creator = gym.envs.registration.load_env_creator(gym.spec(env_id).entry_point)
    assert "rgb_array" in creator.metadata["render_modes"]  # gym.make reads it to offer rgb_array_list and human
    # the family draws its own picture (the text fallback is for families from elsewhere)
    assert callable(getattr(env.unwrapped.family, "render_frame", None))


@pytest.mark.parametrize("env_id", FRAME_IDS)
def test_sb3_make_vec_env_builds_and_steps_every_id(env_id: str) -> None:
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(env_id, n_envs=2, seed=0, env_kwargs=FAST_KWARGS.get(env_id, {}))
    try:
        assert venv.render_mode == "rgb_array"
        venv.reset()
        venv.action_space.seed(0)
        for _ in range(3):
            venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
        frames = venv.get_images()
        assert len(frames) == 2 and all(f.ndim == 3 and f.shape[2] == 3 and f.dtype == np.uint8 for f in frames)
    finally:
        venv.close()


@pytest.mark.parametrize("env_id", FRAME_IDS)
def test_frames_keep_one_shape_over_a_trial_and_change_with_the_state(env_id: str) -> None:
    env = make(env_id)
    before_reset = env.unwrapped.render()  # the wrapper refuses render() before reset(), the env itself draws
    frames = trial_frames(env, seed=0)
    assert len(frames) >= 3
    shapes = {f.shape for f in frames}
    assert shapes == {before_reset.shape}, shapes
    height, width, channels = before_reset.shape
    assert channels == 3 and height > HEADER_ROWS and width >= 340 and frames[0].dtype == np.uint8
    # the picture below the header (not only the step counter) changes as the trial goes on
    bodies = [f[HEADER_ROWS:] for f in frames]
    assert not np.array_equal(bodies[0], bodies[-1])
    assert len({b.tobytes() for b in bodies}) > len(bodies) // 4


def test_header_shows_the_episode_step_trial_return_and_last_reward() -> None:
    env = gym.make("RL2Bandit-v0", render_mode="rgb_array", episodes_per_trial=4)
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (0, 1)]
    frame = env.render()
    expected = rendering.text_panel(
        ["EPISODE 3/4  STEP 2/4", f"RETURN {sum(rewards):+.2f}  LAST {rewards[-1]:+.2f}"], frame.shape[1], scale=2
    )
    np.testing.assert_array_equal(frame[: expected.shape[0]], expected)
    env.step(2)
    terminated = env.step(3)[2]
    assert terminated
    last = rendering.text_panel(["EPISODE 4/4  STEP 4/4  END", ""], frame.shape[1], scale=2)
    np.testing.assert_array_equal(env.render()[:20], last[:20])  # the first line


@pytest.mark.parametrize("reward", [0.0, 1.0])
def test_bandit_frame_marks_the_last_pull_by_its_reward(reward: float) -> None:
    env = gym.make("RL2Bandit-v0", render_mode="rgb_array", num_arms=3)
    probs = np.array([0.2, reward, 0.7])  # arm 1 pays `reward` for sure
    env.reset(seed=0, options={"task": probs})
    before = env.render()
    env.step(1)
    frame = env.render()
    colour = PAID_COLOUR if reward else UNPAID_COLOUR
    marked = np.all(frame == colour, axis=-1)
    assert marked.any() and not np.all(before == colour, axis=-1).any()
    cols = np.nonzero(marked.any(axis=0))[0]
    assert frame.shape[1] / 3 < cols.mean() < 2 * frame.shape[1] / 3  # around the middle arm of three


def test_gridworld_and_maze_frames_draw_the_agent_where_it_is() -> None:
    env = make("RL2GridWorld-v0")
    env.reset(seed=0)
    family = env.unwrapped.family
    frame = env.render()[HEADER_ROWS:]
    rows, cols = np.nonzero(np.all(frame == AGENT_COLOUR, axis=-1))
    cell = 340 // family.size  # the grid is centred in the 340-pixel width
    assert (int(rows.mean()) // cell, int(cols.mean()) // cell) == divmod(family.state, family.size)

    maze = make("RL2GridNav-v0")
    maze.reset(seed=0)
    row, col, _ = maze.unwrapped.family.pose
    frame = maze.render()[HEADER_ROWS:]
    rows, cols = np.nonzero(np.all(frame == MAP_AGENT, axis=-1))
    cell = 340 // maze.unwrapped.family.grid_size
    assert (int(rows.mean()) // cell, int(cols.mean()) // cell) == (row, col)


def test_rl3_frames_add_the_value_inputs_panel() -> None:
    rl2, rl3 = make("RL2TabularMDP-v0"), make("RL3TabularMDP-v0")
    for env in (rl2, rl3):
        env.reset(seed=0)
        env.step(1)
    a, b = rl2.render(), rl3.render()
    assert b.shape[1] == a.shape[1] and b.shape[0] > a.shape[0]
    np.testing.assert_array_equal(a, b[: a.shape[0]])  # the same trial, with the panel below


def test_a_family_without_render_frame_is_drawn_as_its_text(family_with_spaces) -> None:
    family = family_with_spaces(gym.spaces.Discrete(3), gym.spaces.Discrete(2))
    env = TrialEnv(family, episodes_per_trial=2, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    env.step(0)
    second = env.render()
    assert first.shape == second.shape and first.dtype == np.uint8
    assert not np.array_equal(first[:HEADER_ROWS], second[:HEADER_ROWS])


def test_steps_are_recorded_only_for_rgb_array() -> None:
    for mode, recorded in ((None, 0), ("ansi", 0), ("rgb_array", 3)):
        env = gym.make("RL2TabularMDP-v0", render_mode=mode)
        env.reset(seed=0)
        for a in (0, 1, 2):
            env.step(a)
        steps = env.unwrapped.recorded_steps()
        assert len(steps) == recorded
    assert [s.action for s in steps] == [0, 1, 2] and steps[1].obs == steps[0].next_obs
    env.reset(seed=1)
    assert env.unwrapped.recorded_steps() == []


# ----------------------------------------------------------------------------- modes
@pytest.mark.parametrize("env_id", list(ENV_IDS))
def test_a_mode_the_env_lacks_is_refused_at_construction(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gym.make warns first, as for its own envs
        with pytest.raises(ValueError, match=r"render_mode must be one of \['ansi', 'rgb_array'\] or None, got 'video'"):
            gym.make(env_id, render_mode="video")


def test_gym_make_wraps_rgb_array_list_and_human_as_for_its_own_envs() -> None:
    env = gym.make("RL2Bandit-v0", render_mode="rgb_array_list", episodes_per_trial=3)
    env.reset(seed=0)
    env.step(0)
    frames = env.render()  # RenderCollection: the frames since the last render
    assert isinstance(frames, list) and len(frames) == 2 and frames[0].shape == frames[1].shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gym.make says that it applies the wrapper
        human = gym.make("RL2Bandit-v0", render_mode="human")  # its window needs pygame, imported when it opens
    assert type(human).__name__ == "HumanRendering" and human.unwrapped.render_mode == "rgb_array"


@pytest.mark.parametrize("env_id", ["RL2Bandit-v0", "RL2TabularMDP-v0"])
def test_batched_envs_refuse_render_mode_and_sync_vector_envs_render(env_id: str) -> None:
    with pytest.raises(
        ValueError, match=r"render_mode must be None for a numpy-batched vector env.*vectorization_mode='sync'"
    ):
        gym.make_vec(env_id, num_envs=2, render_mode="rgb_array")
    batched = gym.make_vec(env_id, num_envs=2)
    assert batched.render_mode is None and batched.metadata["render_modes"] == []
    with pytest.raises(NotImplementedError, match="draws no frames"):
        batched.render()
    sync = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync", render_mode="rgb_array")
    sync.reset(seed=0)
    frames = sync.render()
    assert len(frames) == 2 and frames[0].shape == frames[1].shape


@pytest.mark.parametrize("env_id", FRAME_IDS)
def test_gymnasium_check_env_passes_with_the_render_checks(env_id: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # infinite Box bounds (RL^3's q_values) are warned about, as elsewhere
        gym_check_env(make(env_id).unwrapped)  # rgb_array frames
        gym_check_env(gym.make(env_id, **FAST_KWARGS.get(env_id, {})).unwrapped)  # every declared mode, through the spec


# ----------------------------------------------------------------------------- videos
@requires_moviepy
def test_record_video_writes_one_trial(tmp_path: Path) -> None:
    from gymnasium.wrappers import RecordVideo
    from moviepy.video.io.VideoFileClip import VideoFileClip

    env = RecordVideo(make("RL2GridNav-v0"), str(tmp_path / "videos"), episode_trigger=lambda e: e == 0, disable_logger=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    steps, done = 0, False
    while not done:
        _, _, done, _, _ = env.step(env.action_space.sample())
        steps += 1
    env.close()
    (video,) = (tmp_path / "videos").glob("*.mp4")
    clip = VideoFileClip(str(video))
    try:
        frame = env.unwrapped.render()
        assert tuple(clip.size) == (frame.shape[1], frame.shape[0])
        assert clip.fps == env.metadata["render_fps"]
        assert clip.duration == pytest.approx((steps + 1) / clip.fps, abs=1.5 / clip.fps)
    finally:
        clip.close()


@requires_moviepy
def test_film_trial_writes_a_video_of_one_trial(tmp_path: Path) -> None:
    from moviepy.video.io.VideoFileClip import VideoFileClip

    path = film_trial("RL2Bandit-v0", tmp_path / "bandit.mp4", seed=0, episodes_per_trial=6)
    clip = VideoFileClip(str(path))
    try:
        assert clip.fps == 2 and clip.duration == pytest.approx(7 / 2, abs=0.5)
    finally:
        clip.close()
    with pytest.raises(ValueError, match="render_mode must be 'rgb_array'"):
        film_trial(gym.make("RL2Bandit-v0"), tmp_path / "x.mp4")
    with pytest.raises(ValueError, match="one shape"):
        meta_envs.video.write_video([np.zeros((4, 4, 3), np.uint8), np.zeros((6, 4, 3), np.uint8)], tmp_path / "y.mp4", 2)


def test_trial_frames_follow_the_policy_and_the_seed() -> None:
    env = gym.make("RL2Bandit-v0", render_mode="rgb_array", episodes_per_trial=5)
    a = trial_frames(env, policy=lambda obs: 2, seed=3)
    b = trial_frames(env, policy=lambda obs: 2, seed=3)
    assert len(a) == 6 and all(np.array_equal(x, y) for x, y in zip(a, b))
    assert env.unwrapped.recorded_steps()[-1].action == 2
    assert isinstance(env.unwrapped.family, BernoulliBandit)


@requires_moviepy
def test_rl_zoo_record_video_films_a_trained_agent(tmp_path: Path) -> None:
    pytest.importorskip("rl_zoo3", reason="rl_zoo3 is not installed (pip install -e '.[zoo]')")
    from rl_zoo3.train import train

    with argv(
        "train",
        "--algo",
        "ppo_lstm",
        "--env",
        "RL2Bandit-v0",
        "--gym-packages",
        "meta_envs",
        "--conf-file",
        REPO / "zoo_configs" / "ppo_lstm.yml",
        "-n",
        32,
        "-f",
        tmp_path / "logs",
        "--seed",
        0,
        "--verbose",
        0,
        "--num-threads",
        1,
        "--eval-freq",
        -1,
        "-params",
        "n_envs:2",
        "n_steps:16",
        "batch_size:32",
    ):
        train()
    out = tmp_path / "videos"
    # record_video has no --gym-packages: the documented launcher imports meta_envs, then runs it as here:
    # python -c "import meta_envs, runpy; runpy.run_module('rl_zoo3.record_video', run_name='__main__')" --algo ...
    with argv(
        "record_video",
        "--algo",
        "ppo_lstm",
        "--env",
        "RL2Bandit-v0",
        "-f",
        tmp_path / "logs",
        "-o",
        out,
        "-n",
        12,
        "--stochastic",
        "--seed",
        0,
    ):
        runpy.run_module("rl_zoo3.record_video", run_name="__main__")
    videos = list(out.glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 1000

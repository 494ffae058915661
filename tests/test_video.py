"""Films of a trained agent: ``rl2 evaluate --video N`` and :mod:`rl2_agent.evaluation.film`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from meta_envs.video import trial_frames
from rl2_agent.cli import cli, main
from rl2_agent.evaluation import EVAL_SEED
from rl2_agent.evaluation.film import film_trials, trial_policy
from rl2_agent.experiments import evaluate

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("moviepy") is None, reason="writing videos needs moviepy (pip install -e '.[dev]')"
)
iio = pytest.importorskip("imageio.v3")

TINY = ["n_steps=16", "batch_size=64", "n_epochs=1", "policy_kwargs.gru_hidden_size=16"]
BANDIT = {"num_arms": 3, "episodes_per_trial": 5}
MAZE = {"size": "small", "max_episode_length": 12}


def tiny_run(out: Path, env_id: str, env_kwargs: dict[str, object]) -> Path:
    """A run folder trained for 128 steps: enough for a model.zip, a config.json and a policy that is not uniform."""
    kwargs = [f"{k}={v}" for k, v in env_kwargs.items()]
    argv = [
        "train",
        "--env",
        env_id,
        "--env-kwargs",
        *kwargs,
        "--timesteps",
        "128",
        "--n-envs",
        "4",
        "--seed",
        "0",
        "--hyperparams",
        *TINY,
        "--eval-trials",
        "4",
        "--eval-every",
        "128",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="module")
def bandit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("bandit"), "RL2Bandit-v0", BANDIT)


@pytest.fixture(scope="module")
def maze_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("maze"), "RL2GridNav-v0", MAZE)


def reset_frame(env_id: str, env_kwargs: dict[str, object], seed: int) -> np.ndarray:
    env = gym.make(env_id, render_mode="rgb_array", **env_kwargs)
    env.reset(seed=seed)
    frame = env.render()
    env.close()
    return frame


# ----------------------------------------------------------------------------- rl2 evaluate --video
def test_evaluate_video_writes_one_readable_mp4_per_filmed_trial_named_by_its_seed(bandit_run: Path) -> None:
    assert main(["evaluate", str(bandit_run), "--trials", "4", "--video", "2"]) == 0
    videos = sorted((bandit_run / "videos").iterdir())
    assert [v.name for v in videos] == [f"trial_{EVAL_SEED}.mp4", f"trial_{EVAL_SEED + 1}.mp4"]
    shape = reset_frame("RL2Bandit-v0", BANDIT, EVAL_SEED).shape
    for video in videos:
        frames = iio.imread(video, index=None)
        assert frames.shape == (BANDIT["episodes_per_trial"] + 1, *shape) and frames.dtype == np.uint8  # reset + 5 pulls
    summary = json.loads((bandit_run / "eval.json").read_text())
    assert [v["file"] for v in summary["videos"]] == [str(v) for v in videos]
    assert [v["seed"] for v in summary["videos"]] == [EVAL_SEED, EVAL_SEED + 1]
    assert all(v["steps"] == 5 and 0 <= v["return"] <= 5 for v in summary["videos"])


def test_evaluate_video_gifs_show_the_held_out_tasks_that_evaluation_scores(bandit_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "films"
    assert (
        main(
            [
                "evaluate",
                str(bandit_run),
                "--trials",
                "3",
                "--video",
                "3",
                "--video-format",
                "gif",
                "--video-dir",
                str(out),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    for i in range(3):
        frames = iio.imread(out / f"trial_{EVAL_SEED + i}.gif", index=None)
        # the first frame is the reset of the task of seed EVAL_SEED + i: its arms' true probabilities drawn exactly
        assert np.array_equal(frames[0], reset_frame("RL2Bandit-v0", BANDIT, EVAL_SEED + i))
        assert len(frames) == 6
    assert not (bandit_run / "videos" / f"trial_{EVAL_SEED + 2}.gif").exists()


def test_a_deterministic_agent_on_a_grid_maze_is_filmed_taking_the_actions_of_its_scored_trials(maze_run: Path) -> None:
    # single envs, same seeds, greedy actions: the filmed trial is the scored trial, step for step
    assert main(["evaluate", str(maze_run), "--trials", "4", "--video", "4", "--deterministic", "--video-format", "gif"]) == 0
    films = json.loads((maze_run / "eval.json").read_text())["videos"]
    assert len(films) == 4
    for film in films:
        assert film["return"] == pytest.approx(film["scored_return"], abs=1e-9)
        frames = iio.imread(film["file"], index=None)
        assert len(frames) == film["steps"] + 1 and film["steps"] <= 2 * MAZE["max_episode_length"]
    assert len({round(f["return"], 6) for f in films} | {f["steps"] for f in films}) > 1, "four identical trials"


def test_a_filmed_trial_is_the_same_every_time_whatever_the_number_of_videos(bandit_run: Path, tmp_path: Path) -> None:
    one = evaluate.film_run(bandit_run, 1, tmp_path / "one", video_format="gif")
    two = evaluate.film_run(bandit_run, 2, tmp_path / "two", video_format="gif")
    assert one[0].trial_return == two[0].trial_return
    assert np.array_equal(iio.imread(one[0].path, index=None), iio.imread(two[0].path, index=None))


def test_evaluate_without_video_writes_no_video(bandit_run: Path, tmp_path: Path) -> None:
    assert main(["evaluate", str(bandit_run), "--trials", "2", "--out", str(tmp_path)]) == 0
    assert "videos" not in json.loads((tmp_path / "eval.json").read_text())
    assert not (tmp_path / "videos").exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--video", "-1"], "argument --video: must be an integer >= 0, got '-1'"),
        (["--video", "two"], "argument --video: must be an integer >= 0, got 'two'"),
        (["--video-format", "avi"], "argument --video-format: invalid choice: 'avi'"),
    ],
)
def test_bad_video_flags_are_refused_by_argparse(flags: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "runs/none", *flags])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_more_videos_than_trials_is_one_line_error_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(evaluate, "evaluate_run", lambda *a, **k: pytest.fail("evaluated before refusing"))
    assert cli(["evaluate", "runs/none", "--trials", "2", "--video", "3"]) == 2
    err = capsys.readouterr().err
    assert err == "rl2 evaluate: error: --video must be an integer in [0, --trials], here [0, 2], got 3\n"


def test_video_without_moviepy_names_the_install_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(evaluate, "evaluate_run", lambda *a, **k: pytest.fail("evaluated before refusing"))
    monkeypatch.setitem(sys.modules, "moviepy", None)  # find_spec and import then fail as if it were not installed
    assert cli(["evaluate", "runs/none", "--trials", "2", "--video", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "pip install moviepy" in err and ".[dev]" in err


# ----------------------------------------------------------------------------- the filming functions
class RecordingAgent:
    """Pulls arm ``step % num_arms``; records the shapes and trial_start flags it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[int, ...], list[bool]]] = []
        self.step = 0

    def act(self, obs: np.ndarray, trial_start: np.ndarray) -> np.ndarray:
        self.calls.append((np.shape(obs), trial_start.tolist()))
        self.step = 0 if trial_start[0] else self.step + 1
        return np.array([self.step % 3])


def test_trial_policy_gives_the_agent_a_batch_of_one_and_a_trial_start_at_the_first_step_only() -> None:
    env = gym.make("RL2Bandit-v0", render_mode="rgb_array", **BANDIT)
    agent = RecordingAgent()
    for _ in range(2):  # one policy per trial: each starts with trial_start True
        frames = trial_frames(env, trial_policy(agent), seed=EVAL_SEED)
        assert len(frames) == 6
    obs_dim = env.observation_space.shape[0]
    assert agent.calls == 2 * ([((1, obs_dim), [True])] + [((1, obs_dim), [False])] * 4)
    assert [s.action for s in env.unwrapped.recorded_steps()] == [0, 1, 2, 0, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_trials": -1}, r"n_trials must be an integer >= 0, got -1"),
        ({"video_format": "avi"}, r"video_format must be one of \['mp4', 'gif'\], got 'avi'"),
        ({"fps": 0}, r"fps must be a finite number > 0, got 0"),
        ({"seed": -5}, r"seed must be an integer >= 0, got -5"),
    ],
)
def test_film_trials_refuses_bad_arguments_in_one_line(kwargs: dict[str, object], message: str, tmp_path: Path) -> None:
    args = {"n_trials": 1, "out_dir": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=message):
        film_trials(RecordingAgent(), "RL2Bandit-v0", BANDIT, **args)
    assert not list(tmp_path.iterdir())


def test_film_trials_returns_each_trials_return_and_length(tmp_path: Path) -> None:
    films = film_trials(RecordingAgent(), "RL2Bandit-v0", BANDIT, 2, tmp_path, seed=7, video_format="gif", fps=5)
    assert [f.path.name for f in films] == ["trial_7.gif", "trial_8.gif"] and [f.steps for f in films] == [5, 5]
    for film in films:
        env = gym.make("RL2Bandit-v0", **BANDIT)  # the same task and noise (seed), the same arms pulled
        env.reset(seed=film.seed)
        total = sum(env.step(a)[1] for a in [0, 1, 2, 0, 1])
        assert film.trial_return == total

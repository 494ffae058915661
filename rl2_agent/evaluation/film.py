"""Films of any agent: held-out trials played by a :class:`~rl2_agent.evaluation.agent.TrialAgent`, one video each.

::

    from rl2_agent.agents import SB3RecurrentAgent
    from rl2_agent.evaluation.film import film_trials

    films = film_trials(SB3RecurrentAgent(model), "RL2Bandit-v0", {}, 2, "runs/x/videos")  # trial_1000000.mp4, ...

Trial ``i`` is the task of ``reset(seed=seed + i)``, the task that
:func:`~rl2_agent.evaluation.runner.run_trials` scores as its trial ``i``, played by the agent as the
runner plays it (``act`` on a batch, ``trial_start`` True at the trial's first step only) in one
``render_mode="rgb_array"`` env. The frames and the mp4 writer are :mod:`meta_envs.video`'s;
writing needs ``moviepy`` (the ``dev`` extra), imported on use.

A filmed trial replays its scored twin exactly when the agent is deterministic (e.g. the greedy
actor) and the id has no batched implementation: the runner then plays the same single envs with
the same seeds. Otherwise it is the same task and policy with its own random draws: sampled actions
are drawn per call, and the batched bandit and MDP envs draw the reward and transition noise of
all their trials from one shared generator.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.validation import check_choice, check_positive_float, check_positive_int
from meta_envs.video import trial_frames, write_video
from rl2_agent.evaluation.agent import TrialAgent
from rl2_agent.evaluation.seeds import EVAL_SEED

logger = logging.getLogger(__name__)

__all__ = ["VIDEO_FORMATS", "FilmedTrial", "check_video_writer", "film_trials", "trial_policy", "write_frames"]

VIDEO_FORMATS = ("mp4", "gif")
"""The video file formats :func:`write_frames` writes (the file's suffix)."""

MISSING_MOVIEPY = "writing videos needs moviepy: pip install moviepy (or the dev extra: pip install -e '.[dev]')"


@dataclass(frozen=True)
class FilmedTrial:
    """One filmed trial: its task seed, the video file, the trial's return and its number of steps.

    The video holds ``steps + 1`` frames: one after the reset, then one after every step.
    """

    seed: int
    path: Path
    trial_return: float
    steps: int

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "file": str(self.path), "return": self.trial_return, "steps": self.steps}


def check_video_writer() -> None:
    """Raise ``gymnasium.error.DependencyNotInstalled`` (one line naming the install) without moviepy."""
    if importlib.util.find_spec("moviepy") is None:
        raise gym.error.DependencyNotInstalled(MISSING_MOVIEPY)


def trial_policy(agent: TrialAgent) -> Callable[[Any], Any]:
    """``policy(obs) -> action`` for :func:`meta_envs.video.trial_frames`: ``agent`` playing ONE trial.

    Each call is ``agent.act`` on a batch of one (``(1, obs_dim)``, or a dict of such batches) with
    ``trial_start`` ``[True]`` on the first call only, as the runner calls it; make one policy per trial.
    """
    trial_start = np.ones(1, dtype=bool)

    def policy(obs: Any) -> Any:
        batch = {k: np.asarray(v)[None] for k, v in obs.items()} if isinstance(obs, dict) else np.asarray(obs)[None]
        actions = agent.act(batch, trial_start.copy())
        trial_start[:] = False
        return np.asarray(actions)[0]

    return policy


def write_frames(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write ``frames`` (``(H, W, 3)`` uint8) to ``path`` (``.mp4``, ``.gif``, ...): :func:`meta_envs.video.write_video`.

    :raises gymnasium.error.DependencyNotInstalled: without moviepy.
    """
    return write_video(frames, path, fps)


def film_trials(
    agent: TrialAgent,
    env_id: str,
    env_kwargs: dict[str, Any] | None,
    n_trials: int,
    out_dir: str | Path,
    seed: int = EVAL_SEED,
    video_format: str = "mp4",
    fps: float | None = None,
    prefix: str = "trial",
) -> list[FilmedTrial]:
    """Film ``agent`` on the held-out trials ``seed .. seed + n_trials - 1``: ``<prefix>_<seed>.<video_format>`` each.

    Parameters
    ----------
    agent:
        Any :class:`~rl2_agent.evaluation.agent.TrialAgent`; it acts on batches of one observation.
    env_id, env_kwargs:
        The env, made once with ``render_mode="rgb_array"``.
    n_trials:
        How many trials to film (0: none).
    out_dir:
        The folder of the videos (made if missing).
    seed:
        The first task seed (:data:`~rl2_agent.evaluation.seeds.EVAL_SEED`: the test tasks).
    video_format:
        ``"mp4"`` or ``"gif"``.
    fps:
        Frames per second; None: the env's ``metadata["render_fps"]``.
    prefix:
        The start of every file name.

    Returns
    -------
    One :class:`FilmedTrial` per trial, in seed order.

    :raises ValueError: for a bad argument (naming it), before any trial is played.
    :raises gymnasium.error.DependencyNotInstalled: without moviepy, before any trial is played.
    """
    n_trials = check_positive_int("n_trials", n_trials, minimum=0)
    seed = check_positive_int("seed", seed, minimum=0)
    video_format = check_choice("video_format", video_format, VIDEO_FORMATS)
    if fps is not None:
        fps = check_positive_float("fps", fps)
    check_video_writer()
    out_dir = Path(out_dir)
    films: list[FilmedTrial] = []
    env = gym.make(env_id, render_mode="rgb_array", **(env_kwargs or {}))
    try:
        rate = fps if fps is not None else env.metadata.get("render_fps", 4)
        for i in range(n_trials):
            frames = trial_frames(env, trial_policy(agent), seed=seed + i)
            path = write_frames(frames, out_dir / f"{prefix}_{seed + i}.{video_format}", rate)
            films.append(FilmedTrial(seed + i, path, float(env.get_wrapper_attr("trial_return")()), len(frames) - 1))
            logger.debug(
                "filmed trial seed %d: return %.3f in %d steps -> %s", seed + i, films[-1].trial_return, films[-1].steps, path
            )
    finally:
        env.close()
    return films

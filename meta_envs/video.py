"""Filming trials: the ``rgb_array`` frames of one trial, and an mp4 of them.

::

    from meta_envs.video import film_trial

    film_trial("RL2Bandit-v0", "bandit.mp4", seed=0)  # random actions
    film_trial(env, "trial.mp4", policy=lambda obs: agent_action(obs), seed=3)

Frames need numpy only (:func:`trial_frames`); writing a video needs ``moviepy`` (``pip install
moviepy``, in the ``dev`` extra), imported on use. Gymnasium's ``RecordVideo`` wrapper and RL Zoo's
``record_video`` film these envs too: one gymnasium episode is one trial.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np

__all__ = ["film_trial", "trial_frames", "write_video"]

Policy = Callable[[Any], Any]


def trial_frames(
    env: gym.Env, policy: Policy | None = None, seed: int | None = None, options: dict[str, Any] | None = None
) -> list[np.ndarray]:
    """Play one trial of ``env`` and return its frames: one after ``reset``, then one after every step.

    Parameters
    ----------
    env:
        An env made with ``render_mode="rgb_array"`` (one gymnasium episode is one trial).
    policy:
        ``policy(obs) -> action``; None: uniformly random actions (the action space seeded with ``seed``).
    seed, options:
        Passed to ``env.reset`` (``seed`` fixes the task; ``options={"task": task}`` gives it).

    Returns
    -------
    list of ``(H, W, 3)`` uint8 arrays, all of one shape, ``trial length + 1`` of them.
    """
    if env.render_mode != "rgb_array":
        raise ValueError(f"env.render_mode must be 'rgb_array' to film a trial, got {env.render_mode!r}")
    obs, _ = env.reset(seed=seed, options=options)
    if policy is None:
        env.action_space.seed(seed)

        def policy(_obs: Any) -> Any:
            return env.action_space.sample()

    # render_mode "rgb_array": render() returns one frame
    frames = [cast(np.ndarray, env.render())]
    while True:
        obs, _, terminated, truncated, _ = env.step(policy(obs))
        frames.append(cast(np.ndarray, env.render()))
        if terminated or truncated:
            return frames


def write_video(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write ``frames`` (``(H, W, 3)`` uint8, all of one shape) to the video file ``path``: an animated GIF for a
    ``.gif`` suffix, else a video in the format of the suffix (e.g. ``.mp4``).

    :raises gymnasium.error.DependencyNotInstalled: without moviepy.
    """
    if not frames:
        raise ValueError("frames must hold at least one frame, got none")
    shapes = {np.shape(f) for f in frames}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[2] != 3:
        raise ValueError(f"frames must all have one shape (H, W, 3), got shapes {sorted(shapes)}")
    try:
        from moviepy.video.io.ImageSequenceClip import ImageSequenceClip
    except ImportError as e:
        raise gym.error.DependencyNotInstalled("writing a video needs moviepy: pip install moviepy") from e
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clip = ImageSequenceClip([np.asarray(f, dtype=np.uint8) for f in frames], fps=fps)
    if path.suffix.lower() == ".gif":  # write_videofile has no GIF codec
        clip.write_gif(str(path), logger=None)
    else:
        clip.write_videofile(str(path), logger=None)
    clip.close()
    return path


def film_trial(
    env: str | gym.Env,
    path: str | Path,
    policy: Policy | None = None,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    **env_kwargs: Any,
) -> Path:
    """Play one trial and write it to the video ``path`` at the env's ``metadata["render_fps"]``.

    ``env`` is an env made with ``render_mode="rgb_array"``, or an env id, made here with
    ``env_kwargs`` (and closed afterwards). ``policy``, ``seed``, ``options``: as :func:`trial_frames`.
    """
    made = isinstance(env, str)
    if isinstance(env, str):
        env = gym.make(env, render_mode="rgb_array", **env_kwargs)
    elif env_kwargs:
        raise ValueError(f"env_kwargs are for an env id only, got an env and {sorted(env_kwargs)}")
    try:
        frames = trial_frames(env, policy, seed, options)
        return write_video(frames, path, env.metadata.get("render_fps", 4))
    finally:
        if made:
            env.close()

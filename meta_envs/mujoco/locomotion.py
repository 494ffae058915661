"""What the MuJoCo locomotion families share: one of gymnasium's MuJoCo robots, whose reward is the task's.

A family (:class:`LocomotionFamily`) holds one gymnasium MuJoCo env (the robot, e.g. ``HalfCheetahEnv``
of ``HalfCheetah-v5``) and replaces its reward by the task's, computed from the robot's own step info
(positions and velocities of its torso) and the action. The robot's initial-state noise is drawn from the
family's ``np_random``, which :class:`~meta_envs.trial.TrialEnv` sets to the trial's generator, so
``reset(seed=s)`` determines the whole trial. Inner episodes are truncated after ``episode_length``
steps; the robots never terminate an episode themselves (a fixed trial length, as in the literature's
meta-RL versions of these tasks).

MuJoCo is imported only when a family is built (:func:`require_mujoco`). Frames come from MuJoCo's own
renderer, which needs an OpenGL backend: on a machine without a screen, OSMesa (Debian's
``libosmesa6``) with ``MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa`` set before the first frame.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep
from meta_envs.validation import check_episode_length, default_trial_length

__all__ = [
    "DEFAULT_EPISODES_PER_TRIAL",
    "DEFAULT_EPISODE_LENGTH",
    "LocomotionFamily",
    "render_picture",
    "require_mujoco",
    "trial_env",
]

#: Steps of an inner episode and inner episodes of a trial: those of VariBAD's RL^2 baseline on these
#: tasks (200-step episodes, 2 per task; PEARL and MAML also use 200-step episodes).
DEFAULT_EPISODE_LENGTH = 200
DEFAULT_EPISODES_PER_TRIAL = 2
FRAME_WIDTH, FRAME_HEIGHT = MIN_FRAME_WIDTH, 256  # MuJoCo's picture; a caption line goes below it
CAPTION_HEIGHT = 16
RENDER_HELP = (
    "MuJoCo could not render a frame (its rendering needs an OpenGL backend): on a machine without a screen install OSMesa (Debian: libosmesa6) "
    "and set MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa before the first frame"
)


def require_mujoco(env_id: str) -> None:
    """Import MuJoCo, or raise ``ImportError`` naming the extra that ``env_id`` needs."""
    try:
        importlib.import_module("mujoco")
        importlib.import_module("gymnasium.envs.mujoco")
    except ImportError as exc:
        raise ImportError(f'{env_id} needs MuJoCo: pip install "rl2[mujoco]" (gymnasium[mujoco]); {exc}') from exc


def make_robot(module: str, cls: str, render: bool, **kwargs: Any) -> Any:
    """A gymnasium MuJoCo env (``gymnasium.envs.mujoco.<module>.<cls>``), rendering ``rgb_array`` frames of
    ``(FRAME_HEIGHT, FRAME_WIDTH)`` when ``render``."""
    robot_cls = getattr(importlib.import_module(f"gymnasium.envs.mujoco.{module}"), cls)
    render_kwargs = {"render_mode": "rgb_array", "width": FRAME_WIDTH, "height": FRAME_HEIGHT} if render else {}
    return robot_cls(**render_kwargs, **kwargs)


def render_picture(env: Any) -> np.ndarray:
    """``env.render()`` of a MuJoCo env built with ``render_mode="rgb_array"``: an ``(H, W, 3)`` uint8 picture.

    :raises RuntimeError: with the help of :data:`RENDER_HELP` when MuJoCo cannot render (no OpenGL backend), or
        when ``env`` was built without rendering.
    """
    if getattr(env, "render_mode", None) != "rgb_array":
        raise RuntimeError("the MuJoCo env was built without rendering: make the env with render_mode='rgb_array'")
    try:
        picture = env.render()
    except Exception as exc:  # noqa: BLE001  (the GL backends fail in many ways; the help is the same)
        raise RuntimeError(f"{RENDER_HELP} ({type(exc).__name__}: {exc})") from exc
    return np.asarray(picture, dtype=np.uint8)


class LocomotionFamily(gym.Env):
    """A task family on a gymnasium MuJoCo robot (see the module docstring).

    Subclasses set ``env_id`` and build ``self.robot`` (:func:`make_robot`) after calling
    ``super().__init__``, and define ``sample_task``, ``check_task``, :meth:`task_reward` and
    :meth:`describe_task`.

    :param episode_length: steps of an inner episode (it is truncated after them).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 20}  # the robots' dt is 0.05 s
    env_id = ""
    #: weight of the control cost ``sum(action ** 2)`` in the task's reward
    ctrl_cost_weight = 0.0

    def __init__(self, episode_length: int = DEFAULT_EPISODE_LENGTH) -> None:
        require_mujoco(self.env_id)
        self.episode_length = check_episode_length("episode_length", episode_length)
        self.robot: Any = None
        self.task: Any = None
        self.t = 0
        self.info: dict[str, Any] = {}

    def _set_spaces(self) -> None:
        self.action_space = self.robot.action_space
        self.observation_space = self.robot.observation_space

    def set_task(self, task: Any) -> None:
        self.task = self.check_task(task)

    def sample_task(self, rng: np.random.Generator) -> Any:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def check_task(self, task: Any) -> Any:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def task_reward(self, info: dict[str, Any], action: np.ndarray) -> float:
        """The task's reward of a step, from the robot's step ``info`` and the (clipped) ``action``."""
        raise NotImplementedError  # pragma: no cover - every family overrides it

    def describe_task(self) -> str:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def control_cost(self, action: np.ndarray) -> float:
        return self.ctrl_cost_weight * float(np.square(action).sum())

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.robot.np_random = self.np_random  # the trial's generator draws the initial-state noise
        obs, _ = self.robot.reset()
        self.t = 0
        self.info = {}
        return obs, {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        box = cast(spaces.Box, self.action_space)  # every robot's torques
        action = np.clip(np.asarray(action, dtype=np.float32).reshape(box.shape), box.low, box.high)
        obs, _, terminated, _, info = self.robot.step(action)
        self.t += 1
        # the robot's positions and velocities pass on; its own reward terms are not the task's
        self.info = {key: value for key, value in info.items() if not key.startswith("reward_")}
        reward = self.task_reward(info, action)
        return obs, reward, bool(terminated), self.t >= self.episode_length, dict(self.info)

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """MuJoCo's picture of the robot above the task's caption, shape ``(272, 340, 3)``."""
        picture = render_picture(self.robot)
        image = draw.blank(FRAME_HEIGHT + CAPTION_HEIGHT, FRAME_WIDTH)
        image[:FRAME_HEIGHT] = picture
        draw.draw_text(image, self.describe_task().upper(), FRAME_HEIGHT + 5, 6)
        return image

    def close(self) -> None:
        if self.robot is not None:
            self.robot.close()


def trial_env(
    make_family: Callable[[bool], LocomotionFamily],
    episodes_per_trial: int | None,
    steps_per_trial: int | None,
    render_mode: str | None,
) -> TrialEnv:
    """The :class:`~meta_envs.trial.TrialEnv` of an entry point: ``make_family(render)`` (``render``: whether the
    robot draws frames, for ``render_mode="rgb_array"``) in trials of ``episodes_per_trial`` episodes
    (:data:`DEFAULT_EPISODES_PER_TRIAL` unless it or ``steps_per_trial`` is given), checked before the robot is built."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, DEFAULT_EPISODES_PER_TRIAL)
    return TrialEnv(make_family(render_mode == "rgb_array"), episodes_per_trial, steps_per_trial, render_mode)

"""Half-cheetah locomotion tasks: run at a target velocity (HalfCheetahVel) or in a direction (HalfCheetahDir).

Description
    gymnasium's ``HalfCheetah-v5`` robot, a planar cheetah of 9 bodies and 6 actuated joints, whose
    reward is the task's. HalfCheetahVel (Finn et al. 2017, MAML; the range of PEARL and VariBAD): the
    task is a target forward velocity ``v* ~ U[0, max_velocity]`` (3 by default), never observed.
    HalfCheetahDir (MAML, PEARL, VariBAD): the task is a direction ``d``, +1 (forward) or -1 (backward)
    with probability 1/2 each.
Action Space
    ``Box(-1, 1, (6,), float32)``: the joint torques; actions are clipped to the box.
Observation Space
    The robot's ``Box(-inf, inf, (17,), float64)``: joint positions (without the x position) and
    velocities. The trial observation appends the previous action, reward and done flag.
Rewards
    With ``v`` the forward velocity of the torso (x displacement / 0.05 s) and the control cost
    ``0.05 * sum(a ** 2)`` (the weight of MAML, PEARL and VariBAD): Vel ``-|v - v*| - 0.05 sum(a^2)``;
    Dir ``d * v - 0.05 sum(a^2)``.
Starting State
    The robot's: rest pose plus uniform noise on positions (+-0.1) and Gaussian noise on velocities
    (s.d. 0.1), drawn from the trial's generator.
Episode End
    An inner episode is truncated after ``episode_length`` (200) steps (10 simulated seconds); the cheetah
    cannot fall. The trial terminates after ``episodes_per_trial`` (2, VariBAD's RL^2 setting) episodes
    or ``steps_per_trial`` steps.
Rendering
    ``render_mode="rgb_array"`` (20 frames per second): under the trial header, MuJoCo's picture of
    the cheetah (camera following it) and a caption with the task and the current velocity; needs an
    OpenGL backend (:mod:`meta_envs.mujoco.locomotion`). ``render_mode="ansi"``: the caption as text.
Arguments
    ``gym.make("RL2HalfCheetahVel-v0", max_velocity=3.0, episode_length=200, episodes_per_trial=None,
    steps_per_trial=None, render_mode=None)``; ``gym.make("RL2HalfCheetahDir-v0", episode_length=200,
    ...)``. ``episodes_per_trial`` is 2 unless it or ``steps_per_trial`` is given; give at most one.
    Tasks for ``reset(options={"task": ...})``: Vel a velocity in [-20, 20]; Dir -1 or 1.
Limits
    An episode and a trial are at most ``MAX_TRIAL_STEPS`` steps (:mod:`meta_envs.validation`); a
    MuJoCo model takes a few MB, whatever the kwargs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meta_envs.mujoco.locomotion import DEFAULT_EPISODE_LENGTH, LocomotionFamily, make_robot, trial_env
from meta_envs.trial import TrialEnv, trial_entry_point
from meta_envs.validation import check_number, short_repr, strict_kwargs

__all__ = ["HalfCheetahDir", "HalfCheetahVel", "make_dir_env", "make_vel_env"]

CTRL_COST_WEIGHT = 0.05
MAX_TASK_VELOCITY = 20.0  # far beyond what the cheetah reaches (about 12 when trained to run)


class _HalfCheetahFamily(LocomotionFamily):
    ctrl_cost_weight = CTRL_COST_WEIGHT

    def __init__(self, episode_length: int, render: bool) -> None:
        super().__init__(episode_length)
        self.robot = make_robot("half_cheetah_v5", "HalfCheetahEnv", render)
        self._set_spaces()

    def _state_text(self) -> str:
        velocity = float(self.info.get("x_velocity", 0.0))
        return f"velocity {velocity:+.2f}, step {self.t}/{self.episode_length}"


class HalfCheetahVel(_HalfCheetahFamily):
    """Run at a target forward velocity; the task is the velocity (a float)."""

    env_id = "RL2HalfCheetahVel-v0"

    def __init__(self, max_velocity: float = 3.0, episode_length: int = DEFAULT_EPISODE_LENGTH, render: bool = False):
        self.max_velocity = check_number("max_velocity", max_velocity, 0.0, MAX_TASK_VELOCITY, open_low=True)
        super().__init__(episode_length, render)
        self.task = 0.0

    def sample_task(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(0.0, self.max_velocity))

    def check_task(self, task: Any) -> float:
        """``task``, a target velocity in ``[-20, 20]``, as a float, or ``ValueError`` naming it."""
        return check_number("task", task, -MAX_TASK_VELOCITY, MAX_TASK_VELOCITY)

    def task_reward(self, info: dict[str, Any], action: np.ndarray) -> float:
        return -abs(float(info["x_velocity"]) - self.task) - self.control_cost(action)

    def describe_task(self) -> str:
        return f"target velocity {self.task:+.2f}, {self._state_text()}"


class HalfCheetahDir(_HalfCheetahFamily):
    """Run forward (+1) or backward (-1); the task is the direction (an int)."""

    env_id = "RL2HalfCheetahDir-v0"

    def __init__(self, episode_length: int = DEFAULT_EPISODE_LENGTH, render: bool = False) -> None:
        super().__init__(episode_length, render)
        self.task = 1

    def sample_task(self, rng: np.random.Generator) -> int:
        return 1 if rng.random() < 0.5 else -1

    def check_task(self, task: Any) -> int:
        """``task``, the direction -1 or 1, as an int, or ``ValueError`` naming it."""
        number = isinstance(task, (int, float, np.integer, np.floating)) and not isinstance(task, (bool, np.bool_))
        if not number or task not in (-1, 1):
            raise ValueError(f"task must be the direction -1 (backward) or 1 (forward), got {short_repr(task)}")
        return int(task)

    def task_reward(self, info: dict[str, Any], action: np.ndarray) -> float:
        return self.task * float(info["x_velocity"]) - self.control_cost(action)

    def describe_task(self) -> str:
        return f"run {'forward' if self.task > 0 else 'backward'}, {self._state_text()}"


@trial_entry_point
@strict_kwargs
def make_vel_env(
    max_velocity: float = 3.0,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2HalfCheetahVel-v0``."""
    return trial_env(
        lambda render: HalfCheetahVel(max_velocity, episode_length, render), episodes_per_trial, steps_per_trial, render_mode
    )


@trial_entry_point
@strict_kwargs
def make_dir_env(
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2HalfCheetahDir-v0``."""
    return trial_env(lambda render: HalfCheetahDir(episode_length, render), episodes_per_trial, steps_per_trial, render_mode)

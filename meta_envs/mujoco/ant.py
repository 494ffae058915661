"""Ant locomotion tasks: run in a direction (AntDir) or to a goal position (AntGoal).

Description
    gymnasium's ``Ant-v5`` robot, a quadruped with 8 actuated hip and ankle joints, whose reward is the
    task's. AntDir (MAML, PEARL, VariBAD): the task is a direction angle ``theta``: by default 0
    (forward) or pi (backward) with probability 1/2 each, as those papers; ``directions="all"`` draws
    ``theta ~ U[0, 2 pi)`` (VariBAD's other variant). AntGoal (PEARL, VariBAD, after ProMP's ant
    goal): the task is a goal position ``g`` drawn uniformly on the disc of radius ``goal_radius``
    (3): angle ~ U[0, 2 pi), radius ``goal_radius * sqrt(U[0, 1])``. Neither task is observed.
Action Space
    ``Box(-1, 1, (8,), float32)``: the joint torques; actions are clipped to the box.
Observation Space
    The robot's joint positions and velocities without its contact forces: AntDir
    ``Box(-inf, inf, (27,), float64)`` (without the torso's x, y position, as gymnasium's default);
    AntGoal ``(29,)``, with the x, y position first (the agent must know where it is to find a
    place). The trial observation appends the previous action, reward and done flag.
Rewards
    With ``(vx, vy)`` the velocity of the torso, ``(x, y)`` its position, the contact cost
    ``5e-4 * sum(clip(contact forces, -1, 1) ** 2)`` (gymnasium's, the papers' weight): AntDir
    ``vx cos(theta) + vy sin(theta) + 1 - 0.5 sum(a^2) - contact cost`` (1: the survival bonus);
    AntGoal ``-(|x - g_x| + |y - g_y|) - 0.1 sum(a^2) - contact cost`` (the L1 distance to the goal,
    no survival bonus), the control weights of those papers.
Starting State
    The robot's: standing at the origin, plus uniform noise on positions (+-0.1) and Gaussian noise
    on velocities (s.d. 0.1), drawn from the trial's generator.
Episode End
    An inner episode is truncated after ``episode_length`` (200) steps. An ant that falls over is not
    ended (gymnasium's ``terminate_when_unhealthy=False``: a fixed trial length, and no incentive to end
    a costly episode early). The trial terminates after ``episodes_per_trial`` (2, VariBAD's RL^2
    setting) episodes or ``steps_per_trial`` steps.
Rendering
    ``render_mode="rgb_array"`` (20 frames per second): under the trial header, MuJoCo's picture of
    the ant (camera following it) and a caption with the task, the position and the velocity; needs
    an OpenGL backend (:mod:`meta_envs.mujoco.locomotion`). ``render_mode="ansi"``: the caption as text.
Arguments
    ``gym.make("RL2AntDir-v0", directions="forward_backward", episode_length=200,
    episodes_per_trial=None, steps_per_trial=None, render_mode=None)``;
    ``gym.make("RL2AntGoal-v0", goal_radius=3.0, episode_length=200, ...)``. ``episodes_per_trial``
    is 2 unless it or ``steps_per_trial`` is given; give at most one. Tasks for
    ``reset(options={"task": ...})``: AntDir an angle in [0, 2 pi]; AntGoal a position (x, y) in
    [-10, 10]^2.
Limits
    An episode and a trial are at most ``MAX_TRIAL_STEPS`` steps (:mod:`meta_envs.validation`); a
    MuJoCo model takes a few MB, whatever the kwargs.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from meta_envs.mujoco.locomotion import DEFAULT_EPISODE_LENGTH, LocomotionFamily, make_robot, trial_env
from meta_envs.trial import TrialEnv, trial_entry_point
from meta_envs.validation import check_array, check_choice, check_number, strict_kwargs

__all__ = ["DIRECTIONS", "AntDir", "AntGoal", "make_dir_env", "make_goal_env"]

DIRECTIONS = ("forward_backward", "all")
SURVIVE_REWARD = 1.0
GOAL_BOUND = 10.0  # goals given as tasks lie in [-GOAL_BOUND, GOAL_BOUND]^2
MAX_GOAL_RADIUS = GOAL_BOUND


class _AntFamily(LocomotionFamily):
    def __init__(self, episode_length: int, render: bool, positions: bool) -> None:
        super().__init__(episode_length)
        self.robot = make_robot(
            "ant_v5",
            "AntEnv",
            render,
            include_cfrc_ext_in_observation=False,
            exclude_current_positions_from_observation=not positions,
            terminate_when_unhealthy=False,
        )
        self._set_spaces()

    def contact_cost(self, info: dict[str, Any]) -> float:
        return -float(info["reward_contact"])  # gymnasium's own contact cost (weight 5e-4)

    def _state_text(self) -> str:
        x, y = (float(self.info.get(key, 0.0)) for key in ("x_position", "y_position"))
        return f"at ({x:+.1f}, {y:+.1f}), step {self.t}/{self.episode_length}"


class AntDir(_AntFamily):
    """Run in a direction; the task is its angle in radians (a float)."""

    env_id = "RL2AntDir-v0"
    ctrl_cost_weight = 0.5

    def __init__(
        self, directions: str = "forward_backward", episode_length: int = DEFAULT_EPISODE_LENGTH, render: bool = False
    ) -> None:
        self.directions = check_choice("directions", directions, DIRECTIONS)
        super().__init__(episode_length, render, positions=False)
        self.task = 0.0

    def sample_task(self, rng: np.random.Generator) -> float:
        if self.directions == "forward_backward":
            return 0.0 if rng.random() < 0.5 else math.pi
        return float(rng.uniform(0.0, 2.0 * math.pi))

    def check_task(self, task: Any) -> float:
        """``task``, an angle in ``[0, 2 pi]``, as a float, or ``ValueError`` naming it."""
        return check_number("task", task, 0.0, 2.0 * math.pi)

    def task_reward(self, info: dict[str, Any], action: np.ndarray) -> float:
        forward = float(info["x_velocity"]) * math.cos(self.task) + float(info["y_velocity"]) * math.sin(self.task)
        return forward + SURVIVE_REWARD - self.control_cost(action) - self.contact_cost(info)

    def describe_task(self) -> str:
        return f"direction {math.degrees(self.task):.0f} deg, {self._state_text()}"


class AntGoal(_AntFamily):
    """Walk to a goal position; the task is the goal ``(x, y)`` (a float64 array)."""

    env_id = "RL2AntGoal-v0"
    ctrl_cost_weight = 0.1

    def __init__(self, goal_radius: float = 3.0, episode_length: int = DEFAULT_EPISODE_LENGTH, render: bool = False) -> None:
        self.goal_radius = check_number("goal_radius", goal_radius, 0.0, MAX_GOAL_RADIUS, open_low=True)
        super().__init__(episode_length, render, positions=True)
        self.task = np.zeros(2)

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        angle = rng.uniform(0.0, 2.0 * math.pi)
        radius = self.goal_radius * math.sqrt(rng.uniform(0.0, 1.0))
        return np.array([radius * math.cos(angle), radius * math.sin(angle)])

    def check_task(self, task: Any) -> np.ndarray:
        """``task``, a goal position ``(x, y)`` in ``[-10, 10]^2``, as a float64 array, or ``ValueError`` naming it."""
        return check_array("task", task, (2,), low=-GOAL_BOUND, high=GOAL_BOUND, what="a goal position (x, y) in [-10, 10]^2")

    def task_reward(self, info: dict[str, Any], action: np.ndarray) -> float:
        distance = abs(float(info["x_position"]) - self.task[0]) + abs(float(info["y_position"]) - self.task[1])
        return -distance - self.control_cost(action) - self.contact_cost(info)

    def describe_task(self) -> str:
        return f"goal ({self.task[0]:+.1f}, {self.task[1]:+.1f}), {self._state_text()}"


@trial_entry_point
@strict_kwargs
def make_dir_env(
    directions: str = "forward_backward",
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2AntDir-v0``."""
    return trial_env(
        lambda render: AntDir(directions, episode_length, render), episodes_per_trial, steps_per_trial, render_mode
    )


@trial_entry_point
@strict_kwargs
def make_goal_env(
    goal_radius: float = 3.0,
    episode_length: int = DEFAULT_EPISODE_LENGTH,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2AntGoal-v0``."""
    return trial_env(
        lambda render: AntGoal(goal_radius, episode_length, render), episodes_per_trial, steps_per_trial, render_mode
    )

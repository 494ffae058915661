"""2D point-robot navigation to an unknown goal (PEARL / VariBAD sparse variant, MAML dense variant).

Description
    A point robot starts every inner episode at the origin and moves by ``0.1 * action`` per step
    towards a goal it does not observe; the goal (the task) is fixed for the trial.
    ``reward="sparse"`` (PEARL, VariBAD): the goal is on the upper half of the unit circle,
    angle ~ U[0, pi], and a reward is paid only within ``goal_radius`` of it.
    ``reward="dense"`` (MAML): the goal is ~ U[-0.5, 0.5]^2 and the reward is minus the distance.
Action Space
    ``Box(-1, 1, (2,), float32)``; actions are clipped to the box, then scaled by 0.1.
Observation Space
    Inner observation ``Box(-L, L, (2,), float32)``: the position, with ``L = 0.1 *
    episode_length`` (the farthest the robot can go). The trial observation appends the previous
    action, reward and done flag.
Rewards
    Computed at the new position, with ``d`` its distance to the goal. Sparse: ``1 - d`` if
    ``d <= goal_radius`` else 0, exactly as PEARL's and VariBAD's ``SparsePointEnv`` (so it lies
    in ``[1 - goal_radius, 1]`` inside the radius). Dense: ``-d``.
Starting State
    The origin, at every inner episode.
Episode End
    An inner episode is truncated after ``episode_length`` (100) steps; reaching the goal does
    not end it. The trial terminates after ``episodes_per_trial`` (3, VariBAD's RL^2 setting)
    episodes or ``steps_per_trial`` steps.
Rendering
    ``render_mode="rgb_array"`` (20 frames per second): under the trial header (inner episode,
    step, trial return so far, last reward), the plane ``[-1.5, 1.5]^2``: where goals are drawn
    from (the upper half of the unit circle, or the square ``[-0.5, 0.5]^2``) in grey, the goal
    in green (with its rewarding disc of ``goal_radius`` when sparse), the origin, the path of the
    current inner episode in blue and those of the trial's earlier episodes in grey, the robot
    in red (at the border, hollow, when it is outside the plane shown), and its distance to the
    goal. ``render_mode="ansi"``: goal, position and step, as text.
Arguments
    ``gym.make("RL2PointNav-v0", reward="sparse", goal_radius=0.2, episode_length=100,
    episodes_per_trial=None, steps_per_trial=None, render_mode=None)``. ``episodes_per_trial`` is
    3 unless it or ``steps_per_trial`` (a trial of that many steps, whatever the episodes) is
    given; give at most one of the two. ``render_mode``: None, ``"ansi"`` or ``"rgb_array"`` (see
    Rendering). There is no ``time_inputs`` kwarg (the navigation trials have none). The task is
    the goal: any array-like ``(x, y)`` inside the square ``[-L, L]^2`` the robot can reach (held as
    a float64 array).
Limits
    ``episode_length`` and a trial (``episodes_per_trial x episode_length`` or ``steps_per_trial``)
    are at most ``MAX_TRIAL_STEPS`` = 1,000,000 steps (:mod:`meta_envs.validation`); nothing else
    grows with the kwargs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, split_episodes, trial_entry_point
from meta_envs.validation import (
    check_array,
    check_choice,
    check_episode_length,
    check_positive_float,
    default_trial_length,
    strict_kwargs,
)

REWARD_KINDS = ("sparse", "dense")
ACTION_SCALE = 0.1
VIEW_BOUND = 1.5  # the frames show [-VIEW_BOUND, VIEW_BOUND]^2
PLANE_COLOUR, AXIS_COLOUR, PRIOR_COLOUR = (250, 250, 250), (215, 215, 215), (170, 170, 170)
GOAL_COLOUR, GOAL_DISC_COLOUR, ROBOT_COLOUR = (30, 150, 50), (190, 235, 195), (220, 30, 30)
PATH_COLOUR, EARLIER_PATH_COLOUR = (40, 90, 230), (165, 165, 175)


class PointNavigation(gym.Env):
    """Task family of point-robot navigation; the task is the goal position, shape ``(2,)``."""

    metadata = {"render_modes": ["ansi"], "render_fps": 20}

    def __init__(self, reward: str = "sparse", goal_radius: float = 0.2, episode_length: int = 100) -> None:
        self.reward_kind = check_choice("reward", reward, REWARD_KINDS)
        self.goal_radius = check_positive_float("goal_radius", goal_radius)
        self.episode_length = check_episode_length("episode_length", episode_length)
        self.limit = ACTION_SCALE * self.episode_length
        self.action_space = spaces.Box(-1.0, 1.0, (2,), dtype=np.float32)
        self.observation_space = spaces.Box(-self.limit, self.limit, (2,), dtype=np.float32)
        self.goal = np.zeros(2)
        self.position = np.zeros(2)
        self.t = 0

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        if self.reward_kind == "sparse":
            angle = rng.uniform(0.0, np.pi)
            return np.array([np.cos(angle), np.sin(angle)])
        return rng.uniform(-0.5, 0.5, 2)

    def check_task(self, task: Any) -> np.ndarray:
        """``task`` (the goal, an array-like ``(x, y)`` inside the reachable square ``[-L, L]^2``) as a float64
        array, or ``ValueError`` naming it."""
        L = self.limit
        return check_array(
            "task", task, (2,), low=-L, high=L, what=f"a goal position (x, y) in [-{L:g}, {L:g}]^2 (the reachable square)"
        )

    def set_task(self, task: Any) -> None:
        self.goal = self.check_task(task)

    def describe_task(self) -> str:
        x, y = self.position
        goal_x, goal_y = self.goal
        return f"goal ({goal_x:.2f}, {goal_y:.2f}), position ({x:.2f}, {y:.2f}), step {self.t}/{self.episode_length}"

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.position = np.zeros(2)
        self.t = 0
        return self.position.astype(np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        move = ACTION_SCALE * np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        self.position = np.clip(self.position + move, -self.limit, self.limit)
        self.t += 1
        distance = float(np.linalg.norm(self.position - self.goal))
        if self.reward_kind == "dense":
            reward = -distance
        else:
            reward = 1.0 - distance if distance <= self.goal_radius else 0.0
        return self.position.astype(np.float32), reward, False, self.t >= self.episode_length, {"distance": distance}

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The plane, goal, paths and robot (see the module docstring's Rendering), shape ``(356, 340, 3)``."""
        size, margin = MIN_FRAME_WIDTH, 10
        image = draw.blank(size + 16, size)
        draw.fill_rect(image, 0, 0, size, size, PLANE_COLOUR)
        scale = (size - 2 * margin) / (2 * VIEW_BOUND)
        middle = size / 2

        def pixels(points: Any) -> np.ndarray:
            xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            return np.stack([middle - xy[:, 1] * scale, middle + xy[:, 0] * scale], axis=1)

        for v in (-1.0, 0.0, 1.0):  # axes and unit grid lines
            ((row, col),) = pixels([v, v])
            draw.draw_line(image, row, 0, row, size, AXIS_COLOUR)
            draw.draw_line(image, 0, col, size, col, AXIS_COLOUR)
        if self.reward_kind == "sparse":
            angles = np.linspace(0.0, np.pi, 90)
            draw.draw_polyline(image, pixels(np.stack([np.cos(angles), np.sin(angles)], axis=1)), PRIOR_COLOUR, 2)
        else:
            ((top, left),) = pixels([-0.5, 0.5])
            draw.outline_rect(image, top, left, scale + 1, scale + 1, PRIOR_COLOUR, 2)
        ((goal_row, goal_col),) = pixels(self.goal)
        if self.reward_kind == "sparse":
            draw.fill_circle(image, goal_row, goal_col, self.goal_radius * scale, GOAL_DISC_COLOUR)
        draw.fill_circle(image, goal_row, goal_col, 4, GOAL_COLOUR)
        earlier, current = split_episodes(steps)
        for episode in earlier:
            draw.draw_polyline(image, pixels([np.zeros(2)] + [s.next_obs for s in episode]), EARLIER_PATH_COLOUR, 1)
        draw.draw_polyline(image, pixels([np.zeros(2)] + [s.next_obs for s in current]), PATH_COLOUR, 2)
        draw.outline_rect(image, middle - 4, middle - 4, 9, 9, draw.FOREGROUND, 2)  # the start
        ((row, col),) = pixels(self.position)
        inside = margin <= row <= size - margin and margin <= col <= size - margin
        row, col = np.clip([row, col], margin, size - margin)
        draw.fill_circle(image, row, col, 6, ROBOT_COLOUR)
        if not inside:
            draw.fill_circle(image, row, col, 3, PLANE_COLOUR)
        draw.draw_circle(image, goal_row, goal_col, 9, GOAL_COLOUR, 2)  # over the robot: both stay visible
        distance = float(np.linalg.norm(self.position - self.goal))
        caption = f"EPISODE STEP {self.t}/{self.episode_length}  DISTANCE TO GOAL {distance:.2f}"
        draw.draw_text(image, caption, size + 5, 6)
        return image


@trial_entry_point
@strict_kwargs
def make_env(
    reward: str = "sparse",
    goal_radius: float = 0.2,
    episode_length: int = 100,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2PointNav-v0``."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 3)
    return TrialEnv(PointNavigation(reward, goal_radius, episode_length), episodes_per_trial, steps_per_trial, render_mode)

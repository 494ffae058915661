"""Maze navigation with an egocentric partial view (the grid version of RL^2's visual navigation).

Description
    A task is a perfect maze (randomized Prim's algorithm on 3x3 cells, ``size="small"``: a 7x7
    array whose inner 5x5 grid is the paper's "5x5" maze; or 5x5 cells, ``size="large"``: 11x11,
    inner 9x9), a start cell with a start heading, and a distinct goal cell, all fixed for the
    whole trial: every inner episode starts from the same pose and the agent can use what it
    learnt about the maze in earlier episodes to reach the goal faster.
Action Space
    ``Discrete(3)``: 0 move forward one square (no move if a wall is ahead), 1 turn left 90
    degrees, 2 turn right 90 degrees.
Observation Space
    Inner observation ``Box(0, 1, (view_size**2 * 4 + 4,), float32)``: the ``view_size x
    view_size`` window of squares centred on the agent, rotated so that the agent's heading points
    up (row 0 is ahead, column 0 on the agent's left), each square one-hot over (wall, free, goal,
    outside the maze), row-major; then the absolute heading one-hot (north, east, south, west).
    The trial observation appends the previous action (one-hot), reward and done flag.
Rewards
    -0.01 per step, -0.001 more for a forward move into a wall, +1 on reaching the goal.
Starting State
    The task's start square and heading, at every inner episode.
Episode End
    An inner episode terminates on reaching the goal, or is truncated after
    ``max_episode_length`` steps (250 small, 1000 large by default); the trial terminates after
    ``episodes_per_trial`` (2) inner episodes. (``max_episode_length`` is not called
    ``max_episode_steps`` because ``gym.make`` takes that name for its own time limit.)
Rendering
    ``render_mode="rgb_array"`` (8 frames per second): under the trial header (inner episode,
    step, trial return so far, last reward), the maze from above: walls dark, the goal green, the
    start square framed in blue, the agent as a red triangle pointing its way, the squares it sees
    (its ``view_size x view_size`` window) framed in yellow, the path of the current inner episode
    in blue and those of the trial's earlier episodes in grey. ``render_mode="ansi"``: the maze as
    text with the agent and the goal.
Arguments
    ``gym.make("RL2GridNav-v0", size="small", view_size=3, max_episode_length=None,
    episodes_per_trial=None, steps_per_trial=None, render_mode=None)``. ``episodes_per_trial`` is
    2 unless it or ``steps_per_trial`` (a trial of that many steps, whatever the episodes) is
    given; give at most one of the two. ``render_mode``: None, ``"ansi"`` or ``"rgb_array"`` (see
    Rendering). There is no ``time_inputs`` kwarg (the navigation trials have none).
    The task is a :class:`MazeTask` (checked when made): ``reset(options={"task": task})``.
    ``env.unwrapped.family.episode_paths`` holds the squares visited in each inner episode of the
    current trial; :func:`episode_stats` and :func:`scaling_metrics` turn them into the scaling
    experiment's metrics.
Limits
    Checked before anything is allocated (:mod:`meta_envs.validation`): the view is estimated at
    256 bytes per square and must fit the 1 GiB ``MEMORY_BUDGET`` (``view_size`` up to 2047);
    ``max_episode_length`` and a trial (``episodes_per_trial x max_episode_length`` or
    ``steps_per_trial``) are at most ``MAX_TRIAL_STEPS`` = 1,000,000 steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.navigation.maze import ACTION_NAMES, FREE, HEADING_STEPS, WALL, Pose, generate_maze, maze_cells, next_pose
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, trial_entry_point
from meta_envs.validation import (
    check_array,
    check_choice,
    check_episode_length,
    check_memory,
    check_render_mode,
    default_trial_length,
    short_repr,
    strict_kwargs,
)

MAZE_SIZES = {"small": 3, "large": 5}  # size -> cells per side
DEFAULT_EPISODE_LENGTHS = {"small": 250, "large": 1000}
GOAL_REWARD, STEP_PENALTY, BUMP_PENALTY = 1.0, 0.01, 0.001
VIEW_CELL_TYPES = ("wall", "free", "goal", "outside")
# Estimated peak bytes per square of the view_size x view_size window: the observation (4 float32 per square),
# its space and copies, the padded map; measured 150-170, 200 with rgb_array frames (tracemalloc, view_size 101
# and 301).
VIEW_BYTES_PER_SQUARE = 256
_VIEW_WALL, _VIEW_FREE, _VIEW_GOAL, _VIEW_OUTSIDE = range(4)
MAP_WALL, MAP_FLOOR, MAP_GOAL, MAP_START = (45, 45, 55), (232, 232, 226), (40, 200, 70), (60, 110, 240)
MAP_AGENT, MAP_VIEW, MAP_PATH, MAP_EARLIER_PATH = (220, 30, 30), (250, 190, 0), (40, 90, 230), (160, 160, 170)


@dataclass(frozen=True, eq=False)
class MazeTask:
    """A navigation task: the maze ``grid`` (see :mod:`meta_envs.navigation.maze`), the start
    square ``(row, col)`` and ``heading`` (0..3 = N, E, S, W), and the ``goal`` square.

    Checked when made: ``grid`` is a square array-like of ``FREE`` (0) and ``WALL`` (1) squares with a
    wall all around (held as a read-only uint8 array), ``start`` and ``goal`` are two different free
    squares (held as tuples of ints) and ``heading`` an integer 0..3; anything else raises
    ``ValueError`` naming the field.
    """

    grid: np.ndarray
    start: tuple[int, int]
    heading: int
    goal: tuple[int, int]

    def __post_init__(self) -> None:
        grid = check_array("task.grid", self.grid, (None, None), integer=True, low=FREE, high=WALL)
        n = grid.shape[0]
        if grid.shape[1] != n or n < 3:
            raise ValueError(
                f"task.grid must be a square array of squares {FREE} (free) and {WALL} (wall), at least 3 x 3, got shape {grid.shape}"
            )
        border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
        if not (border == WALL).all():
            raise ValueError(f"task.grid must have a wall ({WALL}) all around its border")
        grid = grid.astype(np.uint8)
        grid.flags.writeable = False  # a task stays valid once checked
        squares = {}
        for name in ("start", "goal"):
            value = getattr(self, name)
            square = check_array(f"task.{name}", value, (2,), integer=True, what="a square (row, col) of the grid")
            row, col = int(square[0]), int(square[1])
            if not (0 <= row < n and 0 <= col < n) or grid[row, col] != FREE:
                raise ValueError(f"task.{name} must be a free square of the grid, got {short_repr(value)}")
            squares[name] = (row, col)
        if squares["start"] == squares["goal"]:
            raise ValueError(f"task.start and task.goal must differ, got {short_repr(self.start)}")
        heading = self.heading
        if isinstance(heading, (bool, np.bool_)) or not isinstance(heading, (int, np.integer)) or heading not in range(4):
            raise ValueError(f"task.heading must be one of [0, 1, 2, 3], got {short_repr(heading)}")
        for name, value in (("grid", grid), ("start", squares["start"]), ("heading", int(heading)), ("goal", squares["goal"])):
            object.__setattr__(self, name, value)


def maze_episode_length(max_episode_length: Any, size: str) -> int:
    """``max_episode_length`` validated, or the size's default when None."""
    if max_episode_length is None:
        return DEFAULT_EPISODE_LENGTHS[size]
    return check_episode_length("max_episode_length", max_episode_length)


class MazeNavigation(gym.Env):
    """Task family of maze navigation: tasks, dynamics and rewards; subclasses define the observation.

    Subclasses set ``observation_space`` and implement ``_observe()``; they may extend
    ``set_task`` to precompute per-task data.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}

    def __init__(self, size: str = "small", max_episode_length: int | None = None, render_mode: str | None = None) -> None:
        self.size = check_choice("size", size, tuple(MAZE_SIZES))
        self.cells = MAZE_SIZES[self.size]
        self.grid_size = 2 * self.cells + 1
        self.max_episode_length = maze_episode_length(max_episode_length, self.size)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.task: MazeTask | None = None
        self.pose: Pose = (1, 1, 0)
        self.t = 0
        self.episode_paths: list[list[tuple[int, int]]] = []
        self._new_trial = True

    def sample_task(self, rng: np.random.Generator) -> MazeTask:
        grid = generate_maze(rng, self.cells)
        start, goal = maze_cells(self.cells)[rng.choice(self.cells**2, size=2, replace=False)]
        return MazeTask(grid, (int(start[0]), int(start[1])), int(rng.integers(4)), (int(goal[0]), int(goal[1])))

    def check_task(self, task: Any) -> MazeTask:
        """``task`` if it is a :class:`MazeTask` of this maze size (its squares and heading were checked when it
        was made), else ``ValueError`` naming the expected grid shape."""
        n = self.grid_size
        if not isinstance(task, MazeTask) or task.grid.shape != (n, n):
            got = f"a grid of shape {task.grid.shape}" if isinstance(task, MazeTask) else short_repr(task)
            raise ValueError(
                f"task must be a MazeTask(grid, start, heading, goal) with a grid of shape {(n, n)} (size={self.size!r}), got {got}"
            )
        return task

    def set_task(self, task: Any) -> None:
        """Make ``task`` current; the next ``reset`` starts a new record of ``episode_paths`` (a new trial)."""
        self.task = self.check_task(task)
        # cleared at the reset, not here: steps taken before it (a task set mid-episode) still have a path
        self._new_trial = True

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.task is None:
            raise RuntimeError("call set_task() before reset()")
        self.pose = (*self.task.start, self.task.heading)
        self.t = 0
        if self._new_trial:
            self.episode_paths, self._new_trial = [], False
        self.episode_paths.append([self.task.start])
        return self._observe(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        assert self.task is not None  # reset() refuses to start without one
        self.pose, bumped = next_pose(self.task.grid, self.pose, int(action))
        self.t += 1
        square = self.pose[:2]
        self.episode_paths[-1].append(square)
        reached = square == self.task.goal
        reward = -STEP_PENALTY - BUMP_PENALTY * bumped + GOAL_REWARD * reached
        truncated = not reached and self.t >= self.max_episode_length
        return self._observe(), reward, reached, truncated, {"pose": self.pose, "bumped": bumped}

    def _observe(self) -> np.ndarray:
        raise NotImplementedError

    def describe_task(self) -> str:
        """The maze as text: ``#`` wall, ``G`` goal, ``^ > v <`` the agent facing N, E, S, W."""
        assert self.task is not None, "call set_task() first"
        chars = np.where(self.task.grid == WALL, "#", " ").astype("<U1")
        chars[self.task.goal] = "G"
        row, col, heading = self.pose
        chars[row, col] = "^>v<"[heading]
        maze = "\n".join("".join(line) for line in chars)
        return f"{maze}\nstep {self.t}/{self.max_episode_length}"

    def render(self) -> Any:
        """The family alone: ``"ansi"`` text, or the ``"rgb_array"`` picture of :meth:`render_frame`."""
        if self.render_mode == "ansi":
            return self.describe_task()
        if self.render_mode == "rgb_array":
            return self.render_frame(())
        return None

    def _view_window(self) -> int | None:
        """Side of the square window of squares the agent sees, to frame on the map (None: not a window)."""
        return None

    def render_map(self, size: int) -> np.ndarray:
        """The maze from above in a ``size x size`` image: walls, goal, start, the paths of the trial's
        episodes (``episode_paths``; the current one in blue), the agent and its view window."""
        n = self.grid_size
        cell = size // n
        offset = (size - n * cell) // 2
        image = draw.blank(size, size, MAP_WALL)
        if self.task is None:  # no trial yet: an empty maze of the right size
            draw.draw_text(image, "NO TASK: RESET", size / 2 - 7, offset + 4, MAP_FLOOR, 2)
            return image
        free = (self.task.grid == FREE).repeat(cell, axis=0).repeat(cell, axis=1)
        image[offset : offset + n * cell, offset : offset + n * cell][free] = MAP_FLOOR
        goal_r, goal_c = self.task.goal
        draw.fill_rect(image, offset + goal_r * cell, offset + goal_c * cell, cell, cell, MAP_GOAL)
        start_r, start_c = self.task.start
        draw.outline_rect(image, offset + start_r * cell, offset + start_c * cell, cell, cell, MAP_START, 3)

        def centres(path: Sequence[tuple[int, int]]) -> np.ndarray:
            return offset + (np.asarray(path, dtype=np.float64).reshape(-1, 2) + 0.5) * cell

        for path in self.episode_paths[:-1]:
            draw.draw_polyline(image, centres(path), MAP_EARLIER_PATH, max(cell // 10, 1))
        if self.episode_paths:
            draw.draw_polyline(image, centres(self.episode_paths[-1]), MAP_PATH, max(cell // 6, 2))
        row, col, heading = self.pose
        view = self._view_window()
        if view is not None:
            top, left = offset + (row - view // 2) * cell, offset + (col - view // 2) * cell
            draw.outline_rect(image, top, left, view * cell, view * cell, MAP_VIEW, 2)
        centre = offset + (np.array([row, col]) + 0.5) * cell
        ahead = HEADING_STEPS[heading].astype(np.float64)
        side = np.array([-ahead[1], ahead[0]])
        tip, back = centre + ahead * 0.4 * cell, centre - ahead * 0.3 * cell
        draw.fill_triangle(image, [tip, back + side * 0.32 * cell, back - side * 0.32 * cell], MAP_AGENT)
        return image

    def _caption(self) -> str:
        return f"EPISODE STEP {self.t}/{self.max_episode_length}"

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The maze from above (see the module docstring's Rendering), shape ``(356, 340, 3)``."""
        image = draw.blank(356, MIN_FRAME_WIDTH)
        image[:340] = self.render_map(MIN_FRAME_WIDTH)
        draw.draw_text(image, self._caption(), 344, 6)
        return image


class GridNav(MazeNavigation):
    """Maze navigation observed through an egocentric ``view_size x view_size`` window."""

    def __init__(
        self, size: str = "small", view_size: int = 3, max_episode_length: int | None = None, render_mode: str | None = None
    ) -> None:
        super().__init__(size, max_episode_length, render_mode)
        if (
            isinstance(view_size, (bool, np.bool_))
            or not isinstance(view_size, (int, np.integer))
            or view_size < 3
            or view_size % 2 == 0
        ):
            raise ValueError(f"view_size must be an odd integer >= 3, got {short_repr(view_size)}")
        self.view_size = k = int(view_size)
        check_memory({"view_size": k}, k * k * VIEW_BYTES_PER_SQUARE, f"{VIEW_BYTES_PER_SQUARE} bytes per square of the view")
        self.observation_space = spaces.Box(0.0, 1.0, (k * k * len(VIEW_CELL_TYPES) + 4,), dtype=np.float32)
        self._one_hot = np.eye(len(VIEW_CELL_TYPES), dtype=np.float32)
        self._headings = np.eye(4, dtype=np.float32)

    def set_task(self, task: Any) -> None:
        super().set_task(task)
        assert self.task is not None  # set (or refused) by super().set_task
        margin = self.view_size // 2
        types = np.where(self.task.grid == WALL, _VIEW_WALL, _VIEW_FREE)
        types[self.task.goal] = _VIEW_GOAL
        self._view_types = np.pad(types, margin, constant_values=_VIEW_OUTSIDE)

    def _view_window(self) -> int:
        return self.view_size

    def _caption(self) -> str:
        return f"{super()._caption()}  YELLOW: THE {self.view_size}X{self.view_size} VIEW"

    def view(self) -> np.ndarray:
        """The egocentric window of square types (indices into ``VIEW_CELL_TYPES``), heading up."""
        row, col, heading = self.pose
        k = self.view_size
        return np.rot90(self._view_types[row : row + k, col : col + k], heading)

    def _observe(self) -> np.ndarray:
        return np.concatenate([self._one_hot[self.view()].reshape(-1), self._headings[self.pose[2]]])


def episode_stats(paths: Sequence[Sequence[tuple[int, int]]], goal: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Per inner episode of one trial: ``(lengths in steps, reached the goal)``.

    ``paths`` are the squares visited in each episode, start included (as recorded in
    ``MazeNavigation.episode_paths``).
    """
    lengths = np.array([len(path) - 1 for path in paths], dtype=np.int64)
    success = np.array([tuple(path[-1]) == tuple(goal) for path in paths], dtype=bool)
    return lengths, success


def scaling_metrics(trials: Sequence[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """The RL^2 scaling-experiment table from :func:`episode_stats` of many 2-episode trials.

    Returns, for episodes ``i = 1, 2``: ``success_rate_ep{i}`` and ``mean_success_length_ep{i}``
    (mean length of the successful episodes; nan if none), and ``frac_ep2_not_longer`` (fraction
    of trials whose second episode is not longer than the first; a failed episode counts with
    its full length), ``frac_ep2_shorter`` (strictly shorter: the paper's fraction counts an
    exact replay of episode 1, which uses nothing learned in it, as a success) and
    ``steps_saved_ep2`` (mean of ep 1 minus ep 2 length over the trials whose two episodes both
    succeeded: the paired measure of using episode 1; nan if none).
    """
    lengths = np.array([t[0][:2] for t in trials], dtype=np.float64)
    success = np.array([t[1][:2] for t in trials], dtype=bool)
    if lengths.ndim != 2 or lengths.shape[1] != 2:
        raise ValueError("trials must hold at least 2 episodes each")
    out: dict[str, float] = {}
    for i in range(2):
        out[f"success_rate_ep{i + 1}"] = float(success[:, i].mean())
        ok = lengths[success[:, i], i]
        out[f"mean_success_length_ep{i + 1}"] = float(ok.mean()) if ok.size else float("nan")
    out["frac_ep2_not_longer"] = float((lengths[:, 1] <= lengths[:, 0]).mean())
    out["frac_ep2_shorter"] = float((lengths[:, 1] < lengths[:, 0]).mean())
    saved = paired_steps_saved(lengths, success)
    out["steps_saved_ep2"] = float(saved.mean()) if saved.size else float("nan")
    return out


def paired_steps_saved(lengths: np.ndarray, success: np.ndarray) -> np.ndarray:
    """``len(ep 1) - len(ep 2)`` of each trial whose first two episodes both succeeded, shape ``(n,)``
    (``lengths`` and ``success`` are ``(n_trials, >= 2)``)."""
    both = success[:, :2].all(axis=1)
    return (lengths[both, 0] - lengths[both, 1]).astype(np.float64)


@trial_entry_point
@strict_kwargs
def make_env(
    size: str = "small",
    view_size: int = 3,
    max_episode_length: int | None = None,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2GridNav-v0``."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 2)
    family = GridNav(size, view_size, max_episode_length, render_mode)
    return TrialEnv(family, episodes_per_trial, steps_per_trial, render_mode)

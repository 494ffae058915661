"""First-person maze navigation from RGB images (RL^2 section 3.3, without ViZDoom).

Description
    The mazes, tasks, actions, rewards and episode ends of ``RL2GridNav-v0`` (see
    :mod:`meta_envs.navigation.grid_nav`), seen in first person: a numpy ray caster draws what
    the agent sees from the centre of its square, facing its heading, with a 90 degree
    horizontal field of view (as ViZDoom's default). Walls are shaded by distance and by
    orientation, darkened at their vertical edges, and coloured by a fixed pseudo-random
    function of (wall square, face) from a palette without green, so that views differ across
    the maze and the agent can localise itself. The goal square is a bright green block.
Action Space
    ``Discrete(3)``: 0 move forward one square, 1 turn left 90 degrees, 2 turn right 90 degrees.
Observation Space
    Inner observation ``Box(0, 255, (height, width, 3), uint8)`` (default 30 x 40); the trial
    observation is ``Dict(image=..., context=Box(float32))`` with the previous action (one-hot),
    reward and done flag in ``context``.
Rewards
    -0.01 per step, -0.001 more for a forward move into a wall, +1 on reaching the goal.
Starting State
    The task's start square and heading, at every inner episode.
Episode End
    An inner episode terminates on reaching the goal, or is truncated after
    ``max_episode_length`` steps (250 small, 1000 large by default); the trial terminates after
    ``episodes_per_trial`` (2) inner episodes.
Rendering
    ``render_mode="rgb_array"`` (8 frames per second), a frame of shape ``(299, 561, 3)``: under
    the trial header (inner episode, step, trial return so far, last reward), the agent's view
    drawn at 240 x 320 beside the maze from above (as ``RL2GridNav-v0``'s frames: the goal, the
    start, the agent and the paths of the trial's episodes). The task family's own ``render()``
    (``env.unwrapped.family.render()``) gives the 240 x 320 view with a top-down minimap in its
    top-left corner. ``render_mode="ansi"``: the maze as text, as ``RL2GridNav-v0``.
Arguments
    ``gym.make("RL2Maze-v0", size="small", height=30, width=40, max_episode_length=None,
    episodes_per_trial=None, steps_per_trial=None, render_mode=None)``. ``episodes_per_trial`` is
    2 unless it or ``steps_per_trial`` (a trial of that many steps, whatever the episodes) is
    given; give at most one of the two. ``render_mode``: None, ``"ansi"`` or ``"rgb_array"`` (see
    Rendering). There is no ``time_inputs`` kwarg (the navigation trials have none).
Limits
    Checked before anything is allocated (:mod:`meta_envs.validation`): the arrays are estimated
    at 40 bytes per pixel of the view plus 1 kB per screen column and maze side square (the ray
    caster's tables) and must fit the 1 GiB ``MEMORY_BUDGET``: up to about 25 million pixels
    (e.g. 4000 x 6000). ``max_episode_length`` and a trial are at most ``MAX_TRIAL_STEPS`` =
    1,000,000 steps, as ``RL2GridNav-v0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.navigation.grid_nav import MazeNavigation
from meta_envs.navigation.maze import HEADING_STEPS, WALL, Pose
from meta_envs.trial import TrialEnv, TrialStep, trial_entry_point
from meta_envs.validation import check_memory, check_positive_int, default_trial_length, strict_kwargs

FOV_DEGREES = 90.0
RENDER_SHAPE = (240, 320)  # (height, width) of render_mode="rgb_array"
WALL_PALETTE = np.array(
    [
        (200, 60, 60),  # red
        (60, 90, 210),  # blue
        (215, 195, 60),  # yellow
        (150, 70, 190),  # purple
        (225, 130, 40),  # orange
        (230, 120, 180),  # pink
        (190, 190, 190),  # light grey
        (70, 70, 120),  # slate
    ],
    dtype=np.float32,
)
GOAL_COLOUR = np.array((40, 235, 60), dtype=np.float32)
CEILING_COLOUR = np.array((120, 120, 140), dtype=np.float32)
FLOOR_COLOUR = np.array((95, 80, 65), dtype=np.float32)
_WALL_COLOUR_SEED = 20160502  # fixes the (square, face) -> palette colour function
# Estimated peak bytes of an env's arrays: per pixel of the view (the image, its space's bounds, the ray
# caster's masks and copies; measured 25-27, tracemalloc, 2000 x 2000 and 20000 x 100 views) and per screen
# column and square of the maze side (the ray caster's tables: 4 headings x 2 * grid_size crossings of every
# column's ray; measured 770-820, 100 x 20000 views of both sizes).
BYTES_PER_PIXEL, BYTES_PER_COLUMN_SQUARE = 40, 1024
MEMORY_WHAT = f"{BYTES_PER_PIXEL} bytes per pixel of the view and {BYTES_PER_COLUMN_SQUARE} per column and maze square"


def memory_bytes(height: int, width: int, grid_size: int) -> int:
    """Estimated peak bytes of the arrays of a first-person maze env (see the module docstring's Limits)."""
    return height * width * BYTES_PER_PIXEL + width * grid_size * BYTES_PER_COLUMN_SQUARE


def _distance_shade(distance: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + 0.25 * distance)


def wall_colours(grid_size: int) -> np.ndarray:
    """Palette colour of every (row, col, face) of a ``grid_size`` maze, shape ``(n, n, 4, 3)``."""
    index = np.random.default_rng(_WALL_COLOUR_SEED).integers(len(WALL_PALETTE), size=(grid_size, grid_size, 4))
    return WALL_PALETTE[index]


class Raycaster:
    """Renders ``height x width`` first-person views of a grid maze from square centres.

    The agent always stands at a square centre facing one of 4 headings, so the DDA traversal of
    every screen column's ray (the squares it crosses, in order, relative to the agent; the
    distance and face of each crossing) depends on the heading only: it is computed once here.
    ``render`` then gathers the maze along all rays at once and draws the first solid square of
    each column.
    """

    def __init__(self, height: int, width: int, grid_size: int) -> None:
        self.height, self.width = height, width
        plane = np.tan(np.radians(FOV_DEGREES) / 2)
        self.focal = width / (2 * plane)  # pixels per unit at distance 1
        camera = (2 * (np.arange(width) + 0.5) / width - 1) * plane  # (W,) camera-plane coordinate
        depth = 2 * grid_size  # a ray leaves any maze within 2 * grid_size squares
        tables = [self._traverse(HEADING_STEPS[h] + np.outer(camera, HEADING_STEPS[(h + 1) % 4]), depth) for h in range(4)]
        self.offsets, self.face, distance, edge, side = (np.stack(t) for t in zip(*tables))
        self.shade = _distance_shade(distance) * np.where(side == 0, 0.8, 1.0) * np.where(edge, 0.55, 1.0)
        line = self.focal / distance
        self.top = (height - line) / 2  # (4, W, D) first and last wall pixel rows (as pixel centres)
        self.bottom = (height + line) / 2
        self._pixel_rows = (np.arange(height) + 0.5)[:, None]
        self._columns = np.arange(width)
        self.background = self._background()

    @staticmethod
    def _traverse(rays: np.ndarray, depth: int) -> tuple[np.ndarray, ...]:
        """DDA from a square centre along ``rays`` (W, 2) in (row, col): per column and crossing k,
        the square entered (offset), the face hit (0..3), the perpendicular distance, whether the
        hit is near a vertical wall edge, and the axis crossed (0 rows, 1 columns)."""
        width = len(rays)
        columns = np.arange(width)
        safe = np.where(rays == 0, 1e-30, rays)
        delta = np.abs(1.0 / safe)  # ray length per unit step along each axis
        step = np.where(rays < 0, -1, 1)
        side_dist = 0.5 * delta
        square = np.zeros((width, 2), dtype=np.int64)
        offsets = np.zeros((width, depth, 2), dtype=np.int64)
        face = np.zeros((width, depth), dtype=np.int64)
        distance = np.zeros((width, depth))
        side = np.zeros((width, depth), dtype=np.int64)
        for k in range(depth):
            axis = np.argmin(side_dist, axis=1)
            distance[:, k] = side_dist[columns, axis]
            square[columns, axis] += step[columns, axis]
            side_dist[columns, axis] += delta[columns, axis]
            offsets[:, k] = square
            side[:, k] = axis
            face[:, k] = 2 * axis + (step[columns, axis] > 0)
        along = 0.5 + distance * np.take_along_axis(rays, 1 - side, axis=1)  # hit coordinate along the wall
        frac = along - np.floor(along)
        return offsets, face, distance, (frac < 0.06) | (frac > 0.94), side

    def _background(self) -> np.ndarray:
        """Ceiling and floor, shaded by the distance at which each pixel row meets them."""
        rows = np.arange(self.height) + 0.5
        below = np.abs(rows - self.height / 2)
        distance = 0.5 * self.focal / np.maximum(below, 1e-6)
        colour = np.where((rows < self.height / 2)[:, None], CEILING_COLOUR, FLOOR_COLOUR) * _distance_shade(distance)[:, None]
        return np.broadcast_to(colour[:, None, :], (self.height, self.width, 3)).astype(np.uint8)

    def render(self, solid: np.ndarray, colours: np.ndarray, pose: Pose) -> np.ndarray:
        """The view from ``pose`` of a maze whose ``solid`` squares (bool, n x n) have face
        ``colours`` (n, n, 4, 3); the maze border must be solid."""
        row, col, heading = pose
        last = len(solid) - 1
        rows = np.clip(row + self.offsets[heading, :, :, 0], 0, last)  # (W, D); clipped squares lie beyond the border
        cols = np.clip(col + self.offsets[heading, :, :, 1], 0, last)
        hit = np.argmax(solid[rows, cols], axis=1)
        c = self._columns
        colour = colours[rows[c, hit], cols[c, hit], self.face[heading, c, hit]] * self.shade[heading, c, hit, None]
        wall = (self._pixel_rows >= self.top[heading, c, hit]) & (self._pixel_rows <= self.bottom[heading, c, hit])
        return np.where(wall[:, :, None], colour.astype(np.uint8), self.background)


def minimap(grid: np.ndarray, goal: tuple[int, int], pose: Pose, scale: int) -> np.ndarray:
    """Top-down view: walls dark, floor light, goal green, the agent red with a yellow front."""
    image = np.where((grid == WALL)[:, :, None], np.uint8(40), np.uint8(200)).repeat(3, axis=2)
    image[goal] = GOAL_COLOUR
    row, col, heading = pose
    image[row, col] = (220, 30, 30)
    image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    third = max(scale // 3, 1)
    d_row, d_col = HEADING_STEPS[heading]
    front_r = slice(row * scale + (scale - third if d_row > 0 else 0), row * scale + (third if d_row < 0 else scale))
    front_c = slice(col * scale + (scale - third if d_col > 0 else 0), col * scale + (third if d_col < 0 else scale))
    image[front_r, front_c] = (250, 220, 40)
    return image


class FirstPersonMaze(MazeNavigation):
    """Maze navigation observed through first-person RGB images."""

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 8}

    def __init__(
        self,
        size: str = "small",
        height: int = 30,
        width: int = 40,
        max_episode_length: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(size, max_episode_length, render_mode)
        height = check_positive_int("height", height, minimum=8)
        width = check_positive_int("width", width, minimum=8)
        check_memory({"height": height, "width": width}, memory_bytes(height, width, self.grid_size), MEMORY_WHAT)
        self.observation_space = spaces.Box(0, 255, (height, width, 3), dtype=np.uint8)
        self._caster = Raycaster(height, width, self.grid_size)
        self._render_caster = Raycaster(*RENDER_SHAPE, self.grid_size) if render_mode == "rgb_array" else None
        self._wall_colours = wall_colours(self.grid_size)

    @property
    def background(self) -> np.ndarray:
        """The observation with no wall in view (ceiling and floor only)."""
        return self._caster.background

    def set_task(self, task: Any) -> None:
        super().set_task(task)
        assert self.task is not None  # set (or refused) by super().set_task
        self._solid = self.task.grid == WALL
        self._solid[self.task.goal] = True
        self._colours = self._wall_colours.copy()
        self._colours[self.task.goal] = GOAL_COLOUR

    def _observe(self) -> np.ndarray:
        return self._caster.render(self._solid, self._colours, self.pose)

    def _view(self) -> np.ndarray:
        """The agent's view at ``RENDER_SHAPE`` (the caster is built on first use)."""
        if self._render_caster is None:
            self._render_caster = Raycaster(*RENDER_SHAPE, self.grid_size)
        if self.task is None:
            return self._render_caster.background.copy()
        return self._render_caster.render(self._solid, self._colours, self.pose)

    def render(self) -> Any:
        """The family alone: ``"rgb_array"`` is the 240 x 320 view with a top-down minimap in its top-left corner."""
        if self.render_mode != "rgb_array":
            return super().render()
        frame = self._view()
        assert self.task is not None, "call set_task() first"
        scale = max(RENDER_SHAPE[0] // (3 * self.grid_size), 1)
        view = minimap(self.task.grid, self.task.goal, self.pose, scale)
        frame[1 : 1 + view.shape[0], 1 : 1 + view.shape[1]] = view
        return frame

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The view beside the maze from above (see the module docstring's Rendering), shape ``(256, 561, 3)``."""
        height, width = RENDER_SHAPE
        image = draw.blank(height + 16, width + 1 + height, draw.BACKGROUND)
        image[:height, :width] = self._view()
        image[:height, width] = 0
        image[:height, width + 1 :] = self.render_map(height)
        draw.draw_text(image, self._caption(), height + 5, 6)
        return image


@trial_entry_point
@strict_kwargs
def make_env(
    size: str = "small",
    height: int = 30,
    width: int = 40,
    max_episode_length: int | None = None,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2Maze-v0``."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 2)
    family = FirstPersonMaze(size, height, width, max_episode_length, render_mode)
    return TrialEnv(family, episodes_per_trial, steps_per_trial, render_mode)

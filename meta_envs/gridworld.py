"""The RL^3 gridworlds (Bhatia, Nashed, Zilberstein) and their out-of-distribution variants.

Description
    A task is a ``size x size`` grid of tiles (size 11 or 13) with the agent starting every inner
    episode at the centre. A grid is drawn in this order (later steps overwrite earlier ones):
    ``num_obstacle_sets`` (11) straight obstacle sets of ``obstacle_length`` (3) tiles, each
    horizontal or vertical with probability 1/2 and uniformly placed inside the grid (sets may
    overlap); ``num_wet_regions`` (5) wet regions of 2 tiles, placed the same way; the centre is
    cleared; one goal, uniform over the tiles at Manhattan distance >= ``min_goal_distance`` (8)
    from the centre; then ``num_dangers`` (2) danger tiles, each on a uniformly drawn non-border
    normal tile whose 4 neighbours are normal or obstacle tiles (not the centre), and those 4
    neighbours become warning tiles (a danger that finds no such tile in 200 draws means a new
    grid). A grid is kept only if the optimal undiscounted 100-step return from the centre (value
    iteration on the true model) is in [50, 100]; otherwise the whole grid is drawn again.

    Overlaps, as in the RL^3 authors' Julia code (``create_grid``: the obstacle sets are placed
    with no overlap check, then the water sets, then the start ``'S'`` at the centre and the goal,
    then each danger on a ``' '`` tile whose 4 neighbours are ``' '`` or ``'O'``, with its warning
    ring written over them): obstacle sets may overlap each other, wet regions may overlap each
    other and overwrite obstacles, and the centre, the goal and the warning rings overwrite
    whatever was there. So a grid has at most, and on average fewer than, ``num_obstacle_sets *
    obstacle_length`` obstacle tiles (11 * 3 = 33; about 25 on 11x11 and 27 on 13x13 on average,
    after the rejection test) and at most ``num_wet_regions * wet_length`` wet tiles (10; about
    9.5).

    The one known difference in the layout from that code is where a segment (obstacle set or
    wet region) lies. The authors draw its first cell uniformly over the whole row or column (1..size) and
    extend it TOWARD the centre (either way when it starts on the centre line), which puts
    obstacles near the centre more often than near the border. Here its start is drawn uniformly
    among the ``size - length + 1`` positions where it fits, and it extends away from that start
    (:func:`_place_segments`). Kept as it is: the recorded results (docs/results.md) were made
    with these grids. (A danger that finds no valid tile in 200 draws makes us redraw the grid,
    where the authors' loop draws until it finds one; in 2000 draws of each of 11x11, 13x13,
    DENSE and DANGEROUS this never happened.)
Action Space
    ``Discrete(5)``: 0 up, 1 right, 2 down, 3 left, 4 stay.
Observation Space
    Inner observation ``Discrete(size * size)``: the agent's tile ``row * size + col``. The
    trial observation is the RL^2 one (see :mod:`meta_envs.trial`).
Rewards
    The reward is that of the tile the agent is on after the step (staying, or bumping into an
    obstacle or the border, "enters" the current tile again): normal -1, wet -2, warning -10,
    danger -100, goal +100.
Dynamics
    A move goes to the intended neighbour with probability ``1 - slip``, and to each of the two
    perpendicular neighbours with probability ``slip / 2``, where ``slip`` is 1 for a move from a
    wet tile (wet tiles always slip sideways) and ``slip_prob`` (0.2) from any other tile. A move into an obstacle or off the
    grid leaves the agent where it is. Stay never slips.
Starting State
    The centre tile, at every inner episode; a new grid per trial.
Rendering
    ``render_mode="rgb_array"`` (10 frames per second): under the trial header (inner episode,
    step, trial return so far, last reward), the grid's tiles in colour (a legend below names
    them; ``G`` goal, ``X`` danger), the start tile framed, the agent as a blue disc, the path of
    the current inner episode as a blue line and those of the trial's earlier episodes in grey.
    ``render_mode="ansi"``: the grid as text (see :meth:`GridWorld.describe_task`).
Episode End
    An inner episode terminates on entering the goal or a danger tile; there is no per-episode
    time limit. The trial terminates after ``steps_per_trial`` steps (``H``: 250 for 11x11,
    350 for 13x13).
Variants (``variant=``)
    ``"standard"``; ``"dense"`` (obstacle sets of 4 tiles); ``"deterministic"`` (``slip_prob``
    0, wet tiles still always slip); ``"watery"`` (8 wet regions); ``"dangerous"`` (4 dangers);
    ``"corner"`` (``min_goal_distance = size - 1``: 12 on 13x13, i.e. a corner tile; 10 on 11x11).
    The paper tests the variants on 13x13; 11x11 uses the same 11 obstacle sets.
Arguments
    ``gym.make("RL2GridWorld-v0", size=11, steps_per_trial=None, variant="standard",
    time_inputs=False)`` (``steps_per_trial=None``: 250 for size 11, 350 for size 13; ``time_inputs``
    as in :mod:`meta_envs.trial`); ``RL3GridWorld-v0`` takes the same kwargs plus those of
    :mod:`meta_envs.value_augment` (where ``time_inputs`` defaults to True). ``render_mode``: None,
    ``"ansi"`` or ``"rgb_array"`` (see Rendering; the RL^3 frames add the value inputs of the
    current tile). The task is a :class:`GridTask` (checked when made): ``reset(options={"task": task})``.
Limits
    ``steps_per_trial`` is at most ``MAX_TRIAL_STEPS`` = 1,000,000 (:mod:`meta_envs.validation`);
    the grids are 11 x 11 or 13 x 13, so nothing else grows with the kwargs. With RL^3 a step may
    run up to ``steps_per_trial`` backups of value iteration (the horizon; most steps converge
    in far fewer), so very long trials are slow rather than large.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, split_episodes, trial_entry_point
from meta_envs.validation import check_array, check_choice, check_number, check_render_mode, short_repr, strict_kwargs
from meta_envs.value_augment import rl3_entry_point, value_iteration

NORMAL, OBSTACLE, WET, WARNING, DANGER, GOAL = range(6)
TILE_NAMES = ("normal", "obstacle", "wet", "warning", "danger", "goal")
TILE_REWARDS = np.array([-1.0, 0.0, -2.0, -10.0, -100.0, 100.0])  # reward for ending a step on the tile
TILE_CHARS = np.array([".", "#", "~", "!", "X", "G"])
TILE_COLOURS = np.array(
    [[235, 235, 235], [60, 60, 60], [120, 180, 255], [255, 210, 0], [220, 30, 30], [40, 190, 60]], dtype=np.uint8
)
AGENT_COLOUR = np.array([40, 40, 200], dtype=np.uint8)
PATH_COLOUR, EARLIER_PATH_COLOUR, GRID_LINE_COLOUR = (40, 90, 230), (150, 150, 150), (200, 200, 200)
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1), (0, 0)])
STAY = 4
SIZES = (11, 13)
DEFAULT_STEPS_PER_TRIAL = {11: 250, 13: 350}
REJECTION_STEPS, REJECTION_RETURN_BOUNDS = 100, (50.0, 100.0)


@dataclass(frozen=True)
class GridSpec:
    """Parameters of the grid distribution (see the module docstring)."""

    num_obstacle_sets: int = 11
    obstacle_length: int = 3
    num_wet_regions: int = 5
    wet_length: int = 2
    num_dangers: int = 2
    min_goal_distance: int = 8
    slip_prob: float = 0.2


VARIANTS = ("standard", "dense", "deterministic", "watery", "dangerous", "corner")


def variant_spec(size: int, variant: str) -> GridSpec:
    """The :class:`GridSpec` of ``variant`` on a ``size x size`` grid."""
    overrides: dict[str, dict[str, Any]] = {
        "standard": {},
        "dense": {"obstacle_length": 4},
        "deterministic": {"slip_prob": 0.0},
        "watery": {"num_wet_regions": 8},
        "dangerous": {"num_dangers": 4},
        "corner": {"min_goal_distance": size - 1},
    }
    return replace(GridSpec(), **overrides[variant])


@dataclass(frozen=True, eq=False)
class GridTask:
    """A gridworld: ``tiles`` ``(size, size)`` tile codes (``NORMAL`` .. ``GOAL``, 0..5) and the
    slip probability of non-wet tiles, in [0, 1].

    Any square array-like of integer codes is accepted (integral floats too) and held as a read-only
    int8 array; anything else raises ``ValueError`` naming the field and what it must be.
    """

    tiles: np.ndarray
    slip_prob: float

    def __post_init__(self) -> None:
        codes = len(TILE_NAMES) - 1
        tiles = check_array("task.tiles", self.tiles, (None, None), integer=True, low=0, high=codes)
        if tiles.shape[0] != tiles.shape[1] or tiles.shape[0] == 0:
            raise ValueError(f"task.tiles must be a square array of tile codes 0..{codes}, got shape {tiles.shape}")
        tiles = tiles.astype(np.int8)
        tiles.flags.writeable = False  # a task stays valid once checked
        object.__setattr__(self, "tiles", tiles)
        object.__setattr__(self, "slip_prob", check_number("task.slip_prob", self.slip_prob, 0.0, 1.0))


def grid_model(task: GridTask) -> tuple[np.ndarray, np.ndarray]:
    """The true model: transitions ``(S, A, S)`` and expected rewards ``(S, A)`` (``S = size**2``).

    Goal and danger tiles are absorbing with reward 0 (an episode ends on entering them), so
    value iteration on this model gives the values of the episodic task. Obstacle tiles, which the
    agent never occupies, are absorbing too.
    """
    size, flat = task.tiles.shape[0], task.tiles.reshape(-1)
    S, A = size * size, len(MOVES)
    states = np.arange(S)
    rows, cols = np.divmod(states, size)
    target = np.empty((S, A), dtype=np.int64)  # where each move leads when it does not slip
    for a, (dr, dc) in enumerate(MOVES):
        r, c = rows + dr, cols + dc
        inside = (r >= 0) & (r < size) & (c >= 0) & (c < size)
        dest = np.where(inside, np.clip(r, 0, size - 1) * size + np.clip(c, 0, size - 1), states)
        target[:, a] = np.where(flat[dest] == OBSTACLE, states, dest)
    slip = np.where(flat == WET, 1.0, task.slip_prob)
    transitions = np.zeros((S, A, S))
    transitions[states, STAY, states] = 1.0
    for a in range(4):  # the moves: intended direction, or one of the two perpendicular ones
        np.add.at(transitions[:, a], (states, target[:, a]), 1.0 - slip)
        np.add.at(transitions[:, a], (states, target[:, (a + 1) % 4]), slip / 2)
        np.add.at(transitions[:, a], (states, target[:, (a + 3) % 4]), slip / 2)
    absorbing = np.isin(flat, (GOAL, DANGER, OBSTACLE))
    transitions[absorbing] = 0.0
    transitions[absorbing, :, absorbing.nonzero()[0]] = 1.0
    rewards = transitions @ TILE_REWARDS[flat]
    rewards[absorbing] = 0.0
    return transitions, rewards


def optimal_return(task: GridTask, steps: int = REJECTION_STEPS) -> float:
    """Optimal expected undiscounted return of a ``steps``-step episode from the centre."""
    transitions, rewards = grid_model(task)
    S, A = rewards.shape
    q, _, _ = value_iteration(transitions.reshape(S * A, S), rewards.reshape(-1), A, steps)
    return float(q[S // 2].max())


def _place_segments(rng: np.random.Generator, tiles: np.ndarray, count: int, length: int, tile: int) -> None:
    """Write ``count`` straight segments of ``length`` tiles of ``tile`` into ``tiles``, in place.

    Each is horizontal or vertical with probability 1/2, its start uniform among the
    ``size - length + 1`` positions where it fits, its row (column) uniform. No overlap check: a
    segment overwrites what is there, earlier segments included (as the authors' ``create_grid``).
    Unlike the authors' code, which draws the first cell over the whole row or column and extends
    the segment toward the centre, the placement here is not biased toward the centre (see the
    module docstring; not changed, the recorded results depend on it).
    """
    size = tiles.shape[0]
    for _ in range(count):
        along, across = int(rng.integers(size - length + 1)), int(rng.integers(size))
        if rng.random() < 0.5:
            tiles[across, along : along + length] = tile  # horizontal
        else:
            tiles[along : along + length, across] = tile  # vertical


def _place_dangers(rng: np.random.Generator, tiles: np.ndarray, count: int, max_tries: int = 200) -> bool:
    size, centre = tiles.shape[0], tiles.shape[0] // 2
    for _ in range(count):
        for _ in range(max_tries):
            r, c = (int(x) for x in rng.integers(1, size - 1, 2))
            ring = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
            if (
                tiles[r, c] == NORMAL
                and (r, c) != (centre, centre)
                and all(tiles[p] in (NORMAL, OBSTACLE) and p != (centre, centre) for p in ring)
            ):
                tiles[r, c] = DANGER
                for p in ring:
                    tiles[p] = WARNING
                break
        else:
            return False
    return True


def sample_grid(rng: np.random.Generator, size: int, spec: GridSpec) -> GridTask:
    """Draw a grid of the distribution ``spec`` (rejection sampling; see the module docstring)."""
    centre = size // 2
    rows, cols = np.divmod(np.arange(size * size), size)
    goal_candidates = np.flatnonzero(np.abs(rows - centre) + np.abs(cols - centre) >= spec.min_goal_distance)
    while True:
        tiles = np.full((size, size), NORMAL, dtype=np.int8)
        _place_segments(rng, tiles, spec.num_obstacle_sets, spec.obstacle_length, OBSTACLE)
        _place_segments(rng, tiles, spec.num_wet_regions, spec.wet_length, WET)
        tiles[centre, centre] = NORMAL
        tiles.reshape(-1)[rng.choice(goal_candidates)] = GOAL
        if not _place_dangers(rng, tiles, spec.num_dangers):
            continue
        task = GridTask(tiles, spec.slip_prob)
        low, high = REJECTION_RETURN_BOUNDS
        if low <= optimal_return(task) <= high:
            return task


class GridWorld(gym.Env):
    """Task family of RL^3 gridworlds; the task is a :class:`GridTask`.

    ``value_scale`` (100, the goal reward) is what RL^3 divides ``Q`` by.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 10}
    value_scale = float(TILE_REWARDS[GOAL])

    def __init__(self, size: int = 11, variant: str = "standard", render_mode: str | None = None) -> None:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size not in SIZES:
            raise ValueError(f"size must be one of {list(SIZES)}, got {size!r}")
        self.size = size
        self.variant = check_choice("variant", variant, VARIANTS)
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.grid_spec = variant_spec(size, variant)
        self.observation_space = spaces.Discrete(size * size)
        self.action_space = spaces.Discrete(len(MOVES))
        self.centre = (size * size) // 2
        self.set_task(GridTask(np.full((size, size), NORMAL, dtype=np.int8), self.grid_spec.slip_prob))
        self.state = self.centre

    def sample_task(self, rng: np.random.Generator) -> GridTask:
        return sample_grid(rng, self.size, self.grid_spec)

    def check_task(self, task: Any) -> GridTask:
        """``task`` if it is a :class:`GridTask` of this size with a normal tile at the centre (its codes and
        slip probability were checked when it was made), else ``ValueError`` saying what it must be."""
        shape = (self.size, self.size)
        if not isinstance(task, GridTask) or task.tiles.shape != shape:
            got = f"tiles of shape {task.tiles.shape}" if isinstance(task, GridTask) else short_repr(task)
            raise ValueError(f"task must be a GridTask(tiles, slip_prob) with tiles of shape {shape}, got {got}")
        if task.tiles.reshape(-1)[self.centre] != NORMAL:
            raise ValueError(f"task.tiles must hold tile codes 0..{len(TILE_NAMES) - 1} with a normal tile at the centre")
        return task

    def set_task(self, task: Any) -> None:
        task = self.check_task(task)
        self.task = task
        transitions, _ = grid_model(task)
        self._cum = np.cumsum(transitions, axis=-1)
        self._cum[..., -1] = 1.0 + 1e-9  # so that u in [0, 1) never falls past the last state
        self._tile_rewards = TILE_REWARDS[task.tiles.reshape(-1)]
        self._ends_episode = np.isin(task.tiles.reshape(-1), (GOAL, DANGER))

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.state = self.centre
        return self.state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        self.state = int(np.searchsorted(self._cum[self.state, action], self.np_random.random(), side="right"))
        return self.state, float(self._tile_rewards[self.state]), bool(self._ends_episode[self.state]), False, {}

    def describe_task(self) -> str:
        """The grid as text: ``.`` normal, ``#`` obstacle, ``~`` wet, ``!`` warning, ``X`` danger,
        ``G`` goal, ``A`` the agent."""
        chars = TILE_CHARS[self.task.tiles].copy()
        chars.reshape(-1)[self.state] = "A"
        grid = "\n".join("".join(line) for line in chars)
        return f"{self.size}x{self.size} gridworld ({self.variant}, slip {self.task.slip_prob})\n{grid}"

    def render(self) -> Any:
        """The family alone: ``"ansi"`` text, or the ``"rgb_array"`` picture of :meth:`render_frame` without paths."""
        if self.render_mode == "ansi":
            return self.describe_task()
        if self.render_mode == "rgb_array":
            return self.render_frame(())
        return None

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The grid, the agent and the paths of the trial (see the module docstring's Rendering), ``(H, 340, 3)``."""
        n, margin = self.size, 5
        cell = (MIN_FRAME_WIDTH - 2 * margin) // n
        top = margin
        left = (MIN_FRAME_WIDTH - n * cell) // 2
        image = draw.blank(top + n * cell + 36, MIN_FRAME_WIDTH)
        tiles = self.task.tiles
        grid = TILE_COLOURS[tiles].repeat(cell, axis=0).repeat(cell, axis=1)
        grid[::cell], grid[:, ::cell] = GRID_LINE_COLOUR, GRID_LINE_COLOUR
        image[top : top + n * cell, left : left + n * cell] = grid
        draw.fill_rect(image, top + n * cell, left, 1, n * cell + 1, GRID_LINE_COLOUR)
        draw.fill_rect(image, top, left + n * cell, n * cell + 1, 1, GRID_LINE_COLOUR)
        for r, c in zip(*np.nonzero(np.isin(tiles, (GOAL, DANGER)))):  # a letter too, for colour-blind eyes
            row, col = top + (r + 0.5) * cell - 7, left + (c + 0.5) * cell - 5
            draw.draw_text(image, TILE_CHARS[tiles[r, c]], row, col, (255, 255, 255), 2)
        centre = self.centre // n
        draw.outline_rect(image, top + centre * cell, left + centre * cell, cell + 1, cell + 1, draw.FOREGROUND, 2)

        def pixels(states: list[int]) -> np.ndarray:
            r, c = np.divmod(np.asarray(states), n)
            return np.stack([top + (r + 0.5) * cell, left + (c + 0.5) * cell], axis=1)

        earlier, current = split_episodes(steps)
        for episode in earlier:
            draw.draw_polyline(image, pixels([self.centre] + [s.next_obs for s in episode]), EARLIER_PATH_COLOUR, 1)
        draw.draw_polyline(image, pixels([self.centre] + [s.next_obs for s in current]), PATH_COLOUR, 3)
        ((row, col),) = pixels([self.state])
        draw.fill_circle(image, row, col, cell * 0.34 + 1.5, (255, 255, 255))
        draw.fill_circle(image, row, col, cell * 0.34, AGENT_COLOUR)
        legend_top = top + n * cell + 6
        x = left
        for i, tile in enumerate((NORMAL, OBSTACLE, WET, WARNING, DANGER, GOAL)):
            if i == 3:
                x = left
            y = legend_top + (i >= 3) * 14
            draw.fill_rect(image, y, x, 9, 9, TILE_COLOURS[tile])
            draw.outline_rect(image, y, x, 9, 9, draw.FOREGROUND)
            label = f"{TILE_NAMES[tile]} {TILE_REWARDS[tile]:+.0f}" if tile != OBSTACLE else "obstacle"
            draw.draw_text(image, label, y + 1, x + 13, draw.FOREGROUND)
            x += 13 + draw.text_width(label) + 14
        return image


@trial_entry_point
@strict_kwargs
def make_env(
    size: int = 11,
    steps_per_trial: int | None = None,
    variant: str = "standard",
    render_mode: str | None = None,
    time_inputs: bool = False,
) -> TrialEnv:
    """Entry point of ``RL2GridWorld-v0``: ``steps_per_trial=None`` is 250 for size 11, 350 for size 13."""
    family = GridWorld(size, variant, render_mode)
    if steps_per_trial is None:
        steps_per_trial = DEFAULT_STEPS_PER_TRIAL[family.size]
    return TrialEnv(family, steps_per_trial=steps_per_trial, render_mode=render_mode, time_inputs=time_inputs)


make_rl3_env = rl3_entry_point(make_env)
"""Entry point of ``RL3GridWorld-v0``."""

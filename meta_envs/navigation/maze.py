"""Perfect mazes (randomized Prim's algorithm), grid-maze dynamics and shortest paths.

A maze on ``cells x cells`` cells is a ``uint8`` array of shape ``(2 * cells + 1, 2 * cells + 1)``
whose squares are :data:`WALL` or :data:`FREE`. Cell ``(i, j)`` is the square ``(2i + 1, 2j + 1)``;
the square between two neighbouring cells is free when they are joined by a passage; the border
and the squares with two even coordinates are always wall. A *perfect* maze joins every pair of
cells by exactly one path (the passages form a spanning tree of the cells).

The agent stands on a free square with a heading: 0 north (row - 1), 1 east (col + 1), 2 south,
3 west (clockwise). Its actions are :data:`FORWARD` (move one square unless a wall is ahead),
:data:`TURN_LEFT` and :data:`TURN_RIGHT` (90 degrees, no move).
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = [
    "ACTION_NAMES",
    "FORWARD",
    "FREE",
    "HEADING_NAMES",
    "HEADING_STEPS",
    "TURN_LEFT",
    "TURN_RIGHT",
    "WALL",
    "Pose",
    "generate_maze",
    "maze_cells",
    "next_pose",
    "shortest_actions",
]

FREE, WALL = 0, 1
FORWARD, TURN_LEFT, TURN_RIGHT = 0, 1, 2
ACTION_NAMES = ("forward", "turn left", "turn right")
HEADING_NAMES = ("north", "east", "south", "west")
HEADING_STEPS = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int64)  # (d_row, d_col) per heading

Pose = tuple[int, int, int]  # (row, col, heading)


def maze_cells(cells: int) -> np.ndarray:
    """The squares of the ``cells * cells`` maze cells, shape ``(cells * cells, 2)``, row-major."""
    ij = np.stack(np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij"), -1).reshape(-1, 2)
    return 2 * ij + 1


def generate_maze(rng: np.random.Generator, cells: int) -> np.ndarray:
    """A perfect maze on ``cells x cells`` cells by randomized Prim's algorithm (uses ``rng`` only).

    Starting from a random cell, repeatedly pick a uniformly random frontier edge (from a cell in
    the maze to a neighbour) and, if the neighbour is not yet in the maze, open the wall between
    them and add the neighbour's edges to the frontier.
    """
    n = 2 * cells + 1
    grid = np.full((n, n), WALL, dtype=np.uint8)
    in_maze = np.zeros((cells, cells), dtype=bool)
    frontier: list[tuple[int, int, int, int]] = []

    def add(i: int, j: int) -> None:
        in_maze[i, j] = True
        grid[2 * i + 1, 2 * j + 1] = FREE
        for di, dj in HEADING_STEPS:
            a, b = i + di, j + dj
            if 0 <= a < cells and 0 <= b < cells and not in_maze[a, b]:
                frontier.append((i, j, int(a), int(b)))

    add(int(rng.integers(cells)), int(rng.integers(cells)))
    while frontier:
        k = int(rng.integers(len(frontier)))
        frontier[k], frontier[-1] = frontier[-1], frontier[k]
        i, j, a, b = frontier.pop()
        if not in_maze[a, b]:
            grid[i + a + 1, j + b + 1] = FREE  # the wall square between cells (i, j) and (a, b)
            add(a, b)
    return grid


def next_pose(grid: np.ndarray, pose: Pose, action: int) -> tuple[Pose, bool]:
    """The pose after ``action`` from ``pose`` and whether a forward move bumped into a wall."""
    row, col, heading = pose
    if action == TURN_LEFT:
        return (row, col, (heading - 1) % 4), False
    if action == TURN_RIGHT:
        return (row, col, (heading + 1) % 4), False
    d_row, d_col = HEADING_STEPS[heading]
    r, c = row + int(d_row), col + int(d_col)
    if grid[r, c] == WALL:
        return pose, True
    return (r, c, heading), False


def shortest_actions(grid: np.ndarray, pose: Pose, goal: tuple[int, int]) -> list[int] | None:
    """A shortest action sequence from ``pose`` to the square ``goal`` (BFS over poses), or None.

    Turns cost a step like moves, so this is optimal in environment steps, not only in squares.
    """
    goal = (int(goal[0]), int(goal[1]))
    parents: dict[Pose, tuple[Pose, int] | None] = {pose: None}
    queue = deque([pose])
    while queue:
        current = queue.popleft()
        if current[:2] == goal:
            actions: list[int] = []
            while (link := parents[current]) is not None:
                current, action = link
                actions.append(action)
            return actions[::-1]
        for action in (FORWARD, TURN_LEFT, TURN_RIGHT):
            nxt, _ = next_pose(grid, current, action)
            if nxt not in parents:
                parents[nxt] = (current, action)
                queue.append(nxt)
    return None

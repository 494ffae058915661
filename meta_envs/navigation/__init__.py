"""Navigation task families: grid mazes (egocentric view), first-person mazes (ray-cast RGB) and a 2D point robot.

Ids (registered in :mod:`meta_envs.registration`): ``RL2GridNav-v0``
(:mod:`~meta_envs.navigation.grid_nav`), ``RL2Maze-v0`` (:mod:`~meta_envs.navigation.first_person`)
and ``RL2PointNav-v0`` (:mod:`~meta_envs.navigation.point_nav`). Mazes, dynamics and shortest
paths are in :mod:`~meta_envs.navigation.maze`.
"""

from meta_envs.navigation.first_person import FirstPersonMaze, Raycaster
from meta_envs.navigation.grid_nav import GridNav, MazeNavigation, MazeTask, episode_stats, scaling_metrics
from meta_envs.navigation.maze import generate_maze, next_pose, shortest_actions
from meta_envs.navigation.point_nav import PointNavigation

__all__ = [
    "FirstPersonMaze",
    "GridNav",
    "MazeNavigation",
    "MazeTask",
    "PointNavigation",
    "Raycaster",
    "episode_stats",
    "generate_maze",
    "next_pose",
    "scaling_metrics",
    "shortest_actions",
]

"""Agents that do not learn: uniformly random actions, and a maze oracle given the tasks.

Both are :class:`~rl2_agent.evaluation.agent.TrialAgent` s. The classical agents of the RL^2
paper's tables (which learn within a trial) are in :mod:`rl2_agent.agents.baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from meta_envs.navigation.grid_nav import MazeTask
from meta_envs.navigation.maze import FORWARD, shortest_actions
from meta_envs.validation import check_positive_int

__all__ = ["ShortestPathAgent", "UniformRandomAgent"]


class UniformRandomAgent:
    """Uniformly random actions: among ``num_actions`` (a ``Discrete`` action space), or uniform in the box
    ``[low, high]`` when both are given (a bounded ``Box``); :meth:`for_space` picks from a gymnasium space."""

    def __init__(self, num_actions: int = 3, seed: int = 0, low: Any = None, high: Any = None) -> None:
        self.num_actions = check_positive_int("num_actions", num_actions)
        self.rng = np.random.default_rng(seed)
        self.box = None if low is None or high is None else (np.asarray(low, np.float32), np.asarray(high, np.float32))
        if self.box is not None and not (np.isfinite(self.box[0]).all() and np.isfinite(self.box[1]).all()):
            raise ValueError("low and high must be finite: uniform actions need a bounded box")

    @classmethod
    def for_space(cls, space: gym.Space, seed: int = 0) -> UniformRandomAgent:
        """The agent of ``space``: a ``Discrete`` or a bounded ``Box`` action space (else ``ValueError``)."""
        if isinstance(space, gym.spaces.Discrete):
            return cls(int(space.n), seed=seed)
        if isinstance(space, gym.spaces.Box):
            return cls(seed=seed, low=space.low, high=space.high)
        raise ValueError(f"a uniformly random agent needs a Discrete or Box action space, got {space}")

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        """Actions of the ``len(trial_start)`` envs: shape ``(n_envs,)`` (Discrete) or ``(n_envs, *box shape)``."""
        if self.box is None:
            return self.rng.integers(self.num_actions, size=len(trial_start))
        low, high = self.box
        return self.rng.uniform(low, high, size=(len(trial_start), *low.shape)).astype(np.float32)


class ShortestPathAgent:
    """Follows a shortest path (:func:`~meta_envs.navigation.maze.shortest_actions`) in every episode.

    It is GIVEN the tasks, in the order in which :func:`~rl2_agent.evaluation.runner.run_trials` plays
    them (``held_out_tasks``), and tracks each held-out trial by counting its own steps: a new
    batch of ``run_trials`` starts when every tracked trial is over (``run_trials`` stops
    stepping a batch as soon as all its trials ended). In the rows whose held-out trial is over
    (the env has moved on to an unscored trial) it moves forward.
    """

    def __init__(self, tasks: Sequence[MazeTask], episodes_per_trial: int = 2) -> None:
        self.tasks = list(tasks)
        self.episodes_per_trial = episodes_per_trial
        self._next = 0
        self._plans: list[list[int] | None] = []
        self._steps = np.zeros(0, dtype=np.int64)
        self._running = np.zeros(0, dtype=bool)

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        n = len(trial_start)
        if not self._running.any():  # a new batch of held-out trials
            if not np.all(trial_start) or self._next + n > len(self.tasks):
                raise RuntimeError("ShortestPathAgent lost track of the trials: give it the tasks of run_trials, in order")
            batch = self.tasks[self._next : self._next + n]
            self._next += n
            self._plans = [shortest_actions(t.grid, (*t.start, t.heading), t.goal) for t in batch]
            self._steps = np.zeros(n, dtype=np.int64)
            self._running = np.ones(n, dtype=bool)
        actions = np.full(n, FORWARD, dtype=np.int64)
        for i in np.flatnonzero(self._running):
            plan = self._plans[i]
            assert plan is not None  # a maze connects all its squares: every goal has a path
            actions[i] = plan[self._steps[i] % len(plan)]
            self._steps[i] += 1
            if self._steps[i] == self.episodes_per_trial * len(plan):
                self._running[i] = False
        return actions

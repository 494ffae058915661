"""The common base of the classical agents: what they may know of an env, and how they read it.

An agent sees exactly what a user's recurrent agent sees: the batched trial observations of
:mod:`meta_envs` (read through ``obs_layout``), plus the structural facts of the env (number of
actions and states, episode length, episodes per trial) gathered in a :class:`TrialSpec`. It
never reads the task.

API (vectorised over ``n`` trials run side by side)::

    agent = SomeAgent(spec, seed=0, **params)
    agent.reset(n)                         # optional: allocate for n trials
    actions = agent.act(obs, trial_start)  # obs (n, obs_dim) float32, trial_start (n,) bool

``trial_start[i]`` is True when ``obs[i]`` is the first observation of a trial; the agent then
forgets what it learnt in row ``i``. ``act`` is the one agent interface,
:class:`~rl2_agent.evaluation.agent.TrialAgent`, so baselines and trained RL^2 runs are played
by the same :func:`~rl2_agent.evaluation.runner.run_trials`.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import meta_envs  # noqa: F401  (registers the ids)

logger = logging.getLogger(__name__)

__all__ = [
    "Agent",
    "EpsilonGreedy",
    "RandomAgent",
    "TrialObs",
    "TrialSpec",
    "argmax_random",
]


# --------------------------------------------------------------------------------------
# structural facts of an env
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialSpec:
    """What an outside agent may know about a trial env before acting.

    Attributes
    ----------
    num_actions:
        Size of the ``Discrete`` action space.
    num_states:
        Size of the one-hot ``"obs"`` part of the observation (1 for bandits).
    episode_length:
        Steps per inner episode (1 for bandits).
    episodes_per_trial:
        Inner episodes per trial.
    obs_layout:
        The env's ``obs_layout`` (name -> slice of the flat observation).
    """

    num_actions: int
    num_states: int
    episode_length: int
    episodes_per_trial: int
    obs_layout: dict[str, slice] = field(repr=False)

    @property
    def horizon(self) -> int:
        """Steps per trial."""
        return self.episode_length * self.episodes_per_trial

    @classmethod
    def from_env(cls, env_id: str, env_kwargs: dict[str, Any] | None = None) -> TrialSpec:
        """Read the spec from documented env information only, never from the env's internals.

        * ``episodes_per_trial``: the env's kwargs as it is built with them,
          :func:`meta_envs.registration.effective_kwargs` (the given kwargs, the entry point's defaults,
          and the resolved trial length);
        * ``episode_length``: the public read-only ``trial_length`` property of the trial env (steps per
          trial when fixed) divided by ``episodes_per_trial`` (1 for bandits: one pull = one episode);
        * actions and states: the action space and ``obs_layout["obs"]``.
        """
        from meta_envs.registration import effective_kwargs

        kwargs = effective_kwargs(env_id, env_kwargs)
        episodes = kwargs.get("episodes_per_trial")
        if episodes is None or kwargs.get("steps_per_trial") is not None:
            raise ValueError(
                f"the classical baselines need trials of a fixed number of fixed-length episodes (give "
                f"episodes_per_trial, not steps_per_trial); {env_id} got {env_kwargs}"
            )
        env = gym.make(env_id, **(env_kwargs or {}))
        try:
            try:
                trial_length = int(env.get_wrapper_attr("trial_length"))
            except AttributeError:
                trial_length = None
            if trial_length is None or trial_length % int(episodes):
                raise ValueError(
                    f"the classical baselines need trials of a fixed number of fixed-length episodes; "
                    f"{env_id} {env_kwargs} has no fixed trial length divisible by episodes_per_trial={episodes}"
                )
            if not isinstance(env.action_space, spaces.Discrete):
                raise ValueError(f"the classical baselines need a Discrete action space, {env_id} has {env.action_space}")
            layout = dict(env.get_wrapper_attr("obs_layout"))
        finally:
            env.close()
        obs = layout["obs"]
        return cls(
            num_actions=int(env.action_space.n),
            num_states=obs.stop - obs.start,
            episode_length=trial_length // int(episodes),
            episodes_per_trial=int(episodes),
            obs_layout=layout,
        )


# --------------------------------------------------------------------------------------
# reading the observation
# --------------------------------------------------------------------------------------
@dataclass
class TrialObs:
    """One batched observation, decoded through ``obs_layout``.

    ``prev_action`` is -1 where there is none (first step of a trial).
    """

    state: np.ndarray
    prev_action: np.ndarray
    prev_reward: np.ndarray
    done: np.ndarray

    @classmethod
    def parse(cls, obs: np.ndarray, layout: dict[str, slice]) -> TrialObs:
        obs = np.asarray(obs)
        if obs.ndim != 2:
            raise ValueError(f"obs must be a batch of flat observations (n, obs_dim), got shape {obs.shape}")
        one_hot_action = obs[:, layout["prev_action"]]
        prev_action = np.where(one_hot_action.max(axis=1) > 0.5, one_hot_action.argmax(axis=1), -1)
        return cls(
            state=obs[:, layout["obs"]].argmax(axis=1),
            prev_action=prev_action,
            prev_reward=obs[:, layout["prev_reward"].start].astype(np.float64),
            done=obs[:, layout["done"].start] > 0.5,
        )


def argmax_random(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row-wise argmax of a 2-d array, ties broken uniformly at random."""
    best = values.max(axis=1, keepdims=True)
    ties = values >= best
    noise = rng.random(values.shape)
    return np.where(ties, noise, -1.0).argmax(axis=1)


# --------------------------------------------------------------------------------------
# the agent base class
# --------------------------------------------------------------------------------------
class Agent(ABC):
    """Base of every classical agent (see the module docstring for the API).

    Class attributes
    ----------------
    name:
        Registry name (``"ucb1"``, ``"psrl"``, ...).
    family:
        ``"bandit"``, ``"mdp"`` or ``"any"``.
    tunable:
        ``(parameter, grid)`` searched by ``python -m rl2_agent tune``, or None.
    """

    name: ClassVar[str]
    family: ClassVar[str]
    tunable: ClassVar[tuple[str, tuple[float, ...]] | None] = None

    def __init__(self, spec: TrialSpec, seed: int | None = None) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.n_trials = 0

    def params(self) -> dict[str, Any]:
        """The agent's parameters (for reports): its tunable one (an attribute of that name), if any."""
        if self.tunable is None:
            return {}
        param = self.tunable[0]
        return {param: getattr(self, param)}

    def reset(self, n_trials: int) -> None:
        """Allocate the statistics of ``n_trials`` trials (all start fresh)."""
        self.n_trials = int(n_trials)
        self._allocate(self.n_trials)

    def act(self, obs: np.ndarray, trial_start: np.ndarray) -> np.ndarray:
        """Actions ``(n,)`` for the batch of trial observations ``obs`` ``(n, obs_dim)``."""
        parsed = TrialObs.parse(obs, self.spec.obs_layout)
        trial_start = np.asarray(trial_start, dtype=bool)
        if len(parsed.state) != self.n_trials:
            self.reset(len(parsed.state))
            trial_start = np.ones(self.n_trials, dtype=bool)
        if trial_start.any():
            self._forget(trial_start)
        parsed.prev_action[trial_start] = -1
        return self._step(parsed, trial_start).astype(np.int64)

    @abstractmethod
    def _allocate(self, n: int) -> None:
        """Create the per-trial statistics for ``n`` trials."""

    @abstractmethod
    def _forget(self, rows: np.ndarray) -> None:
        """Reset the statistics of the trials where the boolean mask ``rows`` is True."""

    @abstractmethod
    def _step(self, obs: TrialObs, trial_start: np.ndarray) -> np.ndarray:
        """Learn from ``obs`` (the outcome of the previous action) and choose the next actions."""

    def select(self, values: np.ndarray) -> np.ndarray:
        """Actions from the values ``(n, A)`` of the actions of every trial: argmax, random ties."""
        return argmax_random(values, self.rng)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"


class RandomAgent(Agent):
    """Uniformly random actions (any family)."""

    name = "random"
    family = "any"

    def _allocate(self, n: int) -> None:
        pass

    def _forget(self, rows: np.ndarray) -> None:
        pass

    def _step(self, obs: TrialObs, trial_start: np.ndarray) -> np.ndarray:
        return self.rng.integers(self.spec.num_actions, size=len(obs.state))


class EpsilonGreedy(Agent):
    """Mixin, listed before a greedy agent's class: :meth:`select` takes a uniformly random action
    with probability ``epsilon`` (the subclass sets ``self.epsilon``, a number in [0, 1])."""

    epsilon: float

    def select(self, values: np.ndarray) -> np.ndarray:
        greedy = super().select(values)
        explore = self.rng.random(len(greedy)) < self.epsilon
        return np.where(explore, self.rng.integers(self.spec.num_actions, size=len(greedy)), greedy)

"""Success rates of held-out trials, for envs whose step info says whether the task is solved (Meta-World).

Meta-World scores an agent by its success rate, not its return: every step's info holds ``"success"``
(1.0 when the task is solved at that step), and an episode is a success if its task was solved at any
of its steps. Meta-World's own evaluation (``metaworld.evaluation.evaluation``) ends an episode at its
first successful step (``terminate_on_success``) and counts the episode's last ``"success"``, which is
the same thing; its trials run on after a success, so here the whole episode is read.

:func:`reports_success` tells from one step of one env whether an env reports ``"success"``; then
:func:`~rl2_agent.evaluation.runner.run_trials` keeps :data:`SUCCESS_INFO_KEYS` and
:func:`success_rates` turns them into the rate per episode index of the trial and of the trial's last
episode. Envs without ``"success"`` (bandits, MDPs, mazes) are evaluated as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)

__all__ = ["SUCCESS_INFO_KEYS", "SuccessRates", "reports_success", "success_rates"]

#: The step-info entries :func:`success_rates` reads: whether the step solved the task, and its inner episode.
SUCCESS_INFO_KEYS = ("success", "episode_index")


@dataclass(frozen=True)
class SuccessRates:
    """Success rates of ``n_trials`` held-out trials (see :func:`success_rates`).

    ``per_episode[k]``: the fraction of the trials holding an inner episode ``k`` (0-based) whose episode
    ``k`` succeeded; ``trials_per_episode[k]``: how many trials hold one (all of
    them for trials of ``episodes_per_trial``); ``last_episode``: the fraction of the trials whose last
    episode succeeded, with its standard error ``last_episode_se`` (NaN for a single trial).
    """

    per_episode: np.ndarray
    trials_per_episode: np.ndarray
    last_episode: float
    last_episode_se: float
    n_trials: int

    def summary(self) -> dict[str, Any]:
        """The rates as JSON-ready numbers (the keys ``rl2 evaluate`` writes in its JSON)."""
        return {
            "success_rate_per_episode": self.per_episode.tolist(),
            "success_rate_last_episode": self.last_episode,
            "success_rate_last_episode_se": self.last_episode_se,
        }


def success_rates(step_infos: Sequence[Mapping[str, Sequence[Any]]]) -> SuccessRates:
    """Meta-World's success rate of held-out trials, per inner episode index and for the trial's last episode.

    An inner episode is a success if ``info["success"]`` was true (non-zero) at ANY of its steps; a step
    without the key (None) counts as not solved.

    :param step_infos: one entry per trial, as :attr:`~rl2_agent.evaluation.runner.TrialResults.step_infos`
        of ``run_trials(info_keys=SUCCESS_INFO_KEYS)``: ``"success"`` and ``"episode_index"`` (the 0-based
        inner episode of the step), each one value per step of the trial.
    :return: the rates (:class:`SuccessRates`); a trial's last episode is its highest episode index (for
        trials of ``steps_per_trial`` steps it may be cut short).
    :raises ValueError: if there are no trials, a trial has no steps, lacks either key, or the two lists
        differ in length or an episode index is missing or negative.
    """
    if not step_infos:
        raise ValueError("step_infos must hold at least one trial, got none")
    episodes: list[np.ndarray] = []
    for i, trial in enumerate(step_infos):
        missing = [key for key in SUCCESS_INFO_KEYS if key not in trial]
        if missing:
            raise ValueError(f"step_infos[{i}] lacks {missing}: run the trials with info_keys={SUCCESS_INFO_KEYS}")
        success, index = trial["success"], trial["episode_index"]
        if len(success) != len(index) or not len(index):
            raise ValueError(
                f"step_infos[{i}] must hold one success and one episode_index per step (at least one step), "
                f"got {len(success)} and {len(index)}"
            )
        if any(e is None for e in index) or min(index) < 0:
            raise ValueError(f"step_infos[{i}]['episode_index'] must be integers >= 0 at every step")
        solved = np.fromiter((value is not None and bool(value) for value in success), dtype=bool, count=len(success))
        steps_of = np.asarray(index, dtype=np.int64)
        # episode e succeeded iff one of its steps did
        episodes.append(np.bincount(steps_of, weights=solved, minlength=int(steps_of.max()) + 1) > 0)
    width = max(len(e) for e in episodes)
    table = np.full((len(episodes), width), np.nan)
    for row, solved_episodes in enumerate(episodes):
        table[row, : len(solved_episodes)] = solved_episodes
    counts = np.sum(~np.isnan(table), axis=0)  # >= 1: the longest trial holds every episode index
    per_episode = np.nanmean(table, axis=0)
    last = np.array([e[-1] for e in episodes], dtype=np.float64)
    n = len(last)
    se = float(last.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return SuccessRates(per_episode, counts, float(last.mean()), se, n)


def reports_success(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> bool:
    """Whether ``gym.make(env_id, **env_kwargs)`` puts ``"success"`` in its step info: read from one step of one env.

    :param env_id: a registered id.
    :param env_kwargs: its kwargs.
    :return: True for Meta-World's id (whose every step reports it), False for the other ids of this package.
    """
    env = gym.make(env_id, **dict(env_kwargs or {}))
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        info = env.step(env.action_space.sample())[4]
    finally:
        env.close()
    return "success" in info

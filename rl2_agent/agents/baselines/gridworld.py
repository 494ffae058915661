"""Reference policies for the RL^3 gridworlds (``RL2GridWorld-v0`` / ``RL3GridWorld-v0``).

They bracket what a meta-learner can score on a grid distribution; all are
:class:`~rl2_agent.evaluation.agent.TrialAgent` s, run by :func:`~rl2_agent.evaluation.runner.run_trials`:

* :class:`ConstantAgent` ``(action=STAY)``: stands still, -1 per step (-H per trial): the local
  optimum a policy falls into when exploring costs more than it has found so far.
* :class:`ValueGreedyAgent`: the object-level RL of RL^3 ALONE, without a meta-learner: greedy on
  the ``q_values`` inputs of an RL^3 id (ties: fewest visits, then random). An untried action's
  value is 0 and a tried one's is below it, so it tries every action of every state it reaches
  before it trusts its model: model-based RL without a prior over tasks.
* :class:`KnownGridOptimal`: is GIVEN the task and plays the optimal policy of the whole trial
  (finite-horizon value iteration over the H steps, inner episodes restarting at the centre):
  an upper bound no agent that must find the goal can reach.

The uniformly random policy is :class:`rl2_agent.agents.scripted.UniformRandomAgent`.
:func:`grid_behaviour` says what any of them, or a trained meta-learner, did in its trials
(goals found, dangers entered, standing still).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from meta_envs.gridworld import DANGER, GOAL, STAY, TILE_REWARDS, GridTask, grid_model
from rl2_agent.agents.baselines.base import argmax_random
from rl2_agent.evaluation.runner import TrialResults

__all__ = ["BEHAVIOUR_KEYS", "ConstantAgent", "KnownGridOptimal", "ValueGreedyAgent", "grid_behaviour", "trial_optimal_policy"]

#: The keys of :func:`grid_behaviour`, in table order.
BEHAVIOUR_KEYS = (
    "goal_trials",
    "goals_per_trial",
    "goals_per_goal_trial",
    "first_goal_step",
    "dangers_per_trial",
    "stay_share",
)


class ConstantAgent:
    """Always the same ``action`` (default: stay)."""

    def __init__(self, action: int = STAY) -> None:
        self.action = int(action)

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        return np.full(len(trial_start), self.action, dtype=np.int64)


class ValueGreedyAgent:
    """Greedy on the RL^3 inputs of the observation: argmax of ``q_values``, ties broken by the
    fewest ``visit_counts``, then at random.

    Parameters
    ----------
    obs_layout:
        The RL^3 env's ``obs_layout`` (it must name ``"q_values"`` and ``"visit_counts"``).
    seed:
        Seed of the tie-breaking.
    """

    def __init__(self, obs_layout: dict[str, slice], seed: int = 0) -> None:
        missing = {"q_values", "visit_counts"} - set(obs_layout)
        if missing:
            raise ValueError(
                f"obs_layout must name 'q_values' and 'visit_counts' (an RL^3 id's layout); missing {sorted(missing)}"
            )
        self.q, self.n = obs_layout["q_values"], obs_layout["visit_counts"]
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        q, n = obs[:, self.q], obs[:, self.n]
        best = q >= q.max(axis=1, keepdims=True) - 1e-9
        score = np.where(best, -n, -np.inf)  # among the best values, the least tried
        return argmax_random(score, self.rng).astype(np.int64)


def trial_optimal_policy(task: GridTask, steps_per_trial: int) -> np.ndarray:
    """The optimal trial policy of a known grid: ``policy[k, s]`` is the action with ``k + 1``
    steps left in the trial, shape ``(steps_per_trial, size**2)`` int8.

    Entering the goal or a danger tile pays its reward and the next step starts at the centre
    (a new inner episode), so value iteration runs on the grid model with the probability of
    entering those tiles sent to the centre instead.
    """
    transitions, rewards = grid_model(task)  # rewards include the reward of entering goal / danger
    S, A = rewards.shape
    flat = task.tiles.reshape(-1)
    terminal = np.isin(flat, (GOAL, DANGER))
    trial = transitions.copy()
    trial[..., S // 2] += trial[..., terminal].sum(axis=-1)
    trial[..., terminal] = 0.0
    trial = trial.reshape(S * A, S)
    r = rewards.reshape(-1)
    policy = np.empty((steps_per_trial, S), dtype=np.int8)
    v = np.zeros(S)
    for k in range(steps_per_trial):
        q = (r + trial @ v).reshape(S, A)
        policy[k] = q.argmax(axis=1)
        v = q.max(axis=1)
    return policy


class KnownGridOptimal:
    """Plays :func:`trial_optimal_policy` of each held-out task (it is GIVEN the tasks).

    ``tasks`` are those of the held-out trials in the order :func:`~rl2_agent.evaluation.runner.run_trials`
    plays them (trial ``i``: ``reset(seed=seed + i)``); a batch of trials starts when every row
    starts a trial after the previous batch's ``steps_per_trial`` steps. The state is read from
    the observation's one-hot ``obs`` part.
    """

    def __init__(self, tasks: Sequence[GridTask], steps_per_trial: int, obs_layout: dict[str, slice]) -> None:
        self.tasks = list(tasks)
        self.steps_per_trial = int(steps_per_trial)
        self.obs = obs_layout["obs"]
        self._next = 0
        self._step = self.steps_per_trial
        self._policies = np.zeros((0, self.steps_per_trial, 0), dtype=np.int8)

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        n = len(trial_start)
        if self._step >= self.steps_per_trial:  # a new batch of held-out trials
            if not np.all(trial_start) or self._next + n > len(self.tasks):
                raise RuntimeError("KnownGridOptimal lost track of the trials: give it the tasks of run_trials, in order")
            batch = self.tasks[self._next : self._next + n]
            self._next += n
            self._policies = np.stack([trial_optimal_policy(t, self.steps_per_trial) for t in batch])
            self._step = 0
        state = np.asarray(obs)[:, self.obs].argmax(axis=1)
        left = self.steps_per_trial - 1 - self._step
        self._step += 1
        return self._policies[np.arange(n), left, state].astype(np.int64)


def grid_behaviour(results: TrialResults) -> dict[str, float]:
    """What a policy did in gridworld trials run with ``run_trials(..., record=True)``.

    Returns (keys :data:`BEHAVIOUR_KEYS`):

    * ``goal_trials``: the share of trials in which the goal was entered at least once (found);
    * ``goals_per_trial`` and ``goals_per_goal_trial``: goals entered per trial, over all trials
      and over those that found it (exploitation once found);
    * ``first_goal_step``: the median step (1-based) of the first goal among those trials (NaN if none);
    * ``dangers_per_trial``: danger tiles entered per trial;
    * ``stay_share``: the share of all actions that were "stay".

    Goals and dangers are read from the rewards (+100 and -100 are paid only there).
    """
    if results.rewards is None or results.actions is None:
        raise ValueError("grid_behaviour needs the trials' rewards and actions: run_trials(..., record=True)")
    rewards, actions = results.rewards, results.actions  # (steps, n_trials)
    goal = rewards == TILE_REWARDS[GOAL]
    goals = goal.sum(axis=0)
    found = goals > 0
    first = goal.argmax(axis=0)[found] + 1
    return {
        "goal_trials": float(found.mean()),
        "goals_per_trial": float(goals.mean()),
        "goals_per_goal_trial": float(goals[found].mean()) if found.any() else 0.0,
        "first_goal_step": float(np.median(first)) if found.any() else float("nan"),
        "dangers_per_trial": float((rewards == TILE_REWARDS[DANGER]).sum(axis=0).mean()),
        "stay_share": float((actions == STAY).mean()),
    }

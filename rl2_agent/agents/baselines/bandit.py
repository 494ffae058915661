"""Classical Bernoulli-bandit agents (RL^2 Table 1), vectorised over trials.

Every agent keeps, per trial and arm, the numbers of successes ``S`` and failures ``F`` read from
the observation (previous arm, previous reward). Posteriors are ``Beta(1 + S, 1 + F)`` (the
uniform prior the tasks are drawn from); scores are compared row-wise with random tie-breaking.

=============  =================================================================================
``greedy``     posterior mean ``(S+1)/(S+F+2)``
``eps_greedy`` the same, but a uniformly random arm with probability ``epsilon``
``ucb1``       ``mean + c sqrt(2 ln t / (S+F+2))`` (Auer et al. 2002, statistics initialised with
               one success and one failure as in the RL^2 paper; ``t`` = pulls so far + 1)
``thompson``   one draw from each arm's posterior
``ots``        optimistic Thompson sampling (May et al. 2012): the max of ``samples`` posterior
               draws, floored at the posterior mean
``gittins``    the finite-horizon Gittins index of :mod:`rl2_agent.agents.baselines.gittins`
=============  =================================================================================
"""

from __future__ import annotations

import numpy as np

from meta_envs.validation import check_positive_int
from rl2_agent.agents.baselines.base import Agent, EpsilonGreedy, TrialObs, TrialSpec
from rl2_agent.agents.baselines.gittins import GittinsTable, gittins_table
from rl2_agent.arguments import check_fraction, check_non_negative_float

__all__ = ["BetaBanditAgent", "EpsGreedyBandit", "GittinsAgent", "GreedyBandit", "OTS", "ThompsonSampling", "UCB1"]


class BetaBanditAgent(Agent):
    """Base of the bandit agents: success / failure counts per trial and arm, :meth:`select` of :meth:`scores`."""

    family = "bandit"

    def _allocate(self, n: int) -> None:
        k = self.spec.num_actions
        self.successes = np.zeros((n, k), dtype=np.int64)
        self.failures = np.zeros((n, k), dtype=np.int64)

    def _forget(self, rows: np.ndarray) -> None:
        self.successes[rows] = 0
        self.failures[rows] = 0

    def _step(self, obs: TrialObs, trial_start: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(obs.prev_action >= 0)
        arms = obs.prev_action[rows]
        won = obs.prev_reward[rows] > 0.5
        self.successes[rows, arms] += won
        self.failures[rows, arms] += ~won
        return self.select(self.scores())

    @property
    def posterior_mean(self) -> np.ndarray:
        """``(S + 1) / (S + F + 2)`` per trial and arm."""
        return (self.successes + 1.0) / (self.successes + self.failures + 2.0)

    def scores(self) -> np.ndarray:
        """Score of every arm of every trial, ``(n, k)``; the agent pulls the argmax."""
        raise NotImplementedError


class GreedyBandit(BetaBanditAgent):
    """Pull the arm with the highest posterior mean."""

    name = "greedy"

    def scores(self) -> np.ndarray:
        return self.posterior_mean


class EpsGreedyBandit(EpsilonGreedy, GreedyBandit):
    """Greedy, but a uniformly random arm with probability ``epsilon``."""

    name = "eps_greedy"
    tunable = ("epsilon", (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0))

    def __init__(self, spec: TrialSpec, seed: int | None = None, epsilon: float = 0.02) -> None:
        super().__init__(spec, seed)
        self.epsilon = check_fraction("epsilon", epsilon)


class UCB1(BetaBanditAgent):
    """UCB1 with exploration scale ``c`` on Beta(1, 1)-initialised statistics."""

    name = "ucb1"
    tunable = ("c", tuple(round(0.05 * i, 2) for i in range(21)))

    def __init__(self, spec: TrialSpec, seed: int | None = None, c: float = 0.2) -> None:
        super().__init__(spec, seed)
        self.c = check_non_negative_float("c", c)

    def scores(self) -> np.ndarray:
        pulls = self.successes + self.failures
        t = pulls.sum(axis=1, keepdims=True) + 1.0
        return self.posterior_mean + self.c * np.sqrt(2.0 * np.log(t) / (pulls + 2.0))


class ThompsonSampling(BetaBanditAgent):
    """Pull the argmax of one draw from every arm's posterior."""

    name = "thompson"

    def scores(self) -> np.ndarray:
        return self.rng.beta(self.successes + 1.0, self.failures + 1.0)


class OTS(BetaBanditAgent):
    """Optimistic Thompson sampling: max of ``samples`` posterior draws, floored at the posterior mean."""

    name = "ots"
    tunable = ("samples", (1, 2, 3, 5, 10, 20, 50))

    def __init__(self, spec: TrialSpec, seed: int | None = None, samples: int = 1) -> None:
        super().__init__(spec, seed)
        self.samples = check_positive_int("samples", samples)

    def scores(self) -> np.ndarray:
        a = (self.successes + 1.0)[..., None]
        b = (self.failures + 1.0)[..., None]
        draws = self.rng.beta(a, b, size=a.shape[:-1] + (self.samples,)).max(axis=-1)
        return np.maximum(draws, self.posterior_mean)


class GittinsAgent(BetaBanditAgent):
    """Pull the arm of highest finite-horizon Gittins index (``r`` = pulls left in the trial).

    ``method`` is passed to :func:`~rl2_agent.agents.baselines.gittins.gittins_table`.
    """

    name = "gittins"

    def __init__(self, spec: TrialSpec, seed: int | None = None, method: str = "auto") -> None:
        super().__init__(spec, seed)
        self.method = method
        self._table: GittinsTable | None = None

    def params(self) -> dict[str, str]:
        return {"method": self.method if self._table is None else self._table.method}

    @property
    def table(self) -> GittinsTable:
        """The index table (built or loaded on first use)."""
        if self._table is None:
            self._table = gittins_table(self.spec.horizon, self.method)
        return self._table

    def scores(self) -> np.ndarray:
        pulls = self.successes + self.failures
        remaining = self.spec.horizon - pulls.sum(axis=1, keepdims=True)
        return self.table.index(self.successes, self.failures, np.maximum(remaining, 1))

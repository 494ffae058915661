"""Classical tabular-MDP agents (RL^2 Table 2), vectorised over trials.

Each agent counts, per trial, the visits ``n(s, a)``, reward sums and observed transitions
``s, a -> s'`` read from the observation (state, previous action, previous reward, done flag;
the transition of an episode's last step is not observable: the next observation is already the
first state of the next episode). At the start of every inner episode it plans a whole episode
by finite-horizon value iteration (``Q[h, s, a]`` for the ``episode_length`` steps) and then
acts greedily on ``Q[h, state]`` with random tie-breaking, as in Osband's TabulaRL, whose agent
set (and ``scaling`` parameter) the RL^2 paper's table follows.

Model posteriors (:class:`ModelPrior`): transitions ``Dirichlet(alpha0 + counts)``; mean rewards
``Normal(mu_n, 1/tau_n)`` with ``tau_n = tau0 + tau n``, ``mu_n = (tau0 mu0 + tau sum r) / tau_n``
(reward noise precision ``tau``; the tasks have ``R ~ N(1, 1)`` and unit noise). The Bayesian
agents use :data:`PAPER_PRIOR` (TabulaRL's defaults, ``mu0 = 0``), which reproduces the paper's
PSRL column; the tasks' own prior (:data:`TASK_PRIOR`, ``mu0 = 1``) explores more and scores
lower at short horizons (``docs/baselines.md``).

=============  =================================================================================
``greedy``     plan on the empirical model (unseen ``(s, a)``: reward 0, uniform next state)
``eps_greedy`` the same, plus a uniformly random action with probability ``epsilon``
``psrl``       plan on one MDP drawn from the posterior (:data:`PAPER_PRIOR`)
``opsrl``      optimistic PSRL: draw ``samples`` MDPs, act on the max of their Q-values
``ucrl2``      extended value iteration in the UCRL2 confidence set (Jaksch et al. 2010), both
               radii multiplied by ``scale``
``beb``        Bayesian exploration bonus (Kolter & Ng 2009): posterior-mean model with the reward
               bonus ``beta / (1 + alpha_0(s, a))``, ``beta = 2 H^2 scale``
=============  =================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from meta_envs.validation import check_positive_int
from rl2_agent.agents.baselines.base import Agent, EpsilonGreedy, TrialObs, TrialSpec
from rl2_agent.arguments import check_fraction, check_non_negative_float

__all__ = [
    "BEB",
    "EMPIRICAL",
    "PAPER_PRIOR",
    "TASK_PRIOR",
    "EpsGreedyMDP",
    "GreedyMDP",
    "ModelBasedAgent",
    "ModelPrior",
    "OPSRL",
    "PSRL",
    "UCRL2",
    "q_values",
]

Expectation = Callable[[np.ndarray], np.ndarray]
"""``V (m, S) -> E[V(next state)] (m, S, A)``: the expected next value under a planning model."""

SCALE_GRID = tuple(float(f"{x:.3g}") for x in np.logspace(-4, 0, 33))


@dataclass(frozen=True)
class ModelPrior:
    """Conjugate prior of a tabular model (see the module docstring)."""

    alpha0: float = 1.0
    mu0: float = 0.0
    tau0: float = 1.0
    tau: float = 1.0


PAPER_PRIOR = ModelPrior()
"""``Dirichlet(1)`` transitions, ``N(0, 1)`` mean rewards, unit noise: TabulaRL's defaults."""


EMPIRICAL = ModelPrior(alpha0=1e-4, mu0=0.0, tau0=1e-4)
"""Negligible prior: the posterior mean is the empirical model (0 reward, uniform if unseen)."""

TASK_PRIOR = ModelPrior(mu0=1.0)
"""The prior the tasks are drawn from: ``Dirichlet(1)`` transitions, ``N(1, 1)`` mean rewards."""


def q_values(reward: np.ndarray, expect: Expectation, horizon: int) -> np.ndarray:
    """Finite-horizon value iteration: ``Q[:, h] = reward + expect(V_{h+1})``, ``V_H = 0``.

    Parameters
    ----------
    reward:
        ``(m, S, A)`` rewards used for planning.
    expect:
        Expected next value (see :data:`Expectation`).
    horizon:
        Steps per episode.

    Returns
    -------
    ``(m, horizon, S, A)``.
    """
    m, S, A = reward.shape
    Q = np.empty((m, horizon, S, A))
    V = np.zeros((m, S))
    for h in range(horizon - 1, -1, -1):
        Q[:, h] = reward + expect(V)
        V = Q[:, h].max(axis=-1)
    return Q


def expectation(P: np.ndarray) -> Expectation:
    """:data:`Expectation` under fixed transition probabilities ``P`` ``(m, S, A, S)``."""
    return lambda V: np.einsum("msat,mt->msa", P, V)


class ModelBasedAgent(Agent):
    """Counts, posterior and per-episode planning; subclasses implement :meth:`plan`."""

    family = "mdp"
    prior: ModelPrior = PAPER_PRIOR

    def _allocate(self, n: int) -> None:
        S, A = self.spec.num_states, self.spec.num_actions
        self.visits = np.zeros((n, S, A))
        self.reward_sum = np.zeros((n, S, A))
        self.transitions = np.zeros((n, S, A, S))
        self.prev_state = np.zeros(n, dtype=np.int64)
        self.step_in_episode = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        self.Q = np.zeros((n, self.spec.episode_length, S, A))

    def _forget(self, rows: np.ndarray) -> None:
        for arr in (self.visits, self.reward_sum, self.transitions, self.step_in_episode, self.steps):
            arr[rows] = 0

    def _step(self, obs: TrialObs, trial_start: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(obs.prev_action >= 0)
        s, a = self.prev_state[rows], obs.prev_action[rows]
        self.visits[rows, s, a] += 1
        self.reward_sum[rows, s, a] += obs.prev_reward[rows]
        seen = ~obs.done[rows]
        self.transitions[rows[seen], s[seen], a[seen], obs.state[rows[seen]]] += 1
        self.steps[rows] += 1
        new_episode = trial_start | obs.done
        if new_episode.any():
            self.step_in_episode[new_episode] = 0
            self.Q[new_episode] = self.plan(new_episode)
        h = np.minimum(self.step_in_episode, self.spec.episode_length - 1)
        q = self.Q[np.arange(len(h)), h, obs.state]
        actions = self.select(q)
        self.prev_state = obs.state.copy()
        self.step_in_episode += 1
        return actions

    # ------------------------------------------------------------------ posterior
    def posterior(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(mu_n, tau_n, alpha)`` of the rows in the boolean mask: ``(m,S,A)``, ``(m,S,A)``, ``(m,S,A,S)``."""
        pr = self.prior
        tau_n = pr.tau0 + pr.tau * self.visits[rows]
        mu_n = (pr.tau0 * pr.mu0 + pr.tau * self.reward_sum[rows]) / tau_n
        return mu_n, tau_n, pr.alpha0 + self.transitions[rows]

    def mean_model(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior-mean rewards ``(m,S,A)`` and transitions ``(m,S,A,S)``."""
        mu, _, alpha = self.posterior(rows)
        return mu, alpha / alpha.sum(axis=-1, keepdims=True)

    def sample_models(self, rows: np.ndarray, samples: int) -> tuple[np.ndarray, np.ndarray]:
        """``samples`` MDPs per row from the posterior: rewards ``(m,k,S,A)``, transitions ``(m,k,S,A,S)``."""
        mu, tau, _ = self.posterior(rows)
        shape = (mu.shape[0], samples) + mu.shape[1:]
        R = mu[:, None] + self.rng.standard_normal(shape) / np.sqrt(tau)[:, None]
        # Dirichlet(alpha0 + counts) = normalised Gamma(alpha0) + Gamma(counts); counts are sparse
        p_shape = shape + (self.spec.num_states,)
        alpha0 = self.prior.alpha0
        g = self.rng.standard_exponential(p_shape) if alpha0 == 1.0 else self.rng.standard_gamma(alpha0, p_shape)
        counts = np.broadcast_to(self.transitions[rows][:, None], p_shape)
        seen = counts > 0
        g[seen] += self.rng.standard_gamma(counts[seen])
        P = g / np.maximum(g.sum(axis=-1, keepdims=True), 1e-300)
        return R, P

    def plan(self, rows: np.ndarray) -> np.ndarray:
        """Q-values ``(m, episode_length, S, A)`` for the new episodes of the rows in the mask."""
        raise NotImplementedError


class GreedyMDP(ModelBasedAgent):
    """Plan on the empirical model, act greedily."""

    name = "greedy"
    prior = EMPIRICAL

    def plan(self, rows: np.ndarray) -> np.ndarray:
        R, P = self.mean_model(rows)
        return q_values(R, expectation(P), self.spec.episode_length)


class EpsGreedyMDP(EpsilonGreedy, GreedyMDP):
    """Greedy on the empirical model, a uniformly random action with probability ``epsilon``."""

    name = "eps_greedy"
    tunable = ("epsilon", (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0))

    def __init__(self, spec: TrialSpec, seed: int | None = None, epsilon: float = 0.1) -> None:
        super().__init__(spec, seed)
        self.epsilon = check_fraction("epsilon", epsilon)


class PSRL(ModelBasedAgent):
    """Posterior sampling (Strens 2000; Osband et al. 2013): one posterior MDP per episode."""

    name = "psrl"

    def plan(self, rows: np.ndarray) -> np.ndarray:
        R, P = self.sample_models(rows, 1)
        return q_values(R[:, 0], expectation(P[:, 0]), self.spec.episode_length)


class OPSRL(PSRL):
    """Optimistic PSRL: the element-wise max of the Q-values of ``samples`` posterior MDPs."""

    name = "opsrl"
    tunable = ("samples", (1, 2, 3, 5, 10, 20))

    def __init__(self, spec: TrialSpec, seed: int | None = None, samples: int = 20) -> None:
        super().__init__(spec, seed)
        self.samples = check_positive_int("samples", samples)

    def plan(self, rows: np.ndarray) -> np.ndarray:
        R, P = self.sample_models(rows, self.samples)
        m, k, S, A = R.shape
        Q = q_values(R.reshape(m * k, S, A), expectation(P.reshape(m * k, S, A, S)), self.spec.episode_length)
        return Q.reshape(m, k, *Q.shape[1:]).max(axis=1)


class UCRL2(ModelBasedAgent):
    """UCRL2's extended value iteration over the episode (Jaksch, Ortner & Auer 2010).

    Rewards ``r_hat + scale sqrt(7 ln(2 S A t / delta) / (2 max(1, n)))``; transitions anywhere in
    the L1 ball ``scale sqrt(14 S ln(2 A t / delta) / max(1, n))`` around the empirical ones
    (``t`` = steps so far in the trial + 1, ``delta = 0.05``).
    """

    name = "ucrl2"
    prior = EMPIRICAL
    tunable = ("scale", SCALE_GRID)
    delta = 0.05

    def __init__(self, spec: TrialSpec, seed: int | None = None, scale: float = 0.316) -> None:
        super().__init__(spec, seed)
        self.scale = check_non_negative_float("scale", scale)

    def plan(self, rows: np.ndarray) -> np.ndarray:
        S, A = self.spec.num_states, self.spec.num_actions
        R, P = self.mean_model(rows)
        t = (self.steps[rows] + 1.0)[:, None, None]
        n_r = np.maximum(self.visits[rows], 1.0)
        n_p = np.maximum(self.transitions[rows].sum(axis=-1), 1.0)
        r_bonus = self.scale * np.sqrt(7.0 * np.log(2.0 * S * A * t / self.delta) / (2.0 * n_r))
        radius = self.scale * np.sqrt(14.0 * S * np.log(2.0 * A * t / self.delta) / n_p)
        return q_values(R + r_bonus, optimistic_expectation(P, radius), self.spec.episode_length)


def optimistic_expectation(P: np.ndarray, radius: np.ndarray) -> Expectation:
    """Max of ``E_p[V]`` over ``p`` in the L1 ball ``radius`` around ``P`` (the UCRL2 inner problem).

    Moves up to ``radius / 2`` probability onto the best next state and takes it from the worst
    ones first.
    """
    m, S, A, _ = P.shape
    P_flat = P.reshape(m, S * A, S)

    def expect(V: np.ndarray) -> np.ndarray:
        rank = np.argsort(np.argsort(V, axis=-1), axis=-1)  # 0 = worst next state
        below = (rank[:, :, None] < rank[:, None, :]).astype(P.dtype)  # below[m, l, j]: l ranks under j
        taken_before = np.matmul(P_flat, below).reshape(P.shape)  # mass of the states worse than j
        best = rank == S - 1
        add = np.minimum(radius / 2.0, 1.0 - np.einsum("msat,mt->msa", P, best.astype(P.dtype)))
        removed = np.clip(add[..., None] - taken_before, 0.0, P)
        removed *= ~best[:, None, None, :]
        v_best = V.max(axis=-1)[:, None, None]
        return np.einsum("msat,mt->msa", P - removed, V) + add * v_best

    return expect


class BEB(ModelBasedAgent):
    """Bayesian exploration bonus on the posterior-mean model (:data:`PAPER_PRIOR`)."""

    name = "beb"
    tunable = ("scale", SCALE_GRID)

    def __init__(self, spec: TrialSpec, seed: int | None = None, scale: float = 0.133) -> None:
        super().__init__(spec, seed)
        self.scale = check_non_negative_float("scale", scale)

    def plan(self, rows: np.ndarray) -> np.ndarray:
        mu, _, alpha = self.posterior(rows)
        beta = 2.0 * self.spec.episode_length**2 * self.scale
        bonus = beta / (1.0 + alpha.sum(axis=-1))
        return q_values(mu + bonus, expectation(alpha / alpha.sum(axis=-1, keepdims=True)), self.spec.episode_length)

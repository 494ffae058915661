"""RL^3: per-trial action-value estimates of the current task appended to the RL^2 inputs.

Description
    :class:`ValueAugmentedTrialEnv` is a :class:`~meta_envs.trial.TrialEnv` for any task family with
    ``Discrete`` states and actions. Inside each trial it runs an object-level model-based RL
    procedure on the current task (Bhatia, Nashed, Zilberstein, RL^3):

    * counts ``N(s, a)``, ``N(s, a, s')`` and reward sums of the trial's transitions give the
      maximum-likelihood model ``P(s' | s, a) = N(s, a, s') / N(s, a)`` and
      ``R(s, a) = sum of rewards / N(s, a)``. A transition that terminates the inner episode adds
      to ``N(s, a)`` but to no ``N(s, a, s')``: the missing probability mass is termination, worth
      0. A time-limit truncation is not a termination (its ``s'`` is counted). An untried
      ``(s, a)`` is a self-loop with reward 0. States enter the model as they are visited.
    * after every step the model row of the visited ``(s, a)`` is updated and ``Q`` is re-estimated
      by value iteration (:func:`value_iteration`) with ``gamma`` (default 1), stopping early when
      the max Bellman error ``max |Q_{k+1} - Q_k|`` is below ``vi_tolerance`` (0.01).
      With ``gamma = 1`` (the paper's): at most ``horizon`` backups, where the task horizon is the
      family's ``episode_length`` if it has one (bandit: 1, tabular MDP: 10), else the trial
      length ``H`` (RL^3 gridworlds, whose episodes have no time limit); every solve starts from
      ``Q = 0``, so ``Q`` is exactly the finite-horizon ``Q_horizon`` of the current model (or the
      value where the iteration from 0 stopped early).
      With ``gamma < 1``: ``Q`` is the discounted fixed point of the current model, to the
      tolerance. A solve starts from the previous step's ``Q`` (warm start) and may take up to
      ``max(horizon, ceil(log(tol (1 - gamma) / R) / log(gamma)))`` backups, ``R`` the largest
      ``|R(s, a)|`` of the model: enough to converge from ``Q = 0``, so a warm and a cold solve
      agree up to the tolerance. (A cap of ``horizon`` backups would stop a cold solve at the
      finite-horizon value, which a warm start does not reproduce.)
    * everything is reset at every trial start.

    Warm start: used ONLY when ``gamma < 1`` (after a solve that converged). With the default
    ``gamma = 1`` (the paper's) every solve starts from ``Q = 0``, and so pays up to ``horizon``
    backups at every step. The reason: with ``gamma = 1`` a warm start does not give the same
    ``Q`` as a cold one. An untried action is a free self-loop, so at a state with one any value
    above the tried actions' is a fixed point, and a warm start keeps values that newer data has
    lowered (on 13x13 gridworlds played epsilon-greedily on ``Q``, warm and cold ``Q`` differed by
    more than 0.1 at about 40% of the steps, by up to 45). With ``gamma < 1`` the discounted
    operator has one fixed point, which both reach to the tolerance.
Action Space
    That of the RL^2 twin: ``RL3Bandit-v0`` as ``RL2Bandit-v0`` (:mod:`meta_envs.bandit`,
    ``Discrete(num_arms)``), ``RL3TabularMDP-v0`` as ``RL2TabularMDP-v0``
    (:mod:`meta_envs.tabular_mdp`, ``Discrete(num_actions)``), ``RL3GridWorld-v0`` as
    ``RL2GridWorld-v0`` (:mod:`meta_envs.gridworld`, ``Discrete(5)``). :func:`make_rl3_env`
    keeps the action space of the env it augments.
Observation Space
    The RL^2 trial observation ``[obs one-hot, prev action one-hot, prev reward, done]`` followed
    by, for the CURRENT state ``s`` (``obs_layout`` names first):

    * ``q_values`` (``A``): ``Q(s, .) / value_scale``, where ``value_scale`` is the family's
      ``value_scale`` attribute if it has one (gridworld: 100, the goal reward), else the task
      horizon (bandit: 1, so ``Q(a)`` is arm a's empirical mean reward, 0 if never pulled;
      tabular MDP: 10, so it is the mean reward per step over the horizon).
    * ``visit_counts`` (``A``): ``log(1 + N(s, .)) / log(1 + T)``, ``T`` the trial length in
      steps, so in [0, 1].
    * ``time`` (2, only with ``time_inputs=True``): steps done in the trial / ``T`` and steps done
      in the current inner episode / (``episode_length``, or ``T`` for families without one).
Rewards
    Those of the RL^2 twin, unchanged (the value estimates are inputs, not rewards): bandit 0 / 1
    per pull (:mod:`meta_envs.bandit`), tabular MDP ``N(R(s, a), 1)`` or the OOD test's
    deterministic ``R(s, a)`` (:mod:`meta_envs.tabular_mdp`), gridworld the tile rewards
    (:mod:`meta_envs.gridworld`).
Rendering
    As the RL^2 twin (``render_mode`` None, ``"ansi"`` or ``"rgb_array"``), the ``rgb_array``
    frames with one more panel at the bottom: for each action ``a`` of the current state ``s``,
    ``Q(s, a)`` (in reward units, not divided by ``value_scale``; ``*`` marks the largest) and
    ``N(s, a)``, the value inputs of the observation.
Starting State
    As the RL^2 twin (a new task per trial; tabular MDP episodes start in state 0, gridworld
    episodes at the centre), with an empty model: at the first observation of a trial
    ``q_values`` and ``visit_counts`` are 0.
Episode End
    As the RL^2 twin: the gymnasium episode is one trial, which terminates after its fixed length
    ``T`` (``steps_per_trial``, or ``episodes_per_trial * episode_length``); inner episodes end
    inside it as in the twin. RL^3 needs the fixed length (a family without ``episode_length``
    needs ``steps_per_trial``).
Arguments
    ``gym.make("RL3Bandit-v0", ...)``, ``gym.make("RL3TabularMDP-v0", ...)`` and
    ``gym.make("RL3GridWorld-v0", ...)`` take the kwargs of their RL^2 twins plus ``gamma``
    (in (0, 1], default 1), ``vi_tolerance`` (> 0, default 0.01) and ``time_inputs`` (bool,
    default True). :func:`make_rl3_env` augments any RL^2 :class:`~meta_envs.trial.TrialEnv`
    of a discrete family; :func:`rl3_entry_point` makes the RL^3 twin of an RL^2 entry point.
    ``RL3Bandit-v0`` and ``RL3TabularMDP-v0`` also have a numpy-batched vector entry point
    (``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point", ...)``, the env that
    ``rl2 train`` and the evaluations use): :class:`BatchedValueAugmentedTrialEnv`, one
    :class:`BatchedTabularValueEstimator` for the whole vector, the same inputs for the same tasks and
    actions, at 7x the steps per second of 64 single envs (``benchmarks/env_throughput.py``).
Limits
    Those of the RL^2 twin, and the model (24 bytes per ``(s, a, s')`` entry and 128 per
    ``(s, a)`` pair) with the task family's arrays must fit the 1 GiB ``MEMORY_BUDGET`` of
    :mod:`meta_envs.validation`, checked before the model is allocated (``RL3TabularMDP-v0``: up to
    1,637 states with 5 actions).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces

from meta_envs import bandit, rendering, tabular_mdp
from meta_envs.batched import BatchedTrialEnv
from meta_envs.layout import fixed_trial_length
from meta_envs.trial import TaskFamily, TrialEnv, trial_entry_point
from meta_envs.validation import check_memory, check_positive_float, format_bytes, strict_kwargs

__all__ = [
    "BatchedTabularValueEstimator",
    "BatchedValueAugmentedTrialEnv",
    "TabularValueEstimator",
    "ValueAugmentedTrialEnv",
    "batched_value_iteration",
    "make_rl3_bandit_env",
    "make_rl3_bandit_vector_env",
    "make_rl3_env",
    "make_rl3_tabular_mdp_env",
    "make_rl3_tabular_mdp_vector_env",
    "rl3_entry_point",
    "rl3_vector_entry_point",
    "value_iteration",
]


# Estimated peak bytes of the RL^3 model (TabularValueEstimator and its value iteration) per (s, a, s') entry (the
# counts N(s, a, s'), the model P and a discounted copy of it) and per (s, a) pair (counts, rewards, Q, the
# observation's entries); measured 16 and about 100 (tracemalloc: 150 states x 5 actions; 10^6 arms).
ESTIMATOR_BYTES_PER_ENTRY, ESTIMATOR_BYTES_PER_PAIR = 24, 128


def estimator_bytes(num_states: int, num_actions: int) -> int:
    """Estimated peak bytes of the RL^3 model of a family with ``num_states`` states and ``num_actions`` actions."""
    pairs = num_states * num_actions
    return pairs * num_states * ESTIMATOR_BYTES_PER_ENTRY + pairs * ESTIMATOR_BYTES_PER_PAIR


def value_iteration(
    transitions: np.ndarray,
    rewards: np.ndarray,
    num_actions: int,
    iterations: int,
    tolerance: float = 0.0,
    gamma: float = 1.0,
    q_init: np.ndarray | None = None,
) -> tuple[np.ndarray, int, bool]:
    """Finite-horizon value iteration ``Q_{k+1}(s, a) = R(s, a) + gamma * sum_s' P(s'|s, a) max_a' Q_k(s', a')``.

    Parameters
    ----------
    transitions:
        ``(S * A, S)``: row ``s * A + a`` holds ``P(. | s, a)``. A row may sum to less than 1: the
        missing mass is termination (value 0).
    rewards:
        ``(S * A,)`` expected rewards ``R(s, a)``, same row order.
    num_actions:
        ``A``.
    iterations:
        Maximum number of backups (the horizon): from ``Q_0 = 0`` the result is ``Q_iterations``.
    tolerance:
        Stop as soon as the Bellman error ``max |Q_{k+1} - Q_k|`` is below it (0: never stop early).
    gamma:
        Discount factor.
    q_init:
        ``(S, A)`` starting ``Q_0`` (warm start); zeros if None.

    Returns
    -------
    (Q, backups, converged)
        ``Q`` of shape ``(S, A)``, the number of backups done, and whether the error fell below
        ``tolerance``.
    """
    shape = (transitions.shape[1], num_actions)
    # bound once: on arrays this small the per-call overhead is most of the cost
    backup = (gamma * transitions if gamma != 1.0 else transitions).dot
    best = np.maximum.reduce
    q = np.zeros(shape[0] * num_actions) if q_init is None else np.asarray(q_init, dtype=np.float64).reshape(-1)
    v = best(q.reshape(shape), axis=1)
    probe = 0  # the entry that changed most at the last full check: a cheap first test of convergence
    for k in range(1, iterations + 1):
        q_next = backup(v)
        q_next += rewards
        if abs(q_next.item(probe) - q.item(probe)) < tolerance:
            change = np.abs(q_next - q)
            probe = int(change.argmax())
            if change[probe] < tolerance:
                return q_next.reshape(shape), k, True
        q = q_next
        v = best(q.reshape(shape), axis=1)
    return q.reshape(shape), iterations, False


def check_gamma(gamma: Any) -> float:
    """``gamma`` as a float in (0, 1], or ``ValueError`` naming it."""
    if (
        isinstance(gamma, bool)
        or not isinstance(gamma, (int, float, np.integer, np.floating))
        or not 0.0 < gamma <= 1.0  # NaN fails too
    ):
        raise ValueError(f"gamma must be a number in (0, 1], got {gamma!r}")
    return float(gamma)


def solve_budget(horizon: int, gamma: float, tolerance: float, r_max: np.ndarray | float) -> np.ndarray:
    """Backups of one solve: ``horizon``, and with ``gamma < 1`` at least enough to converge from ``Q = 0``.

    From ``Q = 0`` the discounted iteration is within ``tolerance`` of its fixed point after
    ``log(tolerance (1 - gamma) / R) / log(gamma)`` backups, ``R`` the largest ``|R(s, a)|`` of the model
    (``r_max``, one per task, at least ``tolerance``), so a warm and a cold solve agree to the tolerance.
    """
    if gamma >= 1.0:
        return np.full(np.shape(r_max), horizon, dtype=np.int64)
    r_max = np.maximum(r_max, tolerance)
    converge = np.ceil(np.log(tolerance * (1.0 - gamma) / r_max) / np.log(gamma)).astype(np.int64) + 1
    return np.maximum(horizon, converge)


class TabularValueEstimator:
    """Maximum-likelihood tabular model of one task, learnt from its transitions, and its ``Q``.

    States get compact ids in the order they are first seen, so the model and value iteration
    cover only the visited states (``Q`` of an unvisited state is 0 by the self-loop rule).

    Parameters
    ----------
    num_states, num_actions:
        Sizes of the task family's ``Discrete`` spaces.
    horizon:
        Maximum number of backups per solve (the task horizon); with ``gamma < 1``, at least as
        many as converge from ``Q = 0`` (see the module docstring).
    gamma:
        Discount factor in (0, 1].
    tolerance:
        Bellman-error threshold for early stopping.
    """

    def __init__(self, num_states: int, num_actions: int, horizon: int, gamma: float = 1.0, tolerance: float = 0.01) -> None:
        self.num_states, self.num_actions, self.horizon = num_states, num_actions, horizon
        self.gamma, self.tolerance = gamma, tolerance
        S, A = num_states, num_actions
        self._id = np.full(S, -1, dtype=np.int64)
        self._count = np.zeros((S, A))  # N(s, a), by state id
        self._next_count = np.zeros((S, A, S))  # N(s, a, s'), by state ids
        self._reward_sum = np.zeros((S, A))
        self._transitions = np.zeros((S * A, S))  # ML P(s' | s, a), row id(s) * A + a, column id(s')
        self._rewards = np.zeros(S * A)  # ML R(s, a)
        self._q = np.zeros((S, A))
        self.num_visited = 0
        self._warm = False  # start the next solve from the current Q

    def reset(self) -> None:
        """Forget everything (a new trial)."""
        n, A = self.num_visited, self.num_actions
        self._id[:] = -1
        for table in (self._count, self._next_count, self._reward_sum, self._q):
            table[:n] = 0.0
        self._transitions[: n * A, :n] = 0.0
        self._rewards[: n * A] = 0.0
        self.num_visited = 0
        self._warm = False

    def observe(self, state: int) -> int:
        """Add ``state`` to the model if it is new (its actions untried: self-loops); return its id."""
        i = int(self._id[state])
        if i < 0:
            i = self._id[state] = self.num_visited
            self.num_visited += 1
            A = self.num_actions
            self._transitions[i * A : (i + 1) * A, i] = 1.0
        return i

    def update(self, state: int, action: int, reward: float, next_state: int, terminated: bool) -> None:
        """Count the transition and refresh the model row of ``(state, action)``."""
        i = self.observe(state)
        self._count[i, action] += 1.0
        self._reward_sum[i, action] += reward
        if not terminated:
            self._next_count[i, action, self.observe(next_state)] += 1.0
        n, row = self.num_visited, i * self.num_actions + action
        self._transitions[row, :n] = self._next_count[i, action, :n] / self._count[i, action]
        self._rewards[row] = self._reward_sum[i, action] / self._count[i, action]

    def solve(self) -> int:
        """Re-estimate ``Q`` of the visited states by value iteration; return the number of backups."""
        n, A = self.num_visited, self.num_actions
        budget = self.horizon
        if self.gamma < 1.0:
            budget = int(
                solve_budget(self.horizon, self.gamma, self.tolerance, np.abs(self._rewards[: n * A]).max(initial=0.0))
            )
        q, backups, converged = value_iteration(
            self._transitions[: n * A, :n],
            self._rewards[: n * A],
            A,
            budget,
            self.tolerance,
            self.gamma,
            self._q[:n] if self._warm else None,
        )
        self._q[:n] = q
        self._warm = converged and self.gamma < 1.0
        return backups

    def q_values(self, state: int) -> np.ndarray:
        """``Q(state, .)`` (a view; zeros for an unvisited state)."""
        i = self._id[state]
        return self._q[i] if i >= 0 else np.zeros(self.num_actions)

    def visit_counts(self, state: int) -> np.ndarray:
        """``N(state, .)`` (a view; zeros for an unvisited state)."""
        i = self._id[state]
        return self._count[i] if i >= 0 else np.zeros(self.num_actions)


def _check_models(family: Any, num_envs: int | None) -> tuple[int, int]:
    """``(num_states, num_actions)`` of a family with ``Discrete`` spaces (else ``TypeError``) whose RL^3 models (one,
    or one per env of a batched family) fit the memory budget with the family's arrays (else ``ValueError``)."""
    obs_space, act_space = family.observation_space, family.action_space
    if not (isinstance(obs_space, spaces.Discrete) and isinstance(act_space, spaces.Discrete)):
        raise TypeError(f"RL^3 needs Discrete observation and action spaces, got {obs_space} and {act_space}")
    num_states, num_actions = int(obs_space.n), int(act_space.n)
    family_bytes = int(getattr(family, "memory_bytes", 0))
    sizes = {"num_states": num_states, "num_actions": num_actions}
    check_memory(
        sizes if num_envs is None else {"num_envs": num_envs, **sizes},
        (num_envs or 1) * estimator_bytes(num_states, num_actions) + family_bytes,
        f"the RL^3 model{'' if num_envs is None else ' of each env'}: {ESTIMATOR_BYTES_PER_ENTRY} bytes per (s, a, s') "
        f"and {ESTIMATOR_BYTES_PER_PAIR} per (s, a), plus {format_bytes(family_bytes)} for the task family",
    )
    return num_states, num_actions


def _value_inputs(num_actions: int) -> dict[str, tuple[int, float, float]]:
    """The observation entries of the value inputs, ``name -> (size, low, high)``."""
    return {"q_values": (num_actions, -np.inf, np.inf), "visit_counts": (num_actions, 0.0, 1.0)}


def _input_scales(family: Any, trial_length: int | None) -> tuple[int, float, float]:
    """The task horizon (backups per solve), ``value_scale`` and the visit counts' ``1 / log(1 + T)`` (module
    docstring); ``ValueError`` without a fixed trial length ``T``."""
    if trial_length is None:
        raise ValueError("RL^3 needs a fixed trial length: give steps_per_trial for a family without episode_length")
    episode_length = getattr(family, "episode_length", None)
    horizon = int(episode_length) if episode_length is not None else trial_length
    value_scale = check_positive_float("value_scale", getattr(family, "value_scale", horizon))
    return horizon, value_scale, 1.0 / np.log1p(trial_length)


class ValueAugmentedTrialEnv(TrialEnv):
    """A :class:`TrialEnv` whose observation also holds ``Q(s, .)``, ``N(s, .)`` (and time) of the current state.

    See the module docstring for the definition. ``obs_layout`` gains ``"q_values"``,
    ``"visit_counts"`` and, with ``time_inputs``, ``"time"``. ``estimator`` is the trial's
    :class:`TabularValueEstimator`, fed by :meth:`TrialEnv._on_transition` (which sees the terminal
    state of an inner episode before the in-place reset).

    Parameters
    ----------
    task_family:
        A task family with ``Discrete`` observation and action spaces.
    episodes_per_trial, steps_per_trial, render_mode:
        As :class:`TrialEnv`; the trial length must be fixed (``steps_per_trial``, or a family with
        an ``episode_length``).
    gamma:
        Discount factor of the value iteration, in (0, 1].
    vi_tolerance:
        Bellman-error threshold below which value iteration stops early (> 0).
    time_inputs:
        Append the normalised time in trial and in episode (as :class:`TrialEnv`, but on by
        default here, as the RL^3 paper's inputs).
    """

    def __init__(
        self,
        task_family: TaskFamily,
        episodes_per_trial: int | None = None,
        steps_per_trial: int | None = None,
        render_mode: str | None = None,
        gamma: float = 1.0,
        vi_tolerance: float = 0.01,
        time_inputs: bool = True,
    ) -> None:
        num_states, num_actions = _check_models(task_family, None)
        gamma, vi_tolerance = check_gamma(gamma), check_positive_float("vi_tolerance", vi_tolerance)
        super().__init__(task_family, episodes_per_trial, steps_per_trial, render_mode, time_inputs)
        self._set_layout(_value_inputs(num_actions))  # "time" (with time_inputs) stays last, after the value inputs
        length = fixed_trial_length(task_family, self.episodes_per_trial, self.steps_per_trial)
        self.horizon, self.value_scale, self._count_scale = _input_scales(task_family, length)
        self.estimator = TabularValueEstimator(num_states, num_actions, self.horizon, gamma, vi_tolerance)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new trial (see :meth:`TrialEnv.reset`) with an empty model."""
        obs, info = super().reset(seed=seed, options=options)  # first: a refused reset keeps the trial's model
        self.estimator.reset()
        self._write_estimates(obs)
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the trial (see :meth:`TrialEnv.step`), then update the model and re-estimate ``Q``."""
        obs, reward, terminated, truncated, info = super().step(action)
        self.estimator.solve()
        self._write_estimates(obs)
        return obs, reward, terminated, truncated, info

    def _on_transition(self, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool) -> None:
        """Count the inner transition (seen before an ended episode is reset in place)."""
        self.estimator.update(int(obs), int(action), reward, int(next_obs), terminated)

    def _frame_panels(self, width: int) -> list[np.ndarray]:
        """The value inputs of the current state, below the family's picture (see the module docstring)."""
        state = int(self._inner_obs) if self._inner_obs is not None else 0
        q, n = self.estimator.q_values(state), self.estimator.visit_counts(state)
        best = int(np.argmax(q)) if n.any() else -1
        values = [f"{_short(v)}{'*' if a == best else ' '}" for a, v in enumerate(q)]
        lines = [
            f"RL3 INPUTS AT STATE {state}  (*: LARGEST Q)",
            "ACTION" + "".join(f"{a:>7} " for a in range(len(q))),
            "Q(S,A)" + "".join(f"{v:>8}" for v in values),
            "N(S,A)" + "".join(f"{int(c):>7} " for c in n),
        ]
        return [rendering.text_panel(lines, width, scale=1, foreground=rendering.FOREGROUND, background=(236, 240, 248))]

    def _write_estimates(self, obs: np.ndarray) -> None:
        state, lay = int(self._inner_obs), self._layout
        self.estimator.observe(state)
        obs[lay["q_values"]] = self.estimator.q_values(state) / self.value_scale
        obs[lay["visit_counts"]] = np.log1p(self.estimator.visit_counts(state)) * self._count_scale


def _max_over_actions(q: np.ndarray) -> np.ndarray:
    """``q.max(axis=2)`` for ``q`` of shape ``(n, S, A)``: one ``np.maximum`` per action, about 10x faster
    than numpy's reduction over a short last axis."""
    v = q[:, :, 0].copy()
    for a in range(1, q.shape[2]):
        np.maximum(v, q[:, :, a], out=v)
    return v


def batched_value_iteration(
    transitions: np.ndarray,
    rewards: np.ndarray,
    num_actions: int,
    iterations: np.ndarray,
    tolerance: float = 0.0,
    gamma: float = 1.0,
    q_init: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`value_iteration` of ``n`` models at once, each stopping at its own backup.

    Parameters
    ----------
    transitions:
        ``(n, S * A, S)``: ``transitions[i]`` is model ``i``'s matrix, as in :func:`value_iteration`.
    rewards:
        ``(n, S * A)``.
    num_actions:
        ``A``.
    iterations:
        ``(n,)`` maximum number of backups of each model.
    tolerance, gamma:
        As in :func:`value_iteration`.
    q_init:
        ``(n, S, A)`` starting ``Q_0`` of each model; zeros if None.

    Returns
    -------
    (Q, backups, converged)
        ``Q`` of shape ``(n, S, A)``, and per model the number of backups done and whether the
        error fell below ``tolerance``: model ``i``'s result is that of :func:`value_iteration` on
        model ``i`` alone.
    """
    n, rows, num_states = transitions.shape
    backup = gamma * transitions if gamma != 1.0 else transitions
    q = np.zeros((n, rows)) if q_init is None else np.array(q_init, dtype=np.float64).reshape(n, rows)
    budget = np.asarray(iterations, dtype=np.int64)
    backups, converged = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    todo = np.flatnonzero(budget > 0)
    k = 0
    while todo.size:
        k += 1
        every = todo.size == n  # the common case: no gather of the models
        q_todo = q if every else q[todo]
        v = _max_over_actions(q_todo.reshape(-1, num_states, num_actions))
        q_next = np.matmul(backup if every else backup[todo], v[:, :, None])[:, :, 0]
        q_next += rewards if every else rewards[todo]
        settled = np.abs(q_next - q_todo).max(axis=1) < tolerance
        q[todo] = q_next
        backups[todo] = k
        converged[todo[settled]] = True
        todo = todo[~settled & (budget[todo] > k)]
    return q.reshape(n, num_states, num_actions), backups, converged


class BatchedTabularValueEstimator:
    """:class:`TabularValueEstimator` of ``num_envs`` tasks at once: the same model and the same ``Q``.

    The models cover every state rather than the visited ones (an unvisited state is a self-loop of
    reward 0, whose ``Q`` is 0, so the visited states' values are unchanged): that suits the small
    state spaces of the batched families, where one matrix product per backup serves every task.

    Parameters
    ----------
    num_envs:
        Number of tasks.
    num_states, num_actions, horizon, gamma, tolerance:
        As :class:`TabularValueEstimator`.
    """

    def __init__(
        self, num_envs: int, num_states: int, num_actions: int, horizon: int, gamma: float = 1.0, tolerance: float = 0.01
    ) -> None:
        self.num_envs, self.num_states, self.num_actions = num_envs, num_states, num_actions
        self.horizon, self.gamma, self.tolerance = horizon, gamma, tolerance
        n, S, A = num_envs, num_states, num_actions
        self._rows = np.arange(n)
        self._count = np.zeros((n, S * A))  # N(s, a), column s * A + a
        self._next_count = np.zeros((n, S * A, S))  # N(s, a, s')
        self._reward_sum = np.zeros((n, S * A))
        self._self_loops = np.repeat(np.eye(S), A, axis=0)  # row s * A + a -> s: the model of an untried (s, a)
        self._transitions = np.tile(self._self_loops, (n, 1, 1))  # ML P(s' | s, a)
        self._rewards = np.zeros((n, S * A))  # ML R(s, a)
        self._q = np.zeros((n, S, A))
        self._warm = np.zeros(n, dtype=bool)  # start the task's next solve from its current Q
        self._horizons = np.full(n, horizon, dtype=np.int64)

    def reset(self, mask: np.ndarray) -> None:
        """Forget everything of the tasks where ``mask`` is True (new trials)."""
        for table in (self._count, self._next_count, self._reward_sum, self._rewards, self._q):
            table[mask] = 0.0
        self._transitions[mask] = self._self_loops
        self._warm[mask] = False

    def update(
        self, states: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_states: np.ndarray, terminated: np.ndarray
    ) -> None:
        """Count one transition per task, shapes ``(num_envs,)``, and refresh the model rows of ``(states, actions)``."""
        env, col = self._rows, states * self.num_actions + actions
        self._count[env, col] += 1.0
        self._reward_sum[env, col] += rewards
        live = ~terminated  # a termination adds to N(s, a) only: the missing mass is worth 0
        self._next_count[env[live], col[live], next_states[live]] += 1.0
        count = self._count[env, col]
        self._transitions[env, col] = self._next_count[env, col] / count[:, None]
        self._rewards[env, col] = self._reward_sum[env, col] / count

    def solve(self) -> np.ndarray:
        """Re-estimate every task's ``Q`` by value iteration; return the backups of each, shape ``(num_envs,)``."""
        budget = self._horizons  # with gamma = 1 every solve has the horizon's backups
        if self.gamma < 1.0:
            budget = solve_budget(self.horizon, self.gamma, self.tolerance, np.abs(self._rewards).max(axis=1))
        warm = self._warm.any()
        q_init = np.where(self._warm[:, None, None], self._q, 0.0) if warm else None
        self._q, backups, converged = batched_value_iteration(
            self._transitions, self._rewards, self.num_actions, budget, self.tolerance, self.gamma, q_init
        )
        self._warm = converged & (self.gamma < 1.0)
        return backups

    def q_values(self, states: np.ndarray) -> np.ndarray:
        """``Q(states[i], .)`` of each task ``i``, shape ``(num_envs, num_actions)``."""
        return self._q[self._rows, states]

    def visit_counts(self, states: np.ndarray) -> np.ndarray:
        """``N(states[i], .)`` of each task ``i``, shape ``(num_envs, num_actions)``."""
        return self._count.reshape(self.num_envs, self.num_states, self.num_actions)[self._rows, states]


class BatchedValueAugmentedTrialEnv(BatchedTrialEnv):
    """:class:`ValueAugmentedTrialEnv` of a whole vector of tasks: a :class:`~meta_envs.batched.BatchedTrialEnv`
    with the same value inputs, from one :class:`BatchedTabularValueEstimator` (``estimator``).

    It is the vector entry point of ``RL3Bandit-v0`` and ``RL3TabularMDP-v0`` (``gym.make_vec(id, n,
    vectorization_mode="vector_entry_point")``), which :func:`rl2_agent.envs.make_vec_env` trains on. The
    same tasks and actions give the observations of the single env (a test plays both on deterministic
    tasks); the noise follows :class:`~meta_envs.batched.BatchedTrialEnv` (one generator for the vector).

    Parameters
    ----------
    family:
        A batched task family with ``Discrete`` spaces and a ``terminates_episodes`` attribute.
    episodes_per_trial, steps_per_trial, gamma, vi_tolerance, time_inputs:
        As :class:`ValueAugmentedTrialEnv`.
    """

    def __init__(
        self,
        family: Any,
        episodes_per_trial: int | None = None,
        steps_per_trial: int | None = None,
        gamma: float = 1.0,
        vi_tolerance: float = 0.01,
        time_inputs: bool = True,
    ) -> None:
        terminates = getattr(family, "terminates_episodes", None)
        if not isinstance(terminates, bool):
            raise TypeError(f"{type(family).__name__} must say whether its episodes terminate (terminates_episodes)")
        gamma, vi_tolerance = check_gamma(gamma), check_positive_float("vi_tolerance", vi_tolerance)
        n = int(family.num_envs)
        num_states, num_actions = _check_models(family, n)  # before the base allocates anything
        super().__init__(family, episodes_per_trial, steps_per_trial, time_inputs, _value_inputs(num_actions))
        length = fixed_trial_length(family, self.episodes_per_trial, self.steps_per_trial)
        self.horizon, self.value_scale, self._count_scale = _input_scales(family, length)
        self._terminates = terminates
        self._never = np.zeros(n, dtype=bool)  # the terminations of a family whose episodes are truncated
        self.estimator = BatchedTabularValueEstimator(n, num_states, num_actions, self.horizon, gamma, vi_tolerance)
        self._state = np.zeros(n, dtype=np.int64)  # each env's current inner state

    def _start_trials(self, mask: np.ndarray) -> np.ndarray:
        inner = super()._start_trials(mask)
        self.estimator.reset(mask)
        self._state[mask] = inner[mask]
        return inner

    def _on_transition(self, actions: np.ndarray, rewards: np.ndarray, next_inner: np.ndarray, ep_end: np.ndarray) -> None:
        terminated = ep_end if self._terminates else self._never
        self.estimator.update(self._state, actions, rewards, next_inner, terminated)
        self.estimator.solve()

    def _write_obs(self, inner: np.ndarray, actions: np.ndarray | None, rewards: np.ndarray, done: np.ndarray) -> None:
        super()._write_obs(inner, actions, rewards, done)
        self._state[:] = inner
        lay = self._layout
        self._obs[:, lay["q_values"]] = self.estimator.q_values(inner) / self.value_scale
        self._obs[:, lay["visit_counts"]] = np.log1p(self.estimator.visit_counts(inner)) * self._count_scale


def _short(value: float) -> str:
    """``value`` in at most 6 characters, signed."""
    return f"{value:+.2f}" if abs(value) < 100 else f"{value:+.0f}" if abs(value) < 1e5 else f"{value:+.0e}"


def make_rl3_env(
    rl2_env: TrialEnv | BatchedTrialEnv, gamma: float = 1.0, vi_tolerance: float = 0.01, time_inputs: bool = True
) -> ValueAugmentedTrialEnv | BatchedValueAugmentedTrialEnv:
    """The RL^3 version of an RL^2 trial env: same task family, trial length and render mode.

    ``rl2_env`` (a :class:`TrialEnv`, ``gym.make``'s wrapper of one, or a batched
    :class:`~meta_envs.batched.BatchedTrialEnv`, which gives a :class:`BatchedValueAugmentedTrialEnv`) hands its
    task family over and must not be used afterwards.
    """
    rl2_env = getattr(rl2_env, "unwrapped", rl2_env)
    if isinstance(rl2_env, BatchedTrialEnv):
        return BatchedValueAugmentedTrialEnv(
            rl2_env.family, rl2_env.episodes_per_trial, rl2_env.steps_per_trial, gamma, vi_tolerance, time_inputs
        )
    if not isinstance(rl2_env, TrialEnv):
        raise TypeError(
            f"rl2_env must be a meta_envs TrialEnv or BatchedTrialEnv (or gym.make's wrapper of one), got {type(rl2_env).__name__}"
        )
    return ValueAugmentedTrialEnv(
        rl2_env.family,
        rl2_env.episodes_per_trial,
        rl2_env.steps_per_trial,
        rl2_env.render_mode,
        gamma=gamma,
        vi_tolerance=vi_tolerance,
        time_inputs=time_inputs,
    )


def _rl3_twin(rl2_make: Callable[..., Any], returns: type, what: str) -> Callable[..., Any]:
    """``rl2_make``'s kwargs (same defaults) plus ``gamma``, ``vi_tolerance`` and ``time_inputs``, which go to
    :func:`make_rl3_env`."""

    def make(*, gamma: float = 1.0, vi_tolerance: float = 0.01, time_inputs: bool = True, **rl2_kwargs: Any) -> Any:
        return make_rl3_env(rl2_make(**rl2_kwargs), gamma=gamma, vi_tolerance=vi_tolerance, time_inputs=time_inputs)

    own = [p for p in inspect.signature(make).parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    own_names = {p.name for p in own}  # time_inputs: the RL^2 entry point's too, with another default
    rl2_params = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for p in inspect.signature(rl2_make).parameters.values()
        if p.name not in own_names
    ]
    make.__signature__ = inspect.Signature([*rl2_params, *own], return_annotation=returns)  # type: ignore[attr-defined]
    make.__name__ = make.__qualname__ = f"rl3_{rl2_make.__name__}"
    make.__module__ = rl2_make.__module__
    make.__doc__ = (
        f"RL^3 {what}: the kwargs of ``{rl2_make.__module__}.{rl2_make.__name__}`` plus "
        "``gamma``, ``vi_tolerance`` and ``time_inputs`` (see :mod:`meta_envs.value_augment`)."
    )
    return strict_kwargs(make)


def rl3_entry_point(rl2_make_env: Callable[..., TrialEnv]) -> Callable[..., ValueAugmentedTrialEnv]:
    """The RL^3 twin of an RL^2 entry point: its kwargs (same defaults, same validation) plus ``gamma``,
    ``vi_tolerance`` and ``time_inputs``; unknown kwargs are rejected by :func:`strict_kwargs`."""
    return trial_entry_point(_rl3_twin(rl2_make_env, ValueAugmentedTrialEnv, "entry point"))


def rl3_vector_entry_point(
    rl2_make_vector_env: Callable[..., BatchedTrialEnv],
) -> Callable[..., BatchedValueAugmentedTrialEnv]:
    """The RL^3 twin of an RL^2 vector entry point (``num_envs`` and the RL^2 kwargs, plus the three above)."""
    return _rl3_twin(rl2_make_vector_env, BatchedValueAugmentedTrialEnv, "vector entry point")


make_rl3_bandit_env = rl3_entry_point(bandit.make_env)
"""Entry point of ``RL3Bandit-v0``."""

make_rl3_tabular_mdp_env = rl3_entry_point(tabular_mdp.make_env)
"""Entry point of ``RL3TabularMDP-v0``."""

make_rl3_bandit_vector_env = rl3_vector_entry_point(bandit.make_vector_env)
"""Vector entry point of ``RL3Bandit-v0``."""

make_rl3_tabular_mdp_vector_env = rl3_vector_entry_point(tabular_mdp.make_vector_env)
"""Vector entry point of ``RL3TabularMDP-v0``."""

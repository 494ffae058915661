"""The trial contract for a whole vector of tasks held in numpy arrays.

A :class:`BatchedTaskFamily` holds ``num_envs`` tasks of one family in arrays;
:class:`BatchedTrialEnv` gives it the semantics of :class:`~meta_envs.trial.TrialEnv` as a
gymnasium :class:`~gymnasium.vector.VectorEnv` with same-step autoreset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector.vector_env import AutoresetMode

from meta_envs.layout import ObsLayout, build_layout, is_image, longest_episode, time_scales
from meta_envs.validation import (
    check_bool,
    check_memory,
    check_options,
    check_seeds,
    check_trial_length,
    check_trial_steps,
    format_bytes,
    short_repr,
)

__all__ = ["BatchedTaskFamily", "BatchedTrialEnv", "refuse_render_mode"]

_RENDER_HINT = (
    "to film trials use gym.make(id, render_mode='rgb_array') or "
    "gym.make_vec(id, num_envs, vectorization_mode='sync', render_mode='rgb_array')"
)


def refuse_render_mode(render_mode: Any) -> None:
    """Raise ``ValueError`` unless ``render_mode`` is None: the batched envs draw no frames.

    Their vector entry points take ``render_mode`` (``gym.make_vec`` passes it on) only to refuse it
    with this message, which names the single env and the ``"sync"`` vector env that do render.
    """
    if render_mode is not None:
        raise ValueError(f"render_mode must be None for a numpy-batched vector env, got {render_mode!r}; {_RENDER_HINT}")


class BatchedTaskFamily(Protocol):
    """A vector of ``num_envs`` tasks of one family, held in numpy arrays.

    ``observation_space``/``action_space`` are the SINGLE inner spaces (Discrete or Box).
    Discrete observations are returned as an int array of shape ``(num_envs,)``. An
    ``episode_length`` attribute (fixed inner-episode length), where the family has one, lets
    ``time_inputs`` work with ``episodes_per_trial``.
    """

    num_envs: int
    observation_space: spaces.Space
    action_space: spaces.Space

    def sample_task(self, rng: np.random.Generator) -> Any:
        """Same distribution and same draws as the single-env family's ``sample_task``."""

    def set_task(self, index: int, task: Any) -> None:
        """Make ``task`` the task of env ``index`` (validating it first: a refused task changes nothing)."""

    # Optional: ``check_task(task) -> task`` returns the task validated (and converted, e.g. a list of arm
    # probabilities to an array) without changing anything, or raises ``ValueError``. With it,
    # ``reset(options={"tasks": [...]})`` checks every task before setting any; ``memory_bytes`` (int), the
    # estimated bytes of the family's arrays, counts toward the env's memory budget; ``terminates_episodes``
    # (bool), whether an inner episode's end is a termination (True: a bandit pull) or a time-limit
    # truncation (False: a tabular MDP episode), which the RL^3 model needs (:mod:`meta_envs.value_augment`).

    def resample_tasks(self, mask: np.ndarray, rng: np.random.Generator) -> None:
        """Draw new tasks (vectorised) for the envs where ``mask`` is True."""

    def reset_episodes(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Start new inner episodes where ``mask`` is True; return the inner obs of ALL envs."""

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every env: ``(inner_obs, rewards (float64), episode_ended (bool))``."""


def _noise_rng(seed: int | None) -> np.random.Generator:
    """The generator of a batched env's noise (rewards, transitions, resampled tasks) after ``reset(seed=seed)``.

    Its stream is independent of env 0's task, which ``seeding.np_random(seed)`` draws: sharing that
    generator's stream would replay the task's draws as the first trial's noise.
    """
    if seed is None:
        return seeding.np_random(None)[0]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(1,))))


class BatchedTrialEnv(gym.vector.VectorEnv):
    """``num_envs`` trials stepped together in numpy, with the semantics of :class:`TrialEnv`.

    Autoreset is same-step (``metadata["autoreset_mode"] == AutoresetMode.SAME_STEP``): when a
    trial ends, the returned observation is the first one of the next trial and
    ``infos["final_obs"][i]`` holds the last observation of the finished one, with
    ``infos["trial_returns"][i]`` its per-episode returns. ``infos["final_info"]`` holds the final
    step's info of the finished trials (``episode_index``, ``inner_done``, ``trial_returns``), where
    gymnasium's ``SyncVectorEnv`` puts it. Every key ``k`` has gymnasium's boolean mask ``infos["_k"]``
    (which envs report it).

    ``reset(seed=s)`` gives env ``i`` the task that ``TrialEnv.reset(seed=s + i)`` gives (a list
    of seeds is used as is), so held-out evaluation tasks are the same in both; the noise of the
    trials (rewards, transitions, the tasks of later trials) comes from one generator seeded by the
    first seed, on a stream independent of the tasks' draws.
    ``reset(options={"tasks": [...]})`` sets the tasks explicitly (one per env; the single env's key
    is ``"task"``, and any other key is refused). A seed is None, an integer >= 0 or a sequence of
    ``num_envs`` of them; the seeds, the options and every task are checked before anything changes,
    so a refused reset raises ``ValueError`` and leaves every env as it was. ``time_inputs`` as in
    :class:`TrialEnv`; ``extra_inputs`` (``name -> (size, low, high)``) are entries a subclass writes
    after the done flag and before the time (RL^3's value inputs, :mod:`meta_envs.value_augment`).

    Memory: the env holds ``num_envs x (episodes per trial + 1)`` per-episode returns (float64), with
    its family's arrays (``family.memory_bytes``) within the 1 GiB ``MEMORY_BUDGET`` of
    :mod:`meta_envs.validation`, checked before they are allocated; a trial is at most
    ``MAX_TRIAL_STEPS`` steps.

    Rendering: none (``metadata["render_modes"]`` is empty and ``render_mode`` is None): the batch
    keeps no per-env history to draw. The vector entry points refuse a ``render_mode``
    (:func:`refuse_render_mode`) and :meth:`render` raises; ``gym.make(id, render_mode="rgb_array")``
    or ``gym.make_vec(id, n, vectorization_mode="sync", render_mode="rgb_array")`` render the same
    trials.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}
    render_mode = None

    def __init__(
        self,
        family: BatchedTaskFamily,
        episodes_per_trial: int | None = None,
        steps_per_trial: int | None = None,
        time_inputs: bool = False,
        extra_inputs: dict[str, tuple[int, float, float]] | None = None,
    ) -> None:
        self.family = family
        self.num_envs = family.num_envs
        self.episodes_per_trial, self.steps_per_trial = check_trial_length(episodes_per_trial, steps_per_trial)
        check_trial_steps(self.episodes_per_trial, self.steps_per_trial, longest_episode(family))
        self.time_inputs = check_bool("time_inputs", time_inputs)
        if self.time_inputs:
            trial_length, episode_length = time_scales(family, self.episodes_per_trial, self.steps_per_trial)
            self._trial_scale, self._episode_scale = 1.0 / trial_length, 1.0 / episode_length
        self.single_action_space = family.action_space
        self.single_observation_space, self._layout, flat = build_layout(
            family.observation_space, family.action_space, extra_inputs, self.time_inputs
        )
        if is_image(family.observation_space):
            raise TypeError("BatchedTrialEnv supports flat (Discrete/Box) inner observations only")
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self._discrete_obs = isinstance(family.observation_space, spaces.Discrete)
        self._discrete_act = isinstance(family.action_space, spaces.Discrete)
        n = self.num_envs
        if self.steps_per_trial is None:
            assert self.episodes_per_trial is not None  # check_trial_length gives exactly one of the two
            length, max_eps = "episodes_per_trial", int(self.episodes_per_trial)
        else:  # episodes of a fixed length end every episode_length steps; one step at least otherwise
            length, max_eps = "steps_per_trial", -(-self.steps_per_trial // (getattr(family, "episode_length", None) or 1))
        own = n * (max_eps + 1) * 8 + n * flat.shape[0] * 4 * 3  # the per-episode returns; the observations
        family_bytes = int(getattr(family, "memory_bytes", 0))
        check_memory(
            {"num_envs": n, length: getattr(self, length)},
            own + family_bytes,
            f"{format_bytes(own)} for the per-episode returns (num_envs x {max_eps + 1} float64) and the observations, "
            f"{format_bytes(family_bytes)} for the tasks",
        )
        self._rows = np.arange(n)
        self._returns = np.zeros((n, max_eps + 1))
        self._ep_return = np.zeros(n)
        self._ep_index = np.zeros(n, dtype=np.int64)
        self._t = np.zeros(n, dtype=np.int64)
        self._t_episode = np.zeros(n, dtype=np.int64)
        self._obs = np.zeros((n, flat.shape[0]), dtype=np.float32)
        self._obs_flat = self._obs.reshape(-1)  # a view
        self._row_base = self._rows * self._obs.shape[1]
        self._no_truncation = np.zeros(n, dtype=bool)
        self._every_env = np.ones(n, dtype=bool)  # gymnasium's info masks of keys that every env reports
        self._every_env.flags.writeable = False
        self._rng, _ = seeding.np_random(None)
        self._started = False

    @property
    def obs_layout(self) -> ObsLayout:
        return dict(self._layout)

    def _write_obs(self, inner: np.ndarray, actions: np.ndarray | None, rewards: np.ndarray, done: np.ndarray) -> None:
        lay, obs, flat = self._layout, self._obs, self._obs_flat
        obs.fill(0.0)  # cheaper than clearing the previous one-hot entries
        if self._discrete_obs:
            flat[self._row_base + inner] = 1.0  # 1-D scatter is faster than 2-D fancy indexing
        else:
            obs[:, lay["obs"]] = inner.reshape(self.num_envs, -1)
        if actions is not None:
            if self._discrete_act:
                flat[self._row_base + (lay["prev_action"].start + actions)] = 1.0
            else:
                space = cast(spaces.Box, self.single_action_space)  # not Discrete: Box (build_layout takes no other)
                obs[:, lay["prev_action"]] = np.clip(actions, space.low, space.high).reshape(self.num_envs, -1)
        obs[:, lay["prev_reward"].start] = rewards
        obs[:, lay["done"].start] = done
        if self.time_inputs:
            t = lay["time"].start
            obs[:, t] = self._t * self._trial_scale
            obs[:, t + 1] = np.minimum(self._t_episode * self._episode_scale, 1.0)

    def _start_trials(self, mask: np.ndarray) -> np.ndarray:
        self._ep_index[mask] = 0
        self._t[mask] = 0
        self._t_episode[mask] = 0
        self._ep_return[mask] = 0.0
        self._returns[mask] = 0.0
        return self.family.reset_episodes(mask, self._rng)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        n = self.num_envs
        # every argument is checked before anything changes: a refused reset leaves the env as it was
        check_options(options, ("tasks",), f"a sequence of {n} tasks, one per env")
        seeds = check_seeds(seed, n)
        tasks = self._check_tasks(options["tasks"]) if options and "tasks" in options else None
        if seeds is not None:
            self._rng = _noise_rng(seeds[0])
        if tasks is not None:  # explicit tasks; a seed then seeds the noise only
            try:
                for i, task in enumerate(tasks):
                    self.family.set_task(i, task)
            except Exception:
                # a family without check_task refused a task after setting others: no trial goes on with them
                self._started = False
                raise
        elif seeds is not None:
            for i, s in enumerate(seeds):
                self.family.set_task(i, self.family.sample_task(seeding.np_random(s)[0]))
        else:
            self.family.resample_tasks(np.ones(n, bool), self._rng)
        inner = self._start_trials(np.ones(n, bool))
        zeros = np.zeros(n)
        self._write_obs(inner, None, zeros, zeros)
        self._started = True
        info = {"episode_index": np.zeros(n, np.int64), "inner_done": np.zeros(n, bool)}
        return self._obs.copy(), {**info, "_episode_index": self._every_env, "_inner_done": self._every_env}

    def _check_tasks(self, tasks: Any) -> list[Any]:
        """``options["tasks"]`` as a list of ``num_envs`` tasks, each validated by the family's ``check_task``."""
        n = self.num_envs
        sequence = (isinstance(tasks, Sequence) and not isinstance(tasks, (str, bytes))) or (
            isinstance(tasks, np.ndarray) and tasks.ndim >= 1
        )
        if not sequence or len(tasks) != n:
            got = f"{len(tasks)} tasks" if sequence else short_repr(tasks)
            raise ValueError(f"options['tasks'] must be a sequence of {n} tasks, one per env, got {got}")
        check_task = getattr(self.family, "check_task", None)
        if not callable(check_task):
            return list(tasks)
        checked = []
        for i, task in enumerate(tasks):
            try:
                checked.append(check_task(task))
            except ValueError as error:
                raise ValueError(f"options['tasks'][{i}]: {error}") from None
        return checked

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self._validate(actions)
        inner, rewards, ep_end = self.family.step(actions, self._rng)
        self._on_transition(actions, rewards, inner, ep_end)
        ep_return, ep_index = self._ep_return, self._ep_index
        ep_return += rewards
        self._t += 1
        if self.time_inputs:
            self._t_episode += 1
            self._t_episode[ep_end] = 0
        infos: dict[str, Any] = {
            "episode_index": ep_index.copy(),
            "inner_done": ep_end,
            "_episode_index": self._every_env,
            "_inner_done": self._every_env,
        }
        n_ended = np.count_nonzero(ep_end)  # count_nonzero is much cheaper than .any()/.all() on small arrays
        if n_ended == self.num_envs:  # e.g. bandits: every step ends an inner episode
            self._returns[self._rows, ep_index] = ep_return
            ep_return.fill(0.0)
            ep_index += 1
        elif n_ended:
            ends = np.flatnonzero(ep_end)
            self._returns[ends, ep_index[ends]] = ep_return[ends]
            ep_return[ends] = 0.0
            ep_index[ends] += 1
        if self.steps_per_trial is not None:
            trial_over = self._t >= self.steps_per_trial
        else:
            assert self.episodes_per_trial is not None  # check_trial_length gives exactly one of the two
            trial_over = ep_index >= self.episodes_per_trial
        any_over = np.count_nonzero(trial_over) > 0
        restart = ep_end & ~trial_over if any_over else ep_end
        if n_ended and np.count_nonzero(restart):
            fresh = self.family.reset_episodes(restart, self._rng)
            inner = np.where(restart if inner.ndim == 1 else restart[:, None], fresh, inner)
        self._write_obs(inner, actions, rewards, ep_end)
        if any_over:
            idx = np.flatnonzero(trial_over)
            final_obs = np.empty(self.num_envs, dtype=object)
            trial_returns = np.empty(self.num_envs, dtype=object)
            for i in idx:
                final_obs[i] = self._obs[i].copy()
                if not ep_end[i]:  # partial last episode (steps_per_trial)
                    self._returns[i, ep_index[i]] = ep_return[i]
                trial_returns[i] = tuple(self._returns[i, : ep_index[i] + (0 if ep_end[i] else 1)].tolist())
            final_info = {  # the final step's info of each finished trial, masked as gymnasium's vector infos
                "episode_index": infos["episode_index"],
                "_episode_index": trial_over,
                "inner_done": ep_end,
                "_inner_done": trial_over,
                "trial_returns": trial_returns,
                "_trial_returns": trial_over,
            }
            infos.update(
                final_obs=final_obs,
                _final_obs=trial_over,
                final_info=final_info,
                _final_info=trial_over,
                trial_returns=trial_returns,
                _trial_returns=trial_over,
            )
            self.family.resample_tasks(trial_over, self._rng)
            fresh = self._start_trials(trial_over)
            self._obs[idx] = 0.0
            if self._discrete_obs:
                self._obs[idx, self._layout["obs"].start + fresh[idx]] = 1.0
            else:
                self._obs[idx, self._layout["obs"]] = fresh[idx].reshape(idx.size, -1)
        return self._obs.copy(), rewards, trial_over, self._no_truncation, infos

    def _on_transition(self, actions: np.ndarray, rewards: np.ndarray, next_inner: np.ndarray, ep_end: np.ndarray) -> None:
        """Hook called after every step of the family, BEFORE ended inner episodes are reset.

        ``next_inner`` holds every env's next inner observation (the last one of an ended episode),
        ``ep_end`` which episodes ended; the observation before the step is the one last given to
        :meth:`_write_obs`. Subclasses (RL^3) learn from the transitions here; the base does nothing.
        """

    def _validate(self, actions: Any) -> np.ndarray:
        try:
            a = np.asarray(actions)
        except (ValueError, TypeError, OverflowError):  # ragged nesting, unconvertible objects
            a = np.asarray(None)
        if self._discrete_act:
            if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
                raise ValueError(f"actions must be an integer array of shape ({self.num_envs},), got {a.dtype} {a.shape}")
            a = a.astype(np.int64, copy=False)
            n = cast(spaces.Discrete, self.single_action_space).n
            if np.count_nonzero(a.view(np.uint64) >= n):  # negative values wrap to huge unsigned ones
                raise ValueError(f"actions must be integers in [0, {n - 1}], got values in [{a.min()}, {a.max()}]")
            return a
        shape = (self.num_envs, *cast(spaces.Box, self.single_action_space).shape)  # not Discrete: Box
        if a.dtype.kind not in "iuf" or a.shape != shape or not np.all(np.isfinite(a)):
            raise ValueError(f"actions must be a finite array of numbers of shape {shape}, got {a.dtype} {a.shape}")
        return a.astype(np.float32, copy=False)

    def render(self) -> None:
        """Not supported (see the class docstring): raises ``NotImplementedError`` naming the envs that render."""
        raise NotImplementedError(f"{type(self).__name__} draws no frames; {_RENDER_HINT}")

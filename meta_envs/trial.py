"""The RL^2 trial contract: one gymnasium episode is one trial of several inner episodes.

A *task family* is an ordinary gymnasium :class:`~gymnasium.Env` (its ``reset`` starts a new
episode of the CURRENT task) with two extra methods::

    sample_task(rng: np.random.Generator) -> task
    set_task(task) -> None

:class:`TrialEnv` wraps a task family so that:

* ``reset(seed=...)`` samples a new task with the env's own ``np_random`` (a seeded reset is
  reproducible and fully determines the task), or takes ``options={"task": task}``;
* ``step(a)`` steps the inner env; when an inner episode ends (terminated or truncated) the
  inner env is reset in place on the SAME task and the returned observation is the first
  observation of the next inner episode;
* the trial ends with ``terminated=True`` after ``episodes_per_trial`` inner episodes (or after
  ``steps_per_trial`` steps); ``truncated`` is left to outer time limits;
* the observation is ``[inner obs, previous action, previous reward, done flag]`` (flat float32),
  or ``Dict(image=uint8 HxWxC, context=float32)`` for image task families, where ``context``
  holds the augmentation. ``obs_layout`` maps names to slices of the flat vector (of
  ``context`` for images).
* with ``time_inputs=True`` (off by default) two more entries come LAST, named ``"time"``: steps
  done in the trial / ``T`` and steps done in the current inner episode / ``episode_length``
  (the family's, or ``T`` for families without one), ``T`` the trial length in steps. The RL^3
  paper gives these inputs to both its RL^2 and RL^3 agents; they need a fixed trial length.

:class:`BatchedTrialEnv` implements the same contract for a whole vector of tasks held in numpy
arrays (a :class:`BatchedTaskFamily`), as a gymnasium :class:`~gymnasium.vector.VectorEnv` with
same-step autoreset.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Protocol, SupportsFloat, TypeVar, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector.vector_env import AutoresetMode

ObsLayout = dict[str, slice]

__all__ = [
    "BatchedTaskFamily",
    "BatchedTrialEnv",
    "ObsLayout",
    "TaskFamily",
    "TrialEnv",
    "check_positive_int",
    "check_choice",
    "default_trial_length",
    "strict_kwargs",
    "UnknownKwargError",
]

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------------------
# validation helpers (shared by every env family)
# --------------------------------------------------------------------------------------
def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


class UnknownKwargError(TypeError, ValueError):
    """An env kwarg that the env does not take (both a TypeError, as Python raises, and a ValueError)."""


def strict_kwargs(fn: F) -> F:
    """Make an env entry point reject unknown kwargs with an error that lists the allowed ones."""
    allowed = [p for p in inspect.signature(fn).parameters]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise UnknownKwargError(f"unknown env kwarg(s) {unknown} for {fn.__module__}.{fn.__name__}; allowed kwargs: {allowed}")
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_trial_length(episodes_per_trial: int | None, steps_per_trial: int | None) -> tuple[int | None, int | None]:
    """Validate that exactly one of the two trial-length arguments is given."""
    if (episodes_per_trial is None) == (steps_per_trial is None):
        raise ValueError(
            "give exactly one of episodes_per_trial (integer >= 1) or steps_per_trial (integer >= 1), "
            f"got episodes_per_trial={episodes_per_trial!r}, steps_per_trial={steps_per_trial!r}"
        )
    if episodes_per_trial is not None:
        return check_positive_int("episodes_per_trial", episodes_per_trial), None
    return None, check_positive_int("steps_per_trial", steps_per_trial)


def default_trial_length(
    episodes_per_trial: int | None, steps_per_trial: int | None, default_episodes: int
) -> tuple[int | None, int | None]:
    """The entry points' rule: ``episodes_per_trial`` is ``default_episodes`` unless one of the two is given.

    :raises ValueError: when both are given (as :func:`check_trial_length`), or one is not an integer >= 1.
    """
    if episodes_per_trial is None and steps_per_trial is None:
        return check_positive_int("episodes_per_trial", default_episodes), None
    return check_trial_length(episodes_per_trial, steps_per_trial)


# --------------------------------------------------------------------------------------
# protocols
# --------------------------------------------------------------------------------------
@runtime_checkable
class TaskFamily(Protocol):
    """A gymnasium env over the CURRENT task, plus task sampling.

    ``reset()`` starts a new episode of the current task; ``step`` is the usual gymnasium step.
    """

    observation_space: spaces.Space
    action_space: spaces.Space

    def sample_task(self, rng: np.random.Generator) -> Any:
        """Draw a task from the task distribution using ``rng`` only."""

    def set_task(self, task: Any) -> None:
        """Make ``task`` the current task (takes effect at the next ``reset``)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]: ...

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]: ...


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
        """Make ``task`` the task of env ``index``."""

    def resample_tasks(self, mask: np.ndarray, rng: np.random.Generator) -> None:
        """Draw new tasks (vectorised) for the envs where ``mask`` is True."""

    def reset_episodes(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Start new inner episodes where ``mask`` is True; return the inner obs of ALL envs."""

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step every env: ``(inner_obs, rewards (float64), episode_ended (bool))``."""


# --------------------------------------------------------------------------------------
# observation layout (shared by the single and the batched env)
# --------------------------------------------------------------------------------------
def _space_dim(space: spaces.Space) -> int:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    raise TypeError(f"unsupported space {space!r}: only Discrete and Box are supported")


def _is_image(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3


def _bounds(space: spaces.Space) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(space, (spaces.Discrete, spaces.Box)):
        raise TypeError(f"unsupported space {space!r}: a task family's spaces must be Discrete or Box")
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:  # the one-hot encodings and action checks index from 0
            raise TypeError(f"Discrete spaces of a task family must start at 0, got {space!r}")
        return np.zeros(space.n, np.float32), np.ones(space.n, np.float32)
    return space.low.reshape(-1).astype(np.float32), space.high.reshape(-1).astype(np.float32)


def build_layout(
    inner_obs_space: spaces.Space,
    action_space: spaces.Space,
    extra: dict[str, tuple[int, float, float]] | None = None,
    time_inputs: bool = False,
) -> tuple[spaces.Space, ObsLayout, spaces.Box]:
    """Observation space and ``obs_layout`` of a trial env.

    Parameters
    ----------
    inner_obs_space, action_space:
        The task family's spaces.
    extra:
        Optional extra named entries appended after the done flag (used by RL^3), as
        ``name -> (size, low, high)``.
    time_inputs:
        Append ``"time"`` (2 entries in [0, 1]: time in trial, time in episode) last.

    Returns
    -------
    (observation_space, obs_layout, flat_box)
        ``flat_box`` is the flat augmented part (the whole observation for non-image families,
        ``context`` for image families).
    """
    image = _is_image(inner_obs_space)
    parts: list[tuple[str, np.ndarray, np.ndarray]] = []
    if not image:
        parts.append(("obs", *_bounds(inner_obs_space)))
    parts.append(("prev_action", *_bounds(action_space)))
    parts.append(("prev_reward", np.full(1, -np.inf, np.float32), np.full(1, np.inf, np.float32)))
    parts.append(("done", np.zeros(1, np.float32), np.ones(1, np.float32)))
    for name, (size, lo, hi) in {**(extra or {}), **({"time": (2, 0.0, 1.0)} if time_inputs else {})}.items():
        parts.append((name, np.full(size, lo, np.float32), np.full(size, hi, np.float32)))
    layout: ObsLayout = {}
    start = 0
    for name, lo, _ in parts:
        layout[name] = slice(start, start + lo.size)
        start += lo.size
    flat = spaces.Box(np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]), dtype=np.float32)
    if image:
        return spaces.Dict({"image": inner_obs_space, "context": flat}), layout, flat
    return flat, layout, flat


def check_options(options: dict[str, Any] | None, allowed: tuple[str, ...], what: str) -> None:
    """Raise ``ValueError`` naming the allowed keys if ``options`` (of ``reset``) holds any other."""
    unknown = sorted(set(options or {}) - set(allowed))
    if unknown:
        hint = ""
        if "task" in unknown and "tasks" in allowed:
            hint = " (a vector env takes 'tasks', one task per env)"
        elif "tasks" in unknown and "task" in allowed:
            hint = " (a single env takes 'task'; 'tasks' is the vector envs' key)"
        raise ValueError(f"reset options may hold only {list(allowed)} ({what}), got unknown keys {unknown}{hint}")


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as a bool, or raise ``ValueError`` if it is not True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def fixed_trial_length(family: Any, episodes_per_trial: int | None, steps_per_trial: int | None) -> int | None:
    """Steps per trial when fixed (``steps_per_trial``, or ``episodes_per_trial * family.episode_length``), else None."""
    if steps_per_trial is not None:
        return steps_per_trial
    episode_length = getattr(family, "episode_length", None)
    return None if episode_length is None else episodes_per_trial * int(episode_length)  # type: ignore[operator]


def time_scales(family: Any, episodes_per_trial: int | None, steps_per_trial: int | None) -> tuple[int, int]:
    """``(T, episode_length)``: the normalisers of the ``"time"`` inputs (see the module docstring).

    Raises ``ValueError`` when the trial length is not fixed (``episodes_per_trial`` of a family
    without an ``episode_length``).
    """
    trial_length = fixed_trial_length(family, episodes_per_trial, steps_per_trial)
    if trial_length is None:
        raise ValueError(
            "time_inputs=True needs a fixed trial length: give steps_per_trial (this task family has no episode_length)"
        )
    episode_length = getattr(family, "episode_length", None)
    return trial_length, int(episode_length) if episode_length is not None else trial_length


def validate_action(space: spaces.Space, action: Any) -> Any:
    """Raise ``ValueError`` naming the allowed actions if ``action`` is not valid for ``space``."""
    if isinstance(space, spaces.Discrete):
        a = np.asarray(action)
        if a.shape not in ((), (1,)) or not np.issubdtype(a.dtype, np.integer) or not (0 <= int(a.reshape(())) < space.n):
            raise ValueError(f"action must be an integer in [0, {space.n - 1}], got {action!r}")
        return int(a.reshape(()))
    a = np.asarray(action, dtype=space.dtype)
    if a.shape != space.shape or not np.all(np.isfinite(a)):
        raise ValueError(f"action must be a finite array of shape {space.shape}, got {action!r}")
    return a


# --------------------------------------------------------------------------------------
# the single-env trial wrapper
# --------------------------------------------------------------------------------------
class TrialEnv(gym.Env):
    """One gymnasium episode = one RL^2 trial of a task family (see the module docstring).

    Parameters
    ----------
    task_family:
        A :class:`TaskFamily` instance; the TrialEnv owns it.
    episodes_per_trial:
        Number of inner episodes per trial (give this or ``steps_per_trial``).
    steps_per_trial:
        Number of steps per trial, whatever the inner episodes (RL^3's horizon ``H``).
    render_mode:
        ``"ansi"`` (text: task summary, step, last action and reward) or any mode the task
        family supports (e.g. ``"rgb_array"``).
    time_inputs:
        Append the normalised time in trial and in episode (``obs_layout["time"]``, last).
    """

    def __init__(
        self,
        task_family: TaskFamily,
        episodes_per_trial: int | None = None,
        steps_per_trial: int | None = None,
        render_mode: str | None = None,
        time_inputs: bool = False,
    ) -> None:
        for method in ("sample_task", "set_task", "reset", "step"):
            if not callable(getattr(task_family, method, None)):
                raise TypeError(f"task_family must have a callable {method}() (see meta_envs.trial.TaskFamily)")
        self.family = task_family
        self.episodes_per_trial, self.steps_per_trial = check_trial_length(episodes_per_trial, steps_per_trial)
        modes = list(dict.fromkeys(["ansi", *getattr(task_family, "metadata", {}).get("render_modes", [])]))
        self.metadata = {"render_modes": modes, "render_fps": getattr(task_family, "metadata", {}).get("render_fps", 4)}
        if render_mode is not None and render_mode not in modes:
            raise ValueError(f"render_mode must be one of {modes} or None, got {render_mode!r}")
        self.render_mode = render_mode
        self.time_inputs = check_bool("time_inputs", time_inputs)
        if self.time_inputs:
            trial_length, episode_length = time_scales(task_family, self.episodes_per_trial, self.steps_per_trial)
            self._trial_scale, self._episode_scale = 1.0 / trial_length, 1.0 / episode_length
        self.action_space = task_family.action_space
        self._image = _is_image(task_family.observation_space)
        self._discrete_obs = isinstance(task_family.observation_space, spaces.Discrete)
        self._discrete_act = isinstance(self.action_space, spaces.Discrete)
        self._set_layout()
        self._task: Any = None
        self._trial_over = False
        self._inner_obs: Any = None
        self._last_action: Any = None
        self._last_reward = 0.0
        self._reset_counters()

    def _set_layout(self, extra: dict[str, tuple[int, float, float]] | None = None) -> None:
        """Build the observation space and layout; subclasses add ``extra`` entries (before ``"time"``)."""
        self.observation_space, self._layout, flat = build_layout(
            self.family.observation_space, self.action_space, extra, self.time_inputs
        )
        self._flat_dim = flat.shape[0]

    # ------------------------------------------------------------------ public attributes
    @property
    def obs_layout(self) -> ObsLayout:
        """Name -> slice of the flat observation (of ``context`` for image families)."""
        return dict(self._layout)

    @property
    def task(self) -> Any:
        """The task of the current trial."""
        return self._task

    @property
    def trial_length(self) -> int:
        """Number of steps of a trial when it is fixed (``steps_per_trial`` or n * episode_length)."""
        length = fixed_trial_length(self.family, self.episodes_per_trial, self.steps_per_trial)
        if length is None:
            raise AttributeError("trial length is not fixed for this task family")
        return length

    # ------------------------------------------------------------------ gymnasium API
    def _reset_counters(self) -> None:
        self._episode_index = 0
        self._step_in_trial = 0
        self._step_in_episode = 0
        self._episode_return = 0.0
        self._trial_returns: list[float] = []

    def _augment(self, inner_obs: Any, action: Any, reward: float, done: bool) -> Any:
        flat = np.zeros(self._flat_dim, dtype=np.float32)
        lay = self._layout
        if not self._image:
            if self._discrete_obs:
                flat[lay["obs"].start + int(inner_obs)] = 1.0
            else:
                flat[lay["obs"]] = np.asarray(inner_obs, dtype=np.float32).reshape(-1)
        if action is not None:
            if self._discrete_act:
                flat[lay["prev_action"].start + int(action)] = 1.0
            else:  # clipped to the action space's bounds, as the inner env applies it
                flat[lay["prev_action"]] = np.clip(action, self.action_space.low, self.action_space.high).reshape(-1)
        flat[lay["prev_reward"].start] = reward
        flat[lay["done"].start] = float(done)
        if self.time_inputs:
            t = lay["time"].start
            flat[t] = self._step_in_trial * self._trial_scale
            flat[t + 1] = min(self._step_in_episode * self._episode_scale, 1.0)
        if self._image:
            return {"image": inner_obs, "context": flat}
        return flat

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Start a new trial: sample a task (or take ``options["task"]``) and reset the inner env.

        ``reset(seed=s)`` fully determines the task and the trial's randomness, so evaluating
        several agents on seeds ``s0 .. s0+N-1`` compares them on the same N tasks.
        """
        check_options(options, ("task",), "a task of this family")
        super().reset(seed=seed)
        # the family shares the trial's generator: one seed determines the whole trial
        self.family.np_random = self.np_random
        task = options["task"] if options and "task" in options else self.family.sample_task(self.np_random)
        try:
            self.family.set_task(task)  # validates it
        except Exception:
            self._task = None  # no half-reset trial: step() asks for a reset
            raise
        self._task = task
        self._trial_over = False
        inner_obs, _ = self.family.reset()
        self._inner_obs = inner_obs
        self._reset_counters()
        self._last_action, self._last_reward = None, 0.0
        return self._augment(inner_obs, None, 0.0, False), {"episode_index": 0, "inner_done": False}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._task is None:
            raise RuntimeError("call reset() before step()")
        if self._trial_over:
            raise RuntimeError("the trial is over (step returned terminated=True): call reset() to start the next one")
        action = validate_action(self.action_space, action)
        inner_obs, reward, terminated, truncated, inner_info = self.family.step(action)
        reward = float(reward)
        self._on_transition(self._inner_obs, action, reward, inner_obs, bool(terminated))
        self._episode_return += reward
        self._step_in_trial += 1
        inner_done = bool(terminated or truncated)
        self._step_in_episode = 0 if inner_done else self._step_in_episode + 1
        # the task family's own info keys pass through; the trial's keys take precedence
        info: dict[str, Any] = {**inner_info, "episode_index": self._episode_index, "inner_done": inner_done}
        if inner_done:
            self._trial_returns.append(self._episode_return)
            self._episode_return = 0.0
            self._episode_index += 1
        if self.steps_per_trial is not None:
            trial_over = self._step_in_trial >= self.steps_per_trial
        else:
            trial_over = self._episode_index >= self.episodes_per_trial
        if inner_done and not trial_over:
            inner_obs, _ = self.family.reset()
        self._inner_obs = inner_obs
        if trial_over:
            if not inner_done and self._step_in_trial > 0:
                self._trial_returns.append(self._episode_return)  # partial last episode (steps_per_trial)
            # a tuple, not an array: gymnasium's vector envs stack ndarray infos into one fixed-shape
            # array, which fails when trials hold different numbers of episodes (mazes, gridworlds)
            info["trial_returns"] = tuple(self._trial_returns)
        self._last_action, self._last_reward = action, reward
        self._trial_over = trial_over
        obs = self._augment(inner_obs, action, reward, inner_done)
        return obs, reward, trial_over, False, info

    def _on_transition(self, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool) -> None:
        """Hook called after every inner step, BEFORE an ended inner episode is reset in place.

        ``next_obs`` is the inner env's own next observation (the terminal one when the inner
        episode ends); subclasses such as RL^3's value augmentation learn from it.
        """

    def render(self) -> Any:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' to gym.make")
            return None
        if self.render_mode == "ansi":
            summary = self.family.describe_task() if hasattr(self.family, "describe_task") else repr(self._task)
            return (
                f"{summary}\n"
                f"trial step {self._step_in_trial}, episode {self._episode_index}"
                f"{'/' + str(self.episodes_per_trial) if self.episodes_per_trial else ''}, "
                f"last action {self._last_action}, last reward {self._last_reward:.3f}\n"
            )
        return self.family.render()

    def close(self) -> None:
        self.family.close()


# --------------------------------------------------------------------------------------
# the batched trial env (numpy arrays, same semantics)
# --------------------------------------------------------------------------------------
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
    is ``"task"``, and any other key is refused). ``time_inputs`` as in :class:`TrialEnv`.
    """

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        family: BatchedTaskFamily,
        episodes_per_trial: int | None = None,
        steps_per_trial: int | None = None,
        time_inputs: bool = False,
    ) -> None:
        self.family = family
        self.num_envs = family.num_envs
        self.episodes_per_trial, self.steps_per_trial = check_trial_length(episodes_per_trial, steps_per_trial)
        self.time_inputs = check_bool("time_inputs", time_inputs)
        if self.time_inputs:
            trial_length, episode_length = time_scales(family, self.episodes_per_trial, self.steps_per_trial)
            self._trial_scale, self._episode_scale = 1.0 / trial_length, 1.0 / episode_length
        self.single_action_space = family.action_space
        self.single_observation_space, self._layout, flat = build_layout(
            family.observation_space, family.action_space, time_inputs=self.time_inputs
        )
        if _is_image(family.observation_space):
            raise TypeError("BatchedTrialEnv supports flat (Discrete/Box) inner observations only")
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, self.num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, self.num_envs)
        self._discrete_obs = isinstance(family.observation_space, spaces.Discrete)
        self._discrete_act = isinstance(family.action_space, spaces.Discrete)
        n = self.num_envs
        self._rows = np.arange(n)
        max_eps = self.episodes_per_trial if self.episodes_per_trial is not None else self.steps_per_trial
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
                space = self.single_action_space
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
        check_options(options, ("tasks",), f"a sequence of {n} tasks, one per env")
        seeds = None
        if seed is not None:
            seeds = [int(s) for s in seed] if isinstance(seed, (list, tuple, np.ndarray)) else [int(seed) + i for i in range(n)]
            if len(seeds) != n:
                raise ValueError(f"seed must be an int or a list of {n} ints, got {len(seeds)} seeds")
            self._rng = _noise_rng(seeds[0])
        if options and "tasks" in options:  # explicit tasks; a seed then seeds the noise only
            tasks = list(options["tasks"])
            if len(tasks) != n:
                raise ValueError(f"options['tasks'] must hold {n} tasks, got {len(tasks)}")
            for i, task in enumerate(tasks):
                self.family.set_task(i, task)
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

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started:
            raise RuntimeError("call reset() before step()")
        actions = self._validate(actions)
        inner, rewards, ep_end = self.family.step(actions, self._rng)
        ep_return, ep_index = self._ep_return, self._ep_index
        ep_return += rewards
        self._t += 1
        if self.time_inputs:
            self._t_episode += 1
            self._t_episode[ep_end] = 0
        infos: dict[str, Any] = {
            "episode_index": ep_index.copy(), "inner_done": ep_end, "_episode_index": self._every_env, "_inner_done": self._every_env,
        }  # fmt: skip
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
                "episode_index": infos["episode_index"], "_episode_index": trial_over,
                "inner_done": ep_end, "_inner_done": trial_over,
                "trial_returns": trial_returns, "_trial_returns": trial_over,
            }  # fmt: skip
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

    def _validate(self, actions: Any) -> np.ndarray:
        a = np.asarray(actions)
        if self._discrete_act:
            if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
                raise ValueError(f"actions must be an integer array of shape ({self.num_envs},), got {a.dtype} {a.shape}")
            a = a.astype(np.int64, copy=False)
            n = self.single_action_space.n
            if np.count_nonzero(a.view(np.uint64) >= n):  # negative values wrap to huge unsigned ones
                raise ValueError(f"actions must be integers in [0, {n - 1}], got values in [{a.min()}, {a.max()}]")
            return a
        shape = (self.num_envs, *self.single_action_space.shape)
        if a.shape != shape or not np.all(np.isfinite(a)):
            raise ValueError(f"actions must be a finite array of shape {shape}, got {a.shape}")
        return a.astype(np.float32, copy=False)

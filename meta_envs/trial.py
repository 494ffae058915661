"""The RL^2 trial contract: one gymnasium episode is one trial of several inner episodes.

A *task family* is an ordinary gymnasium :class:`~gymnasium.Env` (its ``reset`` starts a new
episode of the CURRENT task) with two extra methods::

    sample_task(rng: np.random.Generator) -> task
    set_task(task) -> None

:class:`TrialEnv` wraps a task family so that:

* ``reset(seed=...)`` samples a new task with the env's own ``np_random`` (a seeded reset is
  reproducible and fully determines the task), or takes ``options={"task": task}``. The seed (None
  or an integer >= 0), the options and the task are checked before anything changes: a refused
  reset raises ``ValueError`` and leaves the env as it was (a trial under way goes on);
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

Rendering: ``render_mode`` is None, ``"ansi"`` (text) or ``"rgb_array"`` (``metadata["render_modes"]``),
given at construction (``gym.make(id, render_mode=...)``). An ``rgb_array`` frame is
``(H, W, 3)`` uint8, of one size for a given env: a header (inner episode, step in the trial, the
trial's return so far and the last reward) above the task family's picture, drawn by the family's
optional hook ``render_frame(steps: Sequence[TrialStep]) -> ndarray`` from its current state and
the steps of the trial so far (families without it are drawn as the text of their
``describe_task()``). The steps are recorded only when ``render_mode="rgb_array"``, so the other
modes pay nothing for them. The entry points carry ``metadata["render_modes"]``
(:func:`trial_entry_point`), so ``gym.make`` also gives ``"rgb_array_list"`` (gymnasium's
``RenderCollection``) and ``"human"`` (its ``HumanRendering`` window, which needs pygame).

The argument checks live in :mod:`meta_envs.validation`, the observation layout in
:mod:`meta_envs.layout` and the numpy-batched version of this contract in :mod:`meta_envs.batched`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol, SupportsFloat, TypeVar, cast, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering
from meta_envs.layout import ObsLayout, build_layout, fixed_trial_length, is_image, longest_episode, time_scales
from meta_envs.validation import (
    check_bool,
    check_options,
    check_render_mode,
    check_seed,
    check_trial_length,
    check_trial_steps,
    validate_action,
)

__all__ = ["TaskFamily", "TrialEnv", "TrialStep", "split_episodes", "trial_entry_point"]

RENDER_MODES = ("ansi", "rgb_array")
DEFAULT_RENDER_FPS = 4
MIN_FRAME_WIDTH = 340  # frames at least this wide keep the header's text at scale 2
_TEXT_FRAME_LINES = 14  # the text picture of a family without render_frame (a fixed size: videos need one)

F = TypeVar("F", bound=Callable[..., Any])


class TrialStep(NamedTuple):
    """One step of a trial, as recorded for ``render_mode="rgb_array"`` frames.

    ``obs`` and ``next_obs`` are the inner env's observations before and after the step
    (``next_obs`` is the terminal one when the step ended the inner episode; both are None for
    image observations); ``episode`` is the 0-based inner episode of the step.
    """

    episode: int
    obs: Any
    action: Any
    reward: float
    next_obs: Any
    terminated: bool
    inner_done: bool


def split_episodes(steps: Sequence[TrialStep]) -> tuple[list[list[TrialStep]], list[TrialStep]]:
    """``(earlier episodes, current episode)``: the steps of the ended inner episodes, one list each,
    and those of the episode under way (empty right after an inner episode ended)."""
    earlier: list[list[TrialStep]] = []
    current: list[TrialStep] = []
    for step in steps:
        current.append(step)
        if step.inner_done:
            earlier.append(current)
            current = []
    return earlier, current


def trial_entry_point(fn: F) -> F:
    """Declare on an env entry point the render modes of the :class:`TrialEnv` it returns.

    ``gym.make`` reads ``metadata["render_modes"]`` from the entry point, as from a gymnasium env
    class, to wrap the env for ``render_mode="rgb_array_list"`` (``RenderCollection``) or
    ``"human"`` (``HumanRendering``) as it does gymnasium's own envs.
    """
    fn.metadata = {"render_modes": _DeclaredModes(TrialEnv.metadata["render_modes"])}  # type: ignore[attr-defined]
    return fn


class _DeclaredModes(list):
    """The render modes an entry point declares, for ``gym.make``. A ``render_mode`` that is not a string
    counts as declared, so that ``gym.make`` hands it to the entry point, which refuses it with a clear
    ``ValueError`` (``gym.make`` would otherwise call ``render_mode.endswith`` on it: an AttributeError)."""

    def __contains__(self, mode: object) -> bool:
        return not isinstance(mode, str) or super().__contains__(mode)


@runtime_checkable
class TaskFamily(Protocol):
    """A gymnasium env over the CURRENT task, plus task sampling.

    ``reset()`` starts a new episode of the current task; ``step`` is the usual gymnasium step.
    """

    observation_space: spaces.Space
    action_space: spaces.Space
    # gymnasium Env members that TrialEnv uses: it gives the family its own generator (one seed
    # determines the whole trial), and passes close() and the family's own render modes on
    np_random: np.random.Generator

    def sample_task(self, rng: np.random.Generator) -> Any:
        """Draw a task from the task distribution using ``rng`` only."""

    def set_task(self, task: Any) -> None:
        """Make ``task`` the current task (takes effect at the next ``reset``); a task it refuses raises
        ``ValueError`` before anything changes."""

    # Optional: ``check_task(task) -> task``, the task validated and converted (e.g. a list of arm
    # probabilities to an array) without changing anything; ``TrialEnv.task`` then holds the converted
    # task. Every family of this package has it, and ``memory_bytes`` (int), the estimated bytes of its
    # arrays (see meta_envs.validation's limits).

    # Optional, for render_mode="rgb_array" (every family of this package has it):
    #     def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray
    # a (H, W, 3) uint8 picture of the current task and state, given the trial's steps so far; its
    # shape must not change during the env's life (a video has one frame size).

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[Any, dict]: ...

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict]: ...

    def render(self) -> Any: ...

    def close(self) -> None: ...


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
        None, ``"ansi"`` (text: task summary, step, last action and reward), ``"rgb_array"``
        (frames: see the module docstring) or any other mode the task family supports, which
        its own ``render()`` draws.
    time_inputs:
        Append the normalised time in trial and in episode (``obs_layout["time"]``, last).
    """

    # an instance's metadata adds its family's own render modes and render_fps
    metadata = {"render_modes": list(RENDER_MODES), "render_fps": DEFAULT_RENDER_FPS}

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
                raise TypeError(f"task_family must have a callable {method}() (see meta_envs.TaskFamily)")
        self.family = task_family
        self.episodes_per_trial, self.steps_per_trial = check_trial_length(episodes_per_trial, steps_per_trial)
        check_trial_steps(self.episodes_per_trial, self.steps_per_trial, longest_episode(task_family))
        family_metadata = getattr(task_family, "metadata", {})
        modes = list(dict.fromkeys([*RENDER_MODES, *family_metadata.get("render_modes", [])]))
        self.metadata = {"render_modes": modes, "render_fps": family_metadata.get("render_fps", DEFAULT_RENDER_FPS)}
        self.render_mode = check_render_mode(render_mode, modes)
        # the trial's steps, for the frames only: recording costs nothing in the other modes
        self._recording = render_mode == "rgb_array"
        self._steps: list[tuple] = []
        self._step_records: list[TrialStep] = []
        self.time_inputs = check_bool("time_inputs", time_inputs)
        if self.time_inputs:
            trial_length, episode_length = time_scales(task_family, self.episodes_per_trial, self.steps_per_trial)
            self._trial_scale, self._episode_scale = 1.0 / trial_length, 1.0 / episode_length
        self.action_space = task_family.action_space
        self._image = is_image(task_family.observation_space)
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
                box = cast(spaces.Box, self.action_space)  # not Discrete: Box (build_layout takes no other)
                flat[lay["prev_action"]] = np.clip(action, box.low, box.high).reshape(-1)
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
        several agents on seeds ``s0 .. s0+N-1`` compares them on the same N tasks. ``seed`` is None
        or an integer >= 0 (numpy integers too); ``options`` may hold only ``"task"``. Everything is
        checked before anything changes: a refused reset raises ``ValueError`` and the env stays as
        it was.
        """
        check_options(options, ("task",), "a task of this family")
        seed = check_seed(seed)
        if options and "task" in options:
            # validated before anything changes: a refused task leaves the env as it was (a trial under way goes on)
            task = options["task"]
            check_task = getattr(self.family, "check_task", None)
            if callable(check_task):
                task = check_task(task)
            self.family.set_task(task)  # a family's set_task validates before it changes anything
            super().reset(seed=seed)
        else:
            super().reset(seed=seed)
            task = self.family.sample_task(self.np_random)
            self.family.set_task(task)
        # the family shares the trial's generator: one seed determines the whole trial
        self.family.np_random = self.np_random
        self._task = task
        self._trial_over = False
        inner_obs, _ = self.family.reset()
        self._inner_obs = inner_obs
        self._reset_counters()
        self._last_action, self._last_reward = None, 0.0
        if self._recording:
            self._steps, self._step_records = [], []
        return self._augment(inner_obs, None, 0.0, False), {"episode_index": 0, "inner_done": False}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self._task is None:
            raise RuntimeError("call reset() before step()")
        if self._trial_over:
            raise RuntimeError("the trial is over (step returned terminated=True): call reset() to start the next one")
        action = validate_action(self.action_space, action)
        inner_obs, reward, terminated, truncated, inner_info = self.family.step(action)
        reward = float(reward)
        terminated = bool(terminated)
        inner_done = terminated or bool(truncated)
        self._on_transition(self._inner_obs, action, reward, inner_obs, terminated)
        if self._recording:  # a plain tuple: the cheapest record (TrialStep is made when a frame asks)
            if self._image:
                self._steps.append((self._episode_index, None, action, reward, None, terminated, inner_done))
            else:
                self._steps.append((self._episode_index, self._inner_obs, action, reward, inner_obs, terminated, inner_done))
        self._episode_return += reward
        self._step_in_trial += 1
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
            assert self.episodes_per_trial is not None  # check_trial_length gives exactly one of the two
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

    # ------------------------------------------------------------------ rendering
    def recorded_steps(self) -> list[TrialStep]:
        """The steps of the current trial so far (recorded only with ``render_mode="rgb_array"``, else empty)."""
        done = len(self._step_records)
        if done < len(self._steps):
            self._step_records.extend(TrialStep._make(step) for step in self._steps[done:])
        return self._step_records

    def trial_return(self) -> float:
        """The sum of the rewards of the current trial so far."""
        if self._trial_over:  # the last episode's return is already in _trial_returns
            return float(sum(self._trial_returns))
        return float(sum(self._trial_returns)) + self._episode_return

    def _header_lines(self) -> list[str]:
        n = self.episodes_per_trial
        episode = self._episode_index + 1 if n is None else min(self._episode_index + 1, n)
        fixed = fixed_trial_length(self.family, n, self.steps_per_trial)
        length = "" if fixed is None else f"/{fixed}"
        first = f"EPISODE {episode}{'' if n is None else f'/{n}'}  STEP {self._step_in_trial}{length}"
        if self._trial_over:
            first += "  END"
        last = "-" if self._last_action is None else _number(self._last_reward)
        return [first, f"RETURN {_number(self.trial_return())}  LAST {last}"]

    def _text_frame(self) -> np.ndarray:
        """The picture of a family without ``render_frame``: the text of ``describe_task()``, at a fixed size."""
        text = self.family.describe_task() if hasattr(self.family, "describe_task") else f"task {self._task!r}"
        lines = (text.splitlines() + [""] * _TEXT_FRAME_LINES)[:_TEXT_FRAME_LINES]
        return rendering.text_panel(  # black on white
            lines, MIN_FRAME_WIDTH, scale=1, foreground=rendering.FOREGROUND, background=rendering.BACKGROUND
        )

    def _frame_panels(self, width: int) -> list[np.ndarray]:
        """Panels drawn below the family's picture (subclasses add their own), each ``width`` wide."""
        return []

    def _render_rgb(self) -> np.ndarray:
        render_frame = getattr(self.family, "render_frame", None)
        body = render_frame(self.recorded_steps()) if callable(render_frame) else self._text_frame()
        width = max(body.shape[1], MIN_FRAME_WIDTH)
        header = rendering.text_panel(self._header_lines(), width, scale=2 if width >= MIN_FRAME_WIDTH else 1)
        return rendering.compose_frame([header, body, *self._frame_panels(width)])

    def render(self) -> Any:
        """The frame of ``render_mode`` (see the module docstring): None without a render mode.

        ``"rgb_array"``: ``(H, W, 3)`` uint8, the same shape for every call on this env.
        ``"ansi"``: the task summary, step, last action and reward, as text.
        """
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='rgb_array' (or 'ansi') to gym.make")
            return None
        if self.render_mode == "rgb_array":
            return self._render_rgb()
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


def _number(value: float) -> str:
    """A signed number in at most 7 characters, for frame text."""
    if abs(value) < 100:
        return f"{value:+.2f}"
    if abs(value) < 100_000:
        return f"{value:+.0f}"
    return f"{value:+.1e}"

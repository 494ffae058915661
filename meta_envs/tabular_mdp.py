"""Random tabular MDPs (RL^2 Table 2; RL^3's MDP domain).

Description
    A task is an MDP with ``num_states`` states and ``num_actions`` actions: transition
    probabilities ``T(s, a, .) ~ Dirichlet(dirichlet_alpha, ..., dirichlet_alpha)`` and mean
    rewards ``R(s, a) ~ N(1, 1)``; an observed reward is ``N(R(s, a), 1)``
    (``reward_kind="gaussian"``, as RL^2). The RL^3 out-of-distribution test
    (``reward_kind="deterministic_uniform"``) uses ``R(s, a) ~ U(0, 2)`` paid deterministically.
Action Space
    ``Discrete(num_actions)``.
Observation Space
    Inner observation ``Discrete(num_states)`` (the current state); trial observation
    ``Box(float32, (num_states + num_actions + 2,))``: ``[one-hot state, one-hot previous action,
    previous reward, done]``, plus ``[steps done / trial length, steps done / episode_length]`` with
    ``time_inputs=True``. See ``env.get_wrapper_attr("obs_layout")``.
Rewards
    As above, per step.
Rendering
    ``render_mode="rgb_array"`` (4 frames per second): under the trial header (inner episode, step,
    trial return so far, last reward), the states on a ring, each labelled with its best mean
    reward ``max_a R(s, a)``: the current state in orange, the states visited in this trial in
    blue, the transitions of the current episode as grey lines and the last transition as a red
    arrow (a loop for a self-transition), with its action and reward written below.
    ``render_mode="ansi"``: the task summary, step, last action and reward, as text.
Starting State
    Every inner episode starts in state 0; a new MDP is drawn per trial.
Episode End
    An inner episode is truncated after ``episode_length`` steps (the done flag is then 1 in the
    next observation); the trial terminates after ``episodes_per_trial`` episodes
    (``episodes_per_trial * episode_length`` steps) or after ``steps_per_trial`` steps.
Arguments
    ``gym.make("RL2TabularMDP-v0", num_states=10, num_actions=5, episode_length=10,
    episodes_per_trial=None, reward_kind="gaussian", dirichlet_alpha=1.0, steps_per_trial=None,
    render_mode=None, time_inputs=False)``. ``episodes_per_trial`` is 10 unless it or
    ``steps_per_trial`` (a trial of that many steps, whatever the episodes: the RL^3 paper's
    ``H``) is given; give at most one of the two. ``render_mode``: None, ``"ansi"`` or
    ``"rgb_array"`` (see Rendering). ``time_inputs``: append the normalised time in
    trial and in episode (see Observation Space; :mod:`meta_envs.trial`). The vector entry point
    (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) takes the same kwargs plus
    ``num_envs`` and does not render (``render_mode`` must be None there). A task given with
    ``reset(options={"task": task})`` is an :class:`MDPTask` (made from any array-likes).
Limits
    Checked before anything is allocated (:mod:`meta_envs.validation`): the arrays of one env are
    estimated at 56 bytes per entry of the ``num_states x num_actions x num_states`` transitions
    (48 per entry and env for the vector env; RL^3's model adds 24 per entry) and must fit the
    1 GiB ``MEMORY_BUDGET``: about 19 million entries (1,958 states with 5 actions; 1,637 for
    ``RL3TabularMDP-v0``; 66 states x 5 actions with 1024 vector envs). ``episode_length`` and a
    trial (``episodes_per_trial x episode_length`` or ``steps_per_trial``) are at most
    ``MAX_TRIAL_STEPS`` = 1,000,000 steps. The papers' settings (10 states, 5 actions, 100
    episodes of 10 steps) use about 30 kB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.batched import BatchedTrialEnv, refuse_render_mode
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, split_episodes, trial_entry_point
from meta_envs.validation import (
    check_array,
    check_choice,
    check_episode_length,
    check_memory,
    check_positive_float,
    check_positive_int,
    default_trial_length,
    short_repr,
    strict_kwargs,
)

REWARD_KINDS = ("gaussian", "deterministic_uniform")
STATE_COLOUR, VISITED_COLOUR, CURRENT_COLOUR = (225, 225, 225), (160, 200, 245), (255, 160, 40)
PATH_COLOUR, LAST_COLOUR = (150, 150, 150), (210, 40, 40)


# Estimated peak bytes per (s, a, s') entry: a task, a new task's draws and their cumulative sums; measured 41
# (tracemalloc, 150 states x 5 actions), and 34 per entry and env in the numpy vector env (16 envs, 60 states).
BYTES_PER_ENTRY = 56
BATCHED_BYTES_PER_ENTRY = 48


def memory_bytes(num_states: int, num_actions: int, num_envs: int | None = None) -> int:
    """Estimated peak bytes of the arrays of an MDP env (a numpy vector env of ``num_envs`` tasks when given)."""
    entries = num_states * num_actions * num_states
    return entries * (BYTES_PER_ENTRY if num_envs is None else num_envs * BATCHED_BYTES_PER_ENTRY)


@dataclass(frozen=True, eq=False)
class MDPTask:
    """A tabular MDP: ``transitions`` shape ``(S, A, S)`` (each row ``transitions[s, a]`` a probability
    distribution over the next state), ``rewards`` shape ``(S, A)`` (the finite mean rewards).

    Any array-likes of numbers are accepted (``MDPTask(T.tolist(), R.tolist())``) and held as read-only
    float64 arrays; anything else raises ``ValueError`` naming the field and the expected shape and values.
    """

    transitions: np.ndarray
    rewards: np.ndarray

    def __post_init__(self) -> None:
        probabilities = "probabilities: finite, in [0, 1], each row summing to 1"
        T = check_array("task.transitions", self.transitions, (None, None, None), low=0.0, high=1.0, what=probabilities)
        S, A = T.shape[:2]
        if T.shape[2] != S or S == 0 or A == 0:
            raise ValueError(
                f"task.transitions must be {probabilities} (an array of shape (S, A, S), S, A >= 1), got shape {T.shape}"
            )
        if not np.abs(T.sum(-1) - 1.0).max() <= 1e-5:  # np.allclose's tolerance, faster
            raise ValueError(
                f"task.transitions must be {probabilities} (an array of shape (S, A, S)), got rows summing to {short_repr(T.sum(-1))}"
            )
        R = check_array("task.rewards", self.rewards, (S, A), what="finite mean rewards")
        for name, array in (("transitions", T), ("rewards", R)):
            view = array.view()  # read-only: a task stays valid once checked (the caller's own array stays writeable)
            view.flags.writeable = False
            object.__setattr__(self, name, view)


def sample_mdp(
    rng: np.random.Generator,
    num_states: int,
    num_actions: int,
    dirichlet_alpha: float,
    reward_kind: str,
    size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw transitions ``(..., S, A, S)`` and mean rewards ``(..., S, A)``; ``...`` is ``(size,)`` if given."""
    lead = () if size is None else (size,)
    shape = lead + (num_states, num_actions, num_states)
    # Dirichlet via normalised Gamma draws; Gamma(1, 1) is Exp(1), which numpy draws ~4x faster
    gam = rng.standard_exponential(shape) if dirichlet_alpha == 1.0 else rng.gamma(dirichlet_alpha, 1.0, shape)
    # Scale each row by its largest draw first: for a small alpha the draws can underflow to subnormal
    # numbers (a row sum of 1e-310 normalised to 1e-10), and a row of zeros falls back to a self-loop.
    peak = gam.max(-1, keepdims=True)
    scaled = np.divide(gam, peak, out=np.zeros_like(gam), where=peak > 0)
    transitions = scaled / np.maximum(scaled.sum(-1, keepdims=True), 1.0)  # live rows sum to >= 1
    dead = peak[..., 0] == 0
    if np.any(dead):
        transitions[dead] = np.eye(num_states)[np.nonzero(dead)[-2]]
    if reward_kind == "gaussian":
        rewards = rng.normal(1.0, 1.0, lead + (num_states, num_actions))
    else:
        rewards = rng.uniform(0.0, 2.0, lead + (num_states, num_actions))
    return transitions, rewards


def _cumulative(transitions: np.ndarray) -> np.ndarray:
    cum = np.cumsum(transitions, axis=-1)
    cum[..., -1] = 1.0 + 1e-9  # so that u in [0, 1) never falls past the last state
    return cum


class TabularMDP(gym.Env):
    """Task family of random tabular MDPs; the task is an :class:`MDPTask`."""

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        num_states: int = 10,
        num_actions: int = 5,
        episode_length: int = 10,
        reward_kind: str = "gaussian",
        dirichlet_alpha: float = 1.0,
    ) -> None:
        self.num_states = check_positive_int("num_states", num_states)
        self.num_actions = check_positive_int("num_actions", num_actions)
        self.episode_length = check_episode_length("episode_length", episode_length)
        self.reward_kind = check_choice("reward_kind", reward_kind, REWARD_KINDS)
        self.dirichlet_alpha = check_positive_float("dirichlet_alpha", dirichlet_alpha)
        self.memory_bytes = memory_bytes(self.num_states, self.num_actions)
        check_memory(
            {"num_states": self.num_states, "num_actions": self.num_actions},
            self.memory_bytes,
            f"{BYTES_PER_ENTRY} bytes per entry of the num_states x num_actions x num_states transitions",
        )
        self.observation_space = spaces.Discrete(self.num_states)
        self.action_space = spaces.Discrete(self.num_actions)
        self.set_task(
            MDPTask(np.full((num_states, num_actions, num_states), 1.0 / num_states), np.zeros((num_states, num_actions)))
        )
        self.state, self.t = 0, 0

    def sample_task(self, rng: np.random.Generator) -> MDPTask:
        return MDPTask(*sample_mdp(rng, self.num_states, self.num_actions, self.dirichlet_alpha, self.reward_kind))

    def check_task(self, task: Any) -> MDPTask:
        """``task`` if it is an :class:`MDPTask` of this env's sizes (its values were checked when it was made),
        else ``ValueError`` naming the expected shapes."""
        S, A = self.num_states, self.num_actions
        if not isinstance(task, MDPTask) or task.transitions.shape != (S, A, S):
            got = f"transitions of shape {task.transitions.shape}" if isinstance(task, MDPTask) else short_repr(task)
            raise ValueError(
                f"task must be an MDPTask(transitions, rewards) with transitions of shape {(S, A, S)} and rewards of shape {(S, A)}, got {got}"
            )
        return task

    def set_task(self, task: Any) -> None:
        self.task = self.check_task(task)
        self._cum = _cumulative(self.task.transitions)

    def describe_task(self) -> str:
        best = self.task.rewards.max(1)
        return (
            f"{self.num_states}-state MDP, state {self.state}, step {self.t}/{self.episode_length}, max_a R(s,a) "
            + np.array2string(best, precision=2)
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self.state, self.t = 0, 0
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        s = self.state
        reward = self.task.rewards[s, action]
        if self.reward_kind == "gaussian":
            reward += self.np_random.normal()
        self.state = int(np.searchsorted(self._cum[s, action], self.np_random.random(), side="right"))
        self.t += 1
        return self.state, float(reward), False, self.t >= self.episode_length, {}

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The states and the last transition (see the module docstring's Rendering), shape ``(344, 340, 3)``."""
        S = self.num_states
        size = MIN_FRAME_WIDTH
        image = draw.blank(344, size)
        ring = 104.0
        radius = float(np.clip(np.pi * ring / (1.3 * S), 5.0, 19.0))
        centre = np.array([150.0, size / 2])
        angles = -np.pi / 2 + 2 * np.pi * np.arange(S) / S  # state 0 at the top, clockwise
        points = centre + ring * np.stack([np.sin(angles), np.cos(angles)], axis=1)
        visited = np.zeros(S, dtype=bool)
        visited[0] = bool(steps)
        for step in steps:
            visited[step.next_obs] = True
        _, current = split_episodes(steps)
        for step in current:  # this episode's transitions
            (r0, c0), (r1, c1) = points[step.obs], points[step.next_obs]
            draw.draw_line(image, r0, c0, r1, c1, PATH_COLOUR, 1)
        last = steps[-1] if steps else None
        if last is not None:
            self._draw_transition(image, points, centre, radius, last.obs, last.next_obs)
        scale = 2 if radius >= 13 else 1
        best = self.task.rewards.max(axis=1)
        for s, (row, col) in enumerate(points):
            colour = CURRENT_COLOUR if s == self.state else VISITED_COLOUR if visited[s] else STATE_COLOUR
            draw.fill_circle(image, row, col, radius, colour)
            draw.draw_circle(image, row, col, radius, draw.FOREGROUND, (3 if radius >= 10 else 2) if s == self.state else 1)
            label = str(s)
            draw.draw_text(image, label, row - 3.5 * scale, col - draw.text_width(label, scale) / 2, draw.FOREGROUND, scale)
            if S <= 16:  # the best mean reward, outside the ring
                out = centre + (ring + radius + 13) * (points[s] - centre) / ring
                text = f"{best[s]:+.1f}"
                draw.draw_text(image, text, out[0] - 3, out[1] - draw.text_width(text) / 2, (90, 90, 90))
        if last is None:
            caption = f"EPISODE STEP {self.t}/{self.episode_length}"
        else:
            caption = f"S{last.obs} -A{last.action}-> S{last.next_obs}  R {last.reward:+.2f}"
        draw.draw_text(image, caption, 303, 8, LAST_COLOUR if last is not None else draw.FOREGROUND, 2)
        draw.draw_text(image, "OUTER NUMBERS: MAX_A R(S,A)  ORANGE: NOW", 329, 8, (90, 90, 90))
        return image

    @staticmethod
    def _draw_transition(
        image: np.ndarray, points: np.ndarray, centre: np.ndarray, radius: float, s: int, s_next: int
    ) -> None:
        """The last transition: an arrow between the two circles, or a loop outside the ring for ``s == s_next``."""
        if s == s_next:
            outward = (points[s] - centre) / np.linalg.norm(points[s] - centre)
            loop = points[s] + outward * radius * 1.45
            draw.draw_circle(image, loop[0], loop[1], radius * 0.75, LAST_COLOUR, 3)
            return
        direction = points[s_next] - points[s]
        unit = direction / np.linalg.norm(direction)
        start, end = points[s] + unit * radius, points[s_next] - unit * (radius + 2)
        draw.draw_arrow(image, start[0], start[1], end[0], end[1], LAST_COLOUR, 3, head=12)


class BatchedTabularMDP:
    """``num_envs`` MDP tasks in arrays (see :class:`meta_envs.batched.BatchedTaskFamily`)."""

    def __init__(self, num_envs: int, **family_kwargs: Any) -> None:
        self.num_envs = check_positive_int("num_envs", num_envs)
        self._single = TabularMDP(**family_kwargs)
        f = self._single
        S, A, n = f.num_states, f.num_actions, self.num_envs
        self.memory_bytes = memory_bytes(S, A, n)
        check_memory(
            {"num_envs": n, "num_states": S, "num_actions": A},
            self.memory_bytes,
            f"{BATCHED_BYTES_PER_ENTRY} bytes per entry of the num_envs x num_states x num_actions x num_states transitions",
        )
        self.observation_space, self.action_space = f.observation_space, f.action_space
        self.episode_length = f.episode_length
        self.terminates_episodes = False  # episodes are truncated by the time limit: the next state counts (RL^3)
        self.rewards = np.zeros((n, S, A))
        self.cum = np.tile(f._cum, (n, 1, 1, 1))
        self.state = np.zeros(n, dtype=np.int64)
        self.t = np.zeros(n, dtype=np.int64)
        self._sa_base = np.arange(n) * S * A

    def sample_task(self, rng: np.random.Generator) -> MDPTask:
        return self._single.sample_task(rng)

    def check_task(self, task: Any) -> MDPTask:
        return self._single.check_task(task)

    def set_task(self, index: int, task: Any) -> None:
        task = self._single.check_task(task)
        self.rewards[index] = task.rewards
        self.cum[index] = _cumulative(task.transitions)

    def resample_tasks(self, mask: np.ndarray, rng: np.random.Generator) -> None:
        f = self._single
        T, R = sample_mdp(rng, f.num_states, f.num_actions, f.dirichlet_alpha, f.reward_kind, size=int(mask.sum()))
        self.rewards[mask] = R
        self.cum[mask] = _cumulative(T)

    def reset_episodes(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        self.state[mask] = 0
        self.t[mask] = 0
        return self.state.copy()

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat = self._sa_base + self.state * self._single.num_actions + actions  # index of (env, s, a)
        rewards = self.rewards.reshape(-1).take(flat)
        if self._single.reward_kind == "gaussian":
            rewards += rng.standard_normal(self.num_envs)
        u = rng.random(self.num_envs)
        cum = self.cum.reshape(-1, self._single.num_states).take(flat, axis=0)
        self.state = (cum <= u[:, None]).sum(axis=1)  # the sampled next state; sum is faster than count_nonzero(axis=1) here
        self.t += 1
        return self.state.copy(), rewards, self.t >= self.episode_length


@trial_entry_point
@strict_kwargs
def make_env(
    num_states: int = 10,
    num_actions: int = 5,
    episode_length: int = 10,
    episodes_per_trial: int | None = None,
    reward_kind: str = "gaussian",
    dirichlet_alpha: float = 1.0,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
    time_inputs: bool = False,
) -> TrialEnv:
    """Entry point of ``RL2TabularMDP-v0``."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 10)
    family = TabularMDP(num_states, num_actions, episode_length, reward_kind, dirichlet_alpha)
    return TrialEnv(family, episodes_per_trial, steps_per_trial, render_mode, time_inputs)


@strict_kwargs
def make_vector_env(
    num_envs: int = 1,
    num_states: int = 10,
    num_actions: int = 5,
    episode_length: int = 10,
    episodes_per_trial: int | None = None,
    reward_kind: str = "gaussian",
    dirichlet_alpha: float = 1.0,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
    time_inputs: bool = False,
) -> BatchedTrialEnv:
    """Vector entry point of ``RL2TabularMDP-v0``."""
    refuse_render_mode(render_mode)
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 10)
    family = BatchedTabularMDP(
        num_envs,
        num_states=num_states,
        num_actions=num_actions,
        episode_length=episode_length,
        reward_kind=reward_kind,
        dirichlet_alpha=dirichlet_alpha,
    )
    return BatchedTrialEnv(family, episodes_per_trial, steps_per_trial, time_inputs)

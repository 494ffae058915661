"""Bernoulli multi-armed bandits (RL^2 Table 1; RL^3's bandit domain).

Description
    A task is a vector of ``num_arms`` success probabilities ``p``. Each pull of arm ``a`` pays
    1 with probability ``p[a]``, else 0. One pull is one inner episode, so a trial of
    ``episodes_per_trial = n`` episodes is n pulls of the same arms.
Action Space
    ``Discrete(num_arms)``: the arm to pull.
Observation Space
    The inner observation is ``Discrete(1)`` (there is no state); the trial observation is
    ``Box(float32, (1 + num_arms + 2,))``: ``[1, one-hot previous arm, previous reward, done]``,
    plus ``[pulls done / n, 0]`` with ``time_inputs=True``. See ``env.get_wrapper_attr("obs_layout")``.
Rendering
    ``render_mode="rgb_array"`` (2 frames per second): under the trial header (pull, trial return
    so far, last reward), one column per arm: its true probability ``p`` (a red line), its
    running mean reward in this trial (the blue bar, the number above it) and its number of pulls;
    the last pulled arm is framed, green if it paid 1, red if 0. ``render_mode="ansi"``: the arm
    probabilities, step, last action and reward, as text.
Rewards
    0 or 1 per pull.
Starting State
    ``p ~ U[0, 1]^k`` per trial (``arm_prior="uniform"``), or the RL^3 out-of-distribution
    test ``p ~ N(0.5, 0.5)`` clipped to [0, 1] (``arm_prior="normal"``).
Episode End
    Every inner episode is one pull; the trial (the gymnasium episode) terminates after
    ``episodes_per_trial`` pulls (or ``steps_per_trial``, which is the same here).
Arguments
    ``gym.make("RL2Bandit-v0", num_arms=5, episodes_per_trial=None, arm_prior="uniform",
    steps_per_trial=None, render_mode=None, time_inputs=False)``. ``episodes_per_trial`` (pulls
    per trial) is 10 unless it or ``steps_per_trial`` is given; give at most one of the two (here
    they mean the same, one pull per inner episode). ``render_mode``: None, ``"ansi"`` or
    ``"rgb_array"`` (see Rendering). ``time_inputs``: append ``[pulls done /
    n, 0]`` to the observation (see Observation Space; :mod:`meta_envs.trial`). The vector entry
    point (``gym.make_vec(..., vectorization_mode="vector_entry_point")``) takes the same kwargs
    plus ``num_envs`` and does not render (``render_mode`` must be None there).
    A task given with ``reset(options={"task": p})`` is any array-like of ``num_arms``
    probabilities in [0, 1] (held as a float64 array).
Limits
    Checked before anything is allocated (:mod:`meta_envs.validation`): the arrays of one env are
    estimated at 48 bytes per arm (per arm and env for the vector env), plus 64 kB per arm for
    ``rgb_array`` frames, and must fit the 1 GiB ``MEMORY_BUDGET``: up to about 22 million arms
    (16,764 with ``rgb_array``; ``num_envs x num_arms`` up to about 22 million for the vector env,
    which also holds ``num_envs x (pulls per trial + 1)`` returns); a trial is at most
    ``MAX_TRIAL_STEPS`` = 1,000,000 pulls. The papers' settings (up to 50 arms, 500 pulls) use a
    few kilobytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from meta_envs import rendering as draw
from meta_envs.batched import BatchedTrialEnv, refuse_render_mode
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, trial_entry_point
from meta_envs.validation import (
    check_array,
    check_choice,
    check_memory,
    check_positive_int,
    default_trial_length,
    strict_kwargs,
)

ARM_PRIORS = ("uniform", "normal")
BAR_COLOUR, BAR_BACKGROUND, PROB_COLOUR = (70, 130, 220), (228, 228, 228), (200, 30, 30)
PAID_COLOUR, UNPAID_COLOUR = (30, 160, 60), (210, 50, 50)
# Estimated peak bytes per arm (per env of a vector env): the task, a new task's draws, the observation and its
# space; measured 35-44 (tracemalloc, 10^5-10^6 arms). An rgb_array frame is 28 pixels wide per arm, drawn and
# then stacked under the header: measured 47 kB per arm.
BYTES_PER_ARM = 48
FRAME_BYTES_PER_ARM = 64_000


def memory_bytes(num_arms: int, num_envs: int = 1, render_mode: str | None = None) -> int:
    """Estimated peak bytes of the arrays of a bandit env of ``num_envs`` tasks (see the module docstring's Limits)."""
    return num_envs * num_arms * BYTES_PER_ARM + (num_arms * FRAME_BYTES_PER_ARM if render_mode == "rgb_array" else 0)


def check_bandit_memory(num_arms: int, num_envs: int = 1, render_mode: str | None = None) -> None:
    """Raise ``ValueError`` naming ``num_arms`` (and ``num_envs``, ``render_mode``) when over the memory budget."""
    params: dict[str, Any] = {"num_arms": num_arms}
    if num_envs != 1:
        params["num_envs"] = num_envs
    what = f"{BYTES_PER_ARM} bytes per arm{' per env' if num_envs != 1 else ''}"
    if render_mode == "rgb_array":
        params["render_mode"] = render_mode
        what += f" and {FRAME_BYTES_PER_ARM // 1000} kB per arm for the frames"
    check_memory(params, memory_bytes(num_arms, num_envs, render_mode), what)


def sample_arm_probs(rng: np.random.Generator, num_arms: int, arm_prior: str, size: int | None = None) -> np.ndarray:
    """Draw arm probabilities: shape ``(num_arms,)``, or ``(size, num_arms)`` if ``size`` is given."""
    shape = (num_arms,) if size is None else (size, num_arms)
    if arm_prior == "uniform":
        return rng.random(shape)
    return np.clip(rng.normal(0.5, 0.5, shape), 0.0, 1.0)


class BernoulliBandit(gym.Env):
    """Task family of ``num_arms``-armed Bernoulli bandits (one pull per inner episode).

    The task is the array of arm probabilities, shape ``(num_arms,)``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 2}

    def __init__(self, num_arms: int = 5, arm_prior: str = "uniform") -> None:
        self.num_arms = check_positive_int("num_arms", num_arms, minimum=2)
        self.arm_prior = check_choice("arm_prior", arm_prior, ARM_PRIORS)
        check_bandit_memory(self.num_arms)
        self.memory_bytes = memory_bytes(self.num_arms)
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(self.num_arms)
        self.episode_length = 1
        self.probs = np.full(self.num_arms, 0.5)

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        return sample_arm_probs(rng, self.num_arms, self.arm_prior)

    def check_task(self, task: Any) -> np.ndarray:
        """``task`` (an array-like of ``num_arms`` probabilities) as a float64 array, or ``ValueError`` naming it."""
        k = self.num_arms
        return check_array("task", task, (k,), low=0.0, high=1.0, what=f"{k} arm probabilities in [0, 1]")

    def set_task(self, task: Any) -> None:
        self.probs = self.check_task(task)

    def describe_task(self) -> str:
        return "arm probabilities " + np.array2string(self.probs, precision=2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        reward = float(self.np_random.random() < self.probs[action])
        return 0, reward, True, False, {}

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """The arms (see the module docstring's Rendering), shape ``(236, max(340, c * num_arms + 20), 3)``:
        ``c`` is 56 pixels per arm up to 12 arms, 28 (with smaller text) beyond."""
        k = self.num_arms
        actions = np.fromiter((s.action for s in steps), dtype=np.int64, count=len(steps))
        rewards = np.fromiter((s.reward for s in steps), dtype=np.float64, count=len(steps))
        pulls = np.bincount(actions, minlength=k)
        means = np.bincount(actions, weights=rewards, minlength=k) / np.maximum(pulls, 1)
        margin = 10
        width = max(MIN_FRAME_WIDTH, (56 if k <= 12 else 28) * k + 2 * margin)
        column = (width - 2 * margin) // k
        scale = 2 if column >= 56 else 1
        image = draw.blank(236, width)
        bar_top, bar_height = 30, 140
        bar_width = column - (16 if scale == 2 else 8)
        for arm in range(k):
            left = margin + arm * column + (column - bar_width) // 2
            centre = left + bar_width / 2
            draw.fill_rect(image, bar_top, left, bar_height, bar_width, BAR_BACKGROUND)
            if pulls[arm]:
                filled = means[arm] * bar_height
                draw.fill_rect(image, bar_top + bar_height - filled, left, filled, bar_width, BAR_COLOUR)
            label = f"{means[arm]:.2f}" if pulls[arm] else "--"
            draw.draw_text(image, label, 8, centre - draw.text_width(label, scale) / 2, draw.FOREGROUND, scale)
            p_row = bar_top + bar_height - self.probs[arm] * bar_height
            draw.fill_rect(image, p_row - 1, left - 4, 3, bar_width + 8, PROB_COLOUR)
            for i, text in enumerate((f"A{arm}", f"N{pulls[arm]}")):
                row = bar_top + bar_height + 8 + i * 10 * scale
                draw.draw_text(image, text, row, centre - draw.text_width(text, scale) / 2, draw.FOREGROUND, scale)
        if steps:
            last = steps[-1]
            left = margin + last.action * column + (column - bar_width) // 2
            colour = PAID_COLOUR if last.reward > 0 else UNPAID_COLOUR
            draw.outline_rect(image, bar_top - 4, left - 6, bar_height + 8, bar_width + 12, colour, 3)
        draw.draw_text(image, "BAR: MEAN REWARD  RED LINE: TRUE P", 222, margin, (90, 90, 90))
        return image


class BatchedBernoulliBandit:
    """``num_envs`` bandit tasks in arrays (see :class:`meta_envs.batched.BatchedTaskFamily`)."""

    def __init__(self, num_envs: int, num_arms: int = 5, arm_prior: str = "uniform") -> None:
        self.num_envs = check_positive_int("num_envs", num_envs)
        self._single = BernoulliBandit(num_arms, arm_prior)
        self.num_arms, self.arm_prior = self._single.num_arms, self._single.arm_prior
        check_bandit_memory(self.num_arms, self.num_envs)
        self.memory_bytes = memory_bytes(self.num_arms, self.num_envs)
        self.episode_length = 1  # one pull
        self.terminates_episodes = True  # a pull ends its episode: no next state (RL^3's model)
        self.observation_space = self._single.observation_space
        self.action_space = self._single.action_space
        self.probs = np.full((self.num_envs, self.num_arms), 0.5)
        self._zeros = np.zeros(self.num_envs, dtype=np.int64)
        self._rows = np.arange(self.num_envs)

    def sample_task(self, rng: np.random.Generator) -> np.ndarray:
        return self._single.sample_task(rng)

    def check_task(self, task: Any) -> np.ndarray:
        return self._single.check_task(task)

    def set_task(self, index: int, task: Any) -> None:
        self.probs[index] = self._single.check_task(task)

    def resample_tasks(self, mask: np.ndarray, rng: np.random.Generator) -> None:
        self.probs[mask] = sample_arm_probs(rng, self.num_arms, self.arm_prior, size=int(mask.sum()))

    def reset_episodes(self, mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self._zeros

    def step(self, actions: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rewards = (rng.random(self.num_envs) < self.probs[self._rows, actions]).astype(np.float64)
        return self._zeros, rewards, np.ones(self.num_envs, dtype=bool)


@trial_entry_point
@strict_kwargs
def make_env(
    num_arms: int = 5,
    episodes_per_trial: int | None = None,
    arm_prior: str = "uniform",
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
    time_inputs: bool = False,
) -> TrialEnv:
    """Entry point of ``RL2Bandit-v0``."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 10)
    if render_mode == "rgb_array":  # the frames grow with the arms
        check_bandit_memory(check_positive_int("num_arms", num_arms, minimum=2), render_mode=render_mode)
    return TrialEnv(BernoulliBandit(num_arms, arm_prior), episodes_per_trial, steps_per_trial, render_mode, time_inputs)


@strict_kwargs
def make_vector_env(
    num_envs: int = 1,
    num_arms: int = 5,
    episodes_per_trial: int | None = None,
    arm_prior: str = "uniform",
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
    time_inputs: bool = False,
) -> BatchedTrialEnv:
    """Vector entry point of ``RL2Bandit-v0`` (``gym.make_vec(..., vectorization_mode="vector_entry_point")``)."""
    refuse_render_mode(render_mode)
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, 10)
    return BatchedTrialEnv(
        BatchedBernoulliBandit(num_envs, num_arms, arm_prior), episodes_per_trial, steps_per_trial, time_inputs
    )

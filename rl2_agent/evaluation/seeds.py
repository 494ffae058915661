"""The task seeds of evaluation, defined once, and the held-out tasks they give.

A seeded reset fully determines a trial's task (see ``meta_envs``), so the trials
``reset(seed=s + i)``, ``i = 0..N-1``, are the same N tasks for every agent, RL^2 or classical.
Three disjoint uses:

* the **test** tasks, from :data:`EVAL_SEED`: ``rl2 evaluate``, ``rl2 table``, the experiments.
  Training never resets with these seeds, and no model selection sees them;
* the **validation** tasks, from :data:`VALIDATION_SEED`: the evaluations during training (which
  choose ``best_model.zip``) and the grid search of the classical baselines' parameters
  (``rl2 tune``), both model selection;
* training draws its own seeds (``rl2 train --seed``; a resumed run, a 62-bit seed of its step).
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium as gym

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.trial import TrialEnv
from meta_envs.validation import check_positive_int

__all__ = ["EVAL_SEED", "VALIDATION_SEED", "check_held_out_args", "held_out_tasks"]

EVAL_SEED = 1_000_000
"""First seed of the held-out (test) evaluation tasks."""

VALIDATION_SEED = 2_000_000
"""First seed of the validation tasks: the evaluations during training, the choice of the best
model and the tuning of the classical baselines."""


def held_out_tasks(env_id: str, env_kwargs: dict[str, Any], n_trials: int, seed: int = EVAL_SEED) -> list[Any]:
    """The tasks of the held-out trials ``seed .. seed + n_trials - 1`` (those ``run_trials`` plays)."""
    env = gym.make(env_id, **env_kwargs)
    tasks = []
    for i in range(n_trials):
        env.reset(seed=seed + i)
        tasks.append(cast(TrialEnv, env.unwrapped).task)  # every id of meta_envs is a TrialEnv
    env.close()
    return tasks


def check_held_out_args(trials: int, seed: int | None = None) -> None:
    """Validate the ``--trials`` and ``--seed`` of a command that reports mean ± s.e. over held-out trials.

    :raises ValueError: naming the flag: ``--trials`` below 2 (a standard error needs two trials) or a
        negative ``--seed``.
    """
    try:
        check_positive_int("--trials", trials, minimum=2)
    except ValueError:
        raise ValueError(f"--trials must be an integer >= 2 (a standard error needs two trials), got {trials}") from None
    if seed is not None:
        try:
            check_positive_int("--seed", seed, minimum=0)
        except ValueError:
            raise ValueError(f"--seed must be an integer >= 0 (the first held-out task seed), got {seed}") from None

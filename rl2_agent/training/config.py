"""What defines a training run: :class:`TrainConfig`, checked whole at construction (no file I/O).

:class:`TrainConfig` is what ``config.json`` of a run folder records (see
:mod:`rl2_agent.training.run_folder`); :func:`with_n_envs` is the ``--n-envs`` rule of ``rl2 train``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

import meta_envs
from meta_envs.validation import check_positive_int
from rl2_agent.arguments import check_fraction, check_non_negative_float
from rl2_agent.hyperparams import (
    DEFAULT_TIMESTEPS,
    SCHEDULE_KEYS,
    TIME_BUDGET_STEP_CAP,
    get_hyperparams,
    is_schedule,
    resolve_schedules,
)

logger = logging.getLogger(__name__)

__all__ = ["TrainConfig", "as_json", "plain", "with_n_envs"]

#: The one reward-scaling setting allowed besides none: reward scaling only, so that agents and
#: evaluations read raw trial observations.
REWARD_SCALING = {"norm_obs": False, "norm_reward": True}


@dataclass
class TrainConfig:
    """Everything that defines a training run (written to ``config.json``).

    :raises ValueError: at construction, naming the parameter, for an unknown env id, env kwargs the
        env refuses, a count or budget out of range, or hyperparameters that do not fit together.
    """

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    total_timesteps: int = DEFAULT_TIMESTEPS
    seed: int = 0
    out: str = "runs/rl2"
    hyperparams: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0  # steps between evaluations on the validation tasks; 0 = total_timesteps / 20
    eval_trials: int = 500
    checkpoint_every: int = 0  # 0 = at each evaluation only
    max_seconds: float = 0.0  # stop training after this much wall-clock (evaluations excluded); 0 = no limit
    # decay the learning rate linearly to 0 over this final fraction of the budget (see LearningRateAnneal); 0 = none
    lr_anneal: float = 0.0
    threads: int = 1  # torch CPU threads; 1 is fastest for these small GRUs (and >10x faster on a busy CPU)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.env_id not in gym.registry:
            raise ValueError(f"unknown env id {self.env_id!r}; registered meta_envs ids: {sorted(meta_envs.ENV_IDS)}")
        # numpy scalars (a sweep over np.arange) as plain Python values: config.json must read back as given
        self.env_kwargs = plain(dict(self.env_kwargs))
        self.hyperparams = plain(dict(self.hyperparams))
        gym.make(self.env_id, **self.env_kwargs).close()  # validates env_kwargs now, with the env's own errors
        if isinstance(self.total_timesteps, float) and self.total_timesteps.is_integer():
            self.total_timesteps = int(self.total_timesteps)  # 2e6
        for name, minimum in (("total_timesteps", 1), ("eval_trials", 1), ("threads", 1), ("seed", 0), ("eval_every", 0),
                              ("checkpoint_every", 0)):  # fmt: skip
            setattr(self, name, check_positive_int(name, getattr(self, name), minimum))
        self.max_seconds = check_non_negative_float("max_seconds", self.max_seconds)
        self.lr_anneal = check_fraction("lr_anneal", self.lr_anneal)
        self.hyperparams = get_hyperparams(self.env_id, self.hyperparams)
        hp = self.hyperparams
        if hp.get("normalize", False) not in (False, REWARD_SCALING):
            raise ValueError(
                f"normalize must be False or {REWARD_SCALING} (reward scaling only: agents and evaluations read raw "
                f"trial observations), got {hp['normalize']!r}"
            )
        for name in ("n_envs", "n_steps", "batch_size", "n_epochs"):
            check_positive_int(name, hp[name])
        for name in ("gamma", "gae_lambda"):
            check_fraction(name, hp[name], zero=False)
        rollout = int(hp["n_envs"]) * int(hp["n_steps"])
        if int(hp["batch_size"]) > rollout:  # SB3 would silently use the whole rollout as one minibatch
            raise ValueError(
                f"batch_size ({hp['batch_size']}) must be <= one rollout, n_envs * n_steps = {hp['n_envs']} * "
                f"{hp['n_steps']} = {rollout}; pass a smaller batch_size with --n-envs (e.g. --hyperparams "
                f"batch_size={rollout // 4})"
            )
        resolve_schedules(hp)  # validates learning_rate / clip_range
        scheduled = [k for k in SCHEDULE_KEYS if is_schedule(hp.get(k))]
        if self.lr_anneal and is_schedule(hp.get("learning_rate")):
            raise ValueError(
                f"lr_anneal={self.lr_anneal} and learning_rate={hp['learning_rate']!r} are two learning-rate schedules: "
                "give a constant learning_rate with lr_anneal, or no lr_anneal"
            )
        if scheduled and self.total_timesteps >= TIME_BUDGET_STEP_CAP:
            raise ValueError(
                f"{', '.join(f'{k}={hp[k]!r}' for k in scheduled)}: a 'lin_' schedule decays to 0 at total_timesteps, "
                f"so it needs a step budget (--timesteps), not only a time budget (--max-minutes)"
            )
        if not self.eval_every:
            self.eval_every = max(self.total_timesteps // 20, 1)


def with_n_envs(env_id: str, hyper: dict[str, Any], n_envs: int) -> dict[str, Any]:
    """``hyper`` with ``n_envs`` set (``--n-envs``) and, unless ``hyper`` sets it, ``batch_size`` scaled with it.

    The defaults' number of minibatches per rollout (``n_envs * n_steps / batch_size``) is kept, so
    ``--n-envs 32`` on RL2Bandit-v0 (defaults 320 envs x 20 steps, minibatches of 1600: 4 per rollout)
    trains on minibatches of 32 * 20 / 4 = 160 steps instead of refusing a minibatch larger than the rollout.
    """
    n_envs = check_positive_int("n_envs", n_envs)
    hyper = {**hyper, "n_envs": n_envs}
    if "batch_size" in hyper:
        return hyper
    default = get_hyperparams(env_id, {k: v for k, v in hyper.items() if k != "n_envs"})
    minibatches = max(1, round(int(default["n_envs"]) * int(default["n_steps"]) / int(default["batch_size"])))
    batch_size = max(1, n_envs * int(default["n_steps"]) // minibatches)
    if batch_size != default["batch_size"]:
        logger.info("--n-envs %d: batch_size %d (%d minibatches per rollout, as the defaults)", n_envs, batch_size, minibatches)
    return {**hyper, "batch_size": batch_size}


def plain(x: Any) -> Any:
    """``x`` with numpy scalars turned into Python ones (recursively through dicts, lists and tuples)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(plain(v) for v in x)
    return x


def as_json(x: Any) -> Any:
    """``x`` as it reads back from ``config.json`` (tuples -> lists, other objects -> str)."""
    return json.loads(json.dumps(x, default=str))

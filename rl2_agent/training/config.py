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
from meta_envs.validation import check_int_range, check_positive_int
from rl2_agent.arguments import MAX_STEPS, check_device, check_fraction, check_non_negative_float
from rl2_agent.hyperparams import (
    DEFAULT_TIMESTEPS,
    SCHEDULE_KEYS,
    TIME_BUDGET_STEP_CAP,
    check_hyperparams,
    get_hyperparams,
    is_schedule,
    policy_class,
    resolve_policy_kwargs,
)

logger = logging.getLogger(__name__)

__all__ = ["TrainConfig", "as_json", "plain", "with_n_envs"]

#: numpy's seed range: SB3 seeds numpy's global generator with a run's seed.
MAX_SEED = 2**32 - 1


@dataclass
class TrainConfig:
    """Everything that defines a training run (written to ``config.json``).

    :raises ValueError: at construction, before any env or model is built for training, naming the
        parameter, the value and what is allowed: an unknown env id, env kwargs the env refuses, a count
        or budget out of range, a device this machine lacks (``"auto"`` becomes the one it has), or any
        hyperparameter of the wrong type, out of range, or not fitting the others or the env
        (:func:`~rl2_agent.hyperparams.check_hyperparams`; ``policy_kwargs`` the policy refuses).
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
    # data-parallel worker processes (rl2_agent.training.distributed); the global rollout and minibatch are the
    # same for any number of workers, so this changes the speed of a run, not what it learns from
    workers: int = 1

    def __post_init__(self) -> None:
        if self.env_id not in gym.registry:
            raise ValueError(f"unknown env id {self.env_id!r}; registered meta_envs ids: {sorted(meta_envs.ENV_IDS)}")
        # numpy scalars (a sweep over np.arange) as plain Python values: config.json must read back as given
        self.env_kwargs = plain(dict(self.env_kwargs))
        self.hyperparams = plain(dict(self.hyperparams))
        env = gym.make(self.env_id, **self.env_kwargs)  # validates env_kwargs now, with the env's own errors
        env.close()
        steps: Any = self.total_timesteps
        if isinstance(steps, float) and steps.is_integer():
            self.total_timesteps = int(steps)  # 2e6
        for name, minimum in (
            ("total_timesteps", 1),
            ("eval_trials", 1),
            ("threads", 1),
            ("seed", 0),
            ("eval_every", 0),
            ("checkpoint_every", 0),
            ("workers", 1),
        ):
            setattr(self, name, check_positive_int(name, getattr(self, name), minimum))
        for name in ("total_timesteps", "eval_every", "checkpoint_every"):
            check_int_range(name, getattr(self, name), 0, MAX_STEPS)
        check_int_range("seed", self.seed, 0, MAX_SEED, "numpy's seed range")
        self.device = check_device("device", self.device)
        self.max_seconds = check_non_negative_float("max_seconds", self.max_seconds)
        self.lr_anneal = check_fraction("lr_anneal", self.lr_anneal)
        self.hyperparams = get_hyperparams(self.env_id, self.hyperparams)
        hp = self.hyperparams
        check_hyperparams(hp)
        _check_policy_builds(hp, env)
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
        if self.workers > 1:  # each worker's share of the envs and of each minibatch must be whole
            from rl2_agent.training.distributed import split_hyperparams

            split_hyperparams(hp, self.workers)
        if not self.eval_every:
            self.eval_every = max(self.total_timesteps // 20, 1)

    def differs_from(self, saved: dict[str, Any]) -> list[str]:
        """The settings that define what a run learns (env id, env kwargs, seed, hyperparameters, learning-rate
        annealing) in which a run's saved ``config.json`` (``saved``) differs from this config, compared as they
        read back from JSON."""
        wanted = {
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seed": self.seed,
            "hyperparams": self.hyperparams,
            "lr_anneal": self.lr_anneal,
        }
        defaults = {"lr_anneal": 0.0}  # a config.json without the key was written without annealing
        return [k for k, v in wanted.items() if as_json(saved.get(k, defaults.get(k))) != as_json(v)]


def _check_policy_builds(hyperparams: dict[str, Any], env: gym.Env) -> None:
    """Raise ``ValueError`` unless the policy of ``hyperparams`` builds on ``env``'s spaces (with gSDE only
    for continuous actions): what :func:`~rl2_agent.hyperparams.check_hyperparams` cannot know without the
    env, and any value of ``policy_kwargs`` that the policy itself refuses, before training starts."""
    from stable_baselines3.common.utils import ConstantSchedule

    if hyperparams.get("use_sde") and not isinstance(env.action_space, gym.spaces.Box):
        raise ValueError(f"use_sde=True needs continuous (Box) actions; this env's actions are {env.action_space}")
    kwargs = resolve_policy_kwargs(hyperparams)["policy_kwargs"]
    try:  # neither the learning rate nor the initialisation (checked a bool) changes whether the policy builds
        policy_class(hyperparams["policy"])(
            env.observation_space,
            env.action_space,
            ConstantSchedule(1e-3),
            use_sde=bool(hyperparams.get("use_sde")),
            **{**kwargs, "ortho_init": False},
        )
    except (TypeError, ValueError, AssertionError, RuntimeError) as err:
        message = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(
            f"policy_kwargs {kwargs}: {hyperparams['policy'].rsplit('.', 1)[-1]} refuses them: {message}"
        ) from err


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
    for key in ("n_envs", "n_steps", "batch_size"):  # the rest is checked with the config
        check_positive_int(key, default[key])
    minibatches = max(1, round(int(default["n_envs"]) * int(default["n_steps"]) / int(default["batch_size"])))
    batch_size = max(1, n_envs * int(default["n_steps"]) // minibatches)
    if batch_size != default["batch_size"]:
        logger.info(
            "--n-envs %d: batch_size %d (%d minibatches per rollout, as the defaults)", n_envs, batch_size, minibatches
        )
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

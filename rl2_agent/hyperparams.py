"""Default RecurrentPPO + RL2GRUPolicy hyperparameters per env id: the ONE source of truth.

``rl2 train`` reads them, and ``zoo_configs/ppo_lstm.yml`` is generated from them
(``python -m rl2_agent.zoo.config``; a test checks that the file agrees). Keys are those of RL Zoo's
yaml files: ``n_envs``, ``policy``, ``policy_kwargs`` and the ``RecurrentPPO`` constructor
arguments.

Why each default is what it is, with the measurement behind it: docs/training.md ("Why these defaults").
"""

from __future__ import annotations

import copy
from typing import Any

from stable_baselines3.common.utils import LinearSchedule

POLICY = "rl2_agent.policies.RL2GRUPolicy"

#: Training budget defaults of ``rl2 train``: steps when no budget is given; with a wall-clock budget
#: (``--max-minutes``, ``scaling --train-minutes``) and no step count, a step cap that is never reached
#: and the steps between evaluations on the validation tasks.
DEFAULT_TIMESTEPS = 1_000_000
TIME_BUDGET_STEP_CAP = 1_000_000_000
TIME_BUDGET_EVAL_EVERY = 500_000

# Settings shared by every id unless overridden below.
_COMMON: dict[str, Any] = {
    "policy": POLICY,
    "n_envs": 64,
    "n_steps": 100,
    "batch_size": 1600,
    "n_epochs": 4,
    "learning_rate": 1e-3,
    "gamma": 0.99,
    "gae_lambda": 0.3,  # the RL^2 paper's value for bandits and MDPs; ahead of 0.95 on (5, 10) bandits
    "clip_range": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
    # SB3 clips the GLOBAL norm of actor + critic gradients: with trial returns of 30-150 the critic's
    # gradient dominates it and 0.5 starves the actor. 10 only catches outliers (docs/training.md).
    "max_grad_norm": 10.0,
    "normalize_advantage": True,
    "policy_kwargs": {"gru_hidden_size": 128},  # the paper's 256 ran at half the speed, no better in an hour
}

# Per-id overrides of _COMMON.
# Reward scaling for the learner (SB3's VecNormalize, rewards only: the agent's observation keeps the raw
# previous reward) keeps the critic's targets of order 1. Without it the critic of long bandit trials
# saturates and outputs one constant, and large MDP / gridworld returns starve the actor (docs/training.md).
REWARD_SCALING: dict[str, Any] = {"normalize": {"norm_obs": False, "norm_reward": True}}

_PER_ENV: dict[str, dict[str, Any]] = {
    # No advantage normalisation: with reward scaling the advantages are already of order 1, and normalising
    # them per minibatch collapsed 500-pull trials to one arm. 100-pull runs gain from it with time inputs
    # (the recipe in docs/training.md), so it is an override there, not a default.
    # 320 envs x 20-step rollouts (the same 6400 steps and 1600-step minibatches as 64 x 100): 80 sequences per
    # GRU call instead of 16, about 1.5x the steps per second, no loss per step found; 20 divides the 10-, 100-
    # and 500-pull trials (docs/training.md).
    "RL2Bandit-v0": {"n_envs": 320, "n_steps": 20, **REWARD_SCALING, "normalize_advantage": False},
    # 256 envs and minibatches of 6400 steps (64 whole trials): twice the steps per second of 64 envs and 1600
    # and no less learning per step. ent_coef=0.05 learns faster but no higher: an override for runs of under an
    # hour, as learning_rate="lin_1e-3" is for the end of long ones (docs/training.md).
    "RL2TabularMDP-v0": {"n_envs": 256, "batch_size": 6400, **REWARD_SCALING},
    # Navigation (RL^2 section 3.3): the paper's gamma 0.99 and GAE lambda 0.99, and its GRU of 256 units for
    # the first-person maze, whose CNN gets fewer envs and a smaller learning rate. Not tuned. Rollouts of 256
    # steps (about one small-maze episode): 128-step ones trained faster but the agent replayed episode 1
    # instead of using it (docs/training.md).
    "RL2GridNav-v0": {"n_envs": 32, "n_steps": 256, "batch_size": 2048, "gamma": 0.99, "gae_lambda": 0.99},
    "RL2Maze-v0": {
        "n_envs": 16,
        "n_steps": 256,
        "batch_size": 1024,
        "learning_rate": 3e-4,
        "gamma": 0.99,
        "gae_lambda": 0.99,
        "policy_kwargs": {"gru_hidden_size": 256},
    },
    # One rollout = one whole trial (3 episodes of 100 steps); returns of order 100: reward scaling.
    "RL2PointNav-v0": {
        "n_envs": 32, "n_steps": 300, "batch_size": 2400, "gamma": 0.99, "gae_lambda": 0.99, **REWARD_SCALING,
    },
    # The RL^3 gridworlds: standing still (-1 per step) is a local optimum that ent_coef 0.01 and lambda 0.99
    # settled in; ent_coef 0.05 keeps the agents exploring and lambda 0.95 beat 0.99. Once they move,
    # resuming with ent_coef=0.01 is better (docs/training.md).
    "RL2GridWorld-v0": {"ent_coef": 0.05, "gae_lambda": 0.95, **REWARD_SCALING},
}

#: RL^3 id -> its RL^2 twin (same task family and kwargs, see meta_envs.value_augment).
RL3_TWINS: dict[str, str] = {
    "RL3Bandit-v0": "RL2Bandit-v0",
    "RL3TabularMDP-v0": "RL2TabularMDP-v0",
    "RL3GridWorld-v0": "RL2GridWorld-v0",
}

# RL^3 ids get exactly their RL^2 twin's settings, so that an RL^2 / RL^3 comparison differs only
# in the inputs (python -m rl2_agent.experiments.rl3_vs_rl2 also passes the RL^2 id's settings to both).
_PER_ENV.update({rl3: _PER_ENV[rl2] for rl3, rl2 in RL3_TWINS.items()})


def known_env_ids() -> list[str]:
    """Ids that have tuned defaults."""
    return list(_PER_ENV)


def get_hyperparams(env_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Defaults for ``env_id`` (a deep copy), with ``overrides`` applied.

    ``overrides`` keys are the same as the returned dict's; ``policy_kwargs`` is merged key by key
    (and dropped when ``policy`` is overridden with another policy, e.g. ``"MlpLstmPolicy"``).
    Ids without tuned defaults get the common settings.
    """
    params = copy.deepcopy(_COMMON)
    for key, value in copy.deepcopy(_PER_ENV.get(env_id, {})).items():
        if key == "policy_kwargs":
            params["policy_kwargs"].update(value)
        else:
            params[key] = value
    overrides = dict(overrides or {})
    if isinstance(overrides.get("policy"), type):  # a class: its dotted path (the same policy as the default's string)
        overrides["policy"] = f"{overrides['policy'].__module__}.{overrides['policy'].__qualname__}"
    if overrides.get("policy", POLICY) != POLICY:
        params["policy_kwargs"] = {}  # the default policy_kwargs belong to RL2GRUPolicy
    for key, value in overrides.items():
        if key == "device":
            raise ValueError("device is not a hyperparameter here: give it to TrainConfig(device=...) (rl2 train trains on the CPU)")
        if key not in params and key not in RECURRENT_PPO_KEYS:
            raise ValueError(f"unknown hyperparameter {key!r}; allowed: {sorted(set(params) | RECURRENT_PPO_KEYS)}")
        if key == "policy_kwargs" and isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key].update(value)
        else:
            params[key] = value
    return params


#: Settings that may be a schedule. RL Zoo's convention: ``"lin_<value>"`` decays linearly from ``value`` at the
#: start of training to 0 at ``total_timesteps`` (SB3's ``progress_remaining`` from 1 to 0).
SCHEDULE_KEYS = ("learning_rate", "clip_range")
_SCHEDULE_PREFIX = "lin_"


def resolve_schedules(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with RL Zoo's ``"lin_<value>"`` strings turned into SB3 schedules.

    ``learning_rate`` and ``clip_range`` may be a positive number or ``"lin_<positive number>"``
    (``"lin_1e-3"``: 1e-3 at the start, 0 at the end). Configs and ``config.json`` keep the strings;
    models get :class:`stable_baselines3.common.utils.LinearSchedule` objects (they pickle with the model).

    :raises ValueError: naming the key and the allowed forms, for any other value.
    """
    out = dict(params)
    for key in SCHEDULE_KEYS:
        if key not in out or out[key] is None:
            continue
        value = out[key]
        start = value
        if isinstance(value, str) and value.startswith(_SCHEDULE_PREFIX):
            try:
                start = float(value[len(_SCHEDULE_PREFIX) :])
            except ValueError:
                start = None
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not start > 0:
            raise ValueError(
                f"{key} must be a positive number or 'lin_<positive number>' (RL Zoo's linear schedule to 0, "
                f"e.g. 'lin_1e-3'), got {value!r}"
            )
        out[key] = LinearSchedule(float(start), 0.0, 1.0) if isinstance(value, str) else value
    return out


def is_schedule(value: Any) -> bool:
    """Whether ``value`` is a ``"lin_<value>"`` schedule string (see :func:`resolve_schedules`)."""
    return isinstance(value, str) and value.startswith(_SCHEDULE_PREFIX)


# Every RecurrentPPO constructor argument that may appear in the defaults or overrides.
RECURRENT_PPO_KEYS = {
    "policy",
    "normalize",
    "n_envs",
    "learning_rate",
    "n_steps",
    "batch_size",
    "n_epochs",
    "gamma",
    "gae_lambda",
    "clip_range",
    "clip_range_vf",
    "normalize_advantage",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "use_sde",
    "sde_sample_freq",
    "target_kl",
    "stats_window_size",
    "policy_kwargs",
}

"""Default RecurrentPPO + RL2GRUPolicy hyperparameters per env id: the ONE source of truth.

``rl2 train`` reads them, and ``zoo_configs/ppo_lstm.yml`` is generated from them
(``python -m rl2_agent.zoo.config``; a test checks that the file agrees). Keys are those of RL Zoo's
yaml files: ``n_envs``, ``policy``, ``policy_kwargs`` and the ``RecurrentPPO`` constructor
arguments.

Why each default is what it is, with the measurement behind it: docs/training.md ("Why these defaults").
"""

from __future__ import annotations

import copy
import inspect
import math
from typing import Any

import torch as th
from stable_baselines3.common.utils import LinearSchedule

from meta_envs.validation import check_bool, check_positive_int

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
        "n_envs": 32,
        "n_steps": 300,
        "batch_size": 2400,
        "gamma": 0.99,
        "gae_lambda": 0.99,
        **REWARD_SCALING,
    },
    # The RL^3 gridworlds: standing still (-1 per step) is a local optimum that ent_coef 0.01 and lambda 0.99
    # settled in; ent_coef 0.05 keeps the agents exploring and lambda 0.95 beat 0.99. Once they move,
    # resuming with ent_coef=0.01 is better (docs/training.md).
    "RL2GridWorld-v0": {"ent_coef": 0.05, "gae_lambda": 0.95, **REWARD_SCALING},
    # MuJoCo locomotion and Meta-World (continuous torques): the usual PPO settings of these robots (learning rate
    # 3e-4, lambda 0.95, no entropy bonus on a Gaussian policy), one whole trial per env and rollout, reward scaling.
    # Not tuned: docs/results.md has the short runs that show them learning.
    **dict.fromkeys(
        ("RL2HalfCheetahVel-v0", "RL2HalfCheetahDir-v0", "RL2AntDir-v0", "RL2AntGoal-v0"),
        {
            "n_envs": 16,
            "n_steps": 400,
            "batch_size": 1600,
            "learning_rate": 3e-4,
            "gae_lambda": 0.95,
            "ent_coef": 0.0,
            **REWARD_SCALING,
        },
    ),
    "RL2MetaWorld-v0": {
        "n_envs": 8,
        "n_steps": 500,
        "batch_size": 2000,
        "learning_rate": 3e-4,
        "gae_lambda": 0.95,
        "ent_coef": 0.0,
        **REWARD_SCALING,
    },
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
    if isinstance(overrides.get("policy_kwargs"), dict) and "optimizer_class" in overrides["policy_kwargs"]:
        # config.json records the optimizer by name ("AdamW"); the model gets the class (resolve_policy_kwargs)
        kwargs = overrides["policy_kwargs"] = dict(overrides["policy_kwargs"])
        kwargs["optimizer_class"] = optimizer_name(kwargs["optimizer_class"])
    for key, value in overrides.items():
        if key == "device":
            raise ValueError(
                "device is not a hyperparameter here: give it to TrainConfig(device=...) (rl2 train trains on the CPU)"
            )
        if key not in params and key not in RECURRENT_PPO_KEYS:
            raise ValueError(f"unknown hyperparameter {key!r}; allowed: {sorted(set(params) | RECURRENT_PPO_KEYS)}")
        if key == "policy_kwargs" and isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key].update(value)
        else:
            params[key] = value
    return params


#: ``policy_kwargs.optimizer_class`` by name: configs and ``config.json`` hold the name, models the class.
OPTIMIZERS: dict[str, type[th.optim.Optimizer]] = {"Adam": th.optim.Adam, "AdamW": th.optim.AdamW}


def optimizer_name(value: Any) -> str:
    """The name in :data:`OPTIMIZERS` of ``value``, an optimizer name or class.

    :raises ValueError: naming ``optimizer_class`` and the allowed names, for anything else.
    """
    for name, cls in OPTIMIZERS.items():
        if value == name or value is cls:
            return name
    raise ValueError(f"policy_kwargs.optimizer_class must be one of {sorted(OPTIMIZERS)}, got {value!r}")


def resolve_policy_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` whose ``policy_kwargs.optimizer_class``, a name of :data:`OPTIMIZERS`, is the torch class.

    :raises ValueError: for an unknown optimizer name (see :func:`optimizer_name`).
    """
    kwargs = params.get("policy_kwargs")
    if not isinstance(kwargs, dict) or "optimizer_class" not in kwargs:
        return dict(params)
    return {**params, "policy_kwargs": {**kwargs, "optimizer_class": OPTIMIZERS[optimizer_name(kwargs["optimizer_class"])]}}


#: Settings that may be a schedule. RL Zoo's convention: ``"lin_<value>"`` decays linearly from ``value`` at the
#: start of training to 0 at ``total_timesteps`` (SB3's ``progress_remaining`` from 1 to 0).
SCHEDULE_KEYS = ("learning_rate", "clip_range", "clip_range_vf")
_SCHEDULE_PREFIX = "lin_"


def resolve_schedules(params: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with RL Zoo's ``"lin_<value>"`` strings turned into SB3 schedules.

    ``learning_rate`` (a number in (0, 1]), ``clip_range`` and ``clip_range_vf`` (finite numbers > 0) may
    be such a number or ``"lin_<number>"`` (``"lin_1e-3"``: 1e-3 at the start, 0 at the end). Configs and
    ``config.json`` keep the strings; models get :class:`stable_baselines3.common.utils.LinearSchedule` objects (they pickle with the model).

    :raises ValueError: naming the key and the allowed forms, for any other value.
    """
    out = dict(params)
    for key in SCHEDULE_KEYS:
        if key not in out or out[key] is None:
            continue
        start = _schedule_start(key, out[key])
        out[key] = LinearSchedule(start, 0.0, 1.0) if isinstance(out[key], str) else out[key]
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


# ----------------------------------------------------------------------------- the check of every key
#: The one reward-scaling setting allowed besides none (``False``): rewards only, so that agents and
#: evaluations read raw trial observations.
REWARD_SCALING_ONLY = REWARD_SCALING["normalize"]

# key -> the least value, for the integer settings
_INTS = {"n_envs": 1, "n_steps": 1, "batch_size": 1, "n_epochs": 1, "stats_window_size": 1, "sde_sample_freq": -1}
# key -> (least, greatest, least excluded), for the number settings; learning rates above 1 are typing slips
# (3e4 for 3e-4) that Adam would follow off a cliff
_NUMBERS = {
    "gamma": (0.0, 1.0, True),
    "gae_lambda": (0.0, 1.0, True),
    "ent_coef": (0.0, float("inf"), False),
    "vf_coef": (0.0, float("inf"), False),
    "max_grad_norm": (0.0, float("inf"), True),  # a norm <= 0 flips or zeroes every gradient
}
_SCHEDULE_RANGES = {"learning_rate": 1.0, "clip_range": float("inf"), "clip_range_vf": float("inf")}
_BOOLS = ("normalize_advantage", "use_sde")
# RecurrentPPO passes these to the policy itself (use_sde from its own setting)
_POLICY_ARGS_NOT_KWARGS = ("observation_space", "action_space", "lr_schedule", "use_sde")
_POLICY_INTS = ("gru_hidden_size", "n_gru_layers", "lstm_hidden_size", "n_lstm_layers")
_POLICY_BOOLS = (
    "ortho_init",
    "full_std",
    "use_expln",
    "squash_output",
    "share_features_extractor",
    "normalize_images",
    "shared_lstm",
    "enable_critic_lstm",
    "gru_layer_norm",
)
_POLICY_DICTS = ("features_extractor_kwargs", "optimizer_kwargs", "lstm_kwargs")


def _number_text(low: float, high: float, open_low: bool) -> str:
    if high == float("inf"):
        return f"a finite number {'>' if open_low else '>='} {low:g}"
    return f"a number in {'(' if open_low else '['}{low:g}, {high:g}]"


def _check_number(key: str, value: Any, low: float, high: float, open_low: bool) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (value > low if open_low else value >= low) or value > high:
        raise ValueError(f"{key} must be {_number_text(low, high, open_low)}, got {value!r}")
    return float(value)


def _schedule_start(key: str, value: Any) -> float:
    """The value at the start of training of ``key``: a number in range, or ``"lin_<number in range>"``."""
    high = _SCHEDULE_RANGES[key]
    start = value
    if is_schedule(value):
        try:
            start = float(value[len(_SCHEDULE_PREFIX) :])
        except ValueError:
            start = None
    try:
        return _check_number(key, start, 0.0, high, True)
    except ValueError:
        number = _number_text(0.0, high, True)
        raise ValueError(
            f"{key} must be {number} or 'lin_<{number}>' (RL Zoo's linear schedule to 0, e.g. 'lin_1e-3'), got {value!r}"
        ) from None


def policy_class(policy: str) -> type:
    """The class that ``policy`` (the ``policy`` hyperparameter: :data:`POLICY` or an sb3-contrib alias) names."""
    from sb3_contrib import RecurrentPPO

    if policy == POLICY:
        from rl2_agent.policies import RL2GRUPolicy

        return RL2GRUPolicy
    return RecurrentPPO.policy_aliases[policy]


def _keyword_names(fn: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """The names of ``fn``'s parameters that a caller may pass by keyword (``skip`` left out)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [n for n, p in inspect.signature(fn).parameters.items() if p.kind in kinds and n not in skip]


def _check_class(key: str, value: Any, base: type, example: str) -> None:
    if not (isinstance(value, type) and issubclass(value, base)):
        raise ValueError(
            f"{key} must be a subclass of {base.__module__}.{base.__qualname__} (given from Python, e.g. "
            f"{example}), got {value!r}"
        )


def check_policy_kwargs(policy: str, kwargs: Any) -> None:
    """Raise ``ValueError`` naming the key (``policy_kwargs.<key>``) and what is allowed, unless ``kwargs`` are
    keyword arguments that ``policy`` takes (:class:`~rl2_agent.policies.RL2GRUPolicy`'s signature, or that of
    SB3's recurrent policies for an alias such as ``"MlpLstmPolicy"``), with values of the right kind."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    if not isinstance(kwargs, dict):
        raise ValueError(
            f"policy_kwargs must be a dict of the policy's keyword arguments (policy_kwargs.KEY=VALUE on "
            f"the command line), got {kwargs!r}"
        )
    cls = policy_class(policy)
    allowed = _keyword_names(cls, _POLICY_ARGS_NOT_KWARGS)
    unknown = sorted(set(kwargs) - set(allowed))
    if policy == POLICY:  # RL2GRUPolicy takes its parent's LSTM kwargs only with the values its GRUs imply
        from rl2_agent.policies import RL2GRUPolicy

        lstm_keys = ("shared_lstm", "enable_critic_lstm", "lstm_hidden_size", "n_lstm_layers", "lstm_kwargs")
        lstm = {k: v for k, v in kwargs.items() if k in lstm_keys}
        RL2GRUPolicy._check_lstm_kwargs(lstm)
        unknown = [k for k in unknown if k not in lstm]
    if unknown:
        raise ValueError(f"unknown policy_kwargs key(s) {unknown} for {cls.__name__}; allowed: {sorted(allowed)}")
    for key, value in kwargs.items():
        name = f"policy_kwargs.{key}"
        if key in _POLICY_INTS:
            check_positive_int(name, value)
        elif key in _POLICY_BOOLS:
            check_bool(name, value)
        elif key in _POLICY_DICTS and value is not None and not isinstance(value, dict):
            raise ValueError(f"{name} must be a dict of keyword arguments or None, got {value!r}")
        elif key == "log_std_init":
            _check_number(name, value, -float("inf"), float("inf"), False)
        elif key == "net_arch":
            from rl2_agent.policies import RL2GRUPolicy

            try:  # the same forms for SB3's recurrent policies
                RL2GRUPolicy._check_net_arch(value)
            except ValueError as err:
                raise ValueError(f"policy_kwargs.{err}") from None
        elif key == "activation_fn":
            _check_class(name, value, th.nn.Module, "torch.nn.ReLU")
        elif key == "features_extractor_class":
            _check_class(name, value, BaseFeaturesExtractor, "stable_baselines3.common.torch_layers.FlattenExtractor")
        elif key == "optimizer_class":
            optimizer_name(value)


def check_hyperparams(params: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the key, the value and what is allowed, unless every hyperparameter of
    ``params`` (all of them, as :func:`get_hyperparams` returns them) has a value RecurrentPPO trains with
    as meant.

    Each key is checked for its type and range: counts are integers (``n_envs``, ``n_steps``,
    ``batch_size``, ``n_epochs`` >= 1), ``gamma`` and ``gae_lambda`` lie in (0, 1], ``ent_coef`` and
    ``vf_coef`` are finite numbers >= 0, ``max_grad_norm`` and ``target_kl`` finite numbers > 0,
    ``learning_rate`` a number in (0, 1] and ``clip_range`` / ``clip_range_vf`` one > 0 (or RL Zoo's
    ``"lin_<number>"``), the flags True or False, ``policy`` this package's policy or an SB3 alias,
    ``normalize`` False or reward scaling only, ``policy_kwargs`` those of :func:`check_policy_kwargs`;
    and they fit together: a minibatch is at most one rollout (``n_envs * n_steps``), and at least 2
    steps when advantages are normalised. Nothing here needs the env (see ``TrainConfig`` for what does).
    """
    from sb3_contrib import RecurrentPPO

    policy = params.get("policy", POLICY)
    aliases = sorted(RecurrentPPO.policy_aliases)
    if not isinstance(policy, str) or (policy != POLICY and policy not in aliases):
        raise ValueError(
            f"policy must be {POLICY!r} (the default, RL2GRUPolicy) or one of sb3-contrib's {aliases}, got {policy!r}"
        )
    normalize = params.get("normalize", False)
    if normalize is not False and normalize != REWARD_SCALING_ONLY:
        raise ValueError(
            f"normalize must be False or {REWARD_SCALING_ONLY} (reward scaling only: agents and evaluations read raw "
            f"trial observations), got {normalize!r}"
        )
    for key, minimum in _INTS.items():
        if key in params:
            check_positive_int(key, params[key], minimum)
    for key, (low, high, open_low) in _NUMBERS.items():
        if key in params:
            _check_number(key, params[key], low, high, open_low)
    for key in _SCHEDULE_RANGES:
        if key in params and not (key == "clip_range_vf" and params[key] is None):  # None: no value clipping
            _schedule_start(key, params[key])
    if params.get("target_kl") is not None:
        _check_number("target_kl", params["target_kl"], 0.0, float("inf"), True)
    for key in _BOOLS:
        if key in params:
            check_bool(key, params[key])
    check_policy_kwargs(policy, params.get("policy_kwargs", {}))
    rollout = int(params["n_envs"]) * int(params["n_steps"])
    if int(params["batch_size"]) > rollout:  # SB3 would silently use the whole rollout as one minibatch
        raise ValueError(
            f"batch_size ({params['batch_size']}) must be <= one rollout, n_envs * n_steps = {params['n_envs']} * "
            f"{params['n_steps']} = {rollout}; pass a smaller batch_size with --n-envs (e.g. --hyperparams "
            f"batch_size={max(rollout // 4, 1)})"
        )
    if params.get("normalize_advantage", True) and int(params["batch_size"]) < 2:  # the std of one advantage is 0
        raise ValueError(
            f"batch_size must be >= 2 with normalize_advantage=True (advantages are normalised per "
            f"minibatch), got {params['batch_size']}"
        )

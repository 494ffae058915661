"""Default RecurrentPPO + RL2GRUPolicy hyperparameters per env id: the ONE source of truth.

``rl2 train`` reads them, and ``zoo_configs/ppo_lstm.yml`` is generated from them
(``python -m rl2_agent.zoo_config``; a test checks that the file agrees). Keys are those of RL Zoo's
yaml files: ``n_envs``, ``policy``, ``policy_kwargs`` and the ``RecurrentPPO`` constructor
arguments.

How they were chosen is recorded in docs/results.md (time-to-quality runs on a 2-core CPU).
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
    "gae_lambda": 0.3,  # the RL^2 paper's value for bandits and MDPs
    "clip_range": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
    # Clipping is by the GLOBAL norm of actor + critic gradients: with trial returns of ~30-150
    # (100-pull bandits, MDPs) the critic's gradient dominates it and 0.5 starves the actor
    # (RL2Bandit k=5 n=100 stayed at the random level for 1.5M steps). 10 only catches outliers.
    "max_grad_norm": 10.0,
    "normalize_advantage": True,
    "policy_kwargs": {"gru_hidden_size": 128},
}

# Per-id overrides of _COMMON.
# Reward scaling for the learner (SB3's VecNormalize, rewards only: the agent's observation keeps the
# raw previous reward). It keeps the critic's targets of order 1. Without it:
# * the critic DIES on long trials: on RL2Bandit k=5 n=100 (returns-to-go 0..~45) the tanh layer of
#   the value MLP saturated (all 64 units at |x| > 0.99) within 200k steps while the critic's output
#   climbed to the mean return, and from then on it predicted one constant (34.05) for every state:
#   explained variance 0, so the advantages were myopic and the agent plateaued at 72-74, below
#   greedy. With scaling: explained variance 0.92 at 240k steps and 0.98-0.99 after.
# * trial returns of ~100 (MDPs) or +-100 rewards (gridworlds) make the critic's gradient dominate
#   the global gradient-norm clipping and starve the actor: without it RL2TabularMDP stayed at the
#   random level (100.1) for 1.5M steps; with it, 107.6 after 0.9M.
REWARD_SCALING: dict[str, Any] = {"normalize": {"norm_obs": False, "norm_reward": True}}

_PER_ENV: dict[str, dict[str, Any]] = {
    # With reward scaling the critic is alive and the advantages are already of order 1; normalising
    # them per minibatch as well blew up the Bernoulli noise of 500-pull trials: the policy collapsed to
    # one fixed arm within 0.5M steps (entropy 0.000, held-out 250.9 = random); without it, 361 after
    # 12 minutes. At n = 10 the two tie; at n = 100 normalisation ends 1.5-2 points better in three seeds
    # out of three (e.g. 76.4 vs 74.5 after 60-105 minutes), but one of them stalled at 61-64 for 8
    # minutes first (docs/results.md, sessions 5-6): pass normalize_advantage=True for that cell if you
    # accept the risk. Defaults are per id, and a collapse costs far more than 2 points.
    #
    # Rollouts of 20 steps from 320 envs instead of 100 steps from 64 (the same 6400 steps and 1600-step minibatches):
    # each GRU call then processes 80 sequences of 20 steps instead of 16 of 100 on 100-pull trials, 1.5-1.6x the
    # steps per second (31-35% of the matmul peak instead of 21%). Gradients flow back at most 20 steps (the state is
    # carried across rollouts); at n = 100 we found no loss per step against 100-step rollouts (one seed per layout,
    # session 10, docs/results.md). 20 divides the 10-, 100- and 500-pull trials, so n = 10 keeps whole trials per sequence.
    "RL2Bandit-v0": {"n_envs": 320, "n_steps": 20, **REWARD_SCALING, "normalize_advantage": False},
    # 256 envs and minibatches of 6400 steps (64 whole 100-step trials) instead of 64 and 1600: about the same score
    # per step and 2x the steps per second (each GRU call processes 64 sequences instead of 16): the old defaults'
    # score after 143 minutes (123.7) came after ~41, and 75 minutes scored 128.0 (two seeds, session 7,
    # docs/results.md). Bandits keep the smaller batch: at n = 100 the larger one reached the same 74 plateau, and
    # the 5-minute demo needs many small updates. Continued to 174 minutes (110M steps): 130.2 with this constant
    # learning rate, 131.5 with learning_rate="lin_1e-3" (+1.3 ± 0.7 paired, one seed; a schedule needs --timesteps).
    # ent_coef=0.05 learns faster (2-6 points ahead from 10 to 30 minutes, two seeds) but reached the same level by
    # 60 minutes (session 12): use it for runs of under an hour; untested on long runs and on the RL^3 twin, so not here.
    "RL2TabularMDP-v0": {"n_envs": 256, "batch_size": 6400, **REWARD_SCALING},
    # Navigation (RL^2 section 3.3): the paper's gamma 0.99 and GAE lambda 0.99, and its GRU of 256
    # units for the first-person maze. Rollouts of 256 steps are about one small-maze episode (250
    # steps; a trial is 2 episodes); the maze's CNN gets fewer envs and a smaller learning rate.
    # First guesses from the paper and the episode lengths, NOT tuned here. Probed on large grid mazes
    # (session 11, docs/results.md): 64 envs x 128 steps trains 1.7x faster to the same return but replays
    # episode 1 (0.8 steps saved in episode 2 against ~2 with 256-step sequences); ent_coef 0.05 fails
    # most 1000-step episodes. So the 256-step rollouts stay.
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
    # one rollout = one whole trial (3 episodes of 100 steps). Returns of an agent that reaches the goal
    # are ~90 per episode (sparse) or -100s (dense): reward scaling, as for the bandits and MDPs.
    "RL2PointNav-v0": {
        "n_envs": 32, "n_steps": 300, "batch_size": 2400, "gamma": 0.99, "gae_lambda": 0.99, **REWARD_SCALING,
    },
    # The RL^3 gridworlds: a +100 goal at >= 8 steps from the start, -1 per step, -2 / -10 / -100
    # tiles. Standing still (-250 on 11x11) is a local optimum: with ent_coef 0.01 and lambda 0.99
    # both RL^2 and RL^3 settled there within 1.5M steps. ent_coef 0.05 keeps them exploring;
    # lambda 0.95 beat 0.99 (held-out -256 vs -325 after 12 min, one seed each; docs/results.md).
    # But it also keeps the sampled policy near a random walk (entropy 1.34 of 1.61 nats after 106 min):
    # continuing with ent_coef=0.01 (rl2 train --resume --hyperparams ent_coef=0.01) gained 50-95 points in
    # 35 min (session 8). Untested from scratch, so not the default.
    "RL2GridWorld-v0": {"ent_coef": 0.05, "gae_lambda": 0.95, **REWARD_SCALING},
}

#: RL^3 id -> its RL^2 twin (same task family and kwargs, see meta_envs.value_augment).
RL3_TWINS: dict[str, str] = {
    "RL3Bandit-v0": "RL2Bandit-v0",
    "RL3TabularMDP-v0": "RL2TabularMDP-v0",
    "RL3GridWorld-v0": "RL2GridWorld-v0",
}

# RL^3 ids get exactly their RL^2 twin's settings, so that an RL^2 / RL^3 comparison differs only
# in the inputs (benchmarks/rl3_vs_rl2.py also passes the RL^2 id's settings to both).
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

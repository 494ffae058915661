"""RL Baselines3 Zoo hyperparameter sampler for RecurrentPPO + :class:`~rl2_agent.policies.RL2GRUPolicy`.

The Zoo's own ``ppo_lstm`` sampler (``rl_zoo3.hyperparams_opt.sample_ppo_lstm_params``) returns a
``policy_kwargs`` of MLP sizes and activation that replaces the yaml's ``policy_kwargs`` wholesale,
so it never tunes (and silently drops) ``gru_hidden_size``, and its ranges exclude the RL^2 values
(``gae_lambda`` >= 0.9). Importing this module replaces, in the importing process only, the
``"ppo_lstm"`` entries of the Zoo's two registries:

* ``rl_zoo3.hyperparams_opt.HYPERPARAMS_SAMPLER["ppo_lstm"]`` -> :func:`sample_rl2_params`
  (used by ``-optimize``; ``ExperimentManager.objective`` looks the sampler up by algo name in
  that very dict at each trial), and
* ``rl_zoo3.hyperparams_opt.HYPERPARAMS_CONVERTER["ppo_lstm"]`` -> :func:`convert_rl2_params`
  (used by ``--storage ... --study-name ... --trial-id N`` to train with a stored trial's values).

The Zoo imports every module named by ``--gym-packages`` before it builds its ``ExperimentManager``,
so the supported way to use it is::

    python -m rl_zoo3.train --algo ppo_lstm --env RL2Bandit-v0 \\
        --gym-packages meta_envs rl2_agent.zoo.sampler \\
        --conf-file zoo_configs/ppo_lstm.yml -optimize --n-trials 50 -n 200000

(the same mechanism as the Zoo's documented SBX integration, which updates ``rl_zoo3.ALGOS``).
The sampled ``policy_kwargs`` (``gru_hidden_size``) replace the yaml's ``policy_kwargs`` as with every
Zoo sampler, so other policy kwargs fall back to the RL2GRUPolicy defaults during the search.
Don't import this module when optimizing another ``ppo_lstm`` policy (e.g. ``MlpLstmPolicy``).
"""

from __future__ import annotations

from typing import Any

import optuna

#: Search space. It contains the defaults of rl2_agent.hyperparams (gae_lambda 0.3, GRU 128, n_steps 20 and 100, ...),
#: batch_size 1600 aside.
GRU_HIDDEN_SIZES = [32, 64, 128, 256]
N_STEPS = [16, 20, 32, 64, 100, 128, 256, 512]  # rollout length per env (a trial may span several rollouts)
BATCH_SIZES = [64, 128, 256, 512, 1024, 2048, 4096]  # > n_envs * n_steps means one minibatch per epoch
N_EPOCHS = [1, 2, 4, 8, 10]
CLIP_RANGES = [0.1, 0.2, 0.3]


def convert_rl2_params(sampled_params: dict[str, Any]) -> dict[str, Any]:
    """RecurrentPPO hyperparameters (yaml keys) from the raw parameters of a :func:`sample_rl2_params` trial.

    This is also the Zoo's converter for ``--trial-id`` (which passes ``study.trials[i].params``), so
    a stored trial trains with exactly the values it was scored with. ``sb3_contrib``'s recurrent
    rollout buffer accepts any ``batch_size``: one larger than ``n_envs * n_steps`` is one minibatch.
    """
    params = dict(sampled_params)
    hyperparams = {
        "n_steps": int(params.pop("n_steps")),
        "batch_size": int(params.pop("batch_size")),
        "n_epochs": int(params.pop("n_epochs")),
        "learning_rate": float(params.pop("learning_rate")),
        "gamma": 1.0 - float(params.pop("one_minus_gamma")),
        "gae_lambda": float(params.pop("gae_lambda")),
        "clip_range": float(params.pop("clip_range")),
        "ent_coef": float(params.pop("ent_coef")),
        "vf_coef": float(params.pop("vf_coef")),
        "max_grad_norm": float(params.pop("max_grad_norm")),
        "policy_kwargs": {"gru_hidden_size": int(params.pop("gru_hidden_size"))},
    }
    if params:
        raise ValueError(f"parameters not sampled by rl2_agent.zoo.sampler: {sorted(params)}")
    return hyperparams


def sample_rl2_params(trial: optuna.Trial, n_actions: int, n_envs: int, additional_args: dict) -> dict[str, Any]:
    """Sample RecurrentPPO + RL2GRUPolicy hyperparameters (the signature of the Zoo's samplers).

    The policy stays the yaml's (``rl2_agent.policies.RL2GRUPolicy``); ``policy_kwargs`` becomes
    ``{"gru_hidden_size": sampled}``. ``n_envs`` (the yaml's or ``-params n_envs:N``) is not sampled.
    """
    sampled = {
        "gru_hidden_size": trial.suggest_categorical("gru_hidden_size", GRU_HIDDEN_SIZES),
        "n_steps": trial.suggest_categorical("n_steps", N_STEPS),
        "batch_size": trial.suggest_categorical("batch_size", BATCH_SIZES),
        "n_epochs": trial.suggest_categorical("n_epochs", N_EPOCHS),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 3e-3, log=True),
        "one_minus_gamma": trial.suggest_float("one_minus_gamma", 1e-3, 0.1, log=True),
        "gae_lambda": trial.suggest_float("gae_lambda", 0.1, 1.0),
        "clip_range": trial.suggest_categorical("clip_range", CLIP_RANGES),
        "ent_coef": trial.suggest_float("ent_coef", 1e-5, 0.05, log=True),
        "vf_coef": trial.suggest_float("vf_coef", 0.25, 1.0),
        "max_grad_norm": trial.suggest_float("max_grad_norm", 0.3, 2.0),
    }
    hyperparams = convert_rl2_params(sampled)
    # Display the true values (the Zoo prints the best trial's user attributes)
    trial.set_user_attr("gamma", hyperparams["gamma"])
    trial.set_user_attr("minibatches_per_epoch", -(-n_envs * hyperparams["n_steps"] // hyperparams["batch_size"]))
    return hyperparams


def install() -> None:
    """Register :func:`sample_rl2_params` / :func:`convert_rl2_params` as the Zoo's ``ppo_lstm`` entries."""
    from rl_zoo3 import hyperparams_opt

    hyperparams_opt.HYPERPARAMS_SAMPLER["ppo_lstm"] = sample_rl2_params
    hyperparams_opt.HYPERPARAMS_CONVERTER["ppo_lstm"] = convert_rl2_params


install()

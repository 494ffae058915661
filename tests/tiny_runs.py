"""The tiny training runs of the test suite: seconds of training on a 3-armed, 5-pull bandit."""

from __future__ import annotations

from pathlib import Path

#: Settings small enough that a run trains in seconds (``--hyperparams`` items).
TINY = ["n_steps=16", "batch_size=64", "n_epochs=2", "policy_kwargs.gru_hidden_size=16"]


def tiny_train_args(
    out: Path,
    timesteps: int = 1024,
    *extra: str,
    eval_trials: int = 20,
    eval_every: int = 512,
    hyperparams: list[str] | None = None,
) -> list[str]:
    """The ``rl2 train`` arguments (from the subcommand on) of a tiny run into ``out``; ``extra`` go last."""
    return [
        "train",
        "--env",
        "RL2Bandit-v0",
        "--env-kwargs",
        "num_arms=3",
        "episodes_per_trial=5",
        "--timesteps",
        str(timesteps),
        "--n-envs",
        "8",
        "--hyperparams",
        *(TINY if hyperparams is None else hyperparams),
        "--eval-trials",
        str(eval_trials),
        "--eval-every",
        str(eval_every),
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]

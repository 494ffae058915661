"""``rl2 train``: the command line of :func:`rl2_agent.training.loop.train`.

::

    python -m rl2_agent train --env RL2Bandit-v0 --env-kwargs num_arms=5 episodes_per_trial=10 \\
        --timesteps 2e6 --seed 0 --out runs/x [--n-envs 32] [--hyperparams learning_rate=3e-4] [--resume]

A new run refuses a folder that already holds a run (``--resume`` continues it, ``--overwrite``
replaces it), so that no trained model is lost by a repeated command. What the folder holds:
:mod:`rl2_agent.training.run_folder`. The evaluations during training play the validation tasks,
never the held-out test tasks of ``rl2 evaluate`` and ``rl2 table`` (:mod:`rl2_agent.evaluation.seeds`),
so choosing ``best_model.zip`` does not bias its test score.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rl2_agent.arguments import check_non_negative_float, device, non_negative_int, parse_kwargs, positive_int, step_count
from rl2_agent.hyperparams import DEFAULT_TIMESTEPS, TIME_BUDGET_EVAL_EVERY, TIME_BUDGET_STEP_CAP
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig, with_n_envs

__all__ = ["add_arguments", "config_from_args", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", default=None, help="env id, e.g. RL2Bandit-v0 (required, except with --resume of a run in --out: the run's)"
    )
    parser.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE", help="env kwargs, e.g. num_arms=5")
    parser.add_argument(
        "--timesteps",
        type=step_count(1),
        default=None,
        help="total environment steps, e.g. 2e6 (default: 1e6; with --max-minutes, a cap of "
        f"{TIME_BUDGET_STEP_CAP:,} so that the time limit ends training)",
    )
    parser.add_argument(
        "--n-envs",
        type=positive_int,
        default=None,
        help="parallel trials (default: per-env default); batch_size scales with it unless given in "
        "--hyperparams, keeping the defaults' number of minibatches per rollout",
    )
    parser.add_argument("--seed", type=non_negative_int, default=None, help="training seed (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default runs/<env>-s<seed>)")
    parser.add_argument(
        "--hyperparams",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override defaults, e.g. learning_rate=3e-4 policy_kwargs.gru_hidden_size=256",
    )
    parser.add_argument(
        "--eval-every",
        type=step_count(0),
        default=None,
        help="steps between evaluations on validation tasks (0: 20 per run; with --max-minutes and no "
        f"--timesteps, every {TIME_BUDGET_EVAL_EVERY:,})",
    )
    parser.add_argument(
        "--eval-trials",
        type=positive_int,
        default=None,
        help="validation trials per evaluation (default 500; held out of training, not the test tasks of rl2 evaluate)",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=step_count(0),
        default=None,
        help="steps between checkpoints (0, the default: at evaluations)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        help="stop training after this much wall-clock time, evaluations excluded, earlier sessions of "
        "a resumed run included (0: none)",
    )
    parser.add_argument(
        "--lr-anneal",
        type=float,
        default=None,
        metavar="FRACTION",
        help="decay the learning rate linearly to 0 over this final fraction of the budget (--max-minutes "
        "or --timesteps, whichever ends the run), e.g. 0.3; default 0: constant",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue from the output folder's checkpoint, with its saved settings (env kwargs, seed, "
        "budgets, evaluations) unless given again; --hyperparams may change the PPO ones, e.g. "
        "learning_rate=3e-4 batch_size=6400; a larger --max-minutes or --timesteps trains further",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the training run already in the output folder (default: refuse)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads (1 is fastest for small GRUs)")
    parser.add_argument(
        "--device",
        type=device,
        default="cpu",
        help="torch device: cpu (the default, fastest for these small GRUs), cuda, cuda:N, mps, or auto "
        "(cuda if this machine has it, else cpu)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="data-parallel worker processes on this machine (default 1; a resumed run: its own count); "
        "n_envs and batch_size are the global ones and must be divisible by it. Under torchrun, "
        "leave it out: torchrun starts the workers",
    )


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of the ``train`` CLI arguments.

    With ``--resume`` and a run in the output folder, every setting not given on the command line
    is the run's saved one (its hyperparameters updated by ``--hyperparams``), not today's default.
    """
    if args.max_minutes is not None:
        check_non_negative_float("--max-minutes", args.max_minutes)
    hyper = parse_kwargs(args.hyperparams)
    env_id = args.env
    if env_id is None:
        if not (args.resume and args.out and (Path(args.out) / run_folder.CONFIG_FILE).exists()):
            raise ValueError(
                "--env is required (an env id, e.g. RL2Bandit-v0), except with --resume --out <a run folder>, "
                "which continues that run's env"
            )
        env_id = run_folder.read_config(args.out)["env_id"]
    out = args.out or f"runs/{env_id}-s{0 if args.seed is None else args.seed}"
    run_folder.check_folder_path(out, "--out")
    given = {
        "env_kwargs": None if args.env_kwargs is None else parse_kwargs(args.env_kwargs),
        "seed": args.seed,
        "total_timesteps": None if args.timesteps is None else int(args.timesteps),
        "eval_every": None if args.eval_every is None else int(args.eval_every),
        "eval_trials": args.eval_trials,
        "checkpoint_every": None if args.checkpoint_every is None else int(args.checkpoint_every),
        "max_seconds": None if args.max_minutes is None else 60.0 * args.max_minutes,
        "lr_anneal": args.lr_anneal,
        "workers": args.workers,
    }
    if args.resume and (Path(out) / run_folder.CONFIG_FILE).exists():
        saved = run_folder.read_config(out, to_resume=True)
        for key, value in given.items():
            if value is None:
                given[key] = saved.get(key)  # a run folder without a setting: its default
        if isinstance(hyper.get("policy_kwargs"), dict):
            hyper["policy_kwargs"] = {**saved["hyperparams"].get("policy_kwargs", {}), **hyper["policy_kwargs"]}
        hyper = {**saved["hyperparams"], **hyper}
    if args.n_envs is not None:  # after a resume's saved settings, whose batch_size it keeps
        hyper = with_n_envs(env_id, hyper, args.n_envs)
    max_seconds = given["max_seconds"] or 0.0
    if given["total_timesteps"] is None:  # a time-limited run is limited by its time, not by the default step count
        given["total_timesteps"] = TIME_BUDGET_STEP_CAP if max_seconds else DEFAULT_TIMESTEPS
        if max_seconds and not given["eval_every"]:
            given["eval_every"] = TIME_BUDGET_EVAL_EVERY
    return TrainConfig(
        env_id=env_id,
        env_kwargs=given["env_kwargs"] or {},
        total_timesteps=given["total_timesteps"],
        seed=given["seed"] or 0,
        out=out,
        hyperparams=hyper,
        eval_every=given["eval_every"] or 0,
        eval_trials=500 if given["eval_trials"] is None else given["eval_trials"],
        checkpoint_every=given["checkpoint_every"] or 0,
        max_seconds=max_seconds,
        lr_anneal=given["lr_anneal"] or 0.0,
        threads=args.threads,
        device=args.device,
        workers=given["workers"] or 1,
    )


def run(args: argparse.Namespace) -> int:
    from rl2_agent.training.loop import train

    config = config_from_args(args)
    try:
        model = train(config, resume=args.resume, progress=not args.no_progress, overwrite=args.overwrite)
    except KeyboardInterrupt:
        return 130
    if model is None:  # a torchrun worker other than 0: worker 0 reports
        return 0
    print(
        f"model: {Path(config.out) / run_folder.MODEL_FILE} (best validation score: {run_folder.BEST_MODEL_FILE})   "
        f"evaluate: python -m rl2_agent evaluate {config.out} --trials 1000 [--model best]"
    )
    return 0

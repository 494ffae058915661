"""``rl2 evaluate``: score a trained run on held-out trials.

::

    python -m rl2_agent evaluate runs/x --trials 1000 [--deterministic] [--seed 1000000] [--model best]
    python -m rl2_agent evaluate runs/x --video 2 [--video-format gif] [--video-dir runs/x/videos]
    python -m rl2_agent evaluate runs/x --random      # and uniformly random actions on the same trials

prints the mean trial return +- standard error and the mean return per episode index within
the trial (the signature of fast adaptation), and, for envs whose step info reports ``"success"``
(Meta-World), the success rate per episode index and of the trial's last episode
(:mod:`rl2_agent.evaluation.success`); and writes ``eval.json`` and ``eval.png`` in the
run folder (``best_eval.json`` and ``best_eval.png`` for ``--model best``). The trials are the
held-out test tasks of :data:`~rl2_agent.evaluation.seeds.EVAL_SEED`, which no training or model
selection sees. ``--random`` also plays uniformly random actions on the same trials (:func:`evaluate_random`) and
prints the paired difference, trial by trial: whether the agent learned anything. ``--video N`` also films the first N of them, played by the same agent
(:func:`rl2_agent.evaluation.film.film_trials`): one video per trial, named by its task seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from meta_envs.validation import check_positive_int
from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.arguments import non_negative_int, parse_kwargs, run_command
from rl2_agent.evaluation.film import VIDEO_FORMATS, FilmedTrial, check_video_writer, film_trials
from rl2_agent.evaluation.runner import TrialResults, format_results, run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, check_held_out_args
from rl2_agent.evaluation.success import SUCCESS_INFO_KEYS, reports_success
from rl2_agent.training import run_folder

logger = logging.getLogger(__name__)

__all__ = ["evaluate_random", "evaluate_run", "film_run", "load_run"]


def load_run(run_dir: str | Path, which: str = "final") -> tuple[Any, dict[str, Any]]:
    """A model of a training run folder (``which``: ``"final"`` or ``"best"``, see
    :func:`rl2_agent.training.run_folder.load_model`) and the run's config."""
    config = run_folder.read_config(run_dir)
    return run_folder.load_model(run_dir, which=which), config


def evaluate_run(
    run_dir: str | Path,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    deterministic: bool = False,
    record: bool = False,
    which: str = "final",
) -> TrialResults:
    """Evaluate a saved run on held-out trials (by default on the env it was trained on).

    ``env_kwargs`` override the run's own (e.g. ``{"arm_prior": "normal"}`` for the OOD test keeps
    the trained ``num_arms`` and ``episodes_per_trial``). ``which`` picks the model: ``"final"`` or
    ``"best"`` (see :func:`load_run`). For an env whose step info reports ``"success"`` (Meta-World; read
    from one step of one env) the results also hold the success rates (``results.success()``).
    """
    agent, env_id, env_kwargs = _run_agent(run_dir, env_id, env_kwargs, deterministic, which)
    info_keys = SUCCESS_INFO_KEYS if reports_success(env_id, env_kwargs) else ()
    return run_trials(agent, env_id, env_kwargs, n_trials, seed, record=record, info_keys=info_keys)


def film_run(
    run_dir: str | Path,
    n_videos: int,
    video_dir: str | Path | None = None,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    seed: int = EVAL_SEED,
    deterministic: bool = False,
    which: str = "final",
    video_format: str = "mp4",
) -> list[FilmedTrial]:
    """Film a saved run on its first ``n_videos`` held-out trials (those :func:`evaluate_run` scores first).

    The agent is the one :func:`evaluate_run` plays (same action sampling, recurrent state reset at
    trial starts only), in the run's env (``env_id``, ``env_kwargs``: as :func:`evaluate_run`) made with
    ``render_mode="rgb_array"``. Files: ``<video_dir>/trial_<seed>.<video_format>`` (``best_trial_...``
    for ``which="best"``); ``video_dir`` defaults to ``<run_dir>/videos``. The sampled actions of the
    trial of seed ``s`` come from torch's generator seeded with ``s`` (the caller's generator state is
    kept), so a command films the same trial every time, whatever ``n_videos``. See
    :func:`rl2_agent.evaluation.film.film_trials`.
    """
    import torch as th

    n_videos = check_positive_int("n_videos", n_videos, minimum=0)
    agent, env_id, env_kwargs = _run_agent(run_dir, env_id, env_kwargs, deterministic, which)
    video_dir = Path(run_dir) / "videos" if video_dir is None else video_dir
    prefix = "trial" if which == "final" else f"{which}_trial"
    films: list[FilmedTrial] = []
    with th.random.fork_rng(devices=[]):
        for trial_seed in range(seed, seed + n_videos):
            th.manual_seed(trial_seed)
            films += film_trials(agent, env_id, env_kwargs, 1, video_dir, trial_seed, video_format, prefix=prefix)
    return films


def evaluate_random(
    run_dir: str | Path, env_kwargs: dict[str, Any] | None = None, n_trials: int = 1000, seed: int = EVAL_SEED
) -> TrialResults:
    """Uniformly random actions on the held-out trials that :func:`evaluate_run` plays for ``run_dir`` (its env, with
    ``env_kwargs`` overriding its kwargs): the level a learning signal is measured against."""
    from rl2_agent.agents.scripted import UniformRandomAgent

    config = run_folder.read_config(run_dir)
    env_id, env_kwargs = config["env_id"], {**config["env_kwargs"], **(env_kwargs or {})}
    env = gym.make(env_id, **env_kwargs)
    try:
        agent = UniformRandomAgent.for_space(env.action_space, seed=seed)
    finally:
        env.close()
    info_keys = SUCCESS_INFO_KEYS if reports_success(env_id, env_kwargs) else ()
    return run_trials(agent, env_id, env_kwargs, n_trials, seed, info_keys=info_keys)


def _run_agent(
    run_dir: str | Path, env_id: str | None, env_kwargs: dict[str, Any] | None, deterministic: bool, which: str
) -> tuple[SB3RecurrentAgent, str, dict[str, Any]]:
    """The run's model as an agent, and the env it plays: the run's own unless ``env_id`` / ``env_kwargs`` say otherwise."""
    model, config = load_run(run_dir, which)
    env_id = env_id or config["env_id"]
    env_kwargs = {**config["env_kwargs"], **(env_kwargs or {})}
    check_observation_space(model, env_id, env_kwargs)
    return SB3RecurrentAgent(model, deterministic), env_id, env_kwargs


# ----------------------------------------------------------------------------- rl2 evaluate
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="training output folder (holds model.zip and config.json)")
    parser.add_argument("--trials", type=int, default=1000, help="number of held-out trials")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument("--deterministic", action="store_true", help="greedy actions (default: sample, as RL^2)")
    parser.add_argument(
        "--model",
        choices=list(run_folder.MODELS),
        default="final",
        help="final: model.zip; best: best_model.zip, the best validation score during training",
    )
    parser.add_argument(
        "--env-kwargs",
        nargs="*",
        default=None,
        metavar="KEY=VALUE",
        help="override the run's env kwargs, e.g. arm_prior=normal (the others stay as trained)",
    )
    parser.add_argument(
        "--random",
        action="store_true",
        help="also play uniformly random actions on the same trials and report the paired difference (a learning signal)",
    )
    parser.add_argument("--out", default=None, help="where to write eval.json / eval.png (default: the run folder)")
    parser.add_argument(
        "--video",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="also film the first N held-out trials, one video each (needs moviepy; default 0)",
    )
    parser.add_argument("--video-dir", default=None, help="folder of the videos (default: <run_dir>/videos)")
    parser.add_argument("--video-format", choices=list(VIDEO_FORMATS), default="mp4", help="video file format (default mp4)")


def run(args: argparse.Namespace) -> int:
    from rl2_agent.reporting.figures import plot_episode_returns

    check_held_out_args(args.trials, args.seed)
    if args.video > args.trials:
        raise ValueError(f"--video must be an integer in [0, --trials], here [0, {args.trials}], got {args.video}")
    if args.video:
        try:
            check_video_writer()
        except gym.error.DependencyNotInstalled as err:
            raise ValueError(f"--video: {err}") from None
    env_kwargs = None if args.env_kwargs is None else parse_kwargs(args.env_kwargs)
    results = evaluate_run(args.run_dir, None, env_kwargs, args.trials, args.seed, args.deterministic, which=args.model)
    print(format_results(results, "RL^2" if args.model == "final" else "RL^2 (best model)"))
    out = Path(args.out or args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    # load_model falls back to the latest checkpoint when training has not finished: say so in the record
    scored = run_folder.scored_model(args.run_dir, args.model)
    summary = results.summary() | {"deterministic": args.deterministic, "run_dir": str(args.run_dir), "model": scored}
    if args.video:
        films = film_run(
            args.run_dir,
            args.video,
            args.video_dir,
            None,
            env_kwargs,
            args.seed,
            args.deterministic,
            args.model,
            args.video_format,
        )
        summary["videos"] = [
            film.to_json() | {"scored_return": float(results.trial_returns[i])} for i, film in enumerate(films)
        ]
        for film, scored_return in zip(films, results.trial_returns):
            logger.info(
                "wrote %s: held-out trial seed %d, return %.3f in %d steps (scored trial: %.3f)",
                film.path,
                film.seed,
                film.trial_return,
                film.steps,
                scored_return,
            )
    curves = {"RL^2": results}
    if args.random:
        curves["random"] = random_results = evaluate_random(args.run_dir, env_kwargs, args.trials, args.seed)
        print(format_results(random_results, "random"))
        difference = results.trial_returns - random_results.trial_returns
        mean, se = float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(len(difference)))
        print(f"RL^2 - random, paired on the same trials: {mean:+.3f} +- {se:.3f}")
        summary["random"] = random_results.summary()
        summary["minus_random"] = {"mean": mean, "se": se}
    json_path, png_path = run_folder.evaluation_files(out, args.model)
    json_path.write_text(json.dumps(summary, indent=2))
    plot_episode_returns(curves, png_path)
    logger.info("wrote %s and %s", json_path, png_path)
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.evaluate", add_arguments, run, description=__doc__.splitlines()[0]))

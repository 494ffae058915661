"""Held-out evaluation: run any agent for N trials on the SAME N tasks; per-episode returns.

Held-out tasks are the trials started by ``reset(seed=EVAL_SEED + i)``, ``i = 0..N-1`` (see
``meta_envs``: a seeded reset fully determines the task), so every agent, RL^2 or classical, is
scored on identical tasks. Training never resets with these seeds, and no model selection sees
them: the evaluations during training, which choose ``best_model.zip``, play the validation tasks
of ``reset(seed=VALIDATION_SEED + i)`` instead.

CLI::

    python -m rl2_agent evaluate runs/x --trials 1000 [--deterministic] [--seed 1000000] [--model best]

prints the mean trial return +- standard error and the mean return per episode index within
the trial (the signature of fast adaptation), and writes ``eval.json`` and ``eval.png`` in the
run folder (``best_eval.json`` and ``best_eval.png`` for ``--model best``).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.validation import check_positive_int

logger = logging.getLogger(__name__)

EVAL_SEED = 1_000_000
"""First seed of the held-out (test) evaluation tasks."""

VALIDATION_SEED = 2_000_000
"""First seed of the validation tasks: the evaluations during training and the choice of the best model."""


class TrialAgent(Protocol):
    """An agent that acts on a batch of trial observations (see ``meta_envs.trial``).

    ``act`` receives the batched observation ``(n, obs_dim)`` (or a dict of batches) and
    ``trial_start`` ``(n,)``, True where the observation is the first one of a trial (reset any
    per-trial memory there); it returns the actions ``(n, ...)``.
    """

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray: ...


class SB3RecurrentAgent:
    """A trained (Recurrent)PPO model as a :class:`TrialAgent`.

    The recurrent state is reset only at trial starts. ``deterministic=False`` samples actions
    from the policy, which is what RL^2 is (the paper's scores are stochastic-policy scores).
    """

    def __init__(self, model: Any, deterministic: bool = False) -> None:
        self.model = model
        self.deterministic = deterministic
        self._state: Any = None

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        if trial_start.all():
            self._state = None
        actions, self._state = self.model.predict(obs, self._state, trial_start, deterministic=self.deterministic)
        return actions


@dataclass
class TrialResults:
    """Per-episode returns of held-out trials.

    ``episode_returns`` has shape ``(n_trials, max_episodes)``, NaN-padded where trials hold fewer
    episodes (variable-length families); ``actions`` and ``rewards``, when recorded, have shape
    ``(steps, n_trials)``; ``step_infos``, when asked for (``run_trials(info_keys=...)``), holds
    per trial the kept step-info entries: key -> one value per step of the trial.
    """

    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    episode_returns: np.ndarray
    wall_seconds: float
    actions: np.ndarray | None = None
    rewards: np.ndarray | None = None
    step_infos: list[dict[str, list[Any]]] | None = None

    @property
    def trial_returns(self) -> np.ndarray:
        """Total return of each trial, shape ``(n_trials,)``."""
        return np.nansum(self.episode_returns, axis=1)

    @property
    def mean(self) -> float:
        return float(self.trial_returns.mean())

    @property
    def se(self) -> float:
        r = self.trial_returns
        return float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else float("nan")

    def per_episode(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard error of the return per episode index, each ``(max_episodes,)``."""
        x = self.episode_returns
        n = np.sum(~np.isnan(x), axis=0)
        mean = np.nanmean(x, axis=0)
        # s.e. where an episode index has 2+ trials (trials of steps_per_trial hold different numbers of episodes)
        se = np.full(x.shape[1], np.nan)
        enough = n > 1
        se[enough] = np.nanstd(x[:, enough], axis=0, ddof=1) / np.sqrt(n[enough])
        return mean, se

    def summary(self) -> dict[str, Any]:
        mean_ep, se_ep = self.per_episode()
        return {
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seed": self.seed,
            "n_trials": int(self.episode_returns.shape[0]),
            "mean": self.mean,
            "se": self.se,
            "per_episode_mean": mean_ep.tolist(),
            "per_episode_se": se_ep.tolist(),
            "wall_seconds": self.wall_seconds,
        }


def make_eval_vector_env(env_id: str, env_kwargs: dict[str, Any], n_envs: int) -> gym.vector.VectorEnv:
    """Same-step-autoreset vector env: the batched implementation if the id has one, else sync."""
    if gym.spec(env_id).vector_entry_point is not None:
        return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    return gym.make_vec(
        env_id, num_envs=n_envs, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **env_kwargs
    )


def run_trials(
    agent: TrialAgent,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    batch_size: int = 1000,
    record: bool = False,
    tasks: list[Any] | None = None,
    info_keys: Sequence[str] = (),
) -> TrialResults:
    """Run ``agent`` on the held-out trials ``seed .. seed + n_trials - 1``: the ONE trial runner.

    Trials run ``batch_size`` at a time in a vector env; trial ``i`` has the task of
    ``gym.make(env_id, **env_kwargs).reset(seed=seed + i)``, or ``tasks[i]`` when ``tasks`` is
    given (ids with a batched implementation only; ``seed`` then seeds the noise only).
    ``record=True`` keeps every step's actions and rewards, shape ``(steps, n_trials)`` (meant
    for fixed-length trials: for variable-length ones, the steps after a trial's end belong to
    the next trial of that env).
    ``info_keys`` names step-info entries to keep for every step of every trial, exactly the
    trial's own steps (whatever their number): ``results.step_infos[i][key]`` is the list of
    values, None where the step's info lacks the key. On a trial's last step the value is read
    from the vector env's ``final_info`` when it is there (gymnasium's sync vector env puts the
    finished trial's info there and the next trial's reset info at the top level).
    """
    n_trials, batch_size = check_positive_int("n_trials", n_trials), check_positive_int("batch_size", batch_size)
    seed = check_positive_int("seed", seed, minimum=0)
    if tasks is not None and len(tasks) != n_trials:
        raise ValueError(f"got {len(tasks)} tasks for {n_trials} trials")
    if tasks is not None and gym.spec(env_id).vector_entry_point is None:
        raise ValueError(
            f"tasks= needs an id with a batched implementation; {env_id} has none: play the tasks of seeds instead "
            "(trial i is the task of reset(seed=seed + i), see held_out_tasks)"
        )
    env_kwargs = dict(env_kwargs or {})
    start = time.perf_counter()
    rows: list[np.ndarray] = []
    actions: list[np.ndarray] = []
    rewards: list[np.ndarray] = []
    step_infos: list[dict[str, list[Any]]] = []
    done_trials = 0
    while done_trials < n_trials:
        n = min(batch_size, n_trials - done_trials)
        venv = make_eval_vector_env(env_id, env_kwargs, n)
        options = None if tasks is None else {"tasks": tasks[done_trials : done_trials + n]}
        obs, _ = venv.reset(seed=seed + done_trials, options=options)
        trial_start = np.ones(n, dtype=bool)
        finished: list[np.ndarray | None] = [None] * n
        batch_infos: list[dict[str, list[Any]]] = [{k: [] for k in info_keys} for _ in range(n)]
        batch_actions: list[np.ndarray] = []
        batch_rewards: list[np.ndarray] = []
        remaining = n
        while remaining:
            a = agent.act(obs, trial_start)
            obs, r, terminated, truncated, infos = venv.step(a)
            if record:
                batch_actions.append(np.asarray(a))
                batch_rewards.append(np.asarray(r, dtype=np.float64))
            trial_start = terminated | truncated
            if info_keys:
                _keep_infos(batch_infos, finished, infos, trial_start, info_keys)
            if trial_start.any():
                returns = infos["final_info"]["trial_returns"]
                for i in np.flatnonzero(trial_start):
                    if finished[i] is None:
                        finished[i] = np.asarray(returns[i], dtype=np.float64)
                        remaining -= 1
        venv.close()
        rows += finished  # type: ignore[arg-type]
        step_infos += batch_infos
        if record:
            actions.append(np.stack(batch_actions))
            rewards.append(np.stack(batch_rewards))
        done_trials += n
    width = max(len(r) for r in rows)
    table = np.full((n_trials, width), np.nan)
    for i, r in enumerate(rows):
        table[i, : len(r)] = r
    steps = min((a.shape[0] for a in actions), default=0)
    return TrialResults(
        env_id,
        env_kwargs,
        seed,
        table,
        time.perf_counter() - start,
        actions=np.concatenate([a[:steps] for a in actions], axis=1) if record else None,
        rewards=np.concatenate([r[:steps] for r in rewards], axis=1) if record else None,
        step_infos=step_infos if info_keys else None,
    )


def _keep_infos(
    kept: list[dict[str, list[Any]]], finished: list[Any], infos: dict[str, Any], trial_end: np.ndarray, keys: Sequence[str]
) -> None:
    """Append this step's ``infos[key][i]`` to ``kept[i][key]`` for the trials still running (see run_trials)."""
    final = infos.get("final_info", {})
    for key in keys:
        top, top_mask = infos.get(key), infos.get("_" + key)
        fin, fin_mask = final.get(key), final.get("_" + key)
        for i, row in enumerate(kept):
            if finished[i] is not None:
                continue
            if trial_end[i] and fin is not None and (fin_mask is None or fin_mask[i]):
                row[key].append(fin[i])
            elif top is not None and (top_mask is None or top_mask[i]):
                row[key].append(top[i])
            else:
                row[key].append(None)


class UniformRandomAgent:
    """Uniformly random actions among ``num_actions`` (a :class:`~rl2_agent.evaluate.TrialAgent`)."""

    def __init__(self, num_actions: int = 3, seed: int = 0) -> None:
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        return self.rng.integers(self.num_actions, size=len(trial_start))


def check_held_out_args(trials: int, seed: int | None = None) -> None:
    """Validate the ``--trials`` and ``--seed`` of a command that reports mean ± s.e. over held-out trials.

    :raises ValueError: naming the flag: ``--trials`` below 2 (a standard error needs two trials) or a
        negative ``--seed``.
    """
    if int(trials) < 2:
        raise ValueError(f"--trials must be an integer >= 2 (a standard error needs two trials), got {trials}")
    if seed is not None and int(seed) < 0:
        raise ValueError(f"--seed must be an integer >= 0 (the first held-out task seed), got {seed}")


def held_out_tasks(env_id: str, env_kwargs: dict[str, Any], n_trials: int, seed: int = EVAL_SEED) -> list[Any]:
    """The tasks of the held-out trials ``seed .. seed + n_trials - 1`` (those run_trials plays)."""
    env = gym.make(env_id, **env_kwargs)
    tasks = []
    for i in range(n_trials):
        env.reset(seed=seed + i)
        tasks.append(env.unwrapped.task)
    env.close()
    return tasks


# ----------------------------------------------------------------------------- saved runs
def load_run(run_dir: str | Path, which: str = "final") -> tuple[Any, dict[str, Any]]:
    """Load a model of a training run folder (``which``: ``"final"`` or ``"best"``, see
    :func:`rl2_agent.train.load_model`) and the run's config."""
    from rl2_agent.train import load_model, read_config

    config = read_config(run_dir)
    return load_model(run_dir, which=which), config


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
    ``"best"`` (see :func:`load_run`).
    """
    model, config = load_run(run_dir, which)
    env_id = env_id or config["env_id"]
    env_kwargs = {**config["env_kwargs"], **(env_kwargs or {})}
    check_observation_space(model, env_id, env_kwargs)
    return run_trials(SB3RecurrentAgent(model, deterministic), env_id, env_kwargs, n_trials, seed, record=record)


def _channels_first(space: gym.Space) -> gym.Space:
    """``space`` with channel-last images transposed, as SB3's ``VecTransposeImage`` stores them in a model."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.vec_env import VecTransposeImage

    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: _channels_first(sub) for key, sub in space.spaces.items()})
    if is_image_space(space) and not is_image_space_channels_first(space):
        return VecTransposeImage.transpose_space(space)
    return space


def check_observation_space(model: Any, env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Raise ``ValueError`` if the model was trained on a different observation shape.

    Image observations (``RL2Maze-v0``) are also compared channels-first: SB3 transposes them
    for training, and ``predict`` transposes channel-last batches back.
    """
    space = gym.make(env_id, **env_kwargs).observation_space
    if space != model.observation_space and _channels_first(space) != model.observation_space:
        raise ValueError(
            f"the model expects observations {model.observation_space} but {env_id} with env_kwargs={env_kwargs} "
            f"gives {space}: evaluate on the env_kwargs it was trained with (e.g. the same num_arms)"
        )


def format_results(results: TrialResults, label: str = "RL^2") -> str:
    """Markdown: the mean +- s.e. and the per-episode-index means."""
    mean_ep, se_ep = results.per_episode()
    lines = [
        f"{label} on {results.env_id} {results.env_kwargs}: mean trial return {results.mean:.3f} +- {results.se:.3f} "
        f"(s.e., {results.episode_returns.shape[0]} held-out trials, seeds {results.seed}..)",
        "",
        "| episode in trial | mean return | s.e. |",
        "|---|---|---|",
    ]
    shown = range(len(mean_ep)) if len(mean_ep) <= 12 else [*range(5), *range(len(mean_ep) - 5, len(mean_ep))]
    lines += [f"| {i + 1} | {mean_ep[i]:.3f} | {se_ep[i]:.3f} |" for i in shown]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="training output folder (holds model.zip and config.json)")
    parser.add_argument("--trials", type=int, default=1000, help="number of held-out trials")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument("--deterministic", action="store_true", help="greedy actions (default: sample, as RL^2)")
    parser.add_argument(
        "--model", choices=["final", "best"], default="final",
        help="final: model.zip; best: best_model.zip, the best validation score during training",
    )  # fmt: skip
    parser.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE",
                        help="override the run's env kwargs, e.g. arm_prior=normal (the others stay as trained)")  # fmt: skip
    parser.add_argument("--out", default=None, help="where to write eval.json / eval.png (default: the run folder)")


def run(args: argparse.Namespace) -> int:
    from rl2_agent.plots import plot_episode_returns
    from rl2_agent.train import parse_kwargs

    from rl2_agent.train import MODEL_FILE

    check_held_out_args(args.trials, args.seed)
    env_kwargs = None if args.env_kwargs is None else parse_kwargs(args.env_kwargs)
    results = evaluate_run(args.run_dir, None, env_kwargs, args.trials, args.seed, args.deterministic, which=args.model)
    # load_model falls back to the latest checkpoint when training has not finished: say so in the record
    scored = "checkpoint" if args.model == "final" and not (Path(args.run_dir) / MODEL_FILE).exists() else args.model
    print(format_results(results, "RL^2" if args.model == "final" else "RL^2 (best model)"))
    out = Path(args.out or args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = results.summary() | {"deterministic": args.deterministic, "run_dir": str(args.run_dir), "model": scored}
    prefix = "" if args.model == "final" else f"{args.model}_"
    json_path, png_path = out / f"{prefix}eval.json", out / f"{prefix}eval.png"
    json_path.write_text(json.dumps(summary, indent=2))
    plot_episode_returns({"RL^2": results}, png_path)
    logger.info("wrote %s and %s", json_path, png_path)
    return 0


__all__ = [
    "EVAL_SEED", "VALIDATION_SEED", "SB3RecurrentAgent", "TrialAgent", "TrialResults", "UniformRandomAgent",
    "check_held_out_args", "evaluate_run", "held_out_tasks", "run_trials",
]

"""The RL^2 navigation scaling experiment (paper section 3.3) on ``RL2GridNav-v0`` / ``RL2Maze-v0``.

CLI::

    python -m rl2_agent scaling --env RL2GridNav-v0 --env-kwargs size=small --run runs/gridnav_small \\
        [--train-minutes 20] --trials 1000 --out docs/img/scaling_gridnav_small

With ``--train-minutes M`` it first trains RL^2 into the run folder ``--run`` for ``M`` minutes
of wall-clock (:func:`rl2_agent.training.loop.train` with ``max_seconds``; ``--resume`` continues the
folder's checkpoint); without it, it evaluates the run folder as it is. Without ``--run`` only
the reference agents run.

Every agent plays the same ``--trials`` held-out mazes (the trials ``reset(seed=EVAL_SEED + i)``
of :func:`rl2_agent.evaluation.runner.run_trials`, the one trial runner, which keeps each step's
pose and inner-episode end here): the trained RL^2 policy (``rl2``, stochastic actions unless
``--deterministic``), a uniformly random policy (``random``) and a shortest-path oracle
(``oracle``, :class:`~rl2_agent.agents.scripted.ShortestPathAgent`: it is given the mazes and
follows a shortest path in every episode, so its two episodes are equally long and optimal; a
check that the metrics are computed right, not a meta-learner). The command prints the paper's
metrics next to the paper's figures (markdown), and writes in ``--out``:

``scaling.json``
    the metrics with standard errors, per-trial episode lengths and successes, the run's
    training budget and the paper's figures (written before the figures, so that a failing
    figure keeps the evaluation);
``trajectories_<agent>.png``
    the maze, start and goal of the first ``--draw`` trials, with both episodes' paths;
``frames_<agent>.png`` (``RL2Maze-v0`` only)
    first-person frames (``render_mode="rgb_array"``, with the minimap) along both episodes of
    one trial, replayed from the recorded poses.

The metrics (:func:`meta_envs.navigation.scaling_metrics`): for episodes 1 and 2 of each trial,
the success rate and the average length of the successful episodes, and the fraction of trials
whose episode 2 is not longer than episode 1 (a failed episode counts with its full length); beyond
the paper, the fraction where it is strictly shorter and the paired steps saved in episode 2.

Numeric options are checked (:func:`check_arguments`) before anything trains or evaluates.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.navigation.grid_nav import MazeNavigation, MazeTask, episode_stats, paired_steps_saved, scaling_metrics
from meta_envs.navigation.maze import FORWARD, TURN_LEFT, TURN_RIGHT, Pose, shortest_actions
from meta_envs.trial import TrialEnv
from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.agents.scripted import ShortestPathAgent, UniformRandomAgent
from rl2_agent.arguments import non_negative_float, non_negative_int, parse_kwargs, positive_float, positive_int, run_command
from rl2_agent.evaluation.agent import TrialAgent
from rl2_agent.evaluation.runner import run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, held_out_tasks
from rl2_agent.experiments.paper import PAPER_SCALING
from rl2_agent.hyperparams import TIME_BUDGET_STEP_CAP
from rl2_agent.training import run_folder

logger = logging.getLogger(__name__)

__all__ = [
    "AGENTS",
    "MAZE_IDS",
    "ScalingResult",
    "actions_from_poses",
    "check_arguments",
    "evaluate_agent",
    "format_table",
    "optimal_lengths",
    "split_episodes",
]

MAZE_IDS = ("RL2GridNav-v0", "RL2Maze-v0")
AGENTS = ("rl2", "random", "oracle")
INFO_KEYS = ("pose", "inner_done")

# (metric key, table label, kind); "length" keys get +- s.e., "rate" keys are shown in %
_ROWS = (
    ("mean_success_length_ep1", "avg length of successful episodes, ep 1", "length"),
    ("mean_success_length_ep2", "avg length of successful episodes, ep 2", "length"),
    ("length_ratio", "ratio of the two averages, ep 2 / ep 1", "ratio"),
    ("success_rate_ep1", "success rate, ep 1", "rate"),
    ("success_rate_ep2", "success rate, ep 2", "rate"),
    ("frac_ep2_not_longer", "trials where ep 2 is not longer than ep 1", "rate"),
    ("frac_ep2_shorter", "... of which ep 2 is strictly shorter (not in the paper)", "rate"),
    ("steps_saved_ep2", "steps saved in ep 2, paired over trials with both episodes successful (not in the paper)", "length"),
)


# ----------------------------------------------------------------------------- evaluation
def split_episodes(start: Pose, poses: Sequence[Any], inner_done: Sequence[Any]) -> list[list[Pose]]:
    """Per inner episode, the poses ``(row, col, heading)`` from the start pose to the last one.

    ``poses[t]`` and ``inner_done[t]`` are the pose after step ``t`` of the trial and whether that
    step ended an inner episode (the ``pose`` and ``inner_done`` step infos of the maze ids).
    A last episode cut by the trial's end (``steps_per_trial``) is kept as it is.
    """
    if len(poses) != len(inner_done):
        raise ValueError(f"got {len(poses)} poses and {len(inner_done)} inner_done flags")
    start = cast(Pose, tuple(int(x) for x in start))  # a pose: 3 numbers
    episodes: list[list[Pose]] = []
    current: list[Pose] = [start]
    for pose, done in zip(poses, inner_done):
        current.append(cast(Pose, tuple(int(x) for x in pose)))
        if done:
            episodes.append(current)
            current = [start]
    if len(current) > 1:
        episodes.append(current)
    return episodes


def actions_from_poses(poses: Sequence[Pose]) -> list[int]:
    """The actions that take an agent through the consecutive ``poses`` of one episode.

    A heading change of -1 / +1 is a left / right turn; anything else is a forward move (a
    forward move into a wall leaves the pose unchanged). Dynamics are deterministic, so
    replaying these actions from the start pose visits exactly ``poses``.
    """
    actions = []
    for (_, _, h0), (_, _, h1) in zip(poses[:-1], poses[1:]):
        turn = (h1 - h0) % 4
        actions.append(TURN_LEFT if turn == 3 else TURN_RIGHT if turn == 1 else FORWARD)
    return actions


@dataclass
class ScalingResult:
    """One agent on the held-out mazes: per trial, the poses of each episode and their statistics."""

    agent: str
    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    tasks: list[MazeTask]
    episodes: list[list[list[Pose]]]  # trial -> inner episode -> poses, start included
    episode_returns: np.ndarray  # (n_trials, episodes)
    wall_seconds: float
    lengths: np.ndarray = field(init=False)  # (n_trials, episodes) steps
    success: np.ndarray = field(init=False)  # (n_trials, episodes) reached the goal

    def __post_init__(self) -> None:
        stats = [episode_stats(self.paths(i), task.goal) for i, task in enumerate(self.tasks)]
        width = max(len(s[0]) for s in stats)
        self.lengths = np.zeros((len(stats), width), dtype=np.int64)
        self.success = np.zeros((len(stats), width), dtype=bool)
        for i, (lengths, success) in enumerate(stats):
            self.lengths[i, : len(lengths)] = lengths
            self.success[i, : len(success)] = success

    def paths(self, trial: int) -> list[list[tuple[int, int]]]:
        """The squares visited in each episode of ``trial``, start included."""
        return [[pose[:2] for pose in episode] for episode in self.episodes[trial]]

    def metrics(self) -> dict[str, float]:
        """:func:`~meta_envs.navigation.scaling_metrics` plus ``length_ratio`` (ep 2 / ep 1 of the
        average successful lengths), ``mean_length_ep{1,2}`` (all episodes, failures at full
        length) and ``se_<metric>``, the standard errors (binomial for rates)."""
        out = scaling_metrics(list(zip(self.lengths, self.success)))
        n = len(self.lengths)
        out["length_ratio"] = out["mean_success_length_ep2"] / out["mean_success_length_ep1"]
        for e in range(2):
            out[f"mean_length_ep{e + 1}"] = float(self.lengths[:, e].mean())
        for key in ("success_rate_ep1", "success_rate_ep2", "frac_ep2_not_longer", "frac_ep2_shorter"):
            out[f"se_{key}"] = math.sqrt(out[key] * (1 - out[key]) / n)
        for e in range(2):
            ok = self.lengths[self.success[:, e], e].astype(float)
            out[f"se_mean_success_length_ep{e + 1}"] = float(ok.std(ddof=1) / math.sqrt(ok.size)) if ok.size > 1 else math.nan
        saved = paired_steps_saved(self.lengths, self.success)
        out["se_steps_saved_ep2"] = float(saved.std(ddof=1) / math.sqrt(saved.size)) if saved.size > 1 else math.nan
        return out


def evaluate_agent(
    agent: TrialAgent,
    name: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    n_trials: int = 1000,
    seed: int = EVAL_SEED,
    batch_size: int = 1000,
    tasks: list[MazeTask] | None = None,
) -> ScalingResult:
    """Run ``agent`` on the held-out mazes with :func:`run_trials`, keeping every step's pose."""
    tasks = held_out_tasks(env_id, env_kwargs, n_trials, seed) if tasks is None else tasks
    res = run_trials(agent, env_id, env_kwargs, n_trials, seed, batch_size=batch_size, info_keys=INFO_KEYS)
    assert res.step_infos is not None  # kept for the info_keys
    episodes = []
    for task, infos in zip(tasks, res.step_infos):
        episodes.append(split_episodes((*task.start, task.heading), infos["pose"], infos["inner_done"]))
    return ScalingResult(name, env_id, dict(env_kwargs), seed, tasks, episodes, res.episode_returns, res.wall_seconds)


def optimal_lengths(tasks: Sequence[MazeTask]) -> np.ndarray:
    """Steps of a shortest path from each task's start pose to its goal."""
    lengths = []
    for t in tasks:
        path = shortest_actions(t.grid, (*t.start, t.heading), t.goal)
        assert path is not None  # a maze connects all its squares: every goal has a path
        lengths.append(len(path))
    return np.array(lengths)


# ----------------------------------------------------------------------------- report
def _fmt(value: float, se: float | None, kind: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    if kind == "rate":
        text = f"{100 * value:.1f} %"
        return text + (f" ± {100 * se:.1f}" if se is not None and np.isfinite(se) else "")
    if kind == "ratio":
        return f"{value:.2f}"
    return f"{value:.1f}" + (f" ± {se:.1f}" if se is not None and np.isfinite(se) else "")


def format_table(results: dict[str, ScalingResult], paper: dict[str, float] | None, paper_label: str) -> str:
    """Markdown: one row per metric, the paper's column then one column per agent (± s.e.)."""
    metrics = {name: res.metrics() for name, res in results.items()}
    header = ["metric", paper_label, *results]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, label, kind in _ROWS:
        if paper is not None and key == "length_ratio":
            ref = _fmt(paper["mean_success_length_ep2"] / paper["mean_success_length_ep1"], None, kind)
        else:
            ref = _fmt(paper[key], None, kind) if paper is not None and key in paper else "n/a"
        cells = [_fmt(m[key], m.get(f"se_{key}"), kind) for m in metrics.values()]
        lines.append("| " + " | ".join([label, ref, *cells]) + " |")
    return "\n".join(lines)


def _json_safe(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return _json_safe(x.tolist())
    if isinstance(x, (np.integer, np.bool_)):
        return x.item()
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x


def _dumps(summary: dict[str, Any]) -> str:
    """Indented JSON, with the per-trial arrays each on one line (NaN written as null)."""
    arrays: list[str] = []

    def compact(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: compact(v) for k, v in x.items()}
        if isinstance(x, np.ndarray) and x.ndim == 2:
            arrays.append(json.dumps(_json_safe(x), separators=(",", ":")))
            return f"@@array{len(arrays) - 1}@@"
        return x

    text = json.dumps(_json_safe(compact(summary)), indent=1)
    for i, array in enumerate(arrays):
        text = text.replace(f'"@@array{i}@@"', array)
    return text


def _pick_trial(result: ScalingResult) -> int:
    """The first trial whose two episodes both reached the goal (else trial 0)."""
    both = np.flatnonzero(result.success[:, :2].all(axis=1))
    return int(both[0]) if both.size else 0


def draw_trajectories(result: ScalingResult, path: Path, n_draw: int) -> Path:
    from rl2_agent.reporting.figures import plot_maze_trajectories

    trials = []
    for i in range(min(n_draw, len(result.tasks))):
        task = result.tasks[i]
        trials.append(
            {
                "grid": task.grid,
                "start": task.start,
                "heading": task.heading,
                "goal": task.goal,
                "paths": result.paths(i),
                "label": f"held-out trial {i} (seed {result.seed + i})",
            }
        )
    title = f"{result.agent} on {result.env_id} {result.env_kwargs}: the first {len(trials)} held-out trials"
    return plot_maze_trajectories(trials, path, title=title)


def episode_frames(
    result: ScalingResult, trial: int, n_frames: int
) -> tuple[dict[str, list[np.ndarray]], dict[str, list[str]]]:
    """First-person ``rgb_array`` frames at ``n_frames`` evenly spaced steps of each episode of ``trial``.

    The episodes are replayed in the task family (no trial wrapper, so the last frame shows the
    goal, not the next episode's start) from the actions implied by the recorded poses.
    """
    kwargs = {k: v for k, v in result.env_kwargs.items() if k != "render_mode"}
    env = gym.make(result.env_id, render_mode="rgb_array", **kwargs)
    family = cast(MazeNavigation, cast(TrialEnv, env.unwrapped).family)  # the maze ids' family
    family.set_task(result.tasks[trial])
    rows: dict[str, list[np.ndarray]] = {}
    captions: dict[str, list[str]] = {}
    for e, poses in enumerate(result.episodes[trial]):
        family.reset()
        wanted = set(np.unique(np.linspace(0, len(poses) - 1, n_frames).round().astype(int)).tolist())
        label = f"episode {e + 1}"
        rows[label], captions[label] = [], []
        for t in range(len(poses)):
            if t:
                family.step(actions_from_poses(poses[t - 1 : t + 1])[0])
            if family.pose != poses[t]:
                raise RuntimeError(f"replay diverged at step {t} of episode {e + 1}: {family.pose} != {poses[t]}")
            if t in wanted:
                rows[label].append(family.render())
                captions[label].append(f"step {t}/{len(poses) - 1}")
    env.close()
    return rows, captions


def draw_frames(result: ScalingResult, path: Path, n_frames: int) -> Path:
    from rl2_agent.reporting.figures import plot_frame_strip

    trial = _pick_trial(result)
    rows, captions = episode_frames(result, trial, n_frames)
    ok = ", ".join("reached" if s else "failed" for s in result.success[trial])
    title = f"{result.agent} on {result.env_id} {result.env_kwargs}: held-out trial {trial} ({ok}), first person with minimap"
    return plot_frame_strip(rows, path, captions, title=title)


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default=None, choices=MAZE_IDS, help="maze id (default: the run's, else RL2GridNav-v0)")
    parser.add_argument(
        "--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE", help="e.g. size=small (default: the run's)"
    )
    parser.add_argument("--run", default=None, help="RL^2 run folder to evaluate (and to train into with --train-minutes)")
    parser.add_argument(
        "--train-minutes",
        type=non_negative_float,
        default=0.0,
        help="first train RL^2 into --run for this long (0: no training)",
    )
    parser.add_argument(
        "--timesteps",
        type=positive_float,
        default=TIME_BUDGET_STEP_CAP,
        help="training step cap (the time limit usually ends training first)",
    )
    parser.add_argument(
        "--n-envs", type=positive_int, default=None, help="training: parallel trials (default: per-env default)"
    )
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE", help="training: override the defaults")
    parser.add_argument(
        "--workers", type=positive_int, default=1, help="training: data-parallel workers (rl2 train --workers; default 1)"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="training seed")
    parser.add_argument(
        "--eval-every", type=non_negative_float, default=2e5, help="training: steps between validation evaluations"
    )
    parser.add_argument("--eval-trials", type=positive_int, default=100, help="training: validation trials per evaluation")
    parser.add_argument("--resume", action="store_true", help="training: continue the checkpoint of --run")
    parser.add_argument(
        "--overwrite", action="store_true", help="training: replace the run already in --run (default: refuse)"
    )
    parser.add_argument("--trials", type=positive_int, default=1000, help="held-out mazes")
    parser.add_argument("--eval-seed", type=non_negative_int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument("--batch-size", type=positive_int, default=1000, help="trials run side by side")
    parser.add_argument("--deterministic", action="store_true", help="greedy RL^2 actions (default: sample, as the paper)")
    parser.add_argument("--agents", nargs="+", default=None, choices=AGENTS, help="default: rl2 (with --run), random, oracle")
    parser.add_argument("--draw", type=positive_int, default=4, help="trials drawn in trajectories_<agent>.png")
    parser.add_argument("--frames", type=positive_int, default=8, help="first-person frames per episode (RL2Maze-v0)")
    parser.add_argument("--out", default=None, help="output folder (default: <run>/scaling, else runs/scaling-<env>)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")


def _train(args: argparse.Namespace, env_id: str, env_kwargs: dict[str, Any]) -> None:
    from rl2_agent.training.config import TrainConfig
    from rl2_agent.training.loop import train

    hyper = parse_kwargs(args.hyperparams)
    if args.n_envs is not None:
        hyper["n_envs"] = args.n_envs
    config = TrainConfig(
        env_id=env_id,
        env_kwargs=env_kwargs,
        total_timesteps=int(args.timesteps),
        seed=args.seed,
        out=args.run,
        hyperparams=hyper,
        eval_every=int(args.eval_every),
        eval_trials=args.eval_trials,
        max_seconds=60.0 * args.train_minutes,
        threads=args.threads,
        workers=args.workers,
    )
    logger.info("training RL^2 on %s %s for %.1f minutes into %s", env_id, env_kwargs, args.train_minutes, args.run)
    train(config, resume=args.resume, progress=False, overwrite=args.overwrite)


def _run_info(run_dir: str) -> dict[str, Any]:
    """The training budget of a run folder: its checkpoint state and its last validation evaluation."""
    info: dict[str, Any] = {"run_dir": str(run_dir), **(run_folder.read_checkpoint_state(run_dir) or {})}
    if run_folder.has_eval_log(run_dir):
        log = run_folder.read_eval_log(run_dir)
        info["last_training_eval"] = {
            "timesteps": int(log.timesteps[-1]),
            "seconds": float(log.seconds[-1]),
            "mean": float(log.mean[-1]),
            "se": float(log.se[-1]),
        }
    return info


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse options that need another one (numbers are checked by their argparse types, :mod:`rl2_agent.arguments`).

    :raises ValueError: for ``--train-minutes`` / ``--agents rl2`` without ``--run``, or ``--timesteps`` below one step.
    """
    if int(args.timesteps) < 1:
        raise ValueError(f"--timesteps must be a number of steps >= 1, got {args.timesteps!r}")
    if args.train_minutes and not args.run:
        raise ValueError("--train-minutes needs --run (the folder to train into)")
    if args.agents and "rl2" in args.agents and not args.run:
        raise ValueError("--agents rl2 needs --run (the RL^2 run folder to evaluate)")


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    import torch as th

    th.set_num_threads(args.threads)
    saved = run_folder.read_config(args.run) if args.run and (Path(args.run) / run_folder.CONFIG_FILE).exists() else None
    env_id = args.env or (saved["env_id"] if saved else "RL2GridNav-v0")
    if env_id not in MAZE_IDS:
        source = f"--env {env_id}" if args.env else f"--run {args.run} was trained on {env_id}"
        raise ValueError(f"the scaling experiment needs a maze id ({', '.join(MAZE_IDS)}): {source}")
    env_kwargs = parse_kwargs(args.env_kwargs) if args.env_kwargs is not None else dict(saved["env_kwargs"]) if saved else {}
    trial_env = cast(TrialEnv, gym.make(env_id, **env_kwargs).unwrapped)
    episodes_per_trial = trial_env.episodes_per_trial
    if episodes_per_trial is None or episodes_per_trial < 2:
        raise ValueError(f"--env-kwargs: the scaling experiment needs trials of >= 2 episodes, got {env_kwargs}")
    # a maze id: a MazeNavigation family and Discrete actions
    size, num_actions = cast(MazeNavigation, trial_env.family).size, int(cast(spaces.Discrete, trial_env.action_space).n)
    agents = list(dict.fromkeys(args.agents or ([*(["rl2"] if args.run else []), "random", "oracle"])))
    if "rl2" in agents and not args.train_minutes and saved is None:
        run_folder.read_config(args.run)  # FileNotFoundError: not a training output folder
    out = Path(args.out or (Path(args.run) / "scaling" if args.run else Path("runs") / f"scaling-{env_id}"))
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    if args.train_minutes:
        _train(args, env_id, env_kwargs)

    tasks = held_out_tasks(env_id, env_kwargs, args.trials, args.eval_seed)
    results: dict[str, ScalingResult] = {}
    for name in agents:
        if name == "rl2":
            model = run_folder.load_model(args.run)
            check_observation_space(model, env_id, env_kwargs)
            agent: TrialAgent = SB3RecurrentAgent(model, deterministic=args.deterministic)
        elif name == "random":
            agent = UniformRandomAgent(num_actions, seed=args.eval_seed)
        else:
            agent = ShortestPathAgent(tasks, episodes_per_trial)
        results[name] = evaluate_agent(agent, name, env_id, env_kwargs, args.trials, args.eval_seed, args.batch_size, tasks)
        logger.info("%s: %d trials in %.1f s", name, args.trials, results[name].wall_seconds)

    paper = PAPER_SCALING.get(size)
    policy = "greedy" if args.deterministic else "stochastic"
    print(
        f"RL^2 scaling experiment on {env_id} {env_kwargs}: {args.trials} held-out mazes (seeds {args.eval_seed}..)"
        + (f", {policy} RL^2 policy" if "rl2" in results else "")
        + "\n"
    )
    print(format_table(results, paper, f"paper ({size} maze, ViZDoom)"))
    optimal = optimal_lengths(tasks)
    print(
        f"\nshortest path from the start pose: {optimal.mean():.1f} steps on average (turns count as steps). "
        "The paper's lengths are ViZDoom steps: compare rates, fractions and the ep 2 / ep 1 ratio, not lengths."
    )

    out.mkdir(parents=True, exist_ok=True)
    figures: list[Path] = []
    summary = {
        "env_id": env_id,
        "env_kwargs": env_kwargs,
        "n_trials": args.trials,
        "seed": args.eval_seed,
        "rl2_policy": policy,
        "run": _run_info(args.run) if args.run else None,
        "paper": {"size": size, "source": "the RL^2 paper, section 3.3 (approximate; ViZDoom steps)", **(paper or {})},
        "optimal_length_mean": float(optimal.mean()),
        "agents": {
            name: {
                "metrics": res.metrics(),
                "wall_seconds": res.wall_seconds,
                "mean_episode_returns": np.nanmean(res.episode_returns, axis=0),
                "episode_lengths": res.lengths,
                "episode_success": res.success,
            }
            for name, res in results.items()
        },
        "figures": [],  # filled in once they are drawn
    }
    # the metrics first: a failing figure must not lose the evaluation
    (out / "scaling.json").write_text(_dumps(summary))
    for name, res in results.items():
        figures.append(draw_trajectories(res, out / f"trajectories_{name}.png", args.draw))
        if env_id == "RL2Maze-v0":
            figures.append(draw_frames(res, out / f"frames_{name}.png", args.frames))
    summary["figures"] = [str(f) for f in figures]
    (out / "scaling.json").write_text(_dumps(summary))
    print(f"\nwrote {out / 'scaling.json'} and {len(figures)} figures in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.scaling", add_arguments, run, description=__doc__.splitlines()[0]))

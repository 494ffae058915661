"""The one trial runner: any agent for N trials on the SAME N tasks; per-episode returns.

Trial ``i`` of ``run_trials(agent, env_id, env_kwargs, n, seed)`` has the task of
``gym.make(env_id, **env_kwargs).reset(seed=seed + i)`` (see :mod:`rl2_agent.evaluation.seeds`
for the seed ranges), so every agent is scored on identical tasks.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.validation import check_positive_int
from rl2_agent.evaluation.agent import TrialAgent
from rl2_agent.evaluation.seeds import EVAL_SEED
from rl2_agent.evaluation.success import SUCCESS_INFO_KEYS, SuccessRates, success_rates

__all__ = ["TrialResults", "format_results", "make_eval_vector_env", "run_trials"]


@dataclass
class TrialResults:
    """Per-episode returns of held-out trials.

    ``episode_returns`` has shape ``(n_trials, max_episodes)``, NaN-padded where trials hold fewer
    episodes (variable-length families); ``actions`` and ``rewards``, when recorded, have shape
    ``(steps, n_trials)``; ``step_infos``, when asked for (``run_trials(info_keys=...)``), holds
    per trial the kept step-info entries: key -> one value per step of the trial. When they hold
    ``"success"`` and ``"episode_index"`` (:data:`~rl2_agent.evaluation.success.SUCCESS_INFO_KEYS`, kept for
    envs that report success, e.g. Meta-World), :meth:`success` gives the success rates and
    :meth:`summary` and :func:`format_results` report them.
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

    def success(self) -> SuccessRates | None:
        """The success rates of the trials (:func:`~rl2_agent.evaluation.success.success_rates`), or None when
        the step infos kept are not ``"success"`` and ``"episode_index"``."""
        if not self.step_infos or any(key not in self.step_infos[0] for key in SUCCESS_INFO_KEYS):
            return None
        return success_rates(self.step_infos)

    def summary(self) -> dict[str, Any]:
        mean_ep, se_ep = self.per_episode()
        success = self.success()
        return {
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "seed": self.seed,
            "n_trials": int(self.episode_returns.shape[0]),
            "mean": self.mean,
            "se": self.se,
            "per_episode_mean": mean_ep.tolist(),
            "per_episode_se": se_ep.tolist(),
            **({} if success is None else success.summary()),
            "wall_seconds": self.wall_seconds,
        }


def make_eval_vector_env(env_id: str, env_kwargs: dict[str, Any], n_envs: int) -> gym.vector.VectorEnv:
    """Same-step-autoreset vector env: the batched implementation if the id has one, else sync."""
    if gym.spec(env_id).vector_entry_point is not None:
        return gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **env_kwargs)
    return gym.make_vec(
        env_id,
        num_envs=n_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
        **env_kwargs,
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
    for row, r in enumerate(rows):
        table[row, : len(r)] = r
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


def format_results(results: TrialResults, label: str = "RL^2") -> str:
    """Markdown: the mean +- s.e. and the per-episode-index means (and success rates, when the env reports them)."""
    mean_ep, se_ep = results.per_episode()
    success = results.success()
    lines = [
        f"{label} on {results.env_id} {results.env_kwargs}: mean trial return {results.mean:.3f} +- {results.se:.3f} "
        f"(s.e., {results.episode_returns.shape[0]} held-out trials, seeds {results.seed}..)",
    ]
    header, rule = "| episode in trial | mean return | s.e. |", "|---|---|---|"
    if success is not None:
        lines.append(
            f"success rate of the last episode of the trial: {success.last_episode:.3f} +- {success.last_episode_se:.3f} "
            "(s.e.; an episode succeeds if info['success'] is true at any of its steps)"
        )
        header, rule = header + " success rate |", rule + "---|"
    lines += ["", header, rule]
    shown = range(len(mean_ep)) if len(mean_ep) <= 12 else [*range(5), *range(len(mean_ep) - 5, len(mean_ep))]
    for i in shown:
        row = f"| {i + 1} | {mean_ep[i]:.3f} | {se_ep[i]:.3f} |"
        if success is not None:
            row += f" {success.per_episode[i]:.3f} |" if i < len(success.per_episode) else " - |"
        lines.append(row)
    return "\n".join(lines)

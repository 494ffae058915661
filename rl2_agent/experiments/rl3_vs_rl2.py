"""RL^3 vs RL^2: the RL^3 paper's comparison, same hyperparameters and same wall-clock budget.

Usage::

    python -m rl2_agent.experiments.rl3_vs_rl2 --minutes 30                       # the default experiments
    python -m rl2_agent.experiments.rl3_vs_rl2 --experiments mdp_h500,mdp_h1000_from_500 --minutes 60
    python -m rl2_agent.experiments.rl3_vs_rl2 --experiments all --minutes 60     # + H=500 bandits, 13x13 grids
    python -m rl2_agent.experiments.rl3_vs_rl2 --experiments bandit_h100 --smoke  # plumbing check, ~20 s
    python -m rl2_agent.experiments.rl3_vs_rl2 --list                             # the experiments

For each experiment it trains (or reuses) one RL^2 model on the RL2 id and one RL^3 model on the
RL3 id with :func:`rl2_agent.training.loop.train`: the SAME hyperparameters (those of the RL^2 id in
``rl2_agent/hyperparams.py``, plus ``--hyperparams`` overrides, passed to both), the same seed and
the same wall-clock budget (``--minutes`` per model; evaluation time excluded; ``--steps`` adds an
equal step cap). Both are then evaluated on the same ``--trials`` (1000) held-out tasks
(:func:`rl2_agent.evaluation.runner.run_trials`, seeds ``EVAL_SEED ..``), with the greedy actor (as the
RL^3 paper reports) and with the stochastic one (as RL^2 is trained), and the command prints a markdown
table next to the RL^3 paper's numbers (:data:`rl2_agent.experiments.paper.RL3_PAPER`), with the paired
difference RL^3 - RL^2 on the same tasks, and the training steps, wall-clock and CPU time of each
model.

RL^3 inputs. By default neither agent has time inputs (``time_inputs=False``): the ONLY difference
between the two agents is then the value-augmented inputs ``Q(s, .)`` and ``N(s, .)``.
``--time-inputs`` gives BOTH agents the time in trial and in episode, as the RL^3 paper does; those
models go to separate run folders (``rl2_time``, ``rl3_time``).

On a 2-core machine, train the two agents side by side (one core each), then make the table::

    python -m rl2_agent.experiments.rl3_vs_rl2 --experiments mdp_h100 --minutes 20 --train-only rl2 &
    python -m rl2_agent.experiments.rl3_vs_rl2 --experiments mdp_h100 --minutes 20 --train-only rl3 &
    wait; python -m rl2_agent.experiments.rl3_vs_rl2 --experiments mdp_h100 --minutes 20

Run folders are cached under ``--runs`` (``<runs>/<models>/rl2``, ``.../rl3``): an existing model
is reused, whatever budget it was trained with (the training table shows what it got; ``--retrain``
trains again); an interrupted run (checkpoint, no model) is resumed up to the budget. Several
experiments share models: ``bandit_h500_ood`` evaluates the ``bandit_h500`` models on
``arm_prior="normal"``, ``mdp_h500_ood`` the ``mdp_h500`` ones on
``reward_kind="deterministic_uniform"``, ``mdp_h1000_from_500`` the ``mdp_h500`` ones at
``steps_per_trial=1000``, the ``grid13_<variant>`` ones the ``grid13`` models on that variant.
Evaluations are cached in each run folder (``rl3_vs_rl2_evals.json``) too. Outputs:
``<out>.json`` and ``<out>.md`` (default ``<runs>/rl3_vs_rl2``), rewritten after each experiment.
The JSON's ``config.hyperparams`` holds the RESOLVED hyperparameters of each pair of models (the
RL^2 id's defaults at the time of the run with the ``--hyperparams`` overrides, the full dict), and
each model's entry under ``models`` the ones its run folder was trained with: the defaults in
``rl2_agent/hyperparams.py`` can change, so the overrides alone do not say what a recorded table
was trained with.

``--smoke``: 3 seconds per model, a tiny network (8 envs x 32 steps, GRU 32), 50 trials and its
own ``--runs`` (``runs/rl3_vs_rl2_smoke``), so smoke models are never reused by a real run.

The budgets are wall-clock: run on an otherwise idle machine, or RL^2 and RL^3 get unequal CPU
shares (the CPU-seconds column shows it). Both agents train on the numpy-batched env of their id
(bandits, MDPs) or on single envs (gridworlds), so RL^3's lower steps per second is the value
iteration (docs/rl3.md, "Overhead").
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch as th

from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.arguments import int_at_least, non_negative_float, non_negative_int, parse_kwargs, parse_names, positive_float
from rl2_agent.evaluation.runner import run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED
from rl2_agent.experiments.paper import RL3_PAPER
from rl2_agent.hyperparams import get_hyperparams
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import train

logger = logging.getLogger("rl3_vs_rl2")

AGENTS = ("rl2", "rl3")
EVAL_CACHE = "rl3_vs_rl2_evals.json"  # in each run folder
CPU_FILE = "rl3_vs_rl2_cpu.json"  # in each run folder: process CPU seconds spent in train()
EVAL_BATCH = 1000  # trials run at once (an RL^3 13x13 gridworld env holds ~2 MB of model arrays: ~2 GB)
SMOKE_SECONDS = 3.0
SMOKE_TRIALS = 50
MIN_TRIALS = 2  # a standard error needs two trials
SMOKE_HYPERPARAMS: dict[str, Any] = {
    "n_envs": 8,
    "n_steps": 32,
    "batch_size": 128,
    "n_epochs": 2,
    "policy_kwargs": {"gru_hidden_size": 32},
}


@dataclass(frozen=True)
class Setting:
    """What a pair of models is trained on: the RL^2 id, its RL^3 twin and their common kwargs."""

    rl2_id: str
    rl3_id: str
    env_kwargs: dict[str, Any]


@dataclass(frozen=True)
class Experiment:
    """One row of the table: the models of ``setting`` evaluated on its kwargs updated by ``eval_changes``."""

    label: str
    setting: str
    eval_changes: dict[str, Any] = field(default_factory=dict)


SETTINGS: dict[str, Setting] = {
    "bandit_h100": Setting("RL2Bandit-v0", "RL3Bandit-v0", {"num_arms": 5, "episodes_per_trial": 100}),
    "bandit_h500": Setting("RL2Bandit-v0", "RL3Bandit-v0", {"num_arms": 5, "episodes_per_trial": 500}),
    "mdp_h100": Setting("RL2TabularMDP-v0", "RL3TabularMDP-v0", {"steps_per_trial": 100}),
    "mdp_h500": Setting("RL2TabularMDP-v0", "RL3TabularMDP-v0", {"steps_per_trial": 500}),
    "grid11": Setting("RL2GridWorld-v0", "RL3GridWorld-v0", {"size": 11}),
    "grid13": Setting("RL2GridWorld-v0", "RL3GridWorld-v0", {"size": 13}),
}
"""Training settings (run folder names). MDPs: 10 states, 5 actions, episodes of 10 steps (the
defaults); gridworlds: ``steps_per_trial`` defaults to 250 (11x11) / 350 (13x13)."""

EXPERIMENTS: dict[str, Experiment] = {
    "bandit_h100": Experiment("Bandits k=5 H=100", "bandit_h100"),
    "bandit_h500": Experiment("Bandits k=5 H=500", "bandit_h500"),
    "bandit_h500_ood": Experiment("Bandits H=500 OOD (p ~ N(0.5, 0.5))", "bandit_h500", {"arm_prior": "normal"}),
    "mdp_h100": Experiment("MDPs H=100", "mdp_h100"),
    "mdp_h500": Experiment("MDPs H=500", "mdp_h500"),
    "mdp_h500_ood": Experiment(
        "MDPs H=500 OOD (R ~ U(0, 2), deterministic)", "mdp_h500", {"reward_kind": "deterministic_uniform"}
    ),
    "mdp_h1000_from_500": Experiment("MDPs H=1000 (trained at H=500)", "mdp_h500", {"steps_per_trial": 1000}),
    "grid11": Experiment("Grid 11x11 H=250", "grid11"),
    "grid13": Experiment("Grid 13x13 H=350", "grid13"),
    **{
        f"grid13_{v}": Experiment(f"Grid 13x13 {v.upper()} (trained on standard)", "grid13", {"variant": v})
        for v in ("dense", "deterministic", "watery", "dangerous", "corner")
    },
}
"""Experiment name (the keys of ``rl2_agent.experiments.paper.RL3_PAPER``) -> what it trains and evaluates."""

DEFAULT_EXPERIMENTS = (
    "bandit_h100",
    "bandit_h500",
    "bandit_h500_ood",
    "mdp_h100",
    "mdp_h500",
    "mdp_h500_ood",
    "mdp_h1000_from_500",
    "grid11",
)


# ----------------------------------------------------------------------------- configuration
def agent_env(setting: Setting, agent: str, kwargs: dict[str, Any], time_inputs: bool) -> tuple[str, dict[str, Any]]:
    """The env id and kwargs of ``agent`` ("rl2" / "rl3") for the common ``kwargs``.

    ``time_inputs`` goes to both (the RL^2 ids default to False, the RL^3 ids to True).
    """
    if agent == "rl2":
        return setting.rl2_id, {**kwargs, "time_inputs": True} if time_inputs else dict(kwargs)
    return setting.rl3_id, {**kwargs, "time_inputs": time_inputs}


def model_folder(runs: Path, setting_name: str, agent: str, time_inputs: bool) -> Path:
    """The run folder of the ``agent`` model of ``setting_name`` under ``runs``."""
    return runs / setting_name / (f"{agent}_time" if time_inputs else agent)


def shared_hyperparams(setting: Setting, overrides: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters of BOTH agents: the RL^2 id's defaults with ``overrides``."""
    return get_hyperparams(setting.rl2_id, overrides)


def train_config(args: argparse.Namespace, setting_name: str, agent: str) -> TrainConfig:
    setting = SETTINGS[setting_name]
    env_id, env_kwargs = agent_env(setting, agent, setting.env_kwargs, args.time_inputs)
    total = args.steps or 10**12  # without a step cap, the wall-clock budget stops the run
    return TrainConfig(
        env_id=env_id,
        env_kwargs=env_kwargs,
        total_timesteps=total,
        seed=args.seed,
        out=str(model_folder(args.runs, setting_name, agent, args.time_inputs)),
        hyperparams=shared_hyperparams(setting, args.hyperparams),
        eval_every=args.eval_every or total,  # 0: one held-out evaluation, at the end
        eval_trials=args.train_eval_trials,
        max_seconds=args.seconds,
    )


# ----------------------------------------------------------------------------- training
def ensure_trained(config: TrainConfig, retrain: bool = False) -> dict[str, Any]:
    """Train ``config`` unless its run folder already holds a model; return the model's training figures."""
    out = Path(config.out)
    if retrain and out.exists():
        shutil.rmtree(out)
    reused = (out / run_folder.MODEL_FILE).exists()
    if (out / run_folder.CONFIG_FILE).exists():
        saved = run_folder.read_config(out)
        differs = config.differs_from(saved)
        if differs:
            raise SystemExit(
                f"{out} was trained with other {', '.join(differs)} ({ {k: saved.get(k) for k in differs} }); "
                "use --retrain or another --runs folder"
            )
        if reused and saved.get("max_seconds") != config.max_seconds:
            logger.warning(
                "reusing %s, trained with a budget of %.0f s (asked: %.0f s)",
                out,
                saved.get("max_seconds", 0),
                config.max_seconds,
            )
    cpu_path = out / CPU_FILE
    if not reused:
        resume = run_folder.has_checkpoint(out)
        logger.info(
            "training %s on %s %s for %.0f s%s",
            out,
            config.env_id,
            config.env_kwargs,
            config.max_seconds,
            " (resuming)" if resume else "",
        )
        before = json.loads(cpu_path.read_text())["cpu_seconds"] if resume and cpu_path.exists() else 0.0
        start = time.process_time()
        train(config, resume=resume, progress=False)
        cpu_path.write_text(json.dumps({"cpu_seconds": before + time.process_time() - start}))
    state = run_folder.read_checkpoint_state(out)
    assert state is not None  # the run's training (now or before, reused) wrote its checkpoint
    saved = run_folder.read_config(out)
    steps, seconds = int(state["num_timesteps"]), float(state["train_seconds"])
    return {
        "run_dir": str(out),
        "env_id": config.env_id,
        "env_kwargs": config.env_kwargs,
        "budget_seconds": float(saved.get("max_seconds", 0.0)),
        "train_seconds": seconds,
        "steps": steps,
        "steps_per_second": steps / seconds if seconds > 0 else float("nan"),
        "cpu_seconds": json.loads(cpu_path.read_text())["cpu_seconds"] if cpu_path.exists() else None,
        "reused": reused,
        # the full resolved hyperparameters the model was trained with (its run folder's config.json; checked above
        # to equal this invocation's), so that a recorded table says what it took, whatever the defaults become
        "hyperparams": saved.get("hyperparams"),
    }


# ----------------------------------------------------------------------------- evaluation
_MODELS: dict[str, Any] = {}


def evaluate(
    run_dir: str, env_id: str, env_kwargs: dict[str, Any], n_trials: int, seed: int, deterministic: bool
) -> np.ndarray:
    """Total return of each held-out trial ``seed .. seed + n_trials - 1`` (cached in the run folder)."""
    model_path = Path(run_dir) / run_folder.MODEL_FILE
    key = json.dumps([env_id, env_kwargs, n_trials, seed, deterministic], sort_keys=True)
    stamp = model_path.stat().st_mtime_ns
    cache_path = Path(run_dir) / EVAL_CACHE
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    hit = cache.get(key)
    if hit is not None and hit["model_mtime_ns"] == stamp:
        return np.asarray(hit["returns"], dtype=np.float64)
    if run_dir not in _MODELS or _MODELS[run_dir][0] != stamp:
        _MODELS[run_dir] = (stamp, run_folder.load_model(run_dir))
    model = _MODELS[run_dir][1]
    check_observation_space(model, env_id, env_kwargs)
    th.manual_seed(seed)  # the stochastic actor's samples
    res = run_trials(SB3RecurrentAgent(model, deterministic), env_id, env_kwargs, n_trials, seed, batch_size=EVAL_BATCH)
    logger.info(
        "%s on %s %s (%s): %.2f +- %.2f in %.0f s",
        run_dir,
        env_id,
        env_kwargs,
        "greedy" if deterministic else "stochastic",
        res.mean,
        res.se,
        res.wall_seconds,
    )
    returns = res.trial_returns
    cache[key] = {"model_mtime_ns": stamp, "returns": returns.tolist()}
    tmp = cache_path.with_name(cache_path.name + ".tmp")
    tmp.write_text(json.dumps(cache))
    tmp.replace(cache_path)
    return returns


def mean_se(x: np.ndarray) -> dict[str, float]:
    return {"mean": float(np.mean(x)), "se": float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else float("nan")}


def run_experiment(args: argparse.Namespace, name: str, models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Train (or reuse) the experiment's two models, evaluate both, both ways, on the same tasks."""
    exp = EXPERIMENTS[name]
    setting = SETTINGS[exp.setting]
    if exp.setting not in models:
        models[exp.setting] = {agent: ensure_trained(train_config(args, exp.setting, agent), args.retrain) for agent in AGENTS}
    eval_kwargs = {**setting.env_kwargs, **exp.eval_changes}
    paper = RL3_PAPER.get(name, {})
    row: dict[str, Any] = {
        "label": exp.label,
        "setting": exp.setting,
        "eval_env_kwargs": eval_kwargs,
        "n_trials": args.trials,
        "eval_seed": args.eval_seed,
        "paper": {agent: {"mean": paper[agent][0], "se": paper[agent][1]} for agent in AGENTS if agent in paper},
    }
    for mode, deterministic in (("greedy", True), ("stochastic", False)):
        returns = {}
        for agent in AGENTS:
            env_id, env_kwargs = agent_env(setting, agent, eval_kwargs, args.time_inputs)
            returns[agent] = evaluate(
                models[exp.setting][agent]["run_dir"], env_id, env_kwargs, args.trials, args.eval_seed, deterministic
            )
            row.setdefault(agent, {})[mode] = mean_se(returns[agent])
        row.setdefault("rl3_minus_rl2", {})[mode] = mean_se(returns["rl3"] - returns["rl2"])  # paired: same tasks
    return row


# ----------------------------------------------------------------------------- report
def _fmt(x: dict[str, float] | None, digits: int) -> str:
    if not x:
        return "-"
    return f"{x['mean']:.{digits}f} +- {x['se']:.{digits}f}"


def _fmt_diff(x: dict[str, float], digits: int) -> str:
    return f"{x['mean']:+.{digits}f} +- {x['se']:.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    """The results table and the training table."""
    cfg = report["config"]
    rl3_inputs = "Q(s,.), N(s,.)" + (" (both agents also get time inputs)" if cfg.get("time_inputs") else "")
    lines = [
        f"RL^3 vs RL^2: mean total reward per trial +- s.e. over {cfg['trials']} held-out tasks (seeds {cfg['eval_seed']}..). "
        f"Same hyperparameters and seed ({cfg['seed']}) for both; "
        f"budget {cfg['seconds']:.0f} s of wall-clock training per model"
        + (f", at most {cfg['steps']:,} steps" if cfg["steps"] else "")
        + f". RL^3 = RL^2 inputs + {rl3_inputs}. Paper: RL^3 paper, greedy actor. "
        "RL^3 - RL^2: paired difference on the same tasks.",
        "",
        "| experiment | models | paper RL^2 | paper RL^3 | RL^2 greedy | RL^3 greedy | RL^3 - RL^2 greedy "
        "| RL^2 stochastic | RL^3 stochastic | RL^3 - RL^2 stochastic |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["experiments"].items():
        digits = 0 if row["setting"].startswith("grid") else 1
        cells = [name, row["setting"], _fmt(row["paper"].get("rl2"), digits), _fmt(row["paper"].get("rl3"), digits)]
        for mode in ("greedy", "stochastic"):
            cells += [_fmt(row["rl2"][mode], digits), _fmt(row["rl3"][mode], digits)]
            cells.append(_fmt_diff(row["rl3_minus_rl2"][mode], digits))
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| models | agent | env id | env kwargs | budget s | trained s | steps | steps/s | CPU s in train() | reused |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, pair in report["models"].items():
        for agent, m in pair.items():
            cpu = "-" if m["cpu_seconds"] is None else f"{m['cpu_seconds']:.0f}"
            kwargs = ", ".join(f"{k}={v}" for k, v in m["env_kwargs"].items())
            lines.append(
                f"| {setting} | {agent.upper().replace('RL', 'RL^')} | {m['env_id']} | {kwargs} | {m['budget_seconds']:.0f} "
                f"| {m['train_seconds']:.0f} | {m['steps']:,} | {m['steps_per_second']:,.0f} | {cpu} "
                f"| {'yes' if m['reused'] else 'no'} |"
            )
    return "\n".join(lines)


def write_report(report: dict[str, Any], out: Path) -> str:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, default=str))
    out.with_suffix(".md").write_text(text + "\n")
    return text


# ----------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rl2_agent.experiments.rl3_vs_rl2",
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring and docs/rl3.md for details.",
    )
    parser.add_argument(
        "--experiments",
        default=",".join(DEFAULT_EXPERIMENTS),
        help="comma or space separated experiment names, or 'all' (default: %(default)s)",
    )
    parser.add_argument(
        "--minutes", type=positive_float, default=None, help="wall-clock training budget per model (default 20; --smoke: 0.05)"
    )
    parser.add_argument(
        "--steps", type=non_negative_float, default=0, help="also cap training at this many env steps per model (0: no cap)"
    )
    parser.add_argument(
        "--runs",
        default=None,
        help="run folder cache (default runs/rl3_vs_rl2, --smoke: runs/rl3_vs_rl2_smoke)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help="output path without suffix: writes .json and .md (default <runs>/rl3_vs_rl2)",
    )
    parser.add_argument(
        "--trials",
        type=int_at_least(MIN_TRIALS),
        default=None,
        help="held-out tasks per evaluation (default 1000; --smoke: 50)",
    )
    parser.add_argument("--eval-seed", type=non_negative_int, default=EVAL_SEED, help="first held-out task seed")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="training seed (both agents)")
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE", help="overrides, applied to both agents")
    parser.add_argument(
        "--time-inputs", action="store_true", help="give BOTH agents the time in trial and in episode, as the RL^3 paper"
    )
    parser.add_argument(
        "--eval-every",
        type=non_negative_float,
        default=0,
        help="steps between in-training held-out evaluations (0: at the end only)",
    )
    parser.add_argument(
        "--train-eval-trials",
        type=int_at_least(MIN_TRIALS),
        default=None,
        help="trials of the in-training evaluations (default 100; --smoke: 10)",
    )
    parser.add_argument("--retrain", action="store_true", help="delete and retrain the run folders of the chosen experiments")
    parser.add_argument(
        "--train-only",
        choices=AGENTS,
        default=None,
        help="only train this agent's models and exit (no evaluation): run 'rl2' and 'rl3' as two "
        "processes to use two cores, then once more without it for the table",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny budgets: 3 s per model, tiny network, 50 trials")
    parser.add_argument("--list", action="store_true", help="list the experiments and exit")
    args = parser.parse_args(argv)
    args.experiments = parse_names(parser, "--experiments", args.experiments, EXPERIMENTS, "experiments", everything="all")
    minutes = args.minutes if args.minutes is not None else (SMOKE_SECONDS / 60 if args.smoke else 20.0)
    args.seconds = 60.0 * minutes
    args.steps = int(args.steps)
    # a given value is used as given (0 and 1 are refused by the types above), not replaced by the default
    args.trials = args.trials if args.trials is not None else (SMOKE_TRIALS if args.smoke else 1000)
    args.train_eval_trials = args.train_eval_trials if args.train_eval_trials is not None else (10 if args.smoke else 100)
    args.eval_every = int(args.eval_every)
    try:
        args.hyperparams = {**(SMOKE_HYPERPARAMS if args.smoke else {}), **parse_kwargs(args.hyperparams)}
    except ValueError as err:
        parser.error(f"--hyperparams: {err}")
    args.runs = Path(args.runs or ("runs/rl3_vs_rl2_smoke" if args.smoke else "runs/rl3_vs_rl2"))
    args.out = Path(args.out) if args.out else args.runs / "rl3_vs_rl2"
    try:  # every model's settings (hyperparameters, budget) are checked now, not when its turn to train comes
        for setting_name in dict.fromkeys(EXPERIMENTS[name].setting for name in args.experiments):
            for agent in (args.train_only,) if args.train_only else AGENTS:
                train_config(args, setting_name, agent)
    except ValueError as err:
        parser.error(f"the settings of the {setting_name} {agent} model: {err}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for name, exp in EXPERIMENTS.items():
            s = SETTINGS[exp.setting]
            print(
                f"{name:22s} {exp.label:47s} models {exp.setting} ({s.rl2_id} / {s.rl3_id} {s.env_kwargs}), "
                f"eval changes {exp.eval_changes}"
            )
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    th.set_num_threads(1)
    report: dict[str, Any] = {
        "config": {
            "experiments": args.experiments,
            "seconds": args.seconds,
            "steps": args.steps,
            "trials": args.trials,
            "eval_seed": args.eval_seed,
            "seed": args.seed,
            "hyperparams_overrides": args.hyperparams,
            # the RESOLVED hyperparameters of each pair of models (the RL^2 id's defaults of this checkout with the
            # overrides; both agents get the same), not only the overrides: the defaults can change
            "hyperparams": {
                setting_name: shared_hyperparams(SETTINGS[setting_name], args.hyperparams)
                for setting_name in dict.fromkeys(EXPERIMENTS[name].setting for name in args.experiments)
            },
            "time_inputs": args.time_inputs,
            "smoke": args.smoke,
            "runs": str(args.runs),
            "command": sys.argv,
        },
        "models": {},
        "experiments": {},
    }
    if args.train_only:
        for setting_name in dict.fromkeys(EXPERIMENTS[name].setting for name in args.experiments):
            figures = ensure_trained(train_config(args, setting_name, args.train_only), args.retrain)
            print(
                f"{setting_name} {args.train_only}: {figures['steps']} steps in {figures['train_seconds']:.0f} s "
                f"({figures['run_dir']})"
            )
        return 0
    text = ""
    for name in args.experiments:
        report["experiments"][name] = run_experiment(args, name, report["models"])
        text = write_report(report, args.out)
    print(text)
    print(f"\nwrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

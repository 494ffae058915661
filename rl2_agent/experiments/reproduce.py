"""``rl2 reproduce``: train every learned cell of a paper's table, then score it next to the paper and the baselines.

::

    rl2 reproduce --table bandit --minutes 30 --seeds 5 --out results/bandit
    rl2 reproduce --table mdp --cells "10 25" --minutes 60 --seeds 3 --workers 4 --out results/mdp
    rl2 reproduce --table rl3 --cells "bandit_h100 mdp_h100" --minutes 30 --seeds 3 --out results/rl3
    python -m rl2_agent.experiments.reproduce --table bandit --cells "10,5" --minutes 5 --out results/quick

Tables: ``bandit`` (RL^2 Table 1, cells ``"n,k"``: pulls, arms), ``mdp`` (RL^2 Table 2, cells ``"n"``:
episodes) and ``rl3`` (the RL^3 paper's RL^2-vs-RL^3 table, cells the experiment names of
:mod:`rl2_agent.experiments.rl3_vs_rl2`, e.g. ``bandit_h100``; both agents are trained, with the RL^2
id's hyperparameters, and the experiments that evaluate the same models on other tasks share them).

Training: each cell (rl3: each setting and agent) and seed ``0 .. S-1`` is one run of
:func:`rl2_agent.training.loop.train` for ``--minutes`` of training wall-clock (``max_seconds``, the step
budget unbounded, as ``rl2 train --max-minutes``; evaluations on the validation tasks excluded), in its
own run folder ``DIR/runs/<cell>/seed<s>`` (rl3: ``DIR/runs/<setting>/<agent>/seed<s>``). ``--workers``
trains each run data-parallel (``TrainConfig.workers``); ``--jobs J`` trains J runs at once, each in its own
process (``J x workers`` should not exceed the machine's cores: on 2 cores, two one-worker runs side by side
train twice the steps of one, a two-worker run 1.2-1.6 times).

Resuming: run the same command again. A finished run (``model.zip``, trained with at least this budget)
is skipped, a run with a checkpoint resumes (a larger ``--minutes`` trains finished runs further), and
the held-out scores already in ``DIR/evals/`` are reused as long as the model file they scored is
unchanged. A run folder trained with other settings (env, seed, hyperparameters) is refused.

Evaluation: every model and every classical baseline of the table plays the SAME ``--trials`` held-out
tasks of :data:`~rl2_agent.evaluation.seeds.EVAL_SEED` (through
:func:`rl2_agent.experiments.table.evaluate_cell` and :func:`rl2_agent.experiments.evaluate.evaluate_run`;
RL^2 tables with the stochastic actor as the RL^2 paper, the rl3 table with the greedy one as the RL^3
paper). Two protocols, each a table:

* **mean over seeds (final models)**: each seed's final model is scored; the table gives the mean and
  the s.e. over seeds of those scores (one seed: the s.e. over trials). Bold marks use the per-task
  returns averaged over seeds.
* **paper protocol (best validation seed)**: the seed whose best score on the validation tasks
  (``eval_log.csv``) is the highest, scored by the model of that evaluation (``best_model.zip``); mean
  and s.e. over trials. The RL^2 paper reports the best of 5 seeds.

In each row, bold marks the best agent and every agent not significantly below it (the rule of
:func:`rl2_agent.experiments.table.bold_agents`); the paper's figure is in brackets. Outputs in
``DIR``: ``table.md`` (what is printed), ``table.json`` (both protocols, the paper's figures, every
seed's scores and every run's training figures), ``table.csv`` (one row per protocol, cell and agent)
and ``figures/``: a bar chart per cell and protocol, and the learning curves (validation scores) of
each cell's runs.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from meta_envs.validation import check_bool, check_choice, check_positive_float, check_positive_int
from rl2_agent.arguments import parse_kwargs, run_command
from rl2_agent.evaluation.seeds import EVAL_SEED, check_held_out_args
from rl2_agent.hyperparams import TIME_BUDGET_EVAL_EVERY, TIME_BUDGET_STEP_CAP

logger = logging.getLogger(__name__)

__all__ = ["PROTOCOLS", "TABLES", "ReproduceConfig", "Run", "reproduce"]

TABLES = ("bandit", "mdp", "rl3")
#: protocol key -> its title in the printed tables, the JSON and the CSV
PROTOCOLS = {
    "mean_over_seeds": "mean over seeds (final models)",
    "paper_protocol": "paper protocol (best validation seed)",
}
EVALS_DIR = "evals"
FIGURES_DIR = "figures"
RUNS_DIR = "runs"
MARKDOWN_FILE, JSON_FILE, CSV_FILE = "table.md", "table.json", "table.csv"


@dataclass(frozen=True)
class Run:
    """One training run of a reproduction: an agent of a cell (rl3: of a setting) with one seed."""

    group: str  # the run folder's group: the cell's folder name, or the rl3 setting
    agent: str  # "rl2" or "rl3"
    seed: int
    env_id: str
    env_kwargs: dict[str, Any] = field(hash=False)
    run_dir: Path


@dataclass
class ReproduceConfig:
    """What a reproduction trains and evaluates; checked whole at construction.

    :param table: ``"bandit"``, ``"mdp"`` or ``"rl3"``.
    :param out: the reproduction folder (``DIR``).
    :param minutes: training wall-clock per run (cell, agent and seed).
    :param cells: the cells (bandit ``"n,k"``, mdp ``"n"``, rl3 experiment names), whitespace or comma
        separated for rl3; None: every cell of the paper's table.
    :param seeds: training seeds per cell, ``0 .. seeds - 1``.
    :param workers: data-parallel workers of each training run.
    :param jobs: training runs at once, each in its own process.
    :param trials: held-out test trials per cell.
    :param eval_seed: the first held-out task seed.
    :param hyperparams: overrides of the env id's default hyperparameters (rl3: of the RL^2 id's, for both agents).
    :param lr_anneal: the last fraction of each run's budget over which the learning rate decays linearly to 0
        (``rl2 train --lr-anneal``); 0: a constant learning rate.
    :param time_inputs: give the trained agents the time in the trial and in the episode (``time_inputs=True`` of
        the env ids; the RL^3 ids have them by default); the baselines are unchanged.
    :param eval_every: steps between evaluations on the validation tasks during training.
    :param eval_trials: validation trials per evaluation during training.
    :raises ValueError: one line naming the parameter and the allowed values.
    """

    table: str
    out: Path
    minutes: float
    cells: str | None = None
    seeds: int = 1
    workers: int = 1
    jobs: int = 1
    trials: int = 1000
    eval_seed: int = EVAL_SEED
    hyperparams: dict[str, Any] = field(default_factory=dict)
    lr_anneal: float = 0.0
    time_inputs: bool = False
    eval_every: int = TIME_BUDGET_EVAL_EVERY
    eval_trials: int = 500
    cell_list: list[Any] = field(init=False, repr=False)  # the parsed cells (Cell objects, rl3 experiment names)

    def __post_init__(self) -> None:
        check_choice("table", self.table, TABLES)
        self.out = Path(self.out)
        if "{" in str(self.out) or "}" in str(self.out):  # run paths are formatted with each cell's {n} and {k}
            raise ValueError(f"out must not contain '{{' or '}}', got {str(self.out)!r}")
        self.minutes = check_positive_float("minutes", self.minutes)
        self.seeds = check_positive_int("seeds", self.seeds)
        self.workers = check_positive_int("workers", self.workers)
        self.jobs = check_positive_int("jobs", self.jobs)
        self.eval_seed = check_positive_int("eval_seed", self.eval_seed, minimum=0)
        check_held_out_args(self.trials)
        self.time_inputs = check_bool("time_inputs", self.time_inputs)
        self.eval_every = check_positive_int("eval_every", self.eval_every)
        self.eval_trials = check_positive_int("eval_trials", self.eval_trials, minimum=2)
        self.cell_list = self._parse_cells()
        # every run's TrainConfig now (env kwargs, hyperparameters, workers): a bad setting fails before any training
        for run in self.runs():
            self.train_config(run)

    # ------------------------------------------------------------------------- cells and runs
    def _parse_cells(self) -> list[Any]:
        from rl2_agent.experiments.paper import PAPER, RL3_PAPER

        if self.table == "rl3":
            from rl2_agent.experiments.rl3_vs_rl2 import EXPERIMENTS

            names = (
                list(dict.fromkeys(self.cells.replace(",", " ").split()))
                if self.cells and self.cells.strip()
                else list(RL3_PAPER)
            )
            unknown = [n for n in names if n not in EXPERIMENTS]
            if unknown:
                raise ValueError(f"cells: unknown rl3 experiment(s) {unknown}; rl3 cells: {list(EXPERIMENTS)}")
            return names
        from rl2_agent.agents.baselines import parse_cells

        try:
            cells = parse_cells(self.table, self.cells, list(PAPER[self.table]))
        except ValueError as err:
            raise ValueError(f"cells: {err}") from None
        keys = [c.key for c in cells]
        if len(set(keys)) != len(keys):
            raise ValueError(f"cells: {sorted({k for k in keys if keys.count(k) > 1})} given more than once")
        return cells

    def cell_key(self, cell: Any) -> str:
        """The cell as the paper's table writes it (``"10,5"``, ``"25"``, ``"bandit_h100"``)."""
        return cell if isinstance(cell, str) else cell.key

    def cell_folder(self, cell: Any) -> str:
        """The cell's name in file names (``"10_5"``)."""
        return self.cell_key(cell).replace(",", "_")

    def agents(self) -> tuple[str, ...]:
        """The trained agents of every cell."""
        return ("rl2", "rl3") if self.table == "rl3" else ("rl2",)

    def cell_runs(self, cell: Any, agent: str) -> list[Run]:
        """The runs (one per seed) whose models ``agent`` plays in ``cell``."""
        if self.table == "rl3":
            from rl2_agent.experiments.rl3_vs_rl2 import EXPERIMENTS, SETTINGS, agent_env

            setting = EXPERIMENTS[cell].setting
            env_id, env_kwargs = agent_env(SETTINGS[setting], agent, SETTINGS[setting].env_kwargs, self.time_inputs)
            folder = self.out / RUNS_DIR / setting / agent
            return [Run(setting, agent, s, env_id, env_kwargs, folder / f"seed{s}") for s in range(self.seeds)]
        from rl2_agent.agents.baselines import ENV_IDS

        folder = self.out / RUNS_DIR / self.cell_folder(cell)
        env_kwargs = {**cell.env_kwargs(), "time_inputs": True} if self.time_inputs else cell.env_kwargs()
        return [
            Run(self.cell_folder(cell), agent, s, ENV_IDS[self.table], env_kwargs, folder / f"seed{s}")
            for s in range(self.seeds)
        ]

    def runs(self) -> list[Run]:
        """Every training run, each once (rl3 experiments that share a setting share its runs)."""
        runs = [run for cell in self.cell_list for agent in self.agents() for run in self.cell_runs(cell, agent)]
        return list({run.run_dir: run for run in runs}.values())

    def train_config(self, run: Run) -> Any:
        """The :class:`~rl2_agent.training.config.TrainConfig` of ``run``."""
        from rl2_agent.training.config import TrainConfig

        hyperparams = self.hyperparams
        if self.table == "rl3":  # both agents get the RL^2 id's settings (see rl3_vs_rl2)
            from rl2_agent.experiments.rl3_vs_rl2 import SETTINGS, shared_hyperparams

            hyperparams = shared_hyperparams(SETTINGS[run.group], self.hyperparams)
        return TrainConfig(
            env_id=run.env_id,
            env_kwargs=run.env_kwargs,
            total_timesteps=TIME_BUDGET_STEP_CAP,  # the wall-clock budget ends the run
            seed=run.seed,
            out=str(run.run_dir),
            hyperparams=hyperparams,
            eval_every=self.eval_every,
            eval_trials=self.eval_trials,
            max_seconds=60.0 * self.minutes,
            workers=self.workers,
            lr_anneal=self.lr_anneal,
        )


# ----------------------------------------------------------------------------- training
def run_status(config: ReproduceConfig, run: Run) -> str:
    """What :func:`train_run` will do with ``run``: ``"done"`` (a model trained with at least this budget),
    ``"resumed"`` (a checkpoint) or ``"trained"`` (from scratch).

    :raises ValueError: when the run folder holds a run with other settings.
    """
    from rl2_agent.training import run_folder

    train_config = config.train_config(run)
    out = run.run_dir
    if not (out / run_folder.CONFIG_FILE).exists():
        return "trained"
    saved = run_folder.read_config(out)
    differ = train_config.differs_from(saved)
    if differ:
        wanted = {k: getattr(train_config, k) for k in differ}
        raise ValueError(
            f"{out} holds a run trained with other {', '.join(differ)} "
            f"({', '.join(f'{k}={saved.get(k)!r}, now {wanted[k]!r}' for k in differ)}): "
            "reproduce into another --out folder, or delete that run folder"
        )
    if (out / run_folder.MODEL_FILE).exists() and float(saved.get("max_seconds") or 0) >= train_config.max_seconds:
        return "done"
    return "resumed" if run_folder.has_checkpoint(out) else "trained"


def train_run(config: ReproduceConfig, run: Run, progress: bool = True) -> dict[str, Any]:
    """Train ``run`` unless it is finished (resuming it from its checkpoint if it has one); its training figures.

    ``status``: that of :func:`run_status`.

    :raises ValueError: when the run folder holds a run with other settings.
    """
    from rl2_agent.training.loop import train

    status = run_status(config, run)
    if status != "done":
        # no run folder in the message: the line before it (one job) or the log prefix (several) names it
        logger.info(
            "%s %s on %s %s for %g min",
            "resuming" if status == "resumed" else "training",
            run.agent,
            run.env_id,
            run.env_kwargs,
            config.minutes,
        )
        # no checkpoint: whatever a killed run left before its first checkpoint is replaced
        train(config.train_config(run), resume=status == "resumed", progress=progress, overwrite=status == "trained")
    return run_figures(run, status)


def run_figures(run: Run, status: str) -> dict[str, Any]:
    """The training figures of the trained ``run`` (steps, speed, validation scores, hyperparameters)."""
    from rl2_agent.training import run_folder

    out = run.run_dir
    state = run_folder.read_checkpoint_state(out) or {}
    steps, seconds = int(state.get("num_timesteps", 0)), float(state.get("train_seconds", 0.0))
    log = run_folder.read_eval_log(out)
    return {
        "run_dir": str(out),
        "agent": run.agent,
        "seed": run.seed,
        "env_id": run.env_id,
        "env_kwargs": run.env_kwargs,
        "status": status,
        "steps": steps,
        "train_seconds": seconds,
        "steps_per_second": steps / seconds if seconds > 0 else float("nan"),
        "best_validation": float(log.mean[log.best]),
        "best_validation_steps": int(log.timesteps[log.best]),
        "final_validation": float(log.mean[-1]),
        "hyperparams": run_folder.read_config(out)["hyperparams"],
    }


def _train_in_child(config: ReproduceConfig, run: Run, log_level: int) -> None:
    logging.basicConfig(level=log_level, format=f"%(levelname)s {run.run_dir}: %(message)s")
    train_run(config, run, progress=False)


def train_runs(config: ReproduceConfig, runs: list[Run], progress: bool = True) -> dict[Path, dict[str, Any]]:
    """Train (or reuse) every run, ``config.jobs`` at a time; the training figures by run folder.

    With one job the runs train one after the other in this process. With more, each pending run trains in
    a fresh (spawned) process, without progress bars (its log lines carry its run folder); the runs' settings
    are all checked before any starts, and a failed run is reported once the others have finished.

    :raises RuntimeError: naming the runs whose process failed.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    statuses = {run.run_dir: run_status(config, run) for run in runs}  # a refused folder fails before any training
    pending = [run for run in runs if statuses[run.run_dir] != "done"]
    if config.jobs == 1 or len(pending) <= 1:
        figures = {}
        for i, run in enumerate(runs, 1):
            logger.info("run %d/%d: %s", i, len(runs), run.run_dir)
            figures[run.run_dir] = train_run(config, run, progress=progress)
        return figures
    if config.jobs * config.workers > (os.cpu_count() or 1):
        logger.warning(
            "--jobs %d x --workers %d exceeds the %d cores: the runs share them and train fewer steps in their minutes",
            config.jobs,
            config.workers,
            os.cpu_count() or 1,
        )
    context = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    queue = list(pending)
    running: list[tuple[Run, Any]] = []
    failed: list[str] = []
    logger.info("training %d runs, %d at a time", len(pending), config.jobs)
    while queue or running:
        while queue and len(running) < config.jobs:
            run = queue.pop(0)
            process = context.Process(target=_train_in_child, args=(config, run, level), name=str(run.run_dir))
            process.start()
            running.append((run, process))
        wait([process.sentinel for _, process in running])  # until one of them ends
        for run, process in [entry for entry in running if entry[1].exitcode is not None]:
            running.remove((run, process))
            logger.info("finished %s (exit code %d)", run.run_dir, process.exitcode)
            if process.exitcode != 0:
                failed.append(f"{run.run_dir} (exit code {process.exitcode})")
    if failed:
        raise RuntimeError(f"training failed for {', '.join(failed)}: see the log lines above")
    return {run.run_dir: run_figures(run, statuses[run.run_dir]) for run in runs}


# ----------------------------------------------------------------------------- evaluation (cached)
class EvalCache:
    """Per-trial test returns of one cell's entries, in ``DIR/evals/<cell>.json``.

    An entry is reused when the trials, the first seed and (for a model) the model file's size and
    modification time are those it was computed with.
    """

    def __init__(self, path: Path, trials: int, eval_seed: int) -> None:
        self.path, self.key = path, {"trials": trials, "eval_seed": eval_seed}
        data = json.loads(path.read_text()) if path.exists() else {}
        self.entries: dict[str, Any] = data.get("entries", {}) if data.get("key") == self.key else {}
        self.reused: list[str] = []
        self.computed: list[str] = []

    @staticmethod
    def stamp(model_file: Path | None) -> list[int] | None:
        if model_file is None:
            return None
        st = model_file.stat()
        return [st.st_size, st.st_mtime_ns]

    def get(self, label: str, model_file: Path | None, compute: Any, *args: Any) -> np.ndarray:
        """The returns of ``label``: cached, or ``compute(*args)`` (then written to the cache at once)."""
        from rl2_agent.training.run_folder import atomic_write_text

        stamp = self.stamp(model_file)
        hit = self.entries.get(label)
        if hit is not None and hit["stamp"] == stamp:
            self.reused.append(label)
            return np.asarray(hit["returns"], dtype=np.float64)
        returns = np.asarray(compute(*args), dtype=np.float64)
        self.entries[label] = {"stamp": stamp, "returns": returns.tolist()}
        self.computed.append(label)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps({"key": self.key, "entries": self.entries}))
        return returns


def _model_file(run_dir: Path, which: str) -> Path:
    from rl2_agent.training import run_folder

    return run_dir / (run_folder.MODEL_FILE if which == "final" else run_folder.BEST_MODEL_FILE)


def evaluate_cell_returns(
    config: ReproduceConfig, cell: Any, chosen: dict[str, int]
) -> tuple[dict[str, np.ndarray], EvalCache]:
    """Per-trial test returns of one cell: ``"<agent> seed <s>"`` (final models), ``"<agent> best"`` (the
    best model of the seed ``chosen[agent]``) and, for the RL^2 tables, every classical baseline."""
    from rl2_agent.experiments.table import Entry, check_runs

    cache = EvalCache(config.out / EVALS_DIR / f"{config.cell_folder(cell)}.json", config.trials, config.eval_seed)
    n, seed = config.trials, config.eval_seed
    returns: dict[str, np.ndarray] = {}
    if config.table != "rl3":
        runs = config.cell_runs(cell, "rl2")
        check_runs(config.table, [cell], [Entry(f"rl2 seed {r.seed}", r.run_dir) for r in runs])
        for name in baseline_names(config.table):
            returns[name] = cache.get(name, None, _table_returns, config.table, cell, Entry(name), n, seed)
        for r in runs:
            entry = Entry(f"rl2 seed {r.seed}", r.run_dir)
            returns[entry.label] = cache.get(
                entry.label, _model_file(r.run_dir, "final"), _table_returns, config.table, cell, entry, n, seed
            )
        best = runs[chosen["rl2"]].run_dir
        returns["rl2 best"] = cache.get(
            "rl2 best", _model_file(best, "best"), _run_returns, best, None, cell.env_kwargs(), n, seed, False, "best"
        )
        return returns, cache
    from rl2_agent.experiments.rl3_vs_rl2 import EXPERIMENTS, SETTINGS, agent_env

    exp = EXPERIMENTS[cell]
    eval_kwargs = {**SETTINGS[exp.setting].env_kwargs, **exp.eval_changes}
    for agent in config.agents():
        env_id, env_kwargs = agent_env(SETTINGS[exp.setting], agent, eval_kwargs, config.time_inputs)
        runs = config.cell_runs(cell, agent)
        scored = [*((r, "final", f"{agent} seed {r.seed}") for r in runs), (runs[chosen[agent]], "best", f"{agent} best")]
        for r, which, label in scored:
            returns[label] = cache.get(
                label, _model_file(r.run_dir, which), _run_returns, r.run_dir, env_id, env_kwargs, n, seed, True, which
            )
    return returns, cache


def _table_returns(table: str, cell: Any, entry: Any, n_trials: int, seed: int) -> np.ndarray:
    """The per-trial returns of one entry of :func:`rl2_agent.experiments.table.evaluate_cell` (torch seeded)."""
    import torch as th

    from rl2_agent.experiments.table import evaluate_cell

    th.manual_seed(seed)  # a stochastic actor's samples are reproducible
    return evaluate_cell(table, cell, [entry], n_trials, seed).returns[entry.label]


def _run_returns(
    run_dir: Path, env_id: str | None, env_kwargs: dict[str, Any], n_trials: int, seed: int, deterministic: bool, which: str
) -> np.ndarray:
    """The per-trial returns of :func:`rl2_agent.experiments.evaluate.evaluate_run` (torch seeded)."""
    import torch as th

    from rl2_agent.experiments.evaluate import evaluate_run

    th.manual_seed(seed)
    return evaluate_run(run_dir, env_id, env_kwargs, n_trials, seed, deterministic=deterministic, which=which).trial_returns


# ----------------------------------------------------------------------------- protocols
def choose_seed(figures: list[dict[str, Any]]) -> int:
    """The index of the run with the highest best validation score (the first on ties)."""
    return int(np.argmax([f["best_validation"] for f in figures]))


def baseline_names(table: str) -> list[str]:
    """The classical baselines of ``table`` (the RL^3 paper's table has none)."""
    if table == "rl3":
        return []
    from rl2_agent.agents.baselines import AGENTS

    return list(AGENTS[table])


def protocol_rows(
    config: ReproduceConfig, cell: Any, returns: dict[str, np.ndarray], chosen: dict[str, int]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{protocol: {label: {"mean", "se", "paper", "bold", ...}}}`` of one cell: the baselines and each agent."""
    from rl2_agent.experiments.table import bold_agents, mean_se

    key = config.cell_key(cell)
    baselines = baseline_names(config.table)
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for protocol in PROTOCOLS:
        scored: dict[str, np.ndarray] = {label: returns[label] for label in baselines}
        extra: dict[str, dict[str, Any]] = {}
        for agent in config.agents():
            if protocol == "mean_over_seeds":
                per_seed = np.stack([returns[f"{agent} seed {s}"] for s in range(config.seeds)])  # (seeds, trials)
                seed_means = per_seed.mean(axis=1)
                scored[agent] = per_seed.mean(axis=0)  # each task's return averaged over seeds: the bold test's sample
                if config.seeds > 1:
                    mean, se = float(seed_means.mean()), float(seed_means.std(ddof=1) / np.sqrt(config.seeds))
                else:
                    mean, se = mean_se(per_seed[0])
                extra[agent] = {
                    "mean": mean,
                    "se": se,
                    "se_over": "seeds" if config.seeds > 1 else "trials",
                    "seed_means": seed_means.tolist(),
                }
            else:
                scored[agent] = returns[f"{agent} best"]
                extra[agent] = {"seed": chosen[agent], "model": "best"}
        bold = bold_agents(scored)
        row = {}
        for label, x in scored.items():
            mean, se = mean_se(x)
            row[label] = {
                "mean": mean,
                "se": se,
                **extra.get(label, {}),
                "paper": paper_figure(config.table, key, label),
                "bold": label in bold,
            }
        rows[protocol] = row
    return rows


def paper_figure(table: str, cell: str, label: str) -> float | None:
    """The paper's figure of ``label`` in ``cell`` (rl3: the RL^3 paper's greedy mean); None if it has none."""
    from rl2_agent.experiments.paper import RL3_PAPER, paper_value

    if table == "rl3":
        value = RL3_PAPER.get(cell, {}).get(label)
        return None if value is None else value[0]
    return paper_value(table, cell, label)


# ----------------------------------------------------------------------------- outputs
def markdown(report: dict[str, Any]) -> str:
    """Both protocols' tables, each with a one-line caption."""
    from rl2_agent.experiments.table import SIGNIFICANCE, markdown_table

    cfg = report["config"]
    table = report["table"]
    name = {"bandit": "RL^2 Table 1 (bandits)", "mdp": "RL^2 Table 2 (tabular MDPs)", "rl3": "RL^3 vs RL^2 (the RL^3 paper)"}[
        table
    ]
    actor = "greedy actor, as the RL^3 paper" if table == "rl3" else "stochastic actor, as the RL^2 paper"
    parts = [
        f"{name}: mean trial return ± s.e. over {cfg['trials']} held-out trials (seeds {cfg['eval_seed']}.."
        f"{cfg['eval_seed'] + cfg['trials'] - 1}), {cfg['minutes']:g} min of training per run, {cfg['seeds']} seed(s), "
        f"{actor}; the paper's figure in brackets; bold: not significantly below the best (one-sided Welch t-test, "
        f"p = {SIGNIFICANCE})."
    ]
    for protocol, title in PROTOCOLS.items():
        stats = report["protocols"][protocol]["stats"]
        labels = list(next(iter(stats.values())))
        text = markdown_table("mdp" if table == "rl3" else table, stats, labels)
        if table == "rl3":
            text = text.replace("| n |", "| experiment |", 1)
        parts += ["", f"**{title}**: {report['protocols'][protocol]['description']}", "", text]
    chosen = "; ".join(
        f"{cell} "
        + ", ".join(f"{agent} seed {seed}" for agent, runs in agents.items() for seed, r in runs.items() if r["chosen"])
        for cell, agents in report["seeds"].items()
    )
    parts += ["", f"Seeds of the paper protocol: {chosen}."]
    return "\n".join(parts)


def write_csv(path: Path, report: dict[str, Any]) -> None:
    """One row per protocol, cell and agent."""
    cfg = report["config"]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["table", "protocol", "cell", "agent", "mean", "se", "paper", "bold", "trials", "eval_seed", "seeds", "minutes"]
        )
        for protocol, block in report["protocols"].items():
            for cell, row in block["stats"].items():
                for label, s in row.items():
                    writer.writerow(
                        [
                            report["table"],
                            protocol,
                            cell,
                            label,
                            f"{s['mean']:.6g}",
                            f"{s['se']:.6g}",
                            s["paper"],
                            int(s["bold"]),
                            cfg["trials"],
                            cfg["eval_seed"],
                            cfg["seeds"],
                            cfg["minutes"],
                        ]
                    )


def draw_figures(config: ReproduceConfig, cell: Any, rows: dict[str, dict[str, dict[str, Any]]]) -> list[Path]:
    """A bar chart of the cell per protocol and the learning curves of its runs."""
    from rl2_agent.reporting.curves import draw_learning_curves
    from rl2_agent.reporting.figures import plot_cell_bars

    folder = config.out / FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    name, key = config.cell_folder(cell), config.cell_key(cell)
    paths = []
    for protocol, title in PROTOCOLS.items():
        paths.append(plot_cell_bars(rows[protocol], folder / f"{config.table}_{name}_{protocol}_bars.png", f"{key}, {title}"))
    runs = [r for agent in config.agents() for r in config.cell_runs(cell, agent)]
    labels = [f"{r.agent} seed {r.seed}" for r in runs]
    _, curves = draw_learning_curves(
        [r.run_dir for r in runs],
        folder / f"{config.table}_{name}_curves.png",
        labels,
        title=f"{key}: validation score during training",
    )
    return [*paths, curves]


# ----------------------------------------------------------------------------- the reproduction
def reproduce(config: ReproduceConfig, progress: bool = True, command: list[str] | None = None) -> dict[str, Any]:
    """Train every run of ``config`` (or reuse it), evaluate every cell, write ``table.md``, ``.json``, ``.csv``
    and the figures into ``config.out``; returns the report (the JSON's content)."""
    from rich.console import Console
    from rich.progress import Progress

    start = time.perf_counter()
    config.out.mkdir(parents=True, exist_ok=True)
    runs = config.runs()
    figures = train_runs(config, runs, progress=progress)
    report: dict[str, Any] = {
        "table": config.table,
        "config": {
            "cells": [config.cell_key(c) for c in config.cell_list],
            "minutes": config.minutes,
            "seeds": config.seeds,
            "workers": config.workers,
            "jobs": config.jobs,
            "trials": config.trials,
            "eval_seed": config.eval_seed,
            "eval_every": config.eval_every,
            "eval_trials": config.eval_trials,
            "hyperparams_overrides": config.hyperparams,
            "command": command if command is not None else sys.argv,
        },
        "protocols": {
            "mean_over_seeds": {
                "title": PROTOCOLS["mean_over_seeds"],
                "stats": {},
                "description": "each seed's final model scored on the test trials; mean and s.e. over "
                "seeds of those scores (one seed: s.e. over trials)",
            },
            "paper_protocol": {
                "title": PROTOCOLS["paper_protocol"],
                "stats": {},
                "description": "the seed with the highest best validation score (eval_log.csv), its "
                "best_model.zip scored on the test trials; s.e. over trials",
            },
        },
        "seeds": {},
        "runs": [figures[r.run_dir] for r in runs],
        "evaluations": {},
        "figures": [],
    }
    with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
        task = bar.add_task("cells", total=len(config.cell_list))
        for cell in config.cell_list:
            key = config.cell_key(cell)
            bar.update(task, description=f"evaluating {key}")
            cell_figures = {agent: [figures[r.run_dir] for r in config.cell_runs(cell, agent)] for agent in config.agents()}
            chosen = {agent: choose_seed(f) for agent, f in cell_figures.items()}
            returns, cache = evaluate_cell_returns(config, cell, chosen)
            rows = protocol_rows(config, cell, returns, chosen)
            for protocol, row in rows.items():
                report["protocols"][protocol]["stats"][key] = row
            report["seeds"][key] = {
                agent: {
                    str(f["seed"]): {
                        "run_dir": f["run_dir"],
                        "test_mean": float(returns[f"{agent} seed {f['seed']}"].mean()),
                        "best_validation": f["best_validation"],
                        "chosen": f["seed"] == chosen[agent],
                    }
                    for f in fs
                }
                for agent, fs in cell_figures.items()
            }
            report["evaluations"][key] = {"reused": cache.reused, "computed": cache.computed}
            report["figures"] += [str(p) for p in draw_figures(config, cell, rows)]
            bar.advance(task)
    text = markdown(report)
    (config.out / MARKDOWN_FILE).write_text(text + "\n")
    (config.out / JSON_FILE).write_text(json.dumps(report, indent=1, default=str) + "\n")
    write_csv(config.out / CSV_FILE, report)
    logger.info("reproduction done in %.0f s", time.perf_counter() - start)
    return report


# ----------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    # numbers are read as text and checked by ReproduceConfig: a bad value is one line naming the flag
    parser.add_argument("--table", required=True, help=f"the table to reproduce: {', '.join(TABLES)}")
    parser.add_argument(
        "--cells",
        default=None,
        help='bandit: "10,5 100,5" (pulls,arms); mdp: "10 25" (episodes); rl3: experiment names, e.g. '
        '"bandit_h100 mdp_h100"; default: every cell of the paper\'s table',
    )
    parser.add_argument("--minutes", required=True, help="training wall-clock per run (cell, agent and seed), e.g. 30")
    parser.add_argument("--seeds", default="1", help="training seeds per cell, 0..S-1 (default 1)")
    parser.add_argument("--workers", default="1", help="data-parallel workers of each training run (default 1)")
    parser.add_argument(
        "--jobs", default="1", help="training runs at once, each in its own process (default 1; jobs x workers <= cores)"
    )
    parser.add_argument("--trials", default="1000", help="held-out test trials per cell (default 1000)")
    parser.add_argument("--eval-seed", default=str(EVAL_SEED), help=f"first held-out task seed (default {EVAL_SEED})")
    parser.add_argument(
        "--hyperparams",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="overrides of the default hyperparameters of every run (rl3: the RL^2 id's, both agents), "
        "e.g. policy_kwargs.gru_hidden_size=256",
    )
    parser.add_argument(
        "--lr-anneal",
        default="0",
        metavar="FRACTION",
        help="decay the learning rate linearly to 0 over this last fraction of each run's budget (default 0: constant)",
    )
    parser.add_argument(
        "--time-inputs",
        action="store_true",
        help="give the trained agents the time in the trial and in the episode (the baselines are unchanged)",
    )
    parser.add_argument(
        "--eval-every",
        default=str(TIME_BUDGET_EVAL_EVERY),
        help=f"steps between validation evaluations during training (default {TIME_BUDGET_EVAL_EVERY:,})",
    )
    parser.add_argument("--eval-trials", default="500", help="validation trials per evaluation during training (default 500)")
    parser.add_argument("--out", required=True, help="the reproduction folder: runs/, evals/, figures/, table.md/.json/.csv")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _number(flag: str, text: str, kind: type) -> Any:
    """``text`` as an int (``1e6`` allowed when whole) or a float, or a one-line ``ValueError`` naming ``flag``."""
    try:
        value = float(text)
        if kind is int:
            if not value.is_integer():
                raise ValueError
            return int(value)
        return value
    except (ValueError, OverflowError):
        raise ValueError(f"{flag} must be {'an integer' if kind is int else 'a number'}, got {text!r}") from None


def config_from_args(args: argparse.Namespace) -> ReproduceConfig:
    """The :class:`ReproduceConfig` of the command line; ``ValueError`` names the flag."""
    try:
        hyperparams = parse_kwargs(args.hyperparams)
    except ValueError as err:
        raise ValueError(f"--hyperparams: {err}") from None
    values = {
        "minutes": _number("--minutes", args.minutes, float),
        "seeds": _number("--seeds", args.seeds, int),
        "workers": _number("--workers", args.workers, int),
        "jobs": _number("--jobs", args.jobs, int),
        "trials": _number("--trials", args.trials, int),
        "eval_seed": _number("--eval-seed", args.eval_seed, int),
        "eval_every": _number("--eval-every", args.eval_every, int),
        "eval_trials": _number("--eval-trials", args.eval_trials, int),
        "lr_anneal": _number("--lr-anneal", args.lr_anneal, float),
    }
    try:
        return ReproduceConfig(
            table=args.table,
            out=Path(args.out),
            cells=args.cells,
            hyperparams=hyperparams,
            time_inputs=args.time_inputs,
            **values,
        )
    except ValueError as err:
        message = str(err)
        for name in ("table", "cells", "out", *values):  # the parameter's name as the flag the user typed
            if message.startswith((name + " ", name + ":")):
                message = "--" + name.replace("_", "-") + message[len(name) :]
        raise ValueError(message) from None


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    report = reproduce(config, progress=not args.no_progress)
    print(markdown(report))
    print(
        f"\nwrote {config.out / MARKDOWN_FILE}, {config.out / JSON_FILE}, {config.out / CSV_FILE} and "
        f"{len(report['figures'])} figures in {config.out / FIGURES_DIR}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.reproduce", add_arguments, run, description=__doc__.splitlines()[0]))

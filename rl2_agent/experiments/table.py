"""``python -m rl2_agent table``: the RL^2 paper's Tables 1 and 2, every agent on the same tasks.

::

    python -m rl2_agent table --family bandit --trials 1000 --json results/bandit.json --plot-dir results/plots
    python -m rl2_agent table --family mdp --cells "10 25" --agents random,psrl,rl2=runs/mdp10 --json mdp.json

For every cell (bandit ``"n,k"``: episodes, arms; MDP ``"n"``: episodes) every agent plays the
trials of ``reset(seed=SEED + i)``, ``i < trials`` (the same held-out tasks for all). Agents are the
classical baselines of :mod:`rl2_agent.agents.baselines` (with their tuned parameters) and trained runs
given as ``label=run_dir`` (scored by :func:`rl2_agent.experiments.evaluate.evaluate_run` in the env they were
trained in: an RL^2 id or its RL^3 twin, on the cell's tasks, see :func:`check_runs`); ``{n}`` and ``{k}`` in
``run_dir`` are replaced by each cell's episodes and arms, so one entry such as
``rl2=runs/bandit_{n}_{k}`` gives every cell its own trained run.

Output: a markdown table of mean +- standard error with the paper's figure in brackets; in each
row the best agent and every agent not significantly worse than it (one-sided Welch t-test,
p = 0.05, the paper's rule) are bold. ``--json`` writes ``{cell: {agent: {"mean", "se", "paper",
"bold"}}}`` and a CSV next to it (with ``--paired``, also ``<stem>_paired.csv``: ``cell, a, b, mean, se``
of each difference ``a - b``); ``--plot-dir`` writes a bar chart per cell and, for bandits, the
mean cumulative regret over pulls per cell.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from rl2_agent.arguments import run_command
from rl2_agent.evaluation.runner import run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, check_held_out_args
from rl2_agent.experiments.evaluate import evaluate_run

logger = logging.getLogger(__name__)

__all__ = ["Entry", "Table", "bold_agents", "compute_table", "evaluate_cell", "markdown_table", "parse_entries"]

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Entry:
    """One column of the table: a baseline (``run_dir is None``) or a trained run."""

    label: str
    run_dir: Path | None = None

    def paper_key(self, cell: Any) -> str:
        """The agent this entry is in the RL^2 paper's tables, in ``cell``: a baseline's own name; ``"rl2"`` for a run
        trained on the family's RL^2 env, ``"rl3"`` for one trained on its RL^3 twin (a column the paper lacks, so
        :func:`~rl2_agent.experiments.paper.paper_value` gives None)."""
        if self.run_dir is None:
            return self.label
        from rl2_agent.hyperparams import RL3_TWINS
        from rl2_agent.training.run_folder import read_config

        return "rl3" if read_config(Path(self.cell_run(cell)))["env_id"] in RL3_TWINS else "rl2"

    def cell_run(self, cell: Any) -> str:
        """The run folder of ``cell``: ``run_dir`` with ``{n}`` and ``{k}`` replaced by the cell's (e.g. runs/bandit_{n}_{k})."""
        return str(self.run_dir).format(n=cell.episodes, k=cell.arms)


#: The placeholders a run path may hold, per family, and an example path.
PLACEHOLDERS = {
    "bandit": ("{n} (pulls) and {k} (arms)", {"n", "k"}, "runs/bandit_{n}_{k}"),
    "mdp": ("{n} (episodes)", {"n"}, "runs/mdp_{n}"),
}
#: Env kwargs that do not change the tasks or their scoring (a run may differ from a cell in these).
NON_TASK_KWARGS = frozenset({"time_inputs", "render_mode"})


def _check_placeholders(family: str, item: str, path: str) -> None:
    import string

    what, allowed, example = PLACEHOLDERS[family]
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(path) if f is not None}
    except ValueError as err:  # e.g. an unmatched brace
        raise ValueError(f"bad run path in {item!r}: {err}; {family} cells fill {what}, e.g. rl2={example}") from None
    unknown = sorted(fields - allowed)
    if unknown:
        raise ValueError(
            f"bad run path in {item!r}: unknown placeholder(s) {', '.join('{' + f + '}' for f in unknown)}; "
            f"{family} cells fill {what}, e.g. rl2={example}"
        )


def parse_entries(family: str, text: str | None) -> list[Entry]:
    """``"random,ucb1,rl2=runs/x"`` -> entries; every baseline of the family when empty."""
    from rl2_agent.agents.baselines import AGENTS, agent_class

    items = [t.strip() for t in text.split(",") if t.strip()] if text else list(AGENTS[family])
    entries: list[Entry] = []
    for item in items:
        if "=" in item:
            label, _, path = item.partition("=")
            if not label.strip() or not path.strip():
                raise ValueError(f"bad run entry {item!r}: expected label=run_dir, e.g. rl2={PLACEHOLDERS[family][2]}")
            _check_placeholders(family, item, path.strip())
            entries.append(Entry(label.strip(), Path(path.strip())))
        else:
            agent_class(family, item)
            entries.append(Entry(item))
    labels = [e.label for e in entries]
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate agent labels in {text!r}")
    return entries


def check_runs(family: str, cells: list[Any], entries: list[Entry]) -> None:
    """Raise ``ValueError`` before any evaluation if a run entry cannot fill a cell: no run folder, or a
    run trained on another env id (the family's id or its RL^3 twin, :data:`rl2_agent.hyperparams.RL3_TWINS`) or
    on other tasks than the cell's (one run per cell: put ``{n}`` and ``{k}`` in the path). Kwargs are compared as
    the env uses them (defaults filled in, see :func:`meta_envs.registration.effective_kwargs`), except
    :data:`NON_TASK_KWARGS`."""
    from meta_envs.registration import effective_kwargs
    from rl2_agent.agents.baselines import ENV_IDS
    from rl2_agent.hyperparams import RL3_TWINS
    from rl2_agent.training.run_folder import read_config

    # an RL^3 twin's own kwargs (its value inputs) are not task kwargs: compare those of the RL^2 id
    names = set(effective_kwargs(ENV_IDS[family])) - NON_TASK_KWARGS

    def task_kwargs(env_id: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in effective_kwargs(env_id, env_kwargs).items() if k in names}

    runs = [(entry, cell, Path(entry.cell_run(cell))) for entry in entries if entry.run_dir is not None for cell in cells]
    for entry, cell, run_dir in runs:
        if not run_dir.exists():
            raise ValueError(f"run folder {run_dir} of {entry.label}={entry.run_dir} (cell {cell.key}) does not exist")
    for entry, cell, run_dir in runs:
        try:
            config = read_config(run_dir)
        except FileNotFoundError as err:
            raise ValueError(f"{entry.label}={entry.run_dir} (cell {cell.key}): {err}") from err
        wanted = cell.env_kwargs()
        if ENV_IDS[family] in (config["env_id"], RL3_TWINS.get(config["env_id"])):
            trained, needed = task_kwargs(config["env_id"], config["env_kwargs"]), task_kwargs(ENV_IDS[family], wanted)
            differ = {
                k: (trained.get(k), needed.get(k))
                for k in sorted(set(trained) | set(needed))
                if trained.get(k) != needed.get(k)
            }
            if not differ:
                continue
            why = "; ".join(f"{k}={t!r}, the cell's {c!r}" for k, (t, c) in differ.items())
        else:
            why = "another env id"
        what, _, example = PLACEHOLDERS[family]
        raise ValueError(
            f"{entry.label}={entry.run_dir}: {run_dir} was trained on {config['env_id']} {config['env_kwargs']} ({why}), "
            f"cell {cell.key} is {ENV_IDS[family]} {wanted}; give one run per cell with {what} in the path, "
            f"e.g. {entry.label}={example}"
        )


# --------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------
@dataclass
class CellResult:
    """Per-trial returns of every entry in one cell, plus bandit regret curves."""

    returns: dict[str, np.ndarray]
    regret: dict[str, np.ndarray]
    seconds: dict[str, float]


def _arm_probs(env_id: str, env_kwargs: dict[str, Any], n_trials: int, seed: int) -> np.ndarray:
    """True arm probabilities of the held-out bandit tasks (for regret only; agents never see them)."""
    import gymnasium as gym

    from meta_envs.trial import TrialEnv

    env = gym.make(env_id, **env_kwargs)
    try:
        probs = []
        for i in range(n_trials):
            env.reset(seed=seed + i)
            probs.append(np.asarray(cast(TrialEnv, env.unwrapped).task, dtype=np.float64))  # a bandit id's TrialEnv
    finally:
        env.close()
    return np.stack(probs)


def evaluate_cell(family: str, cell: Any, entries: list[Entry], n_trials: int, seed: int, regret: bool = False) -> CellResult:
    """Run every entry on the cell's held-out trials; ``regret`` adds bandit regret curves (RL^2 runs included)."""
    from rl2_agent.agents.baselines import ENV_IDS, TrialSpec, make_agent

    env_id, env_kwargs = ENV_IDS[family], cell.env_kwargs()
    spec = TrialSpec.from_env(env_id, env_kwargs)
    probs = _arm_probs(env_id, env_kwargs, n_trials, seed) if regret and family == "bandit" else None
    record = probs is not None
    out = CellResult({}, {}, {})
    for entry in entries:
        start = time.perf_counter()
        if entry.run_dir is not None:  # a trained run: stochastic policy, state reset at trial starts
            # in its own env (an RL^3 run: its twin with value inputs), whose tasks check_runs found the cell's
            result = evaluate_run(entry.cell_run(cell), None, None, n_trials, seed, record=record)
        else:
            agent = make_agent(family, entry.label, spec, seed=seed)
            result = run_trials(agent, env_id, env_kwargs, n_trials, seed, record=record)
        out.returns[entry.label] = result.trial_returns
        if probs is not None:  # i.e. record
            assert result.actions is not None  # kept by record=True
            chosen = np.take_along_axis(probs, result.actions.T, axis=1)  # (n_trials, pulls)
            out.regret[entry.label] = np.cumsum((probs.max(axis=1, keepdims=True) - chosen).mean(axis=0))
        out.seconds[entry.label] = time.perf_counter() - start
        mean, se = mean_se(out.returns[entry.label])
        logger.info("%s %s: %.2f +- %.2f (%.1f s)", cell.key, entry.label, mean, se, out.seconds[entry.label])
    return out


# --------------------------------------------------------------------------------------
# statistics and formatting
# --------------------------------------------------------------------------------------
def mean_se(x: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the mean."""
    x = np.asarray(x, dtype=np.float64)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("nan")


def bold_agents(returns: dict[str, np.ndarray], alpha: float = SIGNIFICANCE) -> set[str]:
    """The best agent and every agent not significantly worse (one-sided Welch t-test at ``alpha``)."""
    from scipy import stats

    best = max(returns, key=lambda k: returns[k].mean())
    bold = {best}
    for label, x in returns.items():
        if label == best:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):
            p = stats.ttest_ind(returns[best], x, equal_var=False, alternative="greater").pvalue
        if np.isnan(p):  # both constant: equal means tie, otherwise the best is strictly better
            p = 1.0 if np.isclose(x.mean(), returns[best].mean()) else 0.0
        if p >= alpha:
            bold.add(label)
    return bold


def parse_pairs(items: list[str] | None, entries: list[Entry]) -> list[tuple[str, str]]:
    """``["a,b", ...]`` -> ``[("a", "b"), ...]``: pairs of agent labels of ``entries`` to compare trial by trial.

    :raises ValueError: naming the item and the allowed labels, for a malformed item or an unknown label.
    """
    labels = [e.label for e in entries]
    pairs = []
    for item in items or []:
        parts = [p.strip() for p in item.split(",")]
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--paired: expected A,B (two agent labels), got {item!r}")
        unknown = [p for p in parts if p not in labels]
        if unknown:
            raise ValueError(f"--paired {item}: unknown agent label(s) {unknown}; labels of --agents: {labels}")
        pairs.append((parts[0], parts[1]))
    return pairs


def paired_differences(
    results: dict[str, CellResult], pairs: list[tuple[str, str]]
) -> dict[str, dict[tuple[str, str], tuple[float, float]]]:
    """``{cell: {(A, B): (mean, se)}}``: the paired differences ``A - B``, trial by trial on the same tasks.

    Every agent of a cell plays the same tasks, so the per-trial difference removes the tasks' spread: its
    s.e. is much smaller than that of either mean when both agents do well on the same tasks.
    """
    return {
        cell: {(a, b): mean_se(result.returns[a] - result.returns[b]) for a, b in pairs} for cell, result in results.items()
    }


def paired_table(results: dict[str, CellResult], pairs: list[tuple[str, str]]) -> str:
    """Markdown table of paired differences ``A - B`` (mean +- s.e. over the same trials), one row per cell."""
    names = [f"{a} - {b}" for a, b in pairs]
    lines = ["| cell | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for cell, row in paired_differences(results, pairs).items():
        parts = []
        for mean, se in row.values():
            digits = 2 if abs(mean) < 100 else 1
            parts.append(f"{_fmt(mean, digits)} ± {_fmt(se, digits)}")
        lines.append(f"| {cell} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}"


def markdown_table(family: str, stats: dict[str, dict[str, dict[str, Any]]], labels: list[str]) -> str:
    """Markdown table: one row per cell, ``mean +- se (paper)`` per agent, bold entries in bold."""
    title = "n, k" if family == "bandit" else "n"
    lines = [f"| {title} | " + " | ".join(labels) + " |", "|" + "---|" * (len(labels) + 1)]
    for cell, row in stats.items():
        parts = []
        for label in labels:
            if label not in row:
                parts.append("-")
                continue
            s = row[label]
            digits = 2 if abs(s["mean"]) < 100 else 1
            text = f"{_fmt(s['mean'], digits)} ± {_fmt(s['se'], digits)}"
            text = f"**{text}**" if s["bold"] else text
            parts.append(text + (f" ({s['paper']})" if s["paper"] is not None else ""))
        lines.append(f"| {cell} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def _write_outputs(path: Path, family: str, stats: dict[str, dict[str, dict[str, Any]]], n_trials: int, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=1) + "\n")
    csv_path = path.with_suffix(".csv")
    with csv_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["family", "cell", "agent", "mean", "se", "paper", "bold", "trials", "seed"])
        for cell, row in stats.items():
            for label, s in row.items():
                paper, bold = s["paper"], int(s["bold"])
                writer.writerow([family, cell, label, f"{s['mean']:.6g}", f"{s['se']:.6g}", paper, bold, n_trials, seed])
    return csv_path


def _write_paired(
    path: Path, family: str, differences: dict[str, dict[tuple[str, str], tuple[float, float]]], n_trials: int, seed: int
) -> Path:
    """``<stem>_paired.csv`` next to ``path``: one row per cell and pair ``A - B``."""
    paired_path = path.with_name(f"{path.stem}_paired.csv")
    with paired_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["family", "cell", "a", "b", "mean", "se", "trials", "seed"])
        for cell, row in differences.items():
            for (a, b), (mean, se) in row.items():
                writer.writerow([family, cell, a, b, f"{mean:.6g}", f"{se:.6g}", n_trials, seed])
    return paired_path


@dataclass
class Table:
    """Statistics ``{cell: {label: {"mean", "se", "paper", "bold"}}}``, raw results and written plots."""

    stats: dict[str, dict[str, dict[str, Any]]]
    results: dict[str, CellResult]
    plots: list[Path]


def compute_table(
    family: str,
    cells: list[Any],
    entries: list[Entry],
    n_trials: int,
    seed: int,
    plot_dir: Path | None = None,
    progress: bool = True,
) -> Table:
    """Evaluate every entry on every cell (same held-out trials), with the paper's figures and bold marks.

    With ``plot_dir``, writes a bar chart per cell and, for bandits, cumulative regret curves.
    """
    from rich.console import Console
    from rich.progress import Progress

    from rl2_agent.experiments.paper import paper_value

    check_runs(family, cells, entries)
    table = Table({}, {}, [])
    with Progress(console=Console(stderr=True), transient=True, disable=not progress) as bar:
        task = bar.add_task("cells", total=len(cells))
        for cell in cells:
            bar.update(task, description=f"cell {cell.key}")
            result = evaluate_cell(family, cell, entries, n_trials, seed, regret=plot_dir is not None)
            bold = bold_agents(result.returns)
            table.stats[cell.key] = {}
            for entry in entries:
                mean, se = mean_se(result.returns[entry.label])
                paper = paper_value(family, cell.key, entry.paper_key(cell))
                table.stats[cell.key][entry.label] = {"mean": mean, "se": se, "paper": paper, "bold": entry.label in bold}
            table.results[cell.key] = result
            if plot_dir is not None:
                table.plots += _plot_cell(Path(plot_dir), family, cell.key, table.stats[cell.key], result.regret)
            bar.advance(task)
    return table


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=["bandit", "mdp"], required=True, help="bandit (RL^2 Table 1) or mdp (Table 2)")
    parser.add_argument("--cells", default=None, help='"10,5 100,5" (bandit: episodes,arms) or "10 25" (mdp); default: all')
    parser.add_argument(
        "--agents",
        default=None,
        help="baselines and label=run_dir entries, comma-separated ({n}, {k} in run_dir: each cell's); default: all",
    )
    parser.add_argument("--trials", type=int, default=1000, help="held-out trials per cell (default 1000)")
    parser.add_argument("--seed", type=int, default=EVAL_SEED, help=f"first held-out seed (default {EVAL_SEED})")
    parser.add_argument("--json", type=Path, default=None, help="write the results to this JSON file (and a CSV next to it)")
    parser.add_argument("--plot-dir", type=Path, default=None, help="write a bar chart per cell (and bandit regret curves)")
    parser.add_argument(
        "--paired",
        nargs="*",
        default=None,
        metavar="A,B",
        help="also print the paired difference A - B of two agents' returns on the same trials (labels of --agents)",
    )


def run(args: argparse.Namespace) -> int:
    from rl2_agent.agents.baselines import parse_cells
    from rl2_agent.experiments.paper import PAPER

    family = args.family
    try:
        cells = parse_cells(family, args.cells, list(PAPER[family]))
        entries = parse_entries(family, args.agents)
        pairs = parse_pairs(args.paired, entries)
        check_held_out_args(args.trials, args.seed)
        if args.json is not None and (args.json.suffix.lower() == ".csv" or args.json.is_dir()):
            raise ValueError(f"--json must be a JSON file path (the CSV is written next to it), got {str(args.json)!r}")
        check_runs(family, cells, entries)
    except ValueError as err:
        logger.error("%s", err)
        return 2
    start = time.perf_counter()
    table = compute_table(family, cells, entries, args.trials, args.seed, plot_dir=args.plot_dir)
    stats = table.stats
    labels = [e.label for e in entries]
    print(
        f"\nRL^2 {'Table 1 (bandits)' if family == 'bandit' else 'Table 2 (tabular MDPs)'}: mean trial return ± s.e. over "
        f"{args.trials} held-out trials (seeds {args.seed}..{args.seed + args.trials - 1}); the paper's figure in brackets; "
        f"bold: not significantly below the best (one-sided Welch t-test, p = {SIGNIFICANCE}).\n"
    )
    print(markdown_table(family, stats, labels))
    if pairs:
        print(f"\nPaired differences on the same {args.trials} trials (mean ± s.e. of the per-trial difference):\n")
        print(paired_table(table.results, pairs))
    logger.info("table done in %.1f s", time.perf_counter() - start)
    if args.json:
        csv_path = _write_outputs(args.json, family, stats, args.trials, args.seed)
        logger.info("wrote %s and %s", args.json, csv_path)
        if pairs:
            paired_path = _write_paired(args.json, family, paired_differences(table.results, pairs), args.trials, args.seed)
            logger.info("wrote %s", paired_path)
    return 0


def _plot_cell(
    plot_dir: Path, family: str, key: str, row: dict[str, dict[str, Any]], regret: dict[str, np.ndarray]
) -> list[Path]:
    from rl2_agent.reporting.figures import plot_cell_bars, plot_regret_curves

    plot_dir.mkdir(parents=True, exist_ok=True)
    name = key.replace(",", "_")
    title = f"{'bandit n,k' if family == 'bandit' else 'MDP n'} = {key}"
    paths = [plot_dir / f"{family}_{name}_bars.png"]
    plot_cell_bars(row, paths[0], title)
    if regret:
        paths.append(plot_dir / f"{family}_{name}_regret.png")
        plot_regret_curves(regret, paths[1], f"cumulative regret, {title}")
    return paths


if __name__ == "__main__":
    sys.exit(run_command("python -m rl2_agent.experiments.table", add_arguments, run, description=__doc__.splitlines()[0]))

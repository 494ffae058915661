"""The run folder: the one owner of its file names and of how each file is written and read.

What a run folder holds (every file written atomically: a temporary file, flushed to disk, then
renamed into place, so that a crash never leaves a half-written file):

``config.json``
    the exact configuration (env, kwargs, every hyperparameter, seed, versions, command line, and
    the ``"resumes"`` of a resumed run);
``checkpoint.zip``, ``vecnormalize.pkl``, ``checkpoint.json``
    the checkpoint set: the latest model, its reward-scaling statistics, and the training clock
    (``num_timesteps``, ``train_seconds``, ``best``); ``checkpoint.json`` is renamed into place
    last, so a crash while writing leaves the previous set whole;
``model.zip``
    the final model (``RecurrentPPO.load``);
``best_model.zip``
    the model of the evaluation with the best mean trial return so far (SB3's ``EvalCallback``
    convention);
``eval_log.csv``
    the evaluations during training on the validation tasks: ``timesteps, seconds, mean, se``
    (``seconds``: training wall-clock, evaluation time excluded, cumulative across resumes);
``eval.json``, ``eval.png`` (``best_eval.json``, ``best_eval.png``)
    written by ``rl2 evaluate`` (``--model best``): the scores on the held-out test tasks;
``tb/``
    TensorBoard logs, when tensorboard is installed.

Only numpy is imported here; :func:`load_model` imports sb3-contrib when it is called.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
CHECKPOINT_FILE = "checkpoint.zip"
CHECKPOINT_STATE = "checkpoint.json"
VECNORMALIZE_FILE = "vecnormalize.pkl"
MODEL_FILE = "model.zip"
BEST_MODEL_FILE = "best_model.zip"
EVAL_LOG = "eval_log.csv"
EVAL_LOG_COLUMNS = ("timesteps", "seconds", "mean", "se")
TENSORBOARD_DIR = "tb"

#: The files of a run folder that a new run in the same folder replaces (``overwrite=True``).
RUN_FILES = (MODEL_FILE, CHECKPOINT_FILE, CHECKPOINT_STATE, BEST_MODEL_FILE, VECNORMALIZE_FILE, EVAL_LOG)

#: ``rl2 evaluate --model`` -> the model file it scores (``"final"`` falls back to the checkpoint).
MODELS = {"final": (MODEL_FILE, CHECKPOINT_FILE), "best": (BEST_MODEL_FILE,)}


# ----------------------------------------------------------------------------- atomic writes
def _fsync(path: Path) -> Path:
    """Flush ``path``'s data to disk (before it is renamed into place); returns ``path``."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
    return path


def _staged_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file next to ``path``, flushed to disk; returns the temporary file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    return _fsync(tmp)


def _staged_model(model: Any, path: Path) -> Path:
    """Save ``model`` to a temporary .zip next to ``path``, flushed to disk; returns the temporary file."""
    tmp = path.with_name(path.stem + ".tmp.zip")
    model.save(tmp)
    return _fsync(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash never leaves a half-written file."""
    path = Path(path)
    os.replace(_staged_text(path, text), path)


def save_model_atomic(model: Any, path: str | Path) -> None:
    """Save ``model`` (anything with SB3's ``save``) to ``path``, a .zip, so that a crash never leaves a half-written file."""
    path = Path(path)
    os.replace(_staged_model(model, path), path)


# ----------------------------------------------------------------------------- the run as a whole
def existing_run(out: str | Path) -> list[str]:
    """The files of ``out`` that show it holds a training run (a model or a checkpoint); empty if none."""
    return [name for name in (MODEL_FILE, CHECKPOINT_FILE) if (Path(out) / name).exists()]


def clear_run(out: str | Path) -> None:
    """Delete the files of a training run from ``out`` (:data:`RUN_FILES`), before a new run trains there."""
    for name in RUN_FILES:
        (Path(out) / name).unlink(missing_ok=True)


def versions() -> dict[str, str]:
    """The versions of Python and of the libraries a run depends on (recorded in ``config.json``)."""
    import gymnasium
    import sb3_contrib
    import stable_baselines3
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "sb3_contrib": sb3_contrib.__version__,
        "gymnasium": gymnasium.__version__,
        "numpy": np.__version__,
    }


# ----------------------------------------------------------------------------- config.json
def write_config(out: str | Path, record: dict[str, Any]) -> None:
    """Write ``config.json`` (objects JSON does not know as their ``str``)."""
    atomic_write_text(Path(out) / CONFIG_FILE, json.dumps(record, indent=2, default=str))


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a run folder.

    :raises FileNotFoundError: when ``run_dir`` holds none (not a training output folder).
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a training output folder?")
    return json.loads(path.read_text())


# ----------------------------------------------------------------------------- checkpoints and models
def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a checkpoint to resume from."""
    return (Path(run_dir) / CHECKPOINT_FILE).exists()


def write_checkpoint(out: str | Path, model: Any, state: dict[str, Any]) -> None:
    """Write the checkpoint set: ``model``, its reward-scaling statistics (if any) and ``state``.

    All of them are written to temporary files first (flushed to disk) and only then renamed into
    place, ``checkpoint.json`` (``state``) last: a crash while writing leaves the previous set whole,
    and the renames take microseconds. ``state["num_timesteps"]`` names the step of ``checkpoint.zip``;
    a resume checks that they agree.
    """
    out = Path(out)
    staged = [(_staged_model(model, out / CHECKPOINT_FILE), out / CHECKPOINT_FILE)]
    vec_normalize = model.get_vec_normalize_env()
    if vec_normalize is not None:  # reward-scaling statistics, needed to resume
        tmp = out / (VECNORMALIZE_FILE + ".tmp")
        vec_normalize.save(str(tmp))
        staged.append((_fsync(tmp), out / VECNORMALIZE_FILE))
    staged.append((_staged_text(out / CHECKPOINT_STATE, json.dumps(state)), out / CHECKPOINT_STATE))
    for tmp, path in staged:
        os.replace(tmp, path)


def read_checkpoint_state(run_dir: str | Path) -> dict[str, Any] | None:
    """The ``checkpoint.json`` of a run folder (``num_timesteps``, ``train_seconds``, ``best``); None if none."""
    path = Path(run_dir) / CHECKPOINT_STATE
    return json.loads(path.read_text()) if path.exists() else None


def load_model(run_dir: str | Path, device: str = "cpu", which: str = "final") -> Any:
    """A ``RecurrentPPO`` model of a run folder.

    ``which="final"``: the final model, or the latest checkpoint if training did not finish;
    ``"best"``: the model of the best evaluation during training (``best_model.zip``).

    :raises ValueError: for another ``which``.
    :raises FileNotFoundError: when the run folder holds no such model.
    """
    from sb3_contrib import RecurrentPPO

    run_dir = Path(run_dir)
    if which not in MODELS:
        raise ValueError(f"which must be one of {list(MODELS)}, got {which!r}")
    names = MODELS[which]
    for name in names:
        if (run_dir / name).exists():
            if name == CHECKPOINT_FILE:
                logger.warning("no %s in %s (training has not finished): using the latest checkpoint, %s", MODEL_FILE, run_dir, name)
            return RecurrentPPO.load(run_dir / name, device=device)
    raise FileNotFoundError(f"no {' or '.join(names)} in {run_dir}")


def scored_model(run_dir: str | Path, which: str = "final") -> str:
    """What :func:`load_model` ``(which=...)`` loads now: ``"final"``, ``"best"``, or ``"checkpoint"``
    (a run whose training has not finished)."""
    return "checkpoint" if which == "final" and not (Path(run_dir) / MODEL_FILE).exists() else which


def evaluation_files(out: str | Path, which: str = "final") -> tuple[Path, Path]:
    """The JSON and PNG that ``rl2 evaluate --model which`` writes in ``out``: ``eval.json``, ``eval.png``
    (``best_eval.json``, ``best_eval.png`` for the best model)."""
    prefix = "" if which == "final" else f"{which}_"
    return Path(out) / f"{prefix}eval.json", Path(out) / f"{prefix}eval.png"


# ----------------------------------------------------------------------------- eval_log.csv
@dataclass(frozen=True, eq=False)
class EvalLog:
    """One run's evaluations during training; every array has shape (n_evaluations,)."""

    timesteps: np.ndarray
    seconds: np.ndarray
    mean: np.ndarray
    se: np.ndarray

    def __post_init__(self) -> None:
        if len(self.timesteps) == 0:
            raise ValueError("an evaluation log needs at least one evaluation")

    @property
    def best(self) -> int:
        """Index of the best mean (the first one on ties, as ``best_model.zip`` keeps)."""
        return int(np.argmax(self.mean))

    def first_reaching(self, target: float) -> int | None:
        """Index of the first evaluation with ``mean >= target``; None if none."""
        hits = np.flatnonzero(self.mean >= target)
        return int(hits[0]) if hits.size else None

    def rows(self) -> list[dict[str, float]]:
        """The evaluations as the rows of ``eval_log.csv`` (``timesteps`` as an int)."""
        return [
            dict(zip(EVAL_LOG_COLUMNS, (int(row[0]), *(float(x) for x in row[1:]))))
            for row in zip(self.timesteps, self.seconds, self.mean, self.se)
        ]


def eval_log_file(run: str | Path) -> Path:
    """The evaluation log that ``run`` names: a run folder's ``eval_log.csv``, or a CSV file given directly."""
    path = Path(run)
    return path / EVAL_LOG if path.is_dir() else path


def read_eval_log(path: str | Path) -> EvalLog:
    """Read ``eval_log.csv`` from a run folder, or from a CSV file given directly.

    :raises FileNotFoundError: when there is no log (the run never evaluated).
    :raises ValueError: when the file lacks a column or has no rows.
    """
    path = eval_log_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation log {path}: the run has not evaluated yet (see --eval-every of rl2 train)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in EVAL_LOG_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; an evaluation log has columns {list(EVAL_LOG_COLUMNS)}")
        rows = list(reader)
    if not rows:
        raise ValueError(f"{path}: no evaluations in the log")
    cols = {c: np.array([float(r[c]) for r in rows]) for c in EVAL_LOG_COLUMNS}
    return EvalLog(**cols)


def has_eval_log(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds an evaluation log."""
    return (Path(run_dir) / EVAL_LOG).exists()


def append_eval_row(out: str | Path, row: dict[str, float]) -> None:
    """Append one evaluation (the keys of :data:`EVAL_LOG_COLUMNS`) to ``eval_log.csv``, with a header if new."""
    path = Path(out) / EVAL_LOG
    new = not path.exists()
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(EVAL_LOG_COLUMNS))
        if new:
            writer.writeheader()
        writer.writerow(row)


def write_eval_log(out: str | Path, rows: list[dict[str, float]]) -> None:
    """Replace ``eval_log.csv`` with ``rows`` (as :func:`append_eval_row` writes them), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EVAL_LOG_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(out) / EVAL_LOG, buf.getvalue())

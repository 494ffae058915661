"""The run folder: the one owner of its file names and of how each file is written and read.

What a run folder holds (every file written atomically: a temporary file, flushed to disk, then
renamed into place, so that a crash never leaves a half-written file; a write that fails, on a full
disk for instance, removes its temporary file):

``config.json``
    the exact configuration (env, kwargs, every hyperparameter, seed, versions, command line, and
    the ``"resumes"`` of a resumed run);
``checkpoint.zip``, ``vecnormalize.pkl``, ``checkpoint.json`` (and ``best_model.zip``)
    the checkpoint set: the latest model, its reward-scaling statistics, the training clock
    (``num_timesteps``, ``train_seconds``, ``best``: the best evaluation's ``eval_log.csv`` row) and,
    when that model is a new best, ``best_model.zip``. The set is written as a whole or not at all
    (:func:`write_checkpoint`): a crash leaves the previous set, or the new one;
``model.zip``
    the final model (``RecurrentPPO.load``);
``best_model.zip``
    the model of the evaluation with the best mean trial return so far (SB3's ``EvalCallback``
    convention), always that of ``checkpoint.json``'s ``best`` (the same step);
``eval_log.csv``
    the evaluations during training on the validation tasks: ``timesteps, seconds, mean, se``
    (``seconds``: training wall-clock, evaluation time excluded, cumulative across resumes);
``eval.json``, ``eval.png`` (``best_eval.json``, ``best_eval.png``)
    written by ``rl2 evaluate`` (``--model best``): the scores on the held-out test tasks;
``tb/``
    TensorBoard logs, when tensorboard is installed.

A file that cannot be read (damaged, or not what its name says) raises
:class:`~rl2_agent.arguments.UserError` naming it and what to do; a write that fails raises the
``OSError`` with the path it was writing.

Only numpy is imported here; :func:`load_model` imports sb3-contrib when it is called.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import platform
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl2_agent.arguments import UserError

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
#: A checkpoint set being written: ``checkpoint.staging-<id>/`` holds its files until they are renamed into place.
STAGING_PREFIX = "checkpoint.staging-"

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


@contextlib.contextmanager
def _writing(path: Path, *temporary: Path) -> Iterator[None]:
    """On any exception (a full disk, Ctrl-C) inside: remove the ``temporary`` files, and give an ``OSError``
    that names no file the name of ``path``, the file being written."""
    try:
        yield
    except BaseException as err:
        for tmp in temporary:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno is not None and err.filename is None:
            raise OSError(err.errno, err.strerror, str(path)) from err
        raise


def _staged_text(path: Path, text: str, tmp: Path | None = None) -> Path:
    """Write ``text`` to a temporary file (``tmp``, default next to ``path``), flushed to disk; returns it."""
    tmp = path.with_name(path.name + ".tmp") if tmp is None else tmp
    with _writing(path, tmp):
        tmp.write_text(text)
        _fsync(tmp)
    return tmp


def _staged_model(model: Any, path: Path, tmp: Path | None = None) -> Path:
    """Save ``model`` to a temporary .zip (``tmp``, default next to ``path``), flushed to disk; returns it."""
    tmp = path.with_name(path.stem + ".tmp.zip") if tmp is None else tmp
    with _writing(path, tmp):
        model.save(tmp)
        _fsync(tmp)
    return tmp


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash never leaves a half-written file."""
    path = Path(path)
    tmp = _staged_text(path, text)
    with _writing(path, tmp):
        os.replace(tmp, path)


def save_model_atomic(model: Any, path: str | Path) -> None:
    """Save ``model`` (anything with SB3's ``save``) to ``path``, a .zip, so that a crash never leaves a half-written file."""
    path = Path(path)
    tmp = _staged_model(model, path)
    with _writing(path, tmp):
        os.replace(tmp, path)


def read_json(path: str | Path, what: str = "file") -> Any:
    """The JSON content of ``path``.

    :raises FileNotFoundError: when there is no such file.
    :raises UserError: naming ``path`` (``what`` it should be), when it is not JSON (damaged, or another kind of file).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        where = f"{err.msg} at line {err.lineno}" if isinstance(err, json.JSONDecodeError) else "not text"
        raise UserError(
            f"{path} is not valid JSON ({where}): this {what} is damaged or is another kind of file; "
            "restore it, or write it again"
        ) from None


def check_folder_path(out: str | Path, flag: str = "out") -> None:
    """Raise ``UserError`` naming ``flag`` if ``out`` cannot be a folder: it, or a folder above it, is a file."""
    path = Path(out)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                where = "" if part == path else f" ({part} is a file)"
                raise UserError(f"{flag} {out}: a file, not a folder{where}: give a folder path")
            return


# ----------------------------------------------------------------------------- the run as a whole
def existing_run(out: str | Path) -> list[str]:
    """The files of ``out`` that show it holds a training run (a model or a checkpoint); empty if none."""
    return [name for name in (MODEL_FILE, CHECKPOINT_FILE) if (Path(out) / name).exists()]


def clear_run(out: str | Path) -> None:
    """Delete the files of a training run from ``out`` (:data:`RUN_FILES`, checkpoint sets being written and
    temporary files), before a new run trains there."""
    for name in RUN_FILES:
        (Path(out) / name).unlink(missing_ok=True)
    _remove_leftovers(Path(out))


def _remove_leftovers(out: Path, keep: Path | None = None) -> None:
    """Delete the temporary files of writes that a crash interrupted, and the staging folders but ``keep``."""
    if not out.is_dir():
        return
    for path in out.iterdir():
        if path.name.startswith(STAGING_PREFIX) and path != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.endswith((".tmp", ".tmp.zip")) and path.is_file():
            path.unlink(missing_ok=True)


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


def read_config(run_dir: str | Path, to_resume: bool = False) -> dict[str, Any]:
    """The ``config.json`` of a run folder (``to_resume``: of a run to resume, which needs its hyperparameters).

    :raises FileNotFoundError: when ``run_dir`` holds none (not a training output folder).
    :raises UserError: naming the file, when it is not JSON, or lacks the run's env (or, ``to_resume``, its
        hyperparameters).
    """
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a training output folder?")
    config = read_json(path, "run configuration")
    kinds = {"env_id": str, "env_kwargs": dict, **({"hyperparams": dict} if to_resume else {})}
    wrong = [key for key, kind in kinds.items() if not isinstance(config, dict) or not isinstance(config.get(key), kind)]
    if wrong:
        raise UserError(
            f"{path} lacks {', '.join(wrong)} (a training run's config.json has them): the file is damaged "
            "or is not a run's; restore it, or train into a new --out"
        )
    return config


# ----------------------------------------------------------------------------- checkpoints and models
def has_checkpoint(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds a checkpoint to resume from."""
    return (Path(run_dir) / CHECKPOINT_FILE).exists()


def write_checkpoint(out: str | Path, model: Any, state: dict[str, Any], best: bool = False) -> None:
    """Write the checkpoint set: ``model``, its reward-scaling statistics (if any), ``state`` and, with
    ``best=True``, ``model`` as ``best_model.zip`` too (a new best evaluation, ``state["best"]``).

    The set is written as a whole or not at all, in two phases: every file is first written to a
    staging folder (``checkpoint.staging-<id>/``, flushed to disk); then ``checkpoint.json`` (``state``
    and the staging folder's id) is renamed into place, which commits the set; then the other files
    are renamed into place and the staging folder removed. A crash before the commit leaves the
    previous set (:func:`recover_checkpoint` removes the staging folder); a crash after it, a staging
    folder that :func:`recover_checkpoint` finishes renaming. ``state["num_timesteps"]`` names the step
    of ``checkpoint.zip``; a resume checks that they agree. A write that fails (a full disk) removes
    what it staged and raises.
    """
    out = Path(out)
    staging = out / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        staging.mkdir()
        checkpoint = _staged_model(model, out / CHECKPOINT_FILE, staging / CHECKPOINT_FILE)
        if best:  # the same weights: a copy of the checkpoint just written
            with _writing(out / BEST_MODEL_FILE):
                _fsync(Path(shutil.copyfile(checkpoint, staging / BEST_MODEL_FILE)))
        vec_normalize = model.get_vec_normalize_env()
        if vec_normalize is not None:  # reward-scaling statistics, needed to resume
            with _writing(out / VECNORMALIZE_FILE):
                vec_normalize.save(str(staging / VECNORMALIZE_FILE))
                _fsync(staging / VECNORMALIZE_FILE)
        _fsync_folder(staging)
        atomic_write_text(out / CHECKPOINT_STATE, json.dumps({**state, "staging": staging.name}))  # the commit
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _finish_staging(out, staging)


def _fsync_folder(folder: Path) -> None:
    """Flush ``folder``'s entries (the names of the files in it) to disk, where the platform allows it."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _finish_staging(out: Path, staging: Path) -> None:
    """Rename the files of a committed staging folder into place, then remove it."""
    for name in (VECNORMALIZE_FILE, BEST_MODEL_FILE, CHECKPOINT_FILE):
        if (staging / name).exists():
            with _writing(out / name):
                os.replace(staging / name, out / name)
    shutil.rmtree(staging, ignore_errors=True)


def model_step(path: str | Path) -> int | None:
    """The ``num_timesteps`` that the SB3 model file ``path`` was saved at (read without loading it); None
    if the file is missing or unreadable."""
    try:
        with zipfile.ZipFile(path) as archive:
            return int(json.loads(archive.read("data"))["num_timesteps"])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        return None


def recover_checkpoint(run_dir: str | Path) -> None:
    """Make the checkpoint set of ``run_dir`` whole after a crash (see :func:`write_checkpoint`).

    A committed staging folder (named in ``checkpoint.json``) has its files renamed into place; any other
    staging folder and every temporary file of an interrupted write are deleted. A ``best_model.zip``
    whose step is not that of ``checkpoint.json``'s best (saved apart from its checkpoint set, and the run
    killed before that checkpoint) holds weights of a timeline that the resume discards: it is deleted,
    with a warning, and the resumed run saves a new best.
    """
    out = Path(run_dir)
    path = out / CHECKPOINT_STATE
    loaded = read_json(path, "checkpoint state") if path.is_file() else None
    state: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
    if isinstance(state.get("staging"), str) and (out / state["staging"]).is_dir():
        logger.info("%s: finishing the checkpoint set at step %s that a crash interrupted", out, state.get("num_timesteps"))
        _finish_staging(out, out / state["staging"])
    _remove_leftovers(out)
    best = state.get("best")
    best_file = out / BEST_MODEL_FILE
    if best_file.exists():
        step = model_step(best_file)
        if not isinstance(best, dict) or step is None or step != best.get("timesteps"):
            logger.warning(
                "%s holds the model of step %s, not the best evaluation of %s (step %s): a run killed after a "
                "new best but before its checkpoint; deleting it, the resumed run saves a new best",
                best_file,
                step,
                CHECKPOINT_STATE,
                best.get("timesteps") if isinstance(best, dict) else None,
            )
            best_file.unlink()


def read_checkpoint_state(run_dir: str | Path) -> dict[str, Any] | None:
    """The ``checkpoint.json`` of a run folder (``num_timesteps``, ``train_seconds``, ``best``); None if there is
    no checkpoint. A ``checkpoint.zip`` without it (the file was deleted) gives the model's step, a training
    clock at 0 and no best, with a warning.

    :raises UserError: naming the file, when it is damaged (or, without ``checkpoint.json``, ``checkpoint.zip`` is).
    """
    path, checkpoint = Path(run_dir) / CHECKPOINT_STATE, Path(run_dir) / CHECKPOINT_FILE
    if not path.is_file():
        if not checkpoint.exists():
            return None
        step = model_step(checkpoint)
        if step is None:
            raise UserError(
                f"{checkpoint} is not a readable model and {path} is missing: the checkpoint is damaged; "
                "train again into this folder with --overwrite, or into a new --out"
            )
        logger.warning(
            "%s has no %s: resuming at %s's step %d with the training clock at 0",
            run_dir,
            CHECKPOINT_STATE,
            CHECKPOINT_FILE,
            step,
        )
        return {"num_timesteps": step, "train_seconds": 0.0, "best": None}
    state = read_json(path, "checkpoint state")
    ok = (
        isinstance(state, dict)
        and isinstance(state.get("num_timesteps"), int)
        and isinstance(state.get("train_seconds"), (int, float))
    )
    if not ok:
        raise UserError(
            f"{path} lacks num_timesteps or train_seconds: the file is damaged; delete it to resume from "
            f"{CHECKPOINT_FILE}'s step with the training clock at 0"
        )
    return state


def load_model_file(path: str | Path, **kwargs: Any) -> Any:
    """``RecurrentPPO.load(path, **kwargs)``, with a file that cannot be loaded as one line naming it.

    :raises UserError: naming ``path``, for a damaged file (a truncated zip or a truncated tensor file inside
        it) or one that is not an SB3 model.
    """
    from sb3_contrib import RecurrentPPO

    try:
        return RecurrentPPO.load(path, **kwargs)
    except Exception as err:
        message = " ".join(str(err).split())
        if isinstance(err, OSError) and err.errno is not None or "spaces do not match" in message:
            raise  # a file that cannot be opened (named by the error), or a model of another env
        first = message[:200] + ("..." if len(message) > 200 else "")
        raise UserError(
            f"{path} is not a readable model ({type(err).__name__}: {first}): the file is damaged (e.g. "
            "truncated) or was not saved by SB3; use another model of the run, or train again"
        ) from err


def load_vec_normalize(path: str | Path, venv: Any) -> Any:
    """``VecNormalize.load(path, venv)``: the reward-scaling statistics of a checkpoint, on ``venv``.

    :raises UserError: naming ``path``, for a damaged file, or statistics of another observation space.
    """
    from stable_baselines3.common.vec_env import VecNormalize

    try:
        return VecNormalize.load(str(path), venv)
    except Exception as err:
        if isinstance(err, OSError) and err.errno is not None:
            raise
        message = " ".join(str(err).split())[:200]
        why = "another env's (other env kwargs?)" if "spaces" in message else "damaged"
        raise UserError(
            f"{path}: cannot load these reward-scaling statistics ({type(err).__name__}: {message}): "
            f"the file is {why}; resume with the run's own env, or train again"
        ) from err


def load_model(run_dir: str | Path, device: str = "cpu", which: str = "final") -> Any:
    """A ``RecurrentPPO`` model of a run folder.

    ``which="final"``: the final model, or the latest checkpoint if training did not finish;
    ``"best"``: the model of the best evaluation during training (``best_model.zip``).

    :raises ValueError: for another ``which``.
    :raises FileNotFoundError: when the run folder holds no such model.
    :raises UserError: naming the file, when it cannot be loaded (see :func:`load_model_file`).
    """
    run_dir = Path(run_dir)
    if which not in MODELS:
        raise ValueError(f"which must be one of {list(MODELS)}, got {which!r}")
    names = MODELS[which]
    for name in names:
        if (run_dir / name).exists():
            if name == CHECKPOINT_FILE:
                logger.warning(
                    "no %s in %s (training has not finished): using the latest checkpoint, %s", MODEL_FILE, run_dir, name
                )
            return load_model_file(run_dir / name, device=device)
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
    :raises UserError: naming the file, when it lacks a column, has no rows, or a value that is not a number.
    """
    path = eval_log_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation log {path}: the run has not evaluated yet (see --eval-every of rl2 train)")
    try:
        with path.open(newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in EVAL_LOG_COLUMNS if c not in (reader.fieldnames or [])]
            rows = [] if missing else list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise UserError(f"{path} is not a CSV file ({err}): the evaluation log is damaged; restore it") from None
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; an evaluation log has columns {list(EVAL_LOG_COLUMNS)}")
    if not rows:
        raise UserError(f"{path}: no evaluations in the log")
    cols: dict[str, np.ndarray] = {}
    for c in EVAL_LOG_COLUMNS:
        try:
            cols[c] = np.array([float(r[c]) for r in rows])
        except (TypeError, ValueError):
            line = next(i for i, r in enumerate(rows, start=2) if not _is_number(r[c]))
            raise UserError(
                f"{path}, line {line}: {c} is {rows[line - 2][c]!r}, not a number: the evaluation log is "
                "damaged; correct or delete that line"
            ) from None
    if not np.all(np.isfinite(cols["timesteps"])):
        raise UserError(f"{path}: a timesteps value is not finite: the evaluation log is damaged; correct that line")
    return EvalLog(**cols)


def _is_number(text: Any) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def has_eval_log(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` holds an evaluation log."""
    return (Path(run_dir) / EVAL_LOG).exists()


def append_eval_row(out: str | Path, row: dict[str, float]) -> None:
    """Append one evaluation (the keys of :data:`EVAL_LOG_COLUMNS`) to ``eval_log.csv``, with a header if new.

    The file is written again whole, atomically (it holds one short line per evaluation): a crash or a
    full disk never leaves half a line.
    """
    path = Path(out) / EVAL_LOG
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EVAL_LOG_COLUMNS))
    if not path.exists():
        writer.writeheader()
    writer.writerow(row)
    with path.open(newline="") if path.exists() else io.StringIO() as f:  # newline="": the csv module's line ends kept
        logged = f.read()
    atomic_write_text(path, logged + buf.getvalue())


def write_eval_log(out: str | Path, rows: list[dict[str, float]]) -> None:
    """Replace ``eval_log.csv`` with ``rows`` (as :func:`append_eval_row` writes them), atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EVAL_LOG_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(Path(out) / EVAL_LOG, buf.getvalue())

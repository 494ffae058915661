"""Train RL^2: stock sb3-contrib ``RecurrentPPO`` + :class:`~rl2_agent.policies.RL2GRUPolicy`.

CLI::

    python -m rl2_agent train --env RL2Bandit-v0 --env-kwargs num_arms=5 episodes_per_trial=10 \\
        --timesteps 2e6 --seed 0 --out runs/x [--n-envs 32] [--hyperparams learning_rate=3e-4] [--resume]

What a run folder holds (all written atomically: temp file + rename):

``config.json``
    the exact configuration (env, kwargs, every hyperparameter, seed, versions, command line);
``checkpoint.zip`` / ``checkpoint.json``
    the latest checkpoint (every ``--checkpoint-every`` steps, at each evaluation, and on
    ctrl-C) and the training clock; ``--resume`` continues from it, with the run's saved settings
    (``--hyperparams`` may change the PPO ones, e.g. a lower learning rate; see ``RESUME_CHANGEABLE``);
``model.zip``
    the final model (``RecurrentPPO.load``);
``best_model.zip``
    the model of the evaluation with the best mean trial return so far (SB3's ``EvalCallback``
    convention); ``rl2 evaluate --model best`` scores it on the held-out test tasks;
``eval_log.csv``
    evaluations during training: steps, wall seconds, mean trial return, s.e. They play the
    validation tasks (``VALIDATION_SEED``), never the held-out test tasks of ``rl2 evaluate`` and
    ``rl2 table`` (``EVAL_SEED``), so choosing the best model does not bias its test score;
``tb/``
    TensorBoard logs, when tensorboard is installed.

A new run refuses a folder that already holds a run (``--resume`` continues it, ``--overwrite``
replaces it), so that no trained model is lost by a repeated command.

The learning loop is stock SB3: trials are gymnasium episodes, so the recurrent state is reset
only at trial starts and returns/advantages flow across inner-episode boundaries (the RL^2
objective).
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib.util
import io
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList, ProgressBarCallback
from stable_baselines3.common.utils import ConstantSchedule
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

import meta_envs  # noqa: F401
from meta_envs.registration import effective_kwargs
from meta_envs.validation import check_positive_int
from rl2_agent.buffers import use_fast_rollout_buffer
from rl2_agent.curves import EVAL_LOG, EVAL_LOG_COLUMNS, read_eval_log
from rl2_agent.envs import make_vec_env
from rl2_agent.evaluate import VALIDATION_SEED, SB3RecurrentAgent, check_observation_space, run_trials
from rl2_agent.hyperparams import (
    DEFAULT_TIMESTEPS,
    SCHEDULE_KEYS,
    TIME_BUDGET_EVAL_EVERY,
    TIME_BUDGET_STEP_CAP,
    get_hyperparams,
    is_schedule,
    resolve_schedules,
)

logger = logging.getLogger(__name__)

CONFIG_FILE, CHECKPOINT_FILE, CHECKPOINT_STATE, MODEL_FILE, BEST_MODEL_FILE, VECNORMALIZE_FILE = (
    "config.json",
    "checkpoint.zip",
    "checkpoint.json",
    "model.zip",
    "best_model.zip",
    "vecnormalize.pkl",
)


@dataclass
class TrainConfig:
    """Everything that defines a training run (written to ``config.json``)."""

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    total_timesteps: int = DEFAULT_TIMESTEPS
    seed: int = 0
    out: str = "runs/rl2"
    hyperparams: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0  # steps between evaluations on the validation tasks; 0 = total_timesteps / 20
    eval_trials: int = 500
    checkpoint_every: int = 0  # 0 = at each evaluation only
    max_seconds: float = 0.0  # stop training after this much wall-clock (evaluations excluded); 0 = no limit
    # decay the learning rate linearly to 0 over this final fraction of the budget (see LearningRateAnneal); 0 = none
    lr_anneal: float = 0.0
    threads: int = 1  # torch CPU threads; 1 is fastest for these small GRUs (and >10x faster on a busy CPU)
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.env_id not in gym.registry:
            raise ValueError(f"unknown env id {self.env_id!r}; registered meta_envs ids: {sorted(meta_envs.ENV_IDS)}")
        # numpy scalars (a sweep over np.arange) as plain Python values: config.json must read back as given
        self.env_kwargs = _plain(dict(self.env_kwargs))
        self.hyperparams = _plain(dict(self.hyperparams))
        gym.make(self.env_id, **self.env_kwargs).close()  # validates env_kwargs now, with the env's own errors
        if isinstance(self.total_timesteps, float) and self.total_timesteps.is_integer():
            self.total_timesteps = int(self.total_timesteps)  # 2e6
        for name, minimum in (("total_timesteps", 1), ("eval_trials", 1), ("threads", 1), ("seed", 0), ("eval_every", 0),
                              ("checkpoint_every", 0)):  # fmt: skip
            setattr(self, name, check_positive_int(name, getattr(self, name), minimum))
        if not float(self.max_seconds) >= 0:
            raise ValueError(f"max_seconds must be a number >= 0 (0: no time limit), got {self.max_seconds!r}")
        if isinstance(self.lr_anneal, bool) or not isinstance(self.lr_anneal, (int, float)) or not 0 <= self.lr_anneal <= 1:
            raise ValueError(
                f"lr_anneal must be a fraction of the training budget in [0, 1] (0: a constant learning rate), "
                f"got {self.lr_anneal!r}"
            )
        self.total_timesteps = int(self.total_timesteps)
        self.hyperparams = get_hyperparams(self.env_id, self.hyperparams)
        normalize = self.hyperparams.get("normalize", False)
        if normalize not in (False, {"norm_obs": False, "norm_reward": True}):
            raise ValueError(
                "normalize must be False or {'norm_obs': False, 'norm_reward': True} (reward scaling only: agents and "
                f"evaluations read raw trial observations), got {normalize!r}"
            )
        hp = self.hyperparams
        for name in ("n_envs", "n_steps", "batch_size", "n_epochs"):
            check_positive_int(name, hp[name])
        for name in ("gamma", "gae_lambda"):
            if isinstance(hp[name], bool) or not isinstance(hp[name], (int, float)) or not 0 < hp[name] <= 1:
                raise ValueError(f"{name} must be a number in (0, 1], got {hp[name]!r}")
        rollout = int(hp["n_envs"]) * int(hp["n_steps"])
        if int(hp["batch_size"]) > rollout:  # SB3 would silently use the whole rollout as one minibatch
            raise ValueError(
                f"batch_size ({hp['batch_size']}) must be <= one rollout, n_envs * n_steps = {hp['n_envs']} * "
                f"{hp['n_steps']} = {rollout}; pass a smaller batch_size with --n-envs (e.g. --hyperparams "
                f"batch_size={rollout // 4})"
            )
        resolve_schedules(hp)  # validates learning_rate / clip_range
        scheduled = [k for k in SCHEDULE_KEYS if is_schedule(hp.get(k))]
        if self.lr_anneal and is_schedule(hp.get("learning_rate")):
            raise ValueError(
                f"lr_anneal={self.lr_anneal} and learning_rate={hp['learning_rate']!r} are two learning-rate schedules: "
                "give a constant learning_rate with lr_anneal, or no lr_anneal"
            )
        if scheduled and self.total_timesteps >= TIME_BUDGET_STEP_CAP:
            raise ValueError(
                f"{', '.join(f'{k}={hp[k]!r}' for k in scheduled)}: a 'lin_' schedule decays to 0 at total_timesteps, "
                f"so it needs a step budget (--timesteps), not only a time budget (--max-minutes)"
            )
        if not self.eval_every:
            self.eval_every = max(self.total_timesteps // 20, 1)


# ----------------------------------------------------------------------------- files
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


def _staged_model(model: RecurrentPPO, path: Path) -> Path:
    """Save ``model`` to a temporary .zip next to ``path``, flushed to disk; returns the temporary file."""
    tmp = path.with_name(path.stem + ".tmp.zip")
    model.save(tmp)
    return _fsync(tmp)


def _atomic_write_text(path: Path, text: str) -> None:
    os.replace(_staged_text(path, text), path)


def save_model_atomic(model: RecurrentPPO, path: Path) -> None:
    """Save ``model`` to ``path`` (a .zip) so that a crash never leaves a half-written file."""
    os.replace(_staged_model(model, path), path)


def _plain(x: Any) -> Any:
    """``x`` with numpy scalars turned into Python ones (recursively through dicts, lists and tuples)."""
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(v) for v in x)
    return x


def as_json(x: Any) -> Any:
    """``x`` as it reads back from ``config.json`` (tuples -> lists, other objects -> str)."""
    return json.loads(json.dumps(x, default=str))


def read_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a training output folder?")
    return json.loads(path.read_text())


def load_model(run_dir: str | Path, device: str = "cpu", which: str = "final") -> RecurrentPPO:
    """A model of a run folder.

    ``which="final"``: the final model, or the latest checkpoint if training did not finish;
    ``"best"``: the model of the best evaluation during training (``best_model.zip``).
    """
    run_dir = Path(run_dir)
    if which not in ("final", "best"):
        raise ValueError(f"which must be 'final' or 'best', got {which!r}")
    names = (MODEL_FILE, CHECKPOINT_FILE) if which == "final" else (BEST_MODEL_FILE,)
    for name in names:
        if (run_dir / name).exists():
            if name == CHECKPOINT_FILE:
                logger.warning("no %s in %s (training has not finished): using the latest checkpoint, %s", MODEL_FILE, run_dir, name)
            return RecurrentPPO.load(run_dir / name, device=device)
    raise FileNotFoundError(f"no {' or '.join(names)} in {run_dir}")


def _versions() -> dict[str, str]:
    import sb3_contrib
    import stable_baselines3

    return {
        "python": platform.python_version(),
        "torch": th.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "sb3_contrib": sb3_contrib.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
    }


# ----------------------------------------------------------------------------- model
def _resolve_policy(name: str) -> Any:
    if name == "rl2_agent.policies.RL2GRUPolicy":
        from rl2_agent.policies import RL2GRUPolicy

        return RL2GRUPolicy
    return name  # an SB3 alias such as "MlpLstmPolicy"


def build_model(config: TrainConfig, env: Any, tensorboard_log: str | None = None, fast_buffer: bool = True) -> RecurrentPPO:
    """A fresh ``RecurrentPPO`` for ``config`` on the vector env ``env``.

    ``fast_buffer``: with the gather-padding rollout buffer of :mod:`rl2_agent.buffers` (the same
    samples, faster), else sb3-contrib's own.
    """
    params = resolve_schedules({k: v for k, v in config.hyperparams.items() if k not in ("policy", "n_envs", "normalize")})
    model = RecurrentPPO(
        _resolve_policy(config.hyperparams["policy"]),
        env,
        seed=config.seed,
        device=config.device,
        tensorboard_log=tensorboard_log,
        verbose=0,
        **params,
    )
    return use_fast_rollout_buffer(model) if fast_buffer else model


class HeldOutEvalCallback(BaseCallback):
    """Every ``eval_every`` steps: evaluate on the validation tasks, log, keep the best model, checkpoint atomically."""

    def __init__(self, config: TrainConfig, out: Path, clock_offset: float = 0.0) -> None:
        super().__init__()
        self.config, self.out = config, out
        self.clock_offset = clock_offset  # seconds trained before a resume
        self.start = time.perf_counter()
        self.next_eval = 0
        self.next_checkpoint = 0
        self.trained_timesteps = 0  # steps the weights have been trained on (excludes a rollout in progress)
        self.stopped_early = False
        self.history: list[dict[str, float]] = []
        self.best: dict[str, float] | None = None  # the best evaluation so far, whose model is best_model.zip

    def elapsed(self) -> float:
        return self.clock_offset + time.perf_counter() - self.start

    def _on_training_start(self) -> None:
        self.trained_timesteps = self.num_timesteps
        self.next_eval = (self.num_timesteps // self.config.eval_every + 1) * self.config.eval_every
        every = self.config.checkpoint_every
        self.next_checkpoint = (self.num_timesteps // every + 1) * every if every else 0

    def _on_rollout_start(self) -> None:
        # called right after each PPO update: the model changes only here
        self.trained_timesteps = self.num_timesteps
        if self.num_timesteps >= self.next_eval:
            while self.next_eval <= self.num_timesteps:
                self.next_eval += self.config.eval_every
            self.evaluate()
            self.checkpoint()
        elif self.next_checkpoint and self.num_timesteps >= self.next_checkpoint:
            while self.next_checkpoint <= self.num_timesteps:
                self.next_checkpoint += self.config.checkpoint_every
            self.checkpoint()

    def _on_step(self) -> bool:
        if self.config.max_seconds and self.elapsed() >= self.config.max_seconds:
            logger.info("max_seconds=%s reached at step %d: stopping", self.config.max_seconds, self.trained_timesteps)
            self.stopped_early = True
            return False
        return True

    def evaluate(self) -> dict[str, float]:
        """Mean trial return of the stochastic policy on the validation tasks; appended to eval_log.csv.

        A new best mean saves the model as ``best_model.zip``.
        """
        cfg = self.config
        train_seconds = self.elapsed()
        res = run_trials(SB3RecurrentAgent(self.model), cfg.env_id, cfg.env_kwargs, cfg.eval_trials, VALIDATION_SEED)
        steps = int(self.model.num_timesteps)  # the model's, also when called outside learn() (see train)
        row = dict(zip(EVAL_LOG_COLUMNS, (steps, round(train_seconds, 2), res.mean, res.se)))
        self.clock_offset -= res.wall_seconds  # the training clock excludes evaluation time
        self.history.append(row)
        path = self.out / EVAL_LOG
        new = not path.exists()
        with path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new:
                writer.writeheader()
            writer.writerow(row)
        sb3_logger = getattr(self.model, "_logger", None)  # set up by learn() only
        if sb3_logger is not None:
            sb3_logger.record("eval/mean_trial_return", res.mean)
            sb3_logger.record("eval/se", res.se)
        logger.info("step %d (%.0f s): validation mean trial return %.3f +- %.3f", steps, train_seconds, res.mean, res.se)
        if self.best is None or res.mean > self.best["mean"]:
            self.best = row
            save_model_atomic(self.model, self.out / BEST_MODEL_FILE)
        return row

    def checkpoint(self) -> None:
        """Write the checkpoint set: the model, the reward-scaling statistics and ``checkpoint.json``.

        All three are written to temporary files first (flushed to disk) and only then renamed into place,
        ``checkpoint.json`` last: a crash while writing leaves the previous set whole, and the renames take
        microseconds. ``checkpoint.json`` names the step of ``checkpoint.zip``; a resume checks that they agree.
        """
        staged = [(_staged_model(self.model, self.out / CHECKPOINT_FILE), self.out / CHECKPOINT_FILE)]
        vec_normalize = self.model.get_vec_normalize_env()
        if vec_normalize is not None:  # reward-scaling statistics, needed to resume
            tmp = self.out / (VECNORMALIZE_FILE + ".tmp")
            vec_normalize.save(str(tmp))
            staged.append((_fsync(tmp), self.out / VECNORMALIZE_FILE))
        state = {"num_timesteps": int(self.model.num_timesteps), "train_seconds": self.elapsed(), "best": self.best}
        staged.append((_staged_text(self.out / CHECKPOINT_STATE, json.dumps(state)), self.out / CHECKPOINT_STATE))
        for tmp, path in staged:
            os.replace(tmp, path)


#: PPO settings that may change when a run is resumed (e.g. a lower learning rate to fine-tune);
#: the others (network, n_envs, n_steps, reward scaling) define the model and its rollouts.
RESUME_CHANGEABLE = frozenset(
    {"learning_rate", "batch_size", "n_epochs", "gamma", "gae_lambda", "clip_range", "clip_range_vf", "ent_coef",
     "vf_coef", "max_grad_norm", "target_kl", "normalize_advantage"}
)  # fmt: skip


def resume_changes(saved: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters that differ between a run's ``saved`` ones and the ``wanted`` ones.

    :raises ValueError: when one of them is not in :data:`RESUME_CHANGEABLE`.
    """
    changed = {k: v for k, v in wanted.items() if as_json(saved.get(k)) != as_json(v)}
    fixed = sorted(k for k in changed if k not in RESUME_CHANGEABLE)
    if fixed:
        raise ValueError(
            f"--resume: {', '.join(f'{k} ({saved.get(k)!r} -> {changed[k]!r})' for k in fixed)} cannot change in a "
            f"resumed run; settings that can: {sorted(RESUME_CHANGEABLE)}"
        )
    return changed


def make_training_env(config: TrainConfig, vecnormalize_path: Path | None = None, seed: int | None = None) -> VecEnv:
    """The vector env that ``config`` trains on: ``n_envs`` trials, seeded with ``seed`` (default
    ``config.seed``), with reward scaling if ``hyperparams["normalize"]`` (its statistics loaded from
    ``vecnormalize_path`` when that file exists).

    Reward scaling is for the learner only: observations (and so the agent's ``prev_reward`` input)
    stay raw.
    """
    seed = config.seed if seed is None else seed
    env = make_vec_env(config.env_id, config.hyperparams["n_envs"], config.env_kwargs, seed=seed)
    if not config.hyperparams.get("normalize"):
        return env
    if vecnormalize_path is not None and vecnormalize_path.exists():
        return VecNormalize.load(str(vecnormalize_path), env)
    return VecNormalize(env, norm_obs=False, norm_reward=True, gamma=config.hyperparams["gamma"])


class TimeBudgetProgressBar(BaseCallback):
    """A tqdm bar over the wall-clock budget (``max_seconds``), with the step count and rate.

    Used instead of SB3's step-count bar when a run is limited by time: the training clock of
    :class:`HeldOutEvalCallback` (evaluations excluded, earlier sessions of a resumed run included).
    """

    def __init__(self, clock: HeldOutEvalCallback, max_seconds: float) -> None:
        super().__init__()
        self.clock, self.max_seconds = clock, max_seconds
        self.bar: Any = None
        self.shown = 0.0

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=round(self.max_seconds), unit="s", desc="training (wall-clock budget)")
        self.shown = self.clock.elapsed()
        self.bar.update(round(self.shown))

    def _on_step(self) -> bool:
        now = min(self.clock.elapsed(), self.max_seconds)
        if now - self.shown >= 1.0:
            self.bar.update(round(now) - round(self.shown))
            self.shown = now
            self.bar.set_postfix_str(f"{self.num_timesteps:,} steps", refresh=False)
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            # a rollout cut by the time limit is not trained on, nor counted
            steps = self.clock.trained_timesteps if self.clock.stopped_early else self.num_timesteps
            self.bar.set_postfix_str(f"{steps:,} steps")
            self.bar.close()


class LearningRateAnneal(BaseCallback):
    """Decay the learning rate linearly to 0 over the last ``fraction`` of the training budget.

    The budget is the one that ends the run: ``total_timesteps`` or ``max_seconds`` (the training
    clock of :class:`HeldOutEvalCallback`), whichever is nearer to its end. Unlike RL Zoo's
    ``"lin_<value>"`` schedule, which decays over the whole step budget, this keeps the learning rate
    constant for most of the run and works with a wall-clock budget (``rl2 train --max-minutes``),
    where the number of steps is not known in advance.

    Set before each PPO update (at the end of a rollout) through ``model.lr_schedule``; the model's
    ``learning_rate`` is untouched, so a saved model or checkpoint loads with the configured rate.
    """

    def __init__(self, clock: HeldOutEvalCallback, fraction: float) -> None:
        super().__init__()
        self.clock, self.fraction = clock, fraction

    def factor(self) -> float:
        """The multiplier of the learning rate now: 1 until the last ``fraction`` of the budget, then down to 0."""
        cfg = self.clock.config
        used = self.num_timesteps / cfg.total_timesteps
        if cfg.max_seconds:
            used = max(used, self.clock.elapsed() / cfg.max_seconds)
        return float(np.clip((1.0 - used) / self.fraction, 0.0, 1.0))

    def _on_rollout_end(self) -> None:
        rate = float(self.clock.config.hyperparams["learning_rate"]) * self.factor()
        self.model.lr_schedule = ConstantSchedule(rate)

    def _on_step(self) -> bool:
        return True


def resumed_seed(seed: int, num_timesteps: int) -> int:
    """The seed of a run resumed at step ``num_timesteps``: new tasks and noise, not a replay of the run's start.

    Drawn from ``SeedSequence([seed, num_timesteps])``, a 62-bit number: reproducible, and (but with
    probability ~1e-12) outside the held-out seed ranges of the validation and test tasks.
    """
    return int(np.random.SeedSequence([int(seed), int(num_timesteps)]).generate_state(1, np.uint64)[0] >> 2)


def _eval_log_text(rows: list[dict[str, float]]) -> str:
    """``eval_log.csv`` holding ``rows`` (as :meth:`HeldOutEvalCallback.evaluate` appends them)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EVAL_LOG_COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


#: The files of a run folder that a new run in the same folder replaces (``overwrite=True``).
RUN_FILES = (MODEL_FILE, CHECKPOINT_FILE, CHECKPOINT_STATE, BEST_MODEL_FILE, VECNORMALIZE_FILE, EVAL_LOG)


def train(config: TrainConfig, resume: bool = False, progress: bool = True, overwrite: bool = False) -> RecurrentPPO:
    """Train (or resume) a run; returns the trained model. See the module docstring for outputs.

    With ``resume=True`` and a checkpoint in ``config.out``, training continues from it;
    ``config.hyperparams`` may then differ from the run's saved ones in :data:`RESUME_CHANGEABLE`
    settings (recorded under ``"resumes"`` in ``config.json``). A resumed run that has already
    reached ``total_timesteps`` (or used its ``max_seconds``) trains no further.

    A new run refuses a folder that holds another run's model or checkpoint (``FileExistsError``)
    unless ``overwrite=True``, which deletes that run's files (:data:`RUN_FILES`) first.
    """
    out = Path(config.out)
    if not resume or not (out / CHECKPOINT_FILE).exists():
        existing = [name for name in (MODEL_FILE, CHECKPOINT_FILE) if (out / name).exists()]
        if existing and not overwrite:
            raise FileExistsError(
                f"{out} already holds a training run ({', '.join(existing)}): continue it with --resume, train into "
                "another --out folder, or replace it with --overwrite"
            )
    out.mkdir(parents=True, exist_ok=True)
    record = {**asdict(config), "versions": _versions(), "command": sys.argv}  # config.json
    th.set_num_threads(config.threads)
    resuming = resume and (out / CHECKPOINT_FILE).exists()
    state = json.loads((out / CHECKPOINT_STATE).read_text()) if resuming else {}
    seed = resumed_seed(config.seed, state["num_timesteps"]) if resuming else config.seed
    th.manual_seed(seed)
    env = make_training_env(config, out / VECNORMALIZE_FILE if resuming else None, seed=seed)
    tb = str(out / "tb") if importlib.util.find_spec("tensorboard") else None
    clock_offset, best = 0.0, None
    resumes: list[dict[str, Any]] = []
    if resuming:
        saved = read_config(out)
        same_env = saved["env_id"] == config.env_id and (  # the same env, however its kwargs are written
            effective_kwargs(config.env_id, saved["env_kwargs"]) == effective_kwargs(config.env_id, config.env_kwargs)
        )
        if not same_env:
            raise ValueError(f"--resume: {out} was trained on {saved['env_id']} {saved['env_kwargs']}, not {config.env_id} {config.env_kwargs}")
        changed = resume_changes(saved["hyperparams"], config.hyperparams)
        # custom_objects replace the saved values before the model is set up: schedules, the rollout
        # buffer's gamma / GAE lambda and the optimizer's learning rate all follow the new values
        model = RecurrentPPO.load(out / CHECKPOINT_FILE, env=env, device=config.device, tensorboard_log=tb,
                                  custom_objects=resolve_schedules(changed))  # fmt: skip
        use_fast_rollout_buffer(model)
        check_observation_space(model, config.env_id, config.env_kwargs)
        if int(state["num_timesteps"]) != model.num_timesteps:  # a run killed by an older version between its writes
            logger.warning("%s: %s is at step %d but %s says %d: resuming from the model's step", out, CHECKPOINT_FILE,
                           model.num_timesteps, CHECKPOINT_STATE, state["num_timesteps"])  # fmt: skip
        resumes = [*saved.get("resumes", []), {"at_step": int(model.num_timesteps), "changed": changed, "seed": seed}]
        clock_offset, best = state["train_seconds"], state.get("best")
        logger.info("resuming %s from step %d", out, model.num_timesteps)
    else:
        if resume:
            logger.warning("--resume: no checkpoint in %s, starting from scratch", out)
        for stale in RUN_FILES:  # of an earlier run in this folder (overwrite=True)
            (out / stale).unlink(missing_ok=True)
        model = build_model(config, env, tb)
    if resumes:
        record["resumes"] = resumes
    _atomic_write_text(out / CONFIG_FILE, json.dumps(record, indent=2, default=str))
    remaining = config.total_timesteps - model.num_timesteps
    eval_cb = HeldOutEvalCallback(config, out, clock_offset)
    eval_cb.model = model  # also set by learn(); needed here when nothing is left to train
    if resuming:
        if best is not None and (out / BEST_MODEL_FILE).exists():
            eval_cb.best = best
        if (out / EVAL_LOG).exists():  # earlier sessions' evaluations, so that none is repeated
            log = read_eval_log(out)
            rows = [dict(zip(EVAL_LOG_COLUMNS, (int(row[0]), *row[1:]))) for row in zip(*(getattr(log, c) for c in EVAL_LOG_COLUMNS))]
            # an evaluation logged after the checkpoint (the run was killed between the two) is of weights that
            # were lost: drop it, the resumed run evaluates those steps again
            eval_cb.history = [row for row in rows if row["timesteps"] <= model.num_timesteps]
            if len(eval_cb.history) < len(rows):
                _atomic_write_text(out / EVAL_LOG, _eval_log_text(eval_cb.history))
    callbacks: list[BaseCallback] = [eval_cb]
    if config.lr_anneal:
        callbacks.append(LearningRateAnneal(eval_cb, config.lr_anneal))
    if progress:
        callbacks.append(TimeBudgetProgressBar(eval_cb, config.max_seconds) if config.max_seconds else ProgressBarCallback())
    if remaining <= 0:
        logger.info("%s is already trained to step %d (total_timesteps %d): nothing to train", out, model.num_timesteps,
                    config.total_timesteps)  # fmt: skip
    try:
        if remaining > 0:
            model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=False, tb_log_name="rl2")
    except KeyboardInterrupt:
        # the steps of the interrupted rollout were never trained on: do not count them
        model.num_timesteps = eval_cb.trained_timesteps
        eval_cb.checkpoint()
        logger.warning("interrupted at step %d: checkpoint saved in %s; continue with --resume", model.num_timesteps, out)
        raise
    finally:
        env.close()
    if eval_cb.stopped_early:  # the rollout cut by max_seconds was never trained on
        model.num_timesteps = eval_cb.trained_timesteps
    if not eval_cb.history or eval_cb.history[-1]["timesteps"] != model.num_timesteps:
        eval_cb.evaluate()
    eval_cb.checkpoint()
    save_model_atomic(model, out / MODEL_FILE)
    logger.info("saved %s (%.0f s of training)", out / MODEL_FILE, eval_cb.elapsed())
    return model


# ----------------------------------------------------------------------------- CLI
def parse_kwargs(items: list[str] | None) -> dict[str, Any]:
    """``["num_arms=5", "arm_prior=normal"]`` -> ``{"num_arms": 5, "arm_prior": "normal"}``.

    Values are Python literals when they parse as such, else strings; ``a.b=1`` sets ``{"a": {"b": 1}}``.
    """
    result: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        *parents, leaf = key.split(".")
        target = result
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--env", default=None,
                        help="env id, e.g. RL2Bandit-v0 (required, except with --resume of a run in --out: the run's)")  # fmt: skip
    parser.add_argument("--env-kwargs", nargs="*", default=None, metavar="KEY=VALUE", help="env kwargs, e.g. num_arms=5")
    parser.add_argument("--timesteps", type=float, default=None,
                        help="total environment steps, e.g. 2e6 (default: 1e6; with --max-minutes, a cap of "
                             f"{TIME_BUDGET_STEP_CAP:,} so that the time limit ends training)")  # fmt: skip
    parser.add_argument("--n-envs", type=int, default=None,
                        help="parallel trials (default: per-env default); batch_size scales with it unless given in "
                             "--hyperparams, keeping the defaults' number of minibatches per rollout")  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="training seed (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default runs/<env>-s<seed>)")
    parser.add_argument("--hyperparams", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override defaults, e.g. learning_rate=3e-4 policy_kwargs.gru_hidden_size=256")
    parser.add_argument("--eval-every", type=float, default=None,
                        help="steps between evaluations on validation tasks (0: 20 per run; with --max-minutes and no "
                             f"--timesteps, every {TIME_BUDGET_EVAL_EVERY:,})")  # fmt: skip
    parser.add_argument(
        "--eval-trials", type=int, default=None,
        help="validation trials per evaluation (default 500; held out of training, not the test tasks of rl2 evaluate)",
    )  # fmt: skip
    parser.add_argument("--checkpoint-every", type=float, default=None, help="steps between checkpoints (0, the default: at evaluations)")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="stop training after this much wall-clock time, evaluations excluded, earlier sessions of "
                             "a resumed run included (0: none)")  # fmt: skip
    parser.add_argument("--lr-anneal", type=float, default=None, metavar="FRACTION",
                        help="decay the learning rate linearly to 0 over this final fraction of the budget (--max-minutes "
                             "or --timesteps, whichever ends the run), e.g. 0.3; default 0: constant")  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="continue from the output folder's checkpoint, with its saved settings (env kwargs, seed, "
                             "budgets, evaluations) unless given again; --hyperparams may change the PPO ones, e.g. "
                             "learning_rate=3e-4 batch_size=6400; a larger --max-minutes or --timesteps trains further")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the training run already in the output folder (default: refuse)")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest for small GRUs)")
    parser.add_argument("--device", default="cpu", help="torch device (cpu is fastest for these small GRUs)")


def with_n_envs(env_id: str, hyper: dict[str, Any], n_envs: int) -> dict[str, Any]:
    """``hyper`` with ``n_envs`` set (``--n-envs``) and, unless ``hyper`` sets it, ``batch_size`` scaled with it.

    The defaults' number of minibatches per rollout (``n_envs * n_steps / batch_size``) is kept, so
    ``--n-envs 32`` on RL2Bandit-v0 (defaults 320 envs x 20 steps, minibatches of 1600: 4 per rollout)
    trains on minibatches of 32 * 20 / 4 = 160 steps instead of refusing a minibatch larger than the rollout.
    """
    n_envs = check_positive_int("n_envs", n_envs)
    hyper = {**hyper, "n_envs": n_envs}
    if "batch_size" in hyper:
        return hyper
    default = get_hyperparams(env_id, {k: v for k, v in hyper.items() if k != "n_envs"})
    minibatches = max(1, round(int(default["n_envs"]) * int(default["n_steps"]) / int(default["batch_size"])))
    batch_size = max(1, n_envs * int(default["n_steps"]) // minibatches)
    if batch_size != default["batch_size"]:
        logger.info("--n-envs %d: batch_size %d (%d minibatches per rollout, as the defaults)", n_envs, batch_size, minibatches)
    return {**hyper, "batch_size": batch_size}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of the ``train`` CLI arguments.

    With ``--resume`` and a run in the output folder, every setting not given on the command line
    is the run's saved one (its hyperparameters updated by ``--hyperparams``), not today's default.
    """
    if args.max_minutes is not None and not args.max_minutes >= 0:
        raise ValueError(f"--max-minutes must be a number of minutes >= 0 (0: no time limit), got {args.max_minutes}")
    hyper = parse_kwargs(args.hyperparams)
    env_id = args.env
    if env_id is None:
        if not (args.resume and args.out and (Path(args.out) / CONFIG_FILE).exists()):
            raise ValueError("--env is required (an env id, e.g. RL2Bandit-v0), except with --resume --out <a run folder>, "
                             "which continues that run's env")  # fmt: skip
        env_id = read_config(args.out)["env_id"]
    out = args.out or f"runs/{env_id}-s{0 if args.seed is None else args.seed}"
    given = {
        "env_kwargs": None if args.env_kwargs is None else parse_kwargs(args.env_kwargs),
        "seed": args.seed,
        "total_timesteps": None if args.timesteps is None else int(args.timesteps),
        "eval_every": None if args.eval_every is None else int(args.eval_every),
        "eval_trials": args.eval_trials,
        "checkpoint_every": None if args.checkpoint_every is None else int(args.checkpoint_every),
        "max_seconds": None if args.max_minutes is None else 60.0 * args.max_minutes,
        "lr_anneal": args.lr_anneal,
    }
    if args.resume and (Path(out) / CONFIG_FILE).exists():
        saved = read_config(out)
        for key, value in given.items():
            if value is None:
                given[key] = saved.get(key)  # runs older than a setting lack it: its default
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
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        train(config, resume=args.resume, progress=not args.no_progress, overwrite=args.overwrite)
    except KeyboardInterrupt:
        return 130
    print(f"model: {Path(config.out) / MODEL_FILE} (best validation score: {BEST_MODEL_FILE})   "
          f"evaluate: python -m rl2_agent evaluate {config.out} --trials 1000 [--model best]")
    return 0

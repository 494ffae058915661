"""Train RL^2: stock sb3-contrib ``RecurrentPPO`` + :class:`~rl2_agent.policies.RL2GRUPolicy`.

:func:`train` reads top to bottom: refuse a folder that holds another run, build the model (or
load the checkpoint of a resumed run), record ``config.json``, learn with the callbacks of
:mod:`rl2_agent.training.callbacks`, then a last evaluation, checkpoint and ``model.zip``. The
files it writes are those of :mod:`rl2_agent.training.run_folder`.

The learning loop itself is stock SB3: trials are gymnasium episodes, so the recurrent state is
reset only at trial starts and returns/advantages flow across inner-episode boundaries (the RL^2
objective).
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from meta_envs.registration import effective_kwargs
from rl2_agent.agents.sb3 import check_observation_space
from rl2_agent.buffers import use_fast_rollout_buffer
from rl2_agent.envs import make_vec_env
from rl2_agent.hyperparams import POLICY, resolve_policy_kwargs, resolve_schedules
from rl2_agent.training import run_folder
from rl2_agent.training.callbacks import LearningRateAnneal, StepProgressBar, TimeBudgetProgressBar, ValidationCallback
from rl2_agent.training.config import TrainConfig, as_json
from rl2_agent.training.distributed import (
    DistributedContext,
    broadcast_object,
    init_distributed,
    launch,
    make_data_parallel,
    shutdown_distributed,
    split_hyperparams,
    under_torchrun,
)

logger = logging.getLogger(__name__)

__all__ = ["RESUME_CHANGEABLE", "build_model", "make_training_env", "resume_changes", "resumed_seed", "train", "train_worker"]

#: PPO settings that may change when a run is resumed (e.g. a lower learning rate to fine-tune);
#: the others (network, n_envs, n_steps, reward scaling) define the model and its rollouts.
RESUME_CHANGEABLE = frozenset(
    {
        "learning_rate",
        "batch_size",
        "n_epochs",
        "gamma",
        "gae_lambda",
        "clip_range",
        "clip_range_vf",
        "ent_coef",
        "vf_coef",
        "max_grad_norm",
        "target_kl",
        "normalize_advantage",
    }
)


# ----------------------------------------------------------------------------- building blocks
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
        return run_folder.load_vec_normalize(vecnormalize_path, env)
    return VecNormalize(env, norm_obs=False, norm_reward=True, gamma=config.hyperparams["gamma"])


def _resolve_policy(name: str) -> Any:
    if name == POLICY:
        from rl2_agent.policies import RL2GRUPolicy

        return RL2GRUPolicy
    return name  # an SB3 alias such as "MlpLstmPolicy"


def build_model(config: TrainConfig, env: Any, tensorboard_log: str | None = None, fast_buffer: bool = True) -> RecurrentPPO:
    """A fresh ``RecurrentPPO`` for ``config`` on the vector env ``env``.

    ``fast_buffer``: with the gather-padding rollout buffer of :mod:`rl2_agent.buffers` (the same
    samples, faster), else sb3-contrib's own.
    """
    params = resolve_schedules({k: v for k, v in config.hyperparams.items() if k not in ("policy", "n_envs", "normalize")})
    params = resolve_policy_kwargs(params)  # an optimizer_class name ("AdamW") -> the torch class
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


def resumed_seed(seed: int, num_timesteps: int) -> int:
    """The seed of a run resumed at step ``num_timesteps``: new tasks and noise, not a replay of the run's start.

    Drawn from ``SeedSequence([seed, num_timesteps])``, a 62-bit number: reproducible, and (but with
    probability ~1e-12) outside the held-out seed ranges of the validation and test tasks.
    """
    return int(np.random.SeedSequence([int(seed), int(num_timesteps)]).generate_state(1, np.uint64)[0] >> 2)


def _check_same_env(config: TrainConfig, saved: dict[str, Any], out: Path) -> None:
    """Refuse to resume a run on another env (its kwargs compared as the env uses them, however they are written)."""
    same = saved["env_id"] == config.env_id and (
        effective_kwargs(config.env_id, saved["env_kwargs"]) == effective_kwargs(config.env_id, config.env_kwargs)
    )
    if not same:
        raise ValueError(
            f"--resume: {out} was trained on {saved['env_id']} {saved['env_kwargs']}, not {config.env_id} {config.env_kwargs}"
        )


# ----------------------------------------------------------------------------- the training run
def train(config: TrainConfig, resume: bool = False, progress: bool = True, overwrite: bool = False) -> RecurrentPPO | None:
    """Train (or resume) a run into the folder ``config.out``; returns the trained model.

    With ``resume=True`` and a checkpoint in ``config.out``, training continues from it;
    ``config.hyperparams`` may then differ from the run's saved ones in :data:`RESUME_CHANGEABLE`
    settings (recorded under ``"resumes"`` in ``config.json``). A resumed run that has already
    reached ``total_timesteps`` (or used its ``max_seconds``) trains no further.

    A new run refuses a folder that holds another run's model or checkpoint (``FileExistsError``)
    unless ``overwrite=True``, which deletes that run's files first.

    With ``config.workers > 1`` the run is data-parallel (:mod:`rl2_agent.training.distributed`):
    this process starts the workers and waits for them. Started by ``torchrun`` (``WORLD_SIZE`` in the
    environment), this process is one worker of the run. Either way worker 0 alone writes the run
    folder, and the model returned is the one it saved (``None`` on the other workers of a torchrun run).
    """
    if under_torchrun():
        ctx = init_distributed(config.device)
        if config.workers not in (1, ctx.world_size):
            raise ValueError(
                f"workers={config.workers} but torchrun started {ctx.world_size} workers (WORLD_SIZE): "
                "leave --workers out under torchrun"
            )
        config = replace(config, workers=ctx.world_size)
        try:
            model = train_worker(ctx, config, resume, progress, overwrite)
        except BaseException:
            shutdown_distributed()
            raise
        shutdown_distributed(wait_for_peers=True)
        return model  # None on the workers other than 0: the run folder is worker 0's, maybe on another machine
    if config.workers == 1:
        with _sigterm_as_interrupt():
            return train_worker(DistributedContext(device=config.device), config, resume, progress, overwrite)
    _check_folder(Path(config.out), resume, overwrite)  # a clear error before any worker starts
    launch(_launched_worker, config.workers, (config, resume, progress, overwrite), device=config.device)
    return run_folder.load_model(config.out, device="cpu")


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, a batch scheduler's stop) ends a one-process run as ctrl-C does: with a checkpoint of the
    step it reached, not only the last periodic one. (Data-parallel workers stop together instead, see
    :mod:`rl2_agent.training.distributed`.) Signal handlers belong to the main thread: elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _launched_worker(ctx: DistributedContext, config: TrainConfig, resume: bool, progress: bool, overwrite: bool) -> None:
    """A worker process of :func:`launch`: :func:`train_worker`, its model left in the run folder (not sent back)."""
    train_worker(ctx, config, resume, progress, overwrite)


def _check_folder(out: Path, resume: bool, overwrite: bool) -> bool:
    """Whether the run resumes; refuses a folder that holds another run unless ``resume`` or ``overwrite``."""
    if resume:  # a checkpoint set that a crash interrupted: finished, or the previous one
        run_folder.recover_checkpoint(out)
    resuming = resume and run_folder.has_checkpoint(out)
    existing = run_folder.existing_run(out)
    if not resuming and existing and not overwrite:
        raise FileExistsError(
            f"{out} already holds a training run ({', '.join(existing)}): continue it with --resume, train into "
            "another --out folder, or replace it with --overwrite"
        )
    return resuming


def train_worker(
    ctx: DistributedContext, config: TrainConfig, resume: bool = False, progress: bool = True, overwrite: bool = False
) -> RecurrentPPO | None:
    """One worker of :func:`train` (the only one when ``ctx.world_size == 1``): the training run read top to bottom.

    Worker 0 owns the run folder (config, checkpoints, evaluations, the model) and the callbacks; the
    others build the same model on their share of the envs, receive worker 0's state and learn in
    lockstep with it. Returns the trained model on worker 0, ``None`` on the others.
    """
    out = Path(config.out)
    main = ctx.is_main
    th.set_num_threads(config.threads)
    hyper = split_hyperparams(config.hyperparams, ctx.world_size)  # this worker's share of envs and minibatches
    # one worker's share, checked as a one-worker config (its n_envs need not divide by the number of workers again)
    local = replace(config, hyperparams=hyper, workers=1) if ctx.is_distributed else config

    # the run folder, on worker 0: refuse another run's folder; read a resumed run's state
    resuming, saved = False, {}
    state: dict[str, Any] = {}
    if main:
        resuming = _check_folder(out, resume, overwrite)
        out.mkdir(parents=True, exist_ok=True)
        if resuming:
            saved = run_folder.read_config(out, to_resume=True)
            _check_same_env(config, saved, out)
            checkpoint = run_folder.read_checkpoint_state(out)
            # None only when checkpoint.json is missing and checkpoint.zip (there: has_checkpoint) unreadable
            assert checkpoint is not None, f"{out}: {run_folder.CHECKPOINT_FILE} is unreadable"
            state = checkpoint
    if ctx.is_distributed:
        resuming, state = broadcast_object((resuming, state), ctx)
    record = {**asdict(config), "versions": run_folder.versions(), "command": sys.argv}  # config.json
    tb = str(out / run_folder.TENSORBOARD_DIR) if main and importlib.util.find_spec("tensorboard") else None

    # the model: the checkpoint of a resumed run (new seed, changed hyperparameters), or a fresh one; with several
    # workers, the others build a fresh model that make_data_parallel overwrites with worker 0's state
    run_seed = resumed_seed(config.seed, state["num_timesteps"]) if resuming else config.seed
    seed = ctx.worker_seed(run_seed, hyper["n_envs"])
    th.manual_seed(seed)
    if resuming and main:
        env = make_training_env(local, out / run_folder.VECNORMALIZE_FILE, seed=seed)
        changed = resume_changes(saved["hyperparams"], config.hyperparams)
        # custom_objects replace the saved values before the model is set up: schedules, the rollout
        # buffer's gamma / GAE lambda and the optimizer's learning rate all follow the new values
        # and this worker's share of the minibatch (a run may resume with another number of workers)
        custom = {**resolve_schedules(changed), "batch_size": hyper["batch_size"]}
        model = run_folder.load_model_file(
            out / run_folder.CHECKPOINT_FILE, env=env, device=ctx.device, tensorboard_log=tb, custom_objects=custom
        )
        use_fast_rollout_buffer(model)
        check_observation_space(model, config.env_id, config.env_kwargs)
        if int(state["num_timesteps"]) != model.num_timesteps:  # a checkpoint set not written whole by write_checkpoint
            logger.warning(
                "%s: %s is at step %d but %s says %d: resuming from the model's step",
                out,
                run_folder.CHECKPOINT_FILE,
                model.num_timesteps,
                run_folder.CHECKPOINT_STATE,
                state["num_timesteps"],
            )
        if model.num_timesteps >= config.total_timesteps or 0 < config.max_seconds <= state["train_seconds"]:
            record = saved  # a finished run: nothing trains, so config.json records no resume
        else:
            record["resumes"] = [
                *saved.get("resumes", []),
                {"at_step": int(model.num_timesteps), "changed": changed, "seed": run_seed},
            ]
        logger.info("resuming %s from step %d", out, model.num_timesteps)
    else:
        if resume and main and not resuming:
            logger.warning("--resume: no checkpoint in %s, starting from scratch", out)
        env = make_training_env(local, seed=seed)
        # the model's own seed (SB3 seeds numpy's global generator with it: < 2**32); it also reseeds the env,
        # so the env gets its seed back for the first reset
        model = build_model(replace(local, seed=ctx.worker_seed(config.seed, hyper["n_envs"])), env, tb)
        env.seed(seed)
        if main and not resuming:  # an earlier run's files (overwrite=True), once the new run could be built
            run_folder.clear_run(out)
    model = make_data_parallel(model, ctx)  # worker 0's weights, optimizer, counters and reward statistics everywhere
    if main:
        run_folder.write_config(out, record)
    remaining = config.total_timesteps - model.num_timesteps
    if not main:  # worker 0's callbacks decide when to stop (and the learning rate) for every worker
        try:
            if remaining > 0:
                model.learn(remaining, reset_num_timesteps=False)
        except KeyboardInterrupt:
            pass  # worker 0 saves the checkpoint
        finally:
            env.close()
        return None

    # the callbacks: validation evaluations + checkpoints (they also keep the training clock), LR anneal, progress
    validation = ValidationCallback(config, out, clock_offset=state["train_seconds"] if resuming else 0.0)
    validation.model = model  # also set by learn(); needed here when nothing is left to train
    if resuming:
        if state.get("best") is not None and (out / run_folder.BEST_MODEL_FILE).exists():
            validation.best = state["best"]
        if run_folder.has_eval_log(out):  # earlier sessions' evaluations, so that none is repeated
            rows = run_folder.read_eval_log(out).rows()
            # an evaluation logged after the checkpoint (the run was killed between the two) is of weights that
            # were lost: drop it, the resumed run evaluates those steps again
            validation.history = [row for row in rows if row["timesteps"] <= model.num_timesteps]
            if len(validation.history) < len(rows):
                run_folder.write_eval_log(out, validation.history)
    callbacks: list[BaseCallback] = [validation]
    if config.lr_anneal:
        callbacks.append(LearningRateAnneal(validation, config.lr_anneal))
    if progress:
        callbacks.append(TimeBudgetProgressBar(validation, config.max_seconds) if config.max_seconds else StepProgressBar())

    # learn: stock RecurrentPPO (data-parallel: the same update, gradients averaged across the workers)
    if remaining <= 0:
        logger.info(
            "%s is already trained to step %d (total_timesteps %d): nothing to train",
            out,
            model.num_timesteps,
            config.total_timesteps,
        )
    try:
        if remaining > 0:
            model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=False, tb_log_name="rl2")
    except KeyboardInterrupt:
        # the steps of the interrupted rollout were never trained on: do not count them
        model.num_timesteps = validation.trained_timesteps
        validation.checkpoint()
        logger.warning("interrupted at step %d: checkpoint saved in %s; continue with --resume", model.num_timesteps, out)
        raise
    finally:
        env.close()

    # the end: the final weights evaluated and saved
    if validation.stopped_early:  # the rollout cut by max_seconds was never trained on
        model.num_timesteps = validation.trained_timesteps
    if not validation.history or validation.history[-1]["timesteps"] != model.num_timesteps:
        validation.evaluate()
    validation.checkpoint()
    run_folder.save_model_atomic(model, out / run_folder.MODEL_FILE)
    logger.info("saved %s (%.0f s of training)", out / run_folder.MODEL_FILE, validation.elapsed())
    return model

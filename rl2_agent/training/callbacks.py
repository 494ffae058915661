"""The SB3 callbacks of ``rl2 train``: validation evaluations and checkpoints, a wall-clock
progress bar, and the learning-rate anneal over the end of the budget."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import ConstantSchedule

from rl2_agent.agents.sb3 import SB3RecurrentAgent
from rl2_agent.evaluation.runner import run_trials
from rl2_agent.evaluation.seeds import VALIDATION_SEED
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig

logger = logging.getLogger(__name__)

__all__ = ["LearningRateAnneal", "TimeBudgetProgressBar", "ValidationCallback"]


class ValidationCallback(BaseCallback):
    """Every ``eval_every`` steps: evaluate on the validation tasks, log, keep the best model, checkpoint.

    It also keeps the training clock (:meth:`elapsed`: wall-clock seconds, evaluations excluded,
    earlier sessions of a resumed run included) and stops training at ``max_seconds``.

    :param config: the run's configuration.
    :param out: the run folder.
    :param clock_offset: seconds trained before a resume.
    """

    def __init__(self, config: TrainConfig, out: Path, clock_offset: float = 0.0) -> None:
        super().__init__()
        self.config, self.out = config, Path(out)
        self.clock_offset = clock_offset
        self.start = time.perf_counter()
        self.next_eval = 0
        self.next_checkpoint = 0
        self.trained_timesteps = 0  # steps the weights have been trained on (excludes a rollout in progress)
        self.stopped_early = False
        self.history: list[dict[str, float]] = []
        self.best: dict[str, float] | None = None  # the best evaluation so far, whose model is best_model.zip
        self.best_unsaved = False  # self.best is the model now, saved as best_model.zip with the next checkpoint

    def elapsed(self) -> float:
        """Seconds of training so far (evaluations excluded, earlier sessions of a resumed run included)."""
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
        """Mean trial return of the stochastic policy on the validation tasks; appended to ``eval_log.csv``.

        A new best mean makes the model ``best_model.zip``, saved with the checkpoint that follows every
        evaluation (:meth:`checkpoint`), so that it always belongs to the checkpoint set of its step.
        """
        cfg = self.config
        train_seconds = self.elapsed()
        res = run_trials(SB3RecurrentAgent(self.model), cfg.env_id, cfg.env_kwargs, cfg.eval_trials, VALIDATION_SEED)
        steps = int(self.model.num_timesteps)  # the model's, also when called outside learn() (see train)
        row = dict(zip(run_folder.EVAL_LOG_COLUMNS, (steps, round(train_seconds, 2), res.mean, res.se)))
        self.clock_offset -= res.wall_seconds  # the training clock excludes evaluation time
        self.history.append(row)
        run_folder.append_eval_row(self.out, row)
        sb3_logger = getattr(self.model, "_logger", None)  # set up by learn() only
        if sb3_logger is not None:
            sb3_logger.record("eval/mean_trial_return", res.mean)
            sb3_logger.record("eval/se", res.se)
        logger.info("step %d (%.0f s): validation mean trial return %.3f +- %.3f", steps, train_seconds, res.mean, res.se)
        if self.best is None or res.mean > self.best["mean"]:
            self.best, self.best_unsaved = row, True
        return row

    def checkpoint(self) -> None:
        """Write the checkpoint set (:func:`~rl2_agent.training.run_folder.write_checkpoint`) with the training
        clock, and ``best_model.zip`` if the last evaluation was a new best."""
        state = {"num_timesteps": int(self.model.num_timesteps), "train_seconds": self.elapsed(), "best": self.best}
        run_folder.write_checkpoint(self.out, self.model, state, best=self.best_unsaved)
        self.best_unsaved = False


class TimeBudgetProgressBar(BaseCallback):
    """A tqdm bar over the wall-clock budget (``max_seconds``), with the step count and rate.

    Used instead of SB3's step-count bar when a run is limited by time: the training clock of
    :class:`ValidationCallback` (evaluations excluded, earlier sessions of a resumed run included).
    """

    def __init__(self, clock: ValidationCallback, max_seconds: float) -> None:
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
    clock of :class:`ValidationCallback`), whichever is nearer to its end. Unlike RL Zoo's
    ``"lin_<value>"`` schedule, which decays over the whole step budget, this keeps the learning rate
    constant for most of the run and works with a wall-clock budget (``rl2 train --max-minutes``),
    where the number of steps is not known in advance.

    Set before each PPO update (at the end of a rollout) through ``model.lr_schedule``; the model's
    ``learning_rate`` is untouched, so a saved model or checkpoint loads with the configured rate.
    """

    def __init__(self, clock: ValidationCallback, fraction: float) -> None:
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


class StepProgressBar(BaseCallback):
    """A progress bar over the run's step budget, driven by ``num_timesteps``.

    SB3's ``ProgressBarCallback`` advances by this process's ``num_envs`` per step; a data-parallel
    worker holds a share of the envs while ``num_timesteps`` counts every worker's steps.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bar: Any = None
        self.shown = 0

    def _on_training_start(self) -> None:
        from tqdm.auto import tqdm

        self.shown = self.num_timesteps
        total = self.locals["total_timesteps"]  # learn()'s target: the steps done before it plus the steps to do
        self.bar = tqdm(total=total, initial=self.shown, unit="steps", desc="training")

    def _on_step(self) -> bool:
        if self.bar is not None and self.num_timesteps > self.shown:
            self.bar.update(self.num_timesteps - self.shown)
            self.shown = self.num_timesteps
        return True

    def _on_training_end(self) -> None:
        if self.bar is not None:
            self.bar.refresh()
            self.bar.close()

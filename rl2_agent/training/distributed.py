"""Data-parallel ``RecurrentPPO`` (the DD-PPO scheme) on ``torch.distributed``.

The scheme
----------
``N`` workers (processes; one machine or several) each hold a full copy of the model and step their
own share of the envs with their own seed stream. After each rollout every worker runs STOCK
sb3-contrib ``RecurrentPPO.train()`` on its own buffer; at every optimizer step the gradients of all
workers are averaged (one all-reduce of one flat bucket) BEFORE gradient-norm clipping and the step,
so every worker takes the same step and holds the same weights at all times. Nothing is exchanged
but gradients (and, per rollout, a few numbers): this is DD-PPO (Wijmans et al., 2020) without its
preemption of stragglers.

How the stock update is kept unchanged: during ``train()`` the model's ``max_grad_norm`` is set to
``inf`` (stock ``clip_grad_norm_`` then multiplies every gradient by exactly 1.0) and a step pre-hook
on ``policy.optimizer`` averages the gradients across workers, clips them to the real
``max_grad_norm`` (the same call stock code makes) and lets the real optimizer step. Both are undone
when ``train()`` returns, so a saved model is an ordinary ``RecurrentPPO`` zip (the real
``max_grad_norm``, the optimizer's own state dict) that ``RecurrentPPO.load`` reads.

Sizes: keep the GLOBAL rollout and minibatch of one worker. With ``N`` workers each worker holds
``n_envs / N`` envs and minibatches of ``batch_size / N`` samples (:func:`split_hyperparams`), the same
``n_steps`` and ``n_epochs``; every worker then takes the same number of optimizer steps per update as
one worker would, and as every worker's minibatch loss is a mean over equally many samples, the
averaged gradient is the gradient of the mean loss over the UNION of the workers' minibatches: one
synchronous step of ``N`` workers is one step of one worker on that union (cut into the same
sequences). What differs from one worker with ``N`` times the envs is how samples are drawn, not the
update: a global minibatch is the union of ``N`` per-worker slices rather than one slice of the global
buffer; sb3-contrib cuts the sequences of each buffer at one random point per epoch, which truncates
back-propagation through time there, so ``N`` workers make ``N`` such cuts instead of one; and
``normalize_advantage`` normalises each worker's minibatch by its own mean and std (as DD-PPO does).

What else is kept equal on every worker (:class:`DataParallelRecurrentPPO` does it):

* the starting state: weights, optimizer state, step counters and reward-scaling statistics are
  broadcast from rank 0 by :func:`make_data_parallel` (so after a resume only rank 0 loads the
  checkpoint);
* ``num_timesteps`` counts GLOBAL steps (each env step of a worker adds ``N * n_envs_local``), so
  ``progress_remaining``, learning-rate and clip-range schedules, ``total_timesteps`` and callbacks
  see the same count on every worker;
* the learning rate of each update is rank 0's (a wall-clock schedule such as ``rl2 train
  --lr-anneal`` with ``--max-minutes`` would otherwise differ by the workers' clocks);
* stopping: when any worker's callback stops its rollout, every worker stops at the end of that
  rollout, untrained (a worker that went on would wait for gradients forever);
* the reward-scaling statistics of SB3's ``VecNormalize`` (the running mean / variance / count of the
  discounted returns, ``ret_rms``, and ``obs_rms`` when observations are normalised): at the end of
  every rollout each worker's new statistics (those added after the last merge) are all-gathered and
  merged with the parallel-variance formula (:func:`sync_running_stats`), so every worker starts each
  rollout with the statistics of all workers' returns. Within a rollout each worker adds its own
  returns, as one worker does.

``target_kl`` is refused with ``N > 1``: stock ``train()`` stops the epochs of a worker when ITS
minibatch's KL is too large, so workers would take different numbers of steps.

Processes
---------
``init_distributed()`` joins the process group described by torchrun's environment (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``): gloo on the CPU, NCCL on CUDA (one GPU
per worker), with a finite timeout so that a worker whose peer died fails instead of waiting
forever. :func:`launch` starts ``N`` such workers on this machine itself, and ends the run with a
:class:`WorkerError` naming the worker as soon as one fails or dies (the others are stopped).

Across machines, run the same program under torchrun on each machine, e.g. two machines with one
worker each::

    torchrun --nnodes 2 --nproc-per-node 1 --rdzv-backend c10d --rdzv-endpoint HOST:29400 \\
        -m rl2_agent.training.distributed

which runs :func:`lockstep_check`: a tiny data-parallel training whose workers must end with identical
weights (each prints its rank and the weights' sha256). ``python -m rl2_agent.training.distributed
--workers 2`` runs it on this machine through :func:`launch`.

How a training loop uses it (every worker runs the same loop)::

    ctx = init_distributed(device)                 # under torchrun; launch(fn, N) passes fn its ctx
    hp = split_hyperparams(hyperparams, ctx.world_size)   # this worker's n_envs and batch_size
    seed = ctx.worker_seed(seed, hp["n_envs"])     # its envs' and its model's seed
    model = ...                                    # rank 0: build, or load the checkpoint and its
                                                   # reward statistics; the others: build fresh
    model = make_data_parallel(model, ctx)         # checks, then rank 0's state to every worker
    remaining = total_timesteps - model.num_timesteps     # after the broadcast: the global count
    model.learn(remaining, callback=callbacks if ctx.is_main else None, reset_num_timesteps=False)
    shutdown_distributed()

Evaluations, checkpoints, logs and time budgets belong to rank 0 alone: its clock decides, and its
callback's stop reaches every worker at the end of the rollout; the other workers wait in their next
collective meanwhile, so an evaluation must take less than the process group's timeout.
"""

from __future__ import annotations

import _thread
import argparse
import hashlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import numpy as np
import torch as th
import torch.distributed as dist
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

#: Seconds a collective waits for the other workers before it fails. Long enough for rank 0 to
#: evaluate and save between two updates while the others wait; short enough that a lost worker
#: ends the run.
DEFAULT_TIMEOUT_S = 1800.0

R = TypeVar("R")

_DEVICES = ("cpu", "cuda", "auto")

#: Settings that must be equal on every worker (local values: n_envs and batch_size per worker).
_LOCKSTEP_SETTINGS = (
    "n_envs",
    "n_steps",
    "batch_size",
    "n_epochs",
    "gamma",
    "gae_lambda",
    "ent_coef",
    "vf_coef",
    "max_grad_norm",
    "normalize_advantage",
    "target_kl",
)


# ----------------------------------------------------------------------------- context
@dataclass(frozen=True)
class DistributedContext:
    """Where this worker stands among the data-parallel workers.

    :param rank: this worker's index, ``0 <= rank < world_size``; rank 0 is the main worker.
    :param world_size: the number of workers.
    :param local_rank: this worker's index on its machine (its GPU with ``device="cuda"``).
    :param device: the torch device of this worker's model, ``"cpu"`` or ``"cuda:<local_rank>"``.
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name, minimum in (("world_size", 1), ("rank", 0), ("local_rank", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        if self.rank >= self.world_size:
            raise ValueError(f"rank must be in [0, world_size={self.world_size}), got {self.rank}")
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda[:<index>]', got {self.device!r}")

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the worker that evaluates, logs and writes the run folder."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        """Whether there is more than one worker (collectives are skipped otherwise)."""
        return self.world_size > 1

    @property
    def backend(self) -> str:
        """The torch.distributed backend: ``"nccl"`` on CUDA, ``"gloo"`` on the CPU."""
        return "nccl" if self.device.startswith("cuda") else "gloo"

    @property
    def comm_device(self) -> th.device:
        """Where the tensors of collectives live: the GPU for NCCL, else the CPU."""
        return th.device(self.device if self.backend == "nccl" else "cpu")

    def worker_seed(self, seed: int, n_envs_local: int) -> int:
        """This worker's seed for its model and envs: ``seed + rank * n_envs_local``.

        Env ``i`` of worker ``r`` then gets seed ``seed + r * n_envs_local + i`` (``make_vec_env`` and
        ``model.set_random_seed`` seed env ``i`` with ``seed + i``): the union of the workers' envs is
        seeded as one worker's ``world_size * n_envs_local`` envs, and every worker samples actions from
        its own torch stream. Rank 0 keeps ``seed``.
        """
        return int(seed) + self.rank * int(n_envs_local)

    @classmethod
    def from_env(cls, device: str = "cpu") -> DistributedContext:
        """The context described by torchrun's environment variables (one worker when they are absent).

        :param device: ``"cpu"``, ``"cuda"`` (GPU ``LOCAL_RANK``) or ``"auto"`` (CUDA when available).
        """
        values = {}
        for name, default in (("WORLD_SIZE", "1"), ("RANK", "0"), ("LOCAL_RANK", "0")):
            raw = os.environ.get(name, default)
            try:
                values[name] = int(raw)
            except ValueError:
                raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from None
        return cls(
            rank=values["RANK"],
            world_size=values["WORLD_SIZE"],
            local_rank=values["LOCAL_RANK"],
            device=_resolve_device(device, values["LOCAL_RANK"]),
        )


def _resolve_device(device: str, local_rank: int) -> str:
    """``"cpu"``, or ``"cuda:<local_rank>"`` for ``"cuda"`` (and for ``"auto"`` when CUDA is available)."""
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
    if device == "auto":
        device = "cuda" if th.cuda.is_available() else "cpu"
    return f"cuda:{local_rank}" if device == "cuda" else "cpu"


def split_hyperparams(hyperparams: dict[str, Any], workers: int) -> dict[str, Any]:
    """One worker's share of the global ``hyperparams``: ``n_envs / workers`` envs and minibatches of
    ``batch_size / workers`` samples, the rest unchanged (a copy).

    :raises ValueError: when ``workers`` is not a positive integer, when ``n_envs`` or ``batch_size`` is not
        divisible by it, or with ``target_kl`` and more than one worker.
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    out = dict(hyperparams)
    if workers == 1:
        return out
    if out.get("target_kl") is not None:
        raise ValueError(_target_kl_message(out["target_kl"], workers))
    for name in ("n_envs", "batch_size"):
        value = out.get(name)
        if value is None:
            continue
        if int(value) % workers:
            raise ValueError(
                f"{name} ({value}) must be divisible by the number of workers ({workers}): each worker holds "
                f"{name} / workers of the global {'envs' if name == 'n_envs' else 'minibatch'}"
            )
        out[name] = int(value) // workers
    return out


def _target_kl_message(target_kl: Any, workers: int) -> str:
    return (
        f"target_kl must be None with {workers} workers, got target_kl={target_kl!r}: each worker would stop its "
        "epochs at its own minibatch's KL and their optimizer steps would no longer match"
    )


# ----------------------------------------------------------------------------- process group
def init_distributed(device: str = "cpu", timeout_s: float = DEFAULT_TIMEOUT_S) -> DistributedContext:
    """Join the process group described by torchrun's environment; returns this worker's context.

    Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1``) there is one worker and no process group.
    Backend: gloo on the CPU, NCCL on CUDA (one GPU per worker on each machine).

    :param device: ``"cpu"``, ``"cuda"`` or ``"auto"`` (see :meth:`DistributedContext.from_env`).
    :param timeout_s: seconds a collective waits for the other workers before it fails.
    """
    if not float(timeout_s) > 0:
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    ctx = DistributedContext.from_env(device)
    if not ctx.is_distributed or dist.is_initialized():
        return ctx
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise ValueError(
            f"WORLD_SIZE={ctx.world_size} but {' and '.join(missing)} not set: start workers with torchrun or launch()"
        )
    if ctx.backend == "nccl":
        if ctx.local_rank >= th.cuda.device_count():
            raise ValueError(
                f"LOCAL_RANK={ctx.local_rank} needs GPU {ctx.local_rank} but this machine has {th.cuda.device_count()}: "
                "NCCL needs one GPU per worker (use device='cpu' for more workers than GPUs)"
            )
        th.cuda.set_device(ctx.local_rank)
    dist.init_process_group(
        backend=ctx.backend,
        init_method="env://",
        rank=ctx.rank,
        world_size=ctx.world_size,
        timeout=timedelta(seconds=float(timeout_s)),
    )
    return ctx


def under_torchrun() -> bool:
    """Whether this process was started as one of several workers by ``torchrun`` (``WORLD_SIZE`` > 1 in its environment)."""
    return DistributedContext.from_env().is_distributed


def broadcast_object(obj: R, ctx: DistributedContext) -> R:
    """Rank 0's ``obj`` (picklable) on every worker; ``obj`` itself with one worker."""
    if not ctx.is_distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0, device=ctx.comm_device)
    return box[0]


def shutdown_distributed(wait_for_peers: bool = False) -> None:
    """Leave the process group (``destroy_process_group``); nothing when there is none.

    :param wait_for_peers: first wait until every worker gets here (a barrier): at the end of a run that
        went well, so that no worker tears down its connections while a peer still uses them. Not after an
        error, where a peer may never arrive.
    """
    if dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


# ----------------------------------------------------------------------------- running statistics
def running_stats(vec_normalize: VecNormalize | None) -> list[RunningMeanStd]:
    """The running statistics that ``vec_normalize`` updates while it trains: ``ret_rms`` when it
    normalises rewards, then ``obs_rms`` (each key's, in sorted order, for dict observations) when it
    normalises observations. Empty for ``None``."""
    if vec_normalize is None:
        return []
    stats = [vec_normalize.ret_rms] if vec_normalize.norm_reward else []
    if vec_normalize.norm_obs:
        obs_rms = vec_normalize.obs_rms
        stats += [obs_rms[key] for key in sorted(obs_rms)] if isinstance(obs_rms, dict) else [obs_rms]
    return stats


def _pack(stats: Sequence[RunningMeanStd]) -> np.ndarray:
    """``[count, mean..., var...]`` of each statistic, concatenated (float64)."""
    parts = [np.concatenate(([float(s.count)], np.ravel(s.mean), np.ravel(s.var))) for s in stats]
    return np.concatenate(parts) if parts else np.zeros(0)


def _unpack(flat: np.ndarray, like: Sequence[RunningMeanStd]) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The (count, mean, var) of each statistic of ``_pack(like)``-shaped ``flat``."""
    out, i = [], 0
    for s in like:
        shape, size = np.shape(s.mean), int(np.size(s.mean))
        count = float(flat[i])
        mean = flat[i + 1 : i + 1 + size].reshape(shape).copy()
        var = flat[i + 1 + size : i + 1 + 2 * size].reshape(shape).copy()
        out.append((count, mean, var))
        i += 1 + 2 * size
    return out


def added_moments(total: RunningMeanStd, base: RunningMeanStd) -> tuple[float, np.ndarray, np.ndarray]:
    """(count, mean, var) of the data that turned ``base`` into ``total``.

    The inverse of the parallel-variance merge (Chan et al.) that ``RunningMeanStd.update`` applies:
    if ``total`` is ``base`` merged with a batch, this returns that batch's moments.

    :param total: statistics after the updates, shapes ``()`` or ``(dim,)``.
    :param base: the same statistics before them.
    :return: count (0 when nothing was added), mean and (population) variance of the added data.
    """
    n_total, n_base = float(total.count), float(base.count)
    n = n_total - n_base
    if n <= 1e-9 * max(n_total, 1.0):
        return 0.0, np.zeros_like(base.mean), np.zeros_like(base.var)
    mean = base.mean + (total.mean - base.mean) * n_total / n
    delta = mean - base.mean
    m2 = total.var * n_total - base.var * n_base - np.square(delta) * n_base * n / n_total
    return n, mean, np.maximum(m2 / n, 0.0)


def sync_running_stats(
    stats: Sequence[RunningMeanStd], ctx: DistributedContext, baseline: Sequence[RunningMeanStd] | None = None
) -> list[RunningMeanStd]:
    """Make ``stats`` equal on every worker (in place); returns copies, the next call's ``baseline``.

    With ``baseline=None`` rank 0's statistics are broadcast (the start of training, a resume). Otherwise
    ``baseline`` is what the last call returned, equal on every worker: each worker's statistics added
    after it (:func:`added_moments`) are all-gathered and merged into ``baseline`` in rank order with
    the parallel-variance formula, which gives the statistics of ``baseline``'s data and every worker's
    new data. Every worker must call it at the same point (a collective).

    :param stats: this worker's ``RunningMeanStd`` objects, in the same order on every worker.
    :param ctx: this worker's context.
    :param baseline: the statistics of the last call, or ``None``.
    """
    stats = list(stats)
    if ctx.is_distributed and stats:
        if baseline is None:
            flat = th.as_tensor(_pack(stats), dtype=th.float64, device=ctx.comm_device)
            dist.broadcast(flat, src=0)
            merged = _unpack(flat.cpu().numpy(), stats)
        else:
            if len(baseline) != len(stats):
                raise ValueError(
                    f"baseline must hold one statistic per statistic of stats ({len(stats)}), got {len(baseline)}"
                )
            added = [added_moments(s, b) for s, b in zip(stats, baseline)]
            local = np.concatenate([np.concatenate(([n], np.ravel(m), np.ravel(v))) for n, m, v in added])
            flat = th.as_tensor(local, dtype=th.float64, device=ctx.comm_device)
            gathered = [th.empty_like(flat) for _ in range(ctx.world_size)]
            dist.all_gather(gathered, flat)
            merged_stats = [b.copy() for b in baseline]
            for worker in gathered:
                for target, (count, mean, var) in zip(merged_stats, _unpack(worker.cpu().numpy(), baseline)):
                    if count > 0:
                        target.update_from_moments(mean, var, count)
            merged = [(m.count, m.mean, m.var) for m in merged_stats]
        for s, (count, mean, var) in zip(stats, merged):
            s.count, s.mean, s.var = float(count), np.asarray(mean, dtype=np.float64), np.asarray(var, dtype=np.float64)
    return [s.copy() for s in stats]


# ----------------------------------------------------------------------------- the data-parallel model
def _average_gradients(parameters: list[th.nn.Parameter], ctx: DistributedContext) -> None:
    """Replace every gradient by its mean over the workers: one all-reduce of one flat bucket.

    The bucket also carries one "has a gradient" flag per parameter, so that a parameter that got a
    gradient on some worker gets the average (zero where it had none) on every worker.
    """
    device = parameters[0].device
    pieces = [
        p.grad.reshape(-1) if p.grad is not None else th.zeros(p.numel(), device=device, dtype=p.dtype) for p in parameters
    ]
    flags = th.tensor([p.grad is not None for p in parameters], device=device, dtype=pieces[0].dtype)
    bucket = th.cat([*pieces, flags]).to(ctx.comm_device)
    dist.all_reduce(bucket, op=dist.ReduceOp.SUM)
    bucket = bucket.to(device)
    bucket[: -len(parameters)] /= ctx.world_size
    offset = 0
    for p, has_grad in zip(parameters, bucket[-len(parameters) :].tolist()):
        n = p.numel()
        if has_grad > 0:
            averaged = bucket[offset : offset + n].view_as(p)
            if p.grad is None:
                p.grad = averaged.clone()
            else:
                p.grad.copy_(averaged)
        offset += n


class _GlobalStepCount:
    """A callback proxy for stock ``collect_rollouts``: makes ``model.num_timesteps`` count the steps of
    every worker before the wrapped callback sees it.

    Stock code adds ``env.num_envs`` (this worker's envs) to ``num_timesteps`` right before
    ``callback.on_step()``; this adds the other workers' ``(world_size - 1) * env.num_envs``.
    """

    def __init__(self, callback: BaseCallback, model: RecurrentPPO, extra_steps: int) -> None:
        self._callback, self._model, self._extra_steps = callback, model, extra_steps

    def on_step(self) -> bool:
        self._model.num_timesteps += self._extra_steps
        return self._callback.on_step()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._callback, name)


class DataParallelRecurrentPPO(RecurrentPPO):
    """Stock ``RecurrentPPO`` whose workers step in lockstep; made by :func:`make_data_parallel`.

    Overrides only the two halves of the learning loop around stock code: ``collect_rollouts``
    (global step count, agreed stopping, merged reward-scaling statistics) and ``train`` (averaged
    gradients, clipped, before each optimizer step; rank 0's learning rate). Its saved zip is an ordinary
    ``RecurrentPPO`` one: the distributed state is not saved.
    """

    _dp_ctx: DistributedContext | None = None
    _dp_baseline: list[RunningMeanStd] | None = None

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_dp_ctx", "_dp_baseline"]

    def save(self, path: Any, exclude: Iterable[str] | None = None, include: Iterable[str] | None = None) -> None:
        """Save as one worker would have: the GLOBAL ``n_envs`` and ``batch_size`` (a worker holds its share)."""
        world = self._context().world_size
        n_envs, batch_size = self.n_envs, self.batch_size
        assert n_envs is not None and batch_size is not None  # set at construction or load
        self.n_envs, self.batch_size = n_envs * world, batch_size * world
        try:
            super().save(path, exclude=exclude, include=include)
        finally:
            self.n_envs, self.batch_size = n_envs, batch_size

    def _context(self) -> DistributedContext:
        if self._dp_ctx is None:
            raise RuntimeError("this model has no distributed context: make it with make_data_parallel(model, ctx)")
        return self._dp_ctx

    def collect_rollouts(
        self, env: VecEnv, callback: BaseCallback, rollout_buffer: RolloutBuffer, n_rollout_steps: int
    ) -> bool:
        """Stock rollout with global step counts; then every worker agrees whether to go on (all must)
        and merges its reward-scaling statistics with the others'."""
        ctx = self._context()
        counted = _GlobalStepCount(callback, self, (ctx.world_size - 1) * env.num_envs)
        finished = super().collect_rollouts(env, counted, rollout_buffer, n_rollout_steps)  # type: ignore[arg-type]
        flags = th.tensor([1 if finished else 0, 0 if stop_requested() else 1], device=ctx.comm_device)
        dist.all_reduce(flags, op=dist.ReduceOp.MIN)
        if flags[1].item() == 0:  # a worker was asked to stop: every worker stops here, between the same collectives
            _STOP_REQUESTED.clear()  # honoured: a later training in this process starts afresh
            raise KeyboardInterrupt
        self._dp_baseline = sync_running_stats(running_stats(self.get_vec_normalize_env()), ctx, self._dp_baseline)
        return bool(flags[0].item())

    def train(self) -> None:
        """Stock ``train()`` with gradients averaged across workers before clipping and each optimizer step."""
        ctx = self._context()
        lr = th.tensor([float(self.lr_schedule(self._current_progress_remaining))], dtype=th.float64, device=ctx.comm_device)
        dist.broadcast(lr, src=0)
        agreed_lr = float(lr.item())
        max_grad_norm, lr_schedule = self.max_grad_norm, self.lr_schedule
        parameters = [p for p in self.policy.parameters() if p.requires_grad]

        def average_then_clip(optimizer: th.optim.Optimizer, args: Any, kwargs: Any) -> None:
            _average_gradients(parameters, ctx)
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), max_grad_norm)  # stock's clip, on the average

        handle = self.policy.optimizer.register_step_pre_hook(average_then_clip)
        self.max_grad_norm = math.inf  # stock's clip multiplies by exactly 1.0: the real one is in the hook
        self.lr_schedule = lambda _: agreed_lr
        try:
            super().train()
        finally:
            handle.remove()
            self.max_grad_norm, self.lr_schedule = max_grad_norm, lr_schedule


def _to_cpu(x: Any) -> Any:
    """``x`` with every tensor (in dicts, lists and tuples) on the CPU."""
    if isinstance(x, th.Tensor):
        return x.detach().cpu()
    if isinstance(x, dict):
        return {k: _to_cpu(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_cpu(v) for v in x)
    return x


def broadcast_training_state(model: RecurrentPPO, ctx: DistributedContext) -> None:
    """Give every worker rank 0's weights, optimizer state, step counters and reward-scaling statistics.

    A collective: every worker calls it at the same point. :func:`make_data_parallel` calls it.
    """
    if not ctx.is_distributed:
        return
    state: dict[str, Any] = {}
    if ctx.is_main:
        state = {
            "policy": _to_cpu(model.policy.state_dict()),
            "optimizer": _to_cpu(model.policy.optimizer.state_dict()),
            "num_timesteps": int(model.num_timesteps),
            "_n_updates": int(model._n_updates),
            "_current_progress_remaining": float(model._current_progress_remaining),
        }
    box = [state]
    dist.broadcast_object_list(box, src=0, device=ctx.comm_device)
    state = box[0]
    if not ctx.is_main:
        model.policy.load_state_dict(state["policy"])
        model.policy.optimizer.load_state_dict(state["optimizer"])
        model.num_timesteps = state["num_timesteps"]
        model._n_updates = state["_n_updates"]
        model._current_progress_remaining = state["_current_progress_remaining"]
    sync_running_stats(running_stats(model.get_vec_normalize_env()), ctx, None)


def make_data_parallel(model: RecurrentPPO, ctx: DistributedContext) -> RecurrentPPO:
    """Make ``model`` (built or loaded, with its training env) one of ``ctx.world_size`` lockstep workers.

    Every worker calls it at the same point, before ``learn``. It checks that the workers' settings
    agree (refusing ``target_kl``), turns ``model`` in place into a :class:`DataParallelRecurrentPPO`
    and gives every worker rank 0's training state (:func:`broadcast_training_state`): after a resume
    only rank 0 needs to load the checkpoint. With one worker ``model`` is returned unchanged.

    :param model: a ``RecurrentPPO`` on ``ctx.device`` with this worker's share of the envs
        (:func:`split_hyperparams`).
    :param ctx: this worker's context, from :func:`init_distributed` or :func:`launch`.
    :return: ``model`` itself.
    :raises ValueError: with ``target_kl``, a model on another device than ``ctx.device``, or settings
        (:data:`_LOCKSTEP_SETTINGS`, observation and action spaces) that differ between workers.
    """
    if not ctx.is_distributed:
        return model
    if type(model) not in (RecurrentPPO, DataParallelRecurrentPPO):
        raise ValueError(f"model must be a sb3_contrib RecurrentPPO, got {type(model).__name__}")
    if model.target_kl is not None:
        raise ValueError(_target_kl_message(model.target_kl, ctx.world_size))
    if model.device != th.device(ctx.device):
        raise ValueError(
            f"model is on {model.device} but this worker's device is {ctx.device}: build it with device=ctx.device"
        )
    mine = {name: getattr(model, name) for name in _LOCKSTEP_SETTINGS}
    mine["spaces"] = repr((model.observation_space, model.action_space))
    everyone: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(everyone, mine)
    differing = [name for name in mine if any(other[name] != mine[name] for other in everyone)]
    if differing:
        raise ValueError(
            "the workers' models differ in "
            + "; ".join(f"{name} (by rank: {[other[name] for other in everyone]})" for name in differing)
            + ": give every worker the same settings (split_hyperparams for n_envs and batch_size)"
        )
    model.__class__ = DataParallelRecurrentPPO
    assert isinstance(model, DataParallelRecurrentPPO)
    model._dp_ctx = ctx
    _stop_together_on_sigint()
    broadcast_training_state(model, ctx)
    model._dp_baseline = [s.copy() for s in running_stats(model.get_vec_normalize_env())]
    return model


# ----------------------------------------------------------------------------- stopping together
#: Set in a worker by ctrl-C (SIGINT) or once its launcher is gone; the workers agree on it after each rollout.
_STOP_REQUESTED = threading.Event()


def request_stop() -> None:
    """Ask this worker's training to stop, as ctrl-C does: at the end of the current rollout, every worker
    raises ``KeyboardInterrupt`` at the same point (``rl2 train``: worker 0 saves a checkpoint)."""
    _STOP_REQUESTED.set()


def stop_requested() -> bool:
    """Whether :func:`request_stop` (or ctrl-C) has asked this worker to stop."""
    return _STOP_REQUESTED.is_set()


def _on_sigint(signum: int, frame: Any) -> None:
    if _STOP_REQUESTED.is_set():
        raise KeyboardInterrupt  # a second ctrl-C: at once
    _STOP_REQUESTED.set()


def _stop_together_on_sigint() -> None:
    """Make ctrl-C a stop request (:func:`request_stop`) in this process, not an exception at once.

    An exception at once would leave the workers at different points of their collectives: one in a
    gradient all-reduce, another past it, each waiting for the other until the process group's timeout.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_sigint)


# ----------------------------------------------------------------------------- launcher
class WorkerError(RuntimeError):
    """A worker started by :func:`launch` failed or died; the other workers were stopped.

    ``tracebacks`` maps the rank of each worker that raised to its traceback (text).
    """

    tracebacks: dict[int, str] = {}  # launch sets one per instance


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pin_to_own_cpus(rank: int, workers: int) -> None:
    """Keep this worker's thread (and the threads it starts, torch's included) on its own share of the CPUs this
    process may use, where there are at least as many as workers (Linux only).

    Measured with 2 workers on 2 cores (RL2Bandit-v0 defaults): 8-10% more steps per second, the gradient
    all-reduce taking a third less CPU time; no loss with a third, unpinned busy process on the machine. It runs
    after the process group is set up, so that gloo's threads stay free to run on any CPU (pinning them too
    gained less).
    """
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    share = len(cpus) // workers
    if share >= 1:
        os.sched_setaffinity(0, set(cpus[rank * share : (rank + 1) * share]))


#: Seconds between a worker's checks that the process that launched it is still there.
PARENT_POLL_S = 1.0


def _interrupt_when_orphaned(parent_pid: int, poll_s: float = PARENT_POLL_S) -> None:
    """Watch, from a daemon thread, that the launching process lives; once it is gone, act as ctrl-C would.

    A launcher killed without running its own clean-up (SIGTERM from ``kill``, a batch scheduler or
    ``docker stop``; SIGKILL) would otherwise leave its workers training on, unseen. The stop is the one
    of ctrl-C: every worker stops after the current rollout, worker 0 saving a checkpoint.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        _thread.interrupt_main()  # as SIGINT: a stop request in training (make_data_parallel), else KeyboardInterrupt

    threading.Thread(target=watch, name="rl2-parent-watch", daemon=True).start()


def _worker_main(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    rank: int,
    workers: int,
    port: int,
    device: str,
    timeout_s: float,
    conn: Any,
    parent_pid: int,
) -> None:
    """The body of a worker process of :func:`launch`: torchrun's environment, the process group, ``fn``."""
    # a launcher started as a background job (`nohup rl2 train ... &`) ignores SIGINT, and its workers inherit that:
    # they must stay interruptible, by ctrl-C and by the watch below (training then makes SIGINT a stop request)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _interrupt_when_orphaned(parent_pid)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(workers),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(workers),
    )
    try:
        ctx = init_distributed(device, timeout_s)
        _pin_to_own_cpus(rank, workers)
        result = fn(ctx, *args)
        shutdown_distributed(wait_for_peers=True)
        conn.send(("ok", result))
        conn.close()
    except BaseException as exc:  # noqa: BLE001 - reported to the launcher, which stops the run
        summary = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
        try:
            conn.send(("error", summary, traceback.format_exc(), time.time(), isinstance(exc, KeyboardInterrupt)))
            conn.close()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            # no teardown: the process group of a failed collective can block in its destructor
            os._exit(1)


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"died with exit code {code}"


def _stop(processes: list[Any], grace_s: float = 5.0) -> None:
    """Terminate the processes still alive, then kill those that outlive ``grace_s``."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace_s
    for p in processes:
        p.join(max(deadline - time.monotonic(), 0.0))
        if p.is_alive():
            p.kill()
            p.join()


def launch(
    fn: Callable[..., R],
    workers: int,
    args: tuple[Any, ...] = (),
    *,
    device: str = "cpu",
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interrupt_grace_s: float = 60.0,
) -> list[R]:
    """Run ``fn(ctx, *args)`` in ``workers`` data-parallel worker processes on this machine.

    Each worker is a fresh (spawned) process with torchrun's environment variables and a free local
    port, in the process group of :func:`init_distributed`, kept to its own share of the CPUs
    (:func:`_pin_to_own_cpus`); ``fn`` gets its :class:`DistributedContext`.
    With ``workers=1`` ``fn`` runs in this process, with no process group.

    As soon as a worker raises or dies, the others are stopped and a :class:`WorkerError` names it
    (the worker's traceback is attached as a note). On ctrl-C in a terminal (which interrupts the workers
    too) they get up to ``interrupt_grace_s`` seconds to finish, e.g. to save a checkpoint, before they
    are stopped. A worker that is the first to end with ``KeyboardInterrupt`` (SIGINT sent to the workers
    only) ends the launch with ``KeyboardInterrupt`` as well, not a :class:`WorkerError`. If this process is
    killed (SIGTERM, SIGKILL), each worker notices within ``PARENT_POLL_S`` seconds and stops as on ctrl-C,
    so that no worker trains on unseen.

    :param fn: a picklable (module-level) function of ``(ctx, *args)``; its result must be picklable.
    :param workers: the number of worker processes, >= 1.
    :param args: further arguments of ``fn`` (picklable).
    :param device: ``"cpu"`` (gloo), ``"cuda"`` (NCCL, one GPU per worker) or ``"auto"`` (CUDA when this
        machine has a GPU per worker, else the CPU).
    :param timeout_s: the process group's timeout: seconds a collective waits for the others.
    :param interrupt_grace_s: seconds the workers get to finish after ctrl-C.
    :return: the results of ``fn``, by rank.
    """
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if device not in _DEVICES:
        raise ValueError(f"device must be one of {_DEVICES}, got {device!r}")
    if not float(timeout_s) > 0:
        raise ValueError(f"timeout_s must be a number of seconds > 0, got {timeout_s!r}")
    if device == "auto":
        device = "cuda" if th.cuda.is_available() and th.cuda.device_count() >= workers else "cpu"
    if device == "cuda" and workers > th.cuda.device_count():
        raise ValueError(
            f"workers={workers} with device='cuda' needs {workers} GPUs (NCCL: one per worker), this machine has "
            f"{th.cuda.device_count()}: use device='cpu' or fewer workers"
        )
    if workers == 1:
        return [fn(DistributedContext(device=_resolve_device(device, local_rank=0)), *args)]
    mp = multiprocessing.get_context("spawn")
    port = _free_port()
    processes, readers = [], []
    try:
        for rank in range(workers):
            reader, writer = mp.Pipe(duplex=False)
            p = mp.Process(
                target=_worker_main,
                args=(fn, args, rank, workers, port, device, float(timeout_s), writer, os.getpid()),
                name=f"rl2-worker-{rank}",
            )
            p.start()
            writer.close()
            processes.append(p)
            readers.append(reader)
        return _supervise(processes, readers)
    except KeyboardInterrupt:
        # ctrl-C in a terminal reaches the workers too (one process group): give them time to handle it, e.g. rank 0
        # to save a checkpoint; a second ctrl-C ends the wait. No SIGINT is forwarded: it would interrupt that save.
        deadline = time.monotonic() + interrupt_grace_s
        for p in processes:
            p.join(max(deadline - time.monotonic(), 0.0))
        raise
    finally:
        _stop(processes)


def _supervise(processes: list[Any], readers: list[Any]) -> list[Any]:
    """Wait for every worker's result; on the first failure stop them all and raise :class:`WorkerError`."""
    workers = len(processes)
    results: dict[int, Any] = {}
    errors: dict[int, tuple[str, str, float, bool]] = {}  # rank -> (summary, traceback, when, interrupted): raised in fn
    deaths: dict[int, int | None] = {}  # rank -> exit code: ended without a result or an error
    open_readers = dict(enumerate(readers))
    running = set(range(workers))
    first_failure: float | None = None

    def receive(rank: int) -> None:
        try:
            message = open_readers[rank].recv()
        except (EOFError, OSError):
            del open_readers[rank]
            return
        if message[0] == "ok":
            results[rank] = message[1]
        else:
            errors[rank] = (message[1], message[2], message[3], message[4])

    while running or open_readers:
        if first_failure is not None and time.monotonic() - first_failure > 1.0:
            break  # the failures that followed the first one have had time to arrive: report
        objects = {processes[r].sentinel: ("exit", r) for r in running}
        objects.update({reader: ("message", r) for r, reader in open_readers.items()})
        timeout = None if first_failure is None else 0.2
        for obj in multiprocessing.connection.wait(list(objects), timeout=timeout):
            kind, rank = objects[obj]
            if kind == "message" and rank in open_readers:
                receive(rank)
            elif kind == "exit":
                processes[rank].join()
                running.discard(rank)
                while rank in open_readers and open_readers[rank].poll():
                    receive(rank)
                if rank not in results and rank not in errors:
                    deaths[rank] = processes[rank].exitcode
        if (errors or deaths) and first_failure is None:
            first_failure = time.monotonic()
    if not errors and not deaths:
        return [results[r] for r in range(workers)]
    _stop(processes)
    # the cause, not its consequences (the peers' failed collectives): a worker that died, else the earliest error
    if deaths:
        rank = min(deaths)
        error = WorkerError(f"worker {rank} of {workers} {_describe_exit(deaths[rank])}; the other workers were stopped")
    else:
        rank = min(errors, key=lambda r: errors[r][2])
        if errors[rank][3]:
            # SIGINT reached the workers first (a signal sent to them, not a terminal's ctrl-C, which reaches this
            # process too): an interruption that each worker has handled, e.g. worker 0 by saving a checkpoint
            raise KeyboardInterrupt
        error = WorkerError(f"worker {rank} of {workers} failed: {errors[rank][0]}; the other workers were stopped")
    error.tracebacks = {r: errors[r][1] for r in sorted(errors)}
    add_note = getattr(error, "add_note", None)  # Python >= 3.11: shown under the error's own traceback
    for r, text in error.tracebacks.items():
        if add_note is not None:
            add_note(f"--- worker {r} traceback ---\n{text}")
    raise error


# ----------------------------------------------------------------------------- lockstep check
def weights_digest(model: RecurrentPPO) -> str:
    """sha256 of the model's weights, its optimizer state and its reward-scaling statistics."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.policy.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().numpy().tobytes())
    for group in model.policy.optimizer.state_dict()["state"].values():
        for key in sorted(group):
            h.update(np.asarray(_to_cpu(group[key])).tobytes())
    h.update(_pack(running_stats(model.get_vec_normalize_env())).tobytes())
    return h.hexdigest()


def lockstep_check(ctx: DistributedContext, updates: int = 3, seed: int = 0) -> str:
    """Train a tiny RL2Bandit model with ``ctx.world_size`` workers; check their weights are identical.

    8 envs in all (``ctx.world_size`` must divide 8), 10-step rollouts, 2 epochs of 2 minibatches, reward
    scaling, a GRU of 16 units, ``updates`` updates.

    :return: the weights' sha256 (:func:`weights_digest`), the same on every worker.
    :raises RuntimeError: when the workers' weights differ.
    """
    import meta_envs  # noqa: F401  (registers the ids)
    from rl2_agent.envs import make_vec_env
    from rl2_agent.policies import RL2GRUPolicy

    th.set_num_threads(1)
    hp = split_hyperparams({"n_envs": 8, "n_steps": 10, "batch_size": 40, "n_epochs": 2}, ctx.world_size)
    worker_seed = ctx.worker_seed(seed, hp["n_envs"])
    env = VecNormalize(
        make_vec_env("RL2Bandit-v0", hp["n_envs"], {"num_arms": 3, "episodes_per_trial": 5}, seed=worker_seed),
        norm_obs=False,
        norm_reward=True,
    )
    model = RecurrentPPO(
        RL2GRUPolicy,
        env,
        n_steps=hp["n_steps"],
        batch_size=hp["batch_size"],
        n_epochs=hp["n_epochs"],
        learning_rate=1e-3,
        policy_kwargs={"gru_hidden_size": 16},
        seed=worker_seed,
        device=ctx.device,
    )
    model = make_data_parallel(model, ctx)
    model.learn(updates * 8 * hp["n_steps"])
    digest = weights_digest(model)
    if ctx.is_distributed:
        everyone: list[Any] = [None] * ctx.world_size
        dist.all_gather_object(everyone, digest)
        if len(set(everyone)) != 1:
            raise RuntimeError(f"the workers' weights differ after {updates} updates: sha256 by rank {everyone}")
    env.close()
    return digest


def main(argv: list[str] | None = None) -> None:
    """``python -m rl2_agent.training.distributed``: run :func:`lockstep_check` under torchrun, or on
    ``--workers`` local processes."""
    parser = argparse.ArgumentParser(
        prog="python -m rl2_agent.training.distributed",
        description="Check that data-parallel workers train in lockstep: a tiny training whose workers must end "
        "with identical weights. Under torchrun each worker joins torchrun's process group; else --workers "
        "processes start on this machine.",
    )
    parser.add_argument("--workers", type=int, default=2, help="local worker processes when not under torchrun (default 2)")
    parser.add_argument("--updates", type=int, default=3, help="PPO updates (default 3)")
    parser.add_argument("--device", default="cpu", choices=_DEVICES, help="cpu (gloo) or cuda (NCCL)")
    args = parser.parse_args(argv)
    from rl2_agent.training.distributed import lockstep_check as check  # by its module path, for spawned workers

    if "WORLD_SIZE" in os.environ:
        ctx = init_distributed(args.device)
        try:
            digest = check(ctx, args.updates)
        except BaseException:
            shutdown_distributed()
            raise
        shutdown_distributed(wait_for_peers=True)
        print(f"rank {ctx.rank} of {ctx.world_size}: weights sha256 {digest}", flush=True)
    else:
        digests = launch(check, args.workers, (args.updates,), device=args.device)
        print(f"{args.workers} workers, {args.updates} updates: identical weights, sha256 {digests[0]}", flush=True)


if __name__ == "__main__":
    main()

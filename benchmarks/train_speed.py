"""Training speed: RecurrentPPO + RL2GRUPolicy vs stock RecurrentPPO + "MlpLstmPolicy", side by side; then the
data-parallel trainer with 1 and 2 workers.

Usage::

    python benchmarks/train_speed.py [--timesteps 12800] [--threads 1] [--repeats 1] [--hidden 256]
                                     [--n-envs 64] [--n-steps 100] [--batch-size B] [--n-epochs E] [--skip-stock]
                                     [--workers 1,2] [--worker-seconds 20] [--worker-envs bandit,mdp] [--single-envs]

Both agents train on RL2Bandit-v0 (num_arms=5, episodes_per_trial=100) with the batched env, built
as ``rl2 train`` builds it (``make_training_env``: the defaults' reward scaling included), hidden
size 256 and the same settings: the reference layout of 64 envs and rollouts of 100 steps (one
whole trial; ``--n-envs``, ``--n-steps``), and the other RecurrentPPO settings of the project
defaults (``rl2_agent.hyperparams``; ``--batch-size``, ``--n-epochs`` override them). When the
defaults' n_envs x n_steps differ from the compared ones (the bandit defaults: 320 envs, 20-step
rollouts), both agents are timed again with the defaults' layout (batch_size and n_epochs as compared); a
further line times RL2GRUPolicy at the project defaults (their hidden size) when they differ from
the runs above. RL2GRUPolicy trains as ``rl2 train`` trains it, with the gather-padding rollout
buffer of ``rl2_agent.buffers`` (the same minibatches, padded faster); the stock agent keeps
sb3-contrib's buffer, as the Zoo would. A last line times RL2GRUPolicy at the project defaults
with sb3-contrib's buffer, so the buffer's share of the gain is printed on its own, and another with the
previous core (ATen's ``nn.GRU`` in training, ``policies.FUSED_GRU = False``, and Adam's default per-tensor
loop instead of its fused kernel), so the share of the fused GRU layer and the fused Adam is printed too.
Each run starts with one warm-up rollout + update, then ``--timesteps`` training steps are timed
(``learn`` rounds up to whole rollouts of n_steps x n_envs). With ``--repeats`` the cases alternate
and the best run of each is kept.

Printed: training steps/s (env steps, i.e. transitions, per wall-clock second of ``learn``), the
ratio ours / stock per layout (goal >= 1.3), the share of wall time spent collecting rollouts, the padding
factor, and the achieved GFLOP/s next to the float32 matmul peak (its share at the project defaults: goal >= 35%) (best ``torch.mm`` of two
2048x2048 matrices, with 1 and 2 threads). FLOPs per env step::

    F_fwd    = 2 nets x sum over layers l of 2 * G*H * (in_l + H)   G = 3 gates (GRU) or 4 (LSTM),
                                                                   in_0 = features, in_l = H
             + heads: sum of 2 * in * out over the actor MLP + action layer, critic MLP + value layer
    F_step   = F_fwd                                   rollout: one forward per transition
             + n_epochs * 3 * F_fwd * padding          training: forward + backward (~2x forward),
                                                       padding = rows the nets processed / real rows
    GFLOP/s  = F_step * steps/s / 1e9

Element-wise gate math, the optimizer and the loss are not counted.

Data-parallel training (``--workers``, default ``1,2``): for each id of ``--worker-envs`` (``bandit``:
RL2Bandit-v0 k=5 n=100, ``mdp``: RL2TabularMDP-v0, ``rl3_mdp``: RL3TabularMDP-v0 with H = 100, all at the project
defaults), the real trainer
(``TrainConfig(..., workers=N)`` + ``train()`` into a temporary folder, no evaluation until the end) trains for
``--worker-seconds`` seconds of its own clock with each worker count in turn; steps/s is the run's own
``num_timesteps`` / training seconds (``checkpoint.json``), the ratio is N workers / 1 worker (goal >= 1.8x with
2 workers on 2 cores) and "GFLOP/s per core" is F_step x steps/s / N next to the one-thread peak. ``--worker-sizes``
(default both): ``global`` runs keep the defaults' rollout and minibatch as the GLOBAL sizes, split among the
workers (``rl2 train --workers N``, the same update per sample as one worker); ``per-worker`` runs give each worker
the defaults' envs and minibatch (``--hyperparams n_envs=<N x> batch_size=<N x>``: DD-PPO's scaling, N times the
samples per optimizer step). ``--only-workers`` runs only these. ``--single-envs`` adds, per id, 1 worker on SB3's
``DummyVecEnv`` of single envs instead of the batched env (``make_vec_env`` as for an id without one), and prints
batched / single. "Cores used" is
the CPU time of the run's processes (start-up included) / its wall time: below N, other processes had part of
the cores and the ratio understates what N idle cores give.

The machine this was written on has 2 cores shared with other processes, so every figure of the first
table is also given per CPU-second (``time.process_time``: the time this process actually ran), next to the
matmul peak measured the same way; "CPU busy" is CPU time / wall time. One torch thread is the
default: with 2 threads, each OpenMP parallel region waits for a thread that another process has
descheduled, and training ran more than 10x slower on the loaded machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import torch as th
from torch import nn

import rl2_agent.policies as policies
from rl2_agent.arguments import non_negative_float, non_negative_int, parse_names, positive_int
from rl2_agent.hyperparams import TIME_BUDGET_STEP_CAP, get_hyperparams
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import build_model, make_training_env, train

ENV_ID = "RL2Bandit-v0"
ENV_KWARGS = {"num_arms": 5, "episodes_per_trial": 100}

#: The compared settings of the issue: 64 envs, 100-step rollouts (one whole trial each); the options override them.
COMPARED_LAYOUT = {"n_envs": 64, "n_steps": 100}
LAYOUT_KEYS = ("n_envs", "n_steps")
SETTINGS_KEYS = (*LAYOUT_KEYS, "batch_size", "n_epochs")
AGENT_NAMES = {"ours": "RL2GRUPolicy", "stock": "stock MlpLstmPolicy"}

#: The sizes label of the ``--single-envs`` run: 1 worker on single envs instead of the id's batched env.
SINGLE_ENVS = "single envs"

#: ``--worker-envs`` name -> (env id, env kwargs) of the data-parallel runs, trained at the project defaults.
WORKER_ENVS: dict[str, tuple[str, dict[str, Any]]] = {
    "bandit": (ENV_ID, ENV_KWARGS),
    "mdp": ("RL2TabularMDP-v0", {}),
    "rl3_mdp": ("RL3TabularMDP-v0", {"steps_per_trial": 100}),  # RL^3 on MDP n = 10 (H = 100), time inputs
}


def matmul_peak(threads: int, size: int = 2048, reps: int = 5) -> tuple[float, float]:
    """Float32 ``torch.mm`` of two ``size`` x ``size`` matrices with ``threads`` threads, best of ``reps``.

    :return: GFLOP per second of wall-clock time, and GFLOP per CPU-second (per core busy).
    """
    previous = th.get_num_threads()
    th.set_num_threads(threads)
    a, b = th.randn(size, size), th.randn(size, size)
    th.mm(a, b)
    best_wall = best_cpu = float("inf")
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(3):
            th.mm(a, b)
        best_wall = min(best_wall, (time.perf_counter() - wall) / 3)
        best_cpu = min(best_cpu, (time.process_time() - cpu) / 3)
    th.set_num_threads(previous)
    return 2 * size**3 / best_wall / 1e9, 2 * size**3 / best_cpu / 1e9


def linear_flops(module: nn.Module) -> int:
    """FLOPs of one forward pass of every ``nn.Linear`` in ``module``, for one input row."""
    return sum(2 * m.in_features * m.out_features for m in module.modules() if isinstance(m, nn.Linear))


def rnn_flops(rnn: nn.RNNBase, gates: int) -> int:
    """FLOPs of the matrix products of one step of ``rnn`` (``gates`` = 3 for a GRU, 4 for an LSTM), one row."""
    sizes = [rnn.input_size] + [rnn.hidden_size] * (rnn.num_layers - 1)
    return sum(2 * gates * rnn.hidden_size * (size + rnn.hidden_size) for size in sizes)


def forward_flops(policy: Any) -> int:
    """FLOPs of one forward pass of both recurrent nets and the heads, for one transition."""
    gates = 3 if isinstance(policy.lstm_actor, nn.GRU) else 4
    heads = linear_flops(policy.mlp_extractor) + linear_flops(policy.action_net) + linear_flops(policy.value_net)
    return rnn_flops(policy.lstm_actor, gates) + rnn_flops(policy.lstm_critic, gates) + heads


def step_flops(policy: Any, n_epochs: int, padding: float) -> float:
    """F_step: the FLOPs of one env step, its forward pass in the rollout and ``n_epochs`` forward + backward passes."""
    return forward_flops(policy) * (1 + 3 * n_epochs * padding)


def timed(fn: Callable[..., Any], totals: dict[str, float], key: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return wrapper


def use_previous_core(model: Any) -> None:
    """Give ``model`` Adam's default per-tensor loop instead of the fused kernel RL2GRUPolicy builds (the same
    settings and state); with ``policies.FUSED_GRU = False`` (set around ``learn``) this is the previous core."""
    optimizer = model.policy.optimizer
    previous = type(optimizer)(model.policy.parameters(), **{**optimizer.defaults, "fused": None, "foreach": None})
    previous.load_state_dict(optimizer.state_dict())
    for group in previous.param_groups:
        group["fused"] = group["foreach"] = None
    model.policy.optimizer = previous


def run(
    policy: str,
    hidden: int,
    hyperparams: dict[str, Any],
    timesteps: int,
    seed: int,
    fast_buffer: bool,
    fused_core: bool = True,
) -> dict[str, float]:
    """Train one agent for ``timesteps`` after a warm-up; return throughput, time shares and FLOP counts.

    ``fast_buffer``: with the gather-padding rollout buffer (``rl2 train``'s), else sb3-contrib's.
    ``fused_core``: RL2GRUPolicy's fused GRU layer and fused Adam (``rl2 train``'s), else ``nn.GRU`` and Adam's loop.
    """
    overrides = dict(hyperparams)
    if policy == "ours":
        overrides["policy_kwargs"] = {"gru_hidden_size": hidden}
    else:
        overrides.update(policy="MlpLstmPolicy", policy_kwargs={"lstm_hidden_size": hidden})
    # built exactly as `rl2 train` builds it (the defaults' reward scaling included), for both agents
    config = TrainConfig(ENV_ID, ENV_KWARGS, timesteps, seed=seed, hyperparams=overrides)
    model = build_model(config, make_training_env(config), fast_buffer=fast_buffer)
    if not fused_core:
        use_previous_core(model)
    fused_gru = policies.FUSED_GRU
    policies.FUSED_GRU = fused_core
    try:
        model.learn(1)  # warm-up: one rollout and one update
        totals = {"rollout": 0.0, "train": 0.0, "rows": 0.0}
        model.collect_rollouts = timed(model.collect_rollouts, totals, "rollout")
        model.train = timed(model.train, totals, "train")
        evaluate_actions = model.policy.evaluate_actions

        def counting_evaluate_actions(obs: Any, actions: th.Tensor, lstm_states: Any, episode_starts: th.Tensor) -> Any:
            totals["rows"] += episode_starts.shape[0]  # padded rows, as the recurrent nets process them
            return evaluate_actions(obs, actions, lstm_states, episode_starts)

        model.policy.evaluate_actions = counting_evaluate_actions
        start_steps = model.num_timesteps
        wall, cpu = time.perf_counter(), time.process_time()
        model.learn(timesteps, reset_num_timesteps=False)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        policies.FUSED_GRU = fused_gru
    steps = model.num_timesteps - start_steps
    padding = totals["rows"] / (steps * model.n_epochs)
    flops_step = step_flops(model.policy, model.n_epochs, padding)
    return {
        "steps_per_s": steps / wall,
        "steps_per_cpu_s": steps / cpu,
        "cpu_share": cpu / wall,
        "rollout_share": totals["rollout"] / wall,
        "padding": padding,
        "gflop_per_step": flops_step / 1e9,
        "gflops": flops_step * steps / wall / 1e9,
        "gflops_cpu": flops_step * steps / cpu / 1e9,
    }


# ----------------------------------------------------------------------------- data-parallel runs
def cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended (the workers of ``train``)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def step_flops_at_defaults(env_id: str, env_kwargs: dict[str, Any], seed: int) -> float:
    """F_step of the project defaults of ``env_id``, padding measured on one rollout (one update)."""
    config = TrainConfig(env_id, env_kwargs, TIME_BUDGET_STEP_CAP, seed=seed)
    model = build_model(config, make_training_env(config))
    model.learn(1)
    buffer = model.rollout_buffer
    rows = sum(int(samples.mask.numel()) for samples in buffer.get(model.batch_size))
    padding = rows / (buffer.buffer_size * buffer.n_envs)
    model.env.close()
    return step_flops(model.policy, model.n_epochs, padding)


#: ``--worker-sizes``: how the sizes of a run with N workers relate to the project defaults. ``global``: the defaults'
#: rollout and minibatch are the GLOBAL ones, split among the workers (rl2 train --workers N); ``per-worker``: each
#: worker keeps the defaults' envs and minibatch, so the global ones are N times larger (DD-PPO's scaling), given as
#: ``--hyperparams n_envs=<N x> batch_size=<N x>``.
WORKER_SIZES = ("global", "per-worker")


def worker_overrides(env_id: str, workers: int, sizes: str) -> dict[str, Any]:
    """The hyperparameter overrides of a run with ``workers`` workers and ``sizes`` (see :data:`WORKER_SIZES`)."""
    if sizes == "global" or workers == 1:
        return {}
    defaults = get_hyperparams(env_id)
    return {"n_envs": defaults["n_envs"] * workers, "batch_size": defaults["batch_size"] * workers}


def train_with_workers(
    env_id: str, env_kwargs: dict[str, Any], workers: int, seconds: float, seed: int, sizes: str = "global"
) -> dict[str, float]:
    """``seconds`` of training (the run's own clock) by the real trainer with ``workers`` workers, at the defaults
    (sized by ``sizes``, see :data:`WORKER_SIZES`).

    :return: the run's steps and training seconds (its ``checkpoint.json``), steps/s, the cores it used (CPU
        time of its processes / wall time, start-up included) and the 1-minute load average before it.
    """
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="train_speed_") as out:
        config = TrainConfig(
            env_id,
            env_kwargs,
            TIME_BUDGET_STEP_CAP,
            seed=seed,
            out=out,
            eval_every=TIME_BUDGET_STEP_CAP,
            eval_trials=10,
            max_seconds=seconds,
            workers=workers,
            hyperparams=worker_overrides(env_id, workers, sizes),
        )
        cpu, wall = cpu_seconds(), time.perf_counter()
        train(config, progress=False, overwrite=True)
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
        state = run_folder.read_checkpoint_state(out)
    steps, train_seconds = int(state["num_timesteps"]), float(state["train_seconds"])
    return {"steps": steps, "seconds": train_seconds, "steps_per_s": steps / train_seconds, "cores": cpu / wall, "load": load}


def worker_table(
    names: list[str],
    worker_counts: list[int],
    seconds: float,
    seed: int,
    repeats: int,
    peak_wall: float,
    sizes: tuple[str, ...] = ("global",),
    single_envs: bool = False,
) -> None:
    """Train each id of ``names`` with each worker count and each of ``sizes`` (alternating, ``repeats`` times: the
    best run is kept) and print the table of steps/s, ratios to 1 worker and GFLOP/s per core. With ``single_envs``,
    also 1 worker on a ``DummyVecEnv`` of single envs (sizes ``single envs``), the peer of the batched env."""
    flops = {name: step_flops_at_defaults(*WORKER_ENVS[name], seed) for name in names}
    # 1 worker is the same run whatever the sizes: run once
    cases = [(workers, size) for workers in worker_counts for size in (sizes if workers > 1 else sizes[:1])]
    if single_envs:
        cases.append((1, SINGLE_ENVS))
    best: dict[tuple[str, int, str], dict[str, float]] = {}
    for _ in range(repeats):
        for name in names:
            for workers, size in cases:
                if size == SINGLE_ENVS:  # in this process (1 worker): make_vec_env then takes the single envs
                    with mock.patch("rl2_agent.envs.has_batched_impl", return_value=False):
                        result = train_with_workers(*WORKER_ENVS[name], workers, seconds, seed)
                else:
                    result = train_with_workers(*WORKER_ENVS[name], workers, seconds, seed, size)
                key = (name, workers, size if workers > 1 or size == SINGLE_ENVS else "global")
                if key not in best or result["steps_per_s"] > best[key]["steps_per_s"]:
                    best[key] = result
    print(
        f"\ndata-parallel training (rl2 train --workers N), project defaults, {seconds:g} s of training per run, "
        f"{os.cpu_count()} CPUs, best of {repeats}; sizes: 'global' = the defaults' rollout and minibatch split among "
        "the workers, 'per-worker' = each worker with the defaults' (N x the global sizes)"
    )
    print(
        "| env | workers | sizes | steps trained | steps/s | vs 1 worker | cores used | load before | "
        "GFLOP/s per core (% of peak) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        env_id, env_kwargs = WORKER_ENVS[name]
        one = best.get((name, 1, "global"))
        for workers, size in cases:
            r = best[name, workers, size if workers > 1 or size == SINGLE_ENVS else "global"]
            ratio = _ratio(r["steps_per_s"], one["steps_per_s"]) if one is not None else "-"
            per_core = flops[name] * r["steps_per_s"] / workers / 1e9
            print(
                f"| {env_id} {env_kwargs} | {workers} | {size if workers > 1 or size == SINGLE_ENVS else '-'} | {r['steps']:,} | "
                f"{r['steps_per_s']:,.0f} | {ratio} | {r['cores']:.2f} | {r['load']:.2f} | {per_core:.1f} ({per_core / peak_wall:.0%}) |"
            )
    for name in names:
        for workers, size in cases:
            if (workers > 1 or size == SINGLE_ENVS) and (name, 1, "global") in best:
                this, one_worker = best[name, workers, size]["steps_per_s"], best[name, 1, "global"]["steps_per_s"]
                if size == SINGLE_ENVS:
                    ratio = _ratio(one_worker, this)
                    print(f"ratio 1 worker, batched env / single envs, {WORKER_ENVS[name][0]}: {ratio} in steps/s")
                    continue
                goal = " (goal >= 1.8x on 2 cores)" if workers == 2 else ""
                print(
                    f"ratio {workers} workers ({size} sizes) / 1 worker, {WORKER_ENVS[name][0]}: {_ratio(this, one_worker)} "
                    f"in steps/s{goal}"
                )


def _ratio(a: float, b: float) -> str:
    """``a / b`` as ``"1.23x"``, ``"-"`` when ``b`` is 0 (a run too short to finish a rollout)."""
    return f"{a / b:.2f}x" if b > 0 else "-"


def worker_counts_of(parser: argparse.ArgumentParser, text: str) -> list[int]:
    """The worker counts of ``--workers`` (comma or space separated), sorted; ``parser.error`` for a bad one."""
    try:
        counts = sorted({positive_int(w) for w in text.replace(",", " ").split()})
    except argparse.ArgumentTypeError as err:
        parser.error(f"--workers: {err}")
    if not counts:
        parser.error("--workers: none given")
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--timesteps", type=positive_int, default=12_800, help="timed training steps per run (after a warm-up)"
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads of the training runs")
    parser.add_argument("--repeats", type=positive_int, default=1, help="runs per case (alternating); the best is kept")
    parser.add_argument("--hidden", type=positive_int, default=256, help="GRU / LSTM hidden size of the comparison")
    parser.add_argument(
        "--n-envs", type=positive_int, default=COMPARED_LAYOUT["n_envs"], help="batched envs of the comparison"
    )
    parser.add_argument(
        "--n-steps", type=positive_int, default=COMPARED_LAYOUT["n_steps"], help="rollout length of the comparison"
    )
    parser.add_argument("--batch-size", type=positive_int, default=None, help="override the default batch_size")
    parser.add_argument("--n-epochs", type=positive_int, default=None, help="override the default n_epochs")
    parser.add_argument("--skip-stock", action="store_true", help="time RL2GRUPolicy only")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--workers", default="1,2", help="worker counts of the data-parallel runs, comma separated")
    parser.add_argument(
        "--worker-seconds",
        type=non_negative_float,
        default=20.0,
        help="training seconds of each data-parallel run (0: no data-parallel runs)",
    )
    parser.add_argument("--worker-envs", default="bandit,mdp", help=f"ids of the data-parallel runs: {list(WORKER_ENVS)}")
    parser.add_argument(
        "--worker-sizes",
        default="global,per-worker",
        help=f"sizes of the data-parallel runs with N workers, comma separated: {list(WORKER_SIZES)} (see the docstring)",
    )
    parser.add_argument("--only-workers", action="store_true", help="only the data-parallel runs (no agent comparison)")
    parser.add_argument(
        "--single-envs",
        action="store_true",
        help="also train 1 worker on single envs (SB3's DummyVecEnv) instead of the batched env, side by side",
    )
    args = parser.parse_args(argv)
    worker_envs = parse_names(parser, "--worker-envs", args.worker_envs, WORKER_ENVS, "names", label="allowed")
    worker_sizes = tuple(parse_names(parser, "--worker-sizes", args.worker_sizes, WORKER_SIZES, "sizes", label="allowed"))
    if args.only_workers:
        if args.worker_seconds <= 0:
            parser.error("--only-workers needs --worker-seconds > 0")
        worker_table(
            worker_envs,
            worker_counts_of(parser, args.workers),
            args.worker_seconds,
            args.seed,
            args.repeats,
            matmul_peak(1)[0],
            worker_sizes,
            args.single_envs,
        )
        return
    worker_counts = worker_counts_of(parser, args.workers)
    for name in worker_envs:  # each worker count must divide the defaults' n_envs and batch_size
        for workers in worker_counts:
            try:
                TrainConfig(*WORKER_ENVS[name], workers=workers)
            except ValueError as err:
                parser.error(f"--workers {workers} with {WORKER_ENVS[name][0]}: {err}")

    pairs = (("n_envs", args.n_envs), ("n_steps", args.n_steps), ("batch_size", args.batch_size), ("n_epochs", args.n_epochs))
    overrides = {k: v for k, v in pairs if v is not None}
    defaults = get_hyperparams(ENV_ID)
    hyperparams = get_hyperparams(ENV_ID, overrides)
    try:  # the settings are checked as `rl2 train` checks them (e.g. batch_size <= n_envs * n_steps), before any timing
        TrainConfig(ENV_ID, ENV_KWARGS, args.timesteps, seed=args.seed, hyperparams=hyperparams)
    except ValueError as err:
        parser.error(str(err))

    def settings(params: dict[str, Any]) -> str:
        return ", ".join(f"{k}={params[k]}" for k in SETTINGS_KEYS)

    # (label, agent, hidden, settings, fast buffer, fused core): both agents at the compared settings; both again with
    # the n_envs x n_steps layout of the project defaults when it differs (batch_size and n_epochs as compared); ours at
    # the project defaults (their hidden size) when they differ from the last of these.
    agents = ("ours",) if args.skip_stock else ("ours", "stock")
    layouts = [("", hyperparams)]
    default_layout = {k: defaults[k] for k in LAYOUT_KEYS}
    if default_layout != {k: hyperparams[k] for k in LAYOUT_KEYS}:
        at_defaults = get_hyperparams(ENV_ID, {**overrides, **default_layout})
        try:
            TrainConfig(ENV_ID, ENV_KWARGS, args.timesteps, seed=args.seed, hyperparams=at_defaults)
        except ValueError as err:
            parser.error(f"with the layout of the project defaults: {err}")
        layouts.append((f", layout of the project defaults ({settings(at_defaults)})", at_defaults))
    # ours trains with rl2 train's gather-padding rollout buffer and fused core, the stock agent with sb3-contrib's own
    cases = [
        (AGENT_NAMES[a] + suffix, a, args.hidden, params, a == "ours", True) for suffix, params in layouts for a in agents
    ]
    default_hidden = defaults["policy_kwargs"]["gru_hidden_size"]
    if default_hidden != args.hidden or layouts[-1][1] != defaults:
        cases.append(
            (f"{AGENT_NAMES['ours']}, project defaults ({settings(defaults)})", "ours", default_hidden, defaults, True, True)
        )
    # the case timing ours at the project defaults with the gather buffer (added above or among the compared ones)
    at_defaults_label = next(c[0] for c in cases if c[1] == "ours" and c[2] == default_hidden and c[3] == defaults)
    # what the buffer alone brings: ours at the project defaults with sb3-contrib's buffer; what the core brings: ours
    # at the project defaults with nn.GRU and Adam's per-tensor loop
    stock_buffer_label = f"{AGENT_NAMES['ours']}, project defaults, sb3-contrib's rollout buffer"
    previous_core_label = f"{AGENT_NAMES['ours']}, project defaults, previous core (nn.GRU, Adam's per-tensor loop)"
    cases.append((stock_buffer_label, "ours", default_hidden, defaults, False, True))
    cases.append((previous_core_label, "ours", default_hidden, defaults, True, False))

    peaks = {threads: matmul_peak(threads) for threads in sorted({1, 2, args.threads})}
    peak_wall, peak_cpu = peaks[args.threads]
    th.set_num_threads(args.threads)

    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeats):
        for label, agent, hidden, params, fast_buffer, fused_core in cases:
            result = run(agent, hidden, params, args.timesteps, args.seed, fast_buffer, fused_core)
            if label not in best or result["steps_per_s"] > best[label]["steps_per_s"]:
                best[label] = result

    print(
        f"{ENV_ID} {ENV_KWARGS}, batched envs, compared settings: {settings(hyperparams)}, torch threads {args.threads}, "
        f"best of {args.repeats}, 1-minute load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    for threads, (wall, per_cpu) in peaks.items():
        print(
            f"float32 matmul peak (torch.mm 2048x2048, {threads} thread(s)): {wall:.1f} GFLOP/s, {per_cpu:.1f} GFLOP per CPU-second"
        )
    print(
        "| agent | hidden | steps/s | CPU busy | rollout share | padding | GFLOP/step | GFLOP/s (% of peak) | GFLOP per CPU-s (% of peak) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, _, hidden, _, _, _ in cases:
        r = best[label]
        print(
            f"| {label} | {hidden} | {r['steps_per_s']:.0f} | {r['cpu_share']:.0%} | {r['rollout_share']:.0%} | "
            f"{r['padding']:.3f} | {r['gflop_per_step']:.4f} | {r['gflops']:.1f} ({r['gflops'] / peak_wall:.0%}) | "
            f"{r['gflops_cpu']:.1f} ({r['gflops_cpu'] / peak_cpu:.0%}) |"
        )
    for index, (suffix, params) in enumerate(layouts):
        ours, stock = best.get(AGENT_NAMES["ours"] + suffix), best.get(AGENT_NAMES["stock"] + suffix)
        if ours is not None and stock is not None:
            goal = " (goal >= 1.3x at the reference layout)" if index == 0 else ""
            print(
                f"ratio RL2GRUPolicy / stock MlpLstmPolicy ({settings(params)}): {ours['steps_per_s'] / stock['steps_per_s']:.2f}x "
                f"in steps/s, {ours['steps_per_cpu_s'] / stock['steps_per_cpu_s']:.2f}x in steps per CPU-second{goal}"
            )
    fast = best[at_defaults_label]
    for label, what in (
        (stock_buffer_label, "gather-padding / sb3-contrib's rollout buffer"),
        (previous_core_label, "fused GRU layer + fused Adam / nn.GRU + Adam's loop"),
    ):
        slow = best[label]
        print(
            f"ratio {what} (RL2GRUPolicy, project defaults): {fast['steps_per_s'] / slow['steps_per_s']:.2f}x in steps/s, "
            f"{fast['steps_per_cpu_s'] / slow['steps_per_cpu_s']:.2f}x in steps per CPU-second"
        )
    print(
        f"share of the one-thread matmul peak at the project defaults: {fast['gflops'] / peak_wall:.0%} of wall-clock time, "
        f"{fast['gflops_cpu'] / peak_cpu:.0%} of CPU time (goal >= 35%)"
    )
    if args.worker_seconds > 0:
        worker_table(
            worker_envs,
            worker_counts,
            args.worker_seconds,
            args.seed,
            args.repeats,
            peaks[1][0],
            worker_sizes,
            args.single_envs,
        )


if __name__ == "__main__":
    main()

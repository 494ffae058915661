"""Training speed: RecurrentPPO + RL2GRUPolicy vs stock RecurrentPPO + "MlpLstmPolicy", side by side.

Usage::

    python benchmarks/train_speed.py [--timesteps 12800] [--threads 1] [--repeats 1] [--hidden 256]
                                     [--n-envs 64] [--n-steps 100] [--batch-size B] [--n-epochs E] [--skip-stock]

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
with sb3-contrib's buffer, so the buffer's share of the gain is printed on its own.
Each run starts with one warm-up rollout + update, then ``--timesteps`` training steps are timed
(``learn`` rounds up to whole rollouts of n_steps x n_envs). With ``--repeats`` the cases alternate
and the best run of each is kept.

Printed: training steps/s (env steps, i.e. transitions, per wall-clock second of ``learn``), the
ratio ours / stock per layout (goal >= 1.3), the share of wall time spent collecting rollouts, the padding
factor, and the achieved GFLOP/s next to the float32 matmul peak (best ``torch.mm`` of two
2048x2048 matrices, with 1 and 2 threads). FLOPs per env step::

    F_fwd    = 2 nets x sum over layers l of 2 * G*H * (in_l + H)   G = 3 gates (GRU) or 4 (LSTM),
                                                                   in_0 = features, in_l = H
             + heads: sum of 2 * in * out over the actor MLP + action layer, critic MLP + value layer
    F_step   = F_fwd                                   rollout: one forward per transition
             + n_epochs * 3 * F_fwd * padding          training: forward + backward (~2x forward),
                                                       padding = rows the nets processed / real rows
    GFLOP/s  = F_step * steps/s / 1e9

Element-wise gate math, the optimizer and the loss are not counted.

The machine this was written on has 2 cores shared with other processes, so every figure is also
given per CPU-second (``time.process_time``: the time this process actually ran), next to the
matmul peak measured the same way; "CPU busy" is CPU time / wall time. One torch thread is the
default: with 2 threads, each OpenMP parallel region waits for a thread that another process has
descheduled, and training ran more than 10x slower on the loaded machine.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import torch as th
from torch import nn

from rl2_agent.arguments import non_negative_int, positive_int
from rl2_agent.hyperparams import get_hyperparams
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import build_model, make_training_env

ENV_ID = "RL2Bandit-v0"
ENV_KWARGS = {"num_arms": 5, "episodes_per_trial": 100}

#: The compared settings of the issue: 64 envs, 100-step rollouts (one whole trial each); the options override them.
COMPARED_LAYOUT = {"n_envs": 64, "n_steps": 100}
LAYOUT_KEYS = ("n_envs", "n_steps")
SETTINGS_KEYS = (*LAYOUT_KEYS, "batch_size", "n_epochs")
AGENT_NAMES = {"ours": "RL2GRUPolicy", "stock": "stock MlpLstmPolicy"}


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


def timed(fn: Callable[..., Any], totals: dict[str, float], key: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            totals[key] += time.perf_counter() - start

    return wrapper


def run(policy: str, hidden: int, hyperparams: dict[str, Any], timesteps: int, seed: int, fast_buffer: bool) -> dict[str, float]:
    """Train one agent for ``timesteps`` after a warm-up; return throughput, time shares and FLOP counts.

    ``fast_buffer``: with the gather-padding rollout buffer (``rl2 train``'s), else sb3-contrib's.
    """
    overrides = dict(hyperparams)
    if policy == "ours":
        overrides["policy_kwargs"] = {"gru_hidden_size": hidden}
    else:
        overrides.update(policy="MlpLstmPolicy", policy_kwargs={"lstm_hidden_size": hidden})
    # built exactly as `rl2 train` builds it (the defaults' reward scaling included), for both agents
    config = TrainConfig(ENV_ID, ENV_KWARGS, timesteps, seed=seed, hyperparams=overrides)
    model = build_model(config, make_training_env(config), fast_buffer=fast_buffer)
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
    steps = model.num_timesteps - start_steps
    padding = totals["rows"] / (steps * model.n_epochs)
    flops_fwd = forward_flops(model.policy)
    flops_step = flops_fwd * (1 + 3 * model.n_epochs * padding)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timesteps", type=positive_int, default=12_800,
                        help="timed training steps per run (after a warm-up)")  # fmt: skip
    parser.add_argument("--threads", type=positive_int, default=1, help="torch threads of the training runs")
    parser.add_argument("--repeats", type=positive_int, default=1, help="runs per case (alternating); the best is kept")
    parser.add_argument("--hidden", type=positive_int, default=256, help="GRU / LSTM hidden size of the comparison")
    parser.add_argument("--n-envs", type=positive_int, default=COMPARED_LAYOUT["n_envs"], help="batched envs of the comparison")
    parser.add_argument("--n-steps", type=positive_int, default=COMPARED_LAYOUT["n_steps"], help="rollout length of the comparison")
    parser.add_argument("--batch-size", type=positive_int, default=None, help="override the default batch_size")
    parser.add_argument("--n-epochs", type=positive_int, default=None, help="override the default n_epochs")
    parser.add_argument("--skip-stock", action="store_true", help="time RL2GRUPolicy only")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    args = parser.parse_args(argv)

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

    # (label, agent, hidden, settings): both agents at the compared settings; both again with the n_envs x n_steps
    # layout of the project defaults when it differs (batch_size and n_epochs as compared); ours at the project
    # defaults (their hidden size) when they differ from the last of these.
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
    # ours trains with rl2 train's gather-padding rollout buffer, the stock agent with sb3-contrib's own
    cases = [(AGENT_NAMES[a] + suffix, a, args.hidden, params, a == "ours") for suffix, params in layouts for a in agents]
    default_hidden = defaults["policy_kwargs"]["gru_hidden_size"]
    if default_hidden != args.hidden or layouts[-1][1] != defaults:
        cases.append((f"{AGENT_NAMES['ours']}, project defaults ({settings(defaults)})", "ours", default_hidden, defaults, True))
    # the case timing ours at the project defaults with the gather buffer (added above or among the compared ones)
    at_defaults_label = next(c[0] for c in cases if c[1] == "ours" and c[2] == default_hidden and c[3] == defaults)
    # what the buffer alone brings: ours at the project defaults with sb3-contrib's buffer
    stock_buffer_label = f"{AGENT_NAMES['ours']}, project defaults, sb3-contrib's rollout buffer"
    cases.append((stock_buffer_label, "ours", default_hidden, defaults, False))

    peaks = {threads: matmul_peak(threads) for threads in sorted({1, 2, args.threads})}
    peak_wall, peak_cpu = peaks[args.threads]
    th.set_num_threads(args.threads)

    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeats):
        for label, agent, hidden, params, fast_buffer in cases:
            result = run(agent, hidden, params, args.timesteps, args.seed, fast_buffer)
            if label not in best or result["steps_per_s"] > best[label]["steps_per_s"]:
                best[label] = result

    print(f"{ENV_ID} {ENV_KWARGS}, batched envs, compared settings: {settings(hyperparams)}, torch threads {args.threads}, best of {args.repeats}")
    for threads, (wall, per_cpu) in peaks.items():
        print(f"float32 matmul peak (torch.mm 2048x2048, {threads} thread(s)): {wall:.1f} GFLOP/s, {per_cpu:.1f} GFLOP per CPU-second")
    print("| agent | hidden | steps/s | CPU busy | rollout share | padding | GFLOP/step | GFLOP/s (% of peak) | GFLOP per CPU-s (% of peak) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, _, hidden, _, _ in cases:
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
    fast, slow = best[at_defaults_label], best[stock_buffer_label]
    print(
        f"ratio gather-padding / sb3-contrib's rollout buffer (RL2GRUPolicy, project defaults): "
        f"{fast['steps_per_s'] / slow['steps_per_s']:.2f}x in steps/s, {fast['steps_per_cpu_s'] / slow['steps_per_cpu_s']:.2f}x in steps per CPU-second"
    )

if __name__ == "__main__":
    main()

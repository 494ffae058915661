"""Data-parallel RecurrentPPO: lockstep workers, the union equivalence, merged reward statistics, failures.

Workers are real processes on localhost (gloo): ``launch`` spawns them, and the two-machine path runs
two torchrun agents that meet through a c10d rendezvous.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize

import meta_envs  # noqa: F401
from rl2_agent.buffers import use_fast_rollout_buffer
from rl2_agent.envs import make_vec_env
from rl2_agent.policies import RL2GRUPolicy
from rl2_agent.training.distributed import (
    DistributedContext,
    WorkerError,
    _free_port,
    added_moments,
    launch,
    make_data_parallel,
    request_stop,
    split_hyperparams,
    sync_running_stats,
)

ENV_ID, ENV_KWARGS = "RL2Bandit-v0", {"num_arms": 3, "episodes_per_trial": 5}
N_STEPS = 10


def _model(
    ctx: DistributedContext, n_envs: int, batch_size: int, seed: int = 0, normalize: bool = False, **kwargs: Any
) -> RecurrentPPO:
    """A tiny RL2Bandit model with this worker's ``n_envs`` envs (seeded as ``ctx.worker_seed``)."""
    th.set_num_threads(1)
    seed = ctx.worker_seed(seed, n_envs)
    env = make_vec_env(ENV_ID, n_envs, ENV_KWARGS, seed=seed)
    if normalize:
        env = VecNormalize(env, norm_obs=False, norm_reward=True)
    policy_kwargs = {"gru_hidden_size": 16, **kwargs.pop("policy_kwargs", {})}
    model = RecurrentPPO(
        RL2GRUPolicy, env, n_steps=N_STEPS, batch_size=batch_size, seed=seed, policy_kwargs=policy_kwargs, **kwargs
    )
    return use_fast_rollout_buffer(model)


def _flat_params(model: RecurrentPPO) -> np.ndarray:
    return th.cat([p.detach().reshape(-1) for p in model.policy.parameters()]).numpy().copy()


def _scenarios(ctx: DistributedContext, out: str) -> dict[str, Any]:
    """Every scenario that two healthy workers play, in one launch (a worker process takes seconds to start)."""
    results = {
        "lockstep": _train_three_updates(ctx, out),
        "union": _one_update_each_way(ctx),
        "stats": _merge_stats(ctx),
    }
    try:  # refused on every worker alike, so the process group stays usable
        _build_with_rank_dependent_batch(ctx)
    except ValueError as err:
        results["mismatch"] = str(err)
    return results


TwoWorkers = tuple[list[dict[str, Any]], Path]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> TwoWorkers:
    """The results of :func:`_scenarios` on two workers, by rank, and the folder rank 0 saved into."""
    out = tmp_path_factory.mktemp("two_workers")
    return launch(_scenarios, 2, (str(out),), timeout_s=120), out


# ----------------------------------------------------------------------------- lockstep training
class _FirstStepCount(BaseCallback):
    """Records ``num_timesteps`` as callbacks see it at the first env step."""

    def __init__(self) -> None:
        super().__init__()
        self.first: int | None = None

    def _on_step(self) -> bool:
        if self.first is None:
            self.first = self.num_timesteps
        return True


def _train_three_updates(ctx: DistributedContext, out: str) -> dict[str, Any]:
    hp = split_hyperparams({"n_envs": 8, "batch_size": 40}, ctx.world_size)
    model = _model(ctx, hp["n_envs"], hp["batch_size"], normalize=True, n_epochs=2, max_grad_norm=0.5)
    model = make_data_parallel(model, ctx)
    counter = _FirstStepCount()
    model.learn(3 * 8 * N_STEPS, callback=counter)
    if ctx.is_main:
        model.save(Path(out) / "model.zip")
    rms = model.get_vec_normalize_env().ret_rms
    return {
        "params": _flat_params(model),
        "adam": [
            t.numpy().copy()
            for s in model.policy.optimizer.state_dict()["state"].values()
            for t in (s["exp_avg"], s["exp_avg_sq"])
        ],
        "ret_rms": (rms.count, float(rms.mean), float(rms.var)),
        "rewards": model.rollout_buffer.rewards.copy(),
        "num_timesteps": model.num_timesteps,
        "n_updates": model._n_updates,
        "first_step_count": counter.first,
        "max_grad_norm": model.max_grad_norm,
    }


def test_two_workers_hold_identical_weights_after_several_updates_on_different_data(two_workers: TwoWorkers) -> None:
    (a, b), tmp_path = [r["lockstep"] for r in two_workers[0]], two_workers[1]
    assert not np.array_equal(a["rewards"], b["rewards"])  # each worker stepped its own envs
    np.testing.assert_array_equal(a["params"], b["params"])
    for x, y in zip(a["adam"], b["adam"], strict=True):
        np.testing.assert_array_equal(x, y)
    assert a["ret_rms"] == b["ret_rms"]
    assert a["ret_rms"][0] == pytest.approx(2 * 3 * N_STEPS * 4 + 1e-4)  # every worker's returns, counted once
    for r in (a, b):  # GLOBAL steps: 3 rollouts of 80, 8 per env step, 2 epochs per update
        assert (r["num_timesteps"], r["first_step_count"], r["n_updates"], r["max_grad_norm"]) == (240, 8, 6, 0.5)
    loaded = RecurrentPPO.load(tmp_path / "model.zip")  # an ordinary RecurrentPPO zip
    assert type(loaded) is RecurrentPPO and loaded.max_grad_norm == 0.5 and loaded.num_timesteps == 240
    np.testing.assert_array_equal(_flat_params(loaded), a["params"])


# ----------------------------------------------------------------------------- union equivalence
_ENV_AXIS = {
    "observations": 1,
    "actions": 1,
    "rewards": 1,
    "returns": 1,
    "episode_starts": 1,
    "values": 1,
    "log_probs": 1,
    "advantages": 1,
    "hidden_states_pi": 2,
    "cell_states_pi": 2,
    "hidden_states_vf": 2,
    "cell_states_vf": 2,
}


def _seed_splitting_at_an_env_boundary(n_samples: int) -> int:
    """A seed of numpy's global generator whose first ``randint(n_samples)`` is a multiple of ``N_STEPS``.

    sb3-contrib's rollout buffer rotates the flattened (env-major) rollout at a random index and cuts
    sequences there too; a cut inside an env's steps truncates back-propagation through time at that
    step, so equal gradients need equal cuts: a rotation by whole envs cuts only where envs change.
    """
    return next(seed for seed in range(1000) if np.random.RandomState(seed).randint(n_samples) % N_STEPS == 0)


def _one_update_each_way(ctx: DistributedContext) -> dict[str, Any]:
    """One update of this worker on its half of a rollout, and of one worker on the whole rollout."""
    k = 2  # envs per worker
    settings: dict[str, Any] = {
        "n_epochs": 1,
        "normalize_advantage": False,
        "learning_rate": 0.5,
        "ent_coef": 0.01,
        "max_grad_norm": 0.05,
        "policy_kwargs": {"optimizer_class": th.optim.SGD},
    }
    single = DistributedContext()
    reference = _model(single, k * ctx.world_size, k * ctx.world_size * N_STEPS, **settings)
    _, callback = reference._setup_learn(k * ctx.world_size * N_STEPS)
    reference.collect_rollouts(reference.env, callback, reference.rollout_buffer, N_STEPS)
    before = {name: t.clone() for name, t in reference.policy.state_dict().items()}
    rollout = {name: getattr(reference.rollout_buffer, name).copy() for name in _ENV_AXIS}
    np.random.seed(_seed_splitting_at_an_env_boundary(k * ctx.world_size * N_STEPS))
    reference.train()  # one minibatch: the whole rollout
    clipped_norm = float(th.linalg.vector_norm(th.cat([p.grad.reshape(-1) for p in reference.policy.parameters()])))

    worker = _model(ctx, k, k * N_STEPS, **settings)  # one minibatch: this worker's half
    worker.policy.load_state_dict(before)
    worker = make_data_parallel(worker, ctx)
    worker._setup_learn(k * N_STEPS)
    buffer = worker.rollout_buffer
    for name, axis in _ENV_AXIS.items():
        mine = np.take(rollout[name], np.arange(ctx.rank * k, (ctx.rank + 1) * k), axis=axis)
        setattr(buffer, name, np.ascontiguousarray(mine))
    buffer.full, buffer.generator_ready, buffer.pos = True, False, N_STEPS
    np.random.seed(_seed_splitting_at_an_env_boundary(k * N_STEPS))
    worker.train()
    start = th.cat([t.reshape(-1) for name, t in before.items() if "optimizer" not in name]).numpy()
    return {"reference": _flat_params(reference), "worker": _flat_params(worker), "start": start, "clipped_norm": clipped_norm}


def test_one_update_of_two_workers_equals_one_update_of_one_worker_on_the_union_of_their_minibatches(
    two_workers: TwoWorkers,
) -> None:
    results = [r["union"] for r in two_workers[0]]
    for r in results:
        assert r["clipped_norm"] == pytest.approx(0.05, rel=1e-4)  # the clip is active: it acts on the average
        step = np.abs(r["reference"] - r["start"]).max()
        assert step > 1e-3  # the update moved the weights
        np.testing.assert_allclose(r["worker"], r["reference"], rtol=0, atol=1e-5 * step)
    np.testing.assert_array_equal(results[0]["worker"], results[1]["worker"])


# ----------------------------------------------------------------------------- reward-scaling statistics
def _stats_batches(rank: int, rounds: int = 2) -> list[list[np.ndarray]]:
    """Worker ``rank``'s batches of returns, per round: 3 batches of (n, 3) values, distinct per worker."""
    rng = np.random.default_rng(100 + rank)
    return [[rng.normal(rank - 0.5, 1.0 + rank, size=(int(rng.integers(5, 40)), 3)) for _ in range(3)] for _ in range(rounds)]


_HISTORY = np.random.default_rng(7).normal(3.0, 2.0, size=(50, 3))  # rank 0's statistics before the first sync


def _merge_stats(ctx: DistributedContext) -> list[tuple[float, np.ndarray, np.ndarray]]:
    stats = [RunningMeanStd(shape=(3,)), RunningMeanStd(shape=())]
    if ctx.is_main:  # e.g. a resumed run: only rank 0 loaded its statistics
        stats[0].update(_HISTORY)
        stats[1].update(_HISTORY[:, 0])
    baseline = sync_running_stats(stats, ctx)
    for batches in _stats_batches(ctx.rank):
        for batch in batches:
            stats[0].update(batch)
            stats[1].update(batch[:, 0])
        baseline = sync_running_stats(stats, ctx, baseline)
    return [(s.count, s.mean, s.var) for s in stats]


def test_merged_reward_statistics_equal_the_statistics_of_the_union_of_the_workers_returns(two_workers: TwoWorkers) -> None:
    results = [r["stats"] for r in two_workers[0]]
    union = [RunningMeanStd(shape=(3,)), RunningMeanStd(shape=())]
    union[0].update(_HISTORY)
    union[1].update(_HISTORY[:, 0])
    for rank in range(2):
        for batches in _stats_batches(rank):
            for batch in batches:
                union[0].update(batch)
                union[1].update(batch[:, 0])
    for worker in results:
        for (count, mean, var), expected in zip(worker, union, strict=True):
            assert count == pytest.approx(expected.count, rel=1e-12)
            np.testing.assert_allclose(mean, expected.mean, rtol=1e-10)
            np.testing.assert_allclose(var, expected.var, rtol=1e-10)
    for (c0, m0, v0), (c1, m1, v1) in zip(*results):  # bitwise equal on both workers
        assert c0 == c1 and np.array_equal(m0, m1) and np.array_equal(v0, v1)


def test_added_moments_recover_the_batch_merged_into_running_statistics() -> None:
    base = RunningMeanStd(shape=(2,))
    base.update(np.random.default_rng(0).normal(5.0, 3.0, size=(1000, 2)))
    batch = np.random.default_rng(1).normal(-1.0, 0.5, size=(37, 2))
    total = base.copy()
    total.update(batch)
    count, mean, var = added_moments(total, base)
    assert count == pytest.approx(37)
    np.testing.assert_allclose(mean, batch.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(var, batch.var(axis=0), rtol=1e-9)
    assert added_moments(base, base)[0] == 0.0


# ----------------------------------------------------------------------------- failures
class _DieOnRank1(BaseCallback):
    def __init__(self, rank: int, mark: str) -> None:
        super().__init__()
        self.rank, self.mark, self.rollouts = rank, mark, 0

    def _on_rollout_start(self) -> None:
        self.rollouts += 1
        if self.rank == 1 and self.rollouts == 2:  # after one synchronised update
            Path(self.mark).write_text(repr(time.time()))
            os._exit(3)

    def _on_step(self) -> bool:
        return True


def _train_until_rank1_dies(ctx: DistributedContext, mark: str) -> None:
    model = make_data_parallel(_model(ctx, 2, 2 * N_STEPS), ctx)
    model.learn(100 * 4 * N_STEPS, callback=_DieOnRank1(ctx.rank, mark))


def test_a_killed_worker_ends_the_launch_with_a_clear_error_within_seconds(tmp_path: Path) -> None:
    mark = tmp_path / "died_at"
    with pytest.raises(WorkerError, match=r"^worker 1 of 2 died with exit code 3; the other workers were stopped"):
        launch(_train_until_rank1_dies, 2, (str(mark),), timeout_s=120)
    assert time.time() - float(mark.read_text()) < 5.0


class _StopOnRank1(BaseCallback):
    """Asks worker 1 alone to stop (as ctrl-C sent to it only would) during its second rollout."""

    def __init__(self, rank: int) -> None:
        super().__init__()
        self.rank, self.steps = rank, 0

    def _on_step(self) -> bool:
        self.steps += 1
        if self.rank == 1 and self.steps == N_STEPS + 3:
            request_stop()
        return True


def _train_until_rank1_asks_to_stop(ctx: DistributedContext, folder: str) -> None:
    model = make_data_parallel(_model(ctx, 2, 2 * N_STEPS), ctx)
    try:
        model.learn(100 * 4 * N_STEPS, callback=_StopOnRank1(ctx.rank))
    except KeyboardInterrupt:
        (Path(folder) / f"stopped{ctx.rank}").write_text(str(model.num_timesteps))
        raise


def test_a_stop_asked_of_one_worker_stops_every_worker_at_the_same_step(tmp_path: Path) -> None:
    # an exception at once on one worker would leave the other waiting in a collective until the timeout
    with pytest.raises(KeyboardInterrupt):
        launch(_train_until_rank1_asks_to_stop, 2, (str(tmp_path),), timeout_s=60)
    steps = [int((tmp_path / f"stopped{rank}").read_text()) for rank in (0, 1)]
    assert steps[0] == steps[1] == 2 * 2 * 2 * N_STEPS  # both after their second rollout (2 envs per worker)


def _train_twice_with_a_stop_in_the_first(ctx: DistributedContext) -> int:
    first = make_data_parallel(_model(ctx, 2, 2 * N_STEPS), ctx)
    with pytest.raises(KeyboardInterrupt):
        first.learn(100 * 4 * N_STEPS, callback=_StopOnRank1(ctx.rank))
    second = make_data_parallel(_model(ctx, 2, 2 * N_STEPS), ctx)
    try:
        second.learn(3 * 4 * N_STEPS)
    except KeyboardInterrupt:
        return -1  # stopped by the first training's request
    return int(second.num_timesteps)


def test_a_stop_once_honoured_does_not_stop_the_next_training_in_the_process() -> None:
    assert launch(_train_twice_with_a_stop_in_the_first, 2, timeout_s=60) == [3 * 4 * N_STEPS] * 2


def _raise_on_rank1(ctx: DistributedContext) -> int:
    if ctx.rank == 1:
        raise ValueError("bad setting on this worker")
    th.distributed.barrier()  # rank 0 waits for a peer that has failed
    return ctx.rank


def test_an_exception_in_a_worker_names_the_worker_and_the_error() -> None:
    with pytest.raises(WorkerError, match=r"^worker 1 of 2 failed: ValueError: bad setting on this worker; the other"):
        launch(_raise_on_rank1, 2, timeout_s=120)


def _interrupted_on_rank0(ctx: DistributedContext) -> int:
    if ctx.rank == 0:
        raise KeyboardInterrupt  # as SIGINT sent to the workers only, after worker 0 has saved its checkpoint
    th.distributed.barrier()  # rank 1 waits for a peer that has ended
    return ctx.rank


def test_an_interrupted_worker_ends_the_launch_as_an_interruption_not_a_worker_error() -> None:
    with pytest.raises(KeyboardInterrupt):
        launch(_interrupted_on_rank0, 2, timeout_s=120)


def _wait_until_interrupted(ctx: DistributedContext, folder: str) -> None:
    (Path(folder) / f"pid{ctx.rank}").write_text(str(os.getpid()))
    try:
        while True:
            time.sleep(0.05)
    except KeyboardInterrupt:
        (Path(folder) / f"interrupted{ctx.rank}").write_text("")
        raise


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # an orphan's zombie, until whoever adopted it reaps it


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc")
def test_workers_are_interrupted_when_their_launcher_is_killed(tmp_path: Path) -> None:
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "from test_distributed import _wait_until_interrupted; from rl2_agent.training.distributed import launch; "
        f"launch(_wait_until_interrupted, 2, ({str(tmp_path)!r},))"
    )
    # started as a background job of a shell is (`nohup ... &`): SIGINT ignored, which the workers inherit
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        launcher = subprocess.Popen([sys.executable, "-c", script])
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"pid{rank}").exists() for rank in (0, 1)):
        assert launcher.poll() is None and time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.1)
    pids = [int((tmp_path / f"pid{rank}").read_text()) for rank in (0, 1)]
    launcher.kill()  # SIGKILL: the launcher runs no clean-up of its own
    launcher.wait()
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    running = [_running(pid) for pid in pids]
    for pid in (pid for pid, alive in zip(pids, running) if alive):
        os.kill(pid, signal.SIGKILL)  # no orphan outlives a failure of this test
    assert running == [False, False]
    assert (tmp_path / "interrupted0").exists() and (tmp_path / "interrupted1").exists()  # as by ctrl-C


# ----------------------------------------------------------------------------- refusals
def test_target_kl_with_two_workers_is_refused_with_a_one_line_error() -> None:
    model = _model(DistributedContext(), 2, 2 * N_STEPS, target_kl=0.01)
    with pytest.raises(ValueError, match=r"target_kl must be None with 2 workers, got target_kl=0.01") as err:
        make_data_parallel(model, DistributedContext(rank=0, world_size=2))
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"target_kl must be None with 2 workers"):
        split_hyperparams({"n_envs": 8, "target_kl": 0.01}, 2)


def test_n_envs_or_batch_size_not_divisible_by_the_workers_is_refused_naming_both_values() -> None:
    with pytest.raises(ValueError, match=r"^n_envs \(5\) must be divisible by the number of workers \(2\)") as err:
        split_hyperparams({"n_envs": 5, "batch_size": 10}, 2)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"^batch_size \(1600\) must be divisible by the number of workers \(3\)"):
        split_hyperparams({"n_envs": 3, "batch_size": 1600}, 3)
    assert split_hyperparams({"n_envs": 320, "batch_size": 1600, "n_steps": 20}, 4) == {
        "n_envs": 80,
        "batch_size": 400,
        "n_steps": 20,
    }


def _build_with_rank_dependent_batch(ctx: DistributedContext) -> None:
    make_data_parallel(_model(ctx, 2, 20 if ctx.rank == 0 else 10), ctx)


def test_workers_whose_minibatches_differ_are_refused_naming_the_setting(two_workers: TwoWorkers) -> None:
    for r in two_workers[0]:
        assert r["mismatch"].startswith("the workers' models differ in batch_size (by rank: [20, 10])")
        assert "\n" not in r["mismatch"]


def test_the_context_reads_torchrun_variables_and_refuses_bad_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    ctx = DistributedContext.from_env()
    assert (ctx.rank, ctx.world_size, ctx.local_rank, ctx.device, ctx.backend, ctx.is_main) == (3, 4, 1, "cpu", "gloo", False)
    assert ctx.worker_seed(10, 80) == 10 + 3 * 80
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ValueError, match=r"rank must be in \[0, world_size=4\), got 4"):
        DistributedContext.from_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ValueError, match=r"environment variable RANK must be an integer, got 'x'"):
        DistributedContext.from_env()
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match=r"device must be one of \('cpu', 'cuda', 'auto'\), got 'tpu'"):
        DistributedContext.from_env("tpu")
    with pytest.raises(ValueError, match=r"workers must be an integer >= 1, got 0"):
        launch(_raise_on_rank1, 0)


# ----------------------------------------------------------------------------- two machines
def test_two_torchrun_nodes_launched_separately_end_with_identical_weights() -> None:
    # two torchrun agents, as on two machines: node 0 hosts the rendezvous on 127.0.0.1 (the static rendezvous of
    # --master-addr / --master-port, which names the host, where two c10d agents on one machine race to host it)
    torchrun = Path(sys.executable).with_name("torchrun")
    port = _free_port()
    nodes = [
        subprocess.Popen(
            [
                str(torchrun),
                "--nnodes",
                "2",
                "--nproc-per-node",
                "1",
                "--node-rank",
                str(rank),
                "--master-addr",
                "127.0.0.1",
                "--master-port",
                str(port),
                "-m",
                "rl2_agent.training.distributed",
                "--updates",
                "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        outputs = [node.communicate(timeout=120)[0] for node in nodes]
    finally:
        for node in nodes:
            node.kill()
    # Both workers must finish their updates and report. The agents' own exit code is not asserted: with two
    # torchrun agents on ONE host, the one hosting the rendezvous store sometimes dies in torch's teardown after
    # its worker has finished ("terminate called without an active exception", about 1 run in 5 here).
    lines = dict(m.groups() for out in outputs for m in re.finditer(r"rank (\d) of 2: weights sha256 ([0-9a-f]{64})", out))
    assert sorted(lines) == ["0", "1"], outputs
    assert lines["0"] == lines["1"]

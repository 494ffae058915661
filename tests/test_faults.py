"""A training run killed at any moment resumes from a consistent checkpoint set.

Two kinds of kills: a process that dies (``os._exit``) at each step of writing a checkpoint set,
and ``rl2 train`` killed with SIGKILL at seeded random moments, then resumed until it finishes. After
each kill the resume's view of the run folder (:func:`recover_checkpoint`) is checked: the
checkpoint's model is at the step ``checkpoint.json`` names, ``best_model.zip`` is the model of
``checkpoint.json``'s best evaluation, and no temporary file or staging folder is left.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from tiny_runs import tiny_train_args

from rl2_agent.training import run_folder

REPO = Path(__file__).resolve().parents[1]

# A fake model (what write_checkpoint reads of an SB3 model), a first checkpoint set at step 100, then a second at
# step 200 with a new best, during which the process dies at the KILL_AT-th call of os.replace or of the fsync.
WRITER = textwrap.dedent(
    """
    import json, os, sys, zipfile
    from rl2_agent.training import run_folder

    out, point, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class Stats:
        def save(self, path):
            open(path, "wb").write(b"statistics of step %d" % model.num_timesteps)

    class Model:
        num_timesteps = 100
        def save(self, path):
            with zipfile.ZipFile(path, "w") as z:
                z.writestr("data", json.dumps({"num_timesteps": self.num_timesteps}))
                z.writestr("policy.pth", os.urandom(4096))
        def get_vec_normalize_env(self):
            return Stats()

    model = Model()
    row = {"timesteps": 100, "seconds": 1.0, "mean": 1.0, "se": 0.1}
    run_folder.write_checkpoint(out, model, {"num_timesteps": 100, "train_seconds": 1.0, "best": row}, best=True)
    calls = {"n": 0}
    real = {"replace": os.replace, "fsync": run_folder._fsync}

    def dying(name):
        def call(*args):
            calls["n"] += 1
            if calls["n"] == kill_at:
                os._exit(9)
            return real[name](*args)
        return call

    if point == "replace":
        run_folder.os.replace = dying("replace")
    else:
        run_folder._fsync = dying("fsync")
    model.num_timesteps = 200
    best = {"timesteps": 200, "seconds": 2.0, "mean": 2.0, "se": 0.1}
    run_folder.write_checkpoint(out, model, {"num_timesteps": 200, "train_seconds": 2.0, "best": best}, best=True)
    print("not killed")
    """
)


def assert_consistent(out: Path) -> dict:
    """Recover ``out`` as a resume does and check its checkpoint set; returns ``checkpoint.json``."""
    run_folder.recover_checkpoint(out)
    state = run_folder.read_checkpoint_state(out)
    assert state is not None
    assert run_folder.model_step(out / run_folder.CHECKPOINT_FILE) == state["num_timesteps"]
    best = out / run_folder.BEST_MODEL_FILE
    if best.exists():
        assert state["best"] is not None and run_folder.model_step(best) == state["best"]["timesteps"]
    leftovers = [
        p.name for p in out.iterdir() if p.name.endswith((".tmp", ".tmp.zip")) or p.name.startswith(run_folder.STAGING_PREFIX)
    ]
    assert leftovers == []
    return state


@pytest.mark.parametrize(("point", "kill_at"), [("fsync", k) for k in range(1, 6)] + [("replace", k) for k in range(1, 6)])
def test_a_process_killed_while_writing_a_checkpoint_set_leaves_the_old_set_or_the_new_one(point, kill_at, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path), point, str(kill_at)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode in (0, 9), result.stderr
    state = assert_consistent(tmp_path)
    assert state["num_timesteps"] == (200 if result.returncode == 0 else state["num_timesteps"])
    assert state["num_timesteps"] in (100, 200) and state["best"]["timesteps"] == state["num_timesteps"]
    statistics = (tmp_path / run_folder.VECNORMALIZE_FILE).read_bytes()
    assert statistics == b"statistics of step %d" % state["num_timesteps"]  # the statistics of the same set


def test_a_staging_folder_of_an_uncommitted_set_is_removed_and_a_committed_one_finished(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WRITER, str(tmp_path), "replace", "2"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 9  # killed after the commit (the first rename), before the set's files were renamed
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(run_folder.STAGING_PREFIX)]
    assert len(staged) == 1 and json.loads((tmp_path / run_folder.CHECKPOINT_STATE).read_text())["staging"] == staged[0].name
    assert run_folder.model_step(tmp_path / run_folder.CHECKPOINT_FILE) == 100
    assert assert_consistent(tmp_path)["num_timesteps"] == 200  # finished by the recovery
    (tmp_path / f"{run_folder.STAGING_PREFIX}uncommitted").mkdir()
    (tmp_path / "model.tmp.zip").write_bytes(b"half a model")
    assert assert_consistent(tmp_path)["num_timesteps"] == 200


def train_argv(out: Path, timesteps: int) -> list[str]:
    tiny = ["n_steps=16", "batch_size=64", "n_epochs=1", "policy_kwargs.gru_hidden_size=8"]
    return [sys.executable, "-m", "rl2_agent"] + tiny_train_args(
        out, timesteps, "--checkpoint-every", "128", "--resume", eval_trials=8, hyperparams=tiny
    )


def newest_write(out: Path) -> float:
    """The time of the last change in ``out`` (0 if none), read while a run writes it: a file may vanish meanwhile."""
    times = [0.0]
    for path in out.iterdir() if out.is_dir() else []:
        try:
            times.append(path.stat().st_mtime)
        except FileNotFoundError:  # a temporary file or staging folder renamed or removed since iterdir
            pass
    return max(times)


def test_sigterm_stops_rl2_train_as_ctrl_c_does_with_a_checkpoint_of_the_step_reached(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(train_argv(out, 10**7), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (out / run_folder.CHECKPOINT_STATE).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the training that follows the first checkpoint
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()[-2000:]
    reached = re.search(r"interrupted at step (\d+): checkpoint saved", stderr.decode())
    assert reached is not None, stderr.decode()[-2000:]
    assert assert_consistent(out)["num_timesteps"] == int(reached.group(1)) > 0


def test_rl2_train_killed_at_random_moments_resumes_from_a_consistent_set(tmp_path):
    rng = random.Random(0)
    out, total = tmp_path / "run", 3072
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(
            train_argv(out, total), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        start, deadline = newest_write(out), time.monotonic() + 60
        while newest_write(out) <= start and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # until the run writes (imports take seconds)
        time.sleep(rng.uniform(0.0, 0.8))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        if (out / run_folder.CHECKPOINT_FILE).exists() or (out / run_folder.CHECKPOINT_STATE).exists():
            assert assert_consistent(out)["num_timesteps"] <= total
    assert kills >= 2
    # a kill may come before the first checkpoint, or after the last step (a finished run records no resume)
    resumable = (out / run_folder.CHECKPOINT_STATE).exists() and assert_consistent(out)["num_timesteps"] < total
    finished = subprocess.run(train_argv(out, total), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    state = assert_consistent(out)
    model = run_folder.load_model(out)
    assert model.num_timesteps == state["num_timesteps"] == total
    log = run_folder.read_eval_log(out)
    steps = list(log.timesteps)
    assert steps == sorted(set(steps)) and steps[-1] == total  # each step evaluated once, none past the model
    assert log.rows()[log.best] == state["best"]  # best_model.zip is the best evaluation's model
    if resumable:  # the last run resumed the killed one (earlier restarts may have too)
        assert len(run_folder.read_config(out).get("resumes", [])) >= 1

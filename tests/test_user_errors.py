"""Every user error is one clear line (exit code 2), and nothing a user saved is lost.

Bad hyperparameters, counts, devices and paths are refused when the run's configuration is built,
before any env or model; damaged run files are named with what to do; a full disk, a read-only
folder or a file in the way is one line naming the path, and a failed write leaves no temporary
file; a resume checks the run's own settings first; a resumed finished run records no resume.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import zipfile
from pathlib import Path

import pytest
import torch as th
from tiny_runs import tiny_train_args

from rl2_agent.arguments import UserError, check_device, step_count, user_error_message
from rl2_agent.cli import cli
from rl2_agent.hyperparams import check_hyperparams, get_hyperparams
from rl2_agent.training import run_folder
from rl2_agent.training.config import TrainConfig


def tiny_train(out: Path, timesteps: int = 512, *extra: str) -> list[str]:
    return tiny_train_args(out, timesteps, *extra, eval_trials=10, eval_every=256)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    assert cli(tiny_train(out)) == 0
    return out


def error_line(capsys: pytest.CaptureFixture[str], command: str) -> str:
    """The one error line that ``rl2 command`` printed on stderr (log lines aside); asserts there is exactly one."""
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith(f"rl2 {command}: error: ")]
    assert len(errors) == 1 and err.rstrip().endswith(errors[0]), err
    return errors[0]


# ----------------------------------------------------------------------------- hyperparameters
@pytest.mark.parametrize(
    ("hyper", "message"),
    [
        ({"max_grad_norm": -1}, "max_grad_norm must be a finite number > 0, got -1"),
        ({"max_grad_norm": float("inf")}, "max_grad_norm must be a finite number > 0, got inf"),
        ({"ent_coef": -5}, "ent_coef must be a finite number >= 0, got -5"),
        ({"ent_coef": "abc"}, "ent_coef must be a finite number >= 0, got 'abc'"),
        ({"vf_coef": "x"}, "vf_coef must be a finite number >= 0, got 'x'"),
        ({"target_kl": "abc"}, "target_kl must be a finite number > 0, got 'abc'"),
        ({"normalize_advantage": "maybe"}, "normalize_advantage must be True or False, got 'maybe'"),
        ({"use_sde": 1}, "use_sde must be True or False, got 1"),
        ({"n_epochs": 2.5}, "n_epochs must be an integer >= 1, got 2.5"),
        ({"sde_sample_freq": -2}, "sde_sample_freq must be an integer >= -1, got -2"),
        ({"gamma": float("nan")}, r"gamma must be a number in (0, 1], got nan"),
        ({"learning_rate": 3e4}, r"learning_rate must be a number in (0, 1] or 'lin_<a number in (0, 1]>'"),
        ({"learning_rate": "lin_inf"}, r"learning_rate must be a number in (0, 1]"),
        ({"clip_range": "lin_x"}, "clip_range must be a finite number > 0 or 'lin_<a finite number > 0>'"),
        ({"clip_range_vf": -0.2}, "clip_range_vf must be a finite number > 0"),
        ({"policy": "Mlp"}, "policy must be 'rl2_agent.policies.RL2GRUPolicy' (the default, RL2GRUPolicy) or one of"),
        ({"normalize": True}, "normalize must be False or {'norm_obs': False, 'norm_reward': True}"),
        ({"policy_kwargs": 5}, "policy_kwargs must be a dict of the policy's keyword arguments"),
        ({"policy_kwargs": {"foo": 1}}, "unknown policy_kwargs key(s) ['foo'] for RL2GRUPolicy; allowed: ["),
        ({"policy_kwargs": {"use_sde": True}}, "unknown policy_kwargs key(s) ['use_sde']"),
        ({"policy_kwargs": {"gru_hidden_size": 0}}, "policy_kwargs.gru_hidden_size must be an integer >= 1, got 0"),
        ({"policy_kwargs": {"ortho_init": "yes"}}, "policy_kwargs.ortho_init must be True or False, got 'yes'"),
        ({"policy_kwargs": {"net_arch": {"pi": [0]}}}, "policy_kwargs.net_arch['pi'] must be a list of layer sizes"),
        ({"policy_kwargs": {"activation_fn": "ReLU"}}, "policy_kwargs.activation_fn must be a subclass of torch.nn"),
        ({"policy_kwargs": {"shared_lstm": True}}, "RL2GRUPolicy does not take shared_lstm=True"),
        ({"policy_kwargs": {"optimizer_kwargs": {"eps": -1.0}}}, "RL2GRUPolicy refuses them: Invalid epsilon value: -1.0"),
        ({"policy": "MlpLstmPolicy", "policy_kwargs": {"lstm_hidden_size": -3}}, "policy_kwargs.lstm_hidden_size must be"),
        ({"use_sde": True}, "use_sde=True needs continuous (Box) actions; this env's actions are Discrete(3)"),
        (
            {"normalize_advantage": True, "n_envs": 1, "n_steps": 1, "batch_size": 1},
            "batch_size must be >= 2 with normalize_advantage=True",
        ),
    ],
)
def test_every_hyperparameter_is_checked_when_the_config_is_built(hyper, message):
    with pytest.raises(ValueError) as err:
        TrainConfig("RL2Bandit-v0", {"num_arms": 3}, hyperparams=hyper)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_good_hyperparameters_of_every_kind_are_accepted():
    for hyper in (
        {"clip_range_vf": "lin_0.2", "target_kl": None, "learning_rate": "lin_1e-3", "normalize_advantage": True},
        {"policy": "MlpLstmPolicy", "policy_kwargs": {"lstm_hidden_size": 8}},
        {"policy_kwargs": {"activation_fn": th.nn.ReLU, "net_arch": [8], "optimizer_kwargs": {"eps": 1e-6}}},
        {"ent_coef": 0, "vf_coef": 0.0, "max_grad_norm": 0.5, "gamma": 1, "stats_window_size": 10},
    ):
        assert TrainConfig("RL2Bandit-v0", {"num_arms": 3}, hyperparams=hyper).hyperparams["ent_coef"] >= 0
    check_hyperparams(get_hyperparams("RL2PointNav-v0", {"use_sde": True}))  # continuous actions: the env decides


def test_a_bad_hyperparameter_is_refused_before_any_env_or_model(tmp_path, capsys, monkeypatch):
    import rl2_agent.training.loop as loop

    monkeypatch.setattr(loop, "make_vec_env", lambda *a, **k: pytest.fail("an env was built for a refused config"))
    for setting in ("max_grad_norm=-1", "ent_coef=-5", "normalize_advantage=maybe", "policy_kwargs=5", "policy_kwargs.foo=1"):
        assert cli(tiny_train(tmp_path / "run", 512, "--hyperparams", setting)) == 2
        key = setting.split("=")[0].split(".")[-1]
        assert key in error_line(capsys, "train")
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- counts and devices
@pytest.mark.parametrize("flag", ["--timesteps", "--eval-every", "--checkpoint-every"])
@pytest.mark.parametrize("value", ["1.5", "inf", "nan", "1e16", "abc"])
def test_step_counts_that_are_not_whole_numbers_are_refused_in_one_line(flag, value, tmp_path, capsys):
    assert cli(tiny_train(tmp_path / "run", 512, flag, value)) == 2
    line = error_line(capsys, "train")
    assert f"argument {flag}: must be a whole number of steps" in line and "e.g. 2e6 or 2000000" in line
    assert not (tmp_path / "run").exists()


def test_step_counts_take_integers_and_scientific_notation():
    assert step_count(1)("2e6") == 2_000_000 and step_count(1)("1_000") == 1000 and step_count(0)("0") == 0
    assert step_count(1)("123456789012345") == 123456789012345  # exact, not through a float


def test_max_minutes_and_seeds_out_of_range_are_refused(tmp_path, capsys):
    for extra, message in (
        (["--max-minutes", "inf"], "--max-minutes must be a finite number >= 0, got inf"),
        (["--seed", str(2**40)], "seed must be an integer in [0, 4294967295] (numpy's seed range)"),
        (["--threads", "0"], "argument --threads: must be an integer >= 1"),
    ):
        assert cli(tiny_train(tmp_path / "run", 512, *extra)) == 2
        assert message in error_line(capsys, "train")


def test_the_device_must_be_one_this_machine_has(tmp_path, capsys):
    assert cli(tiny_train(tmp_path / "run", 512, "--device", "bogus")) == 2
    assert "argument --device: must be one of cpu, cuda, cuda:N, mps or auto, got 'bogus'" in error_line(capsys, "train")
    assert check_device("device", "auto") == ("cuda" if th.cuda.is_available() else "cpu")
    assert TrainConfig("RL2Bandit-v0", {"num_arms": 3}, device="auto").device in ("cpu", "cuda")
    with pytest.raises(UserError, match=r"device must be one of cpu, cuda, cuda:N, mps or auto, got 'cpu:0'"):
        check_device("device", "cpu:0")
    with pytest.raises(UserError, match=r"this machine has (no CUDA device|\d+ CUDA device)"):
        check_device("device", f"cuda:{th.cuda.device_count() if th.cuda.is_available() else 0}")
    if not th.cuda.is_available():
        assert cli(tiny_train(tmp_path / "run", 512, "--device", "cuda")) == 2
        assert "'cuda': this machine has no CUDA device" in error_line(capsys, "train")
        with pytest.raises(ValueError, match="device 'cuda': this machine has no CUDA device"):
            TrainConfig("RL2Bandit-v0", {"num_arms": 3}, device="cuda")
    assert not (tmp_path / "run").exists()


def test_argparse_refusals_are_one_line_without_the_usage(capsys):
    for argv, message in (
        (["train", "--timesteps"], "rl2 train: error: argument --timesteps: expected one argument\n"),
        (["train", "--nope"], "rl2: error: unrecognized arguments: --nope\n"),
    ):
        assert cli(argv) == 2 and capsys.readouterr().err == message


# ----------------------------------------------------------------------------- disk full, read-only, a file in the way
@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
        (errno.ENOTDIR, "is a file, not a folder"),
        (errno.EEXIST, "a file is in the way"),
    ],
)
def test_an_oserror_of_the_users_machine_is_one_line_naming_the_path(code, words):
    message = user_error_message(OSError(code, os.strerror(code), "runs/x/model.zip"))
    assert message.startswith("runs/x/model.zip: ") and words in message
    assert user_error_message(OSError(errno.EIO, "I/O error", "x")) is None  # not explained by the user's input: a bug
    assert user_error_message(RuntimeError("bug")) is None


def test_a_full_disk_mid_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "config.json"
    run_folder.atomic_write_text(path, "old")

    def full(_: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write raises it: no file name

    monkeypatch.setattr(run_folder, "_fsync", full)
    with pytest.raises(OSError) as err:
        run_folder.atomic_write_text(path, "new" * 1000)
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(path)
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_full_disk_during_training_is_one_line_and_leaves_no_temporary_files(tmp_path, capsys, monkeypatch):
    calls = {"n": 0}
    real_fsync = run_folder._fsync

    def fill_up(path: Path) -> Path:
        calls["n"] += 1
        if calls["n"] > 6:  # the disk fills up during a later checkpoint
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(path)

    monkeypatch.setattr(run_folder, "_fsync", fill_up)
    out = tmp_path / "run"
    assert cli(tiny_train(out, 2048)) == 2
    line = error_line(capsys, "train")
    assert f"{out}/" in line and "the disk is full: free some space or write elsewhere" in line
    leftovers = [
        p.name for p in out.iterdir() if p.name.endswith((".tmp", ".tmp.zip")) or p.name.startswith("checkpoint.staging-")
    ]
    assert leftovers == []
    state = run_folder.read_checkpoint_state(out)
    assert state is not None and run_folder.model_step(out / run_folder.CHECKPOINT_FILE) == state["num_timesteps"]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_read_only_or_forbidden_folder_is_one_line(code, tmp_path, capsys, monkeypatch):
    def refuse(self: Path, *args, **kwargs) -> None:
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    assert cli(tiny_train(tmp_path / "ro" / "run", 512)) == 2
    line = error_line(capsys, "train")
    assert str(tmp_path / "ro" / "run") in line and os.strerror(code) in line


def test_an_out_folder_that_is_a_file_or_under_one_is_refused_before_any_work(run_dir, tmp_path, capsys):
    file = run_dir / run_folder.CONFIG_FILE
    for out, words in ((file, "a file, not a folder: give a folder path"), (file / "x", f"({file} is a file)")):
        assert cli(tiny_train(out, 512)) == 2
        assert f"--out {out}: " in (line := error_line(capsys, "train")) and words in line
    assert cli(["evaluate", str(run_dir), "--trials", "4", "--out", str(file / "x")]) == 2
    assert str(file) in error_line(capsys, "evaluate")


# ----------------------------------------------------------------------------- damaged files
def copy_run(run_dir: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(run_dir, to))


def test_a_damaged_config_json_is_named(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path / "run")
    (run / run_folder.CONFIG_FILE).write_text('{"env_id": "RL2Bandit-v0", ')
    assert cli(["evaluate", str(run), "--trials", "4"]) == 2
    line = error_line(capsys, "evaluate")
    assert f"{run / run_folder.CONFIG_FILE} is not valid JSON" in line and "damaged" in line
    (run / run_folder.CONFIG_FILE).write_text("[1, 2]")
    assert cli(["train", "--out", str(run), "--resume", "--no-progress"]) == 2
    assert "config.json lacks env_id, env_kwargs (a training run" in error_line(capsys, "train")


def test_a_damaged_eval_log_is_named_with_its_line(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path / "run")
    log = run / run_folder.EVAL_LOG
    log.write_text(log.read_text() + "768,1.0,abc,0.1\n")
    assert cli(["curves", str(run), "--out", str(tmp_path / "c.png")]) == 2
    line = error_line(capsys, "curves")
    assert f"{log}, line 4: mean is 'abc', not a number" in line
    log.write_bytes(b"\xff\xfe\x00garbage")
    assert cli(["plot", str(run), "--out-dir", str(tmp_path / "figs")]) == 2
    assert str(log) in error_line(capsys, "plot")


def test_a_damaged_table_or_eval_json_is_named(tmp_path, capsys):
    table = tmp_path / "bandit.json"
    table.write_text('{"10,5": {"random": {"mean": 1.0')
    assert cli(["plot", str(table), "--out-dir", str(tmp_path / "figs")]) == 2
    assert f"{table} is not valid JSON" in error_line(capsys, "plot")
    for content in ("[1]", '{"per_episode_mean": [1.0]}', '{"10,5": {"random": {"mean": 1.0}}}'):
        table.write_text(content)
        assert cli(["plot", str(table)]) == 2
        assert "not a result this command plots" in error_line(capsys, "plot")


def test_a_truncated_policy_inside_a_valid_model_zip_is_one_line(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path / "run")
    model = run / run_folder.MODEL_FILE
    with zipfile.ZipFile(run_dir / run_folder.MODEL_FILE) as source, zipfile.ZipFile(model, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[: len(data) // 2] if item.filename == "policy.pth" else data)
    assert cli(["evaluate", str(run), "--trials", "4"]) == 2
    line = error_line(capsys, "evaluate")
    assert f"{model} is not a readable model" in line and "damaged" in line and len(line) < 500
    model.write_bytes(b"not a zip")
    assert cli(["evaluate", str(run), "--trials", "4"]) == 2
    assert f"{model} is not a readable model" in error_line(capsys, "evaluate")


def test_damaged_checkpoint_files_are_named_on_resume(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path / "run")
    (run / run_folder.VECNORMALIZE_FILE).write_bytes(b"\x80\x04garbage")
    assert cli(["train", "--out", str(run), "--resume", "--timesteps", "768", "--no-progress"]) == 2
    assert f"{run / run_folder.VECNORMALIZE_FILE}: cannot load these reward-scaling statistics" in error_line(capsys, "train")
    (run / run_folder.CHECKPOINT_STATE).write_text("{")
    assert cli(["train", "--out", str(run), "--resume", "--timesteps", "768", "--no-progress"]) == 2
    assert f"{run / run_folder.CHECKPOINT_STATE} is not valid JSON" in error_line(capsys, "train")
    (run / run_folder.CHECKPOINT_STATE).unlink()
    (run / run_folder.CHECKPOINT_FILE).write_bytes(b"half a zip")
    assert cli(["train", "--out", str(run), "--resume", "--timesteps", "768", "--no-progress"]) == 2
    assert f"{run / run_folder.CHECKPOINT_FILE} is not a readable model" in error_line(capsys, "train")


def test_a_checkpoint_without_its_state_file_resumes_at_the_models_step(run_dir, tmp_path, caplog):
    run = copy_run(run_dir, tmp_path / "run")
    (run / run_folder.CHECKPOINT_STATE).unlink()
    with caplog.at_level(logging.WARNING):
        assert cli(["train", "--out", str(run), "--resume", "--timesteps", "768", "--no-progress"]) == 0
    assert "resuming at checkpoint.zip's step 512 with the training clock at 0" in caplog.text
    assert run_folder.load_model(run).num_timesteps == 768


# ----------------------------------------------------------------------------- resume
def test_resume_with_env_kwargs_that_change_the_observation_checks_the_saved_config_first(run_dir, tmp_path, capsys):
    run = copy_run(run_dir, tmp_path / "run")
    assert cli(["train", "--out", str(run), "--resume", "--env-kwargs", "num_arms=10", "--no-progress"]) == 2
    line = error_line(capsys, "train")
    assert f"--resume: {run} was trained on RL2Bandit-v0 {{'num_arms': 3, 'episodes_per_trial': 5}}" in line


def test_resuming_a_finished_run_records_no_resume(run_dir, tmp_path):
    run = copy_run(run_dir, tmp_path / "run")
    before = (run / run_folder.CONFIG_FILE).read_text()
    assert cli(["train", "--out", str(run), "--resume", "--no-progress"]) == 0
    assert json.loads((run / run_folder.CONFIG_FILE).read_text()) == json.loads(before)
    assert "resumes" not in run_folder.read_config(run)


def test_the_best_model_is_the_checkpoint_sets_best(run_dir):
    state = run_folder.read_checkpoint_state(run_dir)
    log = run_folder.read_eval_log(run_dir)
    assert run_folder.model_step(run_dir / run_folder.BEST_MODEL_FILE) == state["best"]["timesteps"]
    assert log.rows()[log.best] == state["best"]


def with_step(model: Path, step: int) -> None:
    """Make the SB3 model file ``model`` say it was saved at ``step``."""
    with zipfile.ZipFile(model) as source:
        items = {item: source.read(item) for item in source.infolist()}
    with zipfile.ZipFile(model, "w") as target:
        for item, data in items.items():
            target.writestr(item, json.dumps({**json.loads(data), "num_timesteps": step}) if item.filename == "data" else data)


def test_a_best_model_of_a_discarded_timeline_is_not_kept_on_resume(run_dir, tmp_path, caplog):
    run = copy_run(run_dir, tmp_path / "run")
    # a best model saved apart from its checkpoint set, at step 19200, and the run killed before that checkpoint
    with_step(run / run_folder.BEST_MODEL_FILE, 19200)
    with caplog.at_level(logging.WARNING):
        assert cli(["train", "--out", str(run), "--resume", "--timesteps", "1024", "--no-progress"]) == 0
    assert "a run killed after a new best but before its checkpoint" in caplog.text
    state = run_folder.read_checkpoint_state(run)
    assert run_folder.model_step(run / run_folder.BEST_MODEL_FILE) == state["best"]["timesteps"] > 512


# ----------------------------------------------------------------------------- a seeded fuzz of the command lines
BAD_VALUES = [
    "",
    "-1",
    "0",
    "1.5",
    "inf",
    "nan",
    "-inf",
    "1e400",
    "abc",
    "None",
    "[1]",
    "{}",
    "1e16",
    "3e4",
    "True",
    "-",
    "x=1",
    "a.b=1",
    "=",
    "FILE",
    "FILE/x",
    "missing",
    "DIR",
    "cpu:9",
    "cuda",
    "lin_abc",
    "10,5",
    "rl2=missing",
]
KV_KEYS = [
    "learning_rate",
    "max_grad_norm",
    "ent_coef",
    "batch_size",
    "n_steps",
    "policy_kwargs",
    "policy_kwargs.foo",
    "policy_kwargs.gru_hidden_size",
    "policy_kwargs.net_arch",
    "normalize",
    "policy",
    "gamma",
    "num_arms",
    "episodes_per_trial",
    "arm_prior",
    "target_kl",
    "device",
    "clip_range_vf",
    "use_sde",
]


def fuzz_cases(rng: random.Random, run: Path, n: int) -> list[list[str]]:
    """``n`` command lines of train / evaluate / table / curves / plot, each a valid one with one or two flags
    given a random bad value (or a KEY=VALUE list of bad values)."""
    bases = {
        "train": tiny_train(Path("fuzz-run"), 256),
        "evaluate": ["evaluate", str(run), "--trials", "4", "--out", "fuzz-eval"],
        "table": ["table", "--family", "bandit", "--cells", "10,5", "--agents", "random", "--trials", "4"],
        "curves": ["curves", str(run), "--out", "fuzz.png"],
        "plot": ["plot", str(run), "--out-dir", "fuzz-figs"],
    }
    flags = {
        "train": [
            "--env",
            "--env-kwargs",
            "--timesteps",
            "--n-envs",
            "--seed",
            "--out",
            "--hyperparams",
            "--eval-every",
            "--eval-trials",
            "--checkpoint-every",
            "--max-minutes",
            "--lr-anneal",
            "--threads",
            "--device",
        ],
        "evaluate": ["RUN", "--trials", "--seed", "--model", "--env-kwargs", "--out"],
        "table": ["--family", "--cells", "--agents", "--trials", "--seed", "--json", "--paired"],
        "curves": ["RUN", "--labels", "--x", "--target", "--out"],
        "plot": ["RUN", "--out-dir"],
    }
    cases = []
    for _ in range(n):
        command = rng.choice(list(bases))
        argv = list(bases[command])
        for flag in rng.sample(flags[command], k=min(2, len(flags[command]))):
            if flag in ("--env-kwargs", "--hyperparams"):
                value = [f"{rng.choice(KV_KEYS)}={rng.choice(BAD_VALUES)}" for _ in range(rng.randint(1, 2))]
            else:
                value = [rng.choice(BAD_VALUES)]
            if flag == "RUN":
                argv[1] = value[0]
            elif flag in argv:
                i = argv.index(flag)
                end = next((j for j in range(i + 1, len(argv)) if argv[j].startswith("--")), len(argv))
                argv[i + 1 : end] = value
            else:
                argv += [flag, *value]
        cases.append(argv)
    return cases


def run_fuzz_case(argv: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """``"ok"`` or ``"error"`` (exit code 2 and one error line: ``rl2 ...: error: ...``, or one ERROR log line, as
    ``rl2 table`` reports); fails the test on a traceback or any other outcome."""
    caplog.clear()
    try:
        code = cli(argv)
    except Exception as err:  # a traceback: a bug
        pytest.fail(f"rl2 {' '.join(argv)}: {type(err).__name__}: {err}")
    err = capsys.readouterr().err
    assert "Traceback" not in err, (argv, err)
    if code == 0:
        return "ok"
    assert code == 2, (argv, code, err)
    errors = [line for line in err.splitlines() if ": error: " in line]
    errors += [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0], (argv, err, errors)
    return "error"


def test_a_seeded_fuzz_of_the_command_lines_gives_one_error_line_or_success(run_dir, tmp_path, capsys, caplog, monkeypatch):
    import rl2_agent.training.loop as loop

    monkeypatch.chdir(tmp_path)
    Path("FILE").write_text("a file")
    Path("DIR").mkdir()
    # the configuration is what is fuzzed: a valid one is not trained (the tests of training do that)
    monkeypatch.setattr(loop, "train", lambda config, **kwargs: object())
    outcomes = [run_fuzz_case(argv, capsys, caplog) for argv in fuzz_cases(random.Random(0), run_dir, 60)]
    assert outcomes.count("error") >= 40  # nearly every case is a bad value

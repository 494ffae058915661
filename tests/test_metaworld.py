"""``RL2MetaWorld-v0`` (:mod:`meta_envs.metaworld`) and the success rates of ``rl2 evaluate`` (:mod:`rl2_agent.evaluation.success`).

Fast: ML1 ``reach-v3`` (a benchmark built once per process, about 1 s) with 20-step episodes; ML10 (8 s to
build) is not built here, its multi-env task switching is tested on a two-env split made of ML1 tasks.
"""

from __future__ import annotations

import os

# MuJoCo frames without a screen: OSMesa, chosen before anything imports mujoco
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

import json  # noqa: E402
import pickle  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import gymnasium.utils.env_checker  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from frames import requires_mujoco_frames  # noqa: E402

metaworld = pytest.importorskip("metaworld")

import meta_envs  # noqa: E402
from meta_envs import metaworld as mw  # noqa: E402
from rl2_agent.evaluation import run_trials  # noqa: E402
from rl2_agent.evaluation.runner import TrialResults, format_results  # noqa: E402
from rl2_agent.evaluation.success import SUCCESS_INFO_KEYS, reports_success, success_rates  # noqa: E402

ENV_ID = "RL2MetaWorld-v0"
FAST = {"env_name": "reach-v3", "episode_length": 20, "episodes_per_trial": 3}


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[None]:
    """The id, registered by :mod:`meta_envs.registration`; registered here for the module if it is not (yet)."""
    added = ENV_ID not in gym.registry
    if added:
        gym.register(id=ENV_ID, entry_point="meta_envs.metaworld:make_env", disable_env_checker=True)
    yield
    if added:
        del gym.registry[ENV_ID]


def make(**kwargs: Any) -> gym.Env:
    return gym.make(ENV_ID, **{**FAST, **kwargs})


def play(env: gym.Env, seed: int, steps: int, action_seed: int = 0) -> list[tuple[np.ndarray, float]]:
    """The observations and rewards of ``steps`` steps of the trial of ``seed``, with seeded random actions."""
    rng = np.random.default_rng(action_seed)
    out = [(env.reset(seed=seed)[0], 0.0)]
    for _ in range(steps):
        obs, reward, *_ = env.step(rng.uniform(-1, 1, 4).astype(np.float32))
        out.append((obs, float(reward)))
    return out


def reach(env: gym.Env) -> np.ndarray:
    """A scripted action towards the hidden goal, read from Meta-World's env (what a meta-learner must find out)."""
    inner = env.unwrapped.family._env
    action = np.zeros(4, np.float32)
    action[:3] = np.clip((inner._target_pos - inner.tcp_center) * 50, -1, 1)
    return action


# ----------------------------------------------------------------------------- the env
def test_importing_meta_envs_imports_neither_metaworld_nor_mujoco() -> None:
    code = "import sys, meta_envs; assert 'metaworld' not in sys.modules and 'mujoco' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_spaces_and_obs_layout() -> None:
    env = make()
    family = env.unwrapped.family
    assert isinstance(family, mw.MetaWorldTasks) and isinstance(family, meta_envs.TaskFamily)
    assert family.observation_space.shape == (39,) and family.action_space == gym.spaces.Box(-1, 1, (4,), np.float32)
    assert env.observation_space.shape == (45,) and env.observation_space.dtype == np.float32
    assert env.action_space == family.action_space
    layout = env.unwrapped.obs_layout
    assert layout == {"obs": slice(0, 39), "prev_action": slice(39, 43), "prev_reward": slice(43, 44), "done": slice(44, 45)}
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert np.all(obs[36:39] == 0)  # Meta-World's meta-learning benchmarks hide the goal


def test_defaults_are_ml1_reach_meta_worlds_max_path_length_and_ten_episodes() -> None:
    env = gym.make(ENV_ID).unwrapped
    assert (env.family.benchmark, env.family.env_name, env.family.split) == ("ML1", "reach-v3", "train")
    assert env.family.episode_length == mw.MAX_PATH_LENGTH == env.family.env_classes["reach-v3"].max_path_length == 500
    assert env.episodes_per_trial == 10 and env.trial_length == 5000


def test_the_splits_hold_meta_worlds_own_train_and_test_tasks() -> None:
    train = make(split="train").unwrapped.family
    test = make(split="test").unwrapped.family
    bench = mw._BENCHMARKS[("ML1", "reach-v3", 0)]  # built once, shared by both splits
    assert isinstance(bench, metaworld.ML1)
    assert train.tasks == bench.train_tasks and test.tasks == bench.test_tasks
    assert len(train.tasks) == len(test.tasks) == 50
    assert not {t.data for t in train.tasks} & {t.data for t in test.tasks}  # never mixed
    # benchmark_seed is the seed of Meta-World's constructor, whose ML1 test split of seed s is the train split of s + 1
    seed_one = make(benchmark_seed=1).unwrapped.family
    assert [t.data for t in seed_one.tasks] == [t.data for t in test.tasks]


def test_a_task_is_an_index_that_sets_meta_worlds_task() -> None:
    env = make()
    env.reset(seed=0, options={"task": 7})
    family = env.unwrapped.family
    assert env.unwrapped.task == 7 and family.task == 7
    goal = pickle.loads(family.tasks[7].data)["rand_vec"]
    np.testing.assert_array_equal(family._env._last_rand_vec, goal)
    np.testing.assert_allclose(family._env._target_pos, goal[-3:])
    env.reset(seed=0, options={"task": np.int64(8)})  # numpy integers too
    assert env.unwrapped.task == 8 and "task 8/50 (ML1 train)" in family.describe_task()


def test_same_seed_same_trial_whatever_came_before() -> None:
    fresh = make()
    used = make()
    play(used, seed=5, steps=30, action_seed=9)  # another task and other actions first
    one, two = play(fresh, seed=3, steps=45), play(used, seed=3, steps=45)
    assert fresh.unwrapped.task == used.unwrapped.task
    assert used.unwrapped.family._env.np_random is used.unwrapped.np_random  # Meta-World's draws: the trial's generator
    assert gym.utils.env_checker.data_equivalence(one, two)


def test_different_seeds_draw_different_tasks_uniformly_from_the_split() -> None:
    env = make()
    tasks = []
    for seed in range(20):
        env.reset(seed=seed)
        tasks.append(env.unwrapped.task)
    assert len(set(tasks)) > 10 and all(0 <= t < 50 for t in tasks)
    family = env.unwrapped.family
    draws = [family.sample_task(np.random.default_rng(s)) for s in range(3)]
    assert draws == [family.sample_task(np.random.default_rng(s)) for s in range(3)]  # the rng only


def test_inner_episodes_end_after_episode_length_and_the_trial_after_episodes_per_trial() -> None:
    env = make(episode_length=7, episodes_per_trial=3)
    env.reset(seed=0)
    ends, episode_indices = [], []
    for step in range(1, 22):
        obs, _, terminated, truncated, info = env.step(env.action_space.sample())
        episode_indices.append(info["episode_index"])
        assert obs[44] == float(info["inner_done"]) and not truncated
        if info["inner_done"]:
            ends.append(step)
        assert terminated == (step == 21)
    assert ends == [7, 14, 21] and episode_indices == [0] * 7 + [1] * 7 + [2] * 7
    assert len(info["trial_returns"]) == 3
    steps = gym.make(ENV_ID, env_name="reach-v3", episode_length=7, steps_per_trial=10).unwrapped  # a trial of steps
    steps.reset(seed=0)
    assert [steps.step(steps.action_space.sample())[2] for _ in range(10)] == [False] * 9 + [True]


@pytest.mark.filterwarnings("ignore:.*is not in the possible render_modes")  # gym.make's, before the env's refusal
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"benchmark": "ML45"}, r"benchmark must be one of \['ML1', 'ML10'\], got 'ML45'"),
        ({"env_name": "reach-v9"}, r"env_name must be, for benchmark='ML1', one of the 50 .*'assembly-v3'.*got 'reach-v9'"),
        ({"env_name": 3}, r"env_name must be, for benchmark='ML1'.*got 3"),
        ({"benchmark": "ML10"}, r"env_name must be None for benchmark='ML10'.*got 'reach-v3'"),
        ({"split": "validation"}, r"split must be one of \['train', 'test'\], got 'validation'"),
        ({"episode_length": 0}, r"episode_length must be an integer in \[1, 500\]"),
        ({"episode_length": 501}, r"episode_length must be an integer in \[1, 500\] \(Meta-World's max_path_length"),
        ({"benchmark_seed": -1}, r"benchmark_seed must be an integer in \[0, 4294967294\]"),
        ({"benchmark_seed": 1.5}, r"benchmark_seed must be an integer"),
        ({"benchmark_seed": 2**32}, r"benchmark_seed must be an integer"),
        ({"episodes_per_trial": 0}, r"episodes_per_trial must be an integer >= 1"),
        ({"episodes_per_trial": 10**6}, r"episodes_per_trial=1000000 .* over the limit"),
        ({"render_mode": "human2"}, r"render_mode must be one of"),
        ({"envname": "reach-v3"}, r"unknown env kwarg\(s\) \['envname'\]"),
    ],
)
def test_bad_kwargs_are_refused_in_one_line_naming_the_parameter(
    kwargs: dict[str, Any], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "env_name" not in kwargs:  # refused before Meta-World builds anything
        monkeypatch.setattr(mw, "_benchmark", lambda *a: pytest.fail("built a benchmark before refusing"))
    with pytest.raises(ValueError, match=message) as refused:
        make(**kwargs)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("task", [50, -1, 1.0, "3", None, True, [1], np.array(2)])
def test_bad_tasks_are_refused_and_leave_the_trial_untouched(task: Any) -> None:
    env = make()
    env.reset(seed=0)
    before = env.unwrapped.task
    with pytest.raises(ValueError, match=r"^task must be an integer in \[0, 49\] \(an index into the 50 tasks of ML1 "):
        env.reset(seed=1, options={"task": task})
    with pytest.raises(ValueError, match=r"^task must be an integer in \[0, 49\]"):
        env.unwrapped.family.set_task(task)
    assert env.unwrapped.task == before and env.unwrapped.family.task == before
    env.step(env.action_space.sample())


def test_a_missing_metaworld_is_one_line_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "metaworld", None)  # import metaworld now raises ImportError
    with pytest.raises(ImportError, match=r'^RL2MetaWorld-v0 needs Meta-World: pip install "rl2\[metaworld\]"') as missing:
        make()
    assert "\n" not in str(missing.value)


def test_meta_worlds_step_info_and_success_pass_through() -> None:
    env = make(episode_length=40, episodes_per_trial=2)
    env.reset(seed=0)
    infos = [env.step(reach(env))[4] for _ in range(80)]
    assert {"success", "near_object", "grasp_success", "obj_to_target", "episode_index", "inner_done"} <= set(infos[0])
    assert infos[0]["success"] == 0.0 and infos[39]["success"] == 1.0 and infos[79]["success"] == 1.0
    assert env.unwrapped.family.succeeded and "success yes" in env.unwrapped.family.describe_task()
    # the scripted reacher solves both episodes; a still arm solves none
    rates = success_rates([{key: [info[key] for info in infos] for key in SUCCESS_INFO_KEYS}])
    assert rates.per_episode.tolist() == [1.0, 1.0] and rates.last_episode == 1.0
    env.reset(seed=0)
    still = [env.step(np.zeros(4, np.float32))[4] for _ in range(80)]
    assert success_rates([{key: [info[key] for info in still] for key in SUCCESS_INFO_KEYS}]).last_episode == 0.0


@pytest.mark.filterwarnings("ignore:.*Box observation space maximum and minimum values are equal")  # the hidden goal
def test_gymnasium_check_env_passes() -> None:
    gym.utils.env_checker.check_env(make().unwrapped, skip_render_check=True)


@requires_mujoco_frames
def test_rgb_array_frames_have_one_shape_and_show_the_arm() -> None:
    env = make(render_mode="rgb_array", episode_length=5, episodes_per_trial=2)
    env.reset(seed=0)
    frames = [env.render()]
    for _ in range(6):
        env.step(env.action_space.sample())
        frames.append(env.render())
    assert {f.shape for f in frames} == {frames[0].shape} and frames[0].dtype == np.uint8
    height, width, channels = frames[0].shape
    assert channels == 3 and width == 340 and height > 340
    assert env.unwrapped.family.render_frame([]).shape == (365, 340, 3)  # the family's picture, under the trial header
    assert not np.array_equal(frames[0], frames[-1])
    assert frames[0][100:300].std() > 10  # MuJoCo's picture, not a blank panel
    ansi = make(render_mode="ansi")
    ansi.reset(seed=0)
    assert "reach-v3 task" in ansi.render()


def test_a_failing_renderer_says_how_to_render_without_a_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    env = make(render_mode="rgb_array")
    env.reset(seed=0)

    def no_gl() -> None:
        raise RuntimeError("an OpenGL platform library has not been loaded into this process")

    monkeypatch.setattr(env.unwrapped.family._env, "render", no_gl)
    with pytest.raises(RuntimeError, match=r"install OSMesa \(Debian: libosmesa6\) and set MUJOCO_GL=osmesa PYOPENGL"):
        env.render()


def test_several_env_classes_switch_by_task(monkeypatch: pytest.MonkeyPatch) -> None:
    """ML10's splits hold tasks of several envs: set_task builds each env once, on first use (a two-env split here)."""
    reach, push = (mw._benchmark(metaworld, "ML1", name, 0) for name in ("reach-v3", "push-v3"))
    split = SimpleNamespace(
        train_tasks=reach.train_tasks[:2] + push.train_tasks[:2],
        train_classes={**reach.train_classes, **push.train_classes},
        test_tasks=[],
        test_classes={},
    )
    monkeypatch.setitem(mw._BENCHMARKS, ("ML10", None, 0), split)
    env = gym.make(ENV_ID, benchmark="ML10", episode_length=5, episodes_per_trial=1)
    family = env.unwrapped.family
    assert list(family._envs) == ["reach-v3"]  # the first task's env, for the spaces
    env.reset(seed=0, options={"task": 3})
    assert family.current_env_name == "push-v3" and type(family._env).__name__ == "SawyerPushEnvV3"
    pushing = family._env
    env.reset(seed=0, options={"task": 0})
    env.reset(seed=0, options={"task": 2})
    assert family._env is pushing and list(family._envs) == ["reach-v3", "push-v3"]
    assert family.check_task(3) == 3
    with pytest.raises(ValueError, match=r"task must be an integer in \[0, 3\] \(an index into the 4 tasks of ML10 train\)"):
        family.check_task(4)


# ----------------------------------------------------------------------------- success rates
def trial(*episodes: list[Any]) -> dict[str, list[Any]]:
    """The kept step infos of a trial whose episode k has the success values ``episodes[k]``."""
    return {
        "success": [value for episode in episodes for value in episode],
        "episode_index": [k for k, episode in enumerate(episodes) for _ in episode],
    }


def test_success_rates_of_hand_made_step_infos() -> None:
    infos = [
        trial([0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]),  # solved at some step of episodes 1 and 3
        trial([0.0, 0.0, 0.0], [None, 1.0, 1.0], [True, False, False]),  # None: no key at that step
        trial([0, 0, 0], [0, 0, 0], [0, 0, 0]),
        trial([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]),  # a trial of steps_per_trial: 2 episodes only
    ]
    rates = success_rates(infos)
    np.testing.assert_allclose(rates.per_episode, [2 / 4, 1 / 4, 2 / 3])
    assert rates.trials_per_episode.tolist() == [4, 4, 3] and rates.n_trials == 4
    assert rates.last_episode == 0.5  # the last episodes: solved, solved, not, not
    assert rates.last_episode_se == pytest.approx(np.std([1, 1, 0, 0], ddof=1) / 2)
    summary = rates.summary()
    assert summary["success_rate_last_episode"] == 0.5 and summary["success_rate_per_episode"] == rates.per_episode.tolist()
    assert np.isnan(success_rates([trial([1.0])]).last_episode_se)


@pytest.mark.parametrize(
    ("infos", "message"),
    [
        ([], "at least one trial"),
        ([{"success": [1.0]}], r"lacks \['episode_index'\]"),
        ([{"success": [1.0, 0.0], "episode_index": [0]}], "one success and one episode_index per step"),
        ([{"success": [1.0], "episode_index": [None]}], "integers >= 0"),
    ],
)
def test_success_rates_refuse_what_is_not_kept_step_infos(infos: list[dict[str, list[Any]]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        success_rates(infos)


def test_results_report_success_only_for_envs_that_report_it() -> None:
    returns = np.array([[1.0, 2.0], [3.0, 4.0]])
    plain = TrialResults("RL2Bandit-v0", {}, 0, returns, 0.0)
    assert plain.success() is None and "success" not in json.dumps(plain.summary())
    assert "success" not in format_results(plain)
    kept = TrialResults("X", {}, 0, returns, 0.0, step_infos=[trial([0.0], [1.0]), trial([1.0], [0.0])])
    assert kept.summary()["success_rate_per_episode"] == [0.5, 0.5] and kept.summary()["success_rate_last_episode"] == 0.5
    text = format_results(kept)
    assert "success rate of the last episode of the trial: 0.500" in text and "| 1 | 2.000 | 1.000 | 0.500 |" in text
    assert reports_success(ENV_ID, FAST) and not reports_success("RL2Bandit-v0", {"num_arms": 3})


class RandomAgent:
    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def act(self, obs: np.ndarray, trial_start: np.ndarray) -> np.ndarray:
        return self.rng.uniform(-1, 1, (len(obs), 4)).astype(np.float32)


def test_run_trials_keeps_every_steps_success_of_meta_world_trials() -> None:
    kwargs = {"env_name": "reach-v3", "episode_length": 4, "episodes_per_trial": 2}
    results = run_trials(RandomAgent(), ENV_ID, kwargs, n_trials=3, seed=0, info_keys=SUCCESS_INFO_KEYS)
    assert results.step_infos is not None and len(results.step_infos) == 3
    for kept in results.step_infos:
        assert kept["episode_index"] == [0] * 4 + [1] * 4 and all(s in (0.0, 1.0) for s in kept["success"])
    success = results.success()
    assert success is not None and success.per_episode.shape == (2,) and success.n_trials == 3


def test_rl2_evaluate_prints_and_writes_the_success_rate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tiny_runs import TINY

    from rl2_agent.cli import main

    run = tmp_path / "run"
    kwargs = ["env_name=reach-v3", "episode_length=5", "episodes_per_trial=2"]
    train = ["train", "--env", ENV_ID, "--env-kwargs", *kwargs, "--timesteps", "32", "--n-envs", "2", "--seed", "0"]
    hyperparams = [*(h for h in TINY if not h.startswith(("n_steps", "batch_size"))), "n_steps=8", "batch_size=16"]
    train += ["--hyperparams", *hyperparams, "--eval-trials", "2", "--eval-every", "32", "--out", str(run), "--no-progress"]
    assert main(train) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--trials", "3"]) == 0
    printed = capsys.readouterr().out
    assert "success rate of the last episode of the trial:" in printed and "| success rate |" in printed
    written = json.loads((run / "eval.json").read_text())
    assert len(written["success_rate_per_episode"]) == 2 and 0.0 <= written["success_rate_last_episode"] <= 1.0
    assert written["env_kwargs"] == {"env_name": "reach-v3", "episode_length": 5, "episodes_per_trial": 2}

"""Meta-World robot-arm manipulation (ML1, ML10) as an RL^2 task family: ``RL2MetaWorld-v0``.

Description
    A simulated Sawyer arm (Meta-World v3, MuJoCo) in front of a table must do a manipulation task
    whose goal it does not observe: reach a point, push a puck to a place, open a door... A *task* is
    one of the tasks of one split of a Meta-World meta-learning benchmark, given by its INDEX into the
    split's task list (an ``int``), fixed for the trial. ``benchmark="ML1"``: the tasks are 50 goal
    (and object) positions of ONE env, ``env_name`` (e.g. ``"reach-v3"``); the test split holds 50
    other positions of the same env. ``benchmark="ML10"``: the train split holds 50 positions of each
    of 10 envs (500 tasks), the test split 50 of each of 5 other envs (250 tasks). The tasks are
    Meta-World's own (its ``Benchmark.train_tasks`` / ``test_tasks``, drawn with ``benchmark_seed``);
    a trial's task is drawn uniformly from the split (so, in ML10, each env with probability 1/10
    resp. 1/5), with the trial's generator only.
Action Space
    ``Box(-1, 1, (4,), float32)``: the hand's displacement (x, y, z, scaled by Meta-World) and the
    gripper's torque; actions are clipped to the box.
Observation Space
    Meta-World's ``Box((39,), float64)`` (the same for every env of both benchmarks): hand position,
    gripper opening, the positions and orientations of up to two objects, the same 18 values of the
    previous step, and 3 goal entries that Meta-World's meta-learning benchmarks hold at zero (the
    goal is hidden: finding it is the meta-learning problem). The object entries are unbounded. The
    trial observation appends the previous action, reward and done flag.
Rewards
    Meta-World's own dense reward of the env (its ``v2`` reward functions), in ``[0, 10]``.
Starting State
    Meta-World's: the arm at its home position, the objects and the goal where the task puts them.
    Once a task is set, Meta-World's v3 envs draw nothing at reset; whatever randomness Meta-World
    would use comes from the family's ``np_random``, the trial's generator, so ``reset(seed=s)``
    determines the whole trial.
Episode End
    An inner episode is truncated after ``episode_length`` (500, Meta-World's ``max_path_length``)
    steps; success does not end it (Meta-World's training setting, ``terminate_on_success=False``).
    Every step's info is Meta-World's, which includes ``"success"`` (1.0 once the task is solved at that
    step, else 0.0): ``rl2 evaluate`` reports the success rate from it (an episode succeeds if any of its
    steps does, Meta-World's definition). The trial terminates after ``episodes_per_trial`` (10) episodes
    or ``steps_per_trial`` steps.
Rendering
    ``render_mode="rgb_array"`` (80 frames per second, Meta-World's simulation rate): under the trial
    header, Meta-World's own MuJoCo picture of the arm and table (340 x 340, MuJoCo's default free
    camera: Meta-World's ``corner`` cameras draw upside down) above a caption with the env, the task
    index, the step and whether the episode has succeeded yet. MuJoCo needs an OpenGL backend: on a
    machine without a screen install OSMesa (Debian: ``libosmesa6``) and set
    ``MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa`` before the first frame. ``render_mode="ansi"``: the
    caption as text.
Arguments
    ``gym.make("RL2MetaWorld-v0", benchmark="ML1", env_name=None, split="train", benchmark_seed=0,
    episode_length=500, episodes_per_trial=None, steps_per_trial=None, render_mode=None)``.
    ``benchmark``: ``"ML1"`` or ``"ML10"``. ``env_name``: for ML1, one of Meta-World's 50 v3 env names
    (``metaworld.ML1.ENV_NAMES``), None meaning ``"reach-v3"``; refused for ML10. ``split``: ``"train"`` or ``"test"``, Meta-World's
    own task sets (never mixed). ``benchmark_seed``: the seed Meta-World's benchmark constructor draws
    the tasks with (an integer in ``[0, 2**32 - 2]``), so given kwargs always give the same task list.
    Beware Meta-World's seeding of ML1: its test split of seed ``s`` holds exactly the train tasks of
    seed ``s + 1`` (``ML1(seed=s).test_tasks == ML1(seed=s + 1).train_tasks``), so compare train and test
    splits of the SAME ``benchmark_seed``. ``episode_length``: an integer in ``[1, 500]``.
    ``episodes_per_trial`` is 10 unless it or ``steps_per_trial`` is given (give at most one):
    Meta-World's own meta-RL evaluation (``metaworld.evaluation.metalearning_evaluation``) adapts on
    ``adaptation_episodes=10`` episodes of a task (then scores 3 more), and its paper's RL^2 baseline
    (garage's ``RL2PPO`` examples for Meta-World) plays ``episode_per_task=10`` episodes per trial.
    ``render_mode``: None, ``"ansi"`` or ``"rgb_array"``. Tasks for ``reset(options={"task": i})``: an
    integer index into the split's task list (``env.unwrapped.family.tasks``).
Limits
    Needs Meta-World (``pip install "rl2[metaworld]"``), imported only when the env is made: ``import
    meta_envs`` never imports it nor MuJoCo. A benchmark takes about 1 s (ML1) or 8 s (ML10) to construct
    (Meta-World builds every env and resets it 50 times), so it is built once per ``(benchmark,
    env_name, benchmark_seed)`` in a process and shared by every env made there; each family builds one
    MuJoCo env per Meta-World env class it meets (lazily, at most 10), a few MB each. An episode and a
    trial are at most ``MAX_TRIAL_STEPS`` steps (:mod:`meta_envs.validation`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np

from meta_envs import rendering
from meta_envs.mujoco.locomotion import render_picture
from meta_envs.trial import MIN_FRAME_WIDTH, TrialEnv, TrialStep, trial_entry_point
from meta_envs.validation import (
    check_bool,
    check_choice,
    check_int_range,
    check_render_mode,
    check_trial_steps,
    default_trial_length,
    short_repr,
    strict_kwargs,
)

__all__ = [
    "BENCHMARKS",
    "DEFAULT_EPISODES_PER_TRIAL",
    "MAX_PATH_LENGTH",
    "SPLITS",
    "MetaWorldTasks",
    "make_env",
    "require_metaworld",
]

ENV_ID = "RL2MetaWorld-v0"
BENCHMARKS = ("ML1", "ML10")
SPLITS = ("train", "test")
#: Meta-World's ``SawyerXYZEnv.max_path_length``: its envs refuse to step an episode further.
MAX_PATH_LENGTH = 500
#: Episodes of a task per trial: Meta-World's ``adaptation_episodes`` (see the module docstring).
DEFAULT_EPISODES_PER_TRIAL = 10
#: numpy's legacy seeding (which Meta-World's benchmarks use) takes seeds below 2**32; ML1's test split uses seed + 1.
MAX_BENCHMARK_SEED = 2**32 - 2
RENDER_FPS = 80  # Meta-World's metadata: 1 / (frame_skip 5 x timestep 0.0025 s)
FRAME_WIDTH = FRAME_HEIGHT = MIN_FRAME_WIDTH  # MuJoCo's picture; the caption goes below it
#: ML1's env when none is named: reaching a hidden point, Meta-World's simplest task
DEFAULT_ML1_ENV = "reach-v3"

# (benchmark, env_name, benchmark_seed) -> the Meta-World benchmark: built once per process (seconds each)
_BENCHMARKS: dict[tuple[str, str | None, int], Any] = {}


def require_metaworld() -> ModuleType:
    """The ``metaworld`` module, or ``ImportError`` (one line) naming the extra that installs it."""
    try:
        return importlib.import_module("metaworld")
    except ImportError as exc:
        cause = " ".join(str(exc).split())
        raise ImportError(f'{ENV_ID} needs Meta-World: pip install "rl2[metaworld]" ({cause})') from exc


def check_episode_length(episode_length: Any) -> int:
    """``episode_length`` as an int in ``[1, MAX_PATH_LENGTH]``, else ``ValueError`` naming it."""
    return check_int_range(
        "episode_length", episode_length, 1, MAX_PATH_LENGTH, "Meta-World's max_path_length: its envs stop there"
    )


def _check_env_name(benchmark: str, env_name: Any, names: Sequence[str] | None) -> str | None:
    """``env_name`` for ``benchmark``: one of ``names`` for ML1 (None: :data:`DEFAULT_ML1_ENV`), None for ML10;
    else ``ValueError``."""
    if benchmark != "ML1":
        if env_name is not None:
            raise ValueError(
                f"env_name must be None for benchmark={benchmark!r} (its splits hold the tasks of several envs; "
                f"env_name picks the one env of benchmark='ML1'), got {short_repr(env_name)}"
            )
        return None
    names = names or ()
    env_name = DEFAULT_ML1_ENV if env_name is None else env_name
    if not isinstance(env_name, str) or env_name not in names:
        shown = ", ".join(repr(name) for name in sorted(names)[:4])
        raise ValueError(
            f"env_name must be, for benchmark='ML1', one of the {len(names)} Meta-World v3 env names ({shown}, ...; "
            f"metaworld.ML1.ENV_NAMES lists them) or None ({DEFAULT_ML1_ENV!r}), got {short_repr(env_name)}"
        )
    return env_name


def _benchmark(metaworld: ModuleType, benchmark: str, env_name: str | None, seed: int) -> Any:
    """Meta-World's benchmark of these arguments, built on first use and then shared in the process."""
    key = (benchmark, env_name, seed)
    if key not in _BENCHMARKS:
        # Meta-World draws the tasks with numpy's global generator seeded with `seed`, and restores its state after
        _BENCHMARKS[key] = metaworld.ML1(env_name, seed=seed) if benchmark == "ML1" else metaworld.ML10(seed=seed)
    return _BENCHMARKS[key]


class MetaWorldTasks(gym.Env):
    """Task family over the tasks of one split of a Meta-World benchmark; the task is an index into :attr:`tasks`.

    :param benchmark: ``"ML1"`` or ``"ML10"``.
    :param env_name: the env of ML1 (None: ``"reach-v3"``); must be None for ML10.
    :param split: ``"train"`` or ``"test"``: Meta-World's train or test tasks of the benchmark.
    :param benchmark_seed: the seed of Meta-World's benchmark constructor (which tasks the splits hold).
    :param episode_length: steps of an inner episode (it is truncated after them), at most 500.
    :param render: build the MuJoCo envs with ``render_mode="rgb_array"`` (for :meth:`render_frame`).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": RENDER_FPS}

    def __init__(
        self,
        benchmark: str = "ML1",
        env_name: str | None = None,
        split: str = "train",
        benchmark_seed: int = 0,
        episode_length: int = MAX_PATH_LENGTH,
        render: bool = False,
    ) -> None:
        # every argument is checked before Meta-World is imported or a benchmark built (seconds)
        self.benchmark = check_choice("benchmark", benchmark, BENCHMARKS)
        self.split = check_choice("split", split, SPLITS)
        self.benchmark_seed = check_int_range(
            "benchmark_seed", benchmark_seed, 0, MAX_BENCHMARK_SEED, "Meta-World seeds numpy's legacy generator"
        )
        self.episode_length = check_episode_length(episode_length)
        self.render_frames = check_bool("render", render)
        if self.benchmark != "ML1":
            _check_env_name(self.benchmark, env_name, None)  # refused before the import; ML1's names need it
        metaworld = require_metaworld()
        self.env_name = _check_env_name(self.benchmark, env_name, list(metaworld.ML1.ENV_NAMES))
        bench = _benchmark(metaworld, self.benchmark, self.env_name, self.benchmark_seed)
        #: Meta-World's tasks of the split (``metaworld.Task``): a task of this family is an index into it
        self.tasks: list[Any] = list(bench.train_tasks if self.split == "train" else bench.test_tasks)
        self.env_classes: dict[str, type] = dict(bench.train_classes if self.split == "train" else bench.test_classes)
        self._envs: dict[str, Any] = {}  # env name -> its MuJoCo env, built on first use
        self._env: Any = None
        self.task = 0
        self.t = 0
        self.succeeded = False  # whether a step of the current episode has succeeded
        self.set_task(0)  # builds the first env: the spaces are every Meta-World v3 env's
        first = self._env_for(self.current_env_name)
        self.action_space = first.action_space
        self.observation_space = first.observation_space
        self._action_low, self._action_high = first.action_space.low, first.action_space.high
        self.metadata = {**self.metadata, "render_fps": first.metadata.get("render_fps", RENDER_FPS)}

    @property
    def label(self) -> str:
        """E.g. ``"ML1 reach-v3 train"``: the benchmark, its env (ML1) and the split."""
        return " ".join(part for part in (self.benchmark, self.env_name, self.split) if part)

    def _env_for(self, name: str) -> Any:
        env = self._envs.get(name)
        if env is None:
            render = {"render_mode": "rgb_array", "width": FRAME_WIDTH, "height": FRAME_HEIGHT} if self.render_frames else {}
            env = self.env_classes[name](**render)
            self._envs[name] = env
        return env

    def sample_task(self, rng: np.random.Generator) -> int:
        return int(rng.integers(len(self.tasks)))

    def check_task(self, task: Any) -> int:
        """``task`` (an index into :attr:`tasks`) as an int, or ``ValueError`` naming it."""
        n = len(self.tasks)
        return check_int_range("task", task, 0, n - 1, f"an index into the {n} tasks of {self.label}")

    def set_task(self, task: Any) -> None:
        index = self.check_task(task)
        mw_task = self.tasks[index]
        env = self._env_for(mw_task.env_name)
        env.set_task(mw_task)
        self._env, self.task = env, index

    @property
    def current_env_name(self) -> str:
        """The Meta-World env of the current task (the same for every task of ML1)."""
        return str(self.tasks[self.task].env_name)

    def describe_task(self) -> str:
        done = "yes" if self.succeeded else "no"
        return (
            f"{self.current_env_name} task {self.task}/{len(self.tasks)} ({self.benchmark} {self.split}), "
            f"step {self.t}/{self.episode_length}, success {done}"
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._env.np_random = self.np_random  # whatever Meta-World draws comes from the trial's generator
        obs, info = self._env.reset()
        self.t = 0
        self.succeeded = False
        return obs, dict(info)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        action = np.clip(np.asarray(action, dtype=np.float32).reshape(-1), self._action_low, self._action_high)
        obs, reward, terminated, _, info = self._env.step(action)
        self.t += 1
        self.succeeded = self.succeeded or bool(info.get("success", False))
        return obs, float(reward), bool(terminated), self.t >= self.episode_length, dict(info)

    def render_frame(self, steps: Sequence[TrialStep]) -> np.ndarray:
        """Meta-World's MuJoCo picture (340 x 340) above a two-line caption, shape ``(365, 340, 3)``."""
        picture = render_picture(self._env)
        done = "YES" if self.succeeded else "NO"
        caption = rendering.text_panel(
            [
                f"{self.current_env_name} TASK {self.task}/{len(self.tasks)} ({self.benchmark} {self.split})",
                f"EPISODE STEP {self.t}/{self.episode_length}  SUCCESS {done}",
            ],
            FRAME_WIDTH,
            scale=1,
            foreground=rendering.FOREGROUND,
            background=rendering.BACKGROUND,
        )
        return np.concatenate([np.asarray(picture, dtype=np.uint8).reshape(FRAME_HEIGHT, FRAME_WIDTH, 3), caption])

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs.clear()


@trial_entry_point
@strict_kwargs
def make_env(
    benchmark: str = "ML1",
    env_name: str | None = None,
    split: str = "train",
    benchmark_seed: int = 0,
    episode_length: int = MAX_PATH_LENGTH,
    episodes_per_trial: int | None = None,
    steps_per_trial: int | None = None,
    render_mode: str | None = None,
) -> TrialEnv:
    """Entry point of ``RL2MetaWorld-v0`` (see the module docstring)."""
    episodes_per_trial, steps_per_trial = default_trial_length(episodes_per_trial, steps_per_trial, DEFAULT_EPISODES_PER_TRIAL)
    # the trial's own arguments are checked before the benchmark is built (seconds), as the family's are
    check_trial_steps(episodes_per_trial, steps_per_trial, check_episode_length(episode_length))
    modes = list(dict.fromkeys([*TrialEnv.metadata["render_modes"], *MetaWorldTasks.metadata["render_modes"]]))
    check_render_mode(render_mode, modes)
    family = MetaWorldTasks(benchmark, env_name, split, benchmark_seed, episode_length, render=render_mode == "rgb_array")
    try:
        return TrialEnv(family, episodes_per_trial, steps_per_trial, render_mode)
    except BaseException:
        family.close()
        raise

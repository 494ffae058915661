"""Shared pytest set-up."""

from __future__ import annotations

import os

# MuJoCo frames without a screen (the mujoco and metaworld ids): OSMesa, set before anything imports mujoco
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

from collections.abc import Callable, Iterator
from types import ModuleType

import pytest


@pytest.fixture(autouse=True, scope="session")
def _sb3_logdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point SB3's default logger folder into pytest's temporary directory.

    ``learn()`` without a TensorBoard folder makes a fresh ``SB3-<date>`` folder in the system
    temporary directory on every call unless ``SB3_LOGDIR`` is set; the suite trains dozens of tiny
    models and would leave one folder per model behind.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3_logs")))
    yield
    mp.undo()


@pytest.fixture
def family_with_spaces():
    """A factory of minimal task families with the given inner spaces (for the trial wrappers' space checks)."""
    import gymnasium as gym

    def make(observation_space: gym.Space, action_space: gym.Space) -> gym.Env:
        class Family(gym.Env):
            def sample_task(self, rng):
                return 0

            def set_task(self, task):
                pass

            def reset(self, *, seed=None, options=None):
                return observation_space.sample(), {}

            def step(self, action):
                return observation_space.sample(), 0.0, True, False, {}

        family = Family()
        family.observation_space, family.action_space = observation_space, action_space
        return family

    return make


@pytest.fixture
def refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[ModuleType, str, list[str]], str]:
    """``refused(module, work, argv)``: run ``module.main(argv)`` with its function ``work`` (the first that does
    work) made to fail; assert argparse's refusal (exit code 2, before any work); return what it printed on stderr."""

    def run(module: ModuleType, work: str, argv: list[str]) -> str:
        def no_work(*args: object, **kwargs: object) -> None:
            raise AssertionError(f"{module.__name__} started working before refusing {argv}")

        monkeypatch.setattr(module, work, no_work)
        with pytest.raises(SystemExit) as exit_info:
            module.main(argv)
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "error: " in err
        return err

    return run

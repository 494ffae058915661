"""Vectorised environments for SB3: the numpy-batched trial envs behind SB3's ``VecEnv`` API.

:class:`GymVectorToSB3` adapts any gymnasium ``VectorEnv`` with same-step autoreset (such as
:class:`meta_envs.BatchedTrialEnv`) to Stable-Baselines3. :func:`make_vec_env` builds the fastest
available vector env for an id: the batched one when the id has a vector entry point, else a
``DummyVecEnv`` of single envs.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector.vector_env import AutoresetMode
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.validation import check_positive_int

__all__ = ["GymVectorToSB3", "make_vec_env", "has_batched_impl"]


class GymVectorToSB3(VecEnv):
    """SB3 ``VecEnv`` over a gymnasium ``VectorEnv`` with ``AutoresetMode.SAME_STEP``.

    On a trial end, ``infos[i]["terminal_observation"]`` holds the last observation of the
    finished trial and ``infos[i]["trial_returns"]`` its per-episode returns (SB3 conventions).

    :param venv: the gymnasium vector env.
    """

    def __init__(self, venv: gym.vector.VectorEnv) -> None:
        mode = venv.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(f"venv must use AutoresetMode.SAME_STEP autoreset, got {mode!r}")
        self.venv = venv
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None
        self._empty_infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]

    def reset(self) -> VecEnvObs:
        seeds = self._seeds if any(s is not None for s in self._seeds) else None
        if any(o != self._options[0] for o in self._options):
            raise ValueError(
                "set_options: the batched env takes ONE options dict for the whole vector, got different ones per env; "
                "give one task per env with set_options({'tasks': [...]}) instead"
            )
        options = self._options[0] if self._options and self._options[0] else None
        # gymnasium's vector envs take a list of seeds (one per env) too; VectorEnv.reset's annotation says int
        obs, _ = self.venv.reset(seed=seeds, options=options)  # type: ignore[arg-type]
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        obs, rewards, terminated, truncated, infos = self.venv.step(self._actions)
        dones = terminated | truncated
        out = [{} for _ in range(self.num_envs)] if dones.any() else self._empty_infos
        if dones.any():
            for i in np.flatnonzero(dones):
                out[i] = {
                    "terminal_observation": infos["final_obs"][i],
                    "trial_returns": infos["trial_returns"][i],
                    "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                }
        else:
            for d in out:  # keep the shared empty dicts empty if a caller wrote into them
                d.clear()
        return obs, rewards.astype(np.float32), dones, out

    def close(self) -> None:
        self.venv.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def _whole_vector(self, indices: VecEnvIndices, what: str) -> None:
        """Refuse ``indices`` that name only some envs: the batched env's attributes and methods are the vector's."""
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"{what} applies to the whole batched vector of {self.num_envs} envs: indices must be None or all of "
                f"them, got {indices!r}"
            )

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        self._whole_vector(indices, f"set_attr({attr_name!r})")
        setattr(self.venv, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        self._whole_vector(indices, f"env_method({method_name!r})")
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def has_batched_impl(env_id: str) -> bool:
    """Whether ``env_id`` has a numpy-batched (vector entry point) implementation."""
    return gym.spec(env_id).vector_entry_point is not None


def make_vec_env(
    env_id: str,
    n_envs: int,
    env_kwargs: dict[str, Any] | None = None,
    seed: int | None = None,
    batched: bool | None = None,
    monitor: bool = True,
) -> VecEnv:
    """Vector env for SB3: batched numpy implementation when available (``batched=None``), else DummyVecEnv.

    :param env_id: a registered id, e.g. ``"RL2Bandit-v0"``.
    :param n_envs: number of parallel trials.
    :param env_kwargs: kwargs of the id (validated by the env).
    :param seed: seed of the first reset (env ``i`` gets ``seed + i``).
    :param batched: force (True) or forbid (False) the batched implementation.
    :param monitor: wrap in SB3's monitor so that one trial is logged as one episode.
    """
    n_envs = check_positive_int("n_envs", n_envs)
    if ":" in env_id:  # "meta_envs:RL2Bandit-v0" (the form for worker processes): import the module, use the id
        module, env_id = env_id.split(":", 1)
        importlib.import_module(module)
    env_kwargs = dict(env_kwargs or {})
    use_batched = has_batched_impl(env_id) if batched is None else batched
    if use_batched:
        if not has_batched_impl(env_id):
            raise ValueError(f"{env_id} has no batched implementation; use batched=False")
        venv: VecEnv = GymVectorToSB3(
            gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point", **env_kwargs)
        )
        if monitor:
            venv = VecMonitor(venv)
    else:
        wrap = Monitor if monitor else (lambda e: e)
        venv = DummyVecEnv([lambda: wrap(gym.make(env_id, **env_kwargs)) for _ in range(n_envs)])
    if seed is not None:
        venv.seed(seed)
    return venv

"""Every env id of the package is registered here, and only here.

Each id has a single-env entry point (``gym.make``) returning a :class:`~meta_envs.trial.TrialEnv`
and, where a numpy-batched implementation exists, a vector entry point
(``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")``). Every single-env entry
point renders ``"ansi"`` and ``"rgb_array"`` and says so in its ``metadata``
(:func:`~meta_envs.trial.trial_entry_point`), which ``gym.make`` reads; the vector entry points
do not render (:func:`~meta_envs.batched.refuse_render_mode`).
"""

from __future__ import annotations

import inspect
from typing import Any

import gymnasium as gym

# id -> (entry point, vector entry point or None)
ENV_IDS: dict[str, tuple[str, str | None]] = {
    "RL2Bandit-v0": ("meta_envs.bandit:make_env", "meta_envs.bandit:make_vector_env"),
    "RL2TabularMDP-v0": ("meta_envs.tabular_mdp:make_env", "meta_envs.tabular_mdp:make_vector_env"),
    "RL2GridNav-v0": ("meta_envs.navigation.grid_nav:make_env", None),
    "RL2Maze-v0": ("meta_envs.navigation.first_person:make_env", None),
    "RL2PointNav-v0": ("meta_envs.navigation.point_nav:make_env", None),
    "RL2GridWorld-v0": ("meta_envs.gridworld:make_env", None),
    "RL3Bandit-v0": ("meta_envs.value_augment:make_rl3_bandit_env", "meta_envs.value_augment:make_rl3_bandit_vector_env"),
    "RL3TabularMDP-v0": (
        "meta_envs.value_augment:make_rl3_tabular_mdp_env",
        "meta_envs.value_augment:make_rl3_tabular_mdp_vector_env",
    ),
    "RL3GridWorld-v0": ("meta_envs.gridworld:make_rl3_env", None),
    "RL2HalfCheetahVel-v0": ("meta_envs.mujoco.half_cheetah:make_vel_env", None),
    "RL2HalfCheetahDir-v0": ("meta_envs.mujoco.half_cheetah:make_dir_env", None),
    "RL2AntDir-v0": ("meta_envs.mujoco.ant:make_dir_env", None),
    "RL2AntGoal-v0": ("meta_envs.mujoco.ant:make_goal_env", None),
    "RL2MetaWorld-v0": ("meta_envs.metaworld:make_env", None),
}

#: id -> the optional extra of the ``rl2`` distribution it needs (``pip install "rl2[<extra>]"``); the entry
#: points import it only when such an id is made, so ``import meta_envs`` stays numpy + gymnasium.
EXTRA_IDS: dict[str, str] = {
    "RL2HalfCheetahVel-v0": "mujoco",
    "RL2HalfCheetahDir-v0": "mujoco",
    "RL2AntDir-v0": "mujoco",
    "RL2AntGoal-v0": "mujoco",
    "RL2MetaWorld-v0": "metaworld",
}


def register_all() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, (entry_point, vector_entry_point) in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        # No passive env checker (the tests run gymnasium's check_env on every id): after a first reset that
        # the env refuses (a bad task or seed), gymnasium's checker fails the next step with a TypeError of its
        # own. gym.make(id, disable_env_checker=False) still adds it.
        gym.register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point, disable_env_checker=True)


def effective_kwargs(env_id: str, env_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every keyword argument of ``gym.make(env_id, **env_kwargs)`` as the env is built with it.

    The given kwargs, the entry point's defaults for the others, and the trial length as resolved
    (``episodes_per_trial`` filled in with its default unless ``steps_per_trial`` is given). A
    ``steps_per_trial`` that is a whole number of a family's fixed-length episodes is that number of
    ``episodes_per_trial``: the two trials are the same. Two kwargs dicts give the same env iff their
    effective kwargs are equal, e.g. ``{}`` and ``{"num_arms": 5, "episodes_per_trial": 10}`` for
    ``RL2Bandit-v0``, or ``{"steps_per_trial": 100}`` and ``{"episodes_per_trial": 10}`` for
    ``RL2TabularMDP-v0`` (episodes of 10 steps).
    """
    spec = gym.spec(env_id)
    entry = spec.entry_point
    if isinstance(entry, str):
        module, name = entry.split(":")
        entry = getattr(__import__(module, fromlist=[name]), name)
    assert entry is not None, f"{env_id} is registered without an entry point"
    params = inspect.signature(entry).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    given = {**spec.kwargs, **(env_kwargs or {})}
    env = gym.make(env_id, **given)
    try:
        trial_env = env.unwrapped
        lengths = {k: getattr(trial_env, k) for k in ("episodes_per_trial", "steps_per_trial") if hasattr(trial_env, k)}
        episode_length = getattr(getattr(trial_env, "family", None), "episode_length", None)
        steps = lengths.get("steps_per_trial")
        if isinstance(episode_length, int) and steps is not None and steps % episode_length == 0:
            lengths = {"episodes_per_trial": steps // episode_length, "steps_per_trial": None}
    finally:
        env.close()
    return {**defaults, **given, **lengths}

"""Every env id of the package is registered here, and only here.

Each id has a single-env entry point (``gym.make``) returning a :class:`~meta_envs.trial.TrialEnv`
and, where a numpy-batched implementation exists, a vector entry point
(``gym.make_vec(id, num_envs, vectorization_mode="vector_entry_point")``).
"""

from __future__ import annotations

import gymnasium as gym

# id -> (entry point, vector entry point or None)
ENV_IDS: dict[str, tuple[str, str | None]] = {
    "RL2Bandit-v0": ("meta_envs.bandit:make_env", "meta_envs.bandit:make_vector_env"),
    "RL2TabularMDP-v0": ("meta_envs.tabular_mdp:make_env", "meta_envs.tabular_mdp:make_vector_env"),
    "RL2GridNav-v0": ("meta_envs.navigation.grid_nav:make_env", None),
    "RL2Maze-v0": ("meta_envs.navigation.first_person:make_env", None),
    "RL2PointNav-v0": ("meta_envs.navigation.point_nav:make_env", None),
    "RL2GridWorld-v0": ("meta_envs.gridworld:make_env", None),
    "RL3Bandit-v0": ("meta_envs.value_augment:make_rl3_bandit_env", None),
    "RL3TabularMDP-v0": ("meta_envs.value_augment:make_rl3_tabular_mdp_env", None),
    "RL3GridWorld-v0": ("meta_envs.gridworld:make_rl3_env", None),
}


def register_all() -> None:
    """Register every id in :data:`ENV_IDS` (idempotent)."""
    for env_id, (entry_point, vector_entry_point) in ENV_IDS.items():
        if env_id in gym.registry:
            continue
        gym.register(id=env_id, entry_point=entry_point, vector_entry_point=vector_entry_point, disable_env_checker=False)

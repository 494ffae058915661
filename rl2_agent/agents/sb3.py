"""A trained (Recurrent)PPO model as a :class:`~rl2_agent.evaluation.agent.TrialAgent`.

Only numpy and gymnasium are imported here: the model brings torch with it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import meta_envs  # noqa: F401  (registers the ids)

__all__ = ["SB3RecurrentAgent", "check_observation_space"]


class SB3RecurrentAgent:
    """A trained (Recurrent)PPO model as a :class:`~rl2_agent.evaluation.agent.TrialAgent`.

    The recurrent state is reset only at trial starts. ``deterministic=False`` samples actions
    from the policy, which is what RL^2 is (the paper's scores are stochastic-policy scores).
    """

    def __init__(self, model: Any, deterministic: bool = False) -> None:
        self.model = model
        self.deterministic = deterministic
        self._state: Any = None

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray:
        if trial_start.all():
            self._state = None
        actions, self._state = self.model.predict(obs, self._state, trial_start, deterministic=self.deterministic)
        return actions


def _channels_first(space: gym.Space) -> gym.Space:
    """``space`` with channel-last images transposed, as SB3's ``VecTransposeImage`` stores them in a model."""
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
    from stable_baselines3.common.vec_env import VecTransposeImage

    if isinstance(space, spaces.Dict):
        return spaces.Dict({key: _channels_first(sub) for key, sub in space.spaces.items()})
    if isinstance(space, spaces.Box) and is_image_space(space) and not is_image_space_channels_first(space):
        return VecTransposeImage.transpose_space(space)
    return space


def check_observation_space(model: Any, env_id: str, env_kwargs: dict[str, Any]) -> None:
    """Raise ``ValueError`` if the model was trained on a different observation shape.

    Image observations (``RL2Maze-v0``) are also compared channels-first: SB3 transposes them
    for training, and ``predict`` transposes channel-last batches back.
    """
    space = gym.make(env_id, **env_kwargs).observation_space
    if space != model.observation_space and _channels_first(space) != model.observation_space:
        raise ValueError(
            f"the model expects observations {model.observation_space} but {env_id} with env_kwargs={env_kwargs} "
            f"gives {space}: evaluate on the env_kwargs it was trained with (e.g. the same num_arms)"
        )

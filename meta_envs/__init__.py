"""meta_envs: RL^2 trial-level meta-RL environments for gymnasium (numpy only).

``import meta_envs`` registers every env id (see :mod:`meta_envs.registration`)::

    import gymnasium as gym
    import meta_envs

    env = gym.make("RL2Bandit-v0", num_arms=5, episodes_per_trial=10)
    layout = env.get_wrapper_attr("obs_layout")

Every id renders ``rgb_array`` frames (``gym.make(id, render_mode="rgb_array")``); :func:`film_trial`
writes a video of one trial (with moviepy installed).
"""

from meta_envs.batched import BatchedTaskFamily, BatchedTrialEnv
from meta_envs.layout import ObsLayout
from meta_envs.registration import ENV_IDS, EXTRA_IDS, register_all
from meta_envs.trial import TaskFamily, TrialEnv, TrialStep
from meta_envs.video import film_trial, trial_frames

__version__ = "0.1.0"

register_all()

__all__ = [
    "ENV_IDS",
    "EXTRA_IDS",
    "BatchedTaskFamily",
    "BatchedTrialEnv",
    "ObsLayout",
    "TaskFamily",
    "TrialEnv",
    "TrialStep",
    "__version__",
    "film_trial",
    "trial_frames",
]

"""MuJoCo locomotion task families (the optional ``mujoco`` extra: ``pip install "rl2[mujoco]"``).

The meta-RL literature's locomotion benchmarks (MAML, PEARL, VariBAD, garage) on gymnasium's
MuJoCo robots, each a task family for :class:`~meta_envs.trial.TrialEnv`:

====================== ===================================== ===================================
id                     task                                  module
====================== ===================================== ===================================
RL2HalfCheetahVel-v0   a target forward velocity, U[0, 3]    :mod:`meta_envs.mujoco.half_cheetah`
RL2HalfCheetahDir-v0   run forward or backward               :mod:`meta_envs.mujoco.half_cheetah`
RL2AntDir-v0           run forward or backward (or any angle) :mod:`meta_envs.mujoco.ant`
RL2AntGoal-v0          reach a goal in the disc of radius 3  :mod:`meta_envs.mujoco.ant`
====================== ===================================== ===================================

Nothing here is imported by ``import meta_envs``: ``gym.make`` imports a family's module, and the
module imports MuJoCo only when a family is built (:func:`meta_envs.mujoco.locomotion.require_mujoco`),
so that the rest of the package works without the extra.
"""

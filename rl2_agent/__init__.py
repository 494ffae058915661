"""rl2_agent: RL^2 on Stable-Baselines3 (torch + stable-baselines3 + sb3-contrib).

Public paths: :class:`rl2_agent.policies.RL2GRUPolicy`, :func:`rl2_agent.envs.make_vec_env`,
:func:`rl2_agent.buffers.use_fast_rollout_buffer`, and the ``rl2`` command (:mod:`rl2_agent.cli`).
The subpackages are layers (evaluation, agents, training, reporting, experiments; docs/architecture.md).
This module imports nothing.
"""

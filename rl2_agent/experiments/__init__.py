"""Experiments: the papers' tables and figures, and the comparisons that reproduce them.

Each module is a command: ``rl2 evaluate``, ``rl2 table``, ``rl2 tune``, ``rl2 demo``, ``rl2 scaling``,
and ``python -m rl2_agent.experiments.rl3_vs_rl2`` / ``python -m rl2_agent.experiments.gridworld_reference``.
The papers' reported numbers are in :mod:`rl2_agent.experiments.paper`, the one copy in code.
"""

"""Tuned parameters of the classical baselines: the ONE table the defaults come from.

Filled from ``python -m rl2_agent tune`` (grid search on tuning tasks, seeds
:data:`rl2_agent.baselines.tune.TUNE_SEED` onwards, disjoint from the held-out evaluation seeds),
which prints this dict. Keys: family -> agent -> cell -> parameters, cells written as in the
tables (``"n,k"`` for bandits, ``"n"`` for MDPs). A cell missing here falls back to the agent's
own default; ``make_agent(..., **params)`` overrides both.
"""

from __future__ import annotations

from typing import Any

TUNED: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    "bandit": {},
    "mdp": {},
}


def tuned_params(family: str, agent: str, cell: str) -> dict[str, Any]:
    """Tuned parameters of ``agent`` for ``cell`` (empty if not tuned)."""
    return dict(TUNED.get(family, {}).get(agent, {}).get(cell, {}))

"""Tuned parameters of the classical baselines: the ONE table the defaults come from.

Filled from ``python -m rl2_agent tune`` (grid search on the validation tasks, seeds
:data:`rl2_agent.evaluation.seeds.VALIDATION_SEED` onwards, disjoint from the held-out test seeds),
which prints this dict. Keys: family -> agent -> cell -> parameters, cells written as in the
tables (``"n,k"`` for bandits, ``"n"`` for MDPs). A cell missing here falls back to the agent's
own default; ``make_agent(..., **params)`` overrides both.
"""

from __future__ import annotations

from typing import Any

TUNED: dict[str, dict[str, dict[str, dict[str, Any]]]] = {
    # python -m rl2_agent tune --family bandit --cells "10,5 10,10 10,50" --trials 4000
    # python -m rl2_agent tune --family bandit --cells "100,5 100,10 100,50" --trials 2000
    # python -m rl2_agent tune --family bandit --cells "500,5 500,10 500,50" --trials 1000
    "bandit": {
        "eps_greedy": {
            "10,5": {"epsilon": 0.0},
            "10,10": {"epsilon": 0.0},
            "10,50": {"epsilon": 0.0},
            "100,5": {"epsilon": 0.0},
            "100,10": {"epsilon": 0.0},
            "100,50": {"epsilon": 0.02},
            "500,5": {"epsilon": 0.02},
            "500,10": {"epsilon": 0.05},
            "500,50": {"epsilon": 0.05},
        },
        "ucb1": {
            "10,5": {"c": 0.1},
            "10,10": {"c": 0.15},
            "10,50": {"c": 0.0},
            "100,5": {"c": 0.2},
            "100,10": {"c": 0.2},
            "100,50": {"c": 0.2},
            "500,5": {"c": 0.2},
            "500,10": {"c": 0.2},
            "500,50": {"c": 0.2},
        },
        "ots": {
            "10,5": {"samples": 20},
            "10,10": {"samples": 10},
            "10,50": {"samples": 5},
            "100,5": {"samples": 1},
            "100,10": {"samples": 1},
            "100,50": {"samples": 50},
            "500,5": {"samples": 1},
            "500,10": {"samples": 1},
            "500,50": {"samples": 3},
        },
    },
    # for n in 10 25 50 75 100: python -m rl2_agent tune --family mdp --cells "$n" --trials 1000
    # (ucrl2 and beb re-tuned on the 33-value scale grid: --agents ucrl2,beb)
    "mdp": {
        "eps_greedy": {
            "10": {"epsilon": 0.0},
            "25": {"epsilon": 0.1},
            "50": {"epsilon": 0.15},
            "75": {"epsilon": 0.15},
            "100": {"epsilon": 0.1},
        },
        "opsrl": {
            "10": {"samples": 20},
            "25": {"samples": 20},
            "50": {"samples": 20},
            "75": {"samples": 20},
            "100": {"samples": 20},
        },
        "ucrl2": {
            "10": {"scale": 0.316},
            "25": {"scale": 0.316},
            "50": {"scale": 0.316},
            "75": {"scale": 0.316},
            "100": {"scale": 0.316},
        },
        "beb": {
            "10": {"scale": 0.178},
            "25": {"scale": 0.133},
            "50": {"scale": 0.133},
            "75": {"scale": 0.133},
            "100": {"scale": 0.133},
        },
    },
}


def tuned_params(family: str, agent: str, cell: str) -> dict[str, Any]:
    """Tuned parameters of ``agent`` for ``cell`` (empty if not tuned)."""
    return dict(TUNED.get(family, {}).get(agent, {}).get(cell, {}))

"""The papers' reported numbers: the one copy in code.

* :data:`PAPER`: the RL^2 paper (Duan et al. 2016), Tables 1 and 2 (bandits, tabular MDPs);
* :data:`PAPER_SCALING`: the RL^2 paper's navigation scaling experiment (section 3.3), keyed by
  maze size (see :mod:`rl2_agent.experiments.scaling`);
* :data:`RL3_PAPER`: the RL^3 paper's RL^2-vs-RL^3 results (Bhatia, Nashed, Zilberstein, arXiv
  2306.15909 v4), keyed by the experiment names of :mod:`rl2_agent.experiments.rl3_vs_rl2`.

:data:`PAPER` holds the mean total reward per trial over 1000 trials, copied from the paper's tables.
Keys: family -> cell -> agent name (the registry names of :mod:`rl2_agent.agents.baselines`, plus
``"rl2"``). Cells are written as in the tables: ``"n,k"`` (episodes, arms) for bandits, ``"n"``
(episodes) for MDPs.
"""

from __future__ import annotations

__all__ = ["PAPER", "PAPER_SCALING", "RL3_PAPER", "paper_value"]

_BANDIT_COLUMNS = ("random", "gittins", "thompson", "ots", "ucb1", "eps_greedy", "greedy", "rl2")
_BANDIT_ROWS = {
    "10,5": (5.0, 6.6, 5.7, 6.5, 6.7, 6.6, 6.6, 6.7),
    "10,10": (5.0, 6.6, 5.5, 6.2, 6.7, 6.6, 6.6, 6.7),
    "10,50": (5.1, 6.5, 5.2, 5.5, 6.6, 6.5, 6.5, 6.8),
    "100,5": (49.9, 78.3, 74.7, 77.9, 78.0, 75.4, 74.8, 78.7),
    "100,10": (49.9, 82.8, 76.7, 81.4, 82.4, 77.4, 77.1, 83.5),
    "100,50": (49.8, 85.2, 64.5, 67.7, 84.3, 78.3, 78.0, 84.9),
    "500,5": (249.8, 405.8, 402.0, 406.7, 405.8, 388.2, 380.6, 401.6),
    "500,10": (249.0, 437.8, 429.5, 438.9, 437.1, 408.0, 395.0, 432.5),
    "500,50": (249.6, 463.7, 427.2, 437.6, 457.6, 413.6, 402.8, 438.9),
}

_MDP_COLUMNS = ("random", "psrl", "opsrl", "ucrl2", "beb", "eps_greedy", "greedy", "rl2")
_MDP_ROWS = {
    "10": (100.1, 138.1, 144.1, 146.6, 150.2, 132.8, 134.8, 156.2),
    "25": (250.2, 408.8, 425.2, 424.1, 427.8, 377.3, 368.8, 445.7),
    "50": (499.7, 904.4, 930.7, 918.9, 917.8, 823.3, 769.3, 936.1),
    "75": (749.9, 1417.1, 1449.2, 1427.6, 1422.6, 1293.9, 1172.9, 1428.8),
    "100": (999.4, 1939.5, 1973.9, 1942.1, 1935.1, 1778.2, 1578.5, 1913.7),
}

PAPER: dict[str, dict[str, dict[str, float]]] = {
    "bandit": {cell: dict(zip(_BANDIT_COLUMNS, row)) for cell, row in _BANDIT_ROWS.items()},
    "mdp": {cell: dict(zip(_MDP_COLUMNS, row)) for cell, row in _MDP_ROWS.items()},
}
"""family -> cell -> agent -> the paper's mean total reward."""


def paper_value(family: str, cell: str, agent: str) -> float | None:
    """The paper's number for ``agent`` in ``cell`` (None if the paper has none)."""
    return PAPER.get(family, {}).get(cell, {}).get(agent)


RL3_PAPER: dict[str, dict[str, tuple[float, float]]] = {
    "bandit_h100": {"rl2": (76.9, 0.6), "rl3": (77.5, 0.5)},
    "bandit_h500": {"rl2": (392.1, 2.5), "rl3": (393.2, 2.7)},
    "bandit_h500_ood": {"rl2": (430.2, 2.8), "rl3": (434.9, 2.8)},
    "mdp_h100": {"rl2": (159.5, 0.8), "rl3": (158.9, 0.8)},
    "mdp_h500": {"rl2": (927.8, 3.7), "rl3": (926.9, 3.7)},
    "mdp_h500_ood": {"rl2": (772.8, 1.7), "rl3": (775.9, 1.7)},
    "mdp_h1000_from_500": {"rl2": (1871.8, 7.4), "rl3": (1916.8, 7.4)},
    "grid11": {"rl2": (524.0, 22.0), "rl3": (630.0, 22.0)},
    "grid13": {"rl2": (584.0, 28.0), "rl3": (902.0, 27.0)},
    "grid13_dense": {"rl2": (384.0, 26.0), "rl3": (691.0, 28.0)},
    "grid13_deterministic": {"rl2": (960.0, 38.0), "rl3": (1574.0, 35.0)},
    "grid13_watery": {"rl2": (513.0, 26.0), "rl3": (826.0, 27.0)},
    "grid13_dangerous": {"rl2": (283.0, 28.0), "rl3": (647.0, 30.0)},
    "grid13_corner": {"rl2": (319.0, 23.0), "rl3": (508.0, 23.0)},
}
"""experiment -> ``"rl2"`` / ``"rl3"`` -> the RL^3 paper's (mean, standard error) of the total reward
per trial over 1000 held-out tasks, GREEDY actor, copied from the RL^3 paper's results. Bandits: k = 5 arms, p ~ U(0, 1), H pulls per trial (OOD: p ~ N(0.5, 0.5)
clipped). MDPs: 10 states, 5 actions, episodes of 10 steps, H steps per trial (OOD: deterministic
rewards R ~ U(0, 2); ``mdp_h1000_from_500``: the H = 500 models run for H = 1000). Gridworlds:
11x11 with H = 250, 13x13 with H = 350 and its OOD variants (models trained on the standard
13x13)."""


PAPER_SCALING: dict[str, dict[str, float]] = {
    "small": {
        "mean_success_length_ep1": 52.4,
        "mean_success_length_ep2": 39.1,
        "success_rate_ep1": 0.993,
        "success_rate_ep2": 0.996,
        "frac_ep2_not_longer": 0.917,
    },
    "large": {
        "mean_success_length_ep1": 180.1,
        "mean_success_length_ep2": 151.8,
        "success_rate_ep1": 0.971,
        "success_rate_ep2": 0.967,
        "frac_ep2_not_longer": 0.714,
    },
}
"""maze size -> the RL^2 paper's scaling-experiment figures (ViZDoom, section 3.3), approximate.
Its lengths are ViZDoom steps, not grid steps: compare success rates, fractions and the ep 2 / ep 1
length ratio, not lengths."""

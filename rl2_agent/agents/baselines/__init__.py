"""Classical baselines of the RL^2 paper's tables (numpy/scipy only; importing this never imports torch).

Bandits (RL^2 Table 1): random, greedy, eps_greedy, ucb1, thompson, ots, gittins.
Tabular MDPs (RL^2 Table 2): random, greedy, eps_greedy, psrl, opsrl, ucrl2, beb.

    from rl2_agent.agents.baselines import TrialSpec, make_agent
    from rl2_agent.evaluation import run_trials

    spec = TrialSpec.from_env("RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 100})
    agent = make_agent("bandit", "ucb1", spec, seed=0)         # tuned default for the cell
    result = run_trials(agent, "RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 100}, 1000, seed=0)
    result.trial_returns.mean()
"""

from __future__ import annotations

from typing import Any

from rl2_agent.agents.baselines.bandit import OTS, UCB1, EpsGreedyBandit, GittinsAgent, GreedyBandit, ThompsonSampling
from rl2_agent.agents.baselines.base import Agent, RandomAgent, TrialObs, TrialSpec, argmax_random
from rl2_agent.agents.baselines.cells import Cell, parse_cells
from rl2_agent.agents.baselines.mdp import BEB, OPSRL, PSRL, UCRL2, EpsGreedyMDP, GreedyMDP
from rl2_agent.agents.baselines.tuned import tuned_params

__all__ = [
    "AGENTS",
    "Cell",
    "ENV_IDS",
    "FAMILIES",
    "Agent",
    "TrialObs",
    "TrialSpec",
    "argmax_random",
    "agent_class",
    "make_agent",
    "parse_agents",
    "parse_cells",
]

AGENTS: dict[str, dict[str, type[Agent]]] = {
    "bandit": {
        cls.name: cls for cls in (RandomAgent, GreedyBandit, EpsGreedyBandit, UCB1, ThompsonSampling, OTS, GittinsAgent)
    },
    "mdp": {cls.name: cls for cls in (RandomAgent, GreedyMDP, EpsGreedyMDP, PSRL, OPSRL, UCRL2, BEB)},
}
"""family -> registry name -> agent class (in the paper's column order of the family)."""

FAMILIES = tuple(AGENTS)

ENV_IDS = {"bandit": "RL2Bandit-v0", "mdp": "RL2TabularMDP-v0"}
"""The env id of each family."""


def agent_class(family: str, name: str) -> type[Agent]:
    """The class registered as ``name`` for ``family``; ``ValueError`` listing the names otherwise."""
    if family not in AGENTS:
        raise ValueError(f"unknown family {family!r}; known families: {list(AGENTS)}")
    if name not in AGENTS[family]:
        raise ValueError(f"unknown {family} agent {name!r}; known {family} agents: {list(AGENTS[family])}")
    return AGENTS[family][name]


def make_agent(family: str, name: str, spec: TrialSpec, seed: int | None = None, **params: Any) -> Agent:
    """Build agent ``name`` of ``family`` with the tuned parameters of the spec's cell.

    ``params`` override the tuned values (see :mod:`rl2_agent.agents.baselines.tuned`).
    """
    cls = agent_class(family, name)
    cell = Cell(family, spec.episodes_per_trial, spec.num_actions if family == "bandit" else None)
    return cls(spec, seed, **{**tuned_params(family, name, cell.key), **params})


def parse_agents(family: str, text: str | None) -> list[str]:
    """Comma-separated agent names (all of the family when empty); ``ValueError`` naming the known ones."""
    names = [t.strip() for t in text.split(",") if t.strip()] if text else list(AGENTS[family])
    for name in names:
        agent_class(family, name)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate agent names in {text!r}")
    return names

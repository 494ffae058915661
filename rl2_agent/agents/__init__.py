"""Agents, all behind the one interface :class:`~rl2_agent.evaluation.agent.TrialAgent`.

* :mod:`~rl2_agent.agents.sb3`: a trained (Recurrent)PPO model (:class:`SB3RecurrentAgent`);
* :mod:`~rl2_agent.agents.scripted`: uniformly random actions, the maze shortest-path oracle;
* :mod:`~rl2_agent.agents.baselines`: the classical agents of the RL^2 paper's tables and the
  reference policies of the RL^3 gridworlds (numpy / scipy).

Importing this package never imports torch.
"""

from rl2_agent.agents.sb3 import SB3RecurrentAgent, check_observation_space
from rl2_agent.agents.scripted import ShortestPathAgent, UniformRandomAgent

__all__ = ["SB3RecurrentAgent", "ShortestPathAgent", "UniformRandomAgent", "check_observation_space"]

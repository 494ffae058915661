"""The one agent interface: what :func:`~rl2_agent.evaluation.runner.run_trials` plays.

Every agent of the project implements it: the trained RL^2 model
(:class:`~rl2_agent.agents.sb3.SB3RecurrentAgent`), the random and scripted agents of
:mod:`rl2_agent.agents.scripted` and the classical baselines of :mod:`rl2_agent.agents.baselines`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

__all__ = ["TrialAgent"]


class TrialAgent(Protocol):
    """An agent that acts on a batch of trial observations (see ``meta_envs.trial``).

    ``act`` receives the batched observation ``(n, obs_dim)`` (or a dict of batches) and
    ``trial_start`` ``(n,)``, True where the observation is the first one of a trial (reset any
    per-trial memory there); it returns the actions ``(n, ...)``.
    """

    def act(self, obs: Any, trial_start: np.ndarray) -> np.ndarray: ...

"""Held-out evaluation: the one trial runner, the one agent interface, the task seeds.

* :mod:`~rl2_agent.evaluation.agent`: :class:`TrialAgent`, what every agent implements;
* :mod:`~rl2_agent.evaluation.runner`: :func:`run_trials` and :class:`TrialResults`;
* :mod:`~rl2_agent.evaluation.seeds`: :data:`EVAL_SEED` (test tasks), :data:`VALIDATION_SEED`
  (validation tasks), :func:`held_out_tasks`, :func:`check_held_out_args`;
* :mod:`~rl2_agent.evaluation.film`: :func:`film_trials`, videos of any agent on the held-out trials;
* :mod:`~rl2_agent.evaluation.success`: :func:`success_rates`, Meta-World's success rate of the trials
  of an env whose step info reports ``"success"``.

numpy + gymnasium only: importing it never imports torch.
"""

from rl2_agent.evaluation.agent import TrialAgent
from rl2_agent.evaluation.film import FilmedTrial, film_trials
from rl2_agent.evaluation.runner import TrialResults, format_results, make_eval_vector_env, run_trials
from rl2_agent.evaluation.seeds import EVAL_SEED, VALIDATION_SEED, check_held_out_args, held_out_tasks
from rl2_agent.evaluation.success import SuccessRates, reports_success, success_rates

__all__ = [
    "EVAL_SEED",
    "VALIDATION_SEED",
    "FilmedTrial",
    "SuccessRates",
    "TrialAgent",
    "TrialResults",
    "check_held_out_args",
    "film_trials",
    "format_results",
    "held_out_tasks",
    "make_eval_vector_env",
    "reports_success",
    "run_trials",
    "success_rates",
]

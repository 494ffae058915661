"""RL Baselines3 Zoo support.

* :mod:`~rl2_agent.zoo.config`: generates ``zoo_configs/ppo_lstm.yml`` from :mod:`rl2_agent.hyperparams`
  (``python -m rl2_agent.zoo.config``);
* :mod:`~rl2_agent.zoo.sampler`: the RL^2 hyperparameter sampler of the Zoo's ``-optimize``, installed by
  importing it (``--gym-packages meta_envs rl2_agent.zoo.sampler``).

This package imports neither: the generator needs pyyaml, the sampler optuna and rl_zoo3.
"""

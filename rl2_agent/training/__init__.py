"""Training RL^2: the configuration, the run folder, the callbacks and the training loop.

Import the modules themselves (``rl2_agent.training.loop``, ``rl2_agent.training.config``, ...):
this package imports nothing, so that importing one of them does not import torch through another.
"""

"""Reports of saved results: figures and learning curves.

* :mod:`~rl2_agent.reporting.figures`: every matplotlib figure;
* :mod:`~rl2_agent.reporting.curves`: learning curves of training runs (``rl2 curves``);
* :mod:`~rl2_agent.reporting.redraw`: figures redrawn from saved results (``rl2 plot``).
"""

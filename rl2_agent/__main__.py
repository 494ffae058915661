"""``python -m rl2_agent <command>``: the ``rl2`` command line of :mod:`rl2_agent.cli`."""

import sys

from rl2_agent.cli import cli

if __name__ == "__main__":
    sys.exit(cli())

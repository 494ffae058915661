"""The local workers of rl2_agent.training.distributed.launch each keep to their own share of the CPUs."""

from __future__ import annotations

import os

import pytest

from rl2_agent.training.distributed import _pin_to_own_cpus

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="CPU affinity is Linux's")


def test_each_worker_gets_its_own_share_of_the_cpus_and_more_workers_than_cpus_are_left_alone() -> None:
    allowed = os.sched_getaffinity(0)
    cpus = sorted(allowed)
    try:
        shares = []
        for rank in range(len(cpus)):
            os.sched_setaffinity(0, allowed)
            _pin_to_own_cpus(rank, len(cpus))
            shares.append(os.sched_getaffinity(0))
        assert shares == [{cpu} for cpu in cpus]
        if len(cpus) >= 2:  # two workers share the CPUs half and half, the second half for the second worker
            os.sched_setaffinity(0, allowed)
            _pin_to_own_cpus(1, 2)
            assert os.sched_getaffinity(0) == set(cpus[len(cpus) // 2 : 2 * (len(cpus) // 2)])
        os.sched_setaffinity(0, allowed)
        _pin_to_own_cpus(0, len(cpus) + 1)
        assert os.sched_getaffinity(0) == allowed
    finally:
        os.sched_setaffinity(0, allowed)

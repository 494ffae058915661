"""Shared pytest set-up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _sb3_logdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point SB3's default logger folder into pytest's temporary directory.

    ``learn()`` without a TensorBoard folder makes a fresh ``SB3-<date>`` folder in the system
    temporary directory on every call unless ``SB3_LOGDIR`` is set; the suite trains dozens of tiny
    models and would leave one folder per model behind.
    """
    mp = pytest.MonkeyPatch()
    mp.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3_logs")))
    yield
    mp.undo()

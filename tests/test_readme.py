"""Every ``python`` code block of the README runs as printed (training budgets cut to a few steps)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, tmp_path, monkeypatch):
    code = re.sub(r"\.learn\(\s*[\d_]+\s*\)", ".learn(64)", BLOCKS[index])  # the examples' budgets, cut to one rollout
    # ... of a few steps, with a small network: the example's wiring runs, not its training
    code = re.sub(r"RecurrentPPO\((\w+), (\w+),", r"RecurrentPPO(\1, \2, n_steps=4, batch_size=64, n_epochs=1,", code)
    code = code.replace("gru_hidden_size=256", "gru_hidden_size=16")
    monkeypatch.chdir(tmp_path)  # files the examples write land here
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "readme_example"})

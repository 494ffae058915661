"""Learning curves of runs (``rl2 curves``): reading eval_log.csv, the summary, the plot, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rl2_agent.cli import cli, main
from rl2_agent.reporting.curves import markdown_summary, summarize
from rl2_agent.training.run_folder import EVAL_LOG, read_eval_log


def write_log(folder: Path, rows: list[tuple[float, float, float, float]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["timesteps,seconds,mean,se"] + [",".join(str(v) for v in r) for r in rows]
    (folder / EVAL_LOG).write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def two_runs(tmp_path) -> tuple[Path, Path]:
    a = write_log(tmp_path / "a", [(1000, 60, 5.0, 0.1), (2000, 120, 6.7, 0.1), (3000, 180, 6.5, 0.1)])
    b = write_log(tmp_path / "b", [(1000, 30, 5.5, 0.2), (2000, 60, 6.0, 0.2)])
    return a, b


def test_read_eval_log_from_a_folder_or_the_file(two_runs):
    a, _ = two_runs
    log = read_eval_log(a)
    np.testing.assert_array_equal(log.timesteps, [1000, 2000, 3000])
    np.testing.assert_array_equal(log.mean, [5.0, 6.7, 6.5])
    np.testing.assert_array_equal(read_eval_log(a / EVAL_LOG).seconds, log.seconds)
    assert log.best == 1 and log.first_reaching(6.6) == 1 and log.first_reaching(7.0) is None


def test_summary_final_best_and_time_to_target(two_runs):
    logs = {"a": read_eval_log(two_runs[0]), "b": read_eval_log(two_runs[1])}
    rows = summarize(logs, target=6.6)
    assert rows[0]["final_mean"] == 6.5 and rows[0]["best_mean"] == 6.7 and rows[0]["best_steps"] == 2000
    assert rows[0]["target_steps"] == 2000 and rows[0]["target_minutes"] == pytest.approx(2.0)
    assert rows[1]["target_steps"] is None and rows[1]["minutes"] == pytest.approx(1.0)
    text = markdown_summary(rows, target=6.6)
    assert "| a | 0.00M | 3.0 | 6.50 ± 0.10 | 6.70 ± 0.10 (0.00M steps, 2.0 min) | 0.00M steps, 2.0 min |" in text
    assert text.splitlines()[-1].endswith("| not reached |")


def test_curves_cli_prints_the_table_and_writes_the_plot(two_runs, tmp_path, capsys):
    out = tmp_path / "c.png"
    assert (
        main(
            [
                "curves",
                str(two_runs[0]),
                str(two_runs[1]),
                "--labels",
                "A",
                "B",
                "--x",
                "minutes",
                "--target",
                "6.6",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "| A |" in printed and "| B |" in printed and "first >= 6.6 at" in printed
    assert out.stat().st_size > 10_000


def test_curves_errors(two_runs, tmp_path):
    with pytest.raises(FileNotFoundError, match="no evaluation log"):
        read_eval_log(tmp_path / "never_trained")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / EVAL_LOG).write_text("timesteps,mean\n1,2\n")
    with pytest.raises(ValueError, match=r"missing column\(s\) \['seconds', 'se'\]"):
        read_eval_log(tmp_path / "bad")
    write_log(tmp_path / "empty", [])
    with pytest.raises(ValueError, match="no evaluations"):
        read_eval_log(tmp_path / "empty")
    with pytest.raises(ValueError, match="--labels: got 1 label"):
        main(["curves", str(two_runs[0]), str(two_runs[1]), "--labels", "A", "--out", str(tmp_path / "x.png")])


def test_curves_refuses_runs_that_would_share_a_label(two_runs, tmp_path, capsys):
    a, b = two_runs
    out = tmp_path / "x.png"
    cases = [
        ([str(a), str(b), "--labels", "x", "x"], "--labels: 'x' given more than once"),
        ([str(a), str(a)], f"run {a} is given twice"),
        ([str(a), str(a) + "/", str(b)], f"{a} and {a}/ are the same run"),
        ([str(a), str(a / EVAL_LOG)], "are the same run"),
    ]
    for runs, message in cases:
        assert cli(["curves", *runs, "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.err.startswith("rl2 curves: error: ") and message in captured.err, captured.err
        assert "--labels" in captured.err and captured.out == ""
    assert not out.exists()
    # the same run twice is fine with distinct labels: two rows
    assert main(["curves", str(a), str(a), "--labels", "A1", "A2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| A1 |" in printed and "| A2 |" in printed
    # folders with the same name: the paths tell them apart
    c = write_log(tmp_path / "other" / "a", [(1000, 60, 4.0, 0.1)])
    assert main(["curves", str(a), str(c), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"| {a} |" in printed and f"| {c} |" in printed


def test_curves_creates_the_folder_of_out(two_runs, tmp_path):
    out = tmp_path / "new" / "dir" / "curves.png"
    assert main(["curves", str(two_runs[0]), "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000

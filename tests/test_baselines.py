"""Tests of the classical baselines (rl2_agent.agents.baselines), the Gittins tables and the table CLI."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from meta_envs.tabular_mdp import MDPTask
from rl2_agent.agents.baselines import AGENTS, TrialSpec, make_agent, parse_agents, parse_cells
from rl2_agent.agents.baselines import gittins as G
from rl2_agent.cli import main
from rl2_agent.evaluation import run_trials
from rl2_agent.experiments.paper import PAPER

BANDIT = "RL2Bandit-v0"
MDP = "RL2TabularMDP-v0"


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    """Every test caches Gittins tables in its own folder."""
    monkeypatch.setenv("RL2_CACHE_DIR", str(tmp_path / "cache"))


def _bandit_obs(spec: TrialSpec, n: int, arm: int | None = None, reward: float = 0.0) -> np.ndarray:
    obs = np.zeros((n, spec.obs_layout["done"].stop), np.float32)
    obs[:, spec.obs_layout["obs"].start] = 1.0
    if arm is not None:
        obs[:, spec.obs_layout["prev_action"].start + arm] = 1.0
        obs[:, spec.obs_layout["prev_reward"].start] = reward
        obs[:, spec.obs_layout["done"].start] = 1.0
    return obs


# --------------------------------------------------------------------------------------
# bandits
# --------------------------------------------------------------------------------------
def test_ucb1_ends_on_the_best_arm():
    kwargs = {"num_arms": 5, "episodes_per_trial": 300}
    spec = TrialSpec.from_env(BANDIT, kwargs)
    probs = np.array([0.2, 0.5, 0.85, 0.45, 0.6])
    agent = make_agent("bandit", "ucb1", spec, seed=0, c=0.5)
    result = run_trials(agent, BANDIT, kwargs, 40, seed=0, record=True, tasks=[probs] * 40)
    last = result.actions[-50:]
    assert np.mean(last == 2) > 0.9
    assert np.mean(np.bincount(last.ravel(), minlength=5).argmax() == 2)


def test_thompson_posterior_updates():
    spec = TrialSpec.from_env(BANDIT, {"num_arms": 3, "episodes_per_trial": 50})
    agent = make_agent("bandit", "thompson", spec, seed=1)
    agent.act(_bandit_obs(spec, 4), np.ones(4, bool))
    agent.act(_bandit_obs(spec, 4, arm=2, reward=1.0), np.zeros(4, bool))
    agent.act(_bandit_obs(spec, 4, arm=2, reward=0.0), np.zeros(4, bool))
    agent.act(_bandit_obs(spec, 4, arm=0, reward=1.0), np.zeros(4, bool))
    np.testing.assert_array_equal(agent.successes, [[1, 0, 1]] * 4)
    np.testing.assert_array_equal(agent.failures, [[0, 0, 1]] * 4)
    np.testing.assert_allclose(agent.posterior_mean[0], [2 / 3, 1 / 2, 1 / 2])
    # many wins on arm 1: its posterior dominates the draws
    for _ in range(30):
        actions = agent.act(_bandit_obs(spec, 4, arm=1, reward=1.0), np.zeros(4, bool))
    draws = np.stack([agent.scores() for _ in range(200)])
    assert np.mean(draws.argmax(axis=-1) == 1) > 0.9
    assert actions.shape == (4,) and actions.dtype == np.int64
    # a trial start forgets the trial
    agent.act(_bandit_obs(spec, 4), np.array([True, False, False, False]))
    assert agent.successes[0].sum() == 0 and agent.successes[1].sum() == 32


@pytest.mark.parametrize("name", list(AGENTS["bandit"]))
def test_every_bandit_agent_learns(name):
    kwargs = {"num_arms": 5, "episodes_per_trial": 30}
    spec = TrialSpec.from_env(BANDIT, kwargs)
    returns = run_trials(make_agent("bandit", name, spec, seed=0), BANDIT, kwargs, 300, seed=5).trial_returns
    assert returns.shape == (300,)
    assert returns.mean() > (14.0 if name == "random" else 19.0)


# --------------------------------------------------------------------------------------
# Gittins indices
# --------------------------------------------------------------------------------------
def test_gittins_horizon_one_is_the_posterior_mean():
    table = G.gittins_table(6, "exact")
    s, f = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    ok = s + f <= 5
    np.testing.assert_allclose(table.index(s[ok], f[ok], 1), (s[ok] + 1) / (s[ok] + f[ok] + 2), atol=1e-15)


@pytest.mark.parametrize(("successes", "failures"), [(0, 0), (1, 0), (0, 3), (4, 2)])
def test_gittins_horizon_two_by_hand(successes, failures):
    # C(lam) = p - lam + p max(0, p1 - lam) + (1 - p) max(0, p0 - lam) with p0 < p <= root < p1:
    # the root is p (1 + p1) / (1 + p)
    a, b = successes + 1, failures + 1
    p, p1 = a / (a + b), (a + 1) / (a + b + 1)
    expected = p * (1 + p1) / (1 + p)
    table = G.gittins_table(10, "exact")
    assert table.index(successes, failures, 2) == pytest.approx(expected, abs=1e-13)
    if (successes, failures) == (0, 0):
        assert expected == pytest.approx(5 / 9)


def test_gittins_known_values_and_monotonicity():
    table = G.gittins_table(40, "exact")
    idx = np.array([table.index(0, 0, r) for r in range(1, 41)])
    assert np.all(np.diff(idx) > 0)  # more pulls left: more worth exploring
    assert idx[0] == 0.5 and idx[-1] < 1.0
    for s, f in [(3, 1), (0, 5), (10, 10)]:
        r = np.arange(1, 41 - s - f)
        assert np.all(np.diff(table.index(s, f, r)) >= -1e-15)
        assert np.all(table.index(s, f, r) >= (s + 1) / (s + f + 2) - 1e-15)
    # more successes, higher index; more failures, lower
    assert table.index(3, 2, 10) > table.index(2, 2, 10) > table.index(2, 3, 10)


def test_gittins_exact_matches_bisection_and_grid_is_close():
    exact = G.gittins_table(14, "exact", use_cache=False)
    bisection = G.gittins_table(14, "bisection", use_cache=False)
    grid = G.gittins_table(14, "grid", use_cache=False)
    np.testing.assert_allclose(exact.values, bisection.values, atol=1e-11)
    assert np.max(np.abs(grid.values - exact.values)) < 0.02


def test_gittins_cache(tmp_path, monkeypatch):
    table = G.gittins_table(12, "exact")
    files = list((tmp_path / "cache").glob("gittins_*H12.npy"))
    # the file name carries the builders' version: a table of an older algorithm is never reused
    assert [f.name for f in files] == [f"gittins_v{G.CACHE_VERSION}_exact_H12.npy"] == [G.cache_path(12, "exact").name]
    assert G.cache_path(600, "grid").name == f"gittins_v{G.CACHE_VERSION}_grid{G.GRID_SIZE}_H600.npy"
    monkeypatch.setattr(G, "_build_exact", lambda *a, **k: pytest.fail("rebuilt instead of loading the cache"))
    again = G.gittins_table(12, "exact")
    np.testing.assert_array_equal(table.values, again.values)


def test_gittins_bad_arguments():
    with pytest.raises(ValueError, match="horizon must be an integer >= 1"):
        G.gittins_table(0)
    with pytest.raises(ValueError, match="method must be one of"):
        G.gittins_table(5, "magic")
    with pytest.raises(ValueError, match="remaining"):
        G.gittins_table(5, "exact").index(3, 2, 1)


# --------------------------------------------------------------------------------------
# tabular MDPs
# --------------------------------------------------------------------------------------
def _two_state_task() -> MDPTask:
    """State 0: stay (0.1) or move to 1 (0); state 1: stay (1.0) or move to 0 (0). Optimal: 4 per episode."""
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = T[0, 1, 1] = T[1, 0, 1] = T[1, 1, 0] = 1.0
    return MDPTask(T, np.array([[0.1, 0.0], [1.0, 0.0]]))


def _two_state_kwargs(episodes: int) -> dict:
    """Env kwargs for :func:`_two_state_task`: deterministic rewards, episodes of 5 steps."""
    kwargs = {"num_states": 2, "num_actions": 2, "episode_length": 5, "episodes_per_trial": episodes}
    return {**kwargs, "reward_kind": "deterministic_uniform"}


@pytest.mark.parametrize(("name", "params", "target"), [("psrl", {}, 3.5), ("ucrl2", {"scale": 0.1}, 3.95)])
def test_psrl_and_ucrl2_solve_a_deterministic_mdp(name, params, target):
    kwargs = _two_state_kwargs(20)
    spec = TrialSpec.from_env(MDP, kwargs)
    assert (spec.num_states, spec.num_actions, spec.episode_length, spec.horizon) == (2, 2, 5, 100)
    agent = make_agent("mdp", name, spec, seed=0, **params)  # explicit: not the random-MDP tuning
    result = run_trials(agent, MDP, kwargs, 30, seed=0, record=True, tasks=[_two_state_task()] * 30)
    per_episode = result.rewards.reshape(20, 5, 30).sum(axis=1)
    assert per_episode[-5:].mean() >= target
    assert per_episode[:2].mean() < 3.0  # it had to learn


def test_agent_plays_a_single_trial_env():
    """An outside user's loop: one gym.make env, the task passed with reset(options={"task": ...})."""
    import gymnasium as gym

    kwargs = _two_state_kwargs(20)
    env = gym.make(MDP, **kwargs)
    agent = make_agent("mdp", "psrl", TrialSpec.from_env(MDP, kwargs), seed=3)
    obs, _ = env.reset(seed=0, options={"task": _two_state_task()})
    start, total, last_episode = True, 0.0, []
    for step in range(100):
        action = agent.act(obs[None], np.array([start]))[0]
        obs, reward, terminated, _, _ = env.step(action)
        start, total = False, total + reward
        if step >= 95:
            last_episode.append(reward)
    assert terminated and sum(last_episode) >= 3.0  # optimal last episode: 0 + 1 + 1 + 1 + 1
    assert total > 50


def test_mdp_agent_counts_only_observable_transitions():
    kwargs = _two_state_kwargs(2)
    spec = TrialSpec.from_env(MDP, kwargs)
    agent = make_agent("mdp", "greedy", spec, seed=0)
    run_trials(agent, MDP, kwargs, 3, seed=0, tasks=[_two_state_task()] * 3)
    # 10 steps, the last step of each of the 2 episodes has no observable next state
    # (the final step of the trial is never observed by the agent)
    assert agent.visits.sum(axis=(1, 2)).tolist() == [9, 9, 9]
    assert agent.transitions.sum(axis=(1, 2, 3)).tolist() == [8, 8, 8]


def test_mdp_agents_run_on_the_paper_env():
    kwargs = {"episodes_per_trial": 3}
    spec = TrialSpec.from_env(MDP, kwargs)
    for name in AGENTS["mdp"]:
        returns = run_trials(make_agent("mdp", name, spec, seed=0), MDP, kwargs, 50, seed=3).trial_returns
        assert returns.shape == (50,) and np.all(np.isfinite(returns))


# --------------------------------------------------------------------------------------
# registry, parsing, paper numbers
# --------------------------------------------------------------------------------------
def test_registry_and_clear_errors():
    assert list(AGENTS["bandit"]) == ["random", "greedy", "eps_greedy", "ucb1", "thompson", "ots", "gittins"]
    assert list(AGENTS["mdp"]) == ["random", "greedy", "eps_greedy", "psrl", "opsrl", "ucrl2", "beb"]
    with pytest.raises(ValueError, match=r"unknown bandit agent 'psrl'; known bandit agents: \['random'"):
        parse_agents("bandit", "ucb1,psrl")
    with pytest.raises(ValueError, match="bad bandit cell '10': expected 'n,k'"):
        parse_cells("bandit", "10,5 10", [])
    with pytest.raises(ValueError, match="bad mdp cell '10,5'"):
        parse_cells("mdp", "10,5", [])
    with pytest.raises(ValueError, match=r"epsilon must be a number in \[0, 1\], got 2.0"):
        make_agent("bandit", "eps_greedy", TrialSpec.from_env(BANDIT, {}), epsilon=2.0)
    with pytest.raises(ValueError, match=r"c must be a finite number >= 0, got -1"):
        make_agent("bandit", "ucb1", TrialSpec.from_env(BANDIT, {}), c=-1)
    with pytest.raises(ValueError, match=r"samples must be an integer >= 1, got 0"):
        make_agent("bandit", "ots", TrialSpec.from_env(BANDIT, {}), samples=0)
    assert len(PAPER["bandit"]) == 9 and len(PAPER["mdp"]) == 5
    assert PAPER["bandit"]["500,50"]["gittins"] == 463.7 and PAPER["mdp"]["100"]["opsrl"] == 1973.9


def test_baselines_do_not_import_torch():
    code = (
        "import sys, rl2_agent.agents.baselines, rl2_agent.experiments.table, rl2_agent.experiments.tune, "
        "rl2_agent.experiments.paper, rl2_agent.evaluation; assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------
# the table and tune commands
# --------------------------------------------------------------------------------------
def test_table_cli(tmp_path, capsys):
    out = tmp_path / "res" / "bandit.json"
    code = main(
        [
            "table",
            "--family",
            "bandit",
            "--cells",
            "10,5 20,3",
            "--trials",
            "60",
            "--agents",
            "random,greedy,gittins,ucb1",
            "--json",
            str(out),
            "--plot-dir",
            str(tmp_path / "plots"),
            "--seed",
            "0",
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert list(data) == ["10,5", "20,3"]
    for row in data.values():
        assert list(row) == ["random", "greedy", "gittins", "ucb1"]
        for stats in row.values():
            assert {"mean", "se"} <= set(stats) and stats["se"] > 0
    assert data["10,5"]["gittins"]["paper"] == 6.6 and data["20,3"]["gittins"]["paper"] is None
    assert data["10,5"]["random"]["bold"] is False and data["10,5"]["gittins"]["bold"] is True
    csv_text = out.with_suffix(".csv").read_text().splitlines()
    assert csv_text[0].startswith("family,cell,agent,mean,se,paper,bold") and len(csv_text) == 1 + 8
    printed = capsys.readouterr().out
    assert "| n, k | random | greedy | gittins | ucb1 |" in printed and "**" in printed and "(6.6)" in printed
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "bandit_10_5_bars.png",
        "bandit_10_5_regret.png",
        "bandit_20_3_bars.png",
        "bandit_20_3_regret.png",
    ]


def test_table_paired_differences_are_trial_by_trial(tmp_path, capsys):
    from rl2_agent.experiments.table import mean_se

    argv = [
        "table",
        "--family",
        "bandit",
        "--cells",
        "10,5",
        "--trials",
        "200",
        "--agents",
        "random,greedy,ucb1",
        "--seed",
        "0",
    ]
    out = tmp_path / "table.json"
    assert main([*argv, "--paired", "ucb1,greedy", "greedy,random", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| cell | ucb1 - greedy | greedy - random |" in printed
    row = printed.split("| cell | ucb1 - greedy | greedy - random |")[1].splitlines()[2]
    from rl2_agent.agents.baselines import Cell
    from rl2_agent.experiments.table import evaluate_cell, parse_entries

    result = evaluate_cell("bandit", Cell("bandit", 10, 5), parse_entries("bandit", "random,greedy,ucb1"), 200, 0)
    diff = result.returns["greedy"] - result.returns["random"]
    mean, se = mean_se(diff)
    assert f"{mean:.2f} ± {se:.2f}" in row
    # pairing removes the tasks' spread: greedy and random score the same tasks' arms, so the paired s.e. is below
    # the s.e. of the difference of two independent means
    independent = np.hypot(mean_se(result.returns["greedy"])[1], mean_se(result.returns["random"])[1])
    assert se < independent
    # --json keeps the differences too, one row per cell and pair
    with (tmp_path / "table_paired.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["cell"], r["a"], r["b"]) for r in rows] == [("10,5", "ucb1", "greedy"), ("10,5", "greedy", "random")]
    assert float(rows[1]["mean"]) == pytest.approx(mean, rel=1e-5) and float(rows[1]["se"]) == pytest.approx(se, rel=1e-5)
    assert rows[1]["trials"] == "200" and rows[1]["seed"] == "0"


def test_table_cli_mdp(tmp_path):
    out = tmp_path / "mdp.json"
    argv = ["table", "--family", "mdp", "--cells", "2", "--trials", "20", "--agents", "random,psrl", "--json", str(out)]
    assert main(argv) == 0
    data = json.loads(out.read_text())
    assert list(data) == ["2"] and list(data["2"]) == ["random", "psrl"]


def test_table_scores_an_rl3_run_in_its_own_env_on_the_cells_tasks(tmp_path):
    import torch as th
    from tiny_runs import tiny_train_args

    from rl2_agent.experiments.evaluate import evaluate_run
    from rl2_agent.experiments.paper import paper_value

    run = tmp_path / "rl3"
    argv = tiny_train_args(run, 512)
    argv[argv.index("RL2Bandit-v0")] = "RL3TabularMDP-v0"
    argv[argv.index("num_arms=3") : argv.index("--timesteps")] = ["steps_per_trial=100", "time_inputs=True"]
    assert main(argv) == 0
    out = tmp_path / "mdp.json"  # MDP n = 10: ten 10-step episodes, the run's 100-step trials
    th.manual_seed(0)  # the same sampled actions in both evaluations
    assert (
        main(
            [
                "table",
                "--family",
                "mdp",
                "--cells",
                "10",
                "--trials",
                "20",
                "--agents",
                f"random,rl3={run}",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads(out.read_text())["10"]
    th.manual_seed(0)
    expected = evaluate_run(run, n_trials=20, seed=1_000_000).trial_returns  # in RL3TabularMDP-v0, as trained
    assert data["rl3"]["mean"] == pytest.approx(float(np.mean(expected)))
    # the RL^2 paper has no RL^3 agent: no figure in brackets beside the run, the paper's own beside a baseline
    assert data["rl3"]["paper"] is None
    assert data["random"]["paper"] == paper_value("mdp", "10", "random") is not None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--family", "bandit", "--agents", "random,foo"], "unknown bandit agent 'foo'"),
        (["--family", "mdp", "--agents", "gittins"], "unknown mdp agent 'gittins'"),
        (["--family", "bandit", "--cells", "10,5 ten,5"], "bad bandit cell 'ten,5'"),
        (["--family", "mdp", "--cells", "0"], "bad mdp cell '0'"),
        (["--family", "bandit", "--agents", "rl2=no/such/run"], "does not exist"),
        (["--family", "bandit", "--trials", "1"], "--trials must be"),
    ],
)
def test_table_cli_errors(argv, message, caplog):
    with caplog.at_level(logging.ERROR):
        assert main(["table", "--trials", "5", *argv] if "--trials" not in argv else ["table", *argv]) == 2
    assert message in caplog.text


def test_tune_cli(capsys):
    assert main(["tune", "--family", "bandit", "--cells", "10,5", "--agents", "ucb1", "--trials", "30"]) == 0
    printed = capsys.readouterr().out
    assert "TUNED = {" in printed and "'ucb1': {'10,5': {'c':" in printed
    assert main(["tune", "--family", "bandit", "--agents", "thompson"]) == 2


def test_table_run_dir_template_is_filled_per_cell(tmp_path, caplog):
    (tmp_path / "b_10_5").mkdir()  # the (10,5) folder exists, the (10,3) one does not
    code = main(
        [
            "table",
            "--family",
            "bandit",
            "--cells",
            "10,5 10,3",
            "--agents",
            f"random,rl2={tmp_path}/b_{{n}}_{{k}}",
            "--trials",
            "5",
        ]
    )
    assert code == 2
    assert f"run folder {tmp_path}/b_10_3 of rl2=" in caplog.text and "(cell 10,3)" in caplog.text


def test_table_refuses_a_run_trained_for_another_cell(tmp_path, caplog):
    run = tmp_path / "b"
    run.mkdir()
    config = {"env_id": "RL2Bandit-v0", "env_kwargs": {"num_arms": 5, "episodes_per_trial": 10}}
    (run / "config.json").write_text(json.dumps(config))
    with caplog.at_level(logging.ERROR):
        assert main(["table", "--family", "bandit", "--cells", "10,5 100,5", "--agents", f"rl2={run}", "--trials", "5"]) == 2
    assert (
        "was trained on RL2Bandit-v0 {'num_arms': 5, 'episodes_per_trial': 10} (episodes_per_trial=10, the cell's 100), "
        "cell 100,5 is RL2Bandit-v0"
    ) in caplog.text
    assert "with {n} (pulls) and {k} (arms) in the path, e.g. rl2=runs/bandit_{n}_{k}" in caplog.text


def _fake_run(path, env_id, env_kwargs):
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"env_id": env_id, "env_kwargs": env_kwargs}))
    return path


def test_table_compares_runs_and_cells_as_the_env_builds_them(tmp_path):
    from rl2_agent.agents.baselines import Cell
    from rl2_agent.experiments.table import Entry, check_runs

    bandit, mdp = [Cell.parse("bandit", "10,5")], [Cell.parse("mdp", "10")]
    # the defaults ARE cell (10, 5) / MDP n = 10; time inputs do not change the tasks
    check_runs("bandit", bandit, [Entry("rl2", _fake_run(tmp_path / "a", "RL2Bandit-v0", {}))])
    check_runs("bandit", bandit, [Entry("rl2", _fake_run(tmp_path / "b", "RL2Bandit-v0", {"time_inputs": True}))])
    check_runs("mdp", mdp, [Entry("rl2", _fake_run(tmp_path / "c", "RL2TabularMDP-v0", {}))])
    # another task distribution with the cell's n and k is refused
    normal = Entry(
        "rl2", _fake_run(tmp_path / "d", "RL2Bandit-v0", {"num_arms": 5, "episodes_per_trial": 10, "arm_prior": "normal"})
    )
    with pytest.raises(ValueError, match=r"\(arm_prior='normal', the cell's 'uniform'\)"):
        check_runs("bandit", bandit, [normal])
    # an RL^3 run of the RL^3 paper's H = 100 (ten 10-step episodes) is a run of MDP n = 10; 105 steps is not
    check_runs("mdp", mdp, [Entry("rl3", _fake_run(tmp_path / "f", "RL3TabularMDP-v0", {"steps_per_trial": 100}))])
    cut = Entry("rl3", _fake_run(tmp_path / "g", "RL3TabularMDP-v0", {"steps_per_trial": 105}))
    with pytest.raises(ValueError, match=r"steps_per_trial=105, the cell's None"):
        check_runs("mdp", mdp, [cut])
    with pytest.raises(ValueError, match=r"\(another env id\)"):
        check_runs("mdp", mdp, [Entry("rl3", _fake_run(tmp_path / "h", "RL3Bandit-v0", {}))])
    ood = Entry("rl2", _fake_run(tmp_path / "e", "RL2TabularMDP-v0", {"reward_kind": "deterministic_uniform"}))
    with pytest.raises(
        ValueError, match=r"reward_kind='deterministic_uniform', the cell's 'gaussian'.*e.g. rl2=runs/mdp_\{n\}"
    ):
        check_runs("mdp", mdp, [ood])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--family", "bandit", "--agents", "rl2=runs/b_{x}"],
            "unknown placeholder(s) {x}; bandit cells fill {n} (pulls) and {k} (arms)",
        ),
        (
            ["--family", "mdp", "--agents", "rl2=runs/m_{n}_{k}"],
            "unknown placeholder(s) {k}; mdp cells fill {n} (episodes), e.g. rl2=runs/mdp_{n}",
        ),
        (["--family", "bandit", "--agents", "rl2=runs/b_{n"], "bad run path in 'rl2=runs/b_{n'"),
        (["--family", "bandit", "--json", "out.csv"], "--json must be a JSON file path (the CSV is written next to it)"),
        (["--family", "bandit", "--seed", "-5"], "--seed must be an integer >= 0"),
        (
            ["--family", "bandit", "--agents", "greedy,ucb1", "--paired", "ucb1"],
            "--paired: expected A,B (two agent labels), got 'ucb1'",
        ),
        (
            ["--family", "bandit", "--agents", "greedy,ucb1", "--paired", "ucb1,gittins"],
            "--paired ucb1,gittins: unknown agent label(s) ['gittins']; labels of --agents: ['greedy', 'ucb1']",
        ),
    ],
)
def test_table_refuses_bad_paths_and_flags_up_front(argv, message, caplog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.ERROR):
        assert main(["table", "--cells", "10,5" if "bandit" in argv else "10", "--trials", "5", *argv]) == 2
    assert message in caplog.text
    assert not list(tmp_path.iterdir())  # nothing computed or written


def test_trial_spec_reads_the_env_and_refuses_step_budgets():
    spec = TrialSpec.from_env("RL2TabularMDP-v0", {"num_states": 4, "episodes_per_trial": 3, "episode_length": 6})
    assert (spec.num_states, spec.num_actions, spec.episode_length, spec.episodes_per_trial, spec.horizon) == (4, 5, 6, 3, 18)
    assert TrialSpec.from_env("RL2Bandit-v0").horizon == 10  # the entry point's default episodes_per_trial
    # a step budget of whole episodes is those episodes; one that cuts an episode is refused
    assert TrialSpec.from_env("RL2TabularMDP-v0", {"steps_per_trial": 100}).episodes_per_trial == 10
    with pytest.raises(ValueError, match=r"fixed-length episodes \(give episodes_per_trial, not steps_per_trial\)"):
        TrialSpec.from_env("RL2TabularMDP-v0", {"steps_per_trial": 105})


def test_trial_spec_uses_only_documented_env_information(monkeypatch):
    """from_env reads the effective kwargs and the public trial_length, never the task family (an env internal)."""
    from meta_envs.trial import TrialEnv

    def get_family(self):  # meta_envs itself may use its internals; nobody else may
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if not caller.startswith("meta_envs"):
            raise AssertionError(f"{caller} read env.unwrapped.family")
        return self.__dict__["_test_family"]

    def set_family(self, value):
        self.__dict__["_test_family"] = value

    monkeypatch.setattr(TrialEnv, "family", property(get_family, set_family), raising=False)
    spec = TrialSpec.from_env("RL2TabularMDP-v0", {"episodes_per_trial": 2, "episode_length": 7})
    assert (spec.episode_length, spec.episodes_per_trial, spec.num_states) == (7, 2, 10)
    assert TrialSpec.from_env("RL2Bandit-v0", {"num_arms": 3, "episodes_per_trial": 4}).episode_length == 1
    with pytest.raises(ValueError, match="fixed-length episodes"):
        TrialSpec.from_env("RL2GridNav-v0")
    with pytest.raises(AssertionError, match="read env.unwrapped.family"):  # the guard works
        _ = gym.make("RL2Bandit-v0").unwrapped.family


# ----------------------------------------------------------------------------- the table's bolding rule
def _sample(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    """n values with exactly this sample mean and sample standard deviation."""
    x = rng.standard_normal(n)
    return mean + sd * (x - x.mean()) / x.std(ddof=1)


def test_bold_agents_one_sided_welch():
    from scipy import stats

    from rl2_agent.experiments.table import SIGNIFICANCE, bold_agents

    rng = np.random.default_rng(0)
    # (a) the best is far above the rest: only it is bold
    returns = {"a": _sample(rng, 1000, 6.6, 1.0), "b": _sample(rng, 1000, 6.0, 1.0), "c": _sample(rng, 1000, 5.0, 1.0)}
    assert bold_agents(returns) == {"a"}
    # (b) two agents within noise of each other (0.5 s.e. apart), a third far below: both top ones bold
    returns = {"a": _sample(rng, 1000, 6.60, 1.0), "b": _sample(rng, 1000, 6.58, 1.0), "c": _sample(rng, 1000, 5.0, 1.0)}
    assert bold_agents(returns) == {"a", "b"}
    # the test is one-sided and relative to the best: the order of the dict does not matter
    assert bold_agents(dict(reversed(list(returns.items())))) == {"a", "b"}

    # (c) unequal variances and sample sizes, where Student's pooled t-test and Welch's disagree at SIGNIFICANCE:
    def verdicts(best: np.ndarray, other: np.ndarray) -> tuple[float, float]:
        welch = stats.ttest_ind(best, other, equal_var=False, alternative="greater").pvalue
        student = stats.ttest_ind(best, other, equal_var=True, alternative="greater").pvalue
        return welch, student

    # a precise best (many trials, small spread) against a noisy agent with few trials: the pooled variance
    # is dominated by the best's small spread, so Student calls the gap significant; Welch does not -> bold
    best, noisy = _sample(rng, 200, 1.0, 0.1), _sample(rng, 10, 0.5, 1.0)
    welch, student = verdicts(best, noisy)
    assert student < SIGNIFICANCE <= welch
    assert bold_agents({"best": best, "noisy": noisy}) == {"best", "noisy"}
    # the mirror case: a best with few, precise trials against a noisy agent with many trials; Student's pooled
    # variance is dominated by the noisy agent, so it sees no difference; Welch does -> not bold
    best, noisy = _sample(rng, 10, 1.0, 0.1), _sample(rng, 200, 0.85, 1.0)
    welch, student = verdicts(best, noisy)
    assert welch < SIGNIFICANCE <= student
    assert bold_agents({"best": best, "noisy": noisy}) == {"best"}


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")
def test_bold_agents_constant_returns():
    from rl2_agent.experiments.table import bold_agents

    ones, zeros = np.ones(5), np.zeros(5)
    assert bold_agents({"a": ones, "b": ones.copy()}) == {"a", "b"}  # equal constants tie
    assert bold_agents({"a": ones, "b": zeros}) == {"a"}  # different constants: strictly better


def test_the_table_experiment_runs_as_a_module():
    """``python -m rl2_agent.experiments.table`` is ``rl2 table``; a user error is one line with exit code 2."""
    command = [sys.executable, "-m", "rl2_agent.experiments.table", "--family", "bandit", "--cells", "10,5"]
    done = subprocess.run(
        [*command, "--agents", "random,greedy", "--trials", "5"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "| n, k | random | greedy |" in done.stdout and "| 10,5 |" in done.stdout
    bad = subprocess.run([*command, "--agents", "rl2=no/such/run"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "does not exist" in bad.stderr

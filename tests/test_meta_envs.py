"""The trial contract, the bandit and tabular-MDP families, their batched twins."""

from __future__ import annotations

import pickle
import subprocess
import sys
import tracemalloc
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import meta_envs
from meta_envs import validation
from meta_envs.bandit import BernoulliBandit
from meta_envs.gridworld import GridTask
from meta_envs.tabular_mdp import MDPTask, TabularMDP
from meta_envs.trial import TrialEnv

KWARG_CASES = [
    ("RL2Bandit-v0", {}),
    ("RL2Bandit-v0", {"num_arms": 10, "episodes_per_trial": 100}),
    ("RL2Bandit-v0", {"num_arms": 50, "episodes_per_trial": 3, "arm_prior": "normal"}),
    ("RL2Bandit-v0", {"episodes_per_trial": 7, "time_inputs": True}),
    ("RL2TabularMDP-v0", {}),
    ("RL2TabularMDP-v0", {"episodes_per_trial": 3, "reward_kind": "deterministic_uniform", "dirichlet_alpha": 0.3}),
    ("RL2TabularMDP-v0", {"num_states": 4, "num_actions": 2, "episode_length": 5, "steps_per_trial": 17}),
    ("RL2TabularMDP-v0", {"episode_length": 4, "steps_per_trial": 10, "time_inputs": True}),
]


def run_trial(env: gym.Env, policy=None, seed: int | None = None, options: dict | None = None):
    """Play one trial from a reset; return observations, rewards, infos (lists)."""
    obs, info = env.reset(seed=seed, options=options)
    observations, rewards, infos = [obs], [], [info]
    rng = np.random.default_rng(0)
    while True:
        action = policy(obs) if policy else int(rng.integers(env.action_space.n))
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        assert not truncated
        if terminated:
            return observations, rewards, infos


@pytest.mark.parametrize("env_id,kwargs", KWARG_CASES)
def test_checkers_pass(env_id, kwargs):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id, **kwargs)
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(env_id, **kwargs), warn=False)


def test_importing_meta_envs_does_not_import_torch():
    code = "import sys, gymnasium as gym, meta_envs; gym.make('RL2Bandit-v0'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_module_prefixed_id_and_unwrapped_is_trial_env():
    env = gym.make("meta_envs:RL2Bandit-v0")
    assert isinstance(env.unwrapped, TrialEnv)
    assert set(meta_envs.ENV_IDS) >= {"RL2Bandit-v0", "RL2TabularMDP-v0"}


@pytest.mark.parametrize("env_id", ["RL2Bandit-v0", "RL2TabularMDP-v0"])
def test_seed_determinism(env_id):
    a = run_trial(gym.make(env_id), seed=123)
    b = run_trial(gym.make(env_id), seed=123)
    c = run_trial(gym.make(env_id), seed=124)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0]))
    assert a[1] == b[1]
    assert a[1] != c[1] or not all(np.array_equal(x, y) for x, y in zip(a[0], c[0]))


def test_seed_determines_task_and_options_task_overrides():
    env = gym.make("RL2Bandit-v0")
    env.reset(seed=5)
    task = env.unwrapped.task.copy()
    env.reset(seed=6)
    assert not np.allclose(env.unwrapped.task, task)
    env.reset(seed=5)
    np.testing.assert_array_equal(env.unwrapped.task, task)
    _, rewards, _ = run_trial(env, policy=lambda o: 2, options={"task": np.array([0.0, 0.0, 1.0, 0.0, 0.0])})
    assert rewards == [1.0] * 10


def test_bandit_layout_and_trial_length():
    env = gym.make("RL2Bandit-v0", num_arms=5, episodes_per_trial=7)
    lay = env.get_wrapper_attr("obs_layout")
    assert lay == {"obs": slice(0, 1), "prev_action": slice(1, 6), "prev_reward": slice(6, 7), "done": slice(7, 8)}
    actions = [1, 0, 3, 4, 1, 2, 3]
    it = iter(actions)
    obs, rewards, infos = run_trial(env, policy=lambda o: next(it), options={"task": np.array([0.0, 1.0, 0.0, 1.0, 0.0])})
    assert len(rewards) == 7
    np.testing.assert_array_equal(obs[0], [1, 0, 0, 0, 0, 0, 0, 0])  # zero augmentation at trial start
    for t, a in enumerate(actions):
        o = obs[t + 1]
        expected_action = np.eye(5)[a]
        np.testing.assert_array_equal(o[lay["prev_action"]], expected_action)
        assert o[lay["prev_reward"]][0] == (1.0 if a in (1, 3) else 0.0)
        assert o[lay["done"]][0] == 1.0  # every pull ends an inner episode
        assert infos[t + 1]["episode_index"] == t
    np.testing.assert_array_equal(infos[-1]["trial_returns"], [1, 0, 1, 0, 1, 0, 1])


def test_mdp_layout_episode_index_and_done_flag():
    n, L = 3, 10
    env = gym.make("RL2TabularMDP-v0", episodes_per_trial=n)
    lay = env.get_wrapper_attr("obs_layout")
    assert lay == {"obs": slice(0, 10), "prev_action": slice(10, 15), "prev_reward": slice(15, 16), "done": slice(16, 17)}
    obs, rewards, infos = run_trial(env, seed=0)
    assert len(rewards) == n * L
    for t in range(n * L):
        o, info = obs[t + 1], infos[t + 1]
        assert info["episode_index"] == t // L
        ends = (t + 1) % L == 0
        assert info["inner_done"] == ends and o[lay["done"]][0] == float(ends)
        assert o[lay["prev_reward"]][0] == pytest.approx(rewards[t])
        assert o[lay["obs"]].sum() == 1.0 and o[lay["prev_action"]].sum() == 1.0
        if ends and t + 1 < n * L:
            assert o[lay["obs"]][0] == 1.0  # next inner episode starts in state 0
    returns = np.asarray(infos[-1]["trial_returns"])
    assert returns.shape == (n,)
    assert returns.sum() == pytest.approx(sum(rewards))


def test_steps_per_trial_cuts_mid_episode_and_keeps_partial_return():
    env = gym.make("RL2TabularMDP-v0", steps_per_trial=25)
    _, rewards, infos = run_trial(env, seed=1)
    assert len(rewards) == 25
    assert len(infos[-1]["trial_returns"]) == 3
    assert sum(infos[-1]["trial_returns"]) == pytest.approx(sum(rewards))


def test_mdp_follows_given_deterministic_task():
    # 2 states: action 0 stays, action 1 flips; reward 1 only for (state 1, action 0)
    T = np.zeros((2, 2, 2))
    T[0, 0, 0] = T[1, 0, 1] = T[0, 1, 1] = T[1, 1, 0] = 1.0
    R = np.array([[0.0, 0.0], [1.0, 0.0]])
    env = gym.make(
        "RL2TabularMDP-v0",
        num_states=2,
        num_actions=2,
        episode_length=4,
        episodes_per_trial=2,
        reward_kind="deterministic_uniform",
    )
    it = iter([1, 0, 0, 0] * 2)
    _, rewards, infos = run_trial(env, policy=lambda o: next(it), options={"task": MDPTask(T, R)})
    assert rewards == [0.0, 1.0, 1.0, 1.0] * 2
    np.testing.assert_array_equal(infos[-1]["trial_returns"], [3.0, 3.0])


def test_task_distribution_statistics():
    rng = np.random.default_rng(0)
    bandit = BernoulliBandit(num_arms=5)
    p = np.stack([bandit.sample_task(rng) for _ in range(4000)])
    assert p.mean() == pytest.approx(0.5, abs=0.01)
    assert p.min() >= 0 and p.max() <= 1
    q = np.stack([BernoulliBandit(5, "normal").sample_task(rng) for _ in range(4000)])
    assert q.mean() == pytest.approx(0.5, abs=0.02)
    assert (q == 0).mean() == pytest.approx(0.1587, abs=0.02)  # P(N(.5,.5) < 0) clipped to 0
    mdp = TabularMDP()
    tasks = [mdp.sample_task(rng) for _ in range(500)]
    T = np.stack([t.transitions for t in tasks])
    R = np.stack([t.rewards for t in tasks])
    np.testing.assert_allclose(T.sum(-1), 1.0)
    assert T.mean() == pytest.approx(0.1, abs=1e-9)
    assert T.var() == pytest.approx(0.9 / 110, rel=0.05)  # Dirichlet(1 x 10) marginal: Beta(1, 9)
    assert R.mean() == pytest.approx(1.0, abs=0.02) and R.std() == pytest.approx(1.0, abs=0.02)
    U = np.stack([TabularMDP(reward_kind="deterministic_uniform").sample_task(rng).rewards for _ in range(500)])
    assert U.min() >= 0 and U.max() <= 2 and U.mean() == pytest.approx(1.0, abs=0.02)


def test_observed_rewards_statistics():
    env = gym.make("RL2TabularMDP-v0", episodes_per_trial=10)
    env.reset(seed=3)
    mean = env.unwrapped.task.rewards[0, 2]
    rewards = []
    for _ in range(400):
        env.reset(options={"task": env.unwrapped.task})
        _, r, *_ = env.step(2)  # always from state 0
        rewards.append(r)
    assert np.mean(rewards) == pytest.approx(mean, abs=0.15)
    assert np.std(rewards) == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize(
    "env_id,kwargs,match",
    [
        ("RL2Bandit-v0", {"num_arms": 1}, "num_arms must be an integer >= 2"),
        ("RL2Bandit-v0", {"num_arms": 2.5}, "num_arms"),
        ("RL2Bandit-v0", {"episodes_per_trial": -3}, "episodes_per_trial must be an integer >= 1"),
        ("RL2Bandit-v0", {"arm_prior": "beta"}, r"arm_prior must be one of \['uniform', 'normal'\]"),
        ("RL2Bandit-v0", {"render_mode": "video"}, r"render_mode must be one of \[.ansi., .rgb_array.\] or None"),
        ("RL2TabularMDP-v0", {"num_states": 0}, "num_states"),
        ("RL2TabularMDP-v0", {"reward_kind": "bernoulli"}, "reward_kind must be one of"),
        ("RL2TabularMDP-v0", {"dirichlet_alpha": -1.0}, "dirichlet_alpha must be a finite number > 0"),
        ("RL2TabularMDP-v0", {"episode_length": 0}, "episode_length"),
        ("RL2TabularMDP-v0", {"steps_per_trial": 0}, "steps_per_trial"),
    ],
)
def test_bad_kwargs_raise_clear_errors(env_id, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **kwargs)


def test_unknown_kwarg_lists_allowed_ones():
    with pytest.raises(TypeError, match=r"unknown env kwarg\(s\) \['num_arm'\].*allowed kwargs: \['num_arms'"):
        gym.make("RL2Bandit-v0", num_arm=5)
    with pytest.raises(ValueError, match="unknown env kwarg"):
        gym.make_vec("RL2TabularMDP-v0", num_envs=2, vectorization_mode="vector_entry_point", gamma=0.9)


@pytest.mark.parametrize("bad", [5, -1, 1.5, "0", [0, 1], None])
def test_bad_actions_raise(bad):
    env = gym.make("RL2Bandit-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 4\]"):
        env.unwrapped.step(bad)
    env.unwrapped.step(np.int64(4))  # numpy ints are fine


def test_step_before_reset_raises():
    with pytest.raises(RuntimeError, match="reset"):
        gym.make("RL2Bandit-v0").unwrapped.step(0)


@pytest.mark.parametrize("env_id", ["RL2Bandit-v0", "RL2TabularMDP-v0"])
def test_pickle_and_ansi_render(env_id):
    env = gym.make(env_id, render_mode="ansi")
    env.reset(seed=0)
    env.step(1)
    clone = pickle.loads(pickle.dumps(env))
    a = clone.step(2)
    b = env.step(2)
    np.testing.assert_array_equal(a[0], b[0])
    text = env.render()
    assert "trial step 2" in text and "last action 2" in text and "last reward" in text
    assert ("arm probabilities" in text) if "Bandit" in env_id else ("MDP" in text)


def test_make_vec_sync_and_subproc():
    from stable_baselines3.common.vec_env import SubprocVecEnv

    sync = gym.make_vec("RL2Bandit-v0", num_envs=3, vectorization_mode="sync")
    obs, _ = sync.reset(seed=0)
    assert obs.shape == (3, 8)
    # worker processes do not inherit registrations: the "meta_envs:" prefix imports the package there
    sub = SubprocVecEnv([lambda: gym.make("meta_envs:RL2Bandit-v0") for _ in range(2)])
    try:
        assert sub.reset().shape == (2, 8)
        _, _, dones, _ = sub.step(np.array([0, 1]))
        assert not dones.any()
    finally:
        sub.close()


# --------------------------------------------------------------------------- batched twins
@pytest.mark.parametrize("env_id,kwargs", [c for c in KWARG_CASES if c[0] == "RL2Bandit-v0"][:2] + KWARG_CASES[3:])
def test_batched_env_same_tasks_as_single_seeds(env_id, kwargs):
    vec = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point", **kwargs)
    single = gym.make(env_id, **kwargs)
    vec.reset(seed=100)
    for i in range(4):
        single.reset(seed=100 + i)
        task = single.unwrapped.task
        if env_id == "RL2Bandit-v0":
            np.testing.assert_array_equal(vec.unwrapped.family.probs[i], task)
        else:
            np.testing.assert_array_equal(vec.unwrapped.family.rewards[i], task.rewards)
    assert vec.unwrapped.obs_layout == single.get_wrapper_attr("obs_layout")
    assert vec.single_observation_space == single.observation_space


@pytest.mark.parametrize(
    "trial_kw,trial_length",
    [
        ({"episodes_per_trial": 2}, 6),
        ({"episodes_per_trial": 2, "time_inputs": True}, 6),
        ({"steps_per_trial": 5, "time_inputs": True}, 5),  # the trial ends mid-episode
    ],
)
def test_batched_matches_single_trajectories_on_deterministic_tasks(trial_kw, trial_length):
    """Same tasks + same actions -> identical observations, rewards, dones and trial returns."""
    T = np.zeros((3, 2, 3))
    T[:, 0, 0] = 1.0  # action 0 -> state 0
    T[:, 1, 2] = 1.0  # action 1 -> state 2
    tasks = [MDPTask(T, np.arange(6.0).reshape(3, 2) * (i + 1)) for i in range(3)]
    kw = dict(num_states=3, num_actions=2, episode_length=3, reward_kind="deterministic_uniform", **trial_kw)
    vec = gym.make_vec("RL2TabularMDP-v0", num_envs=3, vectorization_mode="vector_entry_point", **kw)
    vobs, _ = vec.reset(options={"tasks": tasks})
    singles = [gym.make("RL2TabularMDP-v0", **kw) for _ in range(3)]
    sobs = [env.reset(options={"task": t})[0] for env, t in zip(singles, tasks)]
    np.testing.assert_array_equal(vobs, np.stack(sobs))
    rng = np.random.default_rng(0)
    for _ in range(trial_length):
        actions = rng.integers(0, 2, 3)
        vobs, vrew, vterm, _, vinfo = vec.step(actions)
        outs = [env.step(int(a)) for env, a in zip(singles, actions)]
        np.testing.assert_allclose(vrew, [o[1] for o in outs])
        np.testing.assert_array_equal(vterm, [o[2] for o in outs])
        np.testing.assert_array_equal(vinfo["episode_index"], [o[4]["episode_index"] for o in outs])
        for i, o in enumerate(outs):
            if o[2]:
                np.testing.assert_array_equal(vinfo["final_obs"][i], o[0])
                np.testing.assert_allclose(vinfo["trial_returns"][i], o[4]["trial_returns"])
            else:
                np.testing.assert_array_equal(vobs[i], o[0])
    assert vterm.all()
    # same-step autoreset: a fresh trial starts with a zero augmentation in state 0
    np.testing.assert_array_equal(vobs[:, :3], np.tile([1.0, 0, 0], (3, 1)))
    assert not vobs[:, 3:].any()


def test_batched_statistics_match_single():
    """Random tasks: mean trial return of a fixed policy agrees between the two implementations."""
    kw = dict(episodes_per_trial=5)
    vec = gym.make_vec("RL2TabularMDP-v0", num_envs=256, vectorization_mode="vector_entry_point", **kw)
    vec.reset(seed=0)
    returns = []
    while len(returns) < 512:
        _, _, term, _, info = vec.step(np.zeros(256, dtype=np.int64))
        if term.any():
            returns += [sum(r) for r in info["trial_returns"][term]]
    single = gym.make("RL2TabularMDP-v0", **kw)
    sreturns = [sum(run_trial(single, policy=lambda o: 0, seed=10_000 + s)[1]) for s in range(512)]
    se = np.sqrt(np.var(returns) / len(returns) + np.var(sreturns) / len(sreturns))
    assert abs(np.mean(returns) - np.mean(sreturns)) < 4 * se
    assert np.mean(returns) == pytest.approx(50.0, rel=0.1)  # E[R] = 1 per step, 50 steps


def test_batched_bad_actions():
    vec = gym.make_vec("RL2Bandit-v0", num_envs=3, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 4\]"):
        vec.step(np.array([0, 5, 1]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        vec.step(np.array([0, 1]))


def test_sb3_adapter_reports_trials_as_episodes():
    from rl2_agent.envs import make_vec_env

    venv = make_vec_env("RL2Bandit-v0", n_envs=8, env_kwargs={"episodes_per_trial": 4}, seed=0)
    venv.reset()
    for _ in range(4):
        _, _, dones, infos = venv.step(np.zeros(8, dtype=np.int64))
    assert dones.all()
    for info in infos:
        assert info["episode"]["l"] == 4
        assert info["episode"]["r"] == pytest.approx(sum(info["trial_returns"]))
        assert info["terminal_observation"].shape == (8,)


def test_sb3_adapter_applies_attributes_and_options_to_the_whole_vector():
    from rl2_agent.envs import GymVectorToSB3

    venv = GymVectorToSB3(gym.make_vec("RL2Bandit-v0", num_envs=2, num_arms=3, vectorization_mode="vector_entry_point"))
    venv.set_attr("note", 1)
    assert venv.get_attr("note") == [1, 1] and venv.get_attr("note", indices=[1]) == [1]
    with pytest.raises(
        ValueError,
        match=r"set_attr\('note'\) applies to the whole batched vector of 2 envs: indices must be "
        r"None or all of them, got \[0\]",
    ):
        venv.set_attr("note", 2, indices=[0])
    with pytest.raises(ValueError, match=r"env_method\('close'\) applies to the whole batched vector"):
        venv.env_method("close", indices=1)
    venv.set_options({"tasks": [[0, 0, 1], [1, 0, 0]]})  # one dict for the vector: one task per env
    venv.reset()
    obs = venv.step(np.array([2, 2]))[0]
    assert obs[:, -2].tolist() == [1.0, 0.0]  # the previous reward: arm 2 pays 1 in env 0's task, 0 in env 1's
    venv.set_options([{"tasks": [[0, 0, 1], [1, 0, 0]]}, {}])
    with pytest.raises(ValueError, match=r"set_options: the batched env takes ONE options dict for the whole vector"):
        venv.reset()


# --------------------------------------------------------------------------- README example
def test_readme_custom_task_family_example():
    """The README's example of wrapping your own task family, executed verbatim."""
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = re.search(r"<!-- custom-family-example -->\s*```python\n(.*?)```", readme, re.S)
    assert block, "README must contain the custom task family example"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    env = namespace["env"]
    obs, info = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape
    _, rewards, infos = run_trial(env, policy=lambda o: 0)
    assert len(infos[-1]["trial_returns"]) == namespace["N_EPISODES"]


def test_sync_vector_env_batches_trials_with_different_episode_counts():
    """Trials of one batch may hold different numbers of episodes (here: steps_per_trial cuts)."""
    from gymnasium.vector import AutoresetMode

    venv = gym.make_vec(
        "RL2GridWorld-v0", num_envs=3, vectorization_mode="sync", vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}
    )
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    while True:
        _, _, term, _, infos = venv.step(rng.integers(5, size=3))
        if term.any():
            break
    returns = infos["final_info"]["trial_returns"]
    assert returns.dtype == object and all(isinstance(r, tuple) for r in returns[term])


def test_box_prev_action_is_clipped_into_observation_space():
    env = gym.make("RL2PointNav-v0")
    env.reset(seed=0)
    obs, *_ = env.unwrapped.step(np.array([5.0, -7.0], dtype=np.float32))
    lay = env.get_wrapper_attr("obs_layout")
    np.testing.assert_array_equal(obs[lay["prev_action"]], [1.0, -1.0])
    assert env.observation_space.contains(obs)


def test_inner_info_passes_through_and_trial_keys_win():
    class InfoFamily(BernoulliBandit):
        def step(self, action):
            obs, r, term, trunc, _ = super().step(action)
            return obs, r, term, trunc, {"arm": int(action), "episode_index": -1}

    env = TrialEnv(InfoFamily(num_arms=3), episodes_per_trial=2)
    env.reset(seed=0)
    _, _, _, _, info = env.step(2)
    assert info["arm"] == 2 and info["episode_index"] == 0


@pytest.mark.parametrize("vector", [False, True])
def test_time_inputs_come_last_and_count_trial_and_episode_steps(vector):
    kw = dict(num_states=3, num_actions=2, episode_length=4, episodes_per_trial=3, time_inputs=True)
    if vector:
        env = gym.make_vec("RL2TabularMDP-v0", num_envs=2, vectorization_mode="vector_entry_point", **kw)
        layout = env.unwrapped.obs_layout
        obs, _ = env.reset(seed=0)
        observations = [obs[0]]
        for _ in range(11):  # the 12th step ends the trial (same-step autoreset)
            observations.append(env.step(np.zeros(2, np.int64))[0][0])
    else:
        env = gym.make("RL2TabularMDP-v0", **kw)
        layout = env.unwrapped.obs_layout
        observations, _, _ = run_trial(env, policy=lambda obs: 0, seed=0)
    assert list(layout) == ["obs", "prev_action", "prev_reward", "done", "time"]
    assert layout["time"] == slice(7, 9)
    time = np.array([o[layout["time"]] for o in observations])
    np.testing.assert_allclose(time[:, 0], np.arange(len(observations)) / 12, atol=1e-7)
    np.testing.assert_allclose(time[:, 1], ([0, 0.25, 0.5, 0.75] * 3 + [0])[: len(observations)], atol=1e-7)
    # the rest of the observation is the one without time inputs
    plain = gym.make("RL2TabularMDP-v0", **{**kw, "time_inputs": False})
    assert plain.unwrapped.obs_layout == {k: v for k, v in layout.items() if k != "time"}


def test_bandit_time_input_is_the_fraction_of_pulls_done():
    env = gym.make("RL2Bandit-v0", episodes_per_trial=4, time_inputs=True)
    observations, _, _ = run_trial(env, seed=3)
    time = np.array([o[env.unwrapped.obs_layout["time"]] for o in observations])
    np.testing.assert_allclose(time, [[0, 0], [0.25, 0], [0.5, 0], [0.75, 0], [1.0, 0]])


def test_time_inputs_need_a_bool_and_a_fixed_trial_length():
    with pytest.raises(ValueError, match="time_inputs must be True or False"):
        gym.make("RL2Bandit-v0", time_inputs="yes")
    from meta_envs.navigation.grid_nav import GridNav

    with pytest.raises(ValueError, match="time_inputs=True needs a fixed trial length: give steps_per_trial"):
        TrialEnv(GridNav(), episodes_per_trial=2, time_inputs=True)
    env = TrialEnv(GridNav(), steps_per_trial=30, time_inputs=True)
    obs, _ = env.reset(seed=0)
    assert obs[env.obs_layout["time"]].tolist() == [0.0, 0.0]


def test_batched_noise_is_independent_of_the_seeded_task():
    # env 0's task and the reward noise must not replay the same draws: the first pull of arm 0
    # pays 1 with probability E[p] = 0.5 over seeded resets, as in the single env
    venv = gym.make_vec("RL2Bandit-v0", num_envs=1, vectorization_mode="vector_entry_point")
    rewards = []
    for seed in range(600):
        venv.reset(seed=seed)
        rewards.append(venv.step(np.array([0]))[1][0])
    assert 0.43 < np.mean(rewards) < 0.57
    venv.reset(seed=3)
    first = [venv.step(np.array([a % 5]))[1][0] for a in range(10)]
    venv.reset(seed=3)
    assert [venv.step(np.array([a % 5]))[1][0] for a in range(10)] == first  # still deterministic


# --------------------------------------------------------------------------------------
# misuse is refused with a clear error
# --------------------------------------------------------------------------------------
def test_unknown_reset_options_are_refused():
    env = gym.make("RL2Bandit-v0", num_arms=3)
    with pytest.raises(ValueError, match=r"reset options may hold only \['task'\].*\['tasks'\] \(a single env takes 'task'"):
        env.reset(seed=0, options={"tasks": [[0, 0, 1]]})
    with pytest.raises(ValueError, match=r"unknown keys \['taks'\]"):
        env.reset(seed=0, options={"taks": [0, 0, 1]})
    vec = gym.make_vec("RL2Bandit-v0", num_envs=2, vectorization_mode="vector_entry_point", num_arms=3)
    with pytest.raises(
        ValueError, match=r"may hold only \['tasks'\].*\['task'\] \(a vector env takes 'tasks', one task per env\)"
    ):
        vec.reset(seed=0, options={"task": [0, 0, 1]})
    obs, _ = vec.reset(seed=0, options={"tasks": [[0, 0, 1], [1, 0, 0]]})
    np.testing.assert_array_equal(vec.unwrapped.family.probs, [[0, 0, 1], [1, 0, 0]])


@pytest.mark.parametrize("env_id", sorted(meta_envs.ENV_IDS))
def test_a_refused_task_or_seed_leaves_the_trial_under_way_untouched(env_id):
    def trial_after(refused: list[dict]) -> list:
        env = gym.make(env_id)
        env.action_space.seed(0)
        out = [env.reset(seed=0)[0]]
        out += [env.step(env.action_space.sample())[:2] for _ in range(3)]
        for kwargs in refused:
            with pytest.raises(ValueError, match=r"^(task|seed|reset options) must be"):
                env.reset(**kwargs)
        out += [env.step(env.action_space.sample())[:2] for _ in range(3)]
        return out

    undisturbed = trial_after([])
    disturbed = trial_after([{"seed": 1, "options": {"task": "bad"}}, {"seed": 1.5}, {"seed": 2, "options": ["task"]}])
    assert gym.utils.env_checker.data_equivalence(disturbed, undisturbed)  # same task, same noise, same RL^3 model


def test_stepping_a_finished_trial_raises():
    env = gym.make("RL2Bandit-v0", episodes_per_trial=2).unwrapped
    env.reset(seed=0)
    assert not env.step(0)[2] and env.step(0)[2]
    with pytest.raises(RuntimeError, match=r"the trial is over \(step returned terminated=True\): call reset\(\)"):
        env.step(0)
    env.reset(seed=1)
    assert env.step(0)[4]["episode_index"] == 0


@pytest.mark.parametrize("env_id", ["RL2Bandit-v0", "RL2TabularMDP-v0", "RL2GridNav-v0", "RL2PointNav-v0"])
def test_episodes_and_steps_per_trial_together_are_refused(env_id):
    with pytest.raises(ValueError, match="give exactly one of episodes_per_trial .* or steps_per_trial"):
        gym.make(env_id, episodes_per_trial=3, steps_per_trial=5)
    assert gym.make(env_id, steps_per_trial=5).unwrapped.episodes_per_trial is None


@pytest.mark.parametrize(
    "task,match",
    [
        ([np.nan, 0.5, 0.5], r"task must be 3 arm probabilities in \[0, 1\]"),
        ([0.5, 0.5], r"task must be 3 arm probabilities"),
    ],
)
def test_bandit_task_validation(task, match):
    with pytest.raises(ValueError, match=match):
        gym.make("RL2Bandit-v0", num_arms=3).reset(options={"task": task})


def test_mdp_task_validation():
    S, A = 2, 1
    good_T, good_R = np.array([[[1.0, 0.0]], [[0.0, 1.0]]]), np.ones((S, A))
    env = gym.make("RL2TabularMDP-v0", num_states=S, num_actions=A, episode_length=2)
    env.reset(options={"task": MDPTask(good_T, good_R)})
    with pytest.raises(ValueError, match=r"task.transitions must be probabilities: finite, in \[0, 1\]"):
        env.reset(options={"task": MDPTask(np.array([[[1.5, -0.5]], [[0.0, 1.0]]]), good_R)})  # rows sum to 1
    with pytest.raises(ValueError, match="task.rewards must be finite"):
        env.reset(options={"task": MDPTask(good_T, np.array([[np.nan], [1.0]]))})


def test_tiny_dirichlet_alpha_still_gives_probability_rows():
    from meta_envs.tabular_mdp import sample_mdp

    T, _ = sample_mdp(np.random.default_rng(0), 10, 5, 0.001, "gaussian", size=4096)
    np.testing.assert_allclose(T.sum(-1), 1.0, rtol=0, atol=1e-12)
    assert T.min() >= 0
    env = gym.make("RL2TabularMDP-v0", dirichlet_alpha=0.001)
    for seed in range(100):  # 1.7% of these seeds drew a subnormal row sum before the fix
        env.reset(seed=seed)
    vec = gym.make_vec("RL2TabularMDP-v0", num_envs=64, vectorization_mode="vector_entry_point", dirichlet_alpha=0.001)
    vec.reset(seed=0)


def test_discrete_spaces_must_start_at_zero(family_with_spaces):
    from gymnasium import spaces

    with pytest.raises(TypeError, match=r"Discrete spaces of a task family must start at 0, got Discrete\(5, start=-2\)"):
        TrialEnv(family_with_spaces(spaces.Discrete(5, start=-2), spaces.Discrete(3)), episodes_per_trial=2)


def test_vector_infos_follow_gymnasium_masks_and_seed_arrays():
    vec = gym.make_vec("RL2Bandit-v0", num_envs=3, vectorization_mode="vector_entry_point", episodes_per_trial=2)
    obs_list, info = vec.reset(seed=[7, 8, 9])
    obs_array, _ = vec.reset(seed=np.arange(7, 10))  # numpy seeds are fine
    np.testing.assert_array_equal(obs_list, obs_array)
    assert info["_episode_index"].all() and info["_inner_done"].all()
    _, _, term, _, info = vec.step(np.zeros(3, np.int64))
    assert not term.any() and info["_episode_index"].all() and "final_info" not in info
    _, _, term, _, info = vec.step(np.zeros(3, np.int64))
    final = info["final_info"]
    assert term.all() and final["_episode_index"].all() and final["_trial_returns"].all()
    assert list(final["episode_index"]) == [1, 1, 1] and final["inner_done"].all() and len(final["trial_returns"][0]) == 2


def test_gridworld_size_error_names_the_allowed_sizes():
    with pytest.raises(ValueError, match=r"size must be one of \[11, 13\], got 11.0"):
        gym.make("RL2GridWorld-v0", size=11.0)


def test_every_public_name_exists():
    """``from module import *`` works for every module of both packages (``__all__`` names real objects)."""
    import importlib
    import pkgutil

    import rl2_agent

    checked = 0
    for package in (meta_envs, rl2_agent):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            missing = [n for n in getattr(module, "__all__", []) if not hasattr(module, n)]
            assert not missing, f"{info.name}.__all__ names missing objects: {missing}"
            checked += bool(getattr(module, "__all__", None))
    assert checked >= 3


# --------------------------------------------------------------------------- an outside agent
def test_an_outside_ucb1_reading_only_the_documented_observation_scores_the_papers_figure():
    """An outside agent's check: a UCB1 written against the contract alone (``obs_layout``, ``info``), no package code.

    On RL2Bandit-v0 (5 arms, 100 pulls), 1000 held-out trials: the paper's UCB1 scores 78.0; this one
    (exploration scale c = 0.2 on Beta(1, 1) statistics, the package's tuned value) scores 77.80 ± 0.52
    (the package's UCB1 78.14 ± 0.51 on the same tasks through the batched env, whose reward noise is
    drawn from another stream).
    """
    env = gym.make("RL2Bandit-v0", num_arms=5, episodes_per_trial=100)
    layout = env.get_wrapper_attr("obs_layout")
    returns = []
    for i in range(1000):
        obs, info = env.reset(seed=1_000_000 + i)
        wins, pulls, terminated = np.zeros(5), np.zeros(5), False
        while not terminated:
            t = pulls.sum() + 1.0
            scores = (wins + 1.0) / (pulls + 2.0) + 0.2 * np.sqrt(2.0 * np.log(t) / (pulls + 2.0))
            obs, reward, terminated, _, info = env.step(int(np.argmax(scores)))
            arm = int(np.argmax(obs[layout["prev_action"]]))  # what the observation says was pulled and paid
            pulls[arm] += 1.0
            wins[arm] += obs[layout["prev_reward"]][0]
            assert obs[layout["prev_reward"]][0] == reward
        returns.append(sum(info["trial_returns"]))
    mean, se = np.mean(returns), np.std(returns, ddof=1) / np.sqrt(len(returns))
    assert abs(mean - 78.0) < 3 * se, (mean, se)  # the paper's UCB1
    assert mean > 75.4 + 2 * se  # and clearly better than greedy on these trials (75.37)


# --------------------------------------------------------------------------------------
# limits: no argument makes an env allocate without bound (meta_envs.validation)
# --------------------------------------------------------------------------------------
def make_vec(env_id: str, num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


def traced_peak(fn: Callable[[], object]) -> int:
    """The peak bytes of the allocations (numpy's included) made while ``fn`` runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


LIMIT = r"over the 1.0 GiB memory limit of one env \(meta_envs.validation.MEMORY_BUDGET\)"


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda: gym.make("RL2Bandit-v0", num_arms=10**9),
            r"^num_arms=1000000000 would allocate about 44.7 GiB \(48 bytes per arm\), " + LIMIT,
        ),
        (lambda: gym.make("RL3Bandit-v0", num_arms=10**9), r"^num_arms=1000000000 would allocate about 44.7 GiB"),
        (
            lambda: gym.make("RL2Bandit-v0", num_arms=10**5, render_mode="rgb_array"),
            r"^num_arms=100000, render_mode='rgb_array' would allocate about 6.0 GiB",
        ),
        (
            lambda: gym.make("RL2TabularMDP-v0", num_states=10**9),
            r"^num_states=1000000000, num_actions=5 would allocate about .* PiB \(56 bytes per entry",
        ),
        (
            lambda: gym.make("RL3TabularMDP-v0", num_actions=10**9),
            r"^num_states=10, num_actions=1000000000 would allocate about 5.1 TiB",
        ),
        (
            lambda: make_vec("RL2Bandit-v0", 4, episodes_per_trial=10**9),
            r"^episodes_per_trial=1000000000 \(inner episodes of up to 1 steps\) makes trials of up to 1000000000 steps, over the limit of 1000000",
        ),
        (
            lambda: make_vec("RL2Bandit-v0", 1024, steps_per_trial=10**6),
            r"^num_envs=1024, steps_per_trial=1000000 would allocate about 7.6 GiB \(7.6 GiB for the per-episode returns \(num_envs x 1000001 float64\)",
        ),
        (
            lambda: make_vec("RL2Bandit-v0", 10**8),
            r"^num_arms=5, num_envs=100000000 would allocate about 22.4 GiB \(48 bytes per arm per env\), " + LIMIT,
        ),
        (
            lambda: make_vec("RL2TabularMDP-v0", 10**6),
            r"^num_envs=1000000, num_states=10, num_actions=5 would allocate about 22.4 GiB",
        ),
        (
            lambda: gym.make("RL2TabularMDP-v0", episode_length=10**7),
            r"^episode_length must be an integer in \[1, 1000000\] \(no longer than the longest trial",
        ),
        (lambda: gym.make("RL3GridWorld-v0", steps_per_trial=10**7), r"^steps_per_trial must be an integer in \[1, 1000000\]"),
    ],
)
def test_over_limit_sizes_are_refused_naming_the_parameters_before_anything_is_allocated(make, match):
    def refused() -> None:
        with pytest.raises(ValueError, match=match):
            make()

    assert traced_peak(refused) < 16 << 20


def test_the_papers_settings_are_well_within_the_limits():
    for env_id, kwargs in [
        ("RL2Bandit-v0", {"num_arms": 50, "episodes_per_trial": 500}),
        ("RL2Bandit-v0", {"num_arms": 50, "episodes_per_trial": 500, "render_mode": "rgb_array"}),
        ("RL3Bandit-v0", {"num_arms": 50, "episodes_per_trial": 500}),
        ("RL2TabularMDP-v0", {"num_states": 10, "num_actions": 5, "episodes_per_trial": 100}),
        ("RL3TabularMDP-v0", {"num_states": 10, "num_actions": 5, "episodes_per_trial": 100}),
        ("RL3GridWorld-v0", {"size": 13, "steps_per_trial": 1000}),
    ]:
        gym.make(env_id, **kwargs).reset(seed=0)
    make_vec("RL2Bandit-v0", 1024, num_arms=50, episodes_per_trial=500).reset(seed=0)
    make_vec("RL2TabularMDP-v0", 1024, episodes_per_trial=100).reset(seed=0)
    make_vec("RL2Bandit-v0", 1024, steps_per_trial=100_000)  # 0.8 GiB of returns, within the 1 GiB


def largest_accepted(make: Callable[[int], object], high: int) -> int:
    """The largest ``x`` in ``[1, high)`` that ``make(x)`` accepts (it refuses every larger one)."""
    low = 1
    while high - low > 1:
        middle = (low + high) // 2
        try:
            make(middle)
            low = middle
        except ValueError:
            high = middle
    return low


def play(env: gym.Env, trials: int = 2, steps: int = 3) -> None:
    for seed in range(trials):
        env.reset(seed=seed)
        for _ in range(steps):
            env.step(env.action_space.sample())
            if env.render_mode == "rgb_array":
                env.render()


@pytest.mark.parametrize(
    "make_sized",
    [
        lambda x: gym.make("RL2Bandit-v0", num_arms=x),
        lambda x: gym.make("RL2Bandit-v0", num_arms=x, render_mode="rgb_array"),
        lambda x: gym.make("RL3Bandit-v0", num_arms=x),
        lambda x: gym.make("RL2TabularMDP-v0", num_states=x, dirichlet_alpha=0.5),
        lambda x: gym.make("RL3TabularMDP-v0", num_states=x),
        lambda x: gym.make("RL2GridNav-v0", view_size=2 * x + 1, render_mode="rgb_array"),
        lambda x: gym.make("RL2Maze-v0", height=x, width=64),
        lambda x: gym.make("RL2Maze-v0", height=16, width=x, size="large"),
        lambda x: make_vec("RL2Bandit-v0", 8, num_arms=x, arm_prior="normal"),
        lambda x: make_vec("RL2Bandit-v0", x, steps_per_trial=1000),
        lambda x: make_vec("RL2TabularMDP-v0", 8, num_states=x),
    ],
)
def test_an_env_at_its_memory_limit_allocates_less_than_the_budget(monkeypatch, make_sized):
    budget = 8 << 20  # a smaller budget, so that the largest env it allows is cheap to build and play
    monkeypatch.setattr(validation, "MEMORY_BUDGET", budget)
    size = largest_accepted(make_sized, high=10**7)
    assert size > 5  # the limit is set by the budget, not by a check that refuses every size

    def build_and_play() -> None:
        env = make_sized(size)
        if isinstance(env, gym.vector.VectorEnv):
            env.reset(seed=0)
            for _ in range(30):
                env.step(env.action_space.sample())
            env.reset(seed=1)
        else:
            play(env)

    assert traced_peak(build_and_play) <= budget


# --------------------------------------------------------------------------------------
# resets: every argument is checked before anything changes, alike in the single and vector envs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [1.5, "3", -1, True, np.float64(2.0), [1, 2]])
def test_single_and_vector_envs_refuse_the_same_seeds(seed):
    with pytest.raises(ValueError, match=r"^seed must be None or an integer >= 0, got "):
        gym.make("RL2Bandit-v0").reset(seed=seed)
    with pytest.raises(
        ValueError,
        match=r"^seed must be None(, an integer >= 0 or a sequence of 2 integers >= 0 \(one per env\)| or an integer >= 0), got ",
    ):
        make_vec("RL2Bandit-v0", 2).reset(seed=seed if not isinstance(seed, list) else [1])


def test_numpy_integer_seeds_give_the_same_tasks_in_the_single_and_vector_envs():
    single = gym.make("RL2Bandit-v0").unwrapped
    single.reset(seed=np.int64(7))
    vec = make_vec("RL2Bandit-v0", 2)
    vec.reset(seed=np.int64(7))
    np.testing.assert_array_equal(vec.unwrapped.family.probs[0], single.task)
    vec.reset(seed=np.array([7, 3], dtype=np.uint32))
    np.testing.assert_array_equal(vec.unwrapped.family.probs[0], single.task)


def test_a_refused_vector_reset_changes_nothing_and_the_trials_go_on():
    def trials(refused: list[tuple[dict, str]]) -> list:
        vec = make_vec("RL2Bandit-v0", 4, num_arms=3, episodes_per_trial=20)
        vec.reset(seed=0)
        out = [vec.step(np.arange(4) % 3)[:2] for _ in range(3)]
        for kwargs, match in refused:
            with pytest.raises(ValueError, match=match):
                vec.reset(**kwargs)
        out += [vec.step(np.arange(4) % 3)[:2] for _ in range(3)]
        return [*out, vec.unwrapped.family.probs.copy()]

    undisturbed = trials([])
    disturbed = trials(
        [
            (
                {"seed": 5, "options": {"tasks": [[0, 0, 1]] * 3 + ["bad"]}},
                r"^options\['tasks'\]\[3\]: task must be 3 arm probabilities in \[0, 1\] \(an array of shape \(3,\)\), got 'bad'",
            ),
            ({"options": {"tasks": None}}, r"^options\['tasks'\] must be a sequence of 4 tasks, one per env, got None"),
            (
                {"options": {"tasks": [[0, 0, 1]] * 3}},
                r"^options\['tasks'\] must be a sequence of 4 tasks, one per env, got 3 tasks",
            ),
            ({"options": [("tasks", None)]}, r"^reset options must be None or a dict with keys among \['tasks'\]"),
            ({"seed": 1.5}, r"^seed must be None, an integer >= 0 or a sequence of 4 integers"),
            ({"seed": "3"}, r"^seed must be None, an integer >= 0 or a sequence of 4 integers"),
            ({"seed": [1, 2, 3]}, r"^seed must be None, an integer >= 0 or a sequence of 4 integers"),
        ]
    )
    for (obs, reward), (obs_again, reward_again) in zip(undisturbed[:-1], disturbed[:-1]):
        np.testing.assert_array_equal(obs, obs_again)
        np.testing.assert_array_equal(reward, reward_again)
    np.testing.assert_array_equal(undisturbed[-1], disturbed[-1])  # the tasks too


def test_a_refused_first_reset_leaves_the_env_usable():
    env = gym.make("RL2Bandit-v0", num_arms=3)
    with pytest.raises(ValueError, match=r"^seed must be"):
        env.reset(seed=-1)
    with pytest.raises(ValueError, match=r"^task must be 3 arm probabilities"):
        env.reset(options={"task": [0.5, 0.5]})
    env.reset(seed=0)
    assert env.step(0)[4]["episode_index"] == 0


def test_a_render_mode_that_is_not_a_string_is_refused_by_name():
    with pytest.raises(ValueError, match=r"^render_mode must be one of \['ansi', 'rgb_array'\] or None, got \['rgb_array'\]"):
        gym.make("RL2Bandit-v0", render_mode=["rgb_array"])


# --------------------------------------------------------------------------------------
# task objects: array-likes are converted, anything else is refused naming the field
# --------------------------------------------------------------------------------------
def test_mdp_tasks_built_from_lists_work_in_the_single_and_vector_envs():
    env = gym.make("RL2TabularMDP-v0", num_states=3, num_actions=2).unwrapped
    env.reset(seed=0)
    T, R = env.task.transitions, env.task.rewards
    task = MDPTask(T.tolist(), R.tolist())
    assert task.transitions.dtype == np.float64 and not task.transitions.flags.writeable
    env.reset(options={"task": task})
    np.testing.assert_array_equal(env.task.transitions, T)
    vec = make_vec("RL2TabularMDP-v0", 2, num_states=3, num_actions=2)
    vec.reset(options={"tasks": [task, MDPTask(T, R)]})
    np.testing.assert_array_equal(vec.unwrapped.family.rewards, [R, R])
    mine = T.copy()
    MDPTask(mine, R)
    assert mine.flags.writeable  # the caller's own array is left as it was


@pytest.mark.parametrize(
    "transitions, rewards, match",
    [
        (
            "abc",
            np.ones((2, 1)),
            r"^task.transitions must be probabilities: finite, in \[0, 1\], each row summing to 1 \(an array of shape \(n, n, n\)\), got 'abc'",
        ),
        (
            np.ones((2, 1, 3)) / 3,
            np.ones((2, 1)),
            r"^task.transitions must be .* \(an array of shape \(S, A, S\), S, A >= 1\), got shape \(2, 1, 3\)",
        ),
        (np.full((2, 1, 2), 0.3), np.ones((2, 1)), r"^task.transitions must be .* got rows summing to"),
        ([[[1, 0]], [[0, 1]]], [[1], ["x"]], r"^task.rewards must be finite mean rewards \(an array of shape \(2, 1\)\)"),
        (
            [[[1, 0]], [[0, 1]]],
            np.ones(2),
            r"^task.rewards must be finite mean rewards \(an array of shape \(2, 1\)\), got shape \(2,\)",
        ),
    ],
)
def test_mdp_tasks_refuse_bad_fields_by_name(transitions, rewards, match):
    with pytest.raises(ValueError, match=match):
        MDPTask(transitions, rewards)


def test_gridworld_tasks_convert_integral_tiles_and_refuse_the_rest_by_field():
    env = gym.make("RL2GridWorld-v0").unwrapped
    env.reset(seed=0)
    tiles = env.task.tiles
    task = GridTask(tiles.astype(np.float64).tolist(), np.float32(0.2))
    assert task.tiles.dtype == np.int8 and type(task.slip_prob) is float
    env.reset(options={"task": task})
    np.testing.assert_array_equal(env.task.tiles, tiles)
    for fields, match in [
        (
            {"tiles": np.where(tiles == 0, 0.5, tiles)},
            r"^task.tiles must be finite integers in \[0, 5\] \(an array of shape \(n, n\)\), got non-integer values",
        ),
        ({"tiles": np.where(tiles == 0, 7, tiles)}, r"^task.tiles must be finite integers in \[0, 5\]"),
        ({"tiles": tiles[:, :5]}, r"^task.tiles must be a square array of tile codes 0..5, got shape \(11, 5\)"),
        ({"slip_prob": "0.2"}, r"^task.slip_prob must be a number in \[0.0, 1.0\], got '0.2'"),
        ({"slip_prob": 1.5}, r"^task.slip_prob must be a number in \[0.0, 1.0\], got 1.5"),
    ]:
        with pytest.raises(ValueError, match=match):
            GridTask(**{"tiles": tiles, "slip_prob": 0.2, **fields})
    with pytest.raises(
        ValueError,
        match=r"^task must be a GridTask\(tiles, slip_prob\) with tiles of shape \(11, 11\), got tiles of shape \(13, 13\)",
    ):
        env.reset(options={"task": GridTask(np.zeros((13, 13)), 0.2)})

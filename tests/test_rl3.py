"""RL^3: the value augmentation (model, value iteration, inputs) and the RL^3 gridworlds."""

from __future__ import annotations

import inspect
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs import bandit, gridworld, tabular_mdp
from meta_envs.gridworld import (
    DANGER,
    GOAL,
    NORMAL,
    OBSTACLE,
    TILE_REWARDS,
    VARIANTS,
    WARNING,
    WET,
    GridSpec,
    GridTask,
    grid_model,
    optimal_return,
    sample_grid,
    variant_spec,
)
from meta_envs.tabular_mdp import MDPTask
from meta_envs.value_augment import (
    BatchedTabularValueEstimator,
    BatchedValueAugmentedTrialEnv,
    TabularValueEstimator,
    ValueAugmentedTrialEnv,
    batched_value_iteration,
    make_rl3_bandit_env,
    make_rl3_bandit_vector_env,
    make_rl3_tabular_mdp_env,
    make_rl3_tabular_mdp_vector_env,
    value_iteration,
)

RL3_IDS = ["RL3Bandit-v0", "RL3TabularMDP-v0", "RL3GridWorld-v0"]
UP, RIGHT, DOWN, LEFT, STAY = range(5)


def play(env: gym.Env, actions, seed: int | None = 0, options: dict | None = None):
    """Reset, play ``actions``; return the observations (reset's first) and the rewards."""
    obs, _ = env.reset(seed=seed, options=options)
    observations, rewards = [obs], []
    for a in actions:
        obs, reward, terminated, _, _ = env.step(a)
        observations.append(obs)
        rewards.append(reward)
        if terminated:
            break
    return observations, rewards


# --------------------------------------------------------------------------------------
# value iteration and the estimated model
# --------------------------------------------------------------------------------------
# two states, actions 0 = stay, 1 = switch (deterministic); R = [[0, 1], [2, 0]]
TWO_STATE_P = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])  # rows s * A + a
TWO_STATE_R = np.array([0.0, 1.0, 2.0, 0.0])


def test_value_iteration_finite_horizon_matches_hand_computation():
    # Q1 = R; V1 = [1, 2]; Q2 = [[1, 3], [4, 1]]; V2 = [3, 4]; Q3 = [[3, 5], [6, 3]]
    q, backups, converged = value_iteration(TWO_STATE_P, TWO_STATE_R, 2, iterations=3)
    np.testing.assert_allclose(q, [[3.0, 5.0], [6.0, 3.0]])
    assert backups == 3 and not converged


def test_value_iteration_discounted_converges_to_q_star():
    # gamma 0.5: V*(1) = 2 / (1 - 0.5) = 4 (stay), V*(0) = 1 + 0.5 * 4 = 3 (switch)
    q, backups, converged = value_iteration(TWO_STATE_P, TWO_STATE_R, 2, iterations=1000, tolerance=1e-10, gamma=0.5)
    np.testing.assert_allclose(q, [[1.5, 3.0], [4.0, 1.5]], atol=1e-9)
    assert converged and backups < 1000
    # the same from a warm start at Q*: one backup, already converged
    _, backups, converged = value_iteration(TWO_STATE_P, TWO_STATE_R, 2, 1000, 1e-10, 0.5, q_init=q)
    assert converged and backups == 1


def test_estimator_ml_model_unseen_self_loops_and_termination():
    est = TabularValueEstimator(num_states=3, num_actions=2, horizon=3)
    est.update(0, 1, 1.0, 1, False)
    est.update(1, 0, 2.0, 1, False)
    est.solve()
    # untried (0, 0) and (1, 1) are reward-0 self-loops: Q3 = [[3, 5], [6, 4]] (by hand)
    np.testing.assert_allclose(est.q_values(0), [3.0, 5.0])
    np.testing.assert_allclose(est.q_values(1), [6.0, 4.0])
    np.testing.assert_array_equal(est.q_values(2), [0.0, 0.0])  # never visited
    # a second (0, 1) to state 0 with reward 3: R = 2, P = (0.5, 0.5); Q3 = [[4, 6], [6, 4]]
    est.update(0, 1, 3.0, 0, False)
    est.solve()
    np.testing.assert_allclose(est.q_values(0), [4.0, 6.0])
    np.testing.assert_allclose(est.q_values(1), [6.0, 4.0])
    # (1, 1) terminates with reward 5 (termination is worth 0): Q3 = [[5.5, 8.25], [9, 5]]
    est.update(1, 1, 5.0, 2, True)
    est.solve()
    np.testing.assert_allclose(est.q_values(0), [5.5, 8.25])
    np.testing.assert_allclose(est.q_values(1), [9.0, 5.0])
    np.testing.assert_array_equal(est.visit_counts(0), [0, 2])
    np.testing.assert_array_equal(est.visit_counts(1), [1, 1])
    assert est.num_visited == 2  # the terminal s' is not a model state
    est.reset()
    assert est.num_visited == 0
    np.testing.assert_array_equal(est.q_values(0), [0.0, 0.0])
    np.testing.assert_array_equal(est.visit_counts(0), [0.0, 0.0])


def test_env_q_matches_value_iteration_on_the_true_model_once_explored():
    """On a deterministic MDP (gamma 1, horizon 10), once every (s, a) has been tried the ML model is
    the true model, so the input Q equals value iteration on the true task."""
    S, A = 3, 2
    nxt = np.array([[0, 1], [1, 2], [2, 0]])
    transitions = np.eye(S)[nxt]
    rewards = np.array([[0.5, -1.0], [2.0, 0.0], [1.0, 3.0]])
    task = MDPTask(transitions, rewards)
    env = gym.make(
        "RL3TabularMDP-v0",
        num_states=S,
        num_actions=A,
        episode_length=10,
        reward_kind="deterministic_uniform",
        steps_per_trial=40,
    )
    lay = env.unwrapped.obs_layout
    q_true, _, _ = value_iteration(transitions.reshape(S * A, S), rewards.reshape(-1), A, 10)
    actions = [0, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 1]  # tries every (s, a), then keeps going
    observations, _ = play(env, actions, options={"task": task})
    state = int(np.argmax(observations[-1][lay["obs"]]))
    assert np.all(env.unwrapped.estimator.visit_counts(0) > 0) and np.all(env.unwrapped.estimator.visit_counts(2) > 0)
    np.testing.assert_allclose(observations[-1][lay["q_values"]], q_true[state] / 10, rtol=1e-6)


@pytest.mark.parametrize("env_id, seed", [("RL3GridWorld-v0", 3), ("RL3TabularMDP-v0", 9)])
def test_warm_start_agrees_with_cold_start_when_discounted(env_id, seed):
    # on MDPs (horizon 10) a cap of 10 backups would stop a cold solve at the 10-step value, far from
    # the fixed point the warm-started solves reach: with gamma < 1 every solve converges
    gamma, tol = 0.9, 0.01
    env = gym.make(env_id, gamma=gamma, vi_tolerance=tol).unwrapped
    env.reset(seed=seed)
    rng = np.random.default_rng(0)
    est, bound = env.estimator, 2 * tol * gamma / (1 - gamma)
    for _ in range(120):  # past the end of the first trial (100 steps on MDPs): into a fresh estimate
        if env.step(int(rng.integers(env.action_space.n)))[2]:
            env.reset(seed=seed + 1)
            continue
        n, A = est.num_visited, est.num_actions
        cold, _, converged = value_iteration(est._transitions[: n * A, :n], est._rewards[: n * A], A, 10_000, tol, gamma)
        assert converged
        assert np.abs(cold - est._q[:n]).max() <= bound


# --------------------------------------------------------------------------------------
# the augmented observation
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", RL3_IDS)
def test_layout_names_and_values_are_where_the_layout_says(env_id):
    env = gym.make(env_id)
    base = env.unwrapped
    lay = base.obs_layout
    assert list(lay) == ["obs", "prev_action", "prev_reward", "done", "q_values", "visit_counts", "time"]
    A = env.action_space.n
    assert lay["q_values"].stop - lay["q_values"].start == A == lay["visit_counts"].stop - lay["visit_counts"].start
    assert lay["time"].stop == env.observation_space.shape[0]
    T = base.trial_length
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(1)
    for t in range(1, 40):
        obs, _, terminated, _, info = env.step(int(rng.integers(A)))
        state = int(np.argmax(obs[lay["obs"]]))
        est = base.estimator
        np.testing.assert_allclose(obs[lay["q_values"]], est.q_values(state) / base.value_scale, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(obs[lay["visit_counts"]], np.log1p(est.visit_counts(state)) / np.log1p(T), rtol=1e-6)
        assert obs[lay["time"]][0] == pytest.approx(t / T)
        assert env.observation_space.contains(obs)
        if terminated:
            break


def test_time_inputs_off_and_time_in_episode():
    env = gym.make("RL3TabularMDP-v0", time_inputs=False)
    assert "time" not in env.unwrapped.obs_layout
    env = gym.make("RL3TabularMDP-v0", episode_length=4, episodes_per_trial=3)
    lay = env.unwrapped.obs_layout["time"]
    observations, _ = play(env, [0] * 12)
    np.testing.assert_allclose([o[lay][1] for o in observations], [0, 0.25, 0.5, 0.75] * 3 + [0])
    np.testing.assert_allclose([o[lay][0] for o in observations], np.arange(13) / 12)


def test_rl3_twin_keeps_the_rl2_trajectory_and_kwargs():
    twins = [
        (bandit.make_env, make_rl3_bandit_env),
        (tabular_mdp.make_env, make_rl3_tabular_mdp_env),
        (gridworld.make_env, gridworld.make_rl3_env),
    ]
    for rl2_make, rl3_make in twins:
        rl3_params = list(inspect.signature(rl3_make).parameters)
        rl2_params = list(inspect.signature(rl2_make).parameters)
        assert rl2_params[-1] == "time_inputs"  # the RL^3 twin keeps it, with default True
        assert rl3_params == [*rl2_params[:-1], "gamma", "vi_tolerance", "time_inputs"]
        assert inspect.signature(rl2_make).parameters["time_inputs"].default is False
        assert inspect.signature(rl3_make).parameters["time_inputs"].default is True
    rl2, rl3 = gym.make("RL2TabularMDP-v0"), gym.make("RL3TabularMDP-v0")
    actions = np.random.default_rng(0).integers(5, size=100).tolist()
    obs2, rew2 = play(rl2, actions, seed=7)
    obs3, rew3 = play(rl3, actions, seed=7)
    assert rew2 == rew3
    done = rl2.unwrapped.obs_layout["done"].stop
    np.testing.assert_array_equal(np.array(obs2), np.array(obs3)[:, :done])


def test_counts_and_values_reset_at_every_trial():
    env = gym.make("RL3TabularMDP-v0", episodes_per_trial=2)
    lay = env.unwrapped.obs_layout
    observations, _ = play(env, [1] * 20, seed=0)
    assert observations[-1][lay["visit_counts"]].sum() > 0 and np.abs(observations[-1][lay["q_values"]]).sum() > 0
    obs, _ = env.reset(seed=1)
    np.testing.assert_array_equal(obs[lay["q_values"]], 0.0)
    np.testing.assert_array_equal(obs[lay["visit_counts"]], 0.0)
    assert env.unwrapped.estimator.num_visited == 1
    obs, *_ = env.step(1)
    assert env.unwrapped.estimator.visit_counts(0).sum() == 1  # only this trial's step


def test_bandit_q_is_the_empirical_mean_reward_unscaled():
    env = gym.make("RL3Bandit-v0", num_arms=4, episodes_per_trial=200)
    lay = env.unwrapped.obs_layout
    obs, _ = env.reset(seed=5)
    pulls, sums = np.zeros(4), np.zeros(4)
    rng = np.random.default_rng(0)
    terminated = False
    while not terminated:
        arm = int(rng.integers(4))
        obs, reward, terminated, _, _ = env.step(arm)
        pulls[arm] += 1
        sums[arm] += reward
        means = np.divide(sums, pulls, out=np.zeros(4), where=pulls > 0)
        np.testing.assert_allclose(obs[lay["q_values"]], means, rtol=1e-6)
        np.testing.assert_allclose(obs[lay["visit_counts"]], np.log1p(pulls) / np.log1p(200), rtol=1e-6)


# --------------------------------------------------------------------------------------
# the batched RL^3 envs (vector entry points of RL3Bandit-v0 and RL3TabularMDP-v0)
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_batched_value_iteration_is_each_models_own(gamma):
    """Each model stops at its own backup (converged or out of budget) with the Q of value_iteration alone."""
    rng = np.random.default_rng(0)
    n, S, A = 6, 4, 3
    transitions = rng.dirichlet(np.ones(S), size=(n, S * A)) * rng.uniform(0.5, 1.0, size=(n, S * A, 1))
    rewards = rng.normal(size=(n, S * A)) * np.array([0.0, 0.001, 1, 1, 1, 1])[:, None]  # two converge at once
    budgets = np.array([5, 40, 0, 3, 40, 12])
    q, backups, converged = batched_value_iteration(transitions, rewards, A, budgets, 0.01, gamma)
    for i in range(n):
        q_i, backups_i, converged_i = value_iteration(transitions[i], rewards[i], A, int(budgets[i]), 0.01, gamma)
        np.testing.assert_allclose(q[i], q_i, rtol=1e-12, atol=1e-12)
        assert (backups[i], converged[i]) == (backups_i, converged_i)
    assert backups[2] == 0 and not converged[2] and backups[0] == 1 and converged[0]
    assert len(set(backups.tolist())) >= 4  # the models did stop at different backups


@pytest.mark.parametrize("gamma", [1.0, 0.95])
def test_batched_estimator_matches_one_estimator_per_task(gamma):
    """Random transitions with terminations: every task's Q and counts are those of its own TabularValueEstimator."""
    rng = np.random.default_rng(1)
    n, S, A = 5, 6, 3
    batched = BatchedTabularValueEstimator(n, S, A, horizon=10, gamma=gamma)
    singles = [TabularValueEstimator(S, A, horizon=10, gamma=gamma) for _ in range(n)]
    states = np.zeros(n, dtype=np.int64)
    for t in range(150):
        if t == 80:  # a new trial for task 2 only
            batched.reset(np.arange(n) == 2)
            singles[2].reset()
        actions, rewards = rng.integers(A, size=n), rng.normal(size=n)
        next_states, terminated = rng.integers(S, size=n), rng.random(n) < 0.2
        batched.update(states, actions, rewards, next_states, terminated)
        backups = batched.solve()
        for i, est in enumerate(singles):
            est.update(int(states[i]), int(actions[i]), float(rewards[i]), int(next_states[i]), bool(terminated[i]))
            assert backups[i] == est.solve()
        states = next_states
        q, counts = batched.q_values(states), batched.visit_counts(states)
        for i, est in enumerate(singles):
            np.testing.assert_allclose(q[i], est.q_values(int(states[i])), rtol=1e-10, atol=1e-10)
            np.testing.assert_array_equal(counts[i], est.visit_counts(int(states[i])))


def _deterministic_mdp_tasks(rng: np.random.Generator, n: int, S: int, A: int) -> list[MDPTask]:
    tasks = []
    for _ in range(n):
        transitions = np.eye(S)[rng.integers(S, size=(S, A))]
        tasks.append(MDPTask(transitions, rng.normal(size=(S, A))))
    return tasks


@pytest.mark.parametrize(
    "env_id,kwargs,trial_length",
    [
        ("RL3TabularMDP-v0", {"episodes_per_trial": 3}, 12),
        ("RL3TabularMDP-v0", {"steps_per_trial": 7, "time_inputs": False}, 7),  # ends mid-episode
        ("RL3TabularMDP-v0", {"episodes_per_trial": 2, "gamma": 0.9}, 8),  # warm starts
        ("RL3Bandit-v0", {"episodes_per_trial": 9, "gamma": 0.8}, 9),  # a pull terminates: no next state
    ],
)
def test_batched_rl3_env_matches_the_single_env_on_deterministic_tasks(env_id, kwargs, trial_length):
    """Same tasks and actions: the same observations (value inputs included), rewards and ends as gym.make's env."""
    rng = np.random.default_rng(2)
    n = 5
    if env_id == "RL3TabularMDP-v0":
        kwargs = dict(num_states=4, num_actions=3, episode_length=4, reward_kind="deterministic_uniform", **kwargs)
        tasks = _deterministic_mdp_tasks(rng, n, 4, 3)
    else:
        kwargs = dict(num_arms=3, **kwargs)
        tasks = [rng.integers(2, size=3).astype(float) for _ in range(n)]  # arms that always or never pay
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    assert isinstance(vec, BatchedValueAugmentedTrialEnv)
    singles = [gym.make(env_id, **kwargs) for _ in range(n)]
    assert vec.obs_layout == singles[0].unwrapped.obs_layout and vec.single_observation_space == singles[0].observation_space
    vobs, _ = vec.reset(options={"tasks": tasks})
    np.testing.assert_array_equal(vobs, np.stack([e.reset(options={"task": t})[0] for e, t in zip(singles, tasks)]))
    lay = vec.obs_layout["q_values"]
    for _ in range(trial_length):
        actions = rng.integers(vec.single_action_space.n, size=n)
        vobs, vrew, vterm, _, vinfo = vec.step(actions)
        outs = [env.step(int(a)) for env, a in zip(singles, actions)]
        np.testing.assert_allclose(vrew, [o[1] for o in outs])
        np.testing.assert_array_equal(vterm, [o[2] for o in outs])
        expected = np.stack([o[0] for o in outs])
        got = np.stack(list(vinfo["final_obs"])) if vterm.all() else vobs
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert vterm.all() and np.abs(got[:, lay]).sum() > 0  # the values were learnt, then a new trial starts empty
    np.testing.assert_array_equal(vobs[:, lay], 0.0)
    np.testing.assert_array_equal(vobs[:, vec.obs_layout["visit_counts"]], 0.0)


def test_training_builds_the_batched_rl3_env_and_its_twin_signature():
    from rl2_agent.envs import has_batched_impl, make_vec_env

    assert has_batched_impl("RL3TabularMDP-v0") and has_batched_impl("RL3Bandit-v0")
    venv = make_vec_env("RL3TabularMDP-v0", 4, {"steps_per_trial": 20}, seed=0, monitor=False)
    assert isinstance(venv.venv, BatchedValueAugmentedTrialEnv)
    obs = venv.reset()
    assert obs.shape == (4, gym.make("RL3TabularMDP-v0", steps_per_trial=20).observation_space.shape[0])
    twins = [
        (bandit.make_vector_env, make_rl3_bandit_vector_env),
        (tabular_mdp.make_vector_env, make_rl3_tabular_mdp_vector_env),
    ]
    for rl2_make, rl3_make in twins:
        rl2_params = list(inspect.signature(rl2_make).parameters)
        assert list(inspect.signature(rl3_make).parameters) == [*rl2_params[:-1], "gamma", "vi_tolerance", "time_inputs"]
    with pytest.raises(ValueError, match=r"gamma must be a number in \(0, 1\], got 1.5"):
        gym.make_vec("RL3TabularMDP-v0", num_envs=2, vectorization_mode="vector_entry_point", gamma=1.5)
    with pytest.raises(ValueError, match="render_mode must be None"):
        gym.make_vec("RL3Bandit-v0", num_envs=2, vectorization_mode="vector_entry_point", render_mode="rgb_array")
    family = tabular_mdp.BatchedTabularMDP(2)
    del family.terminates_episodes
    with pytest.raises(TypeError, match="terminates_episodes"):
        BatchedValueAugmentedTrialEnv(family, episodes_per_trial=2)


# --------------------------------------------------------------------------------------
# gridworlds
# --------------------------------------------------------------------------------------
def neighbours(r: int, c: int) -> list[tuple[int, int]]:
    return [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]


@pytest.mark.parametrize("size,variant", [(11, v) for v in VARIANTS] + [(13, v) for v in VARIANTS])
def test_sampled_grids_satisfy_the_spec(size, variant):
    spec = variant_spec(size, variant)
    rng = np.random.default_rng(size * 100 + VARIANTS.index(variant))
    centre = size // 2
    for _ in range(4):
        task = sample_grid(rng, size, spec)
        tiles = task.tiles
        assert tiles[centre, centre] == NORMAL and task.slip_prob == spec.slip_prob
        (goal,) = np.argwhere(tiles == GOAL)
        assert abs(goal[0] - centre) + abs(goal[1] - centre) >= spec.min_goal_distance
        dangers = np.argwhere(tiles == DANGER)
        assert len(dangers) == spec.num_dangers and (tiles == WARNING).sum() == 4 * spec.num_dangers
        for r, c in dangers:
            assert 0 < r < size - 1 and 0 < c < size - 1
            assert all(tiles[p] == WARNING for p in neighbours(r, c))
        assert (tiles == WET).sum() <= spec.num_wet_regions * spec.wet_length
        assert (tiles == OBSTACLE).sum() <= spec.num_obstacle_sets * spec.obstacle_length
        assert 50.0 <= optimal_return(task) <= 100.0


@pytest.mark.parametrize("length", [2, 3, 4])
def test_one_segment_is_length_contiguous_tiles_in_one_row_or_column(length):
    """``_place_segments`` with count=1 on an empty grid writes exactly ``length`` tiles, contiguous,
    in one row or one column, and both orientations and every start position where it fits occur."""
    rng = np.random.default_rng(length)
    orientations, starts = set(), set()
    for _ in range(300):
        tiles = np.full((11, 11), NORMAL, dtype=np.int8)
        gridworld._place_segments(rng, tiles, 1, length, OBSTACLE)
        rows, cols = np.nonzero(tiles == OBSTACLE)
        assert len(rows) == length and (tiles != NORMAL).sum() == length
        if len(set(rows)) == 1:  # horizontal
            line, orientations = cols, orientations | {"horizontal"}
        else:
            assert len(set(cols)) == 1, (rows, cols)  # vertical
            line, orientations = rows, orientations | {"vertical"}
        assert list(np.sort(line)) == list(range(line.min(), line.min() + length))  # contiguous
        starts.add(int(line.min()))
    assert orientations == {"horizontal", "vertical"}
    assert starts == set(range(11 - length + 1))  # the start is uniform among the positions where it fits


def test_segments_overlap_and_overwrite_without_check():
    """No overlap check (as the authors' create_grid): later segments overwrite earlier ones."""
    rng = np.random.default_rng(0)
    overlapped = False
    for _ in range(50):
        tiles = np.full((11, 11), NORMAL, dtype=np.int8)
        gridworld._place_segments(rng, tiles, 11, 3, OBSTACLE)
        count = (tiles == OBSTACLE).sum()
        assert 3 <= count <= 33
        overlapped |= count < 33
        before = tiles.copy()
        gridworld._place_segments(rng, tiles, 5, 2, WET)
        assert np.all((tiles == before) | (tiles == WET))  # wet regions overwrite, nothing else changes
    assert overlapped


def test_sampled_grids_have_plausible_tile_counts():
    """Lower bounds as well as upper ones: over 50 grids (after the rejection test) the mean obstacle count
    is in the band measured for this generator (about 25 of at most 33 on 11x11: overlaps, wet regions, the
    goal and the warning rings remove some), and DENSE / WATERY add obstacle / wet tiles over standard 13x13."""

    def mean_count(size, variant, tile, seed=0, n=50):
        rng = np.random.default_rng(seed)
        return float(np.mean([(sample_grid(rng, size, variant_spec(size, variant)).tiles == tile).sum() for _ in range(n)]))

    obstacles_11 = mean_count(11, "standard", OBSTACLE)
    assert 20.0 <= obstacles_11 <= 30.0, obstacles_11  # measured 24.4-25.3 over seeds 0-2
    wet_11 = mean_count(11, "standard", WET)
    assert 8.0 <= wet_11 <= 10.0, wet_11  # measured 9.4-9.6
    obstacles_13, dense_13 = mean_count(13, "standard", OBSTACLE), mean_count(13, "dense", OBSTACLE)
    assert 22.0 <= obstacles_13 <= 31.0 and 30.0 <= dense_13 <= 40.0, (obstacles_13, dense_13)  # 26.3-27.1, 34.3-35.1
    assert dense_13 > obstacles_13 + 4.0
    wet_13, watery_13 = mean_count(13, "standard", WET), mean_count(13, "watery", WET)
    assert 13.0 <= watery_13 <= 16.0 and watery_13 > wet_13 + 4.0, (wet_13, watery_13)  # 15.1-15.3 vs 9.5-9.7


def test_variants_differ_from_standard_as_specified():
    standard = variant_spec(13, "standard")
    assert standard == GridSpec(11, 3, 5, 2, 2, 8, 0.2)
    expected = {
        "dense": {"obstacle_length": 4},
        "deterministic": {"slip_prob": 0.0},
        "watery": {"num_wet_regions": 8},
        "dangerous": {"num_dangers": 4},
        "corner": {"min_goal_distance": 12},
    }
    for variant, changes in expected.items():
        spec = variant_spec(13, variant)
        diff = {k: v for k, v in vars(spec).items() if vars(standard)[k] != v}
        assert diff == changes
    assert variant_spec(11, "corner").min_goal_distance == 10  # a corner of the 11x11 grid
    # grid-level effects, averaged over the same seeds
    counts = {}
    for variant, tile in [("standard", OBSTACLE), ("dense", OBSTACLE), ("standard", WET), ("watery", WET)]:
        rng = np.random.default_rng(0)
        counts[variant, tile] = np.mean(
            [(sample_grid(rng, 13, variant_spec(13, variant)).tiles == tile).sum() for _ in range(8)]
        )
    assert counts["dense", OBSTACLE] > counts["standard", OBSTACLE]
    assert counts["watery", WET] > counts["standard", WET]
    (goal,) = np.argwhere(sample_grid(np.random.default_rng(0), 13, variant_spec(13, "corner")).tiles == GOAL)
    assert set(goal) <= {0, 12}


def test_slip_dynamics_of_the_true_model():
    tiles = np.full((11, 11), NORMAL, dtype=np.int8)
    tiles[5, 6] = WET
    tiles[4, 5] = OBSTACLE
    centre, wet = 5 * 11 + 5, 5 * 11 + 6
    T, R = grid_model(GridTask(tiles, 0.2))
    assert T[centre, RIGHT, wet] == pytest.approx(0.8) and T[centre, RIGHT, 6 * 11 + 5] == pytest.approx(0.1)
    assert T[centre, RIGHT, centre] == pytest.approx(0.1)  # the slip up hits the obstacle
    assert T[centre, STAY, centre] == 1.0
    assert T[wet, RIGHT, wet + 1] == 0.0 and T[wet, RIGHT, wet - 11] == T[wet, RIGHT, wet + 11] == 0.5  # always slips
    assert R[centre, RIGHT] == pytest.approx(0.8 * -2 + 0.2 * -1)
    T0, _ = grid_model(GridTask(tiles, 0.0))
    assert set(np.unique(T0[tiles.reshape(-1) != WET])) == {0.0, 1.0}  # deterministic off wet tiles
    np.testing.assert_allclose(T.sum(-1), 1.0)


def test_deterministic_variant_has_no_slip():
    env = gym.make("RL2GridWorld-v0", size=13, variant="deterministic")
    env.reset(seed=0)
    task = env.unwrapped.task
    assert task.slip_prob == 0.0
    T, _ = grid_model(task)
    assert set(np.unique(T[task.tiles.reshape(-1) != WET])) == {0.0, 1.0}


def test_gridworld_steps_rewards_and_episode_ends():
    tiles = np.full((11, 11), NORMAL, dtype=np.int8)
    tiles[5, 7] = GOAL
    tiles[5, 4] = OBSTACLE
    tiles[3, 5], tiles[2, 5] = WARNING, DANGER
    task = GridTask(tiles, 0.0)
    env = gym.make("RL2GridWorld-v0", steps_per_trial=10)
    lay = env.unwrapped.obs_layout
    observations, rewards = play(env, [LEFT, RIGHT, RIGHT, UP, UP, UP], options={"task": task})
    positions = [int(np.argmax(o[lay["obs"]])) for o in observations]
    # bump (stay at the centre), move, reach the goal (episode ends, back to the centre), warning, danger
    assert positions == [60, 60, 61, 60, 49, 38, 60]
    assert rewards == [-1.0, -1.0, 100.0, -1.0, -10.0, -100.0]
    assert [o[lay["done"]][0] for o in observations] == [0, 0, 0, 1, 0, 0, 1]
    assert TILE_REWARDS[GOAL] == env.unwrapped.family.value_scale


def test_gridworld_trial_length_and_render():
    env = gym.make("RL3GridWorld-v0", size=13, render_mode="rgb_array")
    assert env.unwrapped.trial_length == 350 and env.unwrapped.horizon == 350
    assert gym.make("RL2GridWorld-v0").unwrapped.trial_length == 250
    env.reset(seed=0)
    env.step(STAY)
    image = env.render()
    assert image.shape == (455, 340, 3) and image.dtype == np.uint8
    text = gym.make("RL3GridWorld-v0", render_mode="ansi")
    text.reset(seed=0)
    text.step(STAY)
    out = text.render()
    assert "11x11 gridworld" in out and "A" in out and "G" in out and "trial step 1" in out
    clone = pickle.loads(pickle.dumps(text))
    np.testing.assert_array_equal(clone.step(UP)[0], text.step(UP)[0])


# --------------------------------------------------------------------------------------
# checkers and kwargs
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", ["RL2GridWorld-v0", *RL3_IDS])
def test_checkers_pass(env_id):
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = gym.make(env_id)
    assert isinstance(env.unwrapped, ValueAugmentedTrialEnv) == env_id.startswith("RL3")
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(gym.make(env_id), warn=False)


@pytest.mark.parametrize(
    "env_id,kwargs,match",
    [
        ("RL2GridWorld-v0", {"size": 12}, "size"),
        ("RL2GridWorld-v0", {"variant": "windy"}, "variant"),
        ("RL2GridWorld-v0", {"steps_per_trial": 0}, "steps_per_trial"),
        ("RL2GridWorld-v0", {"render_mode": "video"}, "render_mode"),
        ("RL3GridWorld-v0", {"gamma": 0.0}, r"gamma must be a number in \(0, 1\], got 0.0"),
        ("RL3GridWorld-v0", {"gamma": 1.5}, r"gamma must be a number in \(0, 1\], got 1.5"),
        ("RL3GridWorld-v0", {"gamma": float("nan")}, r"gamma must be a number in \(0, 1\], got nan"),
        ("RL3GridWorld-v0", {"vi_tolerance": -0.1}, "vi_tolerance"),
        ("RL3GridWorld-v0", {"time_inputs": "yes"}, "time_inputs"),
        ("RL3Bandit-v0", {"num_arms": 1}, "num_arms"),
        ("RL3Bandit-v0", {"gamma": "1"}, r"gamma must be a number in \(0, 1\], got '1'"),
        ("RL3Bandit-v0", {"gamma": True}, r"gamma must be a number in \(0, 1\], got True"),
        ("RL3TabularMDP-v0", {"reward_kind": "bernoulli"}, "reward_kind"),
        ("RL3TabularMDP-v0", {"bogus": 1}, "bogus"),
        ("RL3GridWorld-v0", {"episodes_per_trial": 3}, "episodes_per_trial"),
    ],
)
def test_bad_kwargs_raise_errors_naming_the_parameter(env_id, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gym.make(env_id, **kwargs)


def test_make_rl3_env_takes_gym_makes_wrapper_and_checks_value_scale():
    from meta_envs.trial import TrialEnv
    from meta_envs.value_augment import ValueAugmentedTrialEnv, make_rl3_env

    env = make_rl3_env(gym.make("RL2TabularMDP-v0", episodes_per_trial=2))
    assert isinstance(env, ValueAugmentedTrialEnv) and env.trial_length == 20
    batched = make_rl3_env(gym.make_vec("RL2Bandit-v0", num_envs=3, vectorization_mode="vector_entry_point"))
    assert isinstance(batched, BatchedValueAugmentedTrialEnv) and batched.num_envs == 3 and batched.horizon == 1
    with pytest.raises(TypeError, match="rl2_env must be a meta_envs TrialEnv"):
        make_rl3_env(gym.make("CartPole-v1"))
    family = gym.make("RL2TabularMDP-v0").unwrapped.family
    family.value_scale = 0
    with pytest.raises(ValueError, match="value_scale must be a finite number > 0, got 0"):
        ValueAugmentedTrialEnv(family, episodes_per_trial=2)
    assert isinstance(env, TrialEnv)


def test_unsupported_inner_spaces_are_named(family_with_spaces):
    from gymnasium import spaces

    from meta_envs.trial import TrialEnv

    family = family_with_spaces(spaces.MultiDiscrete([2, 3]), spaces.Discrete(2))
    with pytest.raises(
        TypeError, match=r"unsupported space MultiDiscrete\(\[2 3\]\): a task family's spaces must be Discrete or Box"
    ):
        TrialEnv(family, episodes_per_trial=2)

"""Tests of the navigation families: RL2GridNav-v0, RL2Maze-v0 and RL2PointNav-v0."""

from __future__ import annotations

from collections import deque

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.navigation import MazeTask, episode_stats, generate_maze, scaling_metrics, shortest_actions
from meta_envs.navigation.first_person import GOAL_COLOUR, WALL_PALETTE, wall_colours
from meta_envs.navigation.grid_nav import BUMP_PENALTY, GOAL_REWARD, STEP_PENALTY, VIEW_CELL_TYPES
from meta_envs.navigation.maze import FORWARD, FREE, TURN_LEFT, TURN_RIGHT, WALL, maze_cells
from meta_envs.validation import UnknownKwargError

NAV_IDS = ("RL2GridNav-v0", "RL2Maze-v0", "RL2PointNav-v0")
MAZE_IDS = ("RL2GridNav-v0", "RL2Maze-v0")


def free_squares(grid: np.ndarray) -> set[tuple[int, int]]:
    return {(int(r), int(c)) for r, c in zip(*np.nonzero(grid == FREE))}


def square_distances(grid: np.ndarray, source: tuple[int, int]) -> dict[tuple[int, int], int]:
    """BFS distances over free squares (4-neighbourhood), independent of the package's BFS."""
    dist = {source: 0}
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for nxt in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if grid[nxt] == FREE and nxt not in dist:
                dist[nxt] = dist[(r, c)] + 1
                queue.append(nxt)
    return dist


def decode_view(obs: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """(k x k square types, heading) from a GridNav inner observation."""
    n_types = len(VIEW_CELL_TYPES)
    view = obs[: k * k * n_types].reshape(k, k, n_types)
    assert np.all(view.sum(-1) == 1)
    return view.argmax(-1), int(obs[k * k * n_types :].argmax())


def inner_obs(env: gym.Env, obs: np.ndarray) -> np.ndarray:
    return obs[env.get_wrapper_attr("obs_layout")["obs"]]


def corridor_task(seed: int, size: str = "small") -> MazeTask:
    """A task whose start faces the goal from the adjacent square."""
    rng = np.random.default_rng(seed)
    cells = {"small": 3, "large": 5}[size]
    grid = generate_maze(rng, cells)
    goal = tuple(int(x) for x in maze_cells(cells)[0])
    for heading, (dr, dc) in enumerate([(1, 0), (0, -1), (-1, 0), (0, 1)]):  # start south/west/... of the goal
        start = (goal[0] + dr, goal[1] + dc)
        if grid[start] == FREE:
            return MazeTask(grid, start, heading, goal)
    raise AssertionError("a maze cell has at least one passage")


# ------------------------------------------------------------------ mazes
@pytest.mark.parametrize("cells", [3, 5])
def test_mazes_are_perfect(cells: int) -> None:
    n = 2 * cells + 1
    for seed in range(200):
        grid = generate_maze(np.random.default_rng(seed), cells)
        assert grid.shape == (n, n) and grid.dtype == np.uint8
        border = np.concatenate([grid[0], grid[-1], grid[:, 0], grid[:, -1]])
        assert np.all(border == WALL)
        assert np.all(grid[::2, ::2] == WALL)  # lattice corners
        assert np.all(grid[1::2, 1::2] == FREE)  # every cell is open
        passages = int((grid[1::2, 2::2] == FREE).sum() + (grid[2::2, 1::2] == FREE).sum())
        assert passages == cells * cells - 1  # a tree has #nodes - 1 edges ...
        free = free_squares(grid)
        assert set(square_distances(grid, (1, 1))) == free  # ... and is connected: a spanning tree, no cycles


def test_maze_generation_is_seeded() -> None:
    a = generate_maze(np.random.default_rng(7), 5)
    assert np.array_equal(a, generate_maze(np.random.default_rng(7), 5))
    assert any(not np.array_equal(a, generate_maze(np.random.default_rng(s), 5)) for s in range(8, 12))


# ------------------------------------------------------------------ tasks and the oracle
@pytest.mark.parametrize("env_id", MAZE_IDS)
@pytest.mark.parametrize("size", ["small", "large"])
def test_oracle_reaches_goal_optimally_in_both_episodes(env_id: str, size: str) -> None:
    env = gym.make(env_id, size=size)
    trials = []
    for seed in range(15):
        env.reset(seed=seed)
        task = env.unwrapped.task
        family = env.unwrapped.family
        assert task.start != task.goal and task.goal in {tuple(x) for x in maze_cells(family.cells)}
        actions = shortest_actions(task.grid, (*task.start, task.heading), task.goal)
        assert actions is not None
        # the BFS over poses moves forward exactly the square distance (the path is unique in a perfect maze)
        assert actions.count(FORWARD) == square_distances(task.grid, task.start)[task.goal]
        for episode in range(2):
            for i, action in enumerate(actions):
                obs, reward, terminated, truncated, info = env.step(action)
                last = i == len(actions) - 1
                assert info["inner_done"] == last and info["episode_index"] == episode
                expected = GOAL_REWARD - STEP_PENALTY if last else -STEP_PENALTY
                assert reward == pytest.approx(expected)
            assert terminated == (episode == 1) and not truncated
        lengths, success = episode_stats(family.episode_paths, task.goal)
        assert lengths.tolist() == [len(actions)] * 2 and success.all()
        np.testing.assert_allclose(info["trial_returns"], [GOAL_REWARD - STEP_PENALTY * len(actions)] * 2)
        trials.append((lengths, success))
    metrics = scaling_metrics(trials)
    assert metrics["success_rate_ep1"] == metrics["success_rate_ep2"] == 1.0
    assert metrics["frac_ep2_not_longer"] == 1.0 and metrics["frac_ep2_shorter"] == 0.0  # a replay, not an improvement
    assert metrics["mean_success_length_ep1"] == metrics["mean_success_length_ep2"] > 0


def test_scaling_metrics_counts_failures() -> None:
    trials = [(np.array([10, 6]), np.array([True, True])), (np.array([250, 40]), np.array([False, True]))]
    metrics = scaling_metrics(trials)
    assert metrics["success_rate_ep1"] == 0.5 and metrics["success_rate_ep2"] == 1.0
    assert metrics["mean_success_length_ep1"] == 10 and metrics["mean_success_length_ep2"] == 23
    assert metrics["frac_ep2_not_longer"] == metrics["frac_ep2_shorter"] == 1.0


def test_task_fixed_within_trial_and_varies_across_trials() -> None:
    env = gym.make("RL2GridNav-v0")
    env.reset(seed=0)
    task = env.unwrapped.task
    for _ in range(300):  # random actions across inner episodes
        _, _, terminated, _, _ = env.step(env.action_space.sample())
        assert env.unwrapped.task is task
        if terminated:
            break
    grids = []
    for seed in range(10):
        env.reset(seed=seed)
        grids.append(env.unwrapped.task.grid)
    assert len({g.tobytes() for g in grids}) > 5


def test_reset_with_task_option_and_task_validation() -> None:
    env = gym.make("RL2GridNav-v0")
    task = corridor_task(0)
    env.reset(options={"task": task})
    _, reward, _, _, info = env.step(FORWARD)
    assert info["inner_done"] and reward == pytest.approx(GOAL_REWARD - STEP_PENALTY)
    with pytest.raises(ValueError, match="goal"):
        env.reset(options={"task": MazeTask(task.grid, task.start, task.heading, (0, 0))})
    with pytest.raises(ValueError, match="differ"):
        env.reset(options={"task": MazeTask(task.grid, task.goal, task.heading, task.goal)})
    with pytest.raises(ValueError, match="heading"):
        env.reset(options={"task": MazeTask(task.grid, task.start, 4, task.goal)})
    with pytest.raises(ValueError, match="shape"):
        gym.make("RL2GridNav-v0", size="large").reset(options={"task": task})


# ------------------------------------------------------------------ grid dynamics and view
def test_grid_view_bump_and_truncation() -> None:
    env = gym.make("RL2GridNav-v0", view_size=5, max_episode_length=8)
    obs, _ = env.reset(seed=3)
    family = env.unwrapped.family
    k = 5
    view, heading = decode_view(inner_obs(env, obs), k)
    assert view[k // 2, k // 2] == VIEW_CELL_TYPES.index("free") and heading == family.pose[2]
    obs, _, _, _, _ = env.step(TURN_RIGHT)
    turned, new_heading = decode_view(inner_obs(env, obs), k)
    assert new_heading == (heading + 1) % 4
    np.testing.assert_array_equal(turned, np.rot90(view, 1))  # the world turns left as the agent turns right
    obs, _, _, _, _ = env.step(TURN_LEFT)
    np.testing.assert_array_equal(decode_view(inner_obs(env, obs), k)[0], view)
    for _ in range(4):  # turn until a wall is ahead
        if decode_view(inner_obs(env, obs), k)[0][k // 2 - 1, k // 2] == VIEW_CELL_TYPES.index("wall"):
            break
        obs, _, _, _, _ = env.step(TURN_LEFT)
    else:
        pytest.fail("no wall around the start square")
    pose = family.pose
    _, reward, _, _, info = env.step(FORWARD)
    assert family.pose == pose and reward == pytest.approx(-STEP_PENALTY - BUMP_PENALTY)
    steps = family.t
    while not info["inner_done"]:
        _, _, _, _, info = env.step(TURN_LEFT)
        steps += 1
    assert steps == 8 and family.t == 0 and info["episode_index"] == 0  # truncated, next episode started
    assert len(family.episode_paths) == 2 and len(family.episode_paths[0]) == 9


def test_goal_visible_in_grid_view() -> None:
    env = gym.make("RL2GridNav-v0")
    obs, _ = env.reset(options={"task": corridor_task(1)})
    view, _ = decode_view(inner_obs(env, obs), 3)
    assert view[0, 1] == VIEW_CELL_TYPES.index("goal")


def test_ansi_render_shows_maze_agent_and_goal() -> None:
    env = gym.make("RL2GridNav-v0", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "G" in text and sum(text.count(c) for c in "^>v<") == 1 and "#######" in text


# ------------------------------------------------------------------ first-person images
def test_image_changes_with_turns_and_wall_vs_corridor() -> None:
    env = gym.make("RL2Maze-v0")
    obs, _ = env.reset(seed=2)
    family = env.unwrapped.family
    assert env.observation_space["image"].shape == (30, 40, 3)
    images, front_free = [], []
    for _ in range(4):
        row, col, heading = family.pose
        d_row, d_col = [(-1, 0), (0, 1), (1, 0), (0, -1)][heading]
        front_free.append(family.task.grid[row + d_row, col + d_col] == FREE)
        images.append(obs["image"])
        obs, _, _, _, _ = env.step(TURN_RIGHT)
    assert np.array_equal(obs["image"], images[0])  # full circle
    for i in range(4):
        assert not np.array_equal(images[i], images[(i + 1) % 4])
    background = family.background
    for image, free in zip(images, front_free):
        centre = image[:, 20]
        # a wall at half a square fills the centre column; down a corridor, ceiling and floor show
        assert np.array_equal(centre[0], background[0, 20]) == free
        assert np.array_equal(centre[-1], background[-1, 20]) == free
    assert any(front_free) and not all(front_free)


def test_goal_is_visible_first_person() -> None:
    env = gym.make("RL2Maze-v0")
    obs, _ = env.reset(options={"task": corridor_task(4)})
    r, g, b = obs["image"][15, 20].astype(int)
    assert g > 150 and g > 2 * r and g > 2 * b
    obs, _, _, _, _ = env.step(TURN_LEFT)  # the goal leaves the centre of the view
    r, g, b = obs["image"][15, 20].astype(int)
    assert not (g > 150 and g > 2 * r and g > 2 * b)


def test_wall_colours_depend_on_square_and_face() -> None:
    colours = wall_colours(11)
    assert colours.shape == (11, 11, 4, 3)
    assert len(np.unique(colours.reshape(-1, 3), axis=0)) == len(WALL_PALETTE)
    assert np.any(colours[:, :, 0] != colours[:, :, 1]) and np.any(colours[1:] != colours[:-1])
    assert not np.any(np.all(colours == GOAL_COLOUR, axis=-1))


def test_rgb_array_render_and_custom_resolution() -> None:
    env = gym.make("RL2Maze-v0", render_mode="rgb_array", height=24, width=32)
    obs, _ = env.reset(seed=0)
    assert obs["image"].shape == (24, 32, 3) and obs["image"].dtype == np.uint8
    frame = env.render()  # the trial header above the 240 x 320 view and the 240 x 240 map
    assert frame.shape == (299, 561, 3) and frame.dtype == np.uint8
    family = env.unwrapped.family
    view = family.render()  # the family alone: the view with its minimap, as the scaling figures use it
    assert view.shape == (240, 320, 3) and view.dtype == np.uint8
    env.step(TURN_LEFT)
    assert not np.array_equal(frame, env.render()) and not np.array_equal(view, family.render())


# ------------------------------------------------------------------ point robot
def point_env(**kwargs: object) -> gym.Env:
    return gym.make("RL2PointNav-v0", **kwargs)


def test_point_dynamics_scale_and_clip() -> None:
    env = point_env()
    env.reset(options={"task": np.array([1.0, 0.0])})
    obs, _, _, _, _ = env.step(np.array([1.0, 0.5], np.float32))
    np.testing.assert_allclose(inner_obs(env, obs), [0.1, 0.05], atol=1e-7)
    obs, _, _, _, _ = env.step(np.array([5.0, -7.0], np.float32))  # clipped to [1, -1]
    np.testing.assert_allclose(inner_obs(env, obs), [0.2, -0.05], atol=1e-7)


def test_point_sparse_reward_inside_outside_radius() -> None:
    env = point_env()
    env.reset(options={"task": np.array([0.95, 0.0])})
    rewards = [env.step(np.array([1.0, 0.0], np.float32))[1] for _ in range(12)]
    distances = np.abs(0.95 - 0.1 * np.arange(1, 13))  # 0.85, ..., 0.15, 0.05, 0.05, 0.15, 0.25
    expected = np.where(distances < 0.2, 1.0 - distances, 0.0)
    np.testing.assert_allclose(rewards, expected, atol=1e-9)
    assert rewards[:7] == [0.0] * 7 and rewards[-1] == 0.0 and rewards[8] == pytest.approx(0.95)


@pytest.mark.parametrize("goal", [(0.2, 0.0), (0.0, -0.2), (-0.2, 0.0)])
def test_point_sparse_reward_at_exactly_the_radius(goal: tuple[float, float]) -> None:
    """The boundary is inside (``d <= goal_radius``): at distance exactly 0.2 the reward is 1 - 0.2.

    The robot stays at the origin (zero action) and the goal lies on an axis, so the distance is
    ``|0.2|`` computed exactly (sqrt(0.2 ** 2) rounds back to 0.2); one ulp further is outside.
    """
    env = point_env()
    env.reset(options={"task": np.array(goal)})
    _, reward, _, _, info = env.step(np.zeros(2, np.float32))
    assert info["distance"] == 0.2  # exactly the default goal_radius
    assert reward == 1.0 - 0.2
    beyond = np.sign(goal) * np.nextafter(0.2, 1.0)  # the same axis, one ulp further
    env.reset(options={"task": beyond})
    _, reward, _, _, info = env.step(np.zeros(2, np.float32))
    assert info["distance"] > 0.2 and reward == 0.0


def test_point_dense_reward_is_minus_distance() -> None:
    env = point_env(reward="dense")
    env.reset(options={"task": np.array([0.3, -0.4])})
    _, reward, _, _, _ = env.step(np.array([0.0, 0.0], np.float32))
    assert reward == pytest.approx(-0.5)


def test_point_goal_distributions_and_trial_length() -> None:
    sparse, dense = point_env().unwrapped.family, point_env(reward="dense").unwrapped.family
    rng = np.random.default_rng(0)
    goals = np.array([sparse.sample_task(rng) for _ in range(200)])
    np.testing.assert_allclose(np.linalg.norm(goals, axis=1), 1.0)
    assert np.all(goals[:, 1] >= 0) and goals[:, 0].min() < -0.9 and goals[:, 0].max() > 0.9
    goals = np.array([dense.sample_task(rng) for _ in range(200)])
    assert np.all(np.abs(goals) <= 0.5)
    env = point_env()
    env.reset(seed=0)
    assert env.get_wrapper_attr("trial_length") == 300
    done_steps = []
    for t in range(300):
        _, _, terminated, _, info = env.step(env.action_space.sample())
        if info["inner_done"]:
            done_steps.append(t + 1)
    assert done_steps == [100, 200, 300] and terminated


# ------------------------------------------------------------------ every id
@pytest.mark.parametrize(
    "env_id,kwargs",
    [(env_id, {}) for env_id in NAV_IDS]
    + [("RL2GridNav-v0", {"size": "large"}), ("RL2Maze-v0", {"size": "large"}), ("RL2PointNav-v0", {"reward": "dense"})],
)
def test_checkers_pass(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, **kwargs)
    gym_check_env(env.unwrapped)
    sb3_check_env(gym.make(env_id, **kwargs), warn=False)


@pytest.mark.parametrize("env_id", NAV_IDS)
def test_same_seed_same_observations(env_id: str) -> None:
    def rollout() -> list:
        env = gym.make(env_id)
        env.action_space.seed(0)
        obs, _ = env.reset(seed=42)
        out = [obs]
        for _ in range(60):
            obs, reward, terminated, _, _ = env.step(env.action_space.sample())
            out.append((obs, reward))
            if terminated:
                obs, _ = env.reset()
        return out

    a, b = rollout(), rollout()
    for x, y in zip(a, b):
        assert gym.utils.env_checker.data_equivalence(x, y)


@pytest.mark.parametrize(
    "env_id, kwargs, name",
    [
        ("RL2GridNav-v0", {"size": "medium"}, "size"),
        ("RL2GridNav-v0", {"view_size": 4}, "view_size"),
        ("RL2GridNav-v0", {"view_size": 1}, "view_size"),
        ("RL2GridNav-v0", {"max_episode_length": 0}, "max_episode_length"),
        ("RL2GridNav-v0", {"episodes_per_trial": 0}, "episodes_per_trial"),
        ("RL2GridNav-v0", {"render_mode": "rgb"}, "render_mode"),
        ("RL2Maze-v0", {"size": 3}, "size"),
        ("RL2Maze-v0", {"height": 2}, "height"),
        ("RL2Maze-v0", {"width": 40.0}, "width"),
        ("RL2Maze-v0", {"max_episode_length": -5}, "max_episode_length"),
        ("RL2Maze-v0", {"render_mode": "depth_array"}, "render_mode"),
        ("RL2PointNav-v0", {"reward": "shaped"}, "reward"),
        ("RL2PointNav-v0", {"goal_radius": 0.0}, "goal_radius"),
        ("RL2PointNav-v0", {"episode_length": 0}, "episode_length"),
        ("RL2PointNav-v0", {"render_mode": "video"}, "render_mode"),
        ("RL2PointNav-v0", {"render_mode": ["rgb_array"]}, "render_mode"),  # not a string: gym.make passes it on
        # over the limits (meta_envs.validation): refused before anything is allocated
        (
            "RL2GridNav-v0",
            {"view_size": 10**5 + 1},
            r"view_size=100001 would allocate about 2.3 TiB \(256 bytes per square of the view\)",
        ),
        ("RL2Maze-v0", {"height": 10**5, "width": 10**5}, r"height=100000, width=100000 would allocate about .* GiB"),
        ("RL2Maze-v0", {"max_episode_length": 10**7}, r"max_episode_length must be an integer in \[1, 1000000\]"),
        ("RL2Maze-v0", {"episodes_per_trial": 10**4}, r"episodes_per_trial=10000 \(inner episodes of up to 250 steps\)"),
        ("RL2PointNav-v0", {"episode_length": 10**9}, r"episode_length must be an integer in \[1, 1000000\]"),
        ("RL2PointNav-v0", {"steps_per_trial": 10**9}, r"steps_per_trial must be an integer in \[1, 1000000\]"),
    ],
)
def test_bad_kwargs_name_the_parameter(env_id: str, kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        gym.make(env_id, **kwargs)


@pytest.mark.parametrize("env_id", NAV_IDS)
def test_unknown_kwarg_lists_allowed(env_id: str) -> None:
    with pytest.raises(UnknownKwargError, match="allowed kwargs"):
        gym.make(env_id, num_arms=3)


def test_the_largest_documented_navigation_settings_are_accepted() -> None:
    for env_id, kwargs in [
        ("RL2GridNav-v0", {"size": "large", "view_size": 11, "episodes_per_trial": 100}),
        ("RL2Maze-v0", {"size": "large", "height": 240, "width": 320, "episodes_per_trial": 100}),
        ("RL2PointNav-v0", {"episode_length": 1000, "episodes_per_trial": 100}),
    ]:
        gym.make(env_id, **kwargs).reset(seed=0)


def test_maze_tasks_accept_array_likes_and_name_the_field_they_refuse() -> None:
    task = MazeTask(generate_maze(np.random.default_rng(0), 3), (1, 1), 1, (5, 5))
    from_lists = MazeTask(task.grid.tolist(), [1, 1], np.int64(1), np.array([5, 5]))
    assert from_lists.grid.dtype == np.uint8 and from_lists.start == (1, 1) and from_lists.goal == (5, 5)
    np.testing.assert_array_equal(from_lists.grid, task.grid)
    gym.make("RL2GridNav-v0").reset(options={"task": from_lists})
    open_border = task.grid.copy()
    open_border[0, 1] = FREE
    for fields, match in [
        ({"grid": open_border}, r"task.grid must have a wall \(1\) all around its border"),
        ({"grid": task.grid.astype(float) * 2}, r"task.grid must be finite integers in \[0, 1\]"),
        ({"grid": task.grid[:, :-1]}, r"task.grid must be a square array"),
        ({"start": "ab"}, r"task.start must be a square \(row, col\) of the grid"),
        ({"goal": (1.5, 5)}, r"task.goal must be a square \(row, col\) of the grid .* got non-integer values"),
        ({"heading": True}, r"task.heading must be one of \[0, 1, 2, 3\], got True"),
        ({"heading": 1.0}, r"task.heading must be one of \[0, 1, 2, 3\], got 1.0"),
    ]:
        with pytest.raises(ValueError, match=match):
            MazeTask(**{"grid": task.grid, "start": task.start, "heading": task.heading, "goal": task.goal, **fields})
    with pytest.raises(
        ValueError, match=r"task must be a MazeTask\(grid, start, heading, goal\) with a grid of shape \(7, 7\)"
    ):
        gym.make("RL2GridNav-v0").reset(options={"task": task.grid})


def test_point_goals_accept_array_likes_inside_the_reachable_square_only() -> None:
    env = point_env()
    env.reset(options={"task": [0.5, 0.25]})
    np.testing.assert_array_equal(env.unwrapped.task, [0.5, 0.25])
    for goal in ([1e300, 0.0], [10.5, 0.0], ["a", "b"], [0.1], [[0.1, 0.2]], None):
        with pytest.raises(
            ValueError, match=r"task must be a goal position \(x, y\) in \[-10, 10\]\^2 \(the reachable square\)"
        ):
            env.reset(options={"task": goal})


@pytest.mark.parametrize("env_id", MAZE_IDS)
def test_a_task_set_on_the_family_mid_episode_keeps_the_paths_until_the_next_reset(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    family = env.unwrapped.family
    env.step(TURN_LEFT)
    family.set_task(
        MazeTask(generate_maze(np.random.default_rng(1), family.cells), (1, 1), 0, (5, 5))
    )  # the agent is at (3, 3)
    env.step(TURN_LEFT)  # the episode under way goes on, recorded
    assert [len(path) for path in family.episode_paths] == [3]
    env.reset(seed=1)
    assert [len(path) for path in family.episode_paths] == [1]

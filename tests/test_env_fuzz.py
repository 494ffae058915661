"""Seeded fuzzing of every registered id and the numpy vector envs.

Env kwargs, task objects (made by the task classes, given to ``reset(options=...)`` and to the families'
``set_task``), reset seeds and options, and actions are drawn from good values and from a pool of bad ones
(wrong types, NaN, negative, zero, huge, ragged, mutated tasks). Every call must either work or raise a
``ValueError`` / ``TypeError`` whose message names a parameter: never another exception, and no input may
allocate much (the over-limit values of the pool are refused before anything is allocated, and the peak
of the traced allocations stays small). A refused reset must leave the env as it was, so the driver keeps
stepping a trial under way after one.
"""

from __future__ import annotations

import dataclasses
import inspect
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from frames import MUJOCO_FRAMES, MUJOCO_IDS

import meta_envs  # noqa: F401  (registers the ids)
from meta_envs.registration import ENV_IDS

ALLOWED = (ValueError, TypeError)
VECTOR_IDS = [env_id for env_id, (_, vector) in ENV_IDS.items() if vector is not None]
# names a message may use for what it refuses, besides the kwargs themselves
CALL_NAMES = ("seed", "options", "task", "action", "unknown env kwarg", "episodes_per_trial", "steps_per_trial")
PEAK_BYTES = 256 << 20  # the most the traced allocations of one example may reach

# cheap good values of every kwarg (the fuzz checks refusals, not throughput)
GOOD: dict[str, list[Any]] = {
    "num_arms": [2, 3, 5, np.int64(7), 50],
    "num_states": [1, 2, 10, 13],
    "num_actions": [1, 2, 5],
    "episode_length": [1, 3, 10],
    "max_episode_length": [1, 5, 30],
    "episodes_per_trial": [1, 2, 5],
    "steps_per_trial": [1, 7, 30],
    "arm_prior": ["uniform", "normal"],
    "reward_kind": ["gaussian", "deterministic_uniform", "sparse", "dense"],
    "reward": ["sparse", "dense"],
    "dirichlet_alpha": [0.001, 0.5, 1.0, 3, 1e6],
    "render_mode": [None, "ansi", "rgb_array"],
    "time_inputs": [False, True],
    "size": ["small", "large", 11, 13],
    "view_size": [3, 5, 9],
    "height": [8, 12, 30],
    "width": [8, 17, 40],
    "goal_radius": [0.05, 0.2, 3.0],
    "variant": ["standard", "dense", "deterministic", "watery", "dangerous", "corner"],
    "gamma": [0.5, 0.99, 1.0],
    "vi_tolerance": [1e-6, 0.01, 1.0],
    "num_envs": [1, 2, 4],
    "max_velocity": [0.5, 3.0],
    "directions": ["forward_backward", "all"],
    "benchmark": ["ML1"],
    "env_name": ["reach-v3", "push-v3"],
    "split": ["train", "test"],
    "benchmark_seed": [0, 1],
}

# bad values: wrong types, out of range, over the memory and trial-length limits
BAD: list[Any] = [
    -1,
    0,
    -(10**30),
    10**9,
    10**30,
    2**63,
    1.5,
    -0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    True,
    None,
    "3",
    "",
    "rgb_array",
    b"x",
    [],
    [1, 2],
    (3,),
    {},
    {"a": 1},
    object(),
    1 + 2j,
    np.int64(-5),
    np.float32(2.0),
    np.array([3]),
    np.array(4),
    np.bool_(True),
]
# sizes over every limit whatever the other kwargs (memory: at least 10^8 arms, pixels, env copies...; trial length)
OVER_LIMIT: list[Any] = [10**8 + 1, 10**9, 10**12, 2**62, 10**30, np.int64(2**40)]
SIZES = [
    "num_arms",
    "num_states",
    "num_actions",
    "num_envs",
    "view_size",
    "height",
    "width",
    "episode_length",
    "max_episode_length",
    "episodes_per_trial",
    "steps_per_trial",
]


def _bad(rng: np.random.Generator) -> Any:
    return BAD[int(rng.integers(len(BAD)))]


def _pick(rng: np.random.Generator, values: list[Any]) -> Any:
    return values[int(rng.integers(len(values)))]


def _mutate_array(rng: np.random.Generator, value: Any) -> Any:
    """A good array-like field turned into something else: a list, floats, NaN, out of range, reshaped, junk."""
    array = np.array(value)
    choice = int(rng.integers(10))
    if choice == 0:
        return array.tolist()
    if choice == 1:
        return array.astype(np.float64)
    if choice == 2 and array.size:
        bad = array.astype(np.float64)
        bad.reshape(-1)[int(rng.integers(bad.size))] = _pick(rng, [np.nan, np.inf, -1.0, 2.0, 7.0, 0.5, 1e300])
        return bad
    if choice == 3:
        return array.reshape(-1)[: max(array.size - 1, 0)]
    if choice == 4:
        return array[..., None]
    if choice == 5:
        return array.astype(str).tolist()
    if choice == 6:
        return array.tolist()[:-1] + [["x"]] if array.ndim and len(array) else "x"
    if choice == 7:
        return array.T
    return _bad(rng)


def _mutate_task(rng: np.random.Generator, task: Any) -> Any:
    """A task close to a good one: the same, one field (or the whole array) mutated, or junk."""
    choice = int(rng.integers(6))
    if choice == 0:
        return task
    if choice == 1:
        return _bad(rng)
    if dataclasses.is_dataclass(task):
        fields = [f.name for f in dataclasses.fields(task)]
        values = {name: getattr(task, name) for name in fields}
        name = _pick(rng, fields)
        values[name] = _mutate_array(rng, values[name]) if rng.random() < 0.7 else _bad(rng)
        return type(task)(**values)  # the task classes check their fields: this may raise too
    return _mutate_array(rng, task)


def _names_a_parameter(message: str, names: list[str]) -> bool:
    return any(name in message for name in [*names, *CALL_NAMES])


class Failure(AssertionError):
    """An input that raised something other than a clear ValueError / TypeError."""


def _call(counts: Counter, what: str, names: list[str], fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run ``fn``: ``(True, result)`` if it worked, ``(False, None)`` if it was refused clearly; else raise Failure."""
    try:
        result = fn()
    except ALLOWED as error:
        message = str(error)
        # gym.make appends the kwargs to a TypeError of an entry point ("... was raised from the environment creator")
        first_line = "\n" not in message or "was raised from the environment creator" in message
        if not first_line or not _names_a_parameter(message, names):
            raise Failure(f"{what}: unclear {type(error).__name__}: {message!r}") from error
        counts["clear errors"] += 1
        return False, None
    except Failure:
        raise
    except Exception as error:
        raise Failure(f"{what}: {type(error).__name__}: {error}") from error
    counts["worked"] += 1
    return True, result


def _entry_params(env_id: str, vector: bool) -> list[str]:
    entry_point, vector_entry_point = ENV_IDS[env_id]
    module, name = (vector_entry_point if vector else entry_point).split(":")
    fn = getattr(__import__(module, fromlist=[name]), name)
    return list(inspect.signature(fn).parameters)


def _kwargs(rng: np.random.Generator, params: list[str], vector: bool) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name in params:
        if rng.random() < 0.5:
            continue
        kwargs[name] = _pick(rng, GOOD[name]) if rng.random() < 0.85 else _bad(rng)
    if "episodes_per_trial" in kwargs and "steps_per_trial" in kwargs and rng.random() < 0.8:
        del kwargs[_pick(rng, ["episodes_per_trial", "steps_per_trial"])]
    sizes = [name for name in SIZES if name in params]
    if sizes and rng.random() < 0.25:  # one size over the limits: refused before anything is allocated
        kwargs[_pick(rng, sizes)] = _pick(rng, OVER_LIMIT)
    if rng.random() < 0.03:
        kwargs["num_armz"] = 3  # an unknown kwarg
    if vector:
        kwargs.setdefault("num_envs", _pick(rng, GOOD["num_envs"]))
        if rng.random() < 0.9:  # the vector envs refuse every render mode: keep most of them making an env
            kwargs.pop("render_mode", None)
    return kwargs


def _seed(rng: np.random.Generator, num_envs: int | None) -> Any:
    r = rng.random()
    if r < 0.5:
        return int(rng.integers(1000))
    if r < 0.65:
        return None
    if r < 0.75 and num_envs is not None:
        return list(rng.integers(0, 1000, size=num_envs + int(rng.integers(-1, 2)) * (rng.random() < 0.3)))
    if r < 0.8:
        return np.int64(rng.integers(1000))
    return _bad(rng)


def _action(rng: np.random.Generator, space: gym.Space) -> Any:
    if rng.random() < 0.85:
        return space.sample()
    if rng.random() < 0.5:
        good = space.sample()
        return _mutate_array(rng, good) if np.ndim(good) else _pick(rng, [np.float64(good), -1, space.shape, str(good)])
    return _bad(rng)


def fuzz_one(rng: np.random.Generator, counts: Counter) -> None:
    """One example: make an env from drawn kwargs, then reset, set tasks, step and render it with drawn inputs."""
    vector = rng.random() < 0.3
    env_id = _pick(rng, VECTOR_IDS if vector else list(ENV_IDS))
    params = _entry_params(env_id, vector)
    kwargs = _kwargs(rng, params, vector)
    label = f"{env_id}{' (vector)' if vector else ''} {kwargs}"
    counts["inputs"] += 1

    def make() -> Any:
        if vector:
            return gym.make_vec(env_id, vectorization_mode="vector_entry_point", **kwargs)
        return gym.make(env_id, **kwargs)

    made, env = _call(counts, f"make {label}", list(kwargs), make)
    if not made:
        return
    counts[f"made {env_id}{' (vector)' if vector else ''}"] += 1
    family = env.unwrapped.family
    num_envs = env.num_envs if vector else None
    sample_rng = np.random.default_rng(int(rng.integers(2**32)))
    running, over = False, False
    for _ in range(int(rng.integers(1, 5))):
        options: Any = None
        r = rng.random()
        if r < 0.4:  # a task close to a sampled one, made by its class
            counts["inputs"] += 1
            ok, task = _call(counts, f"task of {label}", [], lambda: _mutate_task(rng, family.sample_task(sample_rng)))
            if ok and vector:
                tasks = [family.sample_task(sample_rng) for _ in range(num_envs)]
                tasks[int(rng.integers(num_envs))] = task
                options = {"tasks": tasks if rng.random() < 0.9 else tasks[:-1]}
            elif ok:
                options = {"task": task}
        elif r < 0.5:
            options = _pick(
                rng,
                [{"task": None}, {"tasks": None}, {"taks": 1}, [], "task", {}, {"tasks": "abc"}, 7, {"tasks": np.array(4)}],
            )
        elif r < 0.6 and not vector:  # the family's own set_task, then a reset to use it
            counts["inputs"] += 1
            task = family.sample_task(sample_rng)
            _call(counts, f"set_task on {label}", [], lambda task=task: family.set_task(_mutate_task(rng, task)))
        seed = _seed(rng, num_envs)
        counts["inputs"] += 1
        reset, _ = _call(
            counts,
            f"reset(seed={seed!r}, options={options!r}) of {label}",
            [],
            lambda seed=seed, options=options: env.reset(seed=seed, options=options),
        )
        running, over = running or reset, over and not reset
        if not running:
            continue
        for _ in range(int(rng.integers(0, 12))):
            if over:
                break
            action = _action(rng, env.action_space)
            counts["inputs"] += 1
            stepped, result = _call(counts, f"step({action!r}) of {label}", [], lambda action=action: env.step(action))
            if stepped and not vector:
                over = bool(result[2])
        frames = MUJOCO_FRAMES or env_id not in MUJOCO_IDS or kwargs.get("render_mode") != "rgb_array"
        if kwargs.get("render_mode") in ("ansi", "rgb_array") and not vector and frames and rng.random() < 0.3:
            counts["inputs"] += 1
            _call(counts, f"render of {label}", [], env.render)
    env.close()


def fuzz(seed: int, examples: int, trace_memory: bool = True) -> Counter:
    """Run ``examples`` seeded examples; return the counts (``inputs``, ``worked``, ``clear errors``).

    Raises :class:`Failure` on the first input refused unclearly, or that raised any other exception, or
    whose example's traced allocations peaked over ``PEAK_BYTES``.
    """
    rng = np.random.default_rng(seed)
    counts: Counter = Counter()
    for example in range(examples):
        if trace_memory:
            tracemalloc.start()
        try:
            fuzz_one(rng, counts)
        finally:
            if trace_memory:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
        if trace_memory and peak > PEAK_BYTES:
            raise Failure(f"example {example} of seed {seed} allocated {peak / 2**20:.0f} MiB")
        counts["examples"] += 1
    return counts


@pytest.mark.timeout(120)
def test_every_fuzzed_input_works_or_is_refused_with_an_error_naming_a_parameter():
    counts = fuzz(seed=0, examples=250)
    # the draws reach every kind of outcome (the fuzz is not refusing, or accepting, everything) and every env
    assert counts["examples"] == 250 and counts["worked"] > 500 and counts["clear errors"] > 200, counts
    assert counts["worked"] + counts["clear errors"] == counts["inputs"]  # no input was dropped unchecked
    assert all(counts[f"made {env_id}"] for env_id in ENV_IDS), counts
    assert all(counts[f"made {env_id} (vector)"] for env_id in VECTOR_IDS), counts

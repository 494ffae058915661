"""Tests of rl2_agent.buffers: the gather-padded rollout buffers give the stock buffers' samples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RNNStates

from rl2_agent.buffers import (
    FastRolloutBufferCallback,
    GatherRecurrentDictRolloutBuffer,
    GatherRecurrentRolloutBuffer,
    sequence_index,
    use_fast_rollout_buffer,
)
from rl2_agent.training.config import TrainConfig
from rl2_agent.training.loop import build_model, make_training_env, train

N_STEPS, N_ENVS, LAYERS, HIDDEN = 7, 5, 2, 4
FLAT = spaces.Box(-1.0, 1.0, (3,), np.float32)
DICT = spaces.Dict({"image": spaces.Box(0, 255, (4, 4, 3), np.uint8), "context": FLAT})


def filled(buffer_class: type, observation_space: spaces.Space, action_space: spaces.Space, seed: int) -> Any:
    """A full buffer of random transitions: the same ones for the same seed, episode starts anywhere."""
    rng = np.random.default_rng(seed)
    buffer = buffer_class(
        N_STEPS,
        observation_space,
        action_space,
        (N_STEPS, LAYERS, N_ENVS, HIDDEN),
        "cpu",
        gae_lambda=0.9,
        gamma=0.95,
        n_envs=N_ENVS,
    )
    for _ in range(N_STEPS):
        if isinstance(observation_space, spaces.Dict):
            obs: Any = {k: rng.random((N_ENVS, *s.shape)).astype(np.float32) for k, s in observation_space.spaces.items()}
        else:
            obs = rng.random((N_ENVS, *observation_space.shape)).astype(np.float32)
        actions = rng.integers(0, 3, (N_ENVS, 1)) if isinstance(action_space, spaces.Discrete) else rng.random((N_ENVS, 2))
        states = [th.as_tensor(rng.standard_normal((LAYERS, N_ENVS, HIDDEN)), dtype=th.float32) for _ in range(4)]
        buffer.add(
            obs,
            actions,
            rng.random(N_ENVS),
            rng.random(N_ENVS) < 0.3,
            th.as_tensor(rng.random(N_ENVS)),
            th.as_tensor(rng.random(N_ENVS)),
            lstm_states=RNNStates(tuple(states[:2]), tuple(states[2:])),
        )
    buffer.compute_returns_and_advantage(th.as_tensor(rng.random(N_ENVS)), rng.random(N_ENVS) < 0.3)
    return buffer


def assert_same(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape
        assert th.equal(a, b)


@pytest.mark.parametrize("batch_size", [N_STEPS * N_ENVS, 8, 13])
@pytest.mark.parametrize(
    ("stock", "ours", "observation_space", "action_space"),
    [
        (RecurrentRolloutBuffer, GatherRecurrentRolloutBuffer, FLAT, spaces.Discrete(3)),
        (RecurrentRolloutBuffer, GatherRecurrentRolloutBuffer, FLAT, spaces.Box(-1.0, 1.0, (2,), np.float32)),
        (RecurrentDictRolloutBuffer, GatherRecurrentDictRolloutBuffer, DICT, spaces.Discrete(3)),
    ],
)
def test_samples_equal_the_stock_buffer(
    stock: type, ours: type, observation_space: Any, action_space: Any, batch_size: int
) -> None:
    """Every field of every minibatch of two epochs, shuffled alike, is equal (values, dtypes, shapes)."""
    reference, fast = filled(stock, observation_space, action_space, 0), filled(ours, observation_space, action_space, 0)
    padded = 0
    for epoch in range(2):
        np.random.seed(epoch)  # the buffers' shuffle (a random split point)
        expected = list(reference.get(batch_size))
        np.random.seed(epoch)
        got = list(fast.get(batch_size))
        assert len(got) == len(expected)
        for e, g in zip(expected, got):
            assert type(e) is type(g)
            for field in e._fields:
                assert_same(getattr(e, field), getattr(g, field))
            assert np.array_equal(fast.seq_start_indices, reference.seq_start_indices)
            padded += int((g.mask == 0).sum())
    assert padded > 0  # the cases do pad (episode starts in mid-rollout)


def test_sequence_index_cuts_at_starts_and_env_changes() -> None:
    starts, index, valid = sequence_index(np.array([0, 0, 1, 0, 0, 0]), np.array([1, 0, 0, 0, 1, 0]))
    assert starts.tolist() == [0, 2, 4]
    assert index.tolist() == [[0, 1], [2, 3], [4, 5]]
    assert valid.all()
    starts, index, valid = sequence_index(np.array([0, 1, 0, 0]), np.zeros(4))
    assert starts.tolist() == [0, 1]
    assert index.tolist() == [[0, 0, 0], [1, 2, 3]]
    assert valid.tolist() == [[True, False, False], [True, True, True]]


def test_rl2_train_uses_the_gather_buffer_also_after_resume(tmp_path: Any) -> None:
    config = TrainConfig(
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 4},
        128,
        out=str(tmp_path),
        eval_trials=10,
        hyperparams={"n_envs": 4, "n_steps": 16, "batch_size": 32, "policy_kwargs": {"gru_hidden_size": 8}},
    )
    model = train(config, progress=False)
    assert type(model.rollout_buffer) is GatherRecurrentRolloutBuffer
    assert model.rollout_buffer.buffer_size == 16 and model.rollout_buffer.n_envs == 4
    assert model.rollout_buffer.gamma == model.gamma and model.rollout_buffer.gae_lambda == model.gae_lambda
    config.total_timesteps = 192
    resumed = train(config, resume=True, progress=False)
    assert resumed.num_timesteps == 192 and type(resumed.rollout_buffer) is GatherRecurrentRolloutBuffer
    # the stock buffer on request, and the swap keeps the model
    stock = build_model(config, make_training_env(config), fast_buffer=False)
    assert type(stock.rollout_buffer) is RecurrentRolloutBuffer
    assert use_fast_rollout_buffer(stock) is stock and type(stock.rollout_buffer) is GatherRecurrentRolloutBuffer


def test_callback_swaps_the_buffer_for_code_that_builds_the_model_itself() -> None:
    """RL Zoo's route: ``callback:`` in its yaml; the Zoo instantiates it by its dotted path."""
    get_callback_list = pytest.importorskip("rl_zoo3.utils").get_callback_list
    from rl2_agent.zoo import config as zoo_config

    (callback,) = get_callback_list({"callback": zoo_config.CALLBACK})
    assert isinstance(callback, FastRolloutBufferCallback)
    config = TrainConfig(
        "RL2Bandit-v0",
        {"num_arms": 3, "episodes_per_trial": 4},
        64,
        hyperparams={"n_envs": 4, "n_steps": 8, "batch_size": 16, "policy_kwargs": {"gru_hidden_size": 8}},
    )
    model = build_model(config, make_training_env(config), fast_buffer=False)
    model.learn(64, callback=callback)
    assert type(model.rollout_buffer) is GatherRecurrentRolloutBuffer and model.num_timesteps == 64

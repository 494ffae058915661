"""Tests of rl2_agent.policies: RL2GRUPolicy (separate actor/critic GRUs) under the stock RecurrentPPO."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.type_aliases import RNNStates
from stable_baselines3.common.distributions import CategoricalDistribution, DiagGaussianDistribution
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

import meta_envs  # noqa: F401  (registers the ids)
import rl2_agent.policies as policies
from rl2_agent.envs import make_vec_env
from rl2_agent.policies import DEFAULT_NET_ARCH, LayerNormGRU, RL2CombinedExtractor, RL2GRUPolicy

BANDIT = "RL2Bandit-v0"


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """These networks are tiny: one thread is faster, and immune to other processes on the cores."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    th.manual_seed(0)
    yield
    th.set_num_threads(threads)


def constant_lr(_: float) -> float:
    return 1e-3


def make_policy(
    observation_space: spaces.Space | None = None, action_space: spaces.Space | None = None, **kwargs: Any
) -> RL2GRUPolicy:
    if observation_space is None:
        env = gym.make(BANDIT, num_arms=5, episodes_per_trial=10)
        observation_space, action_space = env.observation_space, env.action_space
    kwargs.setdefault("gru_hidden_size", 16)
    return RL2GRUPolicy(observation_space, action_space, constant_lr, **kwargs)


def zero_states(policy: RL2GRUPolicy, n: int) -> RNNStates:
    shape = (policy.n_gru_layers, n, policy.gru_hidden_size)
    return RNNStates((th.zeros(shape), th.zeros(shape)), (th.zeros(shape), th.zeros(shape)))


def random_states(policy: RL2GRUPolicy, n: int) -> RNNStates:
    shape = (policy.n_gru_layers, n, policy.gru_hidden_size)
    return RNNStates((th.randn(shape), th.randn(shape)), (th.randn(shape), th.randn(shape)))


def bandit_obs(n: int, num_arms: int = 5) -> th.Tensor:
    """``n`` valid bandit trial observations: [1, one-hot previous arm, previous reward, done]."""
    obs = th.zeros(n, 1 + num_arms + 2)
    obs[:, 0] = 1.0
    obs[th.arange(n), 1 + th.randint(num_arms, (n,))] = 1.0
    obs[:, -2] = th.randint(2, (n,)).float()
    obs[:, -1] = 1.0
    return obs


# ---------------------------------------------------------------------------------------------
# construction
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_gru_layers, share_features_extractor", [(1, True), (2, False)])
def test_shapes(n_gru_layers: int, share_features_extractor: bool) -> None:
    policy = make_policy(n_gru_layers=n_gru_layers, share_features_extractor=share_features_extractor)
    n_envs, n_seq, length = 3, 4, 6
    actions, values, log_prob, states = policy(bandit_obs(n_envs), zero_states(policy, n_envs), th.ones(n_envs))
    assert actions.shape == (n_envs,) and values.shape == (n_envs, 1) and log_prob.shape == (n_envs,)
    for h in (*states.pi, *states.vf):
        assert h.shape == (n_gru_layers, n_envs, 16)

    batch = n_seq * length
    starts = th.zeros(n_seq, length)
    starts[:, 0] = 1.0
    values, log_prob, entropy = policy.evaluate_actions(
        bandit_obs(batch), th.randint(5, (batch,)), random_states(policy, n_seq), starts.flatten()
    )
    assert values.shape == (batch, 1) and log_prob.shape == (batch,) and entropy.shape == (batch,)
    states = random_states(policy, n_seq)
    assert policy.predict_values(bandit_obs(batch), states.vf, starts.flatten()).shape == (batch, 1)


def test_architecture_and_optimizer() -> None:
    policy = make_policy(gru_hidden_size=32)
    assert isinstance(policy.gru_actor, nn.GRU) and isinstance(policy.gru_critic, nn.GRU)
    assert policy.gru_actor is policy.lstm_actor and policy.gru_critic is policy.lstm_critic
    assert not any(isinstance(m, nn.LSTM) for m in policy.modules())
    assert policy.lstm_actor.hidden_size == 32 and policy.lstm_actor.num_layers == 1
    assert policy.lstm_hidden_state_shape == (1, 1, 32)
    assert policy.net_arch == DEFAULT_NET_ARCH
    assert isinstance(policy.action_dist, CategoricalDistribution)
    # the actor and the critic GRUs have distinct storage
    actor_ptrs = {p.data_ptr() for p in policy.gru_actor.parameters()}
    critic_ptrs = {p.data_ptr() for p in policy.gru_critic.parameters()}
    assert len(actor_ptrs) == 4 and len(critic_ptrs) == 4 and not actor_ptrs & critic_ptrs
    # the optimizer holds exactly the policy's parameters, GRUs included
    in_optimizer = {id(p) for group in policy.optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in policy.parameters()}
    for gru in (policy.gru_actor, policy.gru_critic):
        assert all(id(p) in in_optimizer for p in gru.parameters())
        # orthogonal init: zero biases, each gate block of the recurrent matrix orthogonal
        assert all(th.count_nonzero(b) == 0 for b in (gru.bias_ih_l0, gru.bias_hh_l0))
        for block in gru.weight_hh_l0.detach().chunk(3):
            th.testing.assert_close(block @ block.T, th.eye(32), atol=1e-5, rtol=0)


def test_optimizer_updates_both_grus() -> None:
    env = make_vec_env(BANDIT, 4, dict(num_arms=2, episodes_per_trial=5), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy, env, n_steps=10, batch_size=20, n_epochs=1, policy_kwargs=dict(gru_hidden_size=8), seed=0
    )
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(40)
    after = model.policy.state_dict()
    for name in ("lstm_actor.weight_hh_l0", "lstm_critic.weight_hh_l0", "lstm_actor.weight_ih_l0", "lstm_critic.weight_ih_l0"):
        assert not th.equal(before[name], after[name]), name


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(lstm_hidden_size=64), ValueError),
        (dict(n_lstm_layers=2), ValueError),
        (dict(shared_lstm=True), ValueError),
        (dict(enable_critic_lstm=False), ValueError),
        (dict(lstm_kwargs=dict(dropout=0.1)), ValueError),
        (dict(gru_hidden_size=0), ValueError),
        (dict(not_a_kwarg=1), TypeError),
    ],
)
def test_rejects_lstm_and_unknown_kwargs(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error, match="gru_hidden_size|unexpected"):
        make_policy(**kwargs)


@pytest.mark.parametrize(
    "net_arch, match",
    [
        ([0], r"net_arch must be a list of layer sizes \(integers >= 1\), got \[0\]"),
        ([-4], r"net_arch must be a list of layer sizes"),
        ("64", r"net_arch must be a list of layer sizes"),
        ([8.5], r"net_arch must be a list of layer sizes"),
        ({"pi": [], "v": [64]}, r"net_arch keys must be 'pi' and/or 'vf', got unknown keys \['v'\]"),
        ({"vf": [0]}, r"net_arch\['vf'\] must be a list of layer sizes"),
    ],
)
def test_rejects_bad_net_arch(net_arch: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_policy(net_arch=net_arch)


def test_net_arch_dict_with_one_key_keeps_the_others_default() -> None:
    policy = make_policy(net_arch={"pi": [32]})
    assert policy.net_arch == {"pi": [32], "vf": DEFAULT_NET_ARCH["vf"]}
    linear = [m.out_features for m in policy.mlp_extractor.value_net if isinstance(m, th.nn.Linear)]
    assert linear == DEFAULT_NET_ARCH["vf"]
    assert make_policy(net_arch=[8]).net_arch == [8]


def test_rejects_lstm_kwargs_through_recurrent_ppo() -> None:
    env = make_vec_env(BANDIT, 2, dict(num_arms=2, episodes_per_trial=5), seed=0)
    with pytest.raises(ValueError, match="gru_hidden_size"):
        RecurrentPPO(RL2GRUPolicy, env, policy_kwargs=dict(lstm_hidden_size=64))


# ---------------------------------------------------------------------------------------------
# recurrence
# ---------------------------------------------------------------------------------------------
def test_hidden_state_carries_within_trial_and_resets_at_trial_start() -> None:
    policy = make_policy()
    env = gym.make(BANDIT, num_arms=5, episodes_per_trial=10)
    obs, _ = env.reset(seed=3)
    state, start = None, True
    hidden_states = []
    for _ in range(10):
        action, state = policy.predict(obs, state, np.array([start]), deterministic=True)
        hidden_states.append(state[0].copy())
        assert state[0].shape == (1, 1, 16)
        assert np.array_equal(state[1], np.zeros((1, 1, 16)))  # the dummy second state is carried unchanged
        obs, _, terminated, _, info = env.step(int(action))
        start = terminated
    # each pull ends an inner episode, yet the state keeps changing (it is not reset) within the trial
    assert terminated and len(info["trial_returns"]) == 10
    assert np.abs(hidden_states[0]).max() > 1e-3
    assert all(not np.allclose(a, b) for a, b in zip(hidden_states[:-1], hidden_states[1:]))
    # the same observation after a different history gives a different state
    obs_t = th.as_tensor(obs[None])
    fresh = policy.predict(obs, None, np.array([True]))[1][0]
    carried = policy.predict(obs, state, np.array([False]))[1][0]
    assert not np.allclose(fresh, carried)
    # at a trial start (episode_start=True) a non-zero state gives exactly a fresh start
    for _ in range(3):
        state_reset = policy.predict(obs, state, np.array([True]))[1]
        np.testing.assert_array_equal(state_reset[0], fresh)
    with th.no_grad():
        dist_reset, _ = policy.get_distribution(obs_t, tuple(th.as_tensor(s, dtype=th.float32) for s in state), th.ones(1))
        dist_fresh, _ = policy.get_distribution(obs_t, (th.zeros(1, 1, 16), th.zeros(1, 1, 16)), th.zeros(1))
    th.testing.assert_close(dist_reset.distribution.probs, dist_fresh.distribution.probs, rtol=0, atol=0)


def reference_step_loop(
    features: th.Tensor, hidden: th.Tensor, episode_starts: th.Tensor, gru: nn.GRU
) -> tuple[th.Tensor, th.Tensor]:
    """The per-step loop of RecurrentActorCriticPolicy._process_sequence, for a GRU."""
    n_seq = hidden.shape[1]
    sequence = features.reshape(n_seq, -1, gru.input_size).swapaxes(0, 1)
    starts = episode_starts.reshape(n_seq, -1).swapaxes(0, 1)
    outputs = []
    for x, start in zip(sequence, starts):
        out, hidden = gru(x.unsqueeze(0), (1.0 - start).view(1, n_seq, 1) * hidden)
        outputs.append(out)
    return th.flatten(th.cat(outputs).transpose(0, 1), 0, 1), hidden


@pytest.mark.parametrize("fused", [True, False], ids=["fused GRU", "nn.GRU"])
@pytest.mark.parametrize("n_gru_layers", [1, 2])
@pytest.mark.parametrize("starts_at", ["first", "random"])
def test_fast_sequence_matches_step_loop(starts_at: str, n_gru_layers: int, fused: bool, monkeypatch: Any) -> None:
    monkeypatch.setattr(policies, "FUSED_GRU", fused)
    n_seq, length, n_features, hidden_size = 7, 12, 9, 24
    gru = nn.GRU(n_features, hidden_size, num_layers=n_gru_layers)
    starts = th.zeros(n_seq, length)
    starts[:, 0] = (th.rand(n_seq) < 0.5).float()
    if starts_at == "random":
        starts[:, 1:] = (th.rand(n_seq, length - 1) < 0.08).float()
    starts = starts.flatten()
    features = th.randn(n_seq * length, n_features)
    hidden = th.randn(n_gru_layers, n_seq, hidden_size)
    dummy = th.randn(n_gru_layers, n_seq, hidden_size)
    weights = th.randn(n_seq * length, hidden_size)

    def run(fast: bool) -> tuple[th.Tensor, th.Tensor, list[th.Tensor]]:
        gru.zero_grad()
        x, h0 = features.clone().requires_grad_(), hidden.clone().requires_grad_()
        if fast:
            out, (h, d) = RL2GRUPolicy._process_sequence(x, (h0, dummy), starts, gru)
            assert d is dummy
        else:
            out, h = reference_step_loop(x, h0, starts, gru)
        ((out * weights).sum() + (h * h).sum()).backward()
        return out.detach(), h.detach(), [x.grad, h0.grad, *(p.grad.clone() for p in gru.parameters())]

    calls = []
    run_gru = policies.run_gru
    with monkeypatch.context() as patch:  # counts the GRU calls of _process_sequence (the fused one calls no module)
        patch.setattr(policies, "run_gru", lambda *args: calls.append(1) or run_gru(*args))
        out_fast, h_fast, grads_fast = run(fast=True)
    mid_columns = int(starts.reshape(n_seq, length)[:, 1:].any(dim=0).sum())
    assert len(calls) == 1 + mid_columns  # one GRU call per segment, no per-step loop
    if starts_at == "random":
        assert mid_columns >= 2
    out_loop, h_loop, grads_loop = run(fast=False)
    th.testing.assert_close(out_fast, out_loop, rtol=1e-5, atol=1e-5)
    th.testing.assert_close(h_fast, h_loop, rtol=1e-5, atol=1e-5)
    for g_fast, g_loop in zip(grads_fast, grads_loop):
        th.testing.assert_close(g_fast, g_loop, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# persistence, other spaces
# ---------------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Any) -> None:
    env = make_vec_env(BANDIT, 4, dict(num_arms=3, episodes_per_trial=5), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy, env, n_steps=10, batch_size=20, n_epochs=1, policy_kwargs=dict(gru_hidden_size=12), seed=0
    )
    model.learn(40)
    model.save(tmp_path / "model")
    loaded = RecurrentPPO.load(tmp_path / "model")
    assert isinstance(loaded.policy, RL2GRUPolicy) and loaded.policy.gru_hidden_size == 12
    for (name, a), (name_b, b) in zip(model.policy.state_dict().items(), loaded.policy.state_dict().items()):
        assert name == name_b and th.equal(a, b), name
    th.testing.assert_close(loaded.policy.optimizer.state_dict(), model.policy.optimizer.state_dict(), rtol=0, atol=0)

    obs = bandit_obs(6, num_arms=3).numpy()
    state = (np.random.default_rng(0).normal(size=(1, 6, 12)).astype(np.float32),) * 2
    starts = np.array([True, False, False, True, False, False])
    a1, s1 = model.predict(obs, state, starts, deterministic=True)
    a2, s2 = loaded.predict(obs, state, starts, deterministic=True)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(s1[0], s2[0])
    states = random_states(model.policy, 2)
    with th.no_grad():
        out1 = model.policy.evaluate_actions(th.as_tensor(obs), th.arange(6) % 3, states, th.as_tensor(starts).float())
        out2 = loaded.policy.evaluate_actions(th.as_tensor(obs), th.arange(6) % 3, states, th.as_tensor(starts).float())
    for x, y in zip(out1, out2):
        th.testing.assert_close(x, y, rtol=0, atol=0)

    # the policy alone round-trips too (constructor parameters include the GRU sizes)
    model.policy.save(tmp_path / "policy.pt")
    policy = RL2GRUPolicy.load(tmp_path / "policy.pt")
    assert policy.gru_hidden_size == 12 and policy.n_gru_layers == 1
    np.testing.assert_array_equal(policy.predict(obs, state, starts, deterministic=True)[0], a1)


def test_box_actions_gaussian() -> None:
    observation_space = spaces.Box(-np.inf, np.inf, (6,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy = make_policy(observation_space, action_space)
    assert isinstance(policy.action_dist, DiagGaussianDistribution)
    obs = th.randn(5, 6)
    actions, values, log_prob, _ = policy(obs, zero_states(policy, 5), th.ones(5))
    assert actions.shape == (5, 2) and values.shape == (5, 1) and log_prob.shape == (5,)
    values, log_prob, entropy = policy.evaluate_actions(obs, actions, random_states(policy, 1), th.zeros(5))
    assert values.shape == (5, 1) and log_prob.shape == (5,) and entropy.shape == (5,)
    action, state = policy.predict(obs[0].numpy())
    assert action.shape == (2,) and np.all(np.abs(action) <= 1.0) and state[0].shape == (1, 1, 16)

    env = DummyVecEnv([lambda: gym.make("Pendulum-v1")] * 2)
    model = RecurrentPPO(RL2GRUPolicy, env, n_steps=8, batch_size=8, n_epochs=1, policy_kwargs=dict(gru_hidden_size=8), seed=0)
    model.learn(16)


class ImageContextEnv(gym.Env):
    """A tiny env with RL^2's image observations: Dict(image=uint8 HxWxC, context=float32)."""

    def __init__(self) -> None:
        self.observation_space = spaces.Dict(
            image=spaces.Box(0, 255, (12, 10, 3), np.uint8), context=spaces.Box(-np.inf, np.inf, (4,), np.float32)
        )
        self.action_space = spaces.Discrete(3)
        self._t = 0

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "image": self.np_random.integers(0, 256, (12, 10, 3), dtype=np.uint8),
            "context": self.np_random.normal(size=4).astype(np.float32),
        }

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict[str, np.ndarray], dict]:
        super().reset(seed=seed)
        self._t = 0
        return self._obs(), {}

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        self._t += 1
        return self._obs(), float(action == 1), self._t >= 5, False, {}


def test_dict_image_observations() -> None:
    env = ImageContextEnv()
    policy = make_policy(env.observation_space, env.action_space)
    assert isinstance(policy.features_extractor, RL2CombinedExtractor)
    assert policy.features_dim == 256 + 4 and policy.gru_actor.input_size == 260
    convs = [m for m in policy.features_extractor.cnn if isinstance(m, nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [(16, (5, 5), (2, 2))] * 2
    obs, _ = env.reset(seed=0)
    action, state = policy.predict(obs, None, np.array([True]))
    assert env.action_space.contains(int(action)) and state[0].shape == (1, 1, 16)

    # through RecurrentPPO (SB3 transposes the image to channels-first)
    vec_env = DummyVecEnv([ImageContextEnv] * 2)
    model = RecurrentPPO(
        RL2GRUPolicy, vec_env, n_steps=8, batch_size=8, n_epochs=1, policy_kwargs=dict(gru_hidden_size=8), seed=0
    )
    assert isinstance(model.policy.features_extractor, RL2CombinedExtractor) and model.policy.features_extractor.channels_first
    model.learn(16)
    action, state = model.predict(obs, None, np.array([True]), deterministic=True)
    assert env.action_space.contains(int(action))


# ---------------------------------------------------------------------------------------------
# learning
# ---------------------------------------------------------------------------------------------
def play_trials(policy: Any, n_trials: int, seed: int) -> float:
    """Mean return of ``policy`` (an SB3-style ``predict``) over ``n_trials`` seeded 2-armed bandit trials."""
    env = make_vec_env(BANDIT, n_trials, dict(num_arms=2, episodes_per_trial=10), seed=seed, monitor=False)
    obs, state, start = env.reset(), None, np.ones(n_trials, bool)
    total = np.zeros(n_trials)
    for _ in range(10):
        action, state = policy.predict(obs, state, start, deterministic=True)
        obs, reward, start, _ = env.step(action)
        total += reward
    assert start.all()
    return float(total.mean())


class UniformRandomPolicy:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(self, obs: np.ndarray, state: Any, start: np.ndarray, deterministic: bool) -> tuple[np.ndarray, None]:
        return self.rng.integers(0, 2, len(obs)), None


def test_learns_two_armed_bandit() -> None:
    """RL^2 on 2-armed Bernoulli bandits, 10 pulls per trial: explore, then exploit the better arm.

    A uniformly random policy scores ~5.0 per trial, the Bayes-optimal one ~6.0; a few seconds of
    training reach ~5.8 on held-out trials.
    """
    env = make_vec_env(BANDIT, 64, dict(num_arms=2, episodes_per_trial=10), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy,
        env,
        n_steps=10,
        batch_size=320,
        n_epochs=2,
        learning_rate=1e-2,
        gamma=0.99,
        gae_lambda=0.5,
        ent_coef=0.01,
        policy_kwargs=dict(gru_hidden_size=32),
        seed=0,
    )
    model.learn(60_000)
    learned = play_trials(model.policy, 1000, seed=10_000)
    random = play_trials(UniformRandomPolicy(0), 1000, seed=10_000)
    assert learned > random + 0.5, (learned, random)


@pytest.mark.parametrize("fast_buffer", [False, True])
def test_training_makes_one_gru_call_per_minibatch(fast_buffer: bool, monkeypatch: Any) -> None:
    """Inside a real ``RecurrentPPO.learn``, every minibatch is ONE actor and ONE critic GRU call (the fast path).

    10-pull trials in 20-step rollouts: every minibatch holds sequences that start an episode, which
    sends stock RecurrentPPO's LSTM policy into its step-by-step loop (sb3-contrib's buffer and ours).
    """
    from rl2_agent.buffers import use_fast_rollout_buffer

    env = make_vec_env(BANDIT, 8, dict(num_arms=3, episodes_per_trial=10), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy, env, n_steps=20, batch_size=40, n_epochs=2, policy_kwargs=dict(gru_hidden_size=8), seed=0
    )
    if fast_buffer:
        use_fast_rollout_buffer(model)
    calls = {"actor": 0, "critic": 0, "minibatches": 0}
    training = {"on": False}

    names = {id(model.policy.lstm_actor): "actor", id(model.policy.lstm_critic): "critic"}
    run_gru = policies.run_gru

    def counted_run_gru(gru: nn.Module, *args: Any) -> Any:  # the fused GRU of training calls no module: no hook
        calls[names[id(gru)]] += training["on"]
        return run_gru(gru, *args)

    monkeypatch.setattr(policies, "run_gru", counted_run_gru)
    evaluate_actions = model.policy.evaluate_actions

    def counted_evaluate_actions(*args: Any, **kwargs: Any) -> Any:
        calls["minibatches"] += 1
        return evaluate_actions(*args, **kwargs)

    model.policy.evaluate_actions = counted_evaluate_actions
    original_train = model.train

    def train() -> None:
        training["on"] = True
        original_train()
        training["on"] = False

    model.train = train
    model.learn(320)  # 2 rollouts of 8 x 20 steps, each trained on 4 minibatches x 2 epochs
    assert calls["minibatches"] == 16
    assert calls["actor"] == calls["critic"] == calls["minibatches"]


# ---------------------------------------------------------------------------------------------
# recipe option: layer normalisation of the GRU outputs
# ---------------------------------------------------------------------------------------------
DEFAULT_STATE_DICT_KEYS = [
    "mlp_extractor.value_net.0.weight",
    "mlp_extractor.value_net.0.bias",
    "action_net.weight",
    "action_net.bias",
    "value_net.weight",
    "value_net.bias",
    "lstm_actor.weight_ih_l0",
    "lstm_actor.weight_hh_l0",
    "lstm_actor.bias_ih_l0",
    "lstm_actor.bias_hh_l0",
    "lstm_critic.weight_ih_l0",
    "lstm_critic.weight_hh_l0",
    "lstm_critic.bias_ih_l0",
    "lstm_critic.bias_hh_l0",
]


def test_default_policy_keeps_the_parameter_names_and_shapes_of_saved_models() -> None:
    policy = make_policy(gru_hidden_size=16)
    state = policy.state_dict()
    assert list(state) == DEFAULT_STATE_DICT_KEYS
    assert type(policy.lstm_actor) is nn.GRU and type(policy.lstm_critic) is nn.GRU
    assert state["lstm_actor.weight_hh_l0"].shape == (48, 16) and state["lstm_critic.weight_ih_l0"].shape == (48, 8)
    assert policy.gru_layer_norm is False


def test_gru_layer_norm_normalises_each_gru_output_and_adds_only_the_norm_parameters() -> None:
    plain, normed = make_policy(gru_hidden_size=16), make_policy(gru_hidden_size=16, gru_layer_norm=True)
    assert isinstance(normed.lstm_actor, LayerNormGRU) and isinstance(normed.lstm_critic, LayerNormGRU)
    added = set(normed.state_dict()) - set(plain.state_dict())
    assert added == {f"lstm_{k}.output_norm.{p}" for k in ("actor", "critic") for p in ("weight", "bias")}
    assert set(plain.state_dict()) <= set(normed.state_dict())
    # the norms are in the optimizer, the GRU weights keep the orthogonal init, the norms LayerNorm's (1, 0)
    in_optimizer = {id(p) for group in normed.optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in normed.parameters()}
    for gru in (normed.gru_actor, normed.gru_critic):
        assert th.equal(gru.output_norm.weight, th.ones(16)) and th.equal(gru.output_norm.bias, th.zeros(16))
        for block in gru.weight_hh_l0.detach().chunk(3):
            th.testing.assert_close(block @ block.T, th.eye(16), atol=1e-5, rtol=0)
    out, hidden = normed.lstm_actor(th.randn(5, 3, normed.features_dim), th.zeros(1, 3, 16))
    assert out.shape == (5, 3, 16) and hidden.shape == (1, 3, 16)
    th.testing.assert_close(out.mean(dim=-1), th.zeros(5, 3), atol=1e-5, rtol=0)
    th.testing.assert_close(out.var(dim=-1, unbiased=False), th.ones(5, 3), atol=1e-3, rtol=0)


def test_gru_layer_norm_forward_and_backward_shapes() -> None:
    policy = make_policy(gru_hidden_size=16, gru_layer_norm=True, n_gru_layers=2)
    n_seq, length = 4, 6
    batch = n_seq * length
    starts = th.zeros(n_seq, length)
    starts[:, 0] = 1.0
    values, log_prob, entropy = policy.evaluate_actions(
        bandit_obs(batch), th.randint(5, (batch,)), random_states(policy, n_seq), starts.flatten()
    )
    assert values.shape == (batch, 1) and log_prob.shape == (batch,) and entropy.shape == (batch,)
    (values.sum() + log_prob.sum()).backward()
    for gru in (policy.gru_actor, policy.gru_critic):
        assert gru.output_norm.weight.grad.shape == (16,) and gru.weight_hh_l1.grad.shape == (48, 16)
        assert th.count_nonzero(gru.weight_ih_l0.grad) > 0


def test_gru_layer_norm_is_refused_unless_a_bool() -> None:
    with pytest.raises(ValueError, match="gru_layer_norm must be True or False"):
        make_policy(gru_layer_norm="yes")


def test_a_model_with_gru_layer_norm_trains_saves_and_loads(tmp_path: Any) -> None:
    env = make_vec_env(BANDIT, 8, dict(num_arms=3, episodes_per_trial=10), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy,
        env,
        n_steps=20,
        batch_size=40,
        n_epochs=2,
        seed=0,
        policy_kwargs=dict(gru_hidden_size=8, gru_layer_norm=True),
    )
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(480)  # 3 rollouts of 8 x 20 steps
    after = model.policy.state_dict()
    for name in ("lstm_actor.output_norm.weight", "lstm_critic.output_norm.bias", "lstm_actor.weight_hh_l0"):
        assert not th.equal(before[name], after[name]), name
    model.save(tmp_path / "model")
    loaded = RecurrentPPO.load(tmp_path / "model")
    assert loaded.policy.gru_layer_norm is True and isinstance(loaded.policy.lstm_actor, LayerNormGRU)
    for name, value in after.items():
        assert th.equal(loaded.policy.state_dict()[name], value), name


# ---------------------------------------------------------------------------------------------
# recipe option: the optimizer by name (policy_kwargs.optimizer_class)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("given", ["AdamW", th.optim.AdamW])
def test_optimizer_class_is_recorded_by_name_and_built_as_the_torch_class(given: Any, tmp_path: Any) -> None:
    from rl2_agent.training.config import TrainConfig
    from rl2_agent.training.loop import build_model, make_training_env

    config = TrainConfig(
        BANDIT,
        {"num_arms": 3, "episodes_per_trial": 5},
        out=str(tmp_path),
        hyperparams={
            "n_envs": 4,
            "n_steps": 10,
            "batch_size": 20,
            "policy_kwargs": {"gru_hidden_size": 8, "optimizer_class": given, "optimizer_kwargs": {"weight_decay": 0.01}},
        },
    )
    assert config.hyperparams["policy_kwargs"]["optimizer_class"] == "AdamW"  # what config.json records
    model = build_model(config, make_training_env(config))
    assert type(model.policy.optimizer) is th.optim.AdamW
    assert model.policy.optimizer.defaults["weight_decay"] == 0.01 and model.policy.optimizer.defaults["lr"] == 1e-3


def test_an_unknown_optimizer_name_is_refused_when_the_config_is_built() -> None:
    from rl2_agent.training.config import TrainConfig

    with pytest.raises(ValueError, match=r"policy_kwargs.optimizer_class must be one of \['Adam', 'AdamW'\], got 'SGD'"):
        TrainConfig(BANDIT, hyperparams={"policy_kwargs": {"optimizer_class": "SGD"}})

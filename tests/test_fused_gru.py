"""The fused GRU layer of training (rl2_agent.policies.run_gru) computes what nn.GRU computes: outputs, final
states and every gradient, for the plain and the output-normalised GRU, one or two layers; training with it gives
the losses and weights of training with nn.GRU."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch as th
from sb3_contrib import RecurrentPPO
from torch import nn

import rl2_agent.policies as policies
from rl2_agent.envs import make_vec_env
from rl2_agent.policies import LayerNormGRU, RL2GRUPolicy, run_gru


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = th.get_num_threads()
    th.set_num_threads(1)
    th.manual_seed(0)
    yield
    th.set_num_threads(threads)


def forward_backward(gru: nn.GRU, x: th.Tensor, h0: th.Tensor, fused: bool, monkeypatch: Any) -> list[th.Tensor]:
    """Output, final state and the gradients of x, h0 and every parameter, of one loss."""
    monkeypatch.setattr(policies, "FUSED_GRU", fused)
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    gru.zero_grad()
    out, hn = run_gru(gru, x, h0)
    weights = th.linspace(-1.0, 1.0, out.numel(), dtype=x.dtype).view_as(out)
    ((out * weights).sum() + (hn * hn).sum()).backward()
    return [out.detach(), hn.detach(), x.grad, h0.grad, *(p.grad.clone() for p in gru.parameters())]


@pytest.mark.parametrize("dtype, tolerance", [(th.float64, 1e-12), (th.float32, 2e-5)])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("gru_class", [nn.GRU, LayerNormGRU])
def test_fused_gru_equals_nn_gru(gru_class: type, layers: int, dtype: th.dtype, tolerance: float, monkeypatch: Any) -> None:
    gru = gru_class(6, 16, num_layers=layers).to(dtype)
    with th.no_grad():
        for p in gru.parameters():
            p.normal_(0.0, 0.4)  # gates away from 0.5: every term of the derivatives matters
    x, h0 = th.randn(9, 5, 6, dtype=dtype), th.randn(layers, 5, 16, dtype=dtype)
    fused = forward_backward(gru, x, h0, True, monkeypatch)
    reference = forward_backward(gru, x, h0, False, monkeypatch)
    for a, b in zip(fused, reference, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        th.testing.assert_close(a, b, rtol=tolerance, atol=tolerance)


def test_fused_gru_layer_passes_gradcheck() -> None:
    gru = nn.GRU(3, 4).double()
    x, h0 = th.randn(5, 2, 3, dtype=th.float64, requires_grad=True), th.randn(2, 4, dtype=th.float64, requires_grad=True)
    assert th.autograd.gradcheck(lambda *args: policies._FusedGRULayer.apply(*args), (x, h0, *gru.parameters()))


def test_fused_gru_runs_where_gradients_are_recorded_over_several_steps_only(monkeypatch: Any) -> None:
    """Rollouts (one step, no gradient) call the module (ATen's kernel); training's sequences run fused."""
    gru = nn.GRU(4, 8)
    calls = []
    gru.register_forward_hook(lambda *_: calls.append(1))
    h0 = th.zeros(1, 3, 8)
    run_gru(gru, th.randn(6, 3, 4), h0)
    assert calls == []
    run_gru(gru, th.randn(1, 3, 4), h0)
    with th.no_grad():
        run_gru(gru, th.randn(6, 3, 4), h0)
    monkeypatch.setattr(policies, "FUSED_GRU", False)
    run_gru(gru, th.randn(6, 3, 4), h0)
    assert calls == [1, 1, 1]


def test_a_second_backward_through_the_fused_gru_is_refused_as_autograd_refuses_it(monkeypatch: Any) -> None:
    out, _ = run_gru(nn.GRU(4, 8), th.randn(6, 3, 4), th.zeros(1, 3, 8))
    out.sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        out.sum().backward()


def train_once(fused: bool, monkeypatch: Any) -> tuple[dict[str, float], list[th.Tensor]]:
    """One rollout and one update (2 epochs of 4 minibatches, 10-step sequences) of a small bandit model."""
    monkeypatch.setattr(policies, "FUSED_GRU", fused)
    env = make_vec_env("RL2Bandit-v0", 16, dict(num_arms=3, episodes_per_trial=10), seed=0)
    model = RecurrentPPO(
        RL2GRUPolicy,
        env,
        n_steps=20,
        batch_size=80,
        n_epochs=2,
        learning_rate=1e-3,
        policy_kwargs=dict(gru_hidden_size=32),
        seed=0,
    )
    model.learn(320)
    losses = {k: v for k, v in model.logger.name_to_value.items() if k.startswith("train/") and "loss" in k}
    return losses, [p.detach().clone() for p in model.policy.parameters()]


def test_training_with_the_fused_gru_gives_the_losses_and_weights_of_nn_gru(monkeypatch: Any) -> None:
    fused_losses, fused_weights = train_once(True, monkeypatch)
    losses, weights = train_once(False, monkeypatch)
    assert fused_losses.keys() == losses.keys() and len(losses) >= 3
    for key, value in losses.items():
        assert fused_losses[key] == pytest.approx(value, rel=1e-4, abs=1e-6), key
    for a, b in zip(fused_weights, weights, strict=True):
        th.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- the optimizer
def make_policy(**kwargs: Any) -> RL2GRUPolicy:
    from gymnasium import spaces

    return RL2GRUPolicy(spaces.Box(-1.0, 1.0, (4,)), spaces.Discrete(3), lambda _: 1e-3, gru_hidden_size=8, **kwargs)


@pytest.mark.parametrize(
    "optimizer, fused",
    [
        ({}, True),
        ({"optimizer_class": th.optim.AdamW}, True),
        ({"optimizer_kwargs": {"foreach": True}}, None),
        ({"optimizer_kwargs": {"fused": False}}, False),
        ({"optimizer_class": th.optim.SGD}, None),
    ],
)
def test_adam_is_built_fused_unless_an_implementation_is_asked_for(optimizer: dict[str, Any], fused: Any) -> None:
    policy = make_policy(**optimizer)
    assert policy.optimizer.defaults.get("fused") == fused
    # the recorded constructor kwargs (saved with the model) stay the user's
    assert ("fused" in policy.optimizer_kwargs) == ("fused" in optimizer.get("optimizer_kwargs", {}))


def test_the_fused_adam_takes_the_steps_of_the_default_adam() -> None:
    policies_ = [make_policy(optimizer_kwargs={"eps": 1e-5, **kwargs}) for kwargs in ({}, {"fused": False})]
    policies_[1].load_state_dict(policies_[0].state_dict())
    start = policies_[0].action_net.weight.detach().clone()
    for _ in range(5):
        grads = [th.randn_like(p) for p in policies_[0].parameters()]
        for policy in policies_:
            for p, g in zip(policy.parameters(), grads):
                p.grad = g.clone()
            policy.optimizer.step()
    for a, b in zip(policies_[0].parameters(), policies_[1].parameters(), strict=True):
        th.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert not th.equal(policies_[0].action_net.weight, start)  # they did move

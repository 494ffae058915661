"""The RL^2 policy: separate actor and critic GRUs, trained by the stock ``sb3_contrib.RecurrentPPO``.

::

    from sb3_contrib import RecurrentPPO
    from rl2_agent.policies import RL2GRUPolicy

    model = RecurrentPPO(RL2GRUPolicy, env, policy_kwargs=dict(gru_hidden_size=256))

Architecture (``F`` features, ``H = gru_hidden_size``)::

    actor:  features (F) -> GRU (H) -> MLP net_arch["pi"] (default none) -> linear -> action distribution
    critic: features (F) -> its own GRU (H) -> MLP net_arch["vf"] (default [64], tanh) -> linear -> value

The features are the flat observation (``FlattenExtractor``) or, for ``Dict(image, context)``
observations, :class:`RL2CombinedExtractor` (a small CNN on the image, as in the RL^2 paper,
concatenated with the context vector).

Compatibility with ``RecurrentPPO``: the algorithm reads ``policy.lstm_actor.num_layers`` and
``.hidden_size`` and stores recurrent states as ``(hidden, cell)`` tuples. The GRUs therefore live
in the attributes ``lstm_actor`` and ``lstm_critic`` (also exposed as :attr:`RL2GRUPolicy.gru_actor`
and :attr:`RL2GRUPolicy.gru_critic`), and the second tensor of each state tuple is a dummy that is
carried through unchanged.

``gru_layer_norm=True`` adds a ``LayerNorm`` on each GRU's output (:class:`LayerNormGRU`), before the
heads: the literature's recipe is "a GRU of 256 units with layer normalisation". Only the output is
normalised, not the gate pre-activations of a layer-normalised GRU cell, because a cell needs a
Python loop over time steps: measured forward + backward on one thread (H = 128), the output
``LayerNorm`` cost 5-15% over ``nn.GRU`` where a scripted layer-normalised cell cost 1.8x (20-step
sequences) to 4.3x (100-step sequences). The default (False) builds exactly the plain ``nn.GRU`` modules,
so the parameter names and shapes of saved models are unchanged.

Speed: the GRUs are plain ``nn.GRU`` modules, and the rollouts (one step, no gradient) run ATen's CPU
kernel. Training's sequences run :func:`run_gru`'s fused layer instead (:class:`_FusedGRULayer`: the same
function, its backward written out, a few large operations instead of ATen's ten autograd nodes per step;
``FUSED_GRU = False`` turns it off), and Adam is built with its fused kernel: 1.25-1.4x the training steps per
second of ``nn.GRU`` and Adam's per-tensor loop at the bandit defaults (``benchmarks/train_speed.py``). Batching
the actor's and the critic's GRU in one call (``bmm``) was no faster than two calls. What decides the speed is
still the number of sequences per GRU call (``batch_size`` / sequence length in ``RecurrentPPO``).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.preprocessing import is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from meta_envs.validation import check_bool, check_positive_int

__all__ = ["DEFAULT_NET_ARCH", "LayerNormGRU", "RL2CombinedExtractor", "RL2GRUPolicy"]

logger = logging.getLogger(__name__)

#: Default heads: the actor's GRU output goes straight to the action layer, the critic has one
#: hidden layer of 64 units between its GRU and the value.
DEFAULT_NET_ARCH: dict[str, list[int]] = {"pi": [], "vf": [64]}

# RecurrentActorCriticPolicy kwargs that RL2GRUPolicy replaces, with the value it implies (None: always rejected)
_LSTM_KWARGS: dict[str, Any] = {
    "lstm_hidden_size": None,
    "n_lstm_layers": None,
    "lstm_kwargs": None,
    "shared_lstm": False,
    "enable_critic_lstm": True,
}


class RL2CombinedExtractor(BaseFeaturesExtractor):
    """Features of ``Dict(image=Box(uint8, image shape), context=Box(float32, (k,)))`` observations.

    The image goes through the RL^2 paper's small CNN (two convolutions with 16 filters of 5x5 and
    stride 2, ReLU, padding 2 so that small images work too), then a fully connected layer of
    ``cnn_output_dim`` units with ReLU; the result is concatenated with the flattened context.
    Channels-first (C, H, W, what SB3's ``VecTransposeImage`` produces) and channels-last
    (H, W, C) image spaces are both accepted; the layout is read from the observation space.

    :param observation_space: the Dict observation space, with exactly the keys ``image`` and ``context``.
    :param cnn_output_dim: number of units of the fully connected layer after the CNN.
    """

    def __init__(self, observation_space: spaces.Dict, cnn_output_dim: int = 256) -> None:
        if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {"image", "context"}:
            raise ValueError(
                f"RL2CombinedExtractor needs a Dict space with keys 'image' and 'context', got {observation_space}"
            )
        image_space, context_space = observation_space["image"], observation_space["context"]
        if not (isinstance(image_space, spaces.Box) and len(image_space.shape) == 3):
            raise ValueError(f"observation_space['image'] must be a 3-d Box (an image), got {image_space}")
        if not isinstance(context_space, spaces.Box):
            raise ValueError(f"observation_space['context'] must be a Box, got {context_space}")
        channels_first = is_image_space_channels_first(image_space)
        chw = image_space.shape if channels_first else (image_space.shape[2], image_space.shape[0], image_space.shape[1])
        context_dim = int(np.prod(context_space.shape))
        super().__init__(observation_space, features_dim=cnn_output_dim + context_dim)
        self.channels_first = channels_first
        self.cnn = nn.Sequential(
            nn.Conv2d(chw[0], 16, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Conv2d(16, 16, kernel_size=5, stride=2, padding=2),
            nn.ReLU(),
            nn.Flatten(),
        )
        with th.no_grad():
            n_flatten = self.cnn(th.zeros(1, *chw)).shape[1]
        self.linear = nn.Sequential(nn.Linear(n_flatten, cnn_output_dim), nn.ReLU())

    def forward(self, observations: dict[str, th.Tensor]) -> th.Tensor:
        """
        :param observations: ``image`` of shape (batch, *image shape), already scaled to [0, 1] by SB3's
            preprocessing, and ``context`` of shape (batch, *context shape).
        :return: features of shape (batch, cnn_output_dim + context size).
        """
        image = observations["image"]
        if not self.channels_first:
            image = image.permute(0, 3, 1, 2)
        return th.cat([self.linear(self.cnn(image)), observations["context"].flatten(start_dim=1)], dim=1)


class LayerNormGRU(nn.GRU):
    """An ``nn.GRU`` whose output sequence is layer-normalised (``nn.LayerNorm`` over the hidden units).

    The recurrent state is the GRU's own, unnormalised: the whole sequence stays one call of the fast
    ``nn.GRU`` kernel. Its parameters are those of ``nn.GRU`` plus ``output_norm.weight`` and
    ``output_norm.bias`` (shape (hidden_size,)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1) -> None:
        super().__init__(input_size, hidden_size, num_layers=num_layers)
        self.output_norm = nn.LayerNorm(hidden_size)

    # nn.GRU's signature, less its PackedSequence overload: RL2GRUPolicy passes padded tensors only
    def forward(self, input: th.Tensor, hx: th.Tensor | None = None) -> tuple[th.Tensor, th.Tensor]:  # type: ignore[override]
        """
        :param input: shape (T, batch, input_size).
        :param hx: initial state, shape (num_layers, batch, hidden_size).
        :return: the normalised output, shape (T, batch, hidden_size), and the final state (as ``nn.GRU``'s).
        """
        output, hidden = super().forward(input, hx)
        return self.output_norm(output), hidden


#: Optimizer kwargs that choose an implementation: given any, the optimizer is built as given (else Adam and
#: AdamW are built with ``fused=True``).
_OPTIMIZER_IMPLEMENTATIONS = frozenset({"fused", "foreach", "differentiable", "capturable"})

#: Whether training runs the GRUs through :func:`run_gru`'s fused layer (``False``: ATen's ``nn.GRU`` always, the
#: reference that ``tests/test_fused_gru.py`` compares it with and that ``benchmarks/train_speed.py`` times it against).
FUSED_GRU = True


class _FusedGRULayer(th.autograd.Function):
    """One layer of ``nn.GRU`` over a whole sequence, with its backward pass written out: the GRU of training.

    The function is ATen's: gates ``r, z = sigmoid(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z})``,
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = n + z (h - n)``. ATen's CPU kernel records about ten
    autograd nodes per step, and its backward makes two matrix products per step (the state's and the weights'
    gradients) and a concatenation of the gate gradients. Here:

    * forward: the input part of every step is one matrix product before the loop; per step, one product with
      ``W_hh`` (into the step's row of ``gates``, whose n block holds ``b_hn``) and five element-wise
      operations, no autograd node;
    * ``tanh(a) = 2 sigmoid(2a) - 1``: one-thread ``tanh`` took 5x the time of ``sigmoid`` on the CPU measured,
      so the n gate's weights and biases enter the forward pass doubled;
    * backward: the derivatives of every ``h'`` with respect to the gates' pre-activations are computed for all
      steps at once; per step, one product ``dh * slopes`` (the three gate gradients), one ``addcmul`` and one
      product with ``W_hh``; the weights' and biases' gradients are then one matrix product (or sum) over all
      steps, not one per step.

    Measured on one thread (2-core AMD EPYC, two GRUs of 128 units, forward + backward, median CPU time): 17.6
    ms against 23.7 ms for ``nn.GRU`` with 80 sequences of 20 steps (the bandit defaults' minibatch), 10.2
    against 14.0 ms with 40 (one of 2 workers' share), 79 against 99 ms with 64 sequences of 100 steps (the MDP
    defaults'). The results equal ``nn.GRU``'s to float rounding (``tests/test_fused_gru.py``).

    Inputs: ``x`` (T, B, F), ``h0`` (B, H), then ``nn.GRU``'s weights and biases of one layer. Output: the
    states ``h_1 .. h_T``, shape (T, B, H).
    """

    @staticmethod
    def forward(
        ctx: Any, x: th.Tensor, h0: th.Tensor, w_ih: th.Tensor, w_hh: th.Tensor, b_ih: th.Tensor, b_hh: th.Tensor
    ) -> th.Tensor:
        steps, batch, n_in = x.shape
        hidden = w_hh.shape[1]
        h2, rows = 2 * hidden, steps * batch
        x_rows = x.reshape(rows, n_in)
        # gates[t] = [r_pre, z_pre, 2 (W_hn h + b_hn)] once the step's product with W_hh is added, then [r, z, .]
        gates = x.new_empty(steps, batch, 3 * hidden)
        gate_rows = gates.view(rows, 3 * hidden)
        th.addmm(b_ih[:h2] + b_hh[:h2], x_rows, w_ih[:h2].t(), out=gate_rows[:, :h2])
        gate_rows[:, h2:] = 2.0 * b_hh[h2:]
        doubled_n_input = th.addmm(2.0 * b_ih[h2:], x_rows, 2.0 * w_ih[h2:].t()).view(steps, batch, hidden)
        w_step = th.cat([w_hh[:h2], 2.0 * w_hh[h2:]]).t()
        minus_one = x.new_full((1, 1), -1.0).expand(batch, hidden)
        states = x.new_empty(steps + 1, batch, hidden)  # h_0 .. h_T
        states[0] = h0
        new = x.new_empty(steps, batch, hidden)  # n of every step
        # the views of every step, made by unbind in one call each: slicing in the loop cost as much as the arithmetic
        g_, rz_, r_, z_, ghn_ = (
            v.unbind(0) for v in (gates, gates[..., :h2], gates[..., :hidden], gates[..., hidden:h2], gates[..., h2:])
        )
        h_, n_, n_input_ = states.unbind(0), new.unbind(0), doubled_n_input.unbind(0)
        for t in range(steps):
            n = n_[t]
            g_[t].addmm_(h_[t], w_step)
            rz_[t].sigmoid_()
            th.addcmul(n_input_[t], r_[t], ghn_[t], out=n)
            n.sigmoid_()
            th.add(minus_one, n, alpha=2.0, out=n)  # 2 sigmoid(2a) - 1 = tanh(a)
            th.lerp(n, h_[t], z_[t], out=h_[t + 1])
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(x, w_ih, w_hh, gates, new, states)
        return states[1:]

    @staticmethod
    def backward(ctx: Any, grad_output: th.Tensor) -> tuple[th.Tensor | None, ...]:
        x, w_ih, w_hh, gates, n, states = ctx.saved_tensors
        steps, batch, hidden3 = gates.shape
        hidden = hidden3 // 3
        h2, rows = 2 * hidden, steps * batch
        r, z, doubled_ghn = gates[..., :hidden], gates[..., hidden:h2], gates[..., h2:]
        # slopes[t]: d h_{t+1} / d (r_pre, z_pre, W_hn h + b_hn) of step t; slope_n: d h_{t+1} / d n_pre
        one_minus_z = 1.0 - z
        slope_n = th.addcmul(one_minus_z, one_minus_z, n * n, value=-1.0)  # (1 - z)(1 - n^2)
        slopes = x.new_empty(steps, batch, 3, hidden)
        th.mul(slope_n, r, out=slopes[:, :, 2])
        th.mul(slopes[:, :, 2], doubled_ghn, out=slopes[:, :, 0])
        slopes[:, :, 0].mul_(0.5 - 0.5 * r)  # (1 - z)(1 - n^2) r (1 - r) (W_hn h + b_hn)
        th.sub(states[1:], n, out=slopes[:, :, 1])  # z (h - n)
        slopes[:, :, 1].mul_(one_minus_z)
        # d_gates: d loss / d (r_pre, z_pre, W_hn h + b_hn), written over the slopes step by step
        d_gates = slopes
        d_states = grad_output.clone(memory_format=th.contiguous_format)  # becomes d loss / d h_t, last step first
        dh_, dh_rows_, z_ = d_states.unsqueeze(2).unbind(0), d_states.unbind(0), z.unbind(0)
        d_gate_, d_gate_rows_ = d_gates.unbind(0), d_gates.view(steps, batch, hidden3).unbind(0)
        for t in range(steps - 1, 0, -1):
            d_gate_[t].mul_(dh_[t])
            d_prev = dh_rows_[t - 1]
            d_prev.addcmul_(dh_rows_[t], z_[t])
            d_prev.addmm_(d_gate_rows_[t], w_hh)
        d_gate_[0].mul_(dh_[0])
        d_h0 = None
        if ctx.needs_input_grad[1]:
            d_h0 = th.addmm(d_states[0] * z[0], d_gates[0].view(batch, hidden3), w_hh)
        d_n = d_states.mul_(slope_n).view(rows, hidden)  # d loss / d n_pre, in place of d_states
        d_gates = d_gates.view(rows, hidden3)
        d_w_hh = th.mm(d_gates.t(), states[:-1].reshape(rows, hidden))
        d_b_hh = d_gates.sum(0)
        x_rows = x.reshape(rows, x.shape[2])
        d_w_ih = th.cat([th.mm(x_rows.t(), d_gates[:, :h2]), th.mm(x_rows.t(), d_n)], dim=1).t()
        d_b_ih = th.cat([d_b_hh[:h2], d_n.sum(0)])
        d_x = None
        if ctx.needs_input_grad[0]:
            d_x = th.addmm(th.mm(d_n, w_ih[h2:]), d_gates[:, :h2], w_ih[:h2]).view(x.shape)
        return d_x, d_h0, d_w_ih, d_w_hh, d_b_ih, d_b_hh


def _fused_gru_applies(gru: nn.Module, sequence: th.Tensor) -> bool:
    """Whether :func:`run_gru` runs ``gru`` through :class:`_FusedGRULayer`: a plain (or output-normalised)
    time-major GRU with biases, on the CPU, in a pass that records gradients over more than one step (for one
    step without gradients, rollouts, ``nn.GRU`` is as fast)."""
    return bool(
        FUSED_GRU
        and type(gru) in (nn.GRU, LayerNormGRU)
        and sequence.shape[0] > 1
        and th.is_grad_enabled()
        and sequence.device.type == "cpu"
        and sequence.dtype in (th.float32, th.float64)
        and gru.bias
        and not gru.batch_first
        and not gru.bidirectional
        and (gru.dropout == 0 or gru.num_layers == 1 or not gru.training)
    )


def run_gru(gru: nn.GRU, sequence: th.Tensor, hidden: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
    """``gru(sequence, hidden)``, computed by :class:`_FusedGRULayer` where it applies (training), else by ``gru``.

    :param gru: an ``nn.GRU`` or :class:`LayerNormGRU` (any other module is simply called).
    :param sequence: shape (T, batch, input_size).
    :param hidden: shape (num_layers, batch, hidden_size).
    :return: the output, shape (T, batch, hidden_size) (normalised for a :class:`LayerNormGRU`), and the final
        state, shape (num_layers, batch, hidden_size).
    """
    if not _fused_gru_applies(gru, sequence):
        return gru(sequence, hidden)
    output, finals = sequence, []
    for layer in range(gru.num_layers):
        weights = [getattr(gru, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        output = _FusedGRULayer.apply(output, hidden[layer], *weights)
        finals.append(output[-1])
    if isinstance(gru, LayerNormGRU):
        output = gru.output_norm(output)
    return output, th.stack(finals)


class RL2GRUPolicy(RecurrentActorCriticPolicy):
    """Recurrent actor-critic policy with separate actor and critic GRUs (RL^2), for ``RecurrentPPO``.

    Actor: features -> GRU -> MLP ``net_arch["pi"]`` -> linear -> action distribution (categorical for
    ``Discrete``, diagonal Gaussian for ``Box``). Critic: features -> its own GRU -> MLP
    ``net_arch["vf"]`` -> linear -> value. Recurrent states are ``(hidden, dummy)`` tuples of tensors of
    shape (n_gru_layers, batch, gru_hidden_size); the dummy is returned unchanged.

    With ``ortho_init`` (the default), the GRU weights are initialised orthogonally (each gate block of
    the recurrent matrix separately) and their biases to zero, as SB3 does for the linear layers.

    :param observation_space: observation space (flat ``Box``, or ``Dict(image, context)``).
    :param action_space: action space.
    :param lr_schedule: learning rate schedule.
    :param net_arch: hidden layers of the heads after the GRUs, ``dict(pi=[...], vf=[...])`` or a list used
        for both; default :data:`DEFAULT_NET_ARCH` = ``dict(pi=[], vf=[64])``. A dict with one key keeps the
        default for the other (``dict(pi=[32])`` keeps the critic's ``[64]``); layer sizes are integers >= 1.
    :param activation_fn: activation of the head layers.
    :param ortho_init: orthogonal initialisation of every layer, GRUs included.
    :param use_sde: use generalised State Dependent Exploration (``Box`` actions only).
    :param log_std_init: initial log standard deviation of the Gaussian.
    :param full_std: gSDE: use (n_features x n_actions) parameters for the std.
    :param use_expln: gSDE: use ``expln()`` instead of ``exp()`` for the std.
    :param squash_output: squash the Gaussian's output with tanh (gSDE only).
    :param features_extractor_class: features extractor; default ``FlattenExtractor``, or
        :class:`RL2CombinedExtractor` when the observation space is a ``Dict``.
    :param features_extractor_kwargs: kwargs of the features extractor.
    :param share_features_extractor: one features extractor for the actor and the critic.
    :param normalize_images: divide uint8 images by 255.
    :param optimizer_class: optimizer class (Adam by default).
    :param optimizer_kwargs: optimizer kwargs, learning rate excluded.
    :param gru_hidden_size: number of units of each GRU layer.
    :param n_gru_layers: number of stacked layers of each GRU.
    :param gru_layer_norm: layer-normalise each GRU's output (:class:`LayerNormGRU`); default False, the
        plain ``nn.GRU``.
    :param lstm_kwargs: the LSTM kwargs of ``RecurrentActorCriticPolicy`` (``lstm_hidden_size``,
        ``n_lstm_layers``, ``lstm_kwargs``, ``shared_lstm=True``, ``enable_critic_lstm=False``) are
        rejected with a ``ValueError``; any other unknown kwarg is a ``TypeError``.
    """

    @staticmethod
    def _check_net_arch(net_arch: list[int] | dict[str, list[int]] | None) -> list[int] | dict[str, list[int]]:
        """``net_arch`` validated, as the parent takes it (a dict with both keys, or a list for both heads)."""
        allowed = "dict(pi=[...], vf=[...]) or a list of layer sizes (integers >= 1)"

        def layers(key: str, value: Any) -> list[int]:
            ok = isinstance(value, (list, tuple)) and all(
                isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in value
            )
            if not ok:
                raise ValueError(
                    f"net_arch{key} must be a list of layer sizes (integers >= 1), got {value!r}; net_arch: {allowed}"
                )
            return [int(n) for n in value]

        if net_arch is None:
            return {k: list(v) for k, v in DEFAULT_NET_ARCH.items()}
        if isinstance(net_arch, dict):
            unknown = sorted(set(net_arch) - set(DEFAULT_NET_ARCH))
            if unknown:
                raise ValueError(f"net_arch keys must be 'pi' and/or 'vf', got unknown keys {unknown}; net_arch: {allowed}")
            return {k: layers(f"[{k!r}]", net_arch.get(k, default)) for k, default in DEFAULT_NET_ARCH.items()}
        return layers("", net_arch)

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        gru_hidden_size: int = 256,
        n_gru_layers: int = 1,
        gru_layer_norm: bool = False,
        **lstm_kwargs: Any,
    ) -> None:
        self._check_lstm_kwargs(lstm_kwargs)
        self.gru_layer_norm = check_bool("gru_layer_norm", gru_layer_norm)
        gru_hidden_size = check_positive_int("gru_hidden_size", gru_hidden_size)
        n_gru_layers = check_positive_int("n_gru_layers", n_gru_layers)
        net_arch = self._check_net_arch(net_arch)
        if features_extractor_class is None:
            features_extractor_class = RL2CombinedExtractor if isinstance(observation_space, spaces.Dict) else FlattenExtractor
        self.gru_hidden_size = int(gru_hidden_size)
        self.n_gru_layers = int(n_gru_layers)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=net_arch,
            activation_fn=activation_fn,
            ortho_init=ortho_init,
            use_sde=use_sde,
            log_std_init=log_std_init,
            full_std=full_std,
            use_expln=use_expln,
            squash_output=squash_output,
            features_extractor_class=features_extractor_class,
            features_extractor_kwargs=features_extractor_kwargs,
            share_features_extractor=share_features_extractor,
            normalize_images=normalize_images,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            lstm_hidden_size=self.gru_hidden_size,
            n_lstm_layers=self.n_gru_layers,
            shared_lstm=False,
            enable_critic_lstm=True,
        )
        # The parent built two nn.LSTM (and an optimizer over them): swap in the GRUs, then rebuild the optimizer.
        gru_class = LayerNormGRU if self.gru_layer_norm else nn.GRU
        actor = gru_class(self.features_dim, self.gru_hidden_size, num_layers=self.n_gru_layers)
        critic = gru_class(self.features_dim, self.gru_hidden_size, num_layers=self.n_gru_layers)
        if self.ortho_init:
            for gru in (actor, critic):
                self._init_gru(gru)
        # sb3-contrib annotates these slots as nn.LSTM; it uses them only through _process_sequence (overridden here)
        self.lstm_actor = actor  # type: ignore[assignment]
        self.lstm_critic = critic  # type: ignore[assignment]
        optimizer_kwargs = dict(self.optimizer_kwargs)
        if self.optimizer_class in (th.optim.Adam, th.optim.AdamW) and not _OPTIMIZER_IMPLEMENTATIONS & set(optimizer_kwargs):
            # the fused kernel: the same update to float rounding in one call, where the default makes ~10 small
            # operations per parameter tensor (0.13 against 0.48 ms per step at the bandit defaults, one thread)
            optimizer_kwargs["fused"] = True
        # every torch optimizer takes lr, which the Optimizer base class's own signature lacks
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **optimizer_kwargs)  # type: ignore[call-arg]
        logger.debug(
            "RL2GRUPolicy: %s (%d features) -> actor and critic GRUs %d x %d%s, heads %s",
            type(self.features_extractor).__name__,
            self.features_dim,
            self.n_gru_layers,
            self.gru_hidden_size,
            " with output LayerNorm" if self.gru_layer_norm else "",
            self.net_arch,
        )

    @staticmethod
    def _check_lstm_kwargs(kwargs: dict[str, Any]) -> None:
        unknown = sorted(set(kwargs) - set(_LSTM_KWARGS))
        if unknown:
            raise TypeError(f"RL2GRUPolicy got unexpected keyword argument(s) {unknown}")
        for name, value in kwargs.items():
            allowed = _LSTM_KWARGS[name]
            if allowed is None or value != allowed:
                raise ValueError(
                    f"RL2GRUPolicy does not take {name}={value!r}: it always has separate actor and critic GRUs; "
                    "size them with gru_hidden_size and n_gru_layers"
                )

    @staticmethod
    def _init_gru(gru: nn.GRU) -> None:
        """Orthogonal weights (per gate block for the recurrent matrices), zero biases; a
        :class:`LayerNormGRU`'s ``output_norm`` keeps LayerNorm's own initialisation (weight 1, bias 0)."""
        for name, param in gru.named_parameters():
            if "." in name:  # a submodule's parameter (output_norm), not one of the GRU's weight matrices
                continue
            if name.startswith("bias"):
                nn.init.zeros_(param)
            elif name.startswith("weight_hh"):
                for block in param.data.chunk(3, dim=0):
                    nn.init.orthogonal_(block)
            else:
                nn.init.orthogonal_(param)

    @property
    def gru_actor(self) -> nn.GRU:
        """The actor's GRU (stored as ``lstm_actor`` for ``RecurrentPPO``)."""
        return cast(nn.GRU, self.lstm_actor)

    @property
    def gru_critic(self) -> nn.GRU:
        """The critic's GRU (stored as ``lstm_critic`` for ``RecurrentPPO``)."""
        return cast(nn.GRU, self.lstm_critic)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(gru_hidden_size=self.gru_hidden_size, n_gru_layers=self.n_gru_layers, gru_layer_norm=self.gru_layer_norm)
        return data

    @staticmethod
    def _process_sequence(  # type: ignore[override]  # the supertype's signature is the LSTM's (state pair, nn.LSTM)
        features: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
        lstm: nn.GRU,
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """Run a GRU over a batch of padded sequences, resetting the state where an episode starts.

        The batch is ``n_seq`` sequences of equal (padded) length ``T``, laid out sequence-major as in
        ``RecurrentRolloutBuffer`` (``T = 1`` and ``n_seq = n_envs`` during data collection). The state
        is multiplied by ``1 - episode_start`` before the step where the episode starts. In
        ``RecurrentPPO``'s minibatches an episode start can only be the first step of a sequence, so
        the whole batch is ONE GRU call; otherwise the time axis is cut before every step at which
        any sequence starts an episode and each segment is one GRU call, which is exactly the
        step-by-step computation.

        :param features: shape (n_seq * T, features_dim).
        :param lstm_states: ``(hidden, dummy)``, hidden of shape (n_gru_layers, n_seq, gru_hidden_size).
        :param episode_starts: shape (n_seq * T,), 1.0 where an episode starts.
        :param lstm: the GRU.
        :return: GRU output of shape (n_seq * T, gru_hidden_size) and the new ``(hidden, dummy)``.
        """
        hidden, dummy = lstm_states
        n_seq = hidden.shape[1]
        # (n_seq * T, F) -> (T, n_seq, F); (n_seq * T,) -> (T, n_seq)
        sequence = features.reshape(n_seq, -1, lstm.input_size).transpose(0, 1)
        starts = episode_starts.reshape(n_seq, -1).transpose(0, 1)
        length = sequence.shape[0]
        cuts = (th.nonzero(starts[1:].any(dim=1)).flatten() + 1).tolist() if length > 1 else []
        bounds = [0, *cuts, length]
        outputs = []
        for begin, end in zip(bounds[:-1], bounds[1:]):
            hidden = (1.0 - starts[begin]).view(1, n_seq, 1) * hidden
            output, hidden = run_gru(lstm, sequence[begin:end], hidden)
            outputs.append(output)
        output = outputs[0] if len(outputs) == 1 else th.cat(outputs)
        # (T, n_seq, H) -> (n_seq * T, H)
        return output.transpose(0, 1).reshape(-1, lstm.hidden_size), (hidden, dummy)

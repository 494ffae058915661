"""Faster minibatches for sb3-contrib's ``RecurrentPPO``: the same samples, padded in one gather.

``RecurrentRolloutBuffer._get_samples`` cuts every minibatch into sequences (at episode starts and
where the data change env) and pads them to equal length with one ``torch.tensor`` call per
sequence and array, then ``pad_sequence``: with the bandit defaults (80 sequences per minibatch,
9 arrays) that is ~720 small copies per minibatch, 13% of the training time. The buffers here
build one index matrix per minibatch and gather every array with it. Their samples are EQUAL to
the stock buffers' (``tests/test_buffers.py`` compares every field over whole epochs), so the
algorithm is unchanged: stock ``RecurrentPPO`` with another container for its rollouts.

``RecurrentPPO`` builds its buffer in ``_setup_model`` and takes no buffer class, so
:func:`use_fast_rollout_buffer` swaps the empty buffer of a built or loaded model; ``rl2 train``
does it. RL Zoo builds the model itself: its yaml's ``callback:`` key names
:class:`FastRolloutBufferCallback`, which makes the same swap when ``learn`` starts (the generated
``zoo_configs/ppo_lstm.yml`` does). Models trained otherwise keep the stock buffer and train the
same, slower.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch as th
from sb3_contrib import RecurrentPPO
from sb3_contrib.common.recurrent.buffers import RecurrentDictRolloutBuffer, RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import (
    RecurrentDictRolloutBufferSamples,
    RecurrentRolloutBufferSamples,
    RNNStates,
)
from stable_baselines3.common.callbacks import BaseCallback


def sequence_index(episode_starts: np.ndarray, env_change: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the sequences of a minibatch start, and the padded gather index, as sb3-contrib cuts them.

    A sequence starts at the first row, at every episode start and wherever the env changes.

    :param episode_starts: shape (batch,), the minibatch's episode-start flags.
    :param env_change: shape (batch,), 1 where the row comes from another env than the row before.
    :return: ``starts`` of shape (n_seq,); ``index`` of shape (n_seq, max_len), the minibatch row of
        each padded position (0 where padded); ``valid`` of shape (n_seq, max_len), False where padded.
    """
    is_start = np.logical_or(episode_starts, env_change).ravel()
    is_start[0] = True
    starts = np.flatnonzero(is_start)
    lengths = np.diff(np.append(starts, is_start.size))
    offsets = np.arange(lengths.max())
    valid = offsets[None, :] < lengths[:, None]
    index = np.where(valid, starts[:, None] + offsets[None, :], 0)
    return starts, index, valid


class _GatherPadding:
    """``_get_samples`` of the recurrent rollout buffers with one gather per array (mixin)."""

    def _get_samples(self: Any, batch_inds: np.ndarray, env_change: np.ndarray, env: Any = None) -> Any:
        starts, index, valid = sequence_index(self.episode_starts[batch_inds], env_change[batch_inds])
        self.seq_start_indices = starts  # as the stock buffer keeps it
        rows = batch_inds[index]  # (n_seq, max_len): buffer rows
        padding = ~valid

        def padded(array: np.ndarray) -> th.Tensor:
            """(n_seq * max_len, *shape), zeros where padded."""
            out = array[rows]
            out[padding] = 0
            return th.as_tensor(out.reshape(-1, *array.shape[1:]), device=self.device)

        def states(hidden: np.ndarray) -> th.Tensor:
            # (n_envs * n_steps, n_layers, dim) -> (n_seq, n_layers, dim) -> (n_layers, n_seq, dim)
            return self.to_torch(hidden[batch_inds[starts]].swapaxes(0, 1)).contiguous()

        lstm_states = RNNStates(
            (states(self.hidden_states_pi), states(self.cell_states_pi)),
            (states(self.hidden_states_vf), states(self.cell_states_vf)),
        )
        if isinstance(self.observations, dict):
            observations: Any = {key: padded(obs) for key, obs in self.observations.items()}
            samples_class: Any = RecurrentDictRolloutBufferSamples
        else:
            observations, samples_class = padded(self.observations), RecurrentRolloutBufferSamples
        return samples_class(
            observations=observations,
            actions=padded(self.actions),
            old_values=padded(self.values).flatten(),
            old_log_prob=padded(self.log_probs).flatten(),
            advantages=padded(self.advantages).flatten(),
            returns=padded(self.returns).flatten(),
            lstm_states=lstm_states,
            episode_starts=padded(self.episode_starts).flatten(),
            mask=th.as_tensor(valid.ravel().astype(np.float32), device=self.device),
        )


# the mixin's _get_samples returns the recurrent samples the recurrent buffers return; the base classes' stubs
# declare the plain buffers' return type
class GatherRecurrentRolloutBuffer(_GatherPadding, RecurrentRolloutBuffer):  # type: ignore[misc]
    """``RecurrentRolloutBuffer`` whose minibatches are padded in one gather per array."""


class GatherRecurrentDictRolloutBuffer(_GatherPadding, RecurrentDictRolloutBuffer):  # type: ignore[misc]
    """``RecurrentDictRolloutBuffer`` whose minibatches are padded in one gather per array."""


def use_fast_rollout_buffer(model: RecurrentPPO) -> RecurrentPPO:
    """Replace ``model``'s (empty) stock rollout buffer by its gather-padding twin; returns ``model``.

    Call it right after the model is built or loaded, before ``learn``.
    """
    old = cast(RecurrentRolloutBuffer, model.rollout_buffer)  # RecurrentPPO builds a recurrent (dict) buffer
    new_class = (
        GatherRecurrentDictRolloutBuffer if isinstance(old, RecurrentDictRolloutBuffer) else GatherRecurrentRolloutBuffer
    )
    model.rollout_buffer = new_class(
        old.buffer_size,
        old.observation_space,
        old.action_space,
        old.hidden_state_shape,
        old.device,
        gae_lambda=old.gae_lambda,
        gamma=old.gamma,
        n_envs=old.n_envs,
    )
    return model


class FastRolloutBufferCallback(BaseCallback):
    """Swaps in the gather-padding rollout buffer when ``learn`` starts (before the first rollout).

    For code that does not build the model itself, such as RL Zoo (``callback:
    rl2_agent.buffers.FastRolloutBufferCallback`` in its yaml)::

        model.learn(total_timesteps, callback=FastRolloutBufferCallback())
    """

    def _init_callback(self) -> None:
        if not isinstance(cast(RecurrentPPO, self.model).rollout_buffer, _GatherPadding):
            use_fast_rollout_buffer(cast(RecurrentPPO, self.model))

    def _on_step(self) -> bool:
        return True

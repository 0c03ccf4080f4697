"""The NAR unit decoder (T2U) over every stream whose text came in one round: inputs of one shape in one batch.

Upstream's ``NARUnitYUnitDecoderAgent.policy`` (seamless_communication 90e2b57,
online_unit_decoder.py) runs the T2U once per stream on the text decoder's latest
features and the segment's tokens. Streams whose two inputs have the same shapes
share a call of upstream's own model, which batches with padding masks: the
characters and the units of each row differ in number, and every convolution of the
variance adaptor and the decoder masks the padding first (fft_decoder_layer.py,
length_regulator.py), so each row gets what its lone call gives, its durations cut to
its own characters and its logits to its own units. The agents' pops find their output ready (precomputed.py); a stream
alone, or a batch that fails, gets upstream's lone call.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inference.engines.seamless.precomputed import Key, where


def decode_units_together(agent: Any, all_states: list[Any]) -> dict[Key, tuple[Any, Any]]:
    """Each pending T2U call whose input shapes another shares: its input and output, by where its input lives."""
    import torch

    groups: dict[Key, list[Any]] = {}
    for states in all_states:
        if states.target_finished or len(states.source_token_list) < 2:
            continue  # the policy would not call the model
        source, indices = states.source, states.source_indices
        groups.setdefault((tuple(source.shape), tuple(indices.shape), source.device), []).append(states)
    outputs: dict[Key, tuple[Any, Any]] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        text_seqs = torch.cat([states.source_indices for states in group])
        try:
            output, padding_mask, durations = agent.model(
                text_decoder_output=torch.cat([states.source for states in group]), text_decoder_padding_mask=None,
                text_seqs=text_seqs, duration_factor=agent.d_factor)
            _, characters, _ = agent.model.decoder_frontend.text_to_char_seqs(text_seqs)  # each row's own count
        except Exception:  # one stream's bad input: each gets its lone call in its pop, so only it fails
            continue
        units = padding_mask.seq_lens.tolist() if padding_mask is not None else [output.logits.size(1)] * len(group)
        for row, states in enumerate(group):
            own = dataclasses.replace(output, logits=output.logits[row : row + 1, : units[row]])
            outputs[where(states.source)] = states.source, (own, None, durations[row : row + 1, : characters[row]])
    return outputs

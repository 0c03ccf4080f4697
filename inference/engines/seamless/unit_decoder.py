"""The NAR unit decoder (T2U) over every stream whose text came in one round, in padded batches.

Upstream's ``NARUnitYUnitDecoderAgent.policy`` (seamless_communication 90e2b57,
online_unit_decoder.py) runs the T2U once per stream on the text decoder's features
and the segment's tokens (one feature per token). Upstream's model batches with
padding masks: the encoder masks padded tokens, padded tokens get no characters, and
every convolution of the variance adaptor and the decoder masks the padding of
characters and units first (fft_decoder_layer.py, length_regulator.py). So streams of
similar lengths (batched.py's ``similar_lengths``) share a call, and each row gets
what its lone call gives: its durations cut to its own characters, its logits to its
own units. The agents' pops find their output ready (precomputed.py); a stream alone,
or a batch that fails, gets upstream's lone call.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from inference.engines.seamless.precomputed import Key, where


def decode_units_together(agent: Any, all_states: list[Any]) -> dict[Key, tuple[Any, Any]]:
    """Each pending T2U call that shares a batch: its input and output, by where its input lives."""
    from inference.engines.seamless.batched import similar_lengths

    pending = [states for states in all_states
               if not states.target_finished and len(states.source_token_list) >= 2]  # the policy calls the model
    outputs: dict[Key, tuple[Any, Any]] = {}
    for group in similar_lengths([states.source_indices.size(1) for states in pending]):
        if len(group) > 1:
            outputs.update(_decode_group(agent, [pending[index] for index in group]))
    return outputs


def _decode_group(agent: Any, group: list[Any]) -> dict[Key, tuple[Any, Any]]:
    import torch

    from inference.engines.seamless.text_decoder import padded

    frontend = agent.model.decoder_frontend
    features, feature_mask = padded([states.source for states in group], dim=1)
    text_seqs = torch.nn.utils.rnn.pad_sequence([states.source_indices[0] for states in group], batch_first=True,
                                                padding_value=frontend.pad_idx)
    try:
        output, unit_mask, durations = agent.model(text_decoder_output=features, text_decoder_padding_mask=feature_mask,
                                                   text_seqs=text_seqs, duration_factor=agent.d_factor)
        _, characters, _ = frontend.text_to_char_seqs(text_seqs)  # each row's own count
    except Exception:  # one stream's bad input: each gets its lone call in its pop, so only it fails
        return {}
    units = unit_mask.seq_lens.tolist() if unit_mask is not None else [output.logits.size(1)] * len(group)
    outputs = {}
    for row, states in enumerate(group):
        own = dataclasses.replace(output, logits=output.logits[row : row + 1, : units[row]])
        outputs[where(states.source)] = states.source, (own, None, durations[row : row + 1, : characters[row]])
        # The lone call rewrites end-of-sentence tokens past the prefix as padding in its input, in place.
        frontend.tag_manager.preprocess_text_seqs(states.source_indices)
    return outputs

"""The vocoder over every stream whose units came in one round: streams with as many new units in one batch.

Upstream's ``VocoderAgent.policy`` (seamless_communication 90e2b57, online_vocoder.py)
calls its CodeHiFiGAN once per stream on the units the unit decoder just wrote. Its
convolutions take no padding mask, so in a padded batch a shorter row would read the
padding as sound; rows of the same length share a call instead: upstream's own
``Vocoder.forward`` takes a batch (a language and a speaker per row) and gives each
row what its lone call gives. The agents' pops then find their waveform ready
(precomputed.py); a stream alone, or a batch that fails, gets upstream's lone call.
"""

from __future__ import annotations

from typing import Any

from inference.engines.seamless.precomputed import Key, where


def vocode_together(agent: Any, all_states: list[Any]) -> dict[Key, tuple[Any, Any]]:
    """Each pending vocoder call whose length another shares: its units and waveform, by where its units live."""
    import torch

    groups: dict[Key, list[tuple[Any, str]]] = {}
    for states in all_states:
        units = states.source
        if states.target_finished or len(units) == 0 or len(units[0]) == 0:
            continue  # the policy would not call the vocoder (VocoderAgent.policy)
        row = units[0][0]
        groups.setdefault((tuple(row.shape), row.device), []).append((row, states.tgt_lang or agent.tgt_lang))
    waveforms: dict[Key, tuple[Any, Any]] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        try:
            batch = agent.vocoder(torch.stack([row for row, _ in group]), [lang for _, lang in group],
                                  agent.speaker_id, dur_prediction=False)
        except Exception:  # one stream's bad units: each gets its lone call in its pop, so only it fails
            continue
        for index, (row, _) in enumerate(group):
            waveforms[where(row)] = row, batch[index : index + 1]
    return waveforms

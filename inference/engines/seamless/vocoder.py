"""The vocoder over every stream whose units came in one round: streams with as many new units in one batch.

Upstream's ``VocoderAgent.policy`` (seamless_communication 90e2b57, online_vocoder.py)
calls its CodeHiFiGAN once per stream on the units the unit decoder just wrote. Its
convolutions take no padding mask, so in a padded batch a shorter row would read the
padding as sound; rows of the same length share a call instead: upstream's own
``Vocoder.forward`` takes a batch (a language and a speaker per row) and gives each
row what its lone call gives. The agents' pops then find their waveform ready
(``PrecomputedVocoder``); a stream alone, or a batch that fails, gets upstream's lone call.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


class PrecomputedVocoder:
    """What the vocoder agent calls while its streams pop: the batched waveform of its units, else the real call."""

    def __init__(self, vocoder: Any, waveforms: dict[tuple[Any, ...], tuple[Any, Any]]) -> None:
        self.vocoder = vocoder
        self._waveforms = waveforms  # by where the units live: (units, waveform)

    def __call__(self, units: Any, lang_list: Any, spkr_list: Any = None, dur_prediction: bool = True) -> Any:
        import torch

        found = self._waveforms.pop(_where(units), None)
        if found is not None and torch.equal(found[0], units):
            return found[1]
        return self.vocoder(units, lang_list, spkr_list, dur_prediction=dur_prediction)


def _where(units: Any) -> tuple[Any, ...]:
    """A key for a stream's units that holds across views: the policy indexes them afresh (``units[0][0]``)."""
    return units.device, units.data_ptr(), tuple(units.shape), units.stride()


@contextmanager
def vocoded_together(agent: Any, all_states: list[Any]) -> Iterator[None]:
    """While the block pops the streams, the vocoder agent finds each pending call's waveform computed in batches."""
    agent.vocoder = PrecomputedVocoder(agent.vocoder, vocode_together(agent, all_states))
    try:
        yield
    finally:
        agent.vocoder = agent.vocoder.vocoder


def vocode_together(agent: Any, all_states: list[Any]) -> dict[tuple[Any, ...], tuple[Any, Any]]:
    """Each pending vocoder call whose length another shares: its units and waveform, by where its units live."""
    import torch

    groups: dict[tuple[Any, ...], list[tuple[Any, str]]] = {}
    for states in all_states:
        units = states.source
        if states.target_finished or len(units) == 0 or len(units[0]) == 0:
            continue  # the policy would not call the vocoder (VocoderAgent.policy)
        row = units[0][0]
        groups.setdefault((tuple(row.shape), row.device), []).append((row, states.tgt_lang or agent.tgt_lang))
    waveforms: dict[tuple[Any, ...], tuple[Any, Any]] = {}
    for group in groups.values():
        if len(group) < 2:
            continue
        try:
            batch = agent.vocoder(torch.stack([row for row, _ in group]), [lang for _, lang in group],
                                  agent.speaker_id, dur_prediction=False)
        except Exception:  # one stream's bad units: each gets its lone call in its pop, so only it fails
            continue
        for index, (row, _) in enumerate(group):
            waveforms[_where(row)] = row, batch[index : index + 1]
    return waveforms

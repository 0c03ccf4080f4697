"""Many streams' pushpops in one pass over upstream's agent tree: the w2v-BERT encoder and the text decoder's token steps batched.

Every module runs upstream's own code on each stream's own states, in the order
SimulEval's ``TreeAgentPipeline.pushpop`` runs them. The one change is where the
encoder agent's policy calls ``encode_speech``: the call is recorded (``_Deferred``),
every stream's recorded input is encoded in one padded batch, and each stream's
segment gets its own slice before the modules after the encoder see it.

Upstream's encoder is exactly reproducible in a batch only up to its adaptor: the
w2v-BERT conformer masks padding (its depthwise convolution zeroes padded frames,
attention ignores them), but the adaptor's pooling convolution reads padded frames
as data. So the conformer (about 24 of the encoder's 25 layers at the real size)
runs batched, and the adaptor runs per stream on exactly the frames and padding mask
its lone call would have had.

The text decoder agent is pushed each stream's encoder output as upstream's
``push_impl`` does; its pops then run together (text_decoder.py: every stream's
policy stepped in lockstep, the token steps of two or more streams in one batch);
a stream alone gets upstream's own pop. Below the decoder, each stream's tree goes on
with upstream's own ``push_impl`` and ``pop``, in two passes over the streams: the
unit decoder's pops, then the tree's pops (the vocoder's); before each pass, the
model calls those pops will make run in batches over the streams whose inputs have
the same shapes (unit_decoder.py, vocoder.py, precomputed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.engines.seamless.stream import Step
from inference.engines.seamless.precomputed import precomputed
from inference.engines.seamless.text_decoder import pop_together
from inference.engines.seamless.unit_decoder import decode_units_together
from inference.engines.seamless.vocoder import vocode_together

Outcome = list[Any] | Exception  # a stream's pushpop outputs, or the error that ended its step


@dataclass
class _Deferred:
    """Stands for one stream's encoder output in upstream's policy until the batch has run."""

    seqs: Any  # (1, frames, features), as upstream's policy collated them
    padding_mask: Any


class _RecordingModel:
    """What the encoder agent sees as its model while its streams' policies run: encode_speech is recorded."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[_Deferred] = []

    def encode_speech(self, seqs: Any, padding_mask: Any) -> tuple[_Deferred, None]:
        call = _Deferred(seqs, padding_mask)
        self.calls.append(call)
        return call, None  # upstream's policy keeps the output and drops the mask

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


class BatchedPushpop:
    """``pushpop`` for many streams at once over trees that share one loaded model."""

    def __init__(self, encoder_agent: Any, unit_decoder_agent: Any, vocoder_agent: Any) -> None:
        self._encoder = encoder_agent
        self._units = unit_decoder_agent
        self._vocoder = vocoder_agent

    @classmethod
    def over(cls, agent: Any) -> BatchedPushpop:
        """Over the encoder and vocoder agents of a loaded speech tree (the text-only tree shares its modules)."""
        from seamless_communication.streaming.agents.offline_w2v_bert_encoder import OfflineWav2VecBertEncoderAgent
        from seamless_communication.streaming.agents.online_unit_decoder import NARUnitYUnitDecoderAgent
        from seamless_communication.streaming.agents.online_vocoder import VocoderAgent

        def module(kind: type) -> Any:
            return next(module for module in agent.module_dict if isinstance(module, kind))

        return cls(module(OfflineWav2VecBertEncoderAgent), module(NARUnitYUnitDecoderAgent), module(VocoderAgent))

    def __call__(self, steps: list[Step]) -> list[Outcome]:
        import torch

        with torch.inference_mode():
            return self._pushpop(steps)

    def _pushpop(self, steps: list[Step]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(steps)
        upstream: dict[int, dict[int, Any]] = {}  # each stream's upstream_states, as push_impl builds them
        for index, step in enumerate(steps):
            try:
                upstream[index] = self._push_to_encoder(step)
            except Exception as error:  # this stream's step ends here; the others go on
                outcomes[index] = error

        popped: dict[int, Any] = {}
        recording = _RecordingModel(self._encoder.model)
        self._encoder.model = recording
        try:
            for index in list(upstream):
                try:
                    popped[index] = self._encoder.pop(steps[index].states[self._encoder])
                except Exception as error:
                    outcomes[index] = error
                    del upstream[index]
        finally:
            self._encoder.model = recording.model
        encoded = dict(zip(map(id, recording.calls), encode_each(recording.model, recording.calls)))

        encoded_segments: dict[int, Any] = {}
        for index in upstream:
            try:
                segment = popped[index]
                if isinstance(segment.content, _Deferred):
                    result = encoded[id(segment.content)]
                    if isinstance(result, Exception):
                        raise result
                    segment.content = result
                encoded_segments[index] = segment
            except Exception as error:
                outcomes[index] = error
        for index, outcome in self._decode(steps, encoded_segments, upstream).items():
            outcomes[index] = outcome
        return [outcome if outcome is not None else RuntimeError("no outcome") for outcome in outcomes]

    def _decode(self, steps: list[Step], segments: dict[int, Any],
                upstream: dict[int, dict[int, Any]]) -> dict[int, Outcome]:
        """The text decoder's pushpop for every stream, its token steps together; then the rest of each tree."""
        outcomes: dict[int, Outcome] = {}
        popped: dict[int, Any] = {}
        by_decoder: dict[Any, list[int]] = {}
        for index, segment in segments.items():
            step = steps[index]
            try:
                (decoder,) = step.agent.module_dict[self._encoder]  # the tree's one text decoder
                segment.config = step.segment.config  # push_impl carries the input's config down the tree
                upstream[index][len(upstream[index])] = step.states[self._encoder]
                decoder.push(segment, step.states[decoder], upstream[index])
                by_decoder.setdefault(decoder, []).append(index)
            except Exception as error:
                outcomes[index] = error
        for decoder, indices in by_decoder.items():
            if len(indices) == 1:  # alone: upstream's own pop
                try:
                    popped[indices[0]] = decoder.pop(steps[indices[0]].states[decoder])
                except Exception as error:
                    outcomes[indices[0]] = error
                continue
            for index, result in zip(indices, pop_together(decoder, [steps[i].states[decoder] for i in indices])):
                if isinstance(result, Exception):
                    outcomes[index] = result
                else:
                    popped[index] = result
        pushed: list[int] = []
        for index, segment in popped.items():
            try:
                self._push_from_decoder(steps[index], segment, upstream[index])
                pushed.append(index)
            except Exception as error:
                outcomes[index] = error
        with precomputed(self._units, "model", "text_decoder_output",
                         decode_units_together(self._units, self._states_of(self._units, steps, pushed))):
            for index in list(pushed):
                try:
                    self._push_from_unit_decoder(steps[index], upstream[index])
                except Exception as error:
                    outcomes[index] = error
                    pushed.remove(index)
        with precomputed(self._vocoder, "vocoder", "units",
                         vocode_together(self._vocoder, self._states_of(self._vocoder, steps, pushed))):
            for index in pushed:
                try:  # the tree's pop: upstream's, with its early-stop reset
                    outcomes[index] = steps[index].agent.pop(steps[index].states)
                except Exception as error:
                    outcomes[index] = error
        return outcomes

    @staticmethod
    def _states_of(module: Any, steps: list[Step], indices: list[int]) -> list[Any]:
        """The streams' states for a module, of the streams whose tree has it (the text-only tree has no voice)."""
        return [steps[index].states[module] for index in indices if module in steps[index].states]

    def _push_to_encoder(self, step: Step) -> dict[int, Any]:
        """SimulEval's push_impl down the tree's path to the encoder, ending with the encoder's push."""
        agent, states, segment = step.agent, step.states, step.segment
        upstream_states: dict[int, Any] = {}
        module = agent.source_module
        while module is not self._encoder:
            config = segment.config
            segment = module.pushpop(segment, states[module], upstream_states)
            segment.config = config
            upstream_states[len(upstream_states)] = states[module]
            (module,) = agent.module_dict[module]  # the path to the encoder does not branch
        self._encoder.push(segment, states[module], upstream_states)
        return upstream_states

    def _push_from_decoder(self, step: Step, segment: Any, upstream_states: dict[int, Any]) -> None:
        """push_impl below the text decoder, up to the unit decoder's push (its pop comes once all streams pushed)."""
        agent, states = step.agent, step.states
        (decoder,) = agent.module_dict[self._encoder]
        segment.config = step.segment.config
        upstream_states[len(upstream_states)] = states[decoder]
        for child in agent.module_dict[decoder]:
            if child is self._units:
                child.push(segment, states[child], upstream_states)
            else:
                agent.push_impl(child, segment, states, upstream_states)

    def _push_from_unit_decoder(self, step: Step, upstream_states: dict[int, Any]) -> None:
        """The rest of push_impl: the unit decoder's pop, then the vocoder's push."""
        agent, states = step.agent, step.states
        if self._units not in states:
            return
        segment = self._units.pop(states[self._units])
        segment.config = step.segment.config
        upstream_states[len(upstream_states)] = states[self._units]
        for child in agent.module_dict[self._units]:
            agent.push_impl(child, segment, states, upstream_states)


def encode_each(model: Any, calls: list[_Deferred]) -> list[Any]:
    """Each call's encoder output, as ``model.encode_speech`` gives it for that call alone (an error for a bad one).

    Calls of similar lengths share a batch: every padded frame is computed in full
    and thrown away, and the streams of a worker are spread over their segments.
    """
    outputs: list[Any] = [None] * len(calls)
    for group in similar_lengths([call.seqs.size(1) for call in calls]):
        for index, output in zip(group, _encode_group(model, [calls[index] for index in group])):
            outputs[index] = output
    return outputs


PADDING_LIMIT = 1.5  # a batch's longest input, at most this many times its shortest


def similar_lengths(lengths: list[int]) -> list[list[int]]:
    """Indices grouped, shortest first, so that no group's longest is over PADDING_LIMIT times its shortest."""
    groups: list[list[int]] = []
    for index in sorted(range(len(lengths)), key=lengths.__getitem__):
        if groups and lengths[index] <= PADDING_LIMIT * lengths[groups[-1][0]]:
            groups[-1].append(index)
        else:
            groups.append([index])
    return groups


def _encode_group(model: Any, calls: list[_Deferred]) -> list[Any]:
    if len(calls) > 1:
        try:
            return encode_together(model, calls)
        except Exception:  # a stream's bad input: encode them one by one, so that only its own step fails
            pass
    outputs: list[Any] = []
    for call in calls:
        try:
            outputs.append(model.encode_speech(call.seqs, call.padding_mask)[0])
        except Exception as error:
            outputs.append(error)
    return outputs


def encode_together(model: Any, calls: list[_Deferred]) -> list[Any]:
    """The conformer over all calls in one padded batch, then the adaptor on each call's own frames."""
    import torch
    from fairseq2.nn.padding import PaddingMask
    from seamless_communication.models.unity.adaptor_block import UnitYEncoderAdaptor

    encoder = model.speech_encoder
    if not isinstance(encoder, UnitYEncoderAdaptor):
        raise TypeError(f"no batched path for a {type(encoder).__name__} speech encoder")
    first = calls[0].seqs
    frames = [call.seqs.size(1) for call in calls]
    seqs = first.new_zeros((len(calls), max(frames), first.size(2)))
    for row, call in enumerate(calls):
        seqs[row, : frames[row]] = call.seqs[0]
    seq_lens = torch.tensor([int(call.padding_mask.seq_lens[0]) if call.padding_mask is not None else count
                             for call, count in zip(calls, frames)], device=first.device)
    seqs, padding_mask = model.speech_encoder_frontend(seqs, PaddingMask(seq_lens, batch_seq_len=max(frames)))
    seqs, padding_mask = encoder.inner(seqs, padding_mask)

    stride = model.speech_encoder_frontend.feature_extractor.stride
    outputs = []
    for row, call in enumerate(calls):
        length = frames[row] // stride  # the frames the frontend gives this call alone
        own_mask = None if call.padding_mask is None else PaddingMask(padding_mask.seq_lens[row : row + 1],
                                                                      batch_seq_len=length)
        outputs.append(_adaptor(encoder, seqs[row : row + 1, :length], own_mask))
    return outputs


def _adaptor(encoder: Any, seqs: Any, padding_mask: Any) -> Any:
    """UnitYEncoderAdaptor.forward after its ``inner`` (seamless_communication 90e2b57, adaptor_block.py)."""
    if encoder.inner_layer_norm is not None:
        seqs = encoder.inner_layer_norm(seqs)
    seqs = seqs + 0.5 * encoder._expand_contract(seqs)
    for layer in encoder.adaptor_layers:
        seqs, padding_mask = layer(seqs, padding_mask)
    return encoder.layer_norm(seqs)

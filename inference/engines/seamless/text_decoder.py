"""The MMA text decoder's token steps batched across streams, each stream with its own key/value cache.

Upstream's text decoder agent (``MMATextDecoderAgent.policy`` and UnitY's
``postprocess``, seamless_communication 90e2b57, online_text_decoder.py) decodes one
stream at a time: each policy call starts a fresh ``IncrementalStateBag``, runs the
decoder once over the target prefix and every token written so far (the prefill),
then one token at a time while the monotonic attention says write. At batch one each
token step reads every decoder weight and the vocabulary projection for one row: the
memory-bound part that batching shares (docs/capacity.md).

``pop_steps`` is that policy, step for step, as a generator that yields each decoder
call instead of making it; ``pop_together`` drives every stream's generator in
lockstep and runs each sub-step's calls together:
- a prefill (its length differs per stream) and a stream alone run upstream's own
  ``run_decoder`` on the stream's own bag;
- the token steps of two or more streams run as one batch: self-attention over each
  stream's own cache (padded, with a key padding mask), encoder-decoder attention over
  the streams' encoder outputs (padded, masked), layer norms, feed-forward and the
  vocabulary projection over all rows. The monotonic ``p_choose`` runs per stream: its
  key pooling (ceil mode) would read another stream's padding as data, like the
  encoder's adaptor (batched.py). Caches are appended only once the whole batch has
  run, so a batch that fails is run again call by call, and only the failing stream's
  step fails.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

Decoded = tuple[int, float, Any]  # upstream run_decoder's (token index, write probability, decoder output)


@dataclass
class DecoderCall:
    """One ``run_decoder`` call a stream's policy asks for."""

    states: Any  # the stream's DecoderAgentStates
    bag: Any  # the IncrementalStateBag of its policy call
    pred_indices: list[int]  # as run_decoder takes them: empty for the prefill


PopSteps = Generator[DecoderCall, Decoded, Any]  # returns the segment the agent's pop gives


def pop_together(agent: Any, all_states: list[Any]) -> list[Any]:
    """``agent.pop(states)`` for each stream's states, the decoder calls of each sub-step together.

    Each result is the popped segment, or the exception that ended that stream's pop.
    """
    outcomes: list[Any] = [None] * len(all_states)
    running: dict[int, PopSteps] = {}
    waiting: dict[int, DecoderCall] = {}

    def advance(index: int, steps: PopSteps, result: Decoded | Exception | None) -> None:
        try:
            if isinstance(result, Exception):
                steps.close()
                outcomes[index] = result
                return
            waiting[index] = steps.send(result) if result is not None else next(steps)  # type: ignore[arg-type]
            running[index] = steps
        except StopIteration as done:
            outcomes[index] = done.value
        except Exception as error:  # this stream's pop ends here; the others go on
            outcomes[index] = error

    for index, states in enumerate(all_states):
        advance(index, pop_steps(agent, states), None)
    while waiting:
        indices = list(waiting)
        calls = [waiting.pop(index) for index in indices]
        for index, result in zip(indices, decode_each(agent, calls)):
            advance(index, running.pop(index), result)
    return outcomes


def pop_steps(agent: Any, states: Any) -> PopSteps:
    """simuleval 1.1.4's ``GenericAgent.pop`` over the policy below (agent.py)."""
    from simuleval.agents.agent import SEGMENT_TYPE_DICT
    from simuleval.data.segments import EmptySegment, Segment

    if states.target_finished:
        return EmptySegment(finished=True)
    action = yield from _policy_steps(agent, states)
    if action.is_read():
        return EmptySegment()
    if isinstance(action.content, Segment):
        return action.content
    segment = SEGMENT_TYPE_DICT[agent.target_type](index=0, content=action.content, finished=action.finished)
    states.update_target(segment)
    return segment


def _policy_steps(agent: Any, states: Any) -> Generator[DecoderCall, Decoded, Any]:
    """``MMATextDecoderAgent.policy``, its ``self.state_bag`` a bag of the stream's own."""
    import torch
    from fairseq2.nn.incremental_state import IncrementalStateBag
    from simuleval.agents.actions import ReadAction, WriteAction

    if len(states.source) == 0:
        return ReadAction()
    if states.source_len < agent.min_starting_wait and not states.source_finished:
        return ReadAction()
    if states.target_finished:
        return WriteAction("", finished=True)

    bag = IncrementalStateBag(4096)
    states.source_len = states.source.size(1)
    # run_decoder sets the shared prefix's language tag from these states before the
    # prefill; other streams' prefills change it again, so keep this stream's own.
    agent.enforce_tgt_lang_in_prefix(states)
    prefix = list(agent.prefix_indices)

    pred_indices: list[int] = []
    finished = False
    blocked_ngrams = agent.get_blocked_ngrams(states.target_indices)
    decoder_features_out = None
    while True:
        index, prob, decoder_features = yield DecoderCall(states, bag, list(pred_indices))
        if decoder_features_out is None:
            decoder_features_out = decoder_features.new(0)
        decoder_features_out = torch.cat([decoder_features_out, decoder_features], dim=1)

        if agent.no_early_stop and not states.source_finished and (
                prob < agent.decision_threshold or index == agent.eos_idx):
            if prob == 1.0:
                pred_indices = []
            break
        block_ngram, decoder_features_out = agent.maybe_block_ngrams(
            states, pred_indices, decoder_features_out, blocked_ngrams, index)
        if block_ngram:
            break
        if finished or index == agent.eos_idx or len(states.target_indices + pred_indices) > agent.max_len(states):
            finished = True
            break
        if prob < agent.decision_threshold and not states.source_finished:
            break
        if (len(states.target_indices + pred_indices) >= agent.max_len(states)
                or len(pred_indices) >= agent.max_consecutive_writes):
            break

        pred_indices.append(index)
        if bag.step_nr == 0:
            bag.increment_step_nr(len(prefix + states.target_indices))
        else:
            bag.increment_step_nr()

    states.target_indices += pred_indices
    if len(pred_indices) > 0 or finished:
        finished = finished or len(states.target_indices + pred_indices) > agent.max_len(states)
        states.ngram_block_count = 0
        segment = yield from _postprocess_steps(agent, states, bag, prefix, pred_indices, finished,
                                                decoder_features_out)
        return WriteAction(segment, finished=finished)
    return ReadAction()


def _postprocess_steps(agent: Any, states: Any, bag: Any, prefix: list[int], pred_indices: list[int],
                       finished: bool, decoder_features_out: Any) -> Generator[DecoderCall, Decoded, Any]:
    """``UnitYMMATextDecoderAgent.postprocess``: the features of a trailing "," for a smoother voice."""
    import torch
    from seamless_communication.streaming.agents.online_text_decoder import UnitYTextDecoderOutput
    from simuleval.data.segments import TextSegment

    tokenizer = agent.text_tokenizer
    tokens = [tokenizer.model.index_to_token(index) for index in pred_indices]
    token_list = prefix + states.target_indices
    if len(pred_indices) > 0 and pred_indices[-1] != tokenizer.vocab_info.eos_idx:
        ending_token_index = tokenizer.model.token_to_index(",")
        token_list.append(ending_token_index)
        bag.increment_step_nr()
        _, _, decoder_features = yield DecoderCall(states, bag, [ending_token_index])
        decoder_features_out = torch.cat([decoder_features_out, decoder_features], dim=1)
    target_input = torch.tensor(token_list, device=agent.device, dtype=torch.int64).unsqueeze(0)
    return TextSegment(content=UnitYTextDecoderOutput(decoder_features_out, tokens, target_input),
                       finished=finished, tgt_lang=states.tgt_lang)


def decode_each(agent: Any, calls: list[DecoderCall]) -> list[Decoded | Exception]:
    """Each call's ``run_decoder`` result (an error for a call that fails), token steps batched."""
    results: list[Decoded | Exception | None] = [None] * len(calls)
    token_steps = [index for index, call in enumerate(calls) if call.pred_indices]
    if len(token_steps) > 1:
        try:
            for index, result in zip(token_steps, decode_together(agent, [calls[index] for index in token_steps])):
                results[index] = result
        except Exception:  # one stream's bad step: run the calls one by one below, so that only it fails
            pass
    for index, call in enumerate(calls):
        if results[index] is None:
            try:
                results[index] = run_alone(agent, call)
            except Exception as error:
                results[index] = error
    return results  # type: ignore[return-value]


def run_alone(agent: Any, call: DecoderCall) -> Decoded:
    """Upstream's own ``run_decoder`` on the stream's own bag."""
    agent.state_bag = call.bag
    return agent.run_decoder(call.states, call.pred_indices)  # type: ignore[no-any-return]


def decode_together(agent: Any, calls: list[DecoderCall]) -> list[Decoded]:
    """One token step for every call in one batch: upstream's decode and projection, then run_decoder's choice."""
    import torch

    model, decoder = agent.model, agent.model.text_decoder
    tokens = torch.tensor([call.pred_indices[-1:] for call in calls], device=agent.device, dtype=torch.int64)
    # The frontend's position is each stream's own step number: one row at a time.
    seqs = torch.cat([model.text_decoder_frontend(tokens[row : row + 1], None, state_bag=call.bag)[0]
                      for row, call in enumerate(calls)])
    sources = [call.states.source for call in calls]
    memory, memory_mask = padded(sources, dim=1)
    appends: list[tuple[Any, Any, Any]] = []
    p_choose: list[list[Any]] = [[] for _ in calls]
    for layer in decoder.layers.drop_iter():
        seqs = _self_attention(layer, seqs, calls, appends)
        residual = seqs
        seqs = layer.encoder_decoder_attn_layer_norm(seqs)
        for row, source in enumerate(sources):
            p_choose[row].append(layer.p_choose_layer(seqs[row : row + 1], source))
        seqs = layer.encoder_decoder_attn(seqs, None, memory, memory_mask, memory)
        seqs = _dropout(layer.encoder_decoder_attn_dropout, seqs) + residual
        seqs = layer._forward_ffn(seqs)
    seqs = decoder.layer_norm(seqs)
    logits = model.project(seqs)
    for attn, row, (keys, values) in appends:  # every call's step ran: now it joins the caches
        calls[row].bag.get_state(attn, _attention_state()).append(keys, values)
    return [_choose(agent, call, logits[row : row + 1], torch.cat(p_choose[row]), seqs[row : row + 1])
            for row, call in enumerate(calls)]


def _self_attention(layer: Any, seqs: Any, calls: list[DecoderCall], appends: list[tuple[Any, Any, Any]]) -> Any:
    """The layer's self-attention for one new token per row, each row over its own stream's cache."""
    import torch

    attn = layer.self_attn
    if attn.pos_encoder is not None or attn.num_key_value_heads != attn.num_heads or attn.attn_mask_factory:
        raise TypeError("no batched token step for this attention")  # not the monotonic decoder's: run alone
    residual = seqs
    seqs = layer.self_attn_layer_norm(seqs)
    q = attn._project_q(seqs, None)
    k, v = attn._project_kv(seqs, None, seqs)
    keys, values = [], []
    for row, call in enumerate(calls):
        cached_keys, cached_values = call.bag.get_state(attn, _attention_state()).get()
        new_keys, new_values = k[row : row + 1], v[row : row + 1]
        appends.append((attn, row, (new_keys, new_values)))
        keys.append(torch.cat([cached_keys, new_keys], dim=2))
        values.append(torch.cat([cached_values, new_values], dim=2))
    keys_padded, key_mask = padded(keys, dim=2)
    values_padded, _ = padded(values, dim=2)
    out, _ = attn.sdpa(q, keys_padded, key_mask, values_padded, needs_weights=False)
    out = out.transpose(1, 2)
    if attn.head_scale_weight is not None:
        out = torch.einsum("nshv,h->nshv", out, attn.head_scale_weight)
    out = attn.output_proj(out.flatten(2, 3))
    return _dropout(layer.self_attn_dropout, out) + residual


def _dropout(dropout: Any, seqs: Any) -> Any:
    return seqs if dropout is None else dropout(seqs)


def _attention_state() -> type:
    from fairseq2.nn.transformer.multihead_attention import AttentionState

    return AttentionState


def _choose(agent: Any, call: DecoderCall, logits: Any, p_choose: Any, decoder_output: Any) -> Decoded:
    """The rest of upstream's ``run_decoder``: n-gram blocking, the argmax, and the write probability."""
    states, pred_indices = call.states, call.pred_indices
    if agent.block_ngrams and states.source_finished:
        logits[:, :, (states.target_indices + pred_indices)[-4:]] = float("-inf")
    index = int(logits[0, -1].argmax().item())
    decision = p_choose[agent.p_choose_start_layer :, :, -1, -1]  # (layers, heads, 1, pooled source)
    if agent.decision_method == "min":
        prob = decision.min().item()
    elif agent.decision_method == "mean":
        prob = decision.mean().item()
    else:
        prob = decision.median().item()
    return index, prob, decoder_output


def padded(rows: list[Any], dim: int) -> tuple[Any, Any]:
    """Single-row tensors stacked into one batch, zero-padded along ``dim``, with the padding mask of that dim."""
    import torch
    from fairseq2.nn.padding import PaddingMask

    lengths = [row.size(dim) for row in rows]
    longest = max(lengths)
    after = [0, 0] * (rows[0].dim() - 1 - dim)
    batch = torch.cat([torch.nn.functional.pad(row, [*after, 0, longest - length])
                       for row, length in zip(rows, lengths)])
    return batch, PaddingMask(torch.tensor(lengths, device=batch.device), batch_seq_len=longest)

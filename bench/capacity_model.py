"""A capacity MODEL of SeamlessStreaming per GPU, built from the real architectures' sizes (not a measurement).

Builds upstream's real `seamless_streaming_unity` (w2v-BERT speech encoder + NAR T2U), `dense_1b` monotonic
decoder and `vocoder_v2` with upstream's builders and the real cards' configurations, on PyTorch's meta device
(shapes only: no weights, nothing downloaded), and runs each component's forward at the shapes one streaming
step gives it, counting FLOPs (`torch.utils.flop_counter`), bytes written by every operation, operations
launched, and weight bytes read. From those it models, per GPU (L4, A100 80 GB, H100 SXM), the time of one
320 ms tick for N streams as a roofline (the larger of FLOPs over peak and bytes over bandwidth, per component)
plus a launch overhead per operation, and the number of real-time streams at batch 1 (the serial path)
and at batch N (every live stream stepped together). Assumptions are constants below and printed with the
table; docs/capacity.md explains them. A GPU owner checks the model with `bench/gpu_check.py`.

Run with the seamless stack: `.venv-seamless/bin/python -m bench.capacity_model` (about a minute).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from harness.tiny_models import UNITY_CARD, TinyModels, make_tiny_models

# The streaming step and the model's rates (upstream's code and cards).
STEP_SECONDS = 0.32  # source_segment_size 320 ms (upstream's streaming evaluation)
FBANK_FRAMES_PER_SECOND = 100  # 10 ms shift, 80 mel bins
FBANK_BINS = 80
MIN_STARTING_WAIT_FRAMES = 192  # min_starting_wait_w2vbert: the encoder first runs at 1.92 s of a segment
UNITS_PER_SECOND = 50  # vocoder_v2 upsamples each unit by 320 samples at 16 kHz
PREFIX_TOKENS = 2  # the decoder's prefix before the target text: </s> and the target language tag

# Assumptions about speech (stated in docs/capacity.md).
TEXT_TOKENS_PER_SECOND = 3.3  # NLLB SentencePiece tokens of translated speech: about 2.5 words a second, 1.3 each
OUTPUT_SPEECH_RATIO = 1.0  # seconds of translated speech per second of input speech
SEGMENT_SECONDS = (2.0, 5.0, 10.0, 20.0)  # VAD segment lengths the model is evaluated at (20 s: the cap)
TYPICAL_SEGMENT_SECONDS = 5.0  # what the deployments' session caps are sized for (docs/capacity.md)
MEASURED_SECONDS = (1.92, 3.2, 5.12, 7.68, 10.24, 15.04, 20.16)  # segment times whose step is measured

# Assumptions about the GPU software (stated in docs/capacity.md).
COMPUTE_EFFICIENCY = 0.5  # share of peak fp16 tensor FLOPs reached by these GEMM shapes
BANDWIDTH_EFFICIENCY = 0.8  # share of peak memory bandwidth reached by streaming weights
LAUNCH_SECONDS = 8e-6  # per operation, eager PyTorch on CUDA (CUDA graphs would take most of it away)
TICK_UTILISATION = 0.8  # a tick's work may take this share of 320 ms, leaving room for queueing
MEMORY_RESERVE_BYTES = 2 * 2**30  # CUDA context, allocator slack, the VAD and feature extractor
BYTES_PER_VALUE = 2  # fp16
TRANSIENT_TENSORS = 4  # largest tensors of a call alive at once


@dataclass(frozen=True)
class Gpu:
    """Peak figures of one GPU (NVIDIA's datasheets; dense fp16 tensor throughput, without sparsity)."""

    name: str
    fp16_flops: float
    bandwidth: float  # bytes per second
    memory: float  # bytes
    source: str


GPUS = (
    Gpu("L4", 121e12, 300e9, 24e9, "NVIDIA L4 datasheet: 242 TFLOPS fp16 with sparsity (121 dense), 300 GB/s, 24 GB"),
    Gpu("A100 80GB SXM", 312e12, 2039e9, 80e9,
        "NVIDIA A100 datasheet: 312 TFLOPS fp16 dense (624 sparse), 2,039 GB/s, 80 GB HBM2e"),
    Gpu("H100 SXM", 989e12, 3350e9, 80e9,
        "NVIDIA H100 datasheet: 1,979 TFLOPS fp16 with sparsity (989 dense), 3.35 TB/s, 80 GB HBM3"),
)


@dataclass(frozen=True)
class Cost:
    """What one call of a component does: FLOPs, bytes written by its operations (activations; read about as
    much again), weight bytes it reads, and operations launched."""

    flops: float
    activation_bytes: float
    weight_bytes: float
    operations: int
    largest_tensor_bytes: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.flops + other.flops, self.activation_bytes + other.activation_bytes,
                    self.weight_bytes + other.weight_bytes, self.operations + other.operations,
                    max(self.largest_tensor_bytes, other.largest_tensor_bytes))

    def times(self, factor: float) -> Cost:
        """factor calls one after the other."""
        return Cost(self.flops * factor, self.activation_bytes * factor, self.weight_bytes * factor,
                    round(self.operations * factor), self.largest_tensor_bytes)

    def batched(self, streams: int) -> Cost:
        """The same call for `streams` streams in one batch: every operation's work grows with the batch, the
        weights are read once and the operations are launched once."""
        return Cost(self.flops * streams, self.activation_bytes * streams, self.weight_bytes, self.operations,
                    self.largest_tensor_bytes * streams)


ZERO = Cost(0.0, 0.0, 0.0, 0)


class _OperationCounter(TorchDispatchMode):
    """Counts the operations that launch a kernel (a view of a tensor launches none), the bytes of the tensors
    they produce, and the largest of those tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.operations = 0
        self.bytes_written = 0
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 (torch's signature)
        out = func(*args, **(kwargs or {}))
        schema = func._schema
        if schema.is_mutable or all(ret.alias_info is None for ret in schema.returns):
            self.operations += 1
            for tensor in torch.utils._pytree.tree_leaves(out):
                if isinstance(tensor, torch.Tensor):
                    size = tensor.numel() * tensor.element_size()
                    self.bytes_written += size
                    self.largest = max(self.largest, size)
        return out


def measure(call: Callable[[], object], weight_bytes: float) -> Cost:
    """Run call under the counters (no_grad: inference_mode hides operations from torch 2.2's counters)."""
    with torch.no_grad(), FlopCounterMode(display=False) as flops, _OperationCounter() as operations:
        call()
    return Cost(float(flops.get_total_flops()), 2.0 * operations.bytes_written, weight_bytes, operations.operations,
                float(operations.largest))


def parameter_bytes(*modules: torch.nn.Module) -> float:
    unique = {id(p): p for module in modules for p in module.parameters()}
    return float(sum(p.numel() * p.element_size() for p in unique.values()))


@dataclass
class RealSizeModels:
    """The three real architectures on the meta device, fp16."""

    unity: torch.nn.Module
    decoder: torch.nn.Module
    vocoder: torch.nn.Module

    @classmethod
    def build(cls, tokenizers: TinyModels | None = None) -> RealSizeModels:
        """The real architectures; `tokenizers`: tiny models already made in this process (else made now)."""
        import seamless_communication  # noqa: F401  (registers the real cards)
        from seamless_communication.models.monotonic_decoder import (
            create_monotonic_decoder_model,
            load_monotonic_decoder_config,
        )
        from seamless_communication.models.unity import create_unity_model, unity_archs
        from seamless_communication.models.vocoder.builder import create_vocoder_model
        from seamless_communication.models.vocoder.loader import load_vocoder_config

        meta, half = torch.device("meta"), torch.float16
        # The NAR T2U's front-end loads its text and character tokenizers when it is built, from the card its
        # config names (seamlessM4T_v2_large: a download). Tiny tokenizers stand in: the layers' sizes come
        # from the config (char_vocabulary_size 10943), not from the tokenizer.
        if tokenizers is None:
            make_tiny_models(Path(tempfile.mkdtemp(prefix="s2st-capacity-")))
        config = unity_archs.get_config("base_v2")
        config = dataclasses.replace(config, use_text_encoder=False, use_text_decoder=False)  # as the pipeline does
        config.t2u_config.nar_decoder_config.model_name_or_card = UNITY_CARD
        unity = create_unity_model(config, device=meta, dtype=half)
        decoder = create_monotonic_decoder_model(
            load_monotonic_decoder_config("seamless_streaming_monotonic_decoder"), device=meta, dtype=half)
        vocoder = create_vocoder_model(copy.deepcopy(load_vocoder_config("vocoder_v2")), device=meta, dtype=half)
        return cls(unity.eval(), decoder.eval(), vocoder.eval())

    # One call of each component at the shapes a streaming step gives it.

    def encoder(self, seconds: float) -> tuple[Cost, int]:
        """The speech encoder (w2v-BERT + adaptor) over a whole segment so far; also its output frames."""
        features = torch.zeros(1, max(2, round(seconds * FBANK_FRAMES_PER_SECOND)), FBANK_BINS,
                               device="meta", dtype=torch.float16)
        frames = []
        cost = measure(lambda: frames.append(self.unity.encode_speech(features, None)[0].shape[1]),
                       parameter_bytes(self.unity.speech_encoder_frontend, self.unity.speech_encoder))
        return cost, frames[0]

    def decoder_calls(self, prefix: int, frames: int) -> tuple[Cost, Cost]:
        """Two `run_decoder` calls of upstream's MMA agent, cross-attending to `frames` encoder frames: the
        first of a policy call (a fresh state bag: the whole prefix of `prefix` tokens, then the 256k-way
        projection of every position, as upstream does) and one more token after it."""
        from fairseq2.nn.incremental_state import IncrementalStateBag

        encoder_output = torch.zeros(1, frames, 1024, device="meta", dtype=torch.float16)
        bag = IncrementalStateBag(4096)
        weights = parameter_bytes(self.decoder.text_decoder, self.decoder.final_proj)

        def call(tokens: int) -> None:
            seqs = torch.zeros(1, tokens, dtype=torch.int64, device="meta")
            output, _, _ = self.decoder.decode(seqs, None, encoder_output, None, state_bag=bag)
            self.decoder.project(output)

        first = measure(lambda: call(prefix), weights)
        bag.increment_step_nr(prefix)
        return first, measure(lambda: call(1), weights)

    def t2u(self, text_tokens: int, units: int) -> Cost:
        """The NAR T2U over the segment's text so far: its encoder over the text, its decoder over the units
        (the front-end's upsampling by predicted durations is data-dependent: its small convolutions are
        left out, the decoder is given the unit length the durations would make)."""
        t2u = self.unity.t2u_model
        text = torch.zeros(1, max(1, text_tokens), 1024, device="meta", dtype=torch.float16)
        frames = torch.zeros(1, max(1, units), 1024, device="meta", dtype=torch.float16)

        def call() -> None:
            t2u.encoder(text, None)
            t2u.decoder(frames, None)
            t2u.final_proj(frames)

        return measure(call, parameter_bytes(t2u.encoder, t2u.decoder, t2u.final_proj))

    def vocoder_call(self, units: int) -> Cost:
        """vocoder_v2 (unit HiFi-GAN) over new units, without duration prediction (as upstream's agent)."""
        sample = {"code": torch.zeros(1, max(1, units), dtype=torch.int64, device="meta"),
                  "spkr": torch.zeros(1, 1, dtype=torch.int64, device="meta"),
                  "lang": torch.zeros(1, 1, dtype=torch.int64, device="meta")}
        generator = self.vocoder.code_generator
        return measure(lambda: generator(sample, dur_prediction=False), parameter_bytes(generator))


@dataclass(frozen=True)
class StepCosts:
    """Per component, the cost of one tick's calls for one stream at one point of its segment."""

    encoder: Cost
    decoder: Cost
    t2u: Cost
    vocoder: Cost

    def items(self) -> tuple[tuple[str, Cost], ...]:
        return (("encoder", self.encoder), ("text decoder", self.decoder), ("T2U", self.t2u),
                ("vocoder", self.vocoder))

    def batched(self, streams: int) -> StepCosts:
        return StepCosts(*(cost.batched(streams) for _, cost in self.items()))


class StepModel:
    """The calls one streaming step makes at segment time t. Each component's cost is smooth in t, so it is
    measured at MEASURED_SECONDS (a forward on the meta device takes seconds of CPU) and interpolated
    linearly between them."""

    def __init__(self, models: RealSizeModels) -> None:
        self._models = models
        self._measured = [(seconds, *self._measure(seconds)) for seconds in MEASURED_SECONDS]

    def step(self, seconds: float, new_tokens: float | None = None) -> StepCosts:
        """One stream's tick at `seconds` into its segment, writing `new_tokens` (default: the tokens said
        since its previous tick, see new_tokens())."""
        if seconds * FBANK_FRAMES_PER_SECOND < MIN_STARTING_WAIT_FRAMES:
            return StepCosts(ZERO, ZERO, ZERO, ZERO)  # the encoder waits for 1.92 s of speech
        tokens = new_tokens_at(seconds) if new_tokens is None else new_tokens
        below = max((point for point in self._measured if point[0] <= seconds), default=self._measured[0])
        above = min((point for point in self._measured if point[0] >= seconds), default=self._measured[-1])
        share = 0.0 if above[0] == below[0] else (seconds - below[0]) / (above[0] - below[0])
        costs, token = (_mix(low, high, share) for low, high in zip(below[1:], above[1:]))
        # A fresh state bag per policy call: the whole prefix once, then one call per token written.
        return dataclasses.replace(costs, decoder=costs.decoder + token.times(tokens))

    def _measure(self, seconds: float) -> tuple[StepCosts, Cost]:
        """The step's calls at `seconds`, the decoder's first call only, and the cost of one more token."""
        models = self._models
        encoder, frames = models.encoder(seconds)
        written = TEXT_TOKENS_PER_SECOND * seconds
        first, token = models.decoder_calls(PREFIX_TOKENS + round(written), frames)
        t2u = models.t2u(round(written), round(UNITS_PER_SECOND * OUTPUT_SPEECH_RATIO * seconds))
        vocoder = models.vocoder_call(round(UNITS_PER_SECOND * OUTPUT_SPEECH_RATIO * STEP_SECONDS))
        return StepCosts(encoder, first, t2u, vocoder), token


def _mix(low: StepCosts | Cost, high: StepCosts | Cost, share: float) -> StepCosts | Cost:
    if isinstance(low, Cost):
        return low.times(1 - share) + high.times(share)
    return StepCosts(*(_mix(a, b, share) for (_, a), (_, b) in zip(low.items(), high.items())))


def new_tokens_at(seconds: float) -> float:
    """Tokens the decoder writes at a step: at the first step after the encoder's starting wait, all those said
    so far; then those said during one step."""
    first_step = math.ceil(MIN_STARTING_WAIT_FRAMES / FBANK_FRAMES_PER_SECOND / STEP_SECONDS) * STEP_SECONDS
    return TEXT_TOKENS_PER_SECOND * (seconds if seconds < first_step + STEP_SECONDS / 2 else STEP_SECONDS)


def component_seconds(cost: Cost, gpu: Gpu) -> float:
    """Roofline time of one call plus its launch overhead."""
    compute = cost.flops / (gpu.fp16_flops * COMPUTE_EFFICIENCY)
    memory = (cost.weight_bytes + cost.activation_bytes) / (gpu.bandwidth * BANDWIDTH_EFFICIENCY)
    return max(compute, memory) + cost.operations * LAUNCH_SECONDS


def tick_seconds(costs: StepCosts, gpu: Gpu) -> float:
    return sum(component_seconds(cost, gpu) for _, cost in costs.items())


def segment_positions(segment_seconds: float) -> list[float]:
    """Segment times of the steps of one segment."""
    steps = max(1, math.ceil(segment_seconds / STEP_SECONDS))
    return [STEP_SECONDS * (k + 1) for k in range(steps)]


def serial_tick_seconds(model: StepModel, gpu: Gpu, segment_seconds: float) -> float:
    """Mean GPU time one stream's tick takes at batch 1, over the steps of its segments."""
    times = [tick_seconds(model.step(t), gpu) for t in segment_positions(segment_seconds)]
    return sum(times) / len(times)


def batched_tick_seconds(model: StepModel, gpu: Gpu, segment_seconds: float, streams: int) -> float:
    """GPU time of one tick stepping `streams` streams together. The streams are spread evenly over the steps of
    their segments; those past the encoder's starting wait form the batch, padded to the longest of them."""
    return tick_seconds(batched_step(model, segment_seconds, streams), gpu)


def batched_step(model: StepModel, segment_seconds: float, streams: int) -> StepCosts:
    positions = segment_positions(segment_seconds)
    spread = [positions[stream * len(positions) // streams] for stream in range(streams)]
    active = [seconds for seconds in spread if seconds * FBANK_FRAMES_PER_SECOND >= MIN_STARTING_WAIT_FRAMES]
    if not active:
        return StepCosts(ZERO, ZERO, ZERO, ZERO)
    # The batch's token loop runs until its longest writer is done.
    return model.step(max(active), max(map(new_tokens_at, active))).batched(len(active))


def stream_state_bytes(segment_seconds: float) -> float:
    """Memory one stream holds at the end of a segment: features, encoder output, the decoder's cross-attention
    keys and values (24 layers) and self-attention cache, the T2U's input."""
    frames = segment_seconds * FBANK_FRAMES_PER_SECOND
    encoder_frames = frames / 16  # stride 2 stacking, then the adaptor's stride 8
    tokens = PREFIX_TOKENS + TEXT_TOKENS_PER_SECOND * segment_seconds
    values = frames * FBANK_BINS + encoder_frames * 1024 * (1 + 24 * 2) + tokens * 1024 * (24 * 2 + 1)
    return values * BYTES_PER_VALUE


def transient_bytes(costs: StepCosts) -> float:
    """Working memory of a tick: a few of its largest tensors alive at once (attention scores, their softmax,
    the relative-position terms)."""
    return TRANSIENT_TENSORS * max(cost.largest_tensor_bytes for _, cost in costs.items())


def streams_per_gpu(model: StepModel, gpu: Gpu, segment_seconds: float, weights: float) -> tuple[int, int, str]:
    """(streams at batch 1, streams at batch N, what bounds N: "tick time" or "memory")."""
    budget = STEP_SECONDS * TICK_UTILISATION
    serial = int(budget // serial_tick_seconds(model, gpu, segment_seconds))

    def bound(streams: int) -> str | None:
        memory = (weights + MEMORY_RESERVE_BYTES + streams * stream_state_bytes(segment_seconds)
                  + transient_bytes(batched_step(model, segment_seconds, streams)))
        if memory > gpu.memory:
            return "memory"
        return "tick time" if batched_tick_seconds(model, gpu, segment_seconds, streams) > budget else None

    fits, fails = 0, 1
    while bound(fails) is None:  # both bounds grow with the number of streams: double, then bisect
        fits, fails = fails, fails * 2
    while fails - fits > 1:
        middle = (fits + fails) // 2
        fits, fails = (middle, fails) if bound(middle) is None else (fits, middle)
    return serial, fits, bound(fails) or ""


def capacity(model: StepModel, weights: float) -> dict[str, dict[str, dict[str, int]]]:
    """Streams per GPU: {gpu: {segment seconds: {"batch_1": n, "batch_n": n}}} (what docs/capacity.json holds)."""
    table: dict[str, dict[str, dict[str, int]]] = {}
    for gpu in GPUS:
        for seconds in SEGMENT_SECONDS:
            serial, batched, _ = streams_per_gpu(model, gpu, seconds, weights)
            table.setdefault(gpu.name, {})[f"{seconds:g}"] = {"batch_1": serial, "batch_n": batched}
    return table


def report(models: RealSizeModels, model: StepModel, weights: float) -> str:
    lines = ["# SeamlessStreaming capacity model (from real architecture sizes; a model, not a measurement)", ""]
    lines += ["## Sizes (fp16)", "", "| component | parameters | fp16 bytes |", "|---|---|---|"]
    for name, modules in (("speech encoder (w2v-BERT + adaptor)", (models.unity.speech_encoder_frontend,
                                                                    models.unity.speech_encoder)),
                          ("monotonic text decoder (layers + 256k projection, tied embeddings)", (models.decoder,)),
                          ("NAR T2U", (models.unity.t2u_model,)), ("vocoder_v2", (models.vocoder,))):
        size = parameter_bytes(*modules)
        lines.append(f"| {name} | {size / BYTES_PER_VALUE / 1e6:,.0f} M | {size / 1e9:.2f} GB |")
    lines += ["", f"All weights: {weights / 1e9:.2f} GB.", ""]
    lines += ["## One step's calls of each component at batch 1 (the first step after the 1.92 s wait writes every token said so far)", "",
              "| segment so far | component | GFLOP | weights read | activations (MB) | operations |",
              "|---|---|---|---|---|---|"]
    for seconds in SEGMENT_SECONDS:
        for name, cost in model.step(seconds).items():
            lines.append(f"| {seconds:.0f} s | {name} | {cost.flops / 1e9:,.1f} | {cost.weight_bytes / 1e9:.2f} GB "
                         f"| {cost.activation_bytes / 1e6:,.1f} | {cost.operations} |")
    lines += ["", "## Per stream: memory held at the end of a segment", "",
              "| segment | state per stream |", "|---|---|"]
    for seconds in SEGMENT_SECONDS:
        lines.append(f"| {seconds:.0f} s | {stream_state_bytes(seconds) / 1e6:.1f} MB |")
    lines += ["", "## Real-time streams per GPU", "",
              "| GPU | segment length | mean tick at batch 1 (ms) | streams at batch 1 | streams at batch N | "
              "N bounded by | tick of N streams (ms) |", "|---|---|---|---|---|---|---|"]
    for gpu in GPUS:
        for seconds in SEGMENT_SECONDS:
            serial, batched, bound = streams_per_gpu(model, gpu, seconds, weights)
            tick = batched_tick_seconds(model, gpu, seconds, max(1, batched)) * 1000
            lines.append(f"| {gpu.name} | {seconds:.0f} s | {serial_tick_seconds(model, gpu, seconds) * 1000:.1f} "
                         f"| {serial} | {batched} | {bound} | {tick:.0f} |")
    lines += ["", "## Where one tick's time goes at batch 1, 5 s segments (ms)", "",
              "| GPU | " + " | ".join(name for name, _ in model.step(5.0).items()) + " |",
              "|---|" + "---|" * 4]
    for gpu in GPUS:
        times = [sum(component_seconds(cost, gpu) for cost in [dict(model.step(t).items())[name]
                                                                for t in segment_positions(5.0)])
                 / len(segment_positions(5.0)) * 1000 for name, _ in model.step(5.0).items()]
        lines.append(f"| {gpu.name} | " + " | ".join(f"{value:.1f}" for value in times) + " |")
    lines += ["", "## Assumptions", ""]
    for name in ("STEP_SECONDS", "TEXT_TOKENS_PER_SECOND", "OUTPUT_SPEECH_RATIO", "COMPUTE_EFFICIENCY",
                 "BANDWIDTH_EFFICIENCY", "LAUNCH_SECONDS", "TICK_UTILISATION", "MEMORY_RESERVE_BYTES"):
        lines.append(f"- `{name}` = {globals()[name]}")
    lines += [f"- {gpu.name}: {gpu.source}" for gpu in GPUS]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the streams-per-GPU table here (docs/capacity.json)")
    args = parser.parse_args()
    models = RealSizeModels.build()
    model = StepModel(models)
    weights = parameter_bytes(models.unity, models.decoder, models.vocoder)
    print(report(models, model, weights))
    if args.json:
        args.json.write_text(json.dumps({"typical_segment_seconds": f"{TYPICAL_SEGMENT_SECONDS:g}",
                                         "streams": capacity(model, weights)}, indent=2) + "\n")


if __name__ == "__main__":
    main()

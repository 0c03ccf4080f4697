"""The Translator gRPC servicer: the wire on one side, admission and the stream domain on the other.

Translate writes each response itself (``context.write``) instead of yielding
it, so that every limit holds whatever the client does: a client that stops
reading is cut off after S2ST_CLIENT_STALL_SECONDS, and the session length
limit fires while a write waits, not only once the client reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import grpc
from google.protobuf.message import DecodeError
from opentelemetry import trace

from inference.admission import Admission, Busy, NotServing, WorkerState
from inference.audio import InputConverter
from inference.engines.base import (
    Engine,
    LanguageHint,
    SegmentWarning,
    SessionSettings,
    Side,
    SpeechEnded,
    SpeechStarted,
    TranscriptUpdate,
    UnsupportedConfig,
)
from inference.engines.options import parse_engine_options
from inference.languages import display_name
from inference.latency import SegmentReport
from inference.limits import (
    DEFAULT_INPUT_SAMPLE_RATE,
    MAX_ENGINE_OPTIONS,
    MAX_INPUT_SAMPLE_RATE,
    MAX_OPTION_BYTES,
    MIN_INPUT_SAMPLE_RATE,
)
from inference.metrics import WorkerMetrics
from inference.pacing import AudioPacer
from inference.stream import (
    AudioIn,
    AudioOut,
    EndIn,
    InputIdle,
    Output,
    ResetDone,
    ResetIn,
    SessionExpired,
    StreamEnded,
    StreamInput,
    StreamLimits,
    StreamPump,
    run_stream,
    within,
)
from inference.tracing import SegmentSpans
from s2st.runtime.tracing import TRANSLATE_SPAN, context_from_metadata
from s2st.v1 import translation_pb2 as pb
from s2st.v1 import translation_pb2_grpc as pb_grpc
from s2st.v1.limits import MAX_CHUNK_BYTES, MAX_CLIENT_LABEL_BYTES, MAX_LANGUAGE_CODE_BYTES

log = logging.getLogger("inference.servicer")
tracer = trace.get_tracer("inference")


class InvalidRequest(ValueError):
    """A request that breaks the contract; the message is shown to the client."""


class ClientStalled(Exception):
    """The client took none of its responses for the stall limit."""


class Replies:
    """One stream's responses, each within the session's limits, and how the stream ends.

    An accepted stream's non-OK end is also said in band (StreamEnding) right before the status: a
    grpcio client still writing when the stream ends may lose the status itself (grpc/grpc#36066).
    """

    def __init__(self, context: grpc.aio.ServicerContext, stall_seconds: float, ending_grace_seconds: float) -> None:
        self._context = context
        self._stall_seconds = stall_seconds
        self._ending_grace_seconds = ending_grace_seconds
        self._accepted = False
        self._in_flight: asyncio.Future[None] | None = None  # the last write; Core takes the next only after it

    async def write(self, deadline: float, response: pb.TranslateResponse) -> None:
        """One response, or SessionExpired / ClientStalled while the client does not take it (the write stays in
        flight: the ending goes after it)."""
        stalled_at = asyncio.get_running_loop().time() + self._stall_seconds
        self._in_flight = asyncio.ensure_future(self._context.write(response))
        self._in_flight.add_done_callback(_consume_failure)
        async with within(deadline, stalled_at, ClientStalled):
            await asyncio.shield(self._in_flight)
        self._accepted = self._accepted or response.HasField("accepted")

    async def end(self, code: grpc.StatusCode, message: str, in_band: bool = True) -> None:
        """End the stream with this status, said in band first once the stream was accepted (not `in_band`: the
        client takes no responses)."""
        if self._accepted and in_band:
            ending = pb.TranslateResponse(ending=pb.StreamEnding(status=code.name, message=message))
            # The status matters more than its echo: a write that fails or waits too long is given up.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._ending_grace_seconds):
                    if self._in_flight is not None:
                        await self._in_flight
                    await self._context.write(ending)
                    # Until the client stops writing (half-closes), its writes are taken and dropped: one waiting
                    # on flow control when the status goes out may make grpcio lose that status and this ending.
                    while await self._context.read() is not grpc.aio.EOF:
                        pass
        if self._in_flight is not None:
            self._in_flight.cancel()
        await self._context.abort(code, message)


def _consume_failure(write: asyncio.Future[None]) -> None:
    """A write the stream's end overtook fails with the stream: nothing to report."""
    if not write.cancelled():
        write.exception()


class TranslatorServicer(pb_grpc.TranslatorServicer):
    """Serves Translate streams and ListLanguages on one engine."""

    def __init__(self, engine: Engine, admission: Admission, metrics: WorkerMetrics,
                 limits: StreamLimits) -> None:
        self._engine = engine
        self._admission = admission
        self._metrics = metrics
        self._limits = limits

    async def ListLanguages(
        self, request: pb.ListLanguagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListLanguagesResponse:
        if self._admission.state is not WorkerState.SERVING:
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"worker is {self._admission.state.value}")
        catalog = self._engine.languages()
        return pb.ListLanguagesResponse(
            engine=self._engine.name,
            source_languages=_languages(catalog.sources),
            target_languages=_languages(catalog.targets),
            speech_output_languages=_languages(catalog.speech_targets),
            source_language_selectable=catalog.source_selectable,
            routes=[pb.LanguageRoute(sources=route.sources, targets=route.targets) for route in catalog.all_routes()],
            voices=[pb.OutputVoice(language=voice.language, label=voice.label, kind=voice.kind,
                                   fallback_reason=voice.fallback_reason) for voice in catalog.voices],
        )

    async def Translate(
        self, request_iterator: AsyncIterator[pb.TranslateRequest], context: grpc.aio.ServicerContext
    ) -> None:
        # A child of the caller's span when its metadata carries one (the gateway's session).
        with tracer.start_as_current_span(TRANSLATE_SPAN, kind=trace.SpanKind.SERVER,
                                          context=context_from_metadata(context.invocation_metadata())):
            await self._translate(request_iterator, context)

    async def _translate(
        self, request_iterator: AsyncIterator[pb.TranslateRequest], context: grpc.aio.ServicerContext
    ) -> None:
        outcome = "CANCELLED"  # until the stream ends in one of the ways below
        request_iterator = _decoded(request_iterator)
        replies = Replies(context, self._limits.client_stall_seconds, self._limits.ending_grace_seconds)
        try:
            first = await self._first_request(request_iterator)
            if first is None or first.WhichOneof("request") != "config":
                raise InvalidRequest("the first request of a Translate stream must be a config")
            settings, input_rate, label = parse_config(first.config, self._engine)
            with self._admission.admit(self._engine.step_cost_seconds()) as session_id:
                self._metrics.active_sessions.inc()
                try:
                    await self._serve(session_id, settings, input_rate, label, request_iterator, replies)
                finally:
                    self._metrics.active_sessions.dec()
            outcome = "ok"
        except (InvalidRequest, UnsupportedConfig) as error:
            outcome = "INVALID_ARGUMENT"
            await replies.end(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except Busy as error:
            outcome = "RESOURCE_EXHAUSTED"
            await replies.end(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error))
        except NotServing as error:
            outcome = "UNAVAILABLE"
            await replies.end(grpc.StatusCode.UNAVAILABLE, str(error))
        except SessionExpired:
            outcome = "DEADLINE_EXCEEDED"
            await replies.end(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"session reached the maximum length of {self._limits.max_session_seconds:g} s",
            )
        except InputIdle:
            outcome = "ABORTED"
            await replies.end(grpc.StatusCode.ABORTED, f"no audio for {self._limits.idle_session_seconds:g} s: "
                              "the session was ended to free its slot")
        except ClientStalled:
            outcome = "ABORTED"
            log.warning("client stopped reading; stream ended")
            await replies.end(grpc.StatusCode.ABORTED, f"the client read nothing for "
                              f"{self._limits.client_stall_seconds:g} s", in_band=False)
        except Exception as error:  # an engine fault must end this stream, not the worker (cancellation passes)
            outcome = "INTERNAL"
            log.exception("stream failed")
            await replies.end(grpc.StatusCode.INTERNAL, f"engine error: {type(error).__name__}: {error}")
        finally:
            trace.get_current_span().set_attribute("s2st.outcome", outcome)
            self._metrics.sessions_total.labels(self._engine.name, outcome).inc()
            if outcome not in ("ok", "CANCELLED"):
                self._metrics.errors_total.labels(outcome).inc()

    async def _first_request(self, requests: AsyncIterator[pb.TranslateRequest]) -> pb.TranslateRequest | None:
        """The config, within the config timeout; such streams hold no slot but are counted (and capped) meanwhile."""
        with self._admission.pending():  # Busy (RESOURCE_EXHAUSTED) when S2ST_MAX_PENDING_STREAMS already wait
            self._metrics.pending_streams.inc()
            try:
                async with asyncio.timeout(self._limits.config_timeout_seconds):
                    return await anext(requests, None)
            except TimeoutError:
                raise InvalidRequest(f"no config within {self._limits.config_timeout_seconds:g} s") from None
            finally:
                self._metrics.pending_streams.dec()

    async def _serve(
        self,
        session_id: str,
        settings: SessionSettings,
        input_rate: int,
        label: str,
        request_iterator: AsyncIterator[pb.TranslateRequest],
        replies: Replies,
    ) -> None:
        engine_session = self._engine.open_session(settings)
        trace.get_current_span().set_attributes({"s2st.session_id": session_id, "s2st.engine": self._engine.name,
                                                 "s2st.target_language": settings.target_language})
        segment_spans = SegmentSpans()
        log.info("session started", extra={"session_id": session_id, "client": label,
                                           "target": settings.target_language, "source": settings.source_language})
        deadline = asyncio.get_running_loop().time() + self._limits.max_session_seconds
        try:
            await replies.write(deadline, pb.TranslateResponse(accepted=pb.SessionAccepted(
                session_id=session_id,
                engine=self._engine.name,
                model=self._engine.model_id,
                output_sample_rate_hz=self._engine.output_sample_rate,
                input_step_ms=self._engine.input_step_ms,
                target_language=settings.target_language,
                source_language=settings.source_language or "",
            )))
            pump = StreamPump(engine_session, InputConverter(input_rate), self._engine.output_sample_rate,
                              settings.speech_output, self._metrics)
            inputs = _stream_inputs(request_iterator)
            pacer = AudioPacer(self._limits.audio_burst_seconds, input_rate * 2)  # 16-bit samples
            async for output in run_stream(inputs, pump, self._limits.input_queue_chunks, deadline,
                                           self._limits.idle_session_seconds, pacer):
                segment_spans.observe(output)
                await replies.write(deadline, to_response(output))
        finally:
            segment_spans.close()
            await engine_session.close()
            log.info("session ended", extra={"session_id": session_id})


def parse_config(config: pb.SessionConfig, engine: Engine) -> tuple[SessionSettings, int, str]:
    """Check a SessionConfig's shape and its engine options; the engine judges languages."""
    if not config.target_language:
        raise InvalidRequest("target_language is required")
    for name, code in (("target_language", config.target_language), ("source_language", config.source_language)):
        if len(code.encode()) > MAX_LANGUAGE_CODE_BYTES:
            raise InvalidRequest(f"{name} is longer than {MAX_LANGUAGE_CODE_BYTES} bytes")
    rate = config.sample_rate_hz or DEFAULT_INPUT_SAMPLE_RATE
    if not MIN_INPUT_SAMPLE_RATE <= rate <= MAX_INPUT_SAMPLE_RATE:
        raise InvalidRequest(
            f"sample_rate_hz {rate} is outside {MIN_INPUT_SAMPLE_RATE}-{MAX_INPUT_SAMPLE_RATE} Hz"
        )
    if config.encoding not in (pb.AUDIO_ENCODING_UNSPECIFIED, pb.LINEAR16):
        raise InvalidRequest("only LINEAR16 audio is accepted")
    if len(config.engine_options) > MAX_ENGINE_OPTIONS:
        raise InvalidRequest(f"at most {MAX_ENGINE_OPTIONS} engine_options are accepted")
    for key, value in config.engine_options.items():
        if len(key.encode()) > MAX_OPTION_BYTES or len(value.encode()) > MAX_OPTION_BYTES:
            raise InvalidRequest(f"engine option keys and values are limited to {MAX_OPTION_BYTES} bytes")
    if len(config.client_label.encode()) > MAX_CLIENT_LABEL_BYTES:
        raise InvalidRequest(f"client_label is longer than {MAX_CLIENT_LABEL_BYTES} bytes")
    settings = SessionSettings(
        target_language=config.target_language,
        source_language=config.source_language or None,
        speech_output=config.speech_output if config.HasField("speech_output") else True,
        options=parse_engine_options(config.engine_options, engine.name, engine.supported_options),
    )
    return settings, rate, config.client_label


async def _decoded(requests: AsyncIterator[pb.TranslateRequest]) -> AsyncIterator[pb.TranslateRequest]:
    """The requests; bytes that do not parse as one (bad UTF-8 in a string, garbage) breach the contract."""
    try:
        async for request in requests:
            yield request
    except DecodeError as error:
        raise InvalidRequest(f"a request could not be decoded: {error}") from None


async def _stream_inputs(requests: AsyncIterator[pb.TranslateRequest]) -> AsyncIterator[StreamInput]:
    """Wire requests after the config, as stream inputs; contract breaches raise InvalidRequest."""
    async for request in requests:
        kind = request.WhichOneof("request")
        if kind == "audio":
            pcm = request.audio.pcm
            if not pcm or len(pcm) > MAX_CHUNK_BYTES or len(pcm) % 2:
                raise InvalidRequest(
                    f"audio chunks must hold 2 to {MAX_CHUNK_BYTES} bytes of whole 16-bit samples (got {len(pcm)})"
                )
            yield AudioIn(pcm, time.monotonic())
        elif kind == "control" and request.control.action == pb.Control.RESET:
            yield ResetIn()
        elif kind == "control" and request.control.action == pb.Control.END_OF_INPUT:
            yield EndIn()
        elif kind == "config":
            raise InvalidRequest("a stream takes one config, as its first request")
        else:
            raise InvalidRequest("unknown control action or empty request")


def to_response(output: Output) -> pb.TranslateResponse:
    """A stream output as a wire response."""
    item = output.item
    response = pb.TranslateResponse(input_offset_ms=output.input_offset_ms)
    if isinstance(item, AudioOut):
        response.audio.CopyFrom(pb.AudioOutput(
            pcm=item.pcm, segment_id=item.segment_id, sequence=item.sequence, segment_end=item.segment_end))
    elif isinstance(item, TranscriptUpdate):
        response.transcript.CopyFrom(pb.TranscriptEvent(
            side=pb.SOURCE if item.side is Side.SOURCE else pb.TARGET, is_final=item.is_final,
            segment_id=item.segment_id, text=item.text, language=item.language, confidence=item.confidence))
    elif isinstance(item, SpeechStarted | SpeechEnded):
        kind = pb.SpeechActivity.STARTED if isinstance(item, SpeechStarted) else pb.SpeechActivity.ENDED
        response.speech.CopyFrom(pb.SpeechActivity(segment_id=item.segment_id, kind=kind))
        response.input_offset_ms = item.at_ms
    elif isinstance(item, SegmentReport):
        response.stats.CopyFrom(pb.SegmentStats(
            segment_id=item.segment_id,
            first_output_latency_ms=item.first_output_latency_ms,
            ending_offset_ms=item.ending_offset_ms,
            average_lagging_ms=item.average_lagging_ms,
            real_time_factor=item.real_time_factor,
            speech_start_ms=item.speech_start_ms,
            speech_end_ms=item.speech_end_ms,
        ))
    elif isinstance(item, SegmentWarning):
        response.warning.CopyFrom(pb.SegmentWarning(segment_id=item.segment_id, code=item.code, message=item.message))
    elif isinstance(item, LanguageHint):
        response.language_hint.CopyFrom(pb.LanguageHint(
            segment_id=item.segment_id, language=item.language, probability=item.probability,
            source_language=item.source_language, source_probability=item.source_probability))
    elif isinstance(item, ResetDone):
        response.reset_done.SetInParent()
    elif isinstance(item, StreamEnded):
        response.end.SetInParent()
    return response


def _languages(codes: tuple[str, ...]) -> list[pb.Language]:
    return [pb.Language(code=code, name=display_name(code)) for code in codes]

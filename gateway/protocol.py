"""The browser protocol of docs/protocol.md, both directions, and its conversion to and from gRPC.

Client frames become ``Start`` / ``Reset`` / ``Stop`` (text) or audio requests
(binary), or raise ``ProtocolError`` with a stable code; every value a client
can put in a frame (any JSON, any Unicode, any integer, any nesting) ends in
one or the other. Worker responses become ``ServerFrame``s: what to send, and
what the relay must know about them. The relay itself only moves objects.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from s2st.v1 import translation_pb2 as pb

PROTOCOL_VERSION = 1
MAX_TEXT_FRAME_BYTES = 4096
AUDIO_HEADER = struct.Struct("<III")  # segment id, sequence, input offset ms
UINT32_MAX = 2**32 - 1  # the widest integer SessionConfig carries; the worker checks the real range


class ProtocolError(ValueError):
    """A client frame the gateway rejects; ``code`` is one of docs/protocol.md's error codes.

    ``fatal``: the request failed as a whole (a room not joined), not only the frame dropped.
    """

    def __init__(self, code: str, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.fatal = fatal


@dataclass(frozen=True)
class Start:
    target_language: str
    source_language: str = ""
    sample_rate: int = 16_000
    speech_output: bool = True
    options: dict[str, str] = field(default_factory=dict)
    client_label: str = ""

    def to_request(self) -> pb.TranslateRequest:
        return pb.TranslateRequest(config=pb.SessionConfig(
            target_language=self.target_language,
            source_language=self.source_language,
            sample_rate_hz=self.sample_rate,
            encoding=pb.LINEAR16,
            engine_options=self.options,
            client_label=self.client_label,
            speech_output=self.speech_output,
        ))


@dataclass(frozen=True)
class Reset:
    def to_request(self) -> pb.TranslateRequest:
        return pb.TranslateRequest(control=pb.Control(action=pb.Control.RESET))


@dataclass(frozen=True)
class Stop:
    def to_request(self) -> pb.TranslateRequest:
        return pb.TranslateRequest(control=pb.Control(action=pb.Control.END_OF_INPUT))


@dataclass(frozen=True)
class CreateRoom:
    """A speaker's new room: the target languages offered to its listeners, and how the speaker's audio comes."""

    languages: tuple[str, ...]
    source_language: str = ""
    sample_rate: int = 16_000
    options: dict[str, str] = field(default_factory=dict)

    def stream_start(self, target_language: str, client_label: str) -> Start:
        """The session config of the room's worker stream for one target language."""
        return Start(target_language, self.source_language, self.sample_rate, True, self.options, client_label)


@dataclass(frozen=True)
class Speak:
    """Be the speaker of the socket's room again (speaker key)."""

    key: str


@dataclass(frozen=True)
class Join:
    """Listen to the socket's room in one of its languages (listener key)."""

    key: str
    target_language: str


@dataclass(frozen=True)
class Leave:
    """Stop listening."""


@dataclass(frozen=True)
class RevokeListenerLink:
    """A new listener key; listeners who joined with the old one are removed."""


@dataclass(frozen=True)
class EndRoom:
    """End the room for everyone once its streams have finished what was said."""


RoomMessage = CreateRoom | Speak | Join | Leave | RevokeListenerLink | EndRoom
ClientMessage = Start | Reset | Stop | RoomMessage


def audio_request(frame: bytes) -> pb.TranslateRequest:
    """A checked binary frame (see check_audio) as the gRPC request that carries it."""
    return pb.TranslateRequest(audio=pb.AudioChunk(pcm=frame))


def parse_text(text: str) -> ClientMessage:
    """A JSON control frame as a client message."""
    if len(text.encode()) > MAX_TEXT_FRAME_BYTES:
        raise ProtocolError("text_too_large", f"text frames are limited to {MAX_TEXT_FRAME_BYTES} bytes")
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ProtocolError("bad_json", "text frames must be JSON objects") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_json", "text frames must be JSON objects")
    kind = message.get("type")
    parse = _PARSERS.get(kind) if isinstance(kind, str) else None  # a list or an object is no type
    if parse is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}; expected {', '.join(_PARSERS)}")
    return parse(message)


def _parse_start(message: dict[str, Any]) -> Start:
    target = _code(message, "target_language", "start")
    source, rate, options = _audio_settings(message)
    speech_output = message.get("speech_output", True)
    label = message.get("client_label") or ""
    if not isinstance(speech_output, bool):
        raise ProtocolError("bad_message", "speech_output must be true or false")
    _check_text(label, "client_label")
    return Start(target, source, rate, speech_output, options, label)


def _parse_create_room(message: dict[str, Any]) -> CreateRoom:
    languages = message.get("languages")
    if not isinstance(languages, list) or not languages or not all(isinstance(code, str) and code for code in languages):
        raise ProtocolError("bad_message", "create_room needs languages: a list of target language codes")
    for code in languages:
        _check_text(code, "languages")
    if len(set(languages)) != len(languages):
        raise ProtocolError("bad_message", "languages must not repeat a code")
    source, rate, options = _audio_settings(message)
    return CreateRoom(tuple(languages), source, rate, options)


def _parse_speak(message: dict[str, Any]) -> Speak:
    return Speak(_code(message, "key", "speak"))


def _parse_join(message: dict[str, Any]) -> Join:
    return Join(_code(message, "key", "join"), _code(message, "target_language", "join"))


_PARSERS: dict[str, Callable[[dict[str, Any]], ClientMessage]] = {
    "start": _parse_start,
    "reset": lambda message: Reset(),
    "stop": lambda message: Stop(),
    "create_room": _parse_create_room,
    "speak": _parse_speak,
    "join": _parse_join,
    "leave": lambda message: Leave(),
    "revoke_listener_link": lambda message: RevokeListenerLink(),
    "end_room": lambda message: EndRoom(),
}


def _code(message: dict[str, Any], name: str, kind: str) -> str:
    """A required non-empty string field."""
    value = message.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError("bad_message", f"{kind} needs a {name} string")
    _check_text(value, name)
    return value


def _audio_settings(message: dict[str, Any]) -> tuple[str, int, dict[str, str]]:
    """source_language, sample_rate and options, as start and create_room take them."""
    source = message.get("source_language") or ""
    rate = message.get("sample_rate", 16_000)
    options = message.get("options") or {}
    if not isinstance(source, str):
        raise ProtocolError("bad_message", "source_language must be a string or null")
    if not isinstance(rate, int) or isinstance(rate, bool) or not 0 <= rate <= UINT32_MAX:
        raise ProtocolError("bad_message", "sample_rate must be a whole number of Hz (8000-48000 are served)")
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise ProtocolError("bad_message", "options must map names to string values")
    for text in (source, *options, *options.values()):
        _check_text(text, "source_language and options")
    return source, rate, dict(options)


def _check_text(value: Any, name: str) -> None:
    if not isinstance(value, str):
        raise ProtocolError("bad_message", f"{name} must be a string")
    if utf8_size(value) is None:
        raise ProtocolError("bad_message", "strings must be valid Unicode text (no lone surrogates)")


def utf8_size(text: str) -> int | None:
    """Bytes of text in UTF-8; None when UTF-8 cannot encode it (JSON escapes may carry lone surrogates: \\ud800)."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return None


def check_audio(frame: bytes, max_bytes: int) -> None:
    """Raise ProtocolError unless the frame holds 1 to max_bytes/2 whole 16-bit samples."""
    if len(frame) > max_bytes:
        raise ProtocolError("frame_too_large", f"audio frames are limited to {max_bytes} bytes (got {len(frame)})")
    if len(frame) == 0 or len(frame) % 2:
        raise ProtocolError("odd_length", "audio frames must hold whole 16-bit samples")


def error_event(code: str, message: str, fatal: bool) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, "fatal": fatal}


# gRPC status of a failed session -> (browser error code, message shown when the worker gave none)
_STATUS_CODES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "invalid_config",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "busy",
    grpc.StatusCode.UNAVAILABLE: "worker_unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "session_too_long",
    grpc.StatusCode.ABORTED: "idle_timeout",  # the worker ended a session that received no audio
}


def status_error_event(code: grpc.StatusCode, details: str | None) -> dict[str, Any]:
    """The fatal error event for a session the worker ended with a non-OK status."""
    ws_code = _STATUS_CODES.get(code, "internal")
    if ws_code == "worker_unavailable" and (not details or "connect" in details.lower()):
        details = "no translation worker is reachable; try again shortly"
    return error_event(ws_code, details or code.name.lower(), fatal=True)


@dataclass(frozen=True)
class ServerFrame:
    """A worker response as the client gets it, and what the relay needs to know of it."""

    frame: dict[str, Any] | bytes | None  # None: nothing to send
    ends_session: bool = False  # the worker's end of stream: the socket may start again


def server_frame(response: pb.TranslateResponse) -> ServerFrame:
    """Convert one worker response for the client."""
    return ServerFrame(response_to_frame(response), ends_session=response.WhichOneof("event") == "end")


def response_to_frame(response: pb.TranslateResponse) -> dict[str, Any] | bytes | None:
    """A worker response as a JSON event or a binary audio frame (None for nothing to send)."""
    offset = response.input_offset_ms
    kind = response.WhichOneof("event")
    if kind == "audio":
        audio = response.audio
        return AUDIO_HEADER.pack(audio.segment_id, audio.sequence, offset & 0xFFFFFFFF) + audio.pcm
    if kind == "transcript":
        t = response.transcript
        return {"type": "transcript", "side": "source" if t.side == pb.SOURCE else "target", "final": t.is_final,
                "segment_id": t.segment_id, "text": t.text, "language": t.language, "input_offset_ms": offset}
    if kind == "speech":
        state = "started" if response.speech.kind == pb.SpeechActivity.STARTED else "ended"
        return {"type": "speech", "segment_id": response.speech.segment_id, "state": state, "input_offset_ms": offset}
    if kind == "stats":
        s = response.stats
        return {
            "type": "stats", "segment_id": s.segment_id,
            "first_output_latency_ms": s.first_output_latency_ms if s.HasField("first_output_latency_ms") else None,
            "ending_offset_ms": s.ending_offset_ms if s.HasField("ending_offset_ms") else None,
            "average_lagging_ms": s.average_lagging_ms if s.HasField("average_lagging_ms") else None,
            "real_time_factor": s.real_time_factor, "input_offset_ms": offset,
        }
    if kind == "warning":
        warning = response.warning
        return {**error_event(warning.code, warning.message, fatal=False), "segment_id": warning.segment_id}
    if kind == "reset_done":
        return {"type": "reset_done"}
    if kind == "end":
        return {"type": "ended"}
    if kind == "accepted":
        a = response.accepted
        return {"type": "ready", "protocol": PROTOCOL_VERSION, "session_id": a.session_id, "engine": a.engine,
                "model": a.model, "output_sample_rate": a.output_sample_rate_hz, "input_step_ms": a.input_step_ms,
                "target_language": a.target_language, "source_language": a.source_language}
    return None

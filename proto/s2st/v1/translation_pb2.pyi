from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioEncoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AUDIO_ENCODING_UNSPECIFIED: _ClassVar[AudioEncoding]
    LINEAR16: _ClassVar[AudioEncoding]

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SOURCE: _ClassVar[Side]
    TARGET: _ClassVar[Side]
AUDIO_ENCODING_UNSPECIFIED: AudioEncoding
LINEAR16: AudioEncoding
SIDE_UNSPECIFIED: Side
SOURCE: Side
TARGET: Side

class TranslateRequest(_message.Message):
    __slots__ = ("config", "audio", "control")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    config: SessionConfig
    audio: AudioChunk
    control: Control
    def __init__(self, config: _Optional[_Union[SessionConfig, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., control: _Optional[_Union[Control, _Mapping]] = ...) -> None: ...

class SessionConfig(_message.Message):
    __slots__ = ("target_language", "source_language", "sample_rate_hz", "encoding", "engine_options", "client_label", "speech_output")
    class EngineOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    ENGINE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_LABEL_FIELD_NUMBER: _ClassVar[int]
    SPEECH_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    target_language: str
    source_language: str
    sample_rate_hz: int
    encoding: AudioEncoding
    engine_options: _containers.ScalarMap[str, str]
    client_label: str
    speech_output: bool
    def __init__(self, target_language: _Optional[str] = ..., source_language: _Optional[str] = ..., sample_rate_hz: _Optional[int] = ..., encoding: _Optional[_Union[AudioEncoding, str]] = ..., engine_options: _Optional[_Mapping[str, str]] = ..., client_label: _Optional[str] = ..., speech_output: _Optional[bool] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("pcm",)
    PCM_FIELD_NUMBER: _ClassVar[int]
    pcm: bytes
    def __init__(self, pcm: _Optional[bytes] = ...) -> None: ...

class Control(_message.Message):
    __slots__ = ("action",)
    class Action(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ACTION_UNSPECIFIED: _ClassVar[Control.Action]
        RESET: _ClassVar[Control.Action]
        END_OF_INPUT: _ClassVar[Control.Action]
    ACTION_UNSPECIFIED: Control.Action
    RESET: Control.Action
    END_OF_INPUT: Control.Action
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: Control.Action
    def __init__(self, action: _Optional[_Union[Control.Action, str]] = ...) -> None: ...

class TranslateResponse(_message.Message):
    __slots__ = ("input_offset_ms", "accepted", "speech", "transcript", "audio", "stats", "reset_done", "end", "warning")
    INPUT_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    SPEECH_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    RESET_DONE_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    input_offset_ms: int
    accepted: SessionAccepted
    speech: SpeechActivity
    transcript: TranscriptEvent
    audio: AudioOutput
    stats: SegmentStats
    reset_done: ResetDone
    end: EndOfStream
    warning: SegmentWarning
    def __init__(self, input_offset_ms: _Optional[int] = ..., accepted: _Optional[_Union[SessionAccepted, _Mapping]] = ..., speech: _Optional[_Union[SpeechActivity, _Mapping]] = ..., transcript: _Optional[_Union[TranscriptEvent, _Mapping]] = ..., audio: _Optional[_Union[AudioOutput, _Mapping]] = ..., stats: _Optional[_Union[SegmentStats, _Mapping]] = ..., reset_done: _Optional[_Union[ResetDone, _Mapping]] = ..., end: _Optional[_Union[EndOfStream, _Mapping]] = ..., warning: _Optional[_Union[SegmentWarning, _Mapping]] = ...) -> None: ...

class SessionAccepted(_message.Message):
    __slots__ = ("session_id", "engine", "model", "output_sample_rate_hz", "target_language", "source_language", "input_step_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    INPUT_STEP_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    engine: str
    model: str
    output_sample_rate_hz: int
    target_language: str
    source_language: str
    input_step_ms: int
    def __init__(self, session_id: _Optional[str] = ..., engine: _Optional[str] = ..., model: _Optional[str] = ..., output_sample_rate_hz: _Optional[int] = ..., target_language: _Optional[str] = ..., source_language: _Optional[str] = ..., input_step_ms: _Optional[int] = ...) -> None: ...

class SpeechActivity(_message.Message):
    __slots__ = ("segment_id", "kind")
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[SpeechActivity.Kind]
        STARTED: _ClassVar[SpeechActivity.Kind]
        ENDED: _ClassVar[SpeechActivity.Kind]
    KIND_UNSPECIFIED: SpeechActivity.Kind
    STARTED: SpeechActivity.Kind
    ENDED: SpeechActivity.Kind
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    segment_id: int
    kind: SpeechActivity.Kind
    def __init__(self, segment_id: _Optional[int] = ..., kind: _Optional[_Union[SpeechActivity.Kind, str]] = ...) -> None: ...

class TranscriptEvent(_message.Message):
    __slots__ = ("side", "is_final", "segment_id", "text", "language")
    SIDE_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    side: Side
    is_final: bool
    segment_id: int
    text: str
    language: str
    def __init__(self, side: _Optional[_Union[Side, str]] = ..., is_final: _Optional[bool] = ..., segment_id: _Optional[int] = ..., text: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class AudioOutput(_message.Message):
    __slots__ = ("pcm", "segment_id", "sequence", "segment_end")
    PCM_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_END_FIELD_NUMBER: _ClassVar[int]
    pcm: bytes
    segment_id: int
    sequence: int
    segment_end: bool
    def __init__(self, pcm: _Optional[bytes] = ..., segment_id: _Optional[int] = ..., sequence: _Optional[int] = ..., segment_end: _Optional[bool] = ...) -> None: ...

class SegmentStats(_message.Message):
    __slots__ = ("segment_id", "first_output_latency_ms", "ending_offset_ms", "average_lagging_ms", "real_time_factor", "speech_start_ms", "speech_end_ms")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    FIRST_OUTPUT_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ENDING_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_LAGGING_MS_FIELD_NUMBER: _ClassVar[int]
    REAL_TIME_FACTOR_FIELD_NUMBER: _ClassVar[int]
    SPEECH_START_MS_FIELD_NUMBER: _ClassVar[int]
    SPEECH_END_MS_FIELD_NUMBER: _ClassVar[int]
    segment_id: int
    first_output_latency_ms: float
    ending_offset_ms: float
    average_lagging_ms: float
    real_time_factor: float
    speech_start_ms: int
    speech_end_ms: int
    def __init__(self, segment_id: _Optional[int] = ..., first_output_latency_ms: _Optional[float] = ..., ending_offset_ms: _Optional[float] = ..., average_lagging_ms: _Optional[float] = ..., real_time_factor: _Optional[float] = ..., speech_start_ms: _Optional[int] = ..., speech_end_ms: _Optional[int] = ...) -> None: ...

class SegmentWarning(_message.Message):
    __slots__ = ("segment_id", "code", "message")
    SEGMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    segment_id: int
    code: str
    message: str
    def __init__(self, segment_id: _Optional[int] = ..., code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ResetDone(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EndOfStream(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListLanguagesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Language(_message.Message):
    __slots__ = ("code", "name")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class ListLanguagesResponse(_message.Message):
    __slots__ = ("engine", "source_languages", "target_languages", "speech_output_languages", "source_language_selectable", "routes", "voices")
    ENGINE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    TARGET_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SPEECH_OUTPUT_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_LANGUAGE_SELECTABLE_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    VOICES_FIELD_NUMBER: _ClassVar[int]
    engine: str
    source_languages: _containers.RepeatedCompositeFieldContainer[Language]
    target_languages: _containers.RepeatedCompositeFieldContainer[Language]
    speech_output_languages: _containers.RepeatedCompositeFieldContainer[Language]
    source_language_selectable: bool
    routes: _containers.RepeatedCompositeFieldContainer[LanguageRoute]
    voices: _containers.RepeatedCompositeFieldContainer[OutputVoice]
    def __init__(self, engine: _Optional[str] = ..., source_languages: _Optional[_Iterable[_Union[Language, _Mapping]]] = ..., target_languages: _Optional[_Iterable[_Union[Language, _Mapping]]] = ..., speech_output_languages: _Optional[_Iterable[_Union[Language, _Mapping]]] = ..., source_language_selectable: _Optional[bool] = ..., routes: _Optional[_Iterable[_Union[LanguageRoute, _Mapping]]] = ..., voices: _Optional[_Iterable[_Union[OutputVoice, _Mapping]]] = ...) -> None: ...

class LanguageRoute(_message.Message):
    __slots__ = ("sources", "targets")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedScalarFieldContainer[str]
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, sources: _Optional[_Iterable[str]] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class OutputVoice(_message.Message):
    __slots__ = ("language", "label", "kind", "fallback_reason")
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_REASON_FIELD_NUMBER: _ClassVar[int]
    language: str
    label: str
    kind: str
    fallback_reason: str
    def __init__(self, language: _Optional[str] = ..., label: _Optional[str] = ..., kind: _Optional[str] = ..., fallback_reason: _Optional[str] = ...) -> None: ...

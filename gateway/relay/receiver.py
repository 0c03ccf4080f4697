"""The receive loop of one socket: the browser's frames, control JSON and audio, rate limited and dispatched.

A frame is parsed by protocol.py (frame -> message -> request), then goes to the socket's worker session or,
for a room's speaker or listener, to its seat (gateway/rooms/seat.py). Whatever a client frame holds, handling
it ends in a documented error event or, for a fault of the gateway's own, a logged and counted 1011 close:
never a silently dropped socket.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.websockets import WebSocket

from gateway.config import GatewayConfig
from gateway.identity.grant import Grant
from gateway.limits import TokenBucket
from gateway.protocol import (
    CreateRoom,
    Join,
    ProtocolError,
    RoomMessage,
    Speak,
    Start,
    Stop,
    audio_request,
    check_audio,
    error_event,
    parse_text,
)
from gateway.relay.sender import FrameSender, shutting_down
from gateway.relay.session import SessionState, WorkerSession
from gateway.rooms.seat import RoomSeat
from gateway.sockets import OpenSockets
from s2st.v1 import translation_pb2 as pb

log = logging.getLogger("gateway.relay")  # one logger for all the relay's parts

CLOSE_INTERNAL_ERROR = 1011
_ROOM_SEATS = (CreateRoom, Speak, Join)  # the room messages that give an idle socket a role


class FrameReceiver:
    """Reads one socket's frames until the client leaves; errors in a frame go back to the client as events."""

    def __init__(self, websocket: WebSocket, sender: FrameSender, session: WorkerSession, seat: RoomSeat,
                 config: GatewayConfig, sockets: OpenSockets, grant: Grant) -> None:
        self._ws = websocket
        self._sender = sender
        self._session = session
        self._seat = seat
        self._config = config
        self._sockets = sockets
        self._grant = grant  # what the socket's token allows
        self._audio_rate = TokenBucket(config.ws_max_frames_per_second,
                                       config.ws_max_frames_per_second * config.ws_burst_seconds)
        self._stream_opens = TokenBucket(config.ws_stream_opens_per_second, config.ws_stream_opens_burst)
        self._rate_error_at = float("-inf")

    async def receive_frames(self) -> None:
        """Handle the client's frames in order until it disconnects or the gateway fails on one."""
        while True:
            message = await self._ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            try:
                if message.get("bytes") is not None:
                    await self._on_audio(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except ProtocolError as error:
                self._sender.send(error_event(error.code, str(error), fatal=error.fatal))
            except Exception:
                log.exception("failed to handle a client frame; closing the socket")
                self._sender.send(error_event("internal", "the gateway failed on that frame; reconnect", fatal=True))
                self._sender.close(CLOSE_INTERNAL_ERROR, "gateway fault")
                return
            # Frames already buffered come without a pause: let the session's own task (its start,
            # its responses) and the other sockets run between them.
            await asyncio.sleep(0)

    async def _on_text(self, text: str) -> None:
        message = parse_text(text)  # other control frames are never rate limited: a `stop` always gets through
        state = self._session.state
        if isinstance(message, (Start, *_ROOM_SEATS)) and not self._stream_opens.allow():
            raise ProtocolError("rate_limited", f"more than {self._config.ws_stream_opens_per_second:g} frames a second "
                                "that open worker streams (start, create_room, speak, join) beyond the burst allowance; "
                                "this one was dropped")
        if isinstance(message, (Start, *_ROOM_SEATS)) and state is not SessionState.IDLE:
            raise ProtocolError("already_started", "a session is already active: send stop first")
        if isinstance(message, (Start, CreateRoom)) and self._sockets.draining:
            self._sender.send(shutting_down())
            return
        if isinstance(message, RoomMessage) or (isinstance(message, Stop) and self._seat.role == "speaker"):
            await self._seat.handle(message)
            return
        if isinstance(message, Start):
            if self._seat.active:
                raise ProtocolError("already_started", f"this socket is a room's {self._seat.role}: leave the room first")
            self._session.start(self._grant.admit(message))
            return
        if state in (SessionState.IDLE, SessionState.STOPPING):
            raise ProtocolError("not_started", "no active session: send start first")
        if isinstance(message, Stop):
            await self._session.stop(message.to_request())
            return
        await self._forward(message.to_request())

    async def _on_audio(self, frame: bytes) -> None:
        if not self._audio_rate.allow():
            self._report_rate_limit()
            return
        check_audio(frame, self._config.ws_max_frame_bytes)
        if self._seat.active:
            await self._seat.feed(frame)
            return
        if self._session.state not in (SessionState.STARTING, SessionState.LIVE):
            raise ProtocolError("not_started", "no active session: send start before audio")
        await self._forward(audio_request(frame))

    async def _forward(self, request: pb.TranslateRequest) -> None:
        if not await self._session.forward(request):
            self._report_rate_limit()  # held while the session starts, past the queue's limits: dropped

    def _report_rate_limit(self) -> None:
        """One `rate_limited` error a second at most, so a flood cannot flood the replies too."""
        now = asyncio.get_running_loop().time()
        if now - self._rate_error_at >= 1.0:
            self._rate_error_at = now
            self._sender.send(error_event("rate_limited", f"more than {self._config.ws_max_frames_per_second:g} "
                                          "audio frames a second beyond the burst allowance; frames are being dropped",
                                          False))

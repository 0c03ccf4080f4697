"""The status a worker ended a stream with, kept from being replaced by a write that raced that end.

When a worker ends a Translate stream (a refusal, the session length limit, an idle
stream) while the gateway still writes audio, grpcio's asyncio client fails the write
that was in flight and then sets the call's status to `INTERNAL: Internal error from
Core` unconditionally, over the status the worker had already delivered
(grpc/grpc#36066, fix proposed in grpc/grpc#43486). The worker cannot avoid it: gRPC
Core resets a stream the client has not half-closed as soon as the server's trailers
are out. The two statuses settle in either order, and grpcio runs a call's done callbacks
for the first one only. So the gateway records the first status when it is the worker's,
and a read that failed with the write's status takes that one, or else waits (briefly:
Core delivers a status to every call) for the worker's to replace the write's.

A write still waiting on flow control when the worker ends the stream (a client sending
audio faster than the worker reads it) can keep grpcio from setting the worker's status
at all, and from reading what came before it. So the worker says its status in band
first (StreamEnding) and sends the status itself only once the gateway, having read it,
half-closed (worker_client.session_frames): no write waits then. The StreamEnding is
recorded here as the call's status, should a write fail all the same; and a call whose
own deadline (the token's max_session_seconds) has passed ended with DEADLINE_EXCEEDED,
whatever grpcio says.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

import grpc

T = TypeVar("T")
Status = tuple[grpc.StatusCode, str]
LOST_TO_A_WRITE = "Internal error from Core"  # grpcio's details when a failed write set the status
STATUS_WAIT_SECONDS = 2.0  # how long a read failed by a write may wait for the worker's status, already on its way
DEADLINE_DETAILS = "Deadline Exceeded"  # grpcio's details when a call's own deadline ends it
STATUS_POLL_SECONDS = 0.01  # grpcio signals only the first status set: the worker's, when it comes second, is polled

_first_status: weakref.WeakKeyDictionary[grpc.aio.Call, Status] = weakref.WeakKeyDictionary()


def keep_worker_status(call: grpc.aio.Call) -> None:
    """Record the status the worker ends `call` with when it is the first set, before a racing write replaces it."""
    call.add_done_callback(_remember)


def keep_stated_status(call: grpc.aio.Call, code_name: str, details: str) -> None:
    """Record the status the worker said it ends `call` with (its in-band StreamEnding); a name this gateway does
    not know, or OK, says nothing."""
    code = grpc.StatusCode.__members__.get(code_name)
    if code is not None and code != grpc.StatusCode.OK:
        _first_status[call] = (code, details)


async def worker_error(call: grpc.aio.Call, error: grpc.aio.AioRpcError) -> grpc.aio.AioRpcError:
    """`error` as the worker sent it: when a failed write set the status, the worker's own; else `error` itself."""
    if not _set_by_a_write(error.code(), error.details() or ""):
        return error
    if call not in _first_status and _past_deadline(call):
        _first_status[call] = (grpc.StatusCode.DEADLINE_EXCEEDED, DEADLINE_DETAILS)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STATUS_WAIT_SECONDS
    while (status := _first_status.get(call) or _worker_status_now(call)) is None:
        if loop.time() >= deadline:  # no status came after all: the write's failure is all there is to say
            return error
        await asyncio.sleep(STATUS_POLL_SECONDS)
    code, details = status
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details)


def _remember(call: grpc.aio.Call) -> None:
    if (status := _worker_status_now(call)) is not None:
        _first_status[call] = status


def _worker_status_now(call: grpc.aio.Call) -> Status | None:
    """The call's status now, unless a failed write set it."""
    code, details = _settled(call.code()), _settled(call.details()) or ""
    return None if _set_by_a_write(code, details) else (code, details)


def _past_deadline(call: grpc.aio.Call) -> bool:
    remaining = call.time_remaining()
    return remaining is not None and remaining <= 0


def _set_by_a_write(code: grpc.StatusCode, details: str) -> bool:
    return code == grpc.StatusCode.INTERNAL and details == LOST_TO_A_WRITE


def _settled(step: Coroutine[Any, Any, T]) -> T:
    """The result of a call's status accessor once the call is done: it returns without waiting."""
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    raise RuntimeError("the call has no status yet")

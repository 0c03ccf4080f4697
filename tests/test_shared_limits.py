"""Per-IP limits shared by a multi-process gateway (gateway/serving/shared_limits.py), over real socket pairs."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from harness.polling import until

from gateway.serving.shared_limits import LimitsTable, SharedClientLimits

IP = "203.0.113.7"


async def eventually_admitted(limits: SharedClientLimits, timeout_s: float = 2.0) -> bool:
    """Whether a session slot of IP is granted within timeout_s (a slot given back late still counts)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        async with limits.hold("sessions", IP) as admitted:
            if admitted:
                return True
        await asyncio.sleep(0.01)
    return False


async def test_a_client_that_leaves_at_any_moment_of_its_hold_gives_the_slot_back():
    table = LimitsTable(max_connections_per_ip=1, max_sessions_per_ip=1)
    supervisor_end, process_end = socket.socketpair()
    serving = asyncio.create_task(table.serve(supervisor_end))
    lost: list[bool] = []
    limits = SharedClientLimits(process_end, on_lost=lambda: lost.append(True))  # not this test's process

    async def hold_until_cancelled() -> None:
        async with limits.hold("sessions", IP):
            await asyncio.Event().wait()

    # Cancelled after 0, 1, 2... turns of the event loop: before the request leaves, while the answer is on
    # its way, between the answer and the holder's next turn, and once the slot is held.
    for turns in range(12):
        holder = asyncio.create_task(hold_until_cancelled())
        for _ in range(turns):
            await asyncio.sleep(0)
        holder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holder
        assert await eventually_admitted(limits), f"the slot stayed taken (cancelled after {turns} turns)"
    serving.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    await until(lambda: lost, what="the process did not hear that the supervisor's end closed")
    assert lost == [True]  # the supervisor's end closed: the process hears of it

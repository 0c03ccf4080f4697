"""The gateway on several processes (S2ST_GATEWAY_PROCESSES): one port, per-IP limits and metrics that
hold across the processes, a process that dies is replaced and gives back what it held.

The rest of the suite runs the gateway with two processes too (harness/servers.py).
"""

from __future__ import annotations

import json
import os
import signal
from contextlib import AsyncExitStack

import pytest
import websockets
from harness.polling import until
from harness.servers import Gateway, alive, running, start_gateway
from harness.wsclient import ProtocolClient, connect


def serving_pids(gateway: Gateway) -> list[int]:
    """Serving processes of the gateway, in the order they came up (from their "gateway ready" lines)."""
    lines = (json.loads(line) for line in gateway.log().splitlines() if line.startswith("{"))
    return [line["pid"] for line in lines if line["msg"] == "gateway ready"]


async def start_everywhere(stack: AsyncExitStack, gateway: Gateway, sockets: int) -> list[tuple[ProtocolClient, str]]:
    """Open `sockets` sockets, then `start` on each; each client with the type (or error code) it got back."""
    clients = [ProtocolClient(await stack.enter_async_context(connect(gateway.ws_url))) for _ in range(sockets)]
    replies = [await client.start() for client in clients]
    return [(client, reply.get("code", reply["type"])) for client, reply in zip(clients, replies)]


@pytest.mark.parametrize("processes", [1, 2])
async def test_the_session_limit_and_the_metrics_count_every_process(echo_worker, server_logs, processes):
    env = {"S2ST_MAX_SESSIONS_PER_IP": "2"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs, processes=processes)) as gateway:
        assert len(serving_pids(gateway)) == processes
        async with AsyncExitStack() as stack:
            started = await start_everywhere(stack, gateway, 8)  # spread over the processes by the kernel
            assert sorted(outcome for _, outcome in started) == ["ready"] * 2 + ["too_many_sessions"] * 6, started
            assert gateway.metric("s2st_gateway_active_sessions") == 2
            assert gateway.metric("s2st_gateway_active_connections") == 8
            live = next(client for client, outcome in started if outcome == "ready")
            await live.send({"type": "stop"})
            await live.until("ended")
            # The slot is free once the client hears `ended`: wherever the next start lands, it is admitted.
            waiting = next(client for client, outcome in started if outcome == "too_many_sessions")
            assert (await waiting.start())["type"] == "ready"
        assert gateway.metric("s2st_gateway_connections_total") == 8


async def test_the_connection_limit_holds_across_processes(echo_worker, server_logs):
    env = {"S2ST_MAX_CONNECTIONS_PER_IP": "3"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs, processes=2)) as gateway:
        async with AsyncExitStack() as stack:
            for _ in range(3):
                await stack.enter_async_context(connect(gateway.ws_url))
            for _ in range(12):
                with pytest.raises(websockets.InvalidStatus) as refused:
                    async with connect(gateway.ws_url):
                        pass
                assert refused.value.response.status_code == 429
        refusing = {json.loads(line)["pid"] for line in gateway.log().splitlines()
                    if line.startswith("{") and json.loads(line)["msg"] == "refused a WebSocket"}
        assert refusing == set(serving_pids(gateway))  # both processes refused: neither counted only its own


async def test_slots_come_back_whenever_a_client_leaves(echo_worker, server_logs):
    """Clients that leave before `ready`, right after it, in mid-audio or after `ended` give their slots back."""
    env = {"S2ST_MAX_SESSIONS_PER_IP": "3"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs, processes=2)) as gateway:
        for index in range(60):
            async with connect(gateway.ws_url) as ws:
                client = ProtocolClient(ws)
                await client.send({"type": "start", "target_language": "eng"})
                if index % 4 >= 1:
                    await client.until("ready")
                if index % 4 >= 2:
                    await client.send(b"\x01\x00" * 160)
                if index % 4 == 3:
                    await client.send({"type": "stop"})
                    await client.until("ended")
        await until(lambda: gateway.metric("s2st_gateway_active_connections") == 0, timeout=20)
        async with AsyncExitStack() as stack:
            started = await start_everywhere(stack, gateway, 3)
            assert [outcome for _, outcome in started] == ["ready"] * 3


async def test_a_process_that_dies_is_replaced_and_gives_back_its_slots(echo_worker, server_logs):
    env = {"S2ST_MAX_SESSIONS_PER_IP": "4"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs, processes=2)) as gateway:
        first, second = serving_pids(gateway)
        async with AsyncExitStack() as stack:
            started = await start_everywhere(stack, gateway, 4)
            assert [outcome for _, outcome in started] == ["ready"] * 4
            os.kill(first, signal.SIGKILL)
            await until(lambda: len(serving_pids(gateway)) == 3, timeout=20)  # a new process is serving
            replacement = serving_pids(gateway)[-1]
            assert alive(second) and alive(replacement) and not alive(first)
            # Its sockets were cut and their slots are free again; the other process's sessions go on.
            await until(lambda: gateway.metric("s2st_gateway_active_sessions") < 4, timeout=20)
            survivors = gateway.metric("s2st_gateway_active_sessions")
            more = await start_everywhere(stack, gateway, 6)
            assert [outcome for _, outcome in more].count("ready") == 4 - survivors, more
        assert "a gateway process ended; starting another" in gateway.log()




async def test_serving_processes_die_with_a_killed_supervisor_so_a_new_gateway_can_take_the_port(
        echo_worker, server_logs):
    gateway = start_gateway(echo_worker.address, log_dir=server_logs, processes=2)
    with running(gateway):
        serving = serving_pids(gateway)
        try:
            gateway.process.kill()  # kill -9: no drain, no word to its processes
            gateway.process.wait()
            await until(lambda: not any(alive(pid) for pid in serving), timeout=10,
                        what="the serving processes outlived their supervisor")
        finally:
            for pid in filter(alive, serving):  # without the fix they would hold the port for good
                os.kill(pid, signal.SIGKILL)
    with running(start_gateway(echo_worker.address, log_dir=server_logs, port=gateway.port)) as replacement:
        async with connect(replacement.ws_url) as ws:
            assert (await ProtocolClient(ws).start())["type"] == "ready"

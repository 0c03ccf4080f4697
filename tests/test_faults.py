"""Faults real users and operators cause: dying and restarting processes, slow and vanishing clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path

import websockets

from harness.polling import until
from harness.servers import GATEWAY_PROCESSES, free_port, running, start_gateway, start_worker
from harness.raw_ws import NonReadingClient
from harness.wsclient import ProtocolClient, connect

FRAME = b"\x01\x02" * 320


async def round_trip(client: ProtocolClient) -> bool:
    client.audio.clear()
    await client.send(FRAME)
    while not client.audio:
        await client.receive()
    return client.received_pcm() == FRAME


async def test_a_restarted_worker_serves_new_sessions_through_the_same_gateway(server_logs):
    port = free_port()
    worker = start_worker("echo", log_dir=server_logs, port=port)
    with running(start_gateway(worker.address, log_dir=server_logs)) as gateway:
        async with connect(gateway.ws_url) as ws:
            client = ProtocolClient(ws)
            await client.start()
            worker.process.kill()
            error = await client.until("error")
            assert error["code"] == "worker_unavailable"
            await client.until("ended")
            with running(start_worker("echo", log_dir=server_logs, port=port)):
                for _ in range(50):  # the channel reconnects within its backoff (at most 2 s)
                    ready = await client.start()
                    if ready["type"] == "ready":
                        break
                    await asyncio.sleep(0.2)
                assert ready["type"] == "ready"
                assert await round_trip(client)


async def test_a_restarted_gateway_takes_new_connections(echo_worker, server_logs):
    port = free_port()
    with running(start_gateway(echo_worker.address, log_dir=server_logs, port=port)) as first:
        async with connect(first.ws_url) as ws:
            await ProtocolClient(ws).start()
    with running(start_gateway(echo_worker.address, log_dir=server_logs, port=port)) as second:
        async with connect(second.ws_url) as ws:
            client = ProtocolClient(ws)
            assert (await client.start())["type"] == "ready"
            assert await round_trip(client)


async def test_two_workers_share_sessions_and_one_dying_spares_the_others(server_logs):
    env = {"S2ST_MAX_SESSIONS": "2"}
    with (running(start_worker("echo", env, log_dir=server_logs)) as a,
          running(start_worker("echo", env, log_dir=server_logs)) as b,
          running(start_gateway(f"{a.address},{b.address}", log_dir=server_logs)) as gateway):
        async with (connect(gateway.ws_url) as ws1, connect(gateway.ws_url) as ws2, connect(gateway.ws_url) as ws3,
                    connect(gateway.ws_url) as ws4):
            clients = [ProtocolClient(ws) for ws in (ws1, ws2, ws3, ws4)]
            for client in clients:
                # Four sessions on two workers of two (the round-robin alternates: no start meets a full one).
                assert (await client.start())["type"] == "ready"
            assert a.metric("s2st_worker_active_sessions") == 2 and b.metric("s2st_worker_active_sessions") == 2
            a.process.kill()
            outcomes = await asyncio.gather(*(c.until("error", timeout=3) for c in clients),
                                            return_exceptions=True)
            survivors = [c for c, o in zip(clients, outcomes) if isinstance(o, TimeoutError)]
            assert len(survivors) == 2
            for client in survivors:
                assert await round_trip(client)
        async with connect(gateway.ws_url) as ws:
            fresh = ProtocolClient(ws)
            assert (await fresh.start())["type"] == "ready"
            assert await round_trip(fresh)


async def test_a_start_that_meets_a_full_worker_is_tried_on_the_next_and_busy_only_when_all_are_full(server_logs):
    """S2ST_START_ATTEMPTS: one worker of two is full; every start still lands on the other, whichever the
    round-robin picks first. With both full, the start gets `busy`."""
    env = {"S2ST_MAX_SESSIONS": "1"}
    with (running(start_worker("echo", env, log_dir=server_logs)) as a,
          running(start_worker("echo", env, log_dir=server_logs)) as b,
          running(start_gateway(f"{a.address},{b.address}", log_dir=server_logs)) as gateway):
        async with connect(gateway.ws_url) as held_ws, connect(gateway.ws_url) as ws:
            held, client = ProtocolClient(held_ws), ProtocolClient(ws)
            assert (await held.start())["type"] == "ready"  # one worker is now full
            for _ in range(4):  # the round-robin offers the full worker every other start
                assert (await client.start())["type"] == "ready"
                await client.send({"type": "stop"})
                await client.until("ended")
            assert (await client.start())["type"] == "ready"
            async with connect(gateway.ws_url) as third_ws:
                busy = await ProtocolClient(third_ws).start()
        assert (busy["code"], busy["fatal"]) == ("busy", True)


async def open_clients(stack: contextlib.AsyncExitStack, url: str, count: int) -> list[ProtocolClient]:
    """count sessions, each on a socket of its own, started one after the other."""
    clients = []
    for _ in range(count):
        client = ProtocolClient(await stack.enter_async_context(connect(url)))
        ready = await client.start()
        assert ready["type"] == "ready", ready
        clients.append(client)
    return clients


def worker_port(worker) -> int:
    return int(worker.address.rsplit(":", 1)[1])


def sessions_per_worker(*workers) -> list[int]:
    return [int(worker.metric("s2st_worker_active_sessions")) for worker in workers]


async def test_one_multi_address_target_spreads_sessions_over_three_workers_through_a_kill_and_a_drain(server_logs):
    """What a gateway sees in a cluster: a pool of workers behind one target, where a worker may crash
    (node lost, OOM) or drain (rollout, scale-in: health NOT_SERVING while its streams finish)."""
    with (running(start_worker("echo", log_dir=server_logs)) as a,
          running(start_worker("echo", log_dir=server_logs)) as b,
          running(start_worker("echo", {"S2ST_SHUTDOWN_GRACE_SECONDS": "60"}, log_dir=server_logs)) as c,
          running(start_gateway(f"{a.address},{b.address},{c.address}", {"S2ST_MAX_SESSIONS_PER_IP": "0"},
                                log_dir=server_logs)) as gateway):
        # Each serving process of the gateway connects to every worker before its first session.
        await until(lambda: all(len(client_ports_connected_to(worker_port(w))) >= GATEWAY_PROCESSES
                                for w in (a, b, c)), what="the gateway's processes did not connect to every worker")
        async with contextlib.AsyncExitStack() as stack:
            first = await open_clients(stack, gateway.ws_url, 9)
            # Round-robin, not capacity, spreads them: every worker has room for all nine.
            assert all(count >= 2 for count in sessions_per_worker(a, b, c)), sessions_per_worker(a, b, c)

            a.process.kill()
            outcomes = await asyncio.gather(*(client.until("error", timeout=3) for client in first),
                                            return_exceptions=True)
            lost = [o for o in outcomes if not isinstance(o, TimeoutError)]
            assert lost and all(o["code"] == "worker_unavailable" for o in lost), lost
            survivors = [client for client, o in zip(first, outcomes) if isinstance(o, TimeoutError)]
            assert len(survivors) == 9 - len(lost)
            for client in survivors:
                assert await round_trip(client)
            assert sum(sessions_per_worker(b, c)) == len(survivors)
            await open_clients(stack, gateway.ws_url, 4)  # none of them is sent to the dead worker

            c.process.send_signal(signal.SIGTERM)
            await until(lambda: "draining" in c.log())
            on_c = int(c.metric("s2st_worker_active_sessions"))
            before_b = int(b.metric("s2st_worker_active_sessions"))
            await open_clients(stack, gateway.ws_url, 4)  # all taken by the one serving worker
            assert int(b.metric("s2st_worker_active_sessions")) == before_b + 4
            assert int(c.metric("s2st_worker_active_sessions")) == on_c > 0  # its streams go on meanwhile
            for client in survivors:
                assert await round_trip(client)


def client_ports_connected_to(port: int) -> set[int]:
    """Remote ports of the established TCP connections to a local listening port, from /proc."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, remote, state = line.split()[1:4]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:  # 01: ESTABLISHED
                ports.add(int(remote.rsplit(":", 1)[1], 16))
    return ports


async def test_old_gateway_connections_are_replaced_so_dns_is_resolved_again_yet_live_sessions_go_on(server_logs):
    """gRPC resolves a dns:/// target again only when a connection ends: a worker's maximum connection age is
    what lets gateways find workers added after they connected. It must never cut a session."""
    with (running(start_worker("echo", {"S2ST_GRPC_MAX_CONNECTION_AGE_SECONDS": "1"}, log_dir=server_logs)) as worker,
          running(start_gateway(worker.address, log_dir=server_logs)) as gateway):
        async with connect(gateway.ws_url) as ws:
            live = ProtocolClient(ws)
            assert (await live.start())["type"] == "ready"
            first_connection = client_ports_connected_to(worker.port)
            await asyncio.sleep(2.5)  # past the age (gRPC adds up to 10 % jitter)
            assert await round_trip(live)
            async with connect(gateway.ws_url) as ws2:
                fresh = ProtocolClient(ws2)
                assert (await fresh.start())["type"] == "ready"
                assert await round_trip(fresh)
            assert client_ports_connected_to(worker.port) - first_connection  # a new connection was made
            assert await round_trip(live)


def test_a_client_that_stops_reading_is_closed_with_1008_and_the_gateway_stays_bounded(echo_worker, server_logs):
    env = {"S2ST_OUTBOUND_QUEUE_FRAMES": "16", "S2ST_WS_MAX_FRAMES_PER_SECOND": "0"}
    with running(start_gateway(echo_worker.address, env, log_dir=server_logs)) as gateway:
        before = gateway.rss_mb()
        client = NonReadingClient(gateway.port)
        client.send(json.dumps({"type": "start", "target_language": "eng"}).encode(), opcode=0x1)
        big = b"\x00\x01" * 32768  # 64 KiB of audio a frame, all echoed back
        for _ in range(3000):  # at most 190 MB; the gateway must give up long before
            if "does not read" in gateway.log():  # when to stop sending and read what came back
                break
            try:
                client.send(big, opcode=0x2)
            except OSError:  # timed out: the gateway stopped taking our frames
                break
        grown = gateway.rss_mb() - before
        code = client.close_code()  # the client reads again: behind the echoes it never read, the close frame
        client.sock.close()
        assert code == 1008
        assert grown < 150


async def test_a_vanished_client_frees_its_worker_session_within_seconds(echo_worker, echo_gateway):
    async with connect(echo_gateway.ws_url) as ws:
        client = ProtocolClient(ws)
        await client.start()
        await until(lambda: echo_worker.metric("s2st_worker_active_sessions") >= 1)
        ws.transport.abort()  # gone without a close frame, like a phone losing its network
    await until(lambda: echo_worker.metric("s2st_worker_active_sessions") == 0, timeout=5)


async def test_gateway_sigterm_drains_live_sessions_then_ends_the_rest_with_shutting_down_ended_and_1001(
        echo_worker, server_logs):
    import signal

    gateway = start_gateway(echo_worker.address, {"S2ST_SHUTDOWN_GRACE_SECONDS": "2"}, log_dir=server_logs)
    with running(gateway):
        async with (connect(gateway.ws_url) as live_ws, connect(gateway.ws_url) as finishing_ws,
                    connect(gateway.ws_url) as idle_ws):
            live, finishing, idle = ProtocolClient(live_ws), ProtocolClient(finishing_ws), ProtocolClient(idle_ws)
            assert (await live.start())["type"] == "ready" and (await finishing.start())["type"] == "ready"
            gateway.process.send_signal(signal.SIGTERM)
            await until(lambda: gateway.log().count('"msg": "draining"') >= GATEWAY_PROCESSES, what="no drain began")
            assert await round_trip(live)  # live sessions go on during the grace period
            await finishing.send({"type": "stop"})
            await finishing.until("ended", timeout=2)  # and may end as usual
            # An idle socket hears `shutting_down`: at its next `start` during the grace, or at once when its
            # serving process has no live session to wait for (each process of a gateway drains on its own).
            refused = await start_refused(idle)
            assert (refused["code"], refused["fatal"]) == ("shutting_down", True)
            error = await live.until("error", timeout=5)  # the grace is over
            assert (error["code"], error["fatal"]) == ("shutting_down", True)
            await live.until("ended")  # a fatal error in a live session: `ended` follows, then the close
            await asyncio.wait_for(live_ws.wait_closed(), 5)
            assert live_ws.close_code == 1001
        # uvicorn re-raises the signal once its shutdown is complete.
        assert gateway.process.wait(10) in (0, -signal.SIGTERM)


async def start_refused(client: ProtocolClient) -> dict:
    """The error a `start` gets, or the one the gateway sent before it closed the socket."""
    with contextlib.suppress(websockets.ConnectionClosed):
        await client.send({"type": "start", "target_language": "eng"})
    with contextlib.suppress(websockets.ConnectionClosed):  # what arrived before the close is still read
        while not any(event["type"] == "error" for event in client.events):
            await client.receive()
    return next(event for event in client.events if event["type"] == "error")

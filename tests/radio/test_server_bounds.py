"""The shared radio under careless clients (issue 11): it frees what a client leaves, bounds
what a client that stops reading may queue, and keeps a label to the program that has it.

Clients here are plain blocking sockets in threads (what they send sits in the kernel, not
in this process's heap), talking H4 to a server started on loopback.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import struct
import threading
import tracemalloc
from collections.abc import Callable

import pytest

from bleradio import serve
from bleradio.controller import VirtualController
from bleradio.transport.server import RadioServer
from bleradio.transport.tcp import encode_hello
from blerun.energy import energy_rows

from .helpers import wait_for

RESET = bytes.fromhex("01030c00")
ADV_PARAMS = bytes.fromhex("0106200f") + struct.pack(
    "<HHBBB6sBB", 0x0020, 0x0020, 0, 0, 0, b"\x00" * 6, 7, 0
)
ADV_ENABLE = bytes.fromhex("010a200101")
READ_BD_ADDR = bytes.fromhex("01091000")
READ_COMMANDS = bytes.fromhex("01021000")  # 4 bytes in, 71 out


def read_events(sock: socket.socket, count: int) -> list[bytes]:
    """``count`` HCI events (H4, whole) from ``sock``."""
    buf = b""
    events = []
    while len(events) < count:
        while len(buf) < 3 or len(buf) < 3 + buf[2]:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        size = 3 + buf[2]
        events.append(buf[:size])
        buf = buf[size:]
    return events


def join(server: RadioServer, label: str, *, rcvbuf: int = 0) -> tuple[socket.socket, bytes]:
    """A client that joined as ``label`` and read its BD_ADDR (which it returns)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(30)
    sock.connect((server.host, server.port))
    sock.sendall(encode_hello(label) + READ_BD_ADDR)
    (event,) = read_events(sock, 1)
    return sock, event[7:13]


def join_on_air_and_leave(server: RadioServer, label: str) -> None:
    sock, _ = join(server, label)
    with sock:
        sock.sendall(RESET + ADV_PARAMS + ADV_ENABLE)
        read_events(sock, 3)


def flood(sock: socket.socket, megabytes: int, stop: threading.Event | None = None) -> bool:
    """Send commands on ``sock`` and read nothing; True if the server cut it off."""
    batch = READ_COMMANDS * 4096
    try:
        for _ in range(megabytes * 64):
            if stop is not None and stop.is_set():
                return False
            sock.sendall(batch)
    except OSError:
        return True
    return False


def live_controllers(server: RadioServer) -> int:
    """The server's controllers still alive (other tests in this process keep their own)."""
    gc.collect()
    return sum(
        1
        for o in gc.get_objects()
        if isinstance(o, VirtualController) and o.medium is server.medium
    )


def run(main: Callable[[], object], timeout: float = 120) -> object:
    return asyncio.run(asyncio.wait_for(main(), timeout))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- item 2: leaving
def test_devices_that_leave_are_freed_and_listed_in_a_bounded_history() -> None:
    async def main() -> None:
        server = await serve(fast=False)
        server.departed_kept = 20
        try:

            def joins(first: int, count: int) -> None:
                for i in range(first, first + count):
                    join_on_air_and_leave(server, f"j{i}")

            await asyncio.to_thread(joins, 0, 50)  # warm-up: caches, the history fills
            await wait_for(lambda: not server._connections, timeout=30)
            tracemalloc.start()
            try:
                gc.collect()
                before = tracemalloc.get_traced_memory()[0]
                await asyncio.to_thread(joins, 50, 300)
                await wait_for(lambda: not server._connections, timeout=30)
                gc.collect()
                growth = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            # every controller was freed (each used to keep about 17 KB for good)
            assert live_controllers(server) == 0
            assert growth < 1_000_000, growth  # (300 joins kept 5 MB before)
            devices = server.devices()
            assert [d.label for d in devices] == [f"j{i}" for i in range(330, 350)]
            assert not any(d.connected for d in devices)
            # what a departed device's summary keeps: its address and its energy
            assert all(d.energy is not None and d.energy.elapsed_ms > 0 for d in devices)
        finally:
            await server.close()

    run(main)


def test_a_program_that_exited_keeps_its_energy_and_timeline() -> None:
    """What `aioble run --energy/--timeline` reads once the programs have exited."""

    async def main() -> None:
        server = await serve(fast=False)
        try:
            sock, _ = await asyncio.to_thread(join, server, "prog")
            await asyncio.to_thread(sock.sendall, RESET + ADV_PARAMS + ADV_ENABLE)
            await asyncio.to_thread(read_events, sock, 3)
            await asyncio.sleep(0.1)  # a few advertising events at 20 ms
            sock.close()
            await wait_for(lambda: not server._connections)
            (info,) = server.devices()
            assert (info.label, info.connected, info.links) == ("prog", False, 0)
            (row,) = energy_rows(server.devices())
            assert row.label == "prog" and row.tx_ms > 0
            assert any(a.label == "prog" and a.kind == "advertising" for a in server.activity())
        finally:
            await server.close()

    run(main)


# ---------------------------------------------------------------------- item 3: not reading
@pytest.mark.parametrize("bound", ["backlog size", "time over the pause mark"])
def test_a_client_that_reads_nothing_is_cut_off_once(
    bound: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def main() -> None:
        server = await serve()
        if bound == "backlog size":
            server.max_backlog = 256 << 10  # reading is never paused: the size cuts it
            server.pause_backlog = server.resume_backlog = 1 << 30
        else:
            server.pause_backlog, server.resume_backlog = 64 << 10, 16 << 10
            server.backlog_grace = 0.5  # (a bound, not a measured time)
        try:
            steady, _ = await asyncio.to_thread(join, server, "steady")
            flooder, _ = await asyncio.to_thread(join, server, "flooder", rcvbuf=4096)
            stop = threading.Event()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                flooding = asyncio.create_task(asyncio.to_thread(flood, flooder, 64, stop))
                # another device keeps being served meanwhile
                for _ in range(20):
                    await asyncio.to_thread(steady.sendall, READ_BD_ADDR)
                    await asyncio.to_thread(read_events, steady, 1)
                try:
                    cut = await asyncio.wait_for(asyncio.shield(flooding), 90)
                finally:
                    stop.set()
                    await flooding
                peak = tracemalloc.get_traced_memory()[1] - before
            finally:
                tracemalloc.stop()
            assert cut, "the server took the whole flood"
            # 64 MB of commands ask for 1.1 GB of answers; what waited is bounded
            assert peak < 48 << 20, peak
            await wait_for(lambda: [d.connected for d in server.devices()] == [True, False])
            await asyncio.to_thread(steady.sendall, READ_BD_ADDR)
            await asyncio.to_thread(read_events, steady, 1)
            steady.close()
            flooder.close()
        finally:
            await server.close()

    run(main)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "flooder" in warnings[0].getMessage()
    assert warnings[0].exc_info is None
    assert not any("socket.send() raised" in r.getMessage() for r in caplog.records)


def test_malformed_clients_get_one_line_each_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        server = await serve()
        try:

            def bad(i: int) -> None:
                with socket.create_connection((server.host, server.port)) as sock:
                    sock.sendall(encode_hello(f"bad{i}") + b"\x07garbage" * 100)
                    sock.settimeout(30)
                    while sock.recv(4096):  # until the server closes it
                        pass

            for i in range(5):
                await asyncio.to_thread(bad, i)
            await wait_for(lambda: not server._connections)
        finally:
            await server.close()

    run(main)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 5, [r.getMessage() for r in warnings]
    assert all(r.exc_info is None for r in warnings)
    assert [f"bad{i}" in r.getMessage() for i, r in enumerate(warnings)] == [True] * 5


# ---------------------------------------------------------------------- item 4: labels
def test_a_label_in_use_is_not_taken_over(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        server = await serve()
        try:
            first, address = await asyncio.to_thread(join, server, "alpha")
            second, other = await asyncio.to_thread(join, server, "alpha")
            assert other != address  # the program that had the label keeps its address
            assert [(d.label, d.connected) for d in server.devices()] == [
                ("alpha", True),
                ("alpha#2", True),
            ]
            first.close(), second.close()
        finally:
            await server.close()

    run(main)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "'alpha'" in warnings[0] and "alpha#2" in warnings[0]


def test_a_rebooted_program_rejoins_under_its_label_and_address() -> None:
    """Multitest's reboot: the old connection closed (and the server saw it) first."""

    async def main() -> None:
        server = await serve()
        try:
            old, address = await asyncio.to_thread(join, server, "instance1")
            old.close()
            await wait_for(lambda: not server._connections)
            new, again = await asyncio.to_thread(join, server, "instance1")
            assert again == address
            assert [d.label for d in server.devices()] == ["instance1", "instance1"]
            new.close()
        finally:
            await server.close()

    run(main)


def test_a_restarted_program_gets_its_label_back_before_the_server_noticed_it_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A program restarts (machine.reset) and rejoins before the server read its old
    connection's end: here the server was not reading the old one at all (it had stopped
    reading, as it does for a client with a backlog), so only the new join can find out."""
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        server = await serve()
        server.pause_backlog, server.resume_backlog = 16 << 10, 4 << 10
        server.backlog_grace = 600.0  # not cut off during the test
        try:
            old, address = await asyncio.to_thread(join, server, "prog", rcvbuf=4096)
            stop = threading.Event()
            flooding = asyncio.create_task(asyncio.to_thread(flood, old, 64, stop))
            (connection,) = [c for c in server._connections if c.name == "prog"]
            await wait_for(lambda: connection._write_paused, timeout=60)
            stop.set()
            old.shutdown(socket.SHUT_RDWR)  # the old process exits...
            await flooding
            old.close()
            assert server.devices()[0].connected  # ...and the server has not read that
            new, again = await asyncio.to_thread(join, server, "prog")
            assert again == address
            assert [(d.label, d.connected) for d in server.devices()] == [
                ("prog", False),
                ("prog", True),
            ]
            new.close()
        finally:
            await server.close()

    run(main)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

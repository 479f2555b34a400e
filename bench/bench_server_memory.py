"""The shared radio server's memory under careless clients (issue 11, items 2 and 3).

    python bench/bench_server_memory.py [--joins N] [--flood-mb MB] [--fast]

The server (`bleradio.serve`, air time unless --fast) runs on this process's event loop;
the clients are blocking sockets in threads, so what they send sits in the kernel, not in
this process's heap, and the figures are the server's.

1. Joins and leaves: 2 x N clients in turn each connect, send the hello, HCI_Reset, LE Set
   Advertising Parameters and Enable (so each is on air), wait for the three Command
   Completes, and close. Printed: the heap (tracemalloc) and RSS growth after the first
   100 joins (warm-up) and after N, per join, and how many `VirtualController`s are alive.
2. A client that never reads: it sends MB megabytes of HCI_Read_Local_Supported_Commands
   (4 bytes each, a 71-byte answer) and reads nothing, while a second client sends
   HCI_Read_BD_ADDR every 20 ms and times each answer. Printed: whether the server cut the
   non-reader off, how much of the flood it took, the server's heap and RSS growth at the
   peak, and the other client's round trips (median and worst).

A fixed load, so the bounds can be rechecked after a change.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import struct
import sys
import threading
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import bleradio  # noqa: E402
from bleradio.controller import VirtualController  # noqa: E402
from bleradio.transport.tcp import encode_hello  # noqa: E402

RESET = bytes.fromhex("01030c00")
ADV_PARAMS = bytes.fromhex("0106200f") + struct.pack(
    "<HHBBB6sBB", 0x00A0, 0x00A0, 0, 0, 0, b"\x00" * 6, 7, 0
)
ADV_ENABLE = bytes.fromhex("010a200101")
READ_BD_ADDR = bytes.fromhex("01091000")
READ_COMMANDS = bytes.fromhex("01021000")


def rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_events(sock: socket.socket, count: int) -> None:
    """Read ``count`` HCI events (any kind) from ``sock``."""
    buf = b""
    seen = 0
    while seen < count:
        while len(buf) < 3 or len(buf) < 3 + buf[2]:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed")
            buf += chunk
        size = 3 + buf[2]
        buf = buf[size:]
        seen += 1


def join_and_leave(address: tuple[str, int], label: str) -> None:
    with socket.create_connection(address) as sock:
        sock.sendall(encode_hello(label) + RESET + ADV_PARAMS + ADV_ENABLE)
        read_events(sock, 3)


def live_controllers() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, VirtualController))


async def wait_idle(server: bleradio.RadioServer) -> None:
    while server._connections:  # the server noticed every close
        await asyncio.sleep(0.01)


async def joins(server: bleradio.RadioServer, n: int) -> None:
    address = (server.host, server.port)

    def run(first: int, count: int) -> None:
        for i in range(first, first + count):
            join_and_leave(address, f"bench{i}")

    await asyncio.to_thread(run, 0, 100)
    await wait_idle(server)
    gc.collect()
    heap0, rss0 = tracemalloc.get_traced_memory()[0], rss_kb()
    print(f"1. joins and leaves after 100 (each on air, then gone), {n} at a time")
    for step in (1, 2):
        await asyncio.to_thread(run, 100 + (step - 1) * n, n)
        await wait_idle(server)
        gc.collect()
        heap1, rss1 = tracemalloc.get_traced_memory()[0], rss_kb()
        print(
            f"   after {step * n}: heap +{(heap1 - heap0) / 1024:,.0f} KB"
            f" ({(heap1 - heap0) / (step * n) / 1024:.2f} KB per join), RSS +{rss1 - rss0:,} KB;"
            f" live controllers: {live_controllers()}; devices() lists {len(server.devices())}"
        )


async def flood(server: bleradio.RadioServer, megabytes: float) -> None:
    address = (server.host, server.port)
    total = int(megabytes * 1024 * 1024) // len(READ_COMMANDS)
    batch = READ_COMMANDS * 4096
    sent = [0]
    cut = threading.Event()
    done = threading.Event()

    # kept open, unread, until the end (as a stopped process keeps its socket)
    flooder_sock: list[socket.socket] = []

    def flooder() -> None:
        sock = socket.create_connection(address)
        flooder_sock.append(sock)
        sock.sendall(encode_hello("flooder"))
        try:
            while sent[0] < total:
                sock.sendall(batch)
                sent[0] += 4096
        except OSError:
            cut.set()
        finally:
            done.set()

    rtts: list[float] = []
    stop = threading.Event()

    def pinger() -> None:
        with socket.create_connection(address) as sock:
            sock.sendall(encode_hello("pinger"))
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    sock.sendall(READ_BD_ADDR)
                    read_events(sock, 1)
                except OSError:
                    return
                rtts.append(time.perf_counter() - t0)
                time.sleep(0.02)

    gc.collect()
    heap0, rss0 = tracemalloc.get_traced_memory()[0], rss_kb()
    tracemalloc.reset_peak()
    ping = threading.Thread(target=pinger, daemon=True)
    ping.start()
    flood_thread = threading.Thread(target=flooder, daemon=True)
    started = time.perf_counter()
    flood_thread.start()
    peak_rss = rss0
    # until the flood was all sent (an old server takes it all) or cut off, at most 60 s;
    # then a second for the server to process what it already read
    while time.perf_counter() - started < 60 and not done.is_set():
        await asyncio.sleep(0.2)
        peak_rss = max(peak_rss, rss_kb())
    for _ in range(5):
        await asyncio.sleep(0.2)
        peak_rss = max(peak_rss, rss_kb())
    elapsed = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1]
    stop.set()
    ping.join(5)
    for sock in flooder_sock:
        sock.close()
    sent_mb = sent[0] * len(READ_COMMANDS) / 1024 / 1024
    print(f"2. a client sending {megabytes:g} MB of commands and reading nothing")
    state = "yes" if cut.is_set() else ("no" if done.is_set() else "no, still sending")
    print(
        f"   cut off: {state} after {elapsed:.1f} s,"
        f" having sent {sent_mb:.1f} MB; server heap peak +{(heap_peak - heap0) / 1024:,.0f} KB,"
        f" RSS peak +{peak_rss - rss0:,} KB"
    )
    if rtts:
        print(
            f"   another client's round trips meanwhile: median {statistics.median(rtts) * 1000:.1f}"
            f" ms, worst {max(rtts) * 1000:.1f} ms ({len(rtts)} pings)"
        )


async def main(args: argparse.Namespace) -> None:
    server = await bleradio.serve(fast=args.fast)
    try:
        if args.joins:
            await joins(server, args.joins)
        if args.flood_mb:
            await flood(server, args.flood_mb)
    finally:
        await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joins", type=int, default=2000)
    parser.add_argument("--flood-mb", type=float, default=16.0)
    parser.add_argument("--fast", action="store_true", help="no air time")
    args = parser.parse_args()
    tracemalloc.start()
    asyncio.run(main(args))

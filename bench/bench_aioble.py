"""Notifications/s and read round trips/s: `aioble` vs raw Bumble, in one run, with the ratio.

Both run on the same kind of virtual link (bleradio's in-process medium in fast mode, so that
the CPU and not the air-time model is measured; every device opens its HCI through
`bleradio.open_hci(bleradio.RadioConfig("virtual"))`). Raw Bumble means Bumble's own Device,
GATT server and GATT client driven directly from asyncio. aioble means two radios of this
process (`bluetooth.new_radio`), a peripheral and a central, each an aioble program, in one
event loop, as a test or a user would write them.

- notifications: the peripheral sends N notifications of 20 bytes (MTU 23) as fast as it can;
  the clock stops when the central has received the last one. aioble receives them through
  the opt-in `notifications()` queue (every one, in order), not `notified()` (newest only).
- reads: the central reads a 20-byte value N times, one after the other.

    python bench/bench_aioble.py [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bumble import gatt

import aioble
import bleradio
import bluetooth
from benchlib import again_on_one_core, arrivals, compare, raw_pair

VALUE = bytes(range(20))


# --- raw Bumble ---------------------------------------------------------------------------


async def _raw_pair() -> tuple:
    props = gatt.Characteristic.Properties
    return await raw_pair(props.READ | props.NOTIFY, gatt.Characteristic.READABLE, VALUE)


async def _raw_notifications(count: int) -> float:
    peripheral, _, char, conn, peer, proxy = await _raw_pair()
    done, on_value = arrivals(count)

    await peer.subscribe(proxy, on_value)
    start = time.perf_counter()
    for _ in range(count):
        await peripheral.notify_subscriber(conn, char, VALUE)
    await done.wait()
    return count / (time.perf_counter() - start)


async def _raw_reads(count: int) -> float:
    _, _, _, _, peer, proxy = await _raw_pair()
    start = time.perf_counter()
    for _ in range(count):
        value = await peer.read_value(proxy)
    assert value == VALUE
    return count / (time.perf_counter() - start)


def raw_notifications(count: int) -> float:
    return asyncio.run(_raw_notifications(count))


def raw_reads(count: int) -> float:
    return asyncio.run(_raw_reads(count))


# --- aioble ---------------------------------------------------------------------------------


async def _aioble_pair() -> tuple[
    aioble.Characteristic, aioble.DeviceConnection, aioble.ClientCharacteristic, tuple
]:
    radios = (bluetooth.new_radio("aioble-peripheral"), bluetooth.new_radio("aioble-central"))
    service = aioble.Service(bluetooth.UUID(0x181A))
    char = aioble.Characteristic(
        service, bluetooth.UUID(0x2A6E), read=True, notify=True, initial=VALUE
    )
    with bluetooth.use(radios[0]):
        aioble.register_services(service)
        addr = aioble.config("mac")
        advertising = asyncio.ensure_future(aioble.advertise(20_000, timeout_ms=5000))
    with bluetooth.use(radios[1]):
        central = await aioble.Device(*addr).connect(timeout_ms=5000)
    peripheral = await advertising
    client = await (await central.service(bluetooth.UUID(0x181A))).characteristic(
        bluetooth.UUID(0x2A6E)
    )
    return char, peripheral, client, radios


def _close(radios: tuple) -> None:
    for radio in radios:
        with bluetooth.use(radio):
            aioble.stop()


async def _aioble_notifications(count: int) -> float:
    char, peripheral, client, radios = await _aioble_pair()
    try:
        async with client.notifications(max_len=count) as queue:
            await client.subscribe(notify=True)
            start = time.perf_counter()
            for _ in range(count):
                char.notify(peripheral, VALUE)
            for _ in range(count):
                await queue.get(timeout_ms=10_000)
            elapsed = time.perf_counter() - start
            assert queue.dropped == 0
        return count / elapsed
    finally:
        _close(radios)


async def _aioble_reads(count: int) -> float:
    _, _, client, radios = await _aioble_pair()
    try:
        start = time.perf_counter()
        for _ in range(count):
            value = await client.read()
        elapsed = time.perf_counter() - start
        assert value == VALUE
        return count / elapsed
    finally:
        _close(radios)


def aioble_notifications(count: int) -> float:
    return asyncio.run(_aioble_notifications(count))


def aioble_reads(count: int) -> float:
    return asyncio.run(_aioble_reads(count))


# --- report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="notifications per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the median is shown)")
    args = parser.parse_args()
    bleradio.configure(fast=True)
    rows = [
        ("notifications/s (20 B, MTU 23)", raw_notifications, aioble_notifications, args.count),
        ("read round trips/s (20 B)", raw_reads, aioble_reads, args.count // 3),
    ]
    compare(rows, args.rounds, "aioble")
    again_on_one_core()


if __name__ == "__main__":
    main()

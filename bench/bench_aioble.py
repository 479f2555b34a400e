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
import statistics
import time

from bumble import gatt
from bumble.device import Device, Peer
from bumble.hci import OwnAddressType

import aioble
import bleradio
import bluetooth

SERVICE = "181A"
CHAR = "2A6E"
VALUE = bytes(range(20))


# --- raw Bumble ---------------------------------------------------------------------------


async def _raw_pair() -> tuple[Device, gatt.Characteristic, object, Peer, object]:
    devices = []
    for label in ("raw-peripheral", "raw-central"):
        transport = await bleradio.open_hci(bleradio.RadioConfig("virtual"), label=label)
        devices.append(Device.with_hci(label, None, transport.source, transport.sink))
    peripheral, central = devices
    char = gatt.Characteristic(
        CHAR,
        gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
        gatt.Characteristic.READABLE,
        VALUE,
    )
    peripheral.add_service(gatt.Service(SERVICE, [char]))
    for device in devices:
        await device.power_on()
    await peripheral.start_advertising(own_address_type=OwnAddressType.PUBLIC)
    central_conn = await central.connect(
        peripheral.public_address, own_address_type=OwnAddressType.PUBLIC
    )
    peripheral_conn = next(iter(peripheral.connections.values()))
    peer = Peer(central_conn)
    await peer.discover_services()
    await peer.discover_characteristics()
    proxy = peer.get_characteristics_by_uuid(gatt.UUID(CHAR))[0]
    return peripheral, char, peripheral_conn, peer, proxy


async def _raw_notifications(count: int) -> float:
    peripheral, char, conn, peer, proxy = await _raw_pair()
    done = asyncio.Event()
    received = 0

    def on_value(_: bytes) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    await peer.subscribe(proxy, on_value)
    start = time.perf_counter()
    for _ in range(count):
        await peripheral.notify_subscriber(conn, char, VALUE)
    await done.wait()
    return count / (time.perf_counter() - start)


async def _raw_reads(count: int) -> float:
    _, _, _, peer, proxy = await _raw_pair()
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
    print(f"{'measure':<34} {'raw Bumble':>12} {'aioble':>12} {'ratio':>7}")
    for name, raw, ours, count in rows:
        # Interleaved, so that a machine whose load drifts affects both sides alike; the
        # ratio shown is the median of the per-round ratios.
        raw_rates, our_rates = [], []
        for _ in range(args.rounds):
            raw_rates.append(raw(count))
            our_rates.append(ours(count))
        ratio = statistics.median(o / r for o, r in zip(our_rates, raw_rates, strict=True))
        print(
            f"{name:<34} {statistics.median(raw_rates):>12,.0f} "
            f"{statistics.median(our_rates):>12,.0f} {ratio:>6.2f}x"
        )


if __name__ == "__main__":
    main()

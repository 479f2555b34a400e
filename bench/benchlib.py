"""What the GATT benchmarks share: a raw Bumble pair on bleradio's in-process virtual link,
the interleaved comparison they print, and the second run of it on one core. (Imported by
the scripts beside it.)"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bumble import gatt
from bumble.device import Device, Peer
from bumble.hci import OwnAddressType

import bleradio
from bluetooth._cpu import ENV_CPU, pin_from_env

# The second run (AIOBLE_CPU set): the whole process on that core from the start, raw
# Bumble's rounds too (bluetooth would only move it once its first radio starts).
pin_from_env()

SERVICE = "181A"
CHAR = "2A6E"


async def raw_pair(
    properties: gatt.Characteristic.Properties, permissions: int, value: bytes
) -> tuple[Device, Device, gatt.Characteristic, object, Peer, object]:
    """Two raw Bumble devices, connected, the central having discovered the peripheral's
    one characteristic: (peripheral, central, characteristic, peripheral's connection,
    central's peer, the characteristic's proxy)."""
    devices = []
    for label in ("raw-peripheral", "raw-central"):
        transport = await bleradio.open_hci(bleradio.RadioConfig("virtual"), label=label)
        devices.append(Device.with_hci(label, None, transport.source, transport.sink))
    peripheral, central = devices
    char = gatt.Characteristic(CHAR, properties, permissions, value)
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
    return peripheral, central, char, peripheral_conn, peer, proxy


Row = tuple[str, Callable[[int], float], Callable[[int], float], int]


def arrivals(count: int) -> tuple[asyncio.Event, Callable[[Any], None]]:
    """An event set once ``count`` values have arrived, and the callback that counts them
    (a subscriber's ``on_value``)."""
    done = asyncio.Event()
    received = 0

    def on_value(_: Any) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    return done, on_value


def compare(rows: Sequence[Row], rounds: int, ours: str) -> None:
    """Print, per row (name, raw, ours, count), the median rate of each side and the median
    of the per-round ratios. Rounds alternate, so that a machine whose load drifts affects
    both sides alike."""
    print(f"{'measure':<36} {'raw Bumble':>12} {ours:>12} {'ratio':>7}")
    for name, raw, our, count in rows:
        raw_rates, our_rates = [], []
        for _ in range(rounds):
            raw_rates.append(raw(count))
            our_rates.append(our(count))
        ratio = statistics.median(o / r for o, r in zip(our_rates, raw_rates, strict=True))
        print(
            f"{name:<36} {statistics.median(raw_rates):>12,.0f} "
            f"{statistics.median(our_rates):>12,.0f} {ratio:>6.2f}x"
        )


def again_on_one_core() -> None:
    """Run this benchmark again, in a child process on one core (``AIOBLE_CPU=auto``, raw
    Bumble there too), and print its table under a heading; nothing if this is that run.

    CPython runs one thread at a time, and each BLE operation here crosses threads: on this
    machine a thread woken on the other, idle core takes tens of microseconds to run."""
    if os.environ.get(ENV_CPU, "").strip() not in ("", "all"):
        return
    print(f"\non one core ({ENV_CPU}=auto, both sides):", flush=True)
    subprocess.run([sys.executable, *sys.argv], env={**os.environ, ENV_CPU: "auto"}, check=True)

"""What the GATT benchmarks share: a raw Bumble pair on bleradio's in-process virtual link,
and the interleaved comparison they print. (Imported by the scripts beside it.)"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from bumble import gatt
from bumble.device import Device, Peer
from bumble.hci import OwnAddressType

import bleradio

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

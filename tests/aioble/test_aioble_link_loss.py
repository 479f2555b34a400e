"""Link loss through aioble on the air-time radio: a peripheral moved out of range while
the central awaits a read, and a reconnect loop once it comes back (the medium's controls
called from the test's thread)."""

import asyncio
from typing import Any

import pytest
from aioble_support import Pair

import aioble
import bluetooth

SVC = bluetooth.UUID(0x181A)
CHR = bluetooth.UUID(0x2A6E)


@pytest.mark.air_time
def test_a_read_raises_device_disconnected_out_of_range_and_the_loop_reconnects(
    ble_devices: Any,
) -> None:
    medium = ble_devices.medium
    pair = Pair(*ble_devices("peripheral", "central"))
    medium.move("peripheral", (0, 0))
    medium.move("central", (2, 0))

    async def serve() -> None:
        service = aioble.Service(SVC)
        aioble.Characteristic(service, CHR, read=True, initial=b"21.5")
        aioble.register_services(service)
        while True:
            connection = await aioble.advertise(20_000, name="p")
            await connection.disconnected(timeout_ms=None)

    async def collect(events: list[str]) -> None:
        address = pair.call(pair.p, aioble.config, "mac")
        while len([e for e in events if e == "connected"]) < 2:
            try:
                connection = await aioble.Device(*address).connect(timeout_ms=2000)
            except TimeoutError:
                continue
            events.append("connected")
            async with connection:
                ch = await (await connection.service(SVC)).characteristic(CHR)
                try:
                    while True:
                        events.append(bytes(await ch.read(timeout_ms=None)).decode())
                        if len(events) == 3:  # connected, two readings: walk away
                            medium.move("peripheral", (10_000, 0))
                        await asyncio.sleep(0.05)
                        if events.count("connected") == 2 and len(events) >= 6:
                            return
                except aioble.DeviceDisconnectedError:
                    events.append("lost")
                    medium.move("peripheral", (1, 0))  # back in range

    async def main() -> list[str]:
        server = pair.on(pair.p, serve)
        events: list[str] = []
        try:
            await asyncio.wait_for(pair.on(pair.c, collect, events), 30)
        finally:
            server.cancel()
        return events

    try:
        events = asyncio.run(main())
    finally:
        pair.stop()
    assert events[:3] == ["connected", "21.5", "21.5"]
    assert events[3:5] == ["lost", "connected"], events
    assert events[5] == "21.5"

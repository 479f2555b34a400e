# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: stop() and restart, three times in one program. The peripheral's services and
# values come back by themselves, with the same address; every in-flight wait unwinds.
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    characteristic = aioble.Characteristic(
        service, CHAR_UUID, read=True, write=True, notify=True, initial="value0"
    )
    aioble.register_services(service)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    address = aioble.config("mac")
    for cycle in range(3):
        connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
        print("cycle", cycle, "connected")
        await characteristic.written(timeout_ms=TIMEOUT_MS)
        print("written", characteristic.read())
        # A wait in flight when the radio goes off raises its usual exception.
        waiting = asyncio.ensure_future(characteristic.written())
        await asyncio.sleep(0.1)
        aioble.stop()
        try:
            await waiting
        except aioble.DeviceDisconnectedError:
            print("written() unwound")
        print("connected after stop", connection.is_connected())
        print("value kept", characteristic.read())
        multitest.broadcast(f"stopped{cycle}")
        multitest.wait(f"restart{cycle}")
        print("same address", aioble.config("mac") == address)


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    for cycle in range(3):
        connection = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
        print("cycle", cycle, "connected")
        ch = await (await connection.service(SERVICE_UUID)).characteristic(CHAR_UUID)
        print("read", await ch.read(timeout_ms=TIMEOUT_MS))
        await ch.write(f"value{cycle + 1}", response=True, timeout_ms=TIMEOUT_MS)
        try:
            await ch.notified()
        except aioble.DeviceDisconnectedError:
            print("notified() unwound by the peer's stop")
        multitest.wait(f"stopped{cycle}")
        aioble.stop()
        multitest.broadcast(f"restart{cycle}")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

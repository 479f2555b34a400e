# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: advertising built from services, name, appearance and manufacturer data (the name
# overflows into the scan response), seen by an active scan; then a non-connectable one.
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

UUID16 = bluetooth.UUID(0x181A)
UUID128 = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
NAME = "aioble-multitest-dev"


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    print("advertise")
    try:
        await aioble.advertise(
            20_000,
            name=NAME,
            services=[UUID16, UUID128],
            appearance=0x0341,
            manufacturer=(0x02E5, b"mpy"),
            timeout_ms=TIMEOUT_MS,
        )
    except asyncio.TimeoutError:
        print("advertise timeout")
    multitest.wait("phase2")
    print("advertise non-connectable")
    try:
        await aioble.advertise(20_000, name="beacon", connectable=False, timeout_ms=2000)
    except asyncio.TimeoutError:
        print("advertise timeout")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def find(name):
    async with aioble.scan(TIMEOUT_MS, 20_000, 20_000, active=True) as scanner:
        async for result in scanner:
            if result.device.addr == BDADDR[1] and result.name() == name:
                return result
    return None


async def instance1_task():
    multitest.next()
    result = await find(NAME)
    print("found", result is not None)
    print("name", result.name())
    print("services", sorted(result.services()))
    print("manufacturer", list(result.manufacturer()))
    print("manufacturer filtered", list(result.manufacturer(0x1234)))
    print("connectable", result.connectable)
    print("name in scan response", NAME.encode() in result.resp_data)
    multitest.broadcast("phase2")
    result = await find("beacon")
    print("found beacon", result is not None)
    print("connectable", result.connectable)


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

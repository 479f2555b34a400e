# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: write capture keeps every write, in order across characteristics, while the
# peripheral's program is blocked in time.sleep (the stack keeps acknowledging the writes);
# without capture, written() reports the newest write only.
import asyncio
import time

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR1_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444441")
CHAR2_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444442")
PLAIN_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444443")

WRITES = [(1, "a1"), (2, "b1"), (1, "a2"), (1, "a3"), (2, "b2"), (2, "b3"), (1, "a4")]


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    char1 = aioble.Characteristic(
        service, CHAR1_UUID, write=True, write_no_response=True, capture=True
    )
    char2 = aioble.Characteristic(service, CHAR2_UUID, write=True, capture=True)
    plain = aioble.Characteristic(service, PLAIN_UUID, write=True)
    aioble.register_services(service)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    print("connected")
    multitest.wait("writing")
    # The program is blocked; the central writes meanwhile.
    time.sleep(1.5)
    chars = {1: char1, 2: char2}
    for number, _ in WRITES:
        conn, value = await chars[number].written(timeout_ms=TIMEOUT_MS)
        print(f"char{number}", value, conn is connection)
    multitest.wait("plain")
    time.sleep(0.5)
    conn = await plain.written(timeout_ms=TIMEOUT_MS)
    print("plain", plain.read(), conn is connection)
    await connection.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    connection = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    print("connected")
    svc = await connection.service(SERVICE_UUID)
    chars = {1: await svc.characteristic(CHAR1_UUID), 2: await svc.characteristic(CHAR2_UUID)}
    plain = await svc.characteristic(PLAIN_UUID)
    multitest.broadcast("writing")
    for number, value in WRITES:
        # char1 without response, char2 with: the order holds across both.
        await chars[number].write(value, response=number == 2, timeout_ms=TIMEOUT_MS)
    print("wrote", len(WRITES))
    multitest.broadcast("plain")
    for value in ("p1", "p2", "p3"):
        await plain.write(value, response=True, timeout_ms=TIMEOUT_MS)
    await asyncio.sleep(1)
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

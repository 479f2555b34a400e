# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: descriptors (a user descriptor, read and written; the stack's CCCD, read back) and
# subscribe / unsubscribe with write(send_update=True).
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
USER_DESC_UUID = bluetooth.UUID(0x2901)
CCCD_UUID = bluetooth.UUID(0x2902)


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    characteristic = aioble.Characteristic(
        service, CHAR_UUID, read=True, notify=True, indicate=True
    )
    descriptor = aioble.Descriptor(
        characteristic, USER_DESC_UUID, read=True, write=True, initial="temperature"
    )
    aioble.register_services(service)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    print("connected")
    await descriptor.written(timeout_ms=TIMEOUT_MS)
    print("descriptor written", descriptor.read())
    for i, step in enumerate(("notify", "indicate", "none", "notify again")):
        multitest.wait(step)
        characteristic.write(f"update{i}", send_update=True)
        print("sent update", i)
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
    ch = await svc.characteristic(CHAR_UUID)
    print("descriptors", sorted([d.uuid async for d in ch.descriptors()]))
    user = await ch.descriptor(USER_DESC_UUID)
    print("user descriptor", await user.read(timeout_ms=TIMEOUT_MS))
    await user.write("celsius", timeout_ms=TIMEOUT_MS)
    cccd = await ch.descriptor(CCCD_UUID)
    print("cccd", await cccd.read(timeout_ms=TIMEOUT_MS))

    await ch.subscribe(notify=True)
    print("cccd", await cccd.read(timeout_ms=TIMEOUT_MS))
    multitest.broadcast("notify")
    print("notified", await ch.notified(timeout_ms=TIMEOUT_MS))

    await ch.subscribe(notify=False, indicate=True)
    print("cccd", await cccd.read(timeout_ms=TIMEOUT_MS))
    multitest.broadcast("indicate")
    print("indicated", await ch.indicated(timeout_ms=TIMEOUT_MS))

    await ch.subscribe(notify=False)
    print("cccd", await cccd.read(timeout_ms=TIMEOUT_MS))
    multitest.broadcast("none")
    try:
        await ch.notified(timeout_ms=500)
    except asyncio.TimeoutError:
        print("no notification when unsubscribed")

    await ch.subscribe(notify=True)
    multitest.broadcast("notify again")
    print("notified", await ch.notified(timeout_ms=TIMEOUT_MS))
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

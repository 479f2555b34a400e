# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: a burst of notifications. notified() keeps board semantics (the newest value); the
# opt-in notifications() queue receives every one, in order, and counts what overflowed.
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000
BURST = 50

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    characteristic = aioble.Characteristic(service, CHAR_UUID, read=True, notify=True)
    aioble.register_services(service)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    print("connected")
    for phase in ("burst1", "burst2"):
        multitest.wait(phase)
        for i in range(BURST):
            characteristic.notify(connection, b"%s-%d" % (phase.encode(), i))
        print("sent", phase)
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
    ch = await (await connection.service(SERVICE_UUID)).characteristic(CHAR_UUID)
    async with ch.notifications(max_len=BURST) as everything:
        with ch.notifications(max_len=10) as small:
            await ch.subscribe(notify=True)
            multitest.broadcast("burst1")
            got = [await everything.get(timeout_ms=TIMEOUT_MS) for _ in range(BURST)]
            print("all in order", got == [b"burst1-%d" % i for i in range(BURST)])
            # Each value reaches the queues one after the other: let the last one land in
            # `small` too before counting.
            await asyncio.sleep(0.2)
            # The slow reader sees only the newest value.
            print("newest", await ch.notified(timeout_ms=TIMEOUT_MS))
            first = [await small.get() for _ in range(len(small))]
            print("small kept the first", first == [b"burst1-%d" % i for i in range(10)])
            print("small dropped", small.dropped)
        multitest.broadcast("burst2")
        n = 0
        async for value in everything:
            n += 1
            if n == BURST:
                print("second burst, last", value)
                break
        print("dropped", everything.dropped)
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

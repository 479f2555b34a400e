# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: characteristic read, write, notify and indicate, both ways over one connection
# (each side is a GATT server and a GATT client of the other).
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
CENTRAL_SERVICE_UUID = bluetooth.UUID(0x181A)
CENTRAL_CHAR_UUID = bluetooth.UUID(0x2A6E)


# Acting in peripheral role.
async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    characteristic = aioble.Characteristic(
        service, CHAR_UUID, read=True, write=True, notify=True, indicate=True
    )
    aioble.register_services(service)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()

    characteristic.write("periph0")
    print("advertise")
    connection = await aioble.advertise(
        20_000, adv_data=b"\x02\x01\x06\x04\xffMPY", timeout_ms=TIMEOUT_MS
    )
    print("connected")

    # The central reads "periph0", then we change the value.
    multitest.wait("read0")
    characteristic.write("periph1")
    multitest.broadcast("written1")

    # The central writes; we see the connection and the value.
    conn = await characteristic.written(timeout_ms=TIMEOUT_MS)
    print("written", conn is connection, characteristic.read())

    # Notify and indicate the central (it waits before it asks for the next).
    print("notify")
    characteristic.notify(connection, "periph2")
    multitest.wait("notified2")
    print("indicate")
    await characteristic.indicate(connection, "periph3", timeout_ms=TIMEOUT_MS)
    print("indicate acked")

    # Now the other way: we are the client of the central's service.
    svc = await connection.service(CENTRAL_SERVICE_UUID)
    ch = await svc.characteristic(CENTRAL_CHAR_UUID)
    print("client read", await ch.read(timeout_ms=TIMEOUT_MS))
    await ch.write("from-periph", response=True, timeout_ms=TIMEOUT_MS)
    print("client wrote")
    print("client notified", await ch.notified(timeout_ms=TIMEOUT_MS))
    print("client indicated", await ch.indicated(timeout_ms=TIMEOUT_MS))

    await connection.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


# Acting in central role.
async def instance1_task():
    service = aioble.Service(CENTRAL_SERVICE_UUID)
    own = aioble.Characteristic(
        service,
        CENTRAL_CHAR_UUID,
        read=True,
        write=True,
        notify=True,
        indicate=True,
        initial="central0",
    )
    aioble.register_services(service)
    multitest.next()

    print("connect")
    device = aioble.Device(*BDADDR)
    connection = await device.connect(timeout_ms=TIMEOUT_MS)
    print("connected")

    svc = await connection.service(SERVICE_UUID)
    ch = await svc.characteristic(CHAR_UUID)
    print("read", await ch.read(timeout_ms=TIMEOUT_MS))
    multitest.broadcast("read0")
    multitest.wait("written1")
    print("read", await ch.read(timeout_ms=TIMEOUT_MS))

    print("write")
    await ch.write("central1", response=True, timeout_ms=TIMEOUT_MS)

    print("notified", await ch.notified(timeout_ms=TIMEOUT_MS))
    multitest.broadcast("notified2")
    print("indicated", await ch.indicated(timeout_ms=TIMEOUT_MS))

    # Serve the peripheral: it reads, writes, then we notify and indicate it.
    conn = await own.written(timeout_ms=TIMEOUT_MS)
    print("served write", conn is connection, own.read())
    own.notify(connection, "central2")
    await asyncio.sleep(0.1)
    await own.indicate(connection, "central3", timeout_ms=TIMEOUT_MS)
    print("served indicate acked")

    await asyncio.sleep(0.2)
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

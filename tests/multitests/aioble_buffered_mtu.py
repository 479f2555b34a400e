# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble: buffered characteristics (larger buffers, append mode) and MTU exchange.
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
BIG_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444444")
LOG_UUID = bluetooth.UUID("00000000-1111-2222-3333-555555555555")


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    big = aioble.BufferedCharacteristic(
        service, BIG_UUID, read=True, write=True, max_len=200, initial=b"x" * 100
    )
    log = aioble.BufferedCharacteristic(
        service, LOG_UUID, write=True, max_len=64, append=True, capture=False
    )
    aioble.register_services(service)
    aioble.config(mtu=100)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    print("connected", connection.mtu)
    multitest.wait("mtu")
    print("mtu", connection.mtu)
    await big.written(timeout_ms=TIMEOUT_MS)
    print("big", len(big.read()))
    multitest.wait("logged")
    print("log", log.read())
    print("log again", log.read())
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
    print("connected", connection.mtu)
    svc = await connection.service(SERVICE_UUID)
    big = await svc.characteristic(BIG_UUID)
    # With the default MTU a read returns MTU - 1 bytes.
    print("read at 23", len(await big.read(timeout_ms=TIMEOUT_MS)))
    print("exchange", await connection.exchange_mtu(150, timeout_ms=TIMEOUT_MS))
    multitest.broadcast("mtu")
    print("read at 100", len(await big.read(timeout_ms=TIMEOUT_MS)))
    await big.write(b"y" * 150, response=True, timeout_ms=TIMEOUT_MS)
    log = await svc.characteristic(LOG_UUID)
    for part in (b"ab", b"cd", b"ef"):
        await log.write(part, response=True, timeout_ms=TIMEOUT_MS)
    multitest.broadcast("logged")
    await asyncio.sleep(0.2)
    await connection.disconnect()
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

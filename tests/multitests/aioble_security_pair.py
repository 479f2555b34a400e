# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble security, Just Works: characteristics that need an encrypted (or authenticated) link
# are denied with ATT errors 0x0F / 0x05 before pairing; pairing encrypts the link on both
# sides and unlocks the encrypted one, not the authenticated one.
import asyncio

import aioble
import bluetooth

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
OPEN_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444441")
ENCRYPTED_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444442")
AUTHENTICATED_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444443")


def state(connection):
    return (connection.encrypted, connection.authenticated, connection.bonded, connection.key_size)


async def instance0_task():
    service = aioble.Service(SERVICE_UUID)
    aioble.Characteristic(service, OPEN_UUID, read=True, initial="open")
    encrypted = aioble.Characteristic(
        service, ENCRYPTED_UUID, read_encrypted=True, write_encrypted=True, initial="secret"
    )
    aioble.Characteristic(service, AUTHENTICATED_UUID, read_authenticated=True, initial="top")
    aioble.register_services(service)
    aioble.config(bond=True, le_secure=True)
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    print("connected", state(connection))
    # The central writes the encrypted characteristic once paired.
    await encrypted.written(timeout_ms=TIMEOUT_MS)
    print("written", encrypted.read(), state(connection))
    await connection.disconnected(timeout_ms=TIMEOUT_MS)
    print("disconnected", state(connection))


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def read(characteristic):
    try:
        return await characteristic.read(timeout_ms=TIMEOUT_MS)
    except aioble.GattError as e:
        return f"GattError 0x{e._status:02x}"


async def instance1_task():
    multitest.next()
    connection = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    service = await connection.service(SERVICE_UUID)
    chars = [await service.characteristic(u) for u in (OPEN_UUID, ENCRYPTED_UUID)]
    chars.append(await service.characteristic(AUTHENTICATED_UUID))
    print("before", state(connection), [await read(c) for c in chars])
    await connection.pair(timeout_ms=TIMEOUT_MS)
    print("paired", state(connection))
    print("after", [await read(c) for c in chars])
    await chars[1].write("changed", response=True, timeout_ms=TIMEOUT_MS)
    await asyncio.sleep(0.1)
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected", state(connection))


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

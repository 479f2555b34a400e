# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble bonding: both sides keep their bond in a secrets file (in a temporary folder).
# 1. pair and bond; 2. both aioble.stop() and restart; 3. both processes restart (a board
# reset: the file is all that remains). After each restart the central's pair() re-encrypts
# with the stored keys: no pairing, the files do not change, the encrypted value reads.
#
# The reset re-enters instanceN(), told apart by a global SET before it. A rebooted instance
# keeps its radio's label, so its address: a bond is with an address.
import asyncio
import os
import tempfile

import machine

import aioble
import bluetooth
from aioble import security

TIMEOUT_MS = 5000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444442")


def secrets_path(name):
    return os.path.join(tempfile.mkdtemp(prefix="aioble-bond-"), name)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def remove(path):
    os.remove(path)
    os.rmdir(os.path.dirname(path))


def describe(path):
    return "private" if os.stat(path).st_mode & 0o777 == 0o600 else "readable by others"


def register():
    service = aioble.Service(SERVICE_UUID)
    aioble.Characteristic(service, CHAR_UUID, read_encrypted=True, initial="bonded value")
    aioble.register_services(service)
    aioble.config(bond=True, le_secure=True)


async def serve_once():
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    await connection.disconnected(timeout_ms=TIMEOUT_MS)
    return connection


async def instance0_task():
    path = secrets_path("peripheral.json")
    security.load_secrets(path)
    register()
    multitest.globals(BDADDR=aioble.config("mac"), PERIPHERAL_SECRETS=path)
    multitest.next()
    connection = await serve_once()
    print("bonded", connection.bonded, "file", describe(path))
    saved = read_file(path)
    # 2. aioble.stop() and restart.
    aioble.stop()
    multitest.broadcast("peripheral stopped")
    connection = await serve_once()
    print("after stop: bonded", connection.bonded, "file unchanged", read_file(path) == saved)
    # 3. A reset, once the central has reset.
    multitest.wait("central reset")
    multitest.globals(PERIPHERAL_RESET=True)
    multitest.expect_reboot("instance0", 0)
    machine.reset()


async def instance0_after_reset():
    path = PERIPHERAL_SECRETS
    saved = read_file(path)
    security.load_secrets(path)
    register()
    print("reset: same address", aioble.config("mac") == BDADDR)
    serving = asyncio.ensure_future(serve_once())
    await asyncio.sleep(0)
    multitest.broadcast("peripheral reset")
    connection = await serving
    print("after reset: bonded", connection.bonded, "file unchanged", read_file(path) == saved)
    remove(path)


def instance0():
    try:
        if "PERIPHERAL_RESET" in globals():
            asyncio.run(instance0_after_reset())
        else:
            asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def connect_and_pair(path):
    saved = read_file(path) if os.path.exists(path) else None
    connection = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
    await connection.pair(timeout_ms=TIMEOUT_MS)
    service = await connection.service(SERVICE_UUID)
    characteristic = await service.characteristic(CHAR_UUID)
    value = await characteristic.read(timeout_ms=TIMEOUT_MS)
    print("encrypted", connection.encrypted, "bonded", connection.bonded, "read", value)
    if saved is not None:
        print("file unchanged", read_file(path) == saved)
    await connection.disconnect(timeout_ms=TIMEOUT_MS)


async def instance1_task():
    path = secrets_path("central.json")
    security.load_secrets(path)
    multitest.globals(CENTRAL_SECRETS=path)
    multitest.next()
    await connect_and_pair(path)
    print("file", describe(path))
    # 2. aioble.stop() and restart, both sides.
    multitest.wait("peripheral stopped")
    aioble.stop()
    await connect_and_pair(path)
    # 3. A reset: this process ends, a new one starts with only the file.
    multitest.globals(CENTRAL_RESET=True)
    multitest.expect_reboot("instance1", 0)
    machine.reset()


async def instance1_after_reset():
    security.load_secrets(CENTRAL_SECRETS)
    multitest.broadcast("central reset")
    multitest.wait("peripheral reset")
    await connect_and_pair(CENTRAL_SECRETS)
    remove(CENTRAL_SECRETS)


def instance1():
    try:
        if "CENTRAL_RESET" in globals():
            asyncio.run(instance1_after_reset())
        else:
            asyncio.run(instance1_task())
    finally:
        aioble.stop()

# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble security with a person in the loop (played by the test through broadcasts). Two
# peripherals: one displays a passkey (the central types it: wrongly, then rightly), one asks
# to compare numbers (it rejects, then accepts). A failed pairing stores nothing, so each
# retry, on a new connection, pairs anew. Passkeys are random: only whether they matched is
# printed.
import asyncio
import sys

import aioble
import bluetooth
from aioble import security

try:
    # CPython only: the host stack's own warnings ("pairing failure (...)", "connection ...
    # not found") reach stderr, at moments that vary; a board prints nothing of the kind.
    import logging

    logging.getLogger("bumble").setLevel(logging.ERROR)
except ImportError:
    pass

TIMEOUT_MS = 10000

SERVICE_UUID = bluetooth.UUID("A5A5A5A5-FFFF-9999-1111-5A5A5A5A5A5A")
CHAR_UUID = bluetooth.UUID("00000000-1111-2222-3333-444444444443")


def state(connection):
    return (connection.encrypted, connection.authenticated)


async def peripheral(io, name, answers):
    service = aioble.Service(SERVICE_UUID)
    aioble.Characteristic(service, CHAR_UUID, read_authenticated=True, initial="top secret")
    aioble.register_services(service)
    aioble.config(bond=True, le_secure=True, mitm=True, io=io)
    attempt = [0]

    # The peripheral's person: reads out what the display shows (and on which attempt);
    # says yes or no.
    def on_passkey(request):
        multitest.broadcast(f"shown {attempt[0]} {request.passkey}")
        if request.action == security.PASSKEY_NUMERIC_COMPARISON:
            return answers[attempt[0]]
        return None  # DISPLAY: show the passkey aioble chose (and answer with it)

    security.passkey_handler(on_passkey)
    multitest.globals(**{name: aioble.config("mac")})
    multitest.next()
    for attempt[0] in range(2):
        connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
        await connection.disconnected(timeout_ms=TIMEOUT_MS)
        print("connection done", state(connection))


def instance0():
    try:
        asyncio.run(peripheral(security.IO_DISPLAY_ONLY, "DISPLAY_ADDR", ()))
    finally:
        aioble.stop()


def instance1():
    try:
        asyncio.run(peripheral(security.IO_DISPLAY_YESNO, "YESNO_ADDR", (False, True)))
    finally:
        aioble.stop()


# The central's person reads the peripheral's display (its broadcast) for this attempt.
def read_display(attempt):
    while True:
        line = sys.stdin.readline().split()
        if line[:3] == ["BROADCAST", "shown", str(attempt)]:
            return int(line[3])


async def attempt(name, address, io, number, right):
    def on_passkey(request):
        shown = read_display(number)
        if request.action == security.PASSKEY_INPUT:
            return shown if right else (shown + 1) % 1_000_000
        if right:  # (when the peer says no, this may run or be cancelled first)
            print("numbers equal", request.passkey == shown)
        return True

    connection = await aioble.Device(*address).connect(timeout_ms=TIMEOUT_MS)
    try:
        await connection.pair(mitm=True, io=io, passkey=on_passkey, timeout_ms=TIMEOUT_MS)
        print(name, "paired", state(connection), "bonded", connection.bonded)
        service = await connection.service(SERVICE_UUID)
        characteristic = await service.characteristic(CHAR_UUID)
        print("read", await characteristic.read(timeout_ms=TIMEOUT_MS))
    except security.PairingError:
        print(name, "PairingError", state(connection), "connected", connection.is_connected())
    await connection.disconnect(timeout_ms=TIMEOUT_MS)


async def instance2_task():
    multitest.next()
    await attempt("wrong passkey", DISPLAY_ADDR, security.IO_KEYBOARD_ONLY, 0, False)
    await attempt("passkey", DISPLAY_ADDR, security.IO_KEYBOARD_ONLY, 1, True)
    await attempt("comparison rejected", YESNO_ADDR, security.IO_DISPLAY_YESNO, 0, False)
    await attempt("comparison", YESNO_ADDR, security.IO_DISPLAY_YESNO, 1, True)


def instance2():
    try:
        asyncio.run(instance2_task())
    finally:
        aioble.stop()

# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble L2CAP and stop(): three cycles of connect, open a channel, transfer, then
# aioble.stop() with a send() in flight on each side (neither reads). Every waiter raises
# L2CAPDisconnectedError; after the restart the radio listens and carries data again.
import asyncio

import aioble

TIMEOUT_MS = 5000
PSM = 0x80
MTU = 256


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    for cycle in range(3):
        # Listen before advertising: the central opens its channel as soon as it is connected,
        # which can come before l2cap_accept() runs here (it did under CPU load), and a PSM
        # nobody listens on is refused. The early channel waits for l2cap_accept(). In every
        # cycle: aioble.stop() ends the listening.
        aioble.l2cap.listen(PSM, MTU)
        connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
        channel = await connection.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
        buf = bytearray(64)
        n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
        print("cycle", cycle, "received", bytes(buf[:n]))
        await channel.send(f"reply {cycle}")
        # We stop with our own send() waiting for credits; the central's see the link go.
        multitest.wait(f"sending{cycle}")
        sending = asyncio.ensure_future(channel.send(bytes(1_000_000)))
        await asyncio.sleep(0.2)
        aioble.stop()
        try:
            await sending
        except aioble.L2CAPDisconnectedError:
            print("send unwound")
        print("channel open", channel.is_connected(), "link up", connection.is_connected())
        multitest.broadcast(f"stopped{cycle}")
        multitest.wait(f"restart{cycle}")


def instance0():
    try:
        asyncio.run(instance0_task())
    finally:
        aioble.stop()


async def instance1_task():
    multitest.next()
    for cycle in range(3):
        connection = await aioble.Device(*BDADDR).connect(timeout_ms=TIMEOUT_MS)
        channel = await connection.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS)
        await channel.send(f"hello {cycle}")
        buf = bytearray(64)
        n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
        print("cycle", cycle, "received", bytes(buf[:n]))
        # A send the peer never reads: it unwinds when the peer stops.
        sending = asyncio.ensure_future(channel.send(bytes(1_000_000)))
        await asyncio.sleep(0)
        multitest.broadcast(f"sending{cycle}")
        try:
            await sending
        except aioble.L2CAPDisconnectedError:
            print("send unwound")
        await channel.disconnected()
        multitest.wait(f"stopped{cycle}")
        await connection.disconnected(timeout_ms=TIMEOUT_MS)
        aioble.stop()
        multitest.broadcast(f"restart{cycle}")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

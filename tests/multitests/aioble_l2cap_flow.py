# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble L2CAP flow control: a reader that does not read stalls the sender (the data waits
# within the receive window, nothing is dropped); reading slowly lets it through in order.
# Then the refusals: no one listens on a PSM (2), the listener's backlog is full (4); and a
# channel disconnected mid-transfer ends the sender's send() with L2CAPDisconnectedError.
import asyncio

import aioble

TIMEOUT_MS = 5000
PSM = 0x80
MTU = 512
# More than the receive window (bluetooth gives a channel 64 kB): a reader that does not
# read stalls a sender of this much.
SIZE = 150_000


def payload(size):
    return bytes(i * 13 & 0xFF for i in range(size))


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    # Listen before advertising: the central opens its channel as soon as it is connected,
    # which can come before l2cap_accept() runs here (it did under CPU load), and a PSM
    # nobody listens on is refused. The early channel waits for l2cap_accept().
    aioble.l2cap.listen(PSM, MTU)
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    channel = await connection.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)

    # Not reading: the central's send() cannot finish.
    multitest.wait("sending")
    for _ in range(100):  # until the first SDUs are in (a few connection events)
        if channel.available():
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)
    held = channel.available()
    print("holding part of it", 0 < held < SIZE)
    multitest.broadcast("check")
    multitest.wait("stalled")

    # Reading slowly, in small pieces: every byte arrives, in order.
    buf = bytearray(500)
    out = bytearray()
    while len(out) < SIZE:
        n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
        out += buf[:n]
        await asyncio.sleep(0)
    print("received", len(out), out == payload(SIZE))

    # The refusals: the backlog takes four channels nobody accepts, then refuses.
    multitest.broadcast("refusals")
    multitest.wait("refused")

    # A transfer cut short: read a third, then close the channel.
    second = await connection.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
    got = 0
    while got < 10_000:
        got += await second.recvinto(buf, timeout_ms=TIMEOUT_MS)
    await second.disconnect(timeout_ms=TIMEOUT_MS)
    print("closed after", got >= 10_000)
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
    channel = await connection.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS)
    sending = asyncio.ensure_future(channel.send(payload(SIZE)))
    await asyncio.sleep(0)
    multitest.broadcast("sending")
    multitest.wait("check")
    print("send stalled", not sending.done())
    multitest.broadcast("stalled")
    await sending
    await channel.flush(TIMEOUT_MS)
    print("sent", SIZE)

    multitest.wait("refusals")
    try:
        await connection.l2cap_connect(0x90, MTU, timeout_ms=TIMEOUT_MS)
    except aioble.L2CAPConnectionError as e:
        print("no listener", e.args[0])
    backlog = []
    for _ in range(4):
        backlog.append(await connection.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS))
    try:
        await connection.l2cap_connect(PSM, MTU, timeout_ms=TIMEOUT_MS)
    except aioble.L2CAPConnectionError as e:
        print("backlog full", e.args[0])
    for extra in backlog[1:]:
        await extra.disconnect(timeout_ms=TIMEOUT_MS)
    multitest.broadcast("refused")

    # The first of the backlog is the one the peripheral accepts next.
    second = backlog[0]
    try:
        await second.send(bytes(500_000), timeout_ms=TIMEOUT_MS)
    except aioble.L2CAPDisconnectedError:
        print("send cut short")
    print("link up", connection.is_connected())
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

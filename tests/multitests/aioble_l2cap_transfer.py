# ruff: noqa: F821, UP041 - `multitest` and the SET globals are injected by the runner; board asyncio
# aioble L2CAP: a channel carries every payload size from 1 byte to the MTU, and larger
# sends cut into MTU-sized SDUs, both ways; a second channel opened by the other side runs
# beside the first (the peripheral listens and connects, the central connects and listens).
import asyncio

import aioble

TIMEOUT_MS = 5000
PSM = 0x80
PSM_BACK = 0x81
MTU = 256
SIZES = (1, 2, 3, 100, 254, 255, 256, 257, 511, 1000, 6000)


def payload(size, seed):
    return bytes((i * 7 + seed) & 0xFF for i in range(size))


async def receive(channel, size):
    buf = bytearray(100)
    out = bytearray()
    while len(out) < size:
        n = await channel.recvinto(buf, timeout_ms=TIMEOUT_MS)
        out += buf[:n]
    return bytes(out)


# Both sides run the same exchange: whoever sends first, the other echoes it reversed.
async def exchange(channel, first):
    for size in SIZES:
        data = payload(size, size)
        if first:
            _, echo = await asyncio.gather(channel.send(data), receive(channel, size))
            print("size", size, "echo ok", echo == data[::-1])
        else:
            got = await receive(channel, size)
            await channel.send(got[::-1])
            await channel.flush(TIMEOUT_MS)
            print("size", size, "received ok", got == data)


async def instance0_task():
    multitest.globals(BDADDR=aioble.config("mac"))
    multitest.next()
    # Listen before advertising: the central opens its channel as soon as it is connected,
    # which can come before l2cap_accept() runs here (it did under CPU load), and a PSM
    # nobody listens on is refused. The early channel waits for l2cap_accept().
    aioble.l2cap.listen(PSM, MTU)
    connection = await aioble.advertise(20_000, timeout_ms=TIMEOUT_MS)
    channel = await connection.l2cap_accept(PSM, MTU, timeout_ms=TIMEOUT_MS)
    print("accepted", channel.our_mtu, channel.peer_mtu)
    await exchange(channel, False)
    # A second channel, opened by us to the central, on another PSM.
    multitest.wait("listening")
    back = await connection.l2cap_connect(PSM_BACK, 128, timeout_ms=TIMEOUT_MS)
    print("connected back", back.our_mtu, back.peer_mtu)
    await exchange(back, True)
    await channel.send(b"first channel still open")
    await back.disconnect(timeout_ms=TIMEOUT_MS)
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
    print("connected", channel.our_mtu, channel.peer_mtu)
    await exchange(channel, True)
    accepting = asyncio.ensure_future(connection.l2cap_accept(PSM_BACK, 200, TIMEOUT_MS))
    await asyncio.sleep(0)
    multitest.broadcast("listening")
    back = await accepting
    print("accepted back", back.our_mtu, back.peer_mtu)
    await exchange(back, False)
    print("first channel", await receive(channel, 24))
    await back.disconnected(timeout_ms=TIMEOUT_MS)
    print("second channel closed", not back.is_connected(), channel.is_connected())
    await connection.disconnect(timeout_ms=TIMEOUT_MS)
    print("disconnected")


def instance1():
    try:
        asyncio.run(instance1_task())
    finally:
        aioble.stop()

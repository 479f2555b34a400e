"""aioble.l2cap: channels both ways, chunking, flow control, several channels, and every
exception path (two radios in one event loop)."""

import asyncio
from typing import Any

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth
from aioble import l2cap

PSM = 0x80
MTU = 512
# More than any receive window the stack gives a channel (bluetooth's is 64 kB): a reader
# that does not read stalls a sender of this much.
BIG = 400_000


def data(size: int, seed: int = 0) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(size))


async def channels(
    pair: Pair, psm: int = PSM, mtu: int = MTU, peer_mtu: int | None = None
) -> tuple[aioble.DeviceConnection, aioble.DeviceConnection, Any, Any]:
    """Connect; the central opens a channel the peripheral accepts. (p, c, p's, c's channel)."""
    p, c = await pair.connect()
    accepting = pair.on(pair.p, p.l2cap_accept, psm, peer_mtu or mtu, timeout_ms=5000)
    await asyncio.sleep(0)
    c_channel = await c.l2cap_connect(psm, mtu, timeout_ms=5000)
    p_channel = await accepting
    return p, c, p_channel, c_channel


async def receive(channel: Any, size: int, bufsize: int = 1000) -> bytes:
    buf = bytearray(bufsize)
    out = bytearray()
    while len(out) < size:
        n = await channel.recvinto(buf, timeout_ms=5000)
        out += buf[:n]
    return bytes(out)


def test_both_directions_every_size_up_to_the_mtu_and_beyond(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair, mtu=MTU, peer_mtu=300)
        assert (cch.our_mtu, cch.peer_mtu) == (MTU, 300)
        assert (pch.our_mtu, pch.peer_mtu) == (300, MTU)
        assert cch.psm == pch.psm == PSM
        for size in (1, 2, 100, 299, 300, 301, 511, 512, 513, 50_000):
            payload = data(size, size)
            # (concurrently: more than the receive window only goes out as it is read)
            _, received = await asyncio.gather(cch.send(payload), receive(pch, size))
            assert received == payload
            reply = payload[::-1]
            _, received = await asyncio.gather(pch.send(reply), receive(cch, size))
            assert received == reply
        assert pch.available() == 0 and cch.available() == 0

    run(main())


def test_chunk_size_str_and_available(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        await cch.send(data(70), chunk_size=7)
        await cch.send("text")
        await cch.flush()
        await until(lambda: pch.available() == 74)
        # recvinto() reads across SDUs, never more than the buffer holds.
        buf = bytearray(10)
        assert await pch.recvinto(buf) == 10 and bytes(buf) == data(10)
        assert await receive(pch, 60, 30) == data(70)[10:]
        assert await receive(pch, 4) == b"text"
        # Many small SDUs go out as the reader frees credits.
        _, received = await asyncio.gather(cch.send(data(3000), chunk_size=5), receive(pch, 3000))
        assert received == data(3000)
        with pytest.raises(ValueError):
            await cch.send(b"x", chunk_size=0)
        with pytest.raises(ValueError):
            await pch.recvinto(bytearray(0))

    run(main())


def test_a_slow_reader_stalls_the_sender_and_nothing_is_lost(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        payload = data(BIG)
        sending = asyncio.ensure_future(cch.send(payload))
        await until(lambda: pch.available() > 0)
        await asyncio.sleep(0.3)
        assert not sending.done()  # nobody reads: the sender waits for credits
        held = pch.available()
        assert 0 < held < BIG  # bounded by the receive window, not by the data
        # A send that makes no progress for timeout_ms gives up...
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(sending), 0.2)
        # ... and reading lets it finish, every byte in order.
        received = await receive(pch, len(payload), 700)
        await sending
        assert received == payload

    run(main())


def test_send_timeout_when_the_peer_does_not_read(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        with pytest.raises(asyncio.TimeoutError):
            await cch.send(data(BIG), timeout_ms=200)
        with pytest.raises(asyncio.TimeoutError):
            await cch.flush(timeout_ms=100)
        # Still usable: reading frees the window and flush() completes.
        flushing = asyncio.ensure_future(cch.flush(timeout_ms=5000))
        buf = bytearray(65536)
        while not flushing.done():
            if pch.available():
                await pch.recvinto(buf)
            await asyncio.sleep(0.01)
        await flushing

    run(main())


def test_several_channels_both_ways_while_listening(pair: Pair) -> None:
    """More than one channel per connection, opened by either side, on one PSM and two."""

    async def main() -> None:
        p, c, p1, c1 = await channels(pair)
        p2, c2 = await asyncio.gather(
            pair.on(pair.p, p.l2cap_accept, PSM, MTU, timeout_ms=5000),
            c.l2cap_connect(PSM, MTU, timeout_ms=5000),
        )
        # The central listens too, and the peripheral connects to it.
        c3, p3 = await asyncio.gather(
            pair.on(pair.c, c.l2cap_accept, 0x81, 256, timeout_ms=5000),
            pair.on(pair.p, p.l2cap_connect, 0x81, 256, timeout_ms=5000),
        )
        assert len({c1._cid, c2._cid, c3._cid}) == 3
        for i, sender in enumerate((c1, c2, p3, p1)):
            await sender.send(f"on channel {i}")
        assert await receive(p1, 12) == b"on channel 0"
        assert await receive(p2, 12) == b"on channel 1"
        assert await receive(c3, 12) == b"on channel 2"
        assert await receive(c1, 12) == b"on channel 3"
        await c2.disconnect()
        # The peer hears of the close on its own IRQ thread, a moment later.
        await p2.disconnected(timeout_ms=5000)
        assert not p2.is_connected()
        await c1.send(b"still here")
        assert await receive(p1, 10) == b"still here"

    run(main())


def test_a_channel_opened_before_accept_waits_in_the_backlog(pair: Pair) -> None:
    async def main() -> None:
        pair.call(pair.p, l2cap.listen, PSM, MTU)
        p, c = await pair.connect()
        cch = await c.l2cap_connect(PSM, MTU)
        await cch.send(b"early")
        await asyncio.sleep(0.1)
        pch = await pair.on(pair.p, p.l2cap_accept, PSM, MTU, timeout_ms=100)
        assert await receive(pch, 5) == b"early"

    run(main())


def test_refused_no_listener_and_full_backlog(pair: Pair) -> None:
    async def main() -> None:
        p, c = await pair.connect()
        with pytest.raises(aioble.L2CAPConnectionError) as info:
            await c.l2cap_connect(0x90, MTU)
        assert info.value.status == info.value.args[0] == 2  # LE_PSM not supported
        assert type(info.value.status) is int  # as on a board, whatever the stack gives
        pair.call(pair.p, l2cap.listen, PSM, MTU)
        opened = [await c.l2cap_connect(PSM, MTU) for _ in range(4)]
        with pytest.raises(aioble.L2CAPConnectionError) as info:
            await c.l2cap_connect(PSM, MTU)  # nobody accepts: the backlog is full
        assert info.value.status == 4
        assert all(ch.is_connected() for ch in opened) and c.is_connected()

    run(main())


def test_a_program_refusing_in_its_own_irq_handler(pair: Pair) -> None:
    async def main() -> None:
        p, c = await pair.connect()
        handlers = aioble.core._irq_handlers[22]
        handlers.insert(0, lambda radio, event, data: 6 if radio.ble is pair.p else None)
        try:
            with pytest.raises(aioble.L2CAPConnectionError) as info:
                await pair.on(pair.c, _connect_with_listener, pair, p, c)
            assert info.value.status == 6
        finally:
            handlers.pop(0)

    run(main())


async def _connect_with_listener(pair: Pair, p: Any, c: Any) -> Any:
    pair.call(pair.p, l2cap.listen, PSM, MTU)
    return await c.l2cap_connect(PSM, MTU)


def test_connect_and_accept_timeouts_leave_nothing_behind(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        p, c = await pair.connect()
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.p, p.l2cap_accept, PSM, MTU, timeout_ms=100)
        # A connect answered after its caller gave up: the channel is closed at once.
        ble_connect = pair.c.l2cap_connect
        calls: list = []
        monkeypatch.setattr(pair.c, "l2cap_connect", lambda *a: calls.append(a))
        with pytest.raises(asyncio.TimeoutError):
            await c.l2cap_connect(PSM, MTU, timeout_ms=100)
        ble_connect(*calls[0])  # the stack only now gets to it
        await until(lambda: not c._l2cap.connects)
        await until(lambda: not c._l2cap.channels and not p._l2cap.backlog[0].is_connected())
        monkeypatch.undo()
        # And the next connect works.
        await c.disconnect()
        p, c, pch, cch = await channels(pair)
        await cch.send(b"ok")
        assert await receive(pch, 2) == b"ok"

    run(main())


def test_reopen_a_channel_on_the_same_link(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        await cch.disconnect()
        cch, pch = await asyncio.gather(
            c.l2cap_connect(PSM, MTU), pair.on(pair.p, p.l2cap_accept, PSM, MTU, timeout_ms=2000)
        )
        await cch.send(b"hello")
        assert await receive(pch, 5) == b"hello"

    run(main())


def test_peer_disconnects_unread_data_is_still_read_then_the_error(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        await cch.send(b"last words")
        await cch.flush()
        async with cch:
            pass  # leaving the block disconnects
        assert not cch.is_connected()
        await pch.disconnected()
        assert pch.available() == 10
        assert await receive(pch, 10) == b"last words"
        with pytest.raises(aioble.L2CAPDisconnectedError):
            await pch.recvinto(bytearray(10))
        with pytest.raises(aioble.L2CAPDisconnectedError):
            pch.available()
        with pytest.raises(aioble.L2CAPDisconnectedError):
            await pch.send(b"x")
        with pytest.raises(aioble.L2CAPDisconnectedError):
            await cch.flush()
        await cch.disconnect()  # already closed: returns at once
        assert p.is_connected() and c.is_connected()

    run(main())


@pytest.mark.parametrize("who", ["peer channel", "own channel", "peer link", "own link", "stop"])
@pytest.mark.parametrize("op", ["recvinto", "send", "flush"])
def test_closed_mid_operation(pair: Pair, who: str, op: str) -> None:
    """Whoever closes the channel, or the link under it: the waiter raises
    L2CAPDisconnectedError."""

    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        if op == "recvinto":
            task = asyncio.ensure_future(cch.recvinto(bytearray(100)))
        elif op == "send":
            task = asyncio.ensure_future(cch.send(data(BIG)))
        else:
            # flush() waits for a send the reader never lets finish.
            sending = asyncio.ensure_future(cch.send(data(BIG)))
            task = asyncio.ensure_future(cch.flush())
        await asyncio.sleep(0.1)
        assert not task.done()
        if who == "peer channel":
            await pch.disconnect()
        elif who == "own channel":
            await cch.disconnect()
        elif who == "peer link":
            await p.disconnect()
        elif who == "own link":
            await c.disconnect()
        else:
            pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.L2CAPDisconnectedError):
            await asyncio.wait_for(task, 5)
        if op == "flush":
            with pytest.raises(aioble.L2CAPDisconnectedError):
                await sending
        assert not cch.is_connected()
        await cch.disconnected()

    run(main())


def test_stop_closes_channels_and_fails_accept_and_connect(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        await cch.send(b"unread")
        await until(lambda: pch.available() == 6)
        accepting = pair.on(pair.p, p.l2cap_accept, 0x81, MTU)
        monkeypatch.setattr(pair.c, "l2cap_connect", lambda *a: None)
        connecting = asyncio.ensure_future(c.l2cap_connect(0x82, MTU, timeout_ms=None))
        await asyncio.sleep(0.05)
        pair.call(pair.p, aioble.stop)
        pair.call(pair.c, aioble.stop)
        for task in (accepting, connecting):
            with pytest.raises(aioble.DeviceDisconnectedError):
                await task
        # What the radio held went with it.
        with pytest.raises(aioble.L2CAPDisconnectedError):
            pch.available()
        with pytest.raises(aioble.L2CAPDisconnectedError):
            await pch.recvinto(bytearray(10))
        with pytest.raises(aioble.DeviceDisconnectedError):
            await c.l2cap_connect(PSM, MTU)
        monkeypatch.undo()
        # Restarted: listening again and carrying data.
        p, c, pch, cch = await channels(pair)
        await cch.send(b"back")
        assert await receive(pch, 4) == b"back"

    run(main())


def test_disconnected_timeout_and_disconnect_of_a_dead_link(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        with pytest.raises(asyncio.TimeoutError):
            await cch.disconnected(timeout_ms=100)
        await c.disconnect()
        await cch.disconnected()
        await cch.disconnect()
        with pytest.raises(aioble.DeviceDisconnectedError):
            await c.l2cap_connect(PSM, MTU)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await p.l2cap_accept(PSM, MTU)

    run(main())


def test_concurrent_sends_do_not_interleave_and_send_recv_run_together(pair: Pair) -> None:
    async def main() -> None:
        p, c, pch, cch = await channels(pair)
        a, b = data(20_000, 1), data(20_000, 2)
        back = data(30_000, 3)
        results = await asyncio.gather(
            cch.send(a),
            cch.send(b),
            pch.send(back),
            receive(pch, 40_000, 4096),
            receive(cch, 30_000, 4096),
        )
        assert results[3] in (a + b, b + a)
        assert results[4] == back

    run(main())


def test_l2cap_names_are_exported() -> None:
    assert aioble.L2CAPChannel is l2cap.L2CAPChannel
    assert aioble.L2CAPDisconnectedError is l2cap.L2CAPDisconnectedError
    assert aioble.L2CAPConnectionError is l2cap.L2CAPConnectionError
    assert isinstance(bluetooth.BLE, type)


def test_two_tasks_await_the_close_of_one_channel(pair: Pair) -> None:
    async def main() -> None:
        p, c = await pair.connect()
        accepting = pair.on(pair.p, p.l2cap_accept, PSM, 200)
        channel = await pair.on(pair.c, c.l2cap_connect, PSM, 200)
        await accepting
        watcher = asyncio.ensure_future(channel.disconnected(timeout_ms=None))
        await asyncio.sleep(0.05)
        await channel.disconnect()  # also awaits the close
        await asyncio.wait_for(watcher, 2)
        assert not channel.is_connected()

    run(main())

"""End to end, two radios in one event loop: the GATT paths that work."""

import asyncio
import time

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth

SVC = bluetooth.UUID(0x181A)
CHR = bluetooth.UUID(0x2A6E)
CHR2 = bluetooth.UUID(0x2A6F)
DSC = bluetooth.UUID(0x2901)


def test_seed_flow_scan_connect_read(pair: Pair) -> None:
    service = aioble.Service(SVC)
    aioble.Characteristic(service, CHR, read=True, initial=b"21.5")

    async def peripheral() -> None:
        aioble.register_services(service)
        conn = await aioble.advertise(20_000, name="openmv-temp", services=[SVC], timeout_ms=5000)
        async with conn:
            await conn.disconnected(timeout_ms=5000)

    async def central() -> bytes:
        device = None
        async with aioble.scan(5000, 30_000, 30_000, active=True) as scanner:
            async for result in scanner:
                if SVC in result.services():
                    assert result.name() == "openmv-temp"
                    assert result.connectable
                    device = result.device
                    break
        assert device is not None
        async with await device.connect() as conn:
            svc = await conn.service(SVC)
            char = await svc.characteristic(CHR)
            return await char.read()

    async def main() -> bytes:
        p = pair.on(pair.p, peripheral)
        await asyncio.sleep(0.05)
        value = await pair.on(pair.c, central)
        await p
        return value

    assert run(main()) == b"21.5"


def test_active_scan_sees_scan_response_passive_does_not(pair: Pair) -> None:
    u128 = bluetooth.UUID("a5a5a5a5-ffff-9999-1111-5a5a5a5a5a5a")

    async def find(active: bool) -> aioble.ScanResult:
        async with aioble.scan(2000, 20_000, 20_000, active=active) as scanner:
            async for result in scanner:
                if u128 in result.services() and (result.resp_data or not active):
                    return result
        raise AssertionError("not found")

    async def main() -> None:
        adv = pair.on(
            pair.p,
            aioble.advertise,
            20_000,
            name="a-long-device-name",
            services=[u128],
            manufacturer=(0x1234, b"xy"),
            timeout_ms=5000,
        )
        r = await pair.on(pair.c, find, True)
        assert r.name() == "a-long-device-name"
        assert list(r.manufacturer(0x1234)) == [(0x1234, b"xy")]
        r = await pair.on(pair.c, find, False)
        assert r.name() is None
        assert r.resp_data is None
        adv.cancel()
        with pytest.raises(asyncio.CancelledError):
            await adv

    run(main())


def test_read_write_notify_indicate(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(
        service, CHR, read=True, write=True, notify=True, indicate=True, initial="init"
    )

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        assert ch.properties == 0x3A
        assert await ch.read() == b"init"
        char.write(b"new")
        assert await ch.read() == b"new"
        written = pair.on(pair.p, char.written, timeout_ms=2000)
        await ch.write(b"hello", response=True)
        assert (await written) is p
        assert char.read() == b"hello"
        char.notify(p, b"n1")
        assert await ch.notified(timeout_ms=2000) == b"n1"
        indicating = asyncio.ensure_future(char.indicate(p, b"i1", timeout_ms=2000))
        assert await ch.indicated(timeout_ms=2000) == b"i1"
        await indicating
        # notify with no data sends the current value
        char.notify(p)
        assert await ch.notified(timeout_ms=2000) == b"hello"

    run(main())


def test_roles_reversed_central_serves(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(
        service, CHR, read=True, write=True, notify=True, initial=b"from-central"
    )

    async def main() -> None:
        pair.call(pair.c, aioble.register_services, service)
        p, c = await pair.connect()
        ch = await (await p.service(SVC)).characteristic(CHR)
        assert await ch.read() == b"from-central"
        await ch.write(b"from-peripheral", response=True)
        assert char.read() == b"from-peripheral"
        char.notify(c, b"up")
        assert await ch.notified(timeout_ms=2000) == b"up"

    run(main())


def test_notified_keeps_newest_queue_keeps_all(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True, notify=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        with ch.notifications(max_len=100) as queue:
            await ch.subscribe(notify=True)
            for i in range(20):
                char.notify(p, b"n%d" % i)
            await until(lambda: len(queue) == 20)
            # Board semantics: a slow reader sees the newest value only.
            assert await ch.notified(timeout_ms=1000) == b"n19"
            with pytest.raises(asyncio.TimeoutError):
                await ch.notified(timeout_ms=100)
            # The queue saw all of them, in order.
            assert [await queue.get() for _ in range(20)] == [b"n%d" % i for i in range(20)]
            assert queue.dropped == 0
        char.notify(p, b"after")
        assert await ch.notified(timeout_ms=1000) == b"after"
        assert len(queue) == 0  # closed: no longer receives

    run(main())


def test_queue_overflow_drops_newest_and_counts(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, notify=True, indicate=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        async with ch.notifications(max_len=3, notify=True, indicate=True) as queue:
            for i in range(10):
                char.notify(p, b"%d" % i)
            await until(lambda: queue.dropped == 7)
            await char.indicate(p, b"ind")
            # (The peer's stack acknowledges before its IRQ thread hands the value over.)
            await until(lambda: queue.dropped == 8)
            got = []
            async for value in queue:
                got.append(value)
                if len(got) == 3:
                    break
            assert got == [b"0", b"1", b"2"]
            await char.indicate(p, b"ind2")
            assert await queue.get(timeout_ms=1000) == b"ind2"
            # Values queued before the link drops are still delivered, then the error.
            char.notify(p, b"last")
            await until(lambda: len(queue) == 1)
            await p.disconnect()
            assert await queue.get() == b"last"
            with pytest.raises(aioble.DeviceDisconnectedError):
                await queue.get()
        with pytest.raises(ValueError):
            ch.notifications(max_len=0)

    run(main())


def test_subscribe_unsubscribe_send_update(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True, notify=True, indicate=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        cccd = await ch.descriptor(bluetooth.UUID(0x2902))
        assert cccd is not None
        assert await cccd.read() == b"\x00\x00"
        await ch.subscribe(notify=True)
        assert await cccd.read() == b"\x01\x00"
        char.write(b"u1", send_update=True)
        assert await ch.notified(timeout_ms=1000) == b"u1"
        await ch.subscribe(notify=False, indicate=True)
        assert await cccd.read() == b"\x02\x00"
        char.write(b"u2", send_update=True)
        assert await ch.indicated(timeout_ms=1000) == b"u2"
        await ch.subscribe(False)
        assert await cccd.read() == b"\x00\x00"
        char.write(b"u3", send_update=True)
        with pytest.raises(asyncio.TimeoutError):
            await ch.notified(timeout_ms=200)

    run(main())


def test_descriptors(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True, notify=True)
    desc = aioble.Descriptor(char, DSC, read=True, write=True, initial=b"user desc")
    aioble.Characteristic(service, CHR2, read=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        svc = await c.service(SVC)
        ch = await svc.characteristic(CHR)
        uuids = [d.uuid async for d in ch.descriptors()]
        assert sorted(uuids) == sorted([bluetooth.UUID(0x2902), DSC])
        d = await ch.descriptor(DSC)
        assert await d.read() == b"user desc"
        written = pair.on(pair.p, desc.written, timeout_ms=2000)
        await d.write(b"changed")
        assert (await written) is p
        assert desc.read() == b"changed"
        # A characteristic with no descriptors: discovery yields nothing.
        ch2 = await svc.characteristic(CHR2)
        assert [x async for x in ch2.descriptors()] == []
        assert await svc.characteristic(bluetooth.UUID(0x1234)) is None
        assert await c.service(bluetooth.UUID(0x1234)) is None
        assert [str(s.uuid) for s in [s async for s in c.services()]]  # at least GAP + ours

    run(main())


def test_descriptor_flags_read_only_write_only(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True)
    read_only = aioble.Descriptor(char, DSC, read=True, initial=b"ro")
    aioble.Descriptor(char, bluetooth.UUID(0x2906), write=True, initial=b"wo")

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        ro = await ch.descriptor(DSC)
        wo = await ch.descriptor(bluetooth.UUID(0x2906))
        assert await ro.read() == b"ro"
        with pytest.raises(aioble.GattError) as info:
            await ro.write(b"XX", response=True)
        assert info.value._status == 0x03  # write not permitted
        assert read_only.read() == b"ro"
        await wo.write(b"ok", response=True)
        with pytest.raises(aioble.GattError) as info:
            await wo.read()
        assert info.value._status == 0x02  # read not permitted

    run(main())


def test_buffered_characteristic_and_mtu(pair: Pair) -> None:
    service = aioble.Service(SVC)
    big = aioble.BufferedCharacteristic(
        service, CHR, read=True, write=True, max_len=200, initial=bytes(range(100))
    )
    log = aioble.BufferedCharacteristic(service, CHR2, write=True, max_len=64, append=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        assert c.mtu == 23
        pair.call(pair.p, aioble.config, mtu=247)
        mtu = await c.exchange_mtu(247)
        assert mtu == 247 and c.mtu == 247
        await until(lambda: p.mtu == 247)
        svc = await c.service(SVC)
        ch = await svc.characteristic(CHR)
        assert await ch.read() == bytes(range(100))
        await ch.write(bytes(range(150)), response=True)
        assert big.read() == bytes(range(150))
        lch = await svc.characteristic(CHR2)
        await lch.write(b"ab", response=True)
        await lch.write(b"cd", response=True)
        assert log.read() == b"abcd"
        assert log.read() == b""

    run(main())


def test_capture_keeps_every_write_in_order_while_loop_blocked(pair: Pair) -> None:
    service = aioble.Service(SVC)
    a = aioble.Characteristic(service, CHR, write=True, capture=True)
    b = aioble.Characteristic(service, CHR2, write=True, capture=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        svc = await c.service(SVC)
        ca = await svc.characteristic(CHR)
        cb = await svc.characteristic(CHR2)

        def blocked_peripheral() -> None:
            time.sleep(1.0)  # the peripheral's loop is stuck; the stack keeps acking writes

        writes = [(ca, b"a1"), (cb, b"b1"), (ca, b"a2"), (ca, b"a3"), (cb, b"b2")]

        async def write_all() -> None:
            for ch, value in writes:
                await ch.write(value, response=True)

        # The central runs in another thread's loop while this loop is blocked.
        import threading

        done = threading.Event()

        def central_thread() -> None:
            async def go() -> None:
                await write_all()

            asyncio.run(go())
            done.set()

        # The central's connection objects belong to this loop, but its requests only need
        # the stack; run the writes from a second loop while the first sleeps.
        t = threading.Thread(target=central_thread)
        t.start()
        blocked_peripheral()
        t.join()
        assert done.is_set()
        got = []
        # Take them in order: b's written() waits until a's earlier writes are taken.
        order = [a, b, a, a, b]
        for ch in order:
            conn, value = await ch.written(timeout_ms=1000)
            assert conn is p
            got.append(value)
        assert got == [b"a1", b"b1", b"a2", b"a3", b"b2"]
        # A capture characteristic waits for its turn.
        await ca.write(b"a4", response=True)
        await cb.write(b"b3", response=True)
        b_task = asyncio.ensure_future(b.written(timeout_ms=2000))
        await asyncio.sleep(0.2)
        assert not b_task.done()
        assert await a.written(timeout_ms=1000) == (p, b"a4")
        assert await b_task == (p, b"b3")

    run(main())


def test_on_read_allows_and_counts(pair: Pair) -> None:
    service = aioble.Service(SVC)
    reads = []

    class Counting(aioble.Characteristic):
        def on_read(self, connection: aioble.DeviceConnection | None) -> int:
            reads.append(connection)
            return 0

    Counting(service, CHR, read=True, initial=b"v")

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        assert await ch.read() == b"v"
        assert reads == [p]

    run(main())

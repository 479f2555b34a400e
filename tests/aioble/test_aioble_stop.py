"""aioble.stop(): everything in flight unwinds; the next call brings the radio back."""

import asyncio

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth

SVC = bluetooth.UUID(0x181A)
CHR = bluetooth.UUID(0x2A6E)


def test_stop_during_advertise(pair: Pair) -> None:
    async def main() -> None:
        task = pair.on(pair.p, aioble.advertise, 20_000, name="p")
        await asyncio.sleep(0.05)
        pair.call(pair.p, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        assert not pair.p.active()

    run(main())


def test_stop_during_scan_ends_the_iteration(pair: Pair) -> None:
    async def scan() -> int:
        seen = 0
        async with aioble.scan(0, 20_000, 20_000) as scanner:
            async for _ in scanner:
                seen += 1
        return seen

    async def main() -> None:
        task = pair.on(pair.c, scan)
        await asyncio.sleep(0.1)
        pair.call(pair.c, aioble.stop)
        await asyncio.wait_for(task, 2)
        # A new scan right after the restart is not ended by the old scan's SCAN_DONE.
        adv = pair.on(pair.p, aioble.advertise, 20_000, name="back", timeout_ms=5000)
        found = await pair.on(pair.c, _find_name, "back")
        assert found
        adv.cancel()

    run(main())


async def _find_name(name: str) -> bool:
    async with aioble.scan(3000, 20_000, 20_000, active=True) as scanner:
        async for result in scanner:
            if result.name() == name:
                return True
    return False


def test_stop_during_connect(pair: Pair) -> None:
    async def main() -> None:
        device = aioble.Device(0, "aa:bb:cc:dd:ee:02")
        task = pair.on(pair.c, device.connect, timeout_ms=5000)
        await asyncio.sleep(0.1)
        pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        # The radio comes back and connects to a real peer.
        service = aioble.Service(SVC)
        aioble.Characteristic(service, CHR, read=True, initial=b"ok")
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        assert await ch.read() == b"ok"

    run(main())


def test_stop_during_written_and_indicate(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True, write=True, indicate=True)
    cap = aioble.Characteristic(service, bluetooth.UUID(0x2A6F), write=True, capture=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        written = pair.on(pair.p, char.written)
        captured = pair.on(pair.p, cap.written)
        monkeypatch.setattr(pair.p, "gatts_indicate", lambda *a: None)
        indicating = asyncio.ensure_future(char.indicate(p, b"x", timeout_ms=None))
        await asyncio.sleep(0.05)
        pair.call(pair.p, aioble.stop)
        for task in (written, captured, indicating):
            with pytest.raises(aioble.DeviceDisconnectedError):
                await task
        await until(lambda: not c.is_connected())
        # A written() after the restart waits for a new write, not the stop.
        monkeypatch.undo()
        p, c = await pair.connect()
        ch = await (await c.service(SVC)).characteristic(CHR)
        w = pair.on(pair.p, char.written, timeout_ms=2000)
        await ch.write(b"again", response=True)
        assert await w is p

    run(main())


def test_stop_during_notified_on_central(pair: Pair) -> None:
    service = aioble.Service(SVC)
    aioble.Characteristic(service, CHR, notify=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        task = asyncio.ensure_future(ch.notified())
        await asyncio.sleep(0.05)
        pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        await until(lambda: not p.is_connected())

    run(main())


def test_stop_and_restart_three_times_same_address_services_kept(pair: Pair) -> None:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(service, CHR, read=True, write=True, initial=b"v0")

    async def main() -> None:
        pair.call(pair.p, aioble.register_services, service)
        first = pair.call(pair.p, aioble.config, "mac")
        for cycle in range(1, 4):
            p, c = await pair.connect()
            ch = await (await c.service(SVC)).characteristic(CHR)
            # The value survives the restart; the database came back by itself.
            assert await ch.read() == b"v%d" % (cycle - 1)
            await ch.write(b"v%d" % cycle, response=True)
            pair.call(pair.p, aioble.stop)
            pair.call(pair.c, aioble.stop)
            assert not c.is_connected() and not p.is_connected()
            # While stopped, the value is still readable locally.
            assert char.read() == b"v%d" % cycle
            assert pair.call(pair.p, aioble.config, "mac") == first

    run(main())


def test_register_again_after_stop_board_style(pair: Pair) -> None:
    service = aioble.Service(SVC)
    aioble.Characteristic(service, CHR, read=True, initial=b"x")

    async def main() -> None:
        pair.call(pair.p, aioble.register_services, service)
        pair.call(pair.p, aioble.stop)
        pair.call(pair.p, aioble.register_services, service)
        p, c = await pair.connect()
        ch = await (await c.service(SVC)).characteristic(CHR)
        assert await ch.read() == b"x"

    run(main())


def test_advertise_again_right_after_stop(pair: Pair) -> None:
    async def main() -> None:
        first = pair.on(pair.p, aioble.advertise, 20_000, name="p")
        await asyncio.sleep(0.05)
        pair.call(pair.p, aioble.stop)
        # Before the stopped advertise() has even woken up:
        second = pair.on(pair.p, aioble.advertise, 20_000, name="p", timeout_ms=200)
        with pytest.raises(asyncio.TimeoutError):
            await second
        with pytest.raises(aioble.DeviceDisconnectedError):
            await first

    run(main())


def test_a_write_nobody_took_before_stop_is_gone_after_restart(pair: Pair) -> None:
    service = aioble.Service(SVC)
    characteristic = aioble.Characteristic(service, CHR, read=True, write=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        remote = await (await c.service(SVC)).characteristic(CHR)
        await remote.write(b"old", response=True)
        pair.call(pair.p, aioble.stop)
        pair.call(pair.p, aioble.config, "mac")  # back on
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.p, characteristic.written, timeout_ms=200)

    run(main())

"""Every timeout and every exception path, two radios in one event loop.

A request "in flight" is made by replacing the low-level call with one that sends nothing:
the coroutine then waits exactly as it would for a slow peer, deterministically.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioble_support import Pair, run, until

import aioble
import bluetooth
from aioble.core import radio as aioble_radio

SVC = bluetooth.UUID(0x181A)
CHR = bluetooth.UUID(0x2A6E)

NOWHERE = ("aa:bb:cc:dd:ee:01", 0)


def make_service() -> tuple[aioble.Service, aioble.Characteristic]:
    service = aioble.Service(SVC)
    char = aioble.Characteristic(
        service, CHR, read=True, write=True, notify=True, indicate=True, initial=b"v"
    )
    return service, char


async def setup(
    pair: Pair,
) -> tuple[
    aioble.Characteristic,
    aioble.DeviceConnection,
    aioble.DeviceConnection,
    aioble.ClientCharacteristic,
]:
    service, char = make_service()
    p, c = await pair.connect(service)
    ch = await (await c.service(SVC)).characteristic(CHR)
    return char, p, c, ch


def silence(monkeypatch: pytest.MonkeyPatch, ble: bluetooth.BLE, method: str) -> None:
    """Make `ble.method(...)` send nothing (the answer never comes)."""
    monkeypatch.setattr(ble, method, lambda *args, **kwargs: None)


# (name, low-level method to silence on the central, the client operation)
CLIENT_OPS: list[
    tuple[
        str,
        str,
        Callable[
            [aioble.DeviceConnection, aioble.ClientCharacteristic, int | None], Awaitable[Any]
        ],
    ]
] = [
    ("read", "gattc_read", lambda c, ch, t: ch.read(timeout_ms=t)),
    ("write", "gattc_write", lambda c, ch, t: ch.write(b"x", response=True, timeout_ms=t)),
    ("subscribe", "gattc_write", lambda c, ch, t: ch.subscribe(timeout_ms=t)),
    ("exchange_mtu", "gattc_exchange_mtu", lambda c, ch, t: c.exchange_mtu(timeout_ms=t)),
    ("service", "gattc_discover_services", lambda c, ch, t: c.service(SVC, timeout_ms=t)),
    (
        "characteristic",
        "gattc_discover_characteristics",
        lambda c, ch, t: ch.service.characteristic(CHR, timeout_ms=t),
    ),
    (
        "descriptors",
        "gattc_discover_descriptors",
        lambda c, ch, t: ch.descriptor(bluetooth.UUID(0x2902), timeout_ms=t),
    ),
    ("notified", "gattc_read", lambda c, ch, t: ch.notified(timeout_ms=t)),
    ("indicated", "gattc_read", lambda c, ch, t: ch.indicated(timeout_ms=t)),
    ("queue.get", "gattc_read", lambda c, ch, t: ch.notifications().get(timeout_ms=t)),
]
IDS = [op[0] for op in CLIENT_OPS]


@pytest.mark.parametrize(("method", "op"), [op[1:] for op in CLIENT_OPS], ids=IDS)
def test_client_timeout(pair: Pair, monkeypatch: pytest.MonkeyPatch, method: str, op: Any) -> None:
    async def main() -> None:
        char, p, c, ch = await setup(pair)
        silence(monkeypatch, pair.c, method)
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(asyncio.TimeoutError):
            await op(c, ch, 200)
        # Not before the deadline (how long after it depends on the machine's load).
        assert loop.time() - start > 0.19
        monkeypatch.undo()
        # Nothing is left stuck: the same kind of request works afterwards.
        assert c.is_connected()
        assert await ch.read() == b"v"

    run(main())


@pytest.mark.parametrize(("method", "op"), [op[1:] for op in CLIENT_OPS], ids=IDS)
@pytest.mark.parametrize("who", ["peer", "self", "stop"])
def test_client_disconnected_midway(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, method: str, op: Any, who: str
) -> None:
    """The link drops while the operation waits: DeviceDisconnectedError, whoever drops it."""

    async def main() -> None:
        char, p, c, ch = await setup(pair)
        silence(monkeypatch, pair.c, method)
        task = asyncio.ensure_future(op(c, ch, None))
        await asyncio.sleep(0.1)
        assert not task.done()
        if who == "peer":
            await p.disconnect()
        elif who == "self":
            await c.disconnect()
        else:
            pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        assert not c.is_connected()
        # And at once once the link is down.
        with pytest.raises(aioble.DeviceDisconnectedError):
            await op(c, ch, 100)
        await until(lambda: not p.is_connected())

    run(main())


def test_gatt_error_read_denied(pair: Pair) -> None:
    service = aioble.Service(SVC)

    class Denied(aioble.Characteristic):
        def on_read(self, connection: Any) -> int:
            return 0x80  # an application error

    Denied(service, CHR, read=True, initial=b"secret")

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        with pytest.raises(aioble.GattError) as info:
            await ch.read()
        assert info.value._status == 0x80
        assert c.is_connected()

    run(main())


def test_gatt_error_on_read_raising_denies(pair: Pair) -> None:
    service = aioble.Service(SVC)

    class Broken(aioble.Characteristic):
        def on_read(self, connection: Any) -> int:
            raise RuntimeError("bug in on_read")

    Broken(service, CHR, read=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        with pytest.raises(aioble.GattError) as info:
            await ch.read()
        assert info.value._status == 0x0E

    run(main())


def test_gatt_error_write_not_permitted(pair: Pair) -> None:
    service = aioble.Service(SVC)
    aioble.Characteristic(service, CHR, read=True)

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        with pytest.raises(ValueError):
            await ch.write(b"x")  # the characteristic says it is not writable
        # Pretend it were: the peer answers with an ATT error.
        ch.properties |= 0x08
        with pytest.raises(aioble.GattError) as info:
            await ch.write(b"x", response=True)
        assert info.value._status == 0x03  # write not permitted

    run(main())


def test_server_indicate_timeout_and_disconnect(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def main() -> None:
        char, p, c, ch = await setup(pair)
        silence(monkeypatch, pair.p, "gatts_indicate")
        with pytest.raises(asyncio.TimeoutError):
            await char.indicate(p, b"x", timeout_ms=200)
        task = asyncio.ensure_future(char.indicate(p, b"x", timeout_ms=None))
        await asyncio.sleep(0.05)
        with pytest.raises(ValueError):
            await char.indicate(p, b"y")  # one in flight per connection
        await c.disconnect()
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        with pytest.raises(aioble.DeviceDisconnectedError):
            char.notify(p, b"z")
        with pytest.raises(aioble.DeviceDisconnectedError):
            await char.indicate(p, b"z")

    run(main())


def test_written_timeout(pair: Pair) -> None:
    service, char = make_service()

    async def main() -> None:
        pair.call(pair.p, aioble.register_services, service)
        with pytest.raises(asyncio.TimeoutError):
            await char.written(timeout_ms=100)

    run(main())


def test_advertise_timeout_stops_advertising(pair: Pair) -> None:
    async def main() -> None:
        addr = pair.call(pair.p, aioble.config, "mac")
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.p, aioble.advertise, 20_000, name="p", timeout_ms=200)
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.c, aioble.Device(*addr).connect, timeout_ms=300)
        assert aioble_radio_connections(pair.c) == {}

    run(main())


def aioble_radio_connections(ble: bluetooth.BLE) -> dict:
    with bluetooth.use(ble):
        return aioble_radio().connections


def test_advertise_cancelled_stops_advertising(pair: Pair) -> None:
    async def main() -> None:
        addr = pair.call(pair.p, aioble.config, "mac")
        task = pair.on(pair.p, aioble.advertise, 20_000, name="p")
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.c, aioble.Device(*addr).connect, timeout_ms=300)

    run(main())


def test_connect_timeout_leaves_nothing_behind(pair: Pair) -> None:
    service, char = make_service()

    async def main() -> None:
        device = aioble.Device(0, NOWHERE[0])
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.c, device.connect, timeout_ms=200)
        assert device._connection is None
        assert aioble_radio_connections(pair.c) == {}
        # A cancelled connect, too.
        task = pair.on(pair.c, device.connect, timeout_ms=5000)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The next connect to a real peer works at once.
        p, c = await pair.connect(service)
        assert c.is_connected()
        assert list(aioble_radio_connections(pair.c).values()) == [c]

    run(main())


def test_connect_controller_gives_up_quickly(pair: Pair) -> None:
    """The controller giving up after scan_duration_ms is a timeout too, and comes early."""

    async def main() -> None:
        device = aioble.Device(0, NOWHERE[0])
        with pytest.raises(asyncio.TimeoutError):
            await pair.on(pair.c, device.connect, timeout_ms=60_000, scan_duration_ms=200)
        assert aioble_radio_connections(pair.c) == {}

    run(main())


@pytest.mark.parametrize("timeout_ms", [1, 5, 10, 15, 20, 25, 30, 40])
def test_connect_timeout_racing_the_link_leaves_no_stale_connection(
    pair: Pair, timeout_ms: int
) -> None:
    """The link may come up just as connect() gives up: it must be dropped on both sides."""

    async def main() -> None:
        addr = pair.call(pair.p, aioble.config, "mac")
        adv = pair.on(pair.p, aioble.advertise, 20_000, timeout_ms=3000)
        device = aioble.Device(*addr)
        try:
            c = await pair.on(pair.c, device.connect, timeout_ms=timeout_ms)
        except TimeoutError:
            c = None
        if c is not None:
            # It made it in time: a normal connection.
            assert c.is_connected()
            await c.disconnect()
            p = await adv
            await until(lambda: not p.is_connected())
            return
        try:
            p = await adv
        except TimeoutError:
            p = None
        # Whatever the peripheral saw goes away, and the central keeps nothing.
        if p is not None:
            await p.disconnected(timeout_ms=3000)
        await until(
            lambda: (
                aioble_radio_connections(pair.c) == {} and aioble_radio_connections(pair.p) == {}
            )
        )
        assert device._connection is None

    run(main())


def test_device_timeout_block(pair: Pair) -> None:
    async def main() -> None:
        char, p, c, ch = await setup(pair)
        with pytest.raises(asyncio.TimeoutError):
            with c.timeout(100):
                await asyncio.sleep(5)
        with c.timeout(1000):
            await asyncio.sleep(0.01)
        # The task is not left cancelled by a block that finished.
        await asyncio.sleep(0.05)
        task = asyncio.ensure_future(_sleep_in_block(c))
        await asyncio.sleep(0.05)
        await p.disconnect()
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        with pytest.raises(aioble.DeviceDisconnectedError):
            with c.timeout(None):
                pass

    run(main())


async def _sleep_in_block(c: aioble.DeviceConnection) -> None:
    with c.timeout(None):
        await asyncio.sleep(10)


def test_disconnect_timeout(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        char, p, c, ch = await setup(pair)
        monkeypatch.setattr(pair.c, "gap_disconnect", lambda handle: True)
        with pytest.raises(asyncio.TimeoutError):
            await c.disconnect(timeout_ms=200)
        with pytest.raises(asyncio.TimeoutError):
            await c.disconnected(timeout_ms=100)
        monkeypatch.undo()
        await c.disconnect()
        assert not c.is_connected()
        await c.disconnect()  # already down: returns at once

    run(main())


@pytest.mark.parametrize("who", ["peer", "self", "stop", "peer", "self", "stop"])
def test_read_really_in_flight_when_the_link_drops(pair: Pair, who: str) -> None:
    """No silenced call: the peer's read handler is slow, the request is in the stack."""
    import time

    service = aioble.Service(SVC)

    class Slow(aioble.Characteristic):
        def on_read(self, connection: Any) -> int:
            time.sleep(0.4)  # the peripheral's IRQ thread is busy; the stack waits for it
            return 0

    Slow(service, CHR, read=True, initial=b"v")

    async def main() -> None:
        p, c = await pair.connect(service)
        ch = await (await c.service(SVC)).characteristic(CHR)
        task = asyncio.ensure_future(ch.read(timeout_ms=5000))
        await asyncio.sleep(0.1)
        if who == "peer":
            await p.disconnect()
        elif who == "self":
            await c.disconnect()
        else:
            pair.call(pair.c, aioble.stop)
        with pytest.raises(aioble.DeviceDisconnectedError):
            await task
        await asyncio.sleep(0.5)  # let the slow handler finish before the radios go

    run(main())


def test_status_mapping() -> None:
    from aioble.device import DeviceConnection

    class FakeRadio:
        connections: dict = {}

    conn = DeviceConnection(FakeRadio(), aioble.Device(0, bytes(6)), 1)  # type: ignore[arg-type]
    assert isinstance(conn._status_error(0x1F), aioble.DeviceDisconnectedError)
    error = conn._status_error(3)
    assert isinstance(error, aioble.GattError) and error._status == 3
    conn._conn_handle = None
    assert isinstance(conn._status_error(3), aioble.DeviceDisconnectedError)


def test_discovery_cut_short_by_the_link_raises(pair: Pair) -> None:
    async def main() -> None:
        services = [aioble.Service(bluetooth.UUID(0x1820 + i)) for i in range(16)]
        p, c = await pair.connect(*services)
        discovery = asyncio.ensure_future(c.service(SVC))
        pair.c.gap_disconnect(c._conn_handle)  # before the discovery starts
        with pytest.raises(aioble.DeviceDisconnectedError):
            await discovery

    run(main())


def test_cancel_a_scan_another_task_iterates(pair: Pair) -> None:
    async def main() -> None:
        with bluetooth.use(pair.c):
            async with aioble.scan(0, 20_000, 20_000) as scanner:

                async def iterate() -> int:
                    return len([result async for result in scanner])

                iterating = asyncio.ensure_future(iterate())
                await asyncio.sleep(0.05)  # it waits for results now
                await scanner.cancel()
                assert await asyncio.wait_for(iterating, 2) >= 0

    run(main())

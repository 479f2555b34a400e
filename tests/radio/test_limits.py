"""A controller's limits are a board's: how many links it may hold (``max_connections``).

At the limit a controller refuses, with Connection Limit Exceeded (0x09), what would make
one more link: connectable advertising (LE Set Advertising Enable) and LE Create Connection
(its Command Status); a CONNECT_IND that would exceed either side's limit forms no link.
Non-connectable advertising and scanning go on. Fast medium: scenarios wait for events.

And one radio serves one connection event at a time: on the air-time medium (virtual
time), links of one device whose events overlap are served alternately, the others skipped.
"""

from __future__ import annotations

import asyncio
import errno
import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from bumble import hci
from bumble.core import ProtocolError
from bumble.device import AdvertisingType, Device

from bleradio import Medium
from bleradio.air.medium import MediumOptions
from bleradio.controller import VirtualController
from blerun.radio import parse_radio_option

from .helpers import device_on, wait_for

LIMIT_EXCEEDED = hci.HCI_CONNECTION_LIMIT_EXCEEDED_ERROR  # 0x09


def _controller(device: Device) -> VirtualController:
    return device.transport.controller  # type: ignore[attr-defined, no-any-return]


async def _advertise(device: Device, connectable: bool = True) -> None:
    await device.start_advertising(
        advertising_type=(
            AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
            if connectable
            else AdvertisingType.UNDIRECTED
        ),
        advertising_data=b"\x02\x01\x06",
        advertising_interval_min=20,
        advertising_interval_max=20,
    )


async def _connect(central: Device, peripheral: Device) -> tuple[Any, Any]:
    """``peripheral`` advertises, ``central`` connects: both connection objects."""
    accepted: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    peripheral.once("connection", accepted.set_result)
    await _advertise(peripheral)
    connection = await central.connect(peripheral.random_address, timeout=5)
    return connection, await asyncio.wait_for(accepted, 5)


def _run(scenario: Callable[[Medium], Awaitable[Any]], **options: Any) -> Any:
    async def main() -> Any:
        medium = Medium(fast=True, **options)
        try:
            return await asyncio.wait_for(scenario(medium), 20)
        finally:
            for controller in list(medium.controllers):
                controller.close()
            await asyncio.sleep(0)

    return asyncio.run(main())


# ---------------------------------------------------------------------- the option
def test_default_is_a_nimble_board() -> None:
    # MicroPython's ESP32 build: CONFIG_BT_NIMBLE_MAX_CONNECTIONS=4
    assert MediumOptions().max_connections == 4


@pytest.mark.parametrize("value", [0, -1, 0x0F00, 2.5, "4", True])
def test_bad_limits_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="max_connections"):
        MediumOptions(max_connections=value)  # type: ignore[arg-type]


def test_command_line_option() -> None:
    key, value = parse_radio_option("max_connections=8")
    assert MediumOptions(**{key: value}).max_connections == 8
    key, value = parse_radio_option("max-connections=1")
    assert MediumOptions(**{key: value}).max_connections == 1


# ---------------------------------------------------------------------- peripheral side
def test_peripheral_at_limit_refuses_connectable_advertising() -> None:
    async def scenario(medium: Medium) -> None:
        hub = await device_on(medium, "hub")
        centrals = [await device_on(medium, f"c{i}") for i in range(3)]
        for central in centrals[:2]:
            await _connect(central, hub)
        assert len(hub.connections) == 2
        with pytest.raises(ProtocolError) as refused:
            await _advertise(hub)
        assert refused.value.error_code == LIMIT_EXCEEDED
        assert not _controller(hub).gap.advertising
        # non-connectable advertising still goes on, and is heard
        await hub.stop_advertising()  # Bumble's own record of the refused set
        await _advertise(hub, connectable=False)
        heard: list[Any] = []
        centrals[2].on(
            "advertisement", lambda adv: adv.address == hub.random_address and heard.append(adv)
        )
        await centrals[2].start_scanning(legacy=True)
        await wait_for(lambda: heard)
        assert not heard[0].is_connectable
        await hub.stop_advertising()
        # one link gone: room again
        first = next(iter(hub.connections.values()))
        await first.disconnect()
        await wait_for(lambda: len(hub.connections) == 1)
        await centrals[2].stop_scanning()
        await _connect(centrals[2], hub)
        assert len(hub.connections) == 2

    _run(scenario, max_connections=2)


def test_peripheral_at_limit_can_still_scan() -> None:
    async def scenario(medium: Medium) -> None:
        hub, central, beacon = [await device_on(medium, n) for n in ("hub", "c", "beacon")]
        await _connect(central, hub)
        await _advertise(beacon, connectable=False)
        heard: list[Any] = []
        hub.on(
            "advertisement",
            lambda adv: adv.address == beacon.random_address and heard.append(adv),
        )
        await hub.start_scanning(legacy=True)
        await wait_for(lambda: heard)

    _run(scenario, max_connections=1)


# ---------------------------------------------------------------------- central side
def test_central_at_limit_refuses_create_connection() -> None:
    async def scenario(medium: Medium) -> None:
        hub = await device_on(medium, "hub")
        peripherals = [await device_on(medium, f"p{i}") for i in range(3)]
        for peripheral in peripherals[:2]:
            await _connect(hub, peripheral)
        await _advertise(peripherals[2])
        with pytest.raises(ProtocolError) as refused:
            await hub.connect(peripherals[2].random_address, timeout=5)
        assert refused.value.error_code == LIMIT_EXCEEDED
        # refused in the Command Status: nothing is left initiating
        assert not hub.is_le_connecting
        assert _controller(hub).initiating is None
        assert not peripherals[2].connections
        assert _controller(peripherals[2]).gap.advertising

    _run(scenario, max_connections=2)


def test_default_limit_is_four_links() -> None:
    async def scenario(medium: Medium) -> None:
        hub = await device_on(medium, "hub")
        peripherals = [await device_on(medium, f"p{i}") for i in range(5)]
        for peripheral in peripherals[:4]:
            await _connect(hub, peripheral)
        await _advertise(peripherals[4])
        with pytest.raises(ProtocolError) as refused:
            await hub.connect(peripherals[4].random_address, timeout=5)
        assert refused.value.error_code == LIMIT_EXCEEDED

    _run(scenario)


def test_roles_share_the_limit() -> None:
    async def scenario(medium: Medium) -> None:
        node, a, b = [await device_on(medium, n) for n in ("node", "a", "b")]
        await _connect(node, a)  # central of one link
        await _connect(b, node)  # peripheral of another: now at the limit of 2
        with pytest.raises(ProtocolError) as refused:
            await _advertise(node)
        assert refused.value.error_code == LIMIT_EXCEEDED
        with pytest.raises(ProtocolError) as refused:
            await node.connect(a.random_address, timeout=5)
        assert refused.value.error_code == LIMIT_EXCEEDED

    _run(scenario, max_connections=2)


# ---------------------------------------------------------------------- races at CONNECT_IND
def test_initiator_that_reached_its_limit_sends_no_connect_ind() -> None:
    """Initiating started with room; a link made as peripheral meanwhile filled it: the
    target's advertising is heard but no link forms."""

    async def scenario(medium: Medium) -> None:
        node, target, other = [await device_on(medium, n) for n in ("node", "target", "other")]
        controller = _controller(node)
        attempt = asyncio.ensure_future(node.connect(target.random_address, timeout=5))
        await wait_for(lambda: controller.initiating is not None)
        await _connect(other, node)  # node: at its limit of 1, still initiating
        # (Bumble's attempt ends with that incoming link: its future takes any connection)
        heard = _heard_from(controller, target)
        await _advertise(target)
        await wait_for(lambda: len(heard) >= 3)  # advertising events the initiator heard
        assert controller.initiating is not None
        assert not target.connections and _controller(target).gap.advertising
        assert len(controller.links) == 1
        await node.send_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        await asyncio.wait([attempt])

    _run(scenario, max_connections=1)


def _heard_from(listener: VirtualController, advertiser: Device) -> list[Any]:
    """Record the advertising PDUs of ``advertiser`` that ``listener``'s radio receives."""
    heard: list[Any] = []
    on_adv_pdu = listener.on_adv_pdu
    source = _controller(advertiser)

    def spy(pdu: Any, rssi: int) -> None:
        if pdu.advertiser is source:
            heard.append(pdu)
        on_adv_pdu(pdu, rssi)

    listener.on_adv_pdu = spy  # type: ignore[method-assign]
    return heard


def test_advertiser_that_reached_its_limit_takes_no_connect_ind() -> None:
    """Advertising started with room; a link made as central meanwhile filled it: a
    CONNECT_IND to it forms no link on either side."""

    async def scenario(medium: Medium) -> None:
        node, other, late = [await device_on(medium, n) for n in ("node", "other", "late")]
        await _advertise(node)
        await _connect(node, other)  # node: central of one link, at its limit, advertising
        assert _controller(node).gap.advertising
        heard = _heard_from(_controller(late), node)
        attempt = asyncio.ensure_future(late.connect(node.random_address, timeout=5))
        await wait_for(lambda: len(heard) >= 3)  # each time, a CONNECT_IND not taken
        assert _controller(late).initiating is not None
        assert not late.connections
        assert len(node.connections) == 1 and _controller(node).gap.advertising
        await late.send_command(hci.HCI_LE_Create_Connection_Cancel_Command())
        await asyncio.wait([attempt])  # ends with the cancel's Connection Complete (0x02)
        assert _controller(late).initiating is None

    _run(scenario, max_connections=1)


# ---------------------------------------------------------------------- what a program sees
def test_program_at_the_default_limit_gets_clear_errors() -> None:
    """Through ``bluetooth`` on the process medium (default limit 4): a fifth gap_connect,
    and gap_advertise of connectable advertising, raise OSError(ENOMEM) naming the refusal,
    as NimBLE's host refuses them (no event follows the refused connect); non-connectable
    advertising works."""
    import threading

    import bluetooth

    class Events:
        def __init__(self) -> None:
            self.seen: list[tuple[int, tuple[Any, ...]]] = []
            self.cond = threading.Condition()

        def __call__(self, event: int, data: tuple[Any, ...]) -> None:
            data = tuple(bytes(x) if isinstance(x, memoryview) else x for x in data)
            with self.cond:
                self.seen.append((event, data))
                self.cond.notify_all()

        def wait(self, event: int, start: int) -> tuple[Any, ...]:
            def found() -> tuple[Any, ...] | None:
                return next((d for k, d in self.seen[start:] if k == event), None)

            with self.cond:
                data = self.cond.wait_for(found, 10)
            if data is None:
                raise AssertionError(f"no IRQ {event}: {self.seen}")
            return data

    radios: list[bluetooth.BLE] = []

    def radio(label: str) -> tuple[bluetooth.BLE, Events]:
        ble = bluetooth.new_radio(label)
        events = Events()
        ble.irq(events)
        ble.active(True)
        radios.append(ble)
        return ble, events

    peripheral_connect, peripheral_disconnect = 7, 8
    try:
        hub, events = radio("limit-hub")
        for i in range(5):
            peer, _ = radio(f"limit-p{i}")
            peer.gap_advertise(20_000, b"\x02\x01\x06")
            addr_type, addr = peer.config("mac")
            mark = len(events.seen)
            if i < 4:
                hub.gap_connect(addr_type, addr)
                events.wait(peripheral_connect, mark)
            else:
                with pytest.raises(OSError, match="CONNECTION_LIMIT_EXCEEDED") as refused:
                    hub.gap_connect(addr_type, addr)
                assert refused.value.errno == errno.ENOMEM
        assert peripheral_disconnect not in [k for k, _ in events.seen]
        with pytest.raises(OSError, match="CONNECTION_LIMIT_EXCEEDED") as refused:
            hub.gap_advertise(20_000, b"\x02\x01\x06")
        assert refused.value.errno == errno.ENOMEM  # as NimBLE's host refuses it
        hub.gap_advertise(100_000, b"\x02\x01\x06", connectable=False)
    finally:
        for ble in radios:
            ble.active(False)


# ---------------------------------------------------------------------- one radio, many links
def _overlapping_links(offset: float) -> tuple[list[tuple[int, int, int]], float]:
    """A central with two links at 50 ms whose anchors are ``offset`` s apart, both busy for
    2 s (virtual time): per link (events skipped, events run, PDUs delivered), and the time
    the central's radio spent ramping up in those 2 s (ms: two ramps per event it was in)."""
    from bumble.device import ConnectionParametersPreferences

    from .vtime import run_virtual

    async def main() -> tuple[list[tuple[int, int, int]], float]:
        medium = Medium(fast=False, seed=3)
        central = await device_on(medium, "central")
        peripherals = [await device_on(medium, f"p{i}") for i in range(2)]
        prefs = ConnectionParametersPreferences(
            connection_interval_min=50, connection_interval_max=50, supervision_timeout=1000
        )
        connections = []
        for peripheral in peripherals:
            accepted = asyncio.get_running_loop().create_future()
            peripheral.once("connection", accepted.set_result)
            await _advertise(peripheral)
            connections.append(
                await central.connect(
                    peripheral.random_address,
                    timeout=5,
                    connection_parameters_preferences={hci.HCI_LE_1M_PHY: prefs},
                )
            )
            await accepted
        await asyncio.sleep(1.0)  # the data length updates and such are done
        links = sorted(medium.links, key=lambda link: link.central.handle)
        first, second = links[0].state, links[1].state
        # move the second link's anchor to ``offset`` after the first's
        k = math.ceil((first.anchor - second.anchor) / second.interval)
        second.anchor = first.anchor + offset - k * second.interval
        before = [(link.state.skipped, link.state.next_event) for link in links]
        delivered = [0, 0]
        for i, link in enumerate(links):
            on_ll_data = link.peripheral.controller.on_ll_data

            def count(
                end: Any, llid: int, payload: Any, i: int = i, real: Any = on_ll_data
            ) -> None:
                delivered[i] += 1
                real(end, llid, payload)

            link.peripheral.controller.on_ll_data = count  # type: ignore[method-assign]
        hub = links[0].central.controller
        ramps = medium.energy(hub).ramp_ms
        start = asyncio.get_running_loop().time()
        while asyncio.get_running_loop().time() - start < 2.0:
            for connection in connections:
                # ATT Write Command to a handle nobody has: carried, then ignored
                central.send_l2cap_pdu(connection.handle, 0x0004, b"\x52\x01\x00" + bytes(20))
            await asyncio.sleep(0.02)
        assert all(link.alive for link in links)
        return [
            (link.state.skipped - s, link.state.next_event - e, delivered[i])
            for i, (link, (s, e)) in enumerate(zip(links, before, strict=True))
        ], medium.energy(hub).ramp_ms - ramps

    return run_virtual(main)


def test_links_apart_are_all_served() -> None:
    results, _ = _overlapping_links(offset=0.025)
    for skipped, events, delivered in results:
        assert skipped == 0
        assert events >= 39 and delivered >= 90


def test_overlapping_links_share_the_radio_event_by_event() -> None:
    """Anchors 0.5 ms apart: the scheduler serves one link per interval, alternately (the
    one skipped last goes first); each link's event counter still advances, none is lost,
    and a skipped event costs the radio nothing."""
    results, ramps = _overlapping_links(offset=0.0005)
    for skipped, events, delivered in results:
        assert 15 <= skipped <= 25  # about every other of 40 events
        assert events >= 39  # skipped events count too
        assert delivered >= 90  # all data gets through, later
    assert abs(results[0][0] - results[1][0]) <= 1
    # The central was in about half as many events as with the links apart.
    _, ramps_apart = _overlapping_links(offset=0.025)
    assert 0.4 < ramps / ramps_apart < 0.65

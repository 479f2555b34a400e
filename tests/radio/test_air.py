"""The air-time medium, on virtual time: discovery odds, latency, timeouts, energy, throughput."""

from __future__ import annotations

import asyncio

import pytest
from bumble import hci
from bumble.device import AdvertisingType, Peer
from bumble.gatt import Characteristic, Service

from bleradio import Medium
from bleradio.air.airtime import PHY_1M, PHY_2M, max_throughput_bps

from .helpers import connect_at, device_on
from .vtime import run_virtual

SERVICE = "a5a5a5a5-ffff-9999-1111-5a5a5a5a5a5a"
CHAR = "a5a5a5a5-ffff-9999-2222-5a5a5a5a5a5a"


def test_sparse_scan_hears_a_250ms_advertiser_one_time_in_six() -> None:
    """The seed's central: 11.25 ms window every 1.28 s, 5 s scans, a 250 ms advertiser."""

    async def main() -> tuple[int, int]:
        medium = Medium(fast=False, seed=1)
        advertiser = await device_on(medium, "advertiser")
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_data=b"\x05\x09test",
            advertising_interval_min=250,
            advertising_interval_max=250,
        )
        scanners = [await device_on(medium, f"s{i}") for i in range(120)]
        heard: set[int] = set()
        for i, scanner in enumerate(scanners):
            scanner.host.on(
                "advertising_report",
                lambda r, i=i: r.address == advertiser.random_address and heard.add(i),
            )
        # scans start at scattered times, as programs do
        for scanner in scanners:
            await asyncio.sleep(medium.random.uniform(0, 0.3))
            await scanner.start_scanning(
                legacy=True, active=False, scan_interval=1280, scan_window=11.25
            )
        await asyncio.sleep(5.0)
        return len(heard), len(scanners)

    heard, total = run_virtual(main)
    # about one in six (0.17 expected): 20 of 120, give or take chance
    assert 8 <= heard <= 34, (heard, total)


def test_continuous_scan_hears_every_advertising_event() -> None:
    async def main() -> int:
        medium = Medium(fast=False, seed=2)
        advertiser, scanner = await device_on(medium, "adv"), await device_on(medium, "scan")
        reports = []
        scanner.host.on("advertising_report", reports.append)
        await scanner.start_scanning(legacy=True, active=False, scan_interval=100, scan_window=100)
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_interval_min=100,
            advertising_interval_max=100,
        )
        await asyncio.sleep(10.0)
        return len([r for r in reports if r.address == advertiser.random_address])

    events = run_virtual(main)
    # one report per event (the scanner is on one channel at a time): 10 s / ~105 ms
    assert 85 <= events <= 100


@pytest.mark.parametrize("interval_ms", [7.5, 50.0])
def test_read_takes_one_to_two_connection_intervals(interval_ms: float) -> None:
    async def main() -> list[float]:
        medium = Medium(fast=False, seed=3)
        server, client = await device_on(medium, "server"), await device_on(medium, "client")
        characteristic = Characteristic(
            CHAR, Characteristic.Properties.READ, Characteristic.READABLE, b"value"
        )
        server.add_service(Service(SERVICE, [characteristic]))
        c, _p = await connect_at(client, server, interval_ms)
        peer = Peer(c)
        await peer.discover_services()
        await peer.discover_characteristics()
        [remote] = peer.get_characteristics_by_uuid(characteristic.uuid)
        loop = asyncio.get_running_loop()
        times = []
        for _ in range(20):
            await asyncio.sleep(medium.random.uniform(0, 0.1))
            start = loop.time()
            assert await peer.read_value(remote) == b"value"
            times.append(loop.time() - start)
        return times

    interval = interval_ms / 1000
    for duration in run_virtual(main):
        assert interval * 0.99 <= duration <= 2 * interval * 1.01


def test_supervision_timeout_drops_a_silent_peer() -> None:
    async def main() -> tuple[list[int], float]:
        medium = Medium(fast=False, seed=4)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        c, p = await connect_at(central, peripheral)
        reasons: list[int] = []
        c.on("disconnection", reasons.append)
        loop = asyncio.get_running_loop()
        gone = loop.time()
        await peripheral.transport.close()  # type: ignore[attr-defined]
        while not reasons:
            await asyncio.sleep(0.01)
        return reasons, loop.time() - gone

    reasons, after = run_virtual(main)
    assert reasons == [hci.HCI_CONNECTION_TIMEOUT_ERROR]
    assert 0.999 <= after <= 1.05  # the supervision timeout we asked for: 1000 ms


def test_energy_adds_up_and_scales_with_the_advertising_interval() -> None:
    async def main() -> dict:
        medium = Medium(fast=False, seed=5)
        fast_adv, slow_adv = await device_on(medium, "fast"), await device_on(medium, "slow")
        idle = await device_on(medium, "idle")
        for device, interval in ((fast_adv, 100), (slow_adv, 1000)):
            await device.start_advertising(
                advertising_type=AdvertisingType.UNDIRECTED,
                advertising_data=bytes(20),
                advertising_interval_min=interval,
                advertising_interval_max=interval,
            )
        await asyncio.sleep(20.0)
        return {d.name: medium.energy(d.transport.controller) for d in (fast_adv, slow_adv, idle)}  # type: ignore[attr-defined]

    reports = run_virtual(main)
    for report in reports.values():
        total = report.tx_ms + report.rx_ms + report.ramp_ms + report.off_ms
        assert total == pytest.approx(report.elapsed_ms)
    fast, slow, idle = reports["fast"], reports["slow"], reports["idle"]
    assert idle.tx_ms == idle.rx_ms == 0 and idle.average_ma == pytest.approx(0.0019)
    # 3 channels x 288 us (20 bytes of data) per event; ~190 events in 20 s at ~105 ms
    assert 3 * 0.288 * 180 <= fast.tx_ms <= 3 * 0.288 * 200
    assert 8 <= fast.tx_ms / slow.tx_ms <= 11
    assert fast.average_ma > slow.average_ma > idle.average_ma


def test_idle_connection_events_are_counted() -> None:
    async def main() -> tuple:
        medium = Medium(fast=False, seed=6)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        c, p = await connect_at(central, peripheral, interval_ms=50, latency=4)
        await asyncio.sleep(1.0)
        before_c = medium.energy(central.transport.controller)  # type: ignore[attr-defined]
        before_p = medium.energy(peripheral.transport.controller)  # type: ignore[attr-defined]
        await asyncio.sleep(10.0)
        after_c = medium.energy(central.transport.controller)  # type: ignore[attr-defined]
        after_p = medium.energy(peripheral.transport.controller)  # type: ignore[attr-defined]
        return after_c.tx_ms - before_c.tx_ms, after_p.tx_ms - before_p.tx_ms

    central_tx, peripheral_tx = run_virtual(main)
    # 200 events of an 80 us empty packet; the peripheral listens to one in five
    assert central_tx == pytest.approx(200 * 0.080, rel=0.02)
    assert peripheral_tx == pytest.approx(40 * 0.080, rel=0.05)


@pytest.mark.parametrize(
    ("phy", "dle", "interval_ms"),
    [
        (PHY_1M, False, 7.5),
        (PHY_1M, True, 7.5),
        (PHY_2M, True, 7.5),
        (PHY_1M, True, 50.0),
        (PHY_2M, False, 50.0),
    ],
)
def test_notification_throughput_matches_theory(phy: int, dle: bool, interval_ms: float) -> None:
    rate = notification_rate(phy, dle, interval_ms)
    theory = max_throughput_bps(
        int(interval_ms * 1000), 251 if dle else 27, phy, att_mtu=247 if dle else 23
    )
    assert rate == pytest.approx(theory, rel=0.10), (rate, theory)


@pytest.mark.parametrize("lag_ms", [0.0, 0.5, 1.5, 3.0])
def test_a_loop_running_late_skips_no_connection_event(lag_ms: float) -> None:
    """Every timer fires late (a busy process): the event carrying on after a host
    refilled its controller near an event's end must not cost the next event (2M
    without DLE at 50 ms lost one in three so, at 0.70-0.76 of theory), and the
    peripheral's last PDU before a pause is acknowledged in the next exchange, not in
    an exchange of its own."""
    rate = notification_rate(PHY_2M, False, 50.0, lag=lag_ms / 1000)
    theory = max_throughput_bps(50_000, 27, PHY_2M, att_mtu=23)
    assert rate == pytest.approx(theory, rel=0.02), (rate, theory)


def notification_rate(phy: int, dle: bool, interval_ms: float, lag: float = 0.0) -> float:
    """Notifications (MTU 247 and DLE, or MTU 23 and 27 octets) streamed on virtual time
    (every timer ``lag`` seconds late): application bits/s over 2 s."""

    async def main() -> float:
        medium = Medium(fast=False, seed=7)
        server, client = await device_on(medium, "server"), await device_on(medium, "client")
        characteristic = Characteristic(
            CHAR, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        server.add_service(Service(SERVICE, [characteristic]))
        c, p = await connect_at(client, server, interval_ms)
        peer = Peer(c)
        mtu = await peer.request_mtu(247 if dle else 23)
        if not dle:
            await c.set_data_length(27, 328)
            await p.set_data_length(27, 328)
        if phy == PHY_2M:
            await c.set_phy(tx_phys=[hci.Phy.LE_2M], rx_phys=[hci.Phy.LE_2M])
        await peer.discover_services()
        await peer.discover_characteristics()
        [remote] = peer.get_characteristics_by_uuid(characteristic.uuid)
        received = [0]
        await peer.subscribe(remote, lambda v: received.__setitem__(0, received[0] + len(v)))
        await asyncio.sleep(0.5)
        payload = bytes(mtu - 3)
        loop = asyncio.get_running_loop()

        queue = server.host.le_acl_packet_queue
        assert queue is not None

        async def pump() -> None:
            # keep the controller's buffers full, without flooding the host's queue
            while True:
                if queue.pending < 40:
                    await server.notify_subscriber(p, characteristic, payload)
                else:
                    await asyncio.sleep(0.0005)

        task = asyncio.create_task(pump())
        await asyncio.sleep(0.5)  # fill the pipe
        start_bytes, start = received[0], loop.time()
        await asyncio.sleep(2.0)
        rate = (received[0] - start_bytes) * 8 / (loop.time() - start)
        task.cancel()
        return rate

    return run_virtual(main, lag=lag)


def _ends(medium: Medium):
    (link,) = medium.links
    return link


@pytest.mark.parametrize(
    ("options", "phy", "octets"),
    [
        ({}, PHY_1M, 251),  # links stay on 1M; the controllers run DLE to 251
        ({"phy": "2M"}, PHY_2M, 251),  # the central moves the link to 2M by itself
        ({"data_length": 27}, PHY_1M, 27),  # no data length extension
        ({"phy": "2M", "data_length": 100}, PHY_2M, 100),
    ],
)
def test_medium_phy_and_data_length_options(options: dict, phy: int, octets: int) -> None:
    async def main() -> tuple:
        medium = Medium(fast=False, seed=8, **options)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        c, _p = await connect_at(central, peripheral)
        await asyncio.sleep(0.5)
        link = _ends(medium)
        return link.phy_c_to_p, link.phy_p_to_c, link.central.max_tx_octets, c.data_length

    c_to_p, p_to_c, max_tx, host_view = run_virtual(main)
    assert (c_to_p, p_to_c, max_tx) == (phy, phy, octets)
    if octets > 27:
        assert host_view.max_tx_octets == octets  # the host was told (LE Data Length Change)


@pytest.mark.parametrize(
    ("preferred", "expected_ms"),
    [(None, 50.0), (30.0, 30.0), (40.0, 40.0), (7.5, 30.0), (100.0, 50.0)],
)
def test_conn_interval_option_picks_within_the_hosts_range(
    preferred: float | None, expected_ms: float
) -> None:
    from bumble.device import ConnectionParametersPreferences

    async def main() -> float:
        medium = Medium(fast=False, seed=9, conn_interval_ms=preferred)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        await peripheral.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
        prefs = ConnectionParametersPreferences(
            connection_interval_min=30, connection_interval_max=50
        )
        connection = await central.connect(
            peripheral.random_address,
            timeout=5,
            connection_parameters_preferences={hci.HCI_LE_1M_PHY: prefs},
        )
        return connection.parameters.connection_interval

    assert run_virtual(main) == expected_ms


def test_event_length_option_bounds_throughput() -> None:
    """A 2.5 ms event in a 50 ms interval carries one 251-octet exchange, not nineteen."""

    async def main() -> float:
        medium = Medium(fast=False, seed=10, event_length_ms=2.5)
        server, client = await device_on(medium, "server"), await device_on(medium, "client")
        characteristic = Characteristic(
            CHAR, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        server.add_service(Service(SERVICE, [characteristic]))
        c, p = await connect_at(client, server, 50.0)
        peer = Peer(c)
        mtu = await peer.request_mtu(247)
        await peer.discover_services()
        await peer.discover_characteristics()
        [remote] = peer.get_characteristics_by_uuid(characteristic.uuid)
        received = [0]
        await peer.subscribe(remote, lambda v: received.__setitem__(0, received[0] + len(v)))
        queue = server.host.le_acl_packet_queue
        assert queue is not None

        async def pump() -> None:
            while True:
                if queue.pending < 40:
                    await server.notify_subscriber(p, characteristic, bytes(mtu - 3))
                else:
                    await asyncio.sleep(0.0005)

        task = asyncio.create_task(pump())
        await asyncio.sleep(0.5)
        start_bytes, start = received[0], asyncio.get_running_loop().time()
        await asyncio.sleep(2.0)
        task.cancel()
        return (received[0] - start_bytes) * 8 / (asyncio.get_running_loop().time() - start)

    rate = run_virtual(main)
    theory = max_throughput_bps(50_000, 251, PHY_1M, att_mtu=247, event_us=2500)
    assert theory == pytest.approx(244 * 8 * 20)  # one notification per event
    assert rate == pytest.approx(theory, rel=0.10), (rate, theory)


@pytest.mark.parametrize(
    ("adv_ms", "scan_interval_ms", "window_ms", "low", "high"),
    [
        # 20 s of a 100 ms advertiser (about 190 events of ~105 ms)
        (100, 100, 100, 175, 200),  # continuous: every event
        (100, 100, 50, 80, 110),  # half the time: about half of them
        (100, 1000, 100, 13, 26),  # 10 % duty, windows sparser than events
        (250, 100, 25, 10, 30),  # a quarter of ~78 events
    ],
)
def test_advertising_heard_at_the_rate_of_interval_and_window(
    adv_ms: int, scan_interval_ms: int, window_ms: int, low: int, high: int
) -> None:
    async def main() -> int:
        medium = Medium(fast=False, seed=11)
        advertiser, scanner = await device_on(medium, "adv"), await device_on(medium, "scan")
        reports = []
        scanner.host.on("advertising_report", reports.append)
        await scanner.start_scanning(
            legacy=True, active=False, scan_interval=scan_interval_ms, scan_window=window_ms
        )
        await advertiser.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_interval_min=adv_ms,
            advertising_interval_max=adv_ms,
        )
        await asyncio.sleep(20.0)
        return len([r for r in reports if r.address == advertiser.random_address])

    assert low <= run_virtual(main) <= high


def test_connection_update_arrives_and_events_follow_the_new_interval() -> None:
    async def main() -> tuple:
        medium = Medium(fast=False, seed=12)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        c, p = await connect_at(central, peripheral, interval_ms=50)
        updates: list[tuple[str, float]] = []
        c.on(
            "connection_parameters_update",
            lambda: updates.append(("c", c.parameters.connection_interval)),
        )
        p.on(
            "connection_parameters_update",
            lambda: updates.append(("p", p.parameters.connection_interval)),
        )
        await asyncio.sleep(1.0)
        changed_at = asyncio.get_running_loop().time()
        await c.update_parameters(
            connection_interval_min=100,
            connection_interval_max=100,
            max_latency=0,
            supervision_timeout=2000,
        )
        await asyncio.sleep(2.0)
        spans = [a for a in medium.activity() if a.label == "central" and a.kind == "connection"]
        return updates, changed_at, spans

    updates, changed_at, spans = run_virtual(main)
    assert sorted(updates) == [("c", 100.0), ("p", 100.0)]
    before = [a.start for a in spans if a.start < changed_at]
    after = [a.start for a in spans if a.start > changed_at + 0.25]
    gaps_before = {round(b - a, 4) for a, b in zip(before[-10:], before[-9:], strict=False)}
    gaps_after = {round(b - a, 4) for a, b in zip(after, after[1:], strict=False)}
    assert gaps_before == {0.05} and gaps_after == {0.1}, (gaps_before, gaps_after)


def test_activity_and_energy_of_a_connected_scanner_add_up() -> None:
    """A central that scans (25 % duty) while connected: its timeline shows the three kinds
    of radio work and its radio time adds up to the time elapsed."""

    async def main() -> tuple:
        medium = Medium(fast=False, seed=13)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        await connect_at(central, peripheral, interval_ms=30)
        await central.start_scanning(legacy=True, active=True, scan_interval=100, scan_window=25)
        await asyncio.sleep(5.0)
        report = medium.energy(central.transport.controller)  # type: ignore[attr-defined]
        return medium.activity(), report

    spans, report = run_virtual(main)
    kinds = {(a.label, a.kind) for a in spans}
    assert {("peri", "advertising"), ("central", "connecting")} <= kinds
    assert {("central", "connection"), ("peri", "connection"), ("central", "scanning")} <= kinds
    scanning = sum(a.on for a in spans if a.label == "central" and a.kind == "scanning")
    assert scanning == pytest.approx(5.0 * 0.25, rel=0.02)
    events = sum(a.events for a in spans if a.label == "peri" and a.kind == "connection")
    assert 5.0 / 0.03 <= events <= 5.2 / 0.03 + 2  # every 30 ms event is on the timeline
    total = report.tx_ms + report.rx_ms + report.ramp_ms + report.off_ms
    assert total == pytest.approx(report.elapsed_ms)


def test_a_scanner_that_connects_goes_back_to_its_own_scan() -> None:
    """The initiator listens all the time while it connects; once connected, a central that
    was scanning listens only in its own (1 %) windows again."""

    async def main() -> tuple:
        medium = Medium(fast=False, seed=14)
        central, peripheral = await device_on(medium, "central"), await device_on(medium, "peri")
        await central.start_scanning(legacy=True, active=False, scan_interval=1000, scan_window=10)
        await connect_at(central, peripheral, interval_ms=50)
        controller = central.transport.controller  # type: ignore[attr-defined]
        before = medium.energy(controller)
        await asyncio.sleep(10.0)
        after = medium.energy(controller)
        return after.rx_ms - before.rx_ms

    rx_ms = run_virtual(main)
    # 10 windows of 10 ms, plus 200 empty connection events (about 0.1 ms of RX each)
    assert 100 <= rx_ms <= 130, rx_ms


def test_reads_right_after_a_connection_update_wait_for_the_new_interval_only() -> None:
    async def main() -> list[float]:
        medium = Medium(fast=False, seed=15)
        server, client = await device_on(medium, "server"), await device_on(medium, "client")
        value = Characteristic(CHAR, Characteristic.Properties.READ, Characteristic.READABLE, b"v")
        server.add_service(Service(SERVICE, [value]))
        c, _ = await connect_at(client, server, interval_ms=50)
        peer = Peer(c)
        await peer.discover_services()
        await peer.discover_characteristics()
        [remote] = peer.get_characteristics_by_uuid(value.uuid)
        await asyncio.sleep(10.0)  # many events into the first segment
        await c.update_parameters(15, 15, 0, 1000)
        await asyncio.sleep(0.1)
        loop, took = asyncio.get_running_loop(), []
        for _ in range(3):
            start = loop.time()
            await peer.read_value(remote)
            took.append(loop.time() - start)
        return took

    took = run_virtual(main)
    assert all(0.015 <= t <= 0.031 for t in took), took  # one to two 15 ms intervals


def test_a_scan_cut_short_by_close_or_reset_is_still_reported() -> None:
    async def main() -> list:
        medium = Medium(fast=False, seed=16)
        records: list = []
        medium.scan_watchers.append(records.append)
        a, b = await device_on(medium, "a"), await device_on(medium, "b")
        for device in (a, b):
            await device.start_scanning(legacy=True, active=False)
        await asyncio.sleep(1.0)
        a.transport.controller.close()  # type: ignore[attr-defined]  # the process died
        await b.power_on()  # the host starts over: HCI_Reset mid-scan
        await asyncio.sleep(0.1)
        return records

    assert sorted(r.label for r in run_virtual(main)) == ["a", "b"]

"""The air-time arithmetic, table-driven."""

from __future__ import annotations

import pytest

from bleradio.air.airtime import (
    NRF52832,
    PHY_1M,
    PHY_2M,
    CurrentProfile,
    RadioTime,
    adv_pdu_time_us,
    exchange_time_us,
    max_throughput_bps,
    packets_per_event,
    parse_profile,
    pdu_time_us,
)


@pytest.mark.parametrize(
    ("payload", "phy", "mic", "expected"),
    [
        (0, PHY_1M, False, 80),  # empty data PDU: 10 octets at 1 us/bit
        (0, PHY_1M, True, 80),  # an empty PDU carries no MIC
        (27, PHY_1M, False, 296),
        (27, PHY_1M, True, 328),  # the spec's minimum maxTxTime
        (251, PHY_1M, True, 2120),  # the spec's maximum for 1M
        (0, PHY_2M, False, 44),
        (251, PHY_2M, False, 1048),
        (251, PHY_2M, True, 1064),
    ],
)
def test_pdu_time(payload: int, phy: int, mic: bool, expected: int) -> None:
    assert pdu_time_us(payload, phy, mic=mic) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [(0, 128), (3, 152), (31, 376)],  # ADV_IND with 31 bytes of AD data: 376 us
)
def test_adv_pdu_time(data: int, expected: int) -> None:
    assert adv_pdu_time_us(data) == expected


def test_exchange_and_packets_per_event() -> None:
    assert exchange_time_us(27, 0) == 296 + 150 + 80 + 150
    assert packets_per_event(7350, 27) == 10
    assert packets_per_event(100, 251) == 1  # an event always carries one packet


@pytest.mark.parametrize(
    ("interval_us", "data", "mtu", "phy", "kbps"),
    [
        # published application limits: about 800 kbit/s on 1M and 1.4 Mbit/s on 2M (DLE)
        (50_000, 251, 247, PHY_1M, 781),
        (50_000, 251, 247, PHY_2M, 1366),
        (7_500, 251, 247, PHY_1M, 521),  # two 2.5 ms exchanges fit a 7.5 ms event
        (7_500, 251, 247, PHY_2M, 1301),
        (7_500, 27, 23, PHY_1M, 213),  # no DLE: 20-byte notifications
        (50_000, 27, 23, PHY_1M, 234),
        (50_000, 27, 247, PHY_1M, 285),  # MTU 247 over 27-octet packets (10 each)
    ],
)
def test_max_throughput(interval_us: int, data: int, mtu: int, phy: int, kbps: int) -> None:
    assert round(max_throughput_bps(interval_us, data, phy, att_mtu=mtu) / 1000) == kbps


@pytest.mark.parametrize(
    ("tx", "rx", "ramps", "elapsed", "average_ua"),
    [
        (0, 0, 0, 1_000_000, 1.9),  # idle only
        (1000, 0, 0, 1_000_000, 5.3 + 1.9 * 0.999),  # 1 ms of TX per second
        (0, 1000, 1, 1_000_000, 5.4 + 5.4 * 0.14 + 1.9 * (1 - 0.00114)),
    ],
)
def test_energy(tx: float, rx: float, ramps: int, elapsed: float, average_ua: float) -> None:
    time = RadioTime()
    time.add(tx_us=tx, rx_us=rx, ramps=ramps)
    report = time.report(elapsed, NRF52832)
    assert report.average_ma * 1000 == pytest.approx(average_ua, rel=1e-6)
    assert report.tx_ms + report.rx_ms + report.ramp_ms + report.off_ms == pytest.approx(
        elapsed / 1000
    )
    assert report.charge_uc == pytest.approx(report.average_ma * elapsed / 1000)


@pytest.mark.parametrize(
    ("adv_ms", "interval_ms", "window_ms", "duration_s", "expected"),
    [
        # the seed's central (aioble's default scan) and its 250 ms sensor: one in six
        (250, 1280, 11.25, 5.0, 0.165),
        (100, 1280, 11.25, 5.0, 0.364),  # a faster advertiser: about one in three
        (250, 1280, 11.25, 60.0, 0.88),  # a minute of the same scan
        (250, 30, 30, 5.0, 1.0),  # continuous: the first event is heard
        (250, 30, 30, 0.1, 0.392),  # ... if one comes within the scan
        (250, 100, 50, 1.0, 0.933),  # 50 % duty for a second: ~4 events, each 1 in 2
        (250, 1280, 11.25, 0.0, 0.0),
        (20, 1280, 30, 1.0, 1.0),  # a window longer than the advertising interval
    ],
)
def test_discovery_probability(
    adv_ms: float, interval_ms: float, window_ms: float, duration_s: float, expected: float
) -> None:
    from bleradio.air.airtime import discovery_probability

    odds = discovery_probability(adv_ms / 1000, interval_ms / 1000, window_ms / 1000, duration_s)
    assert odds == pytest.approx(expected, abs=0.005)


@pytest.mark.parametrize(
    ("interval_ms", "window_ms", "seconds"),
    [(1280, 11.25, 65.3), (30, 30, 0.2295), (100, 50, 0.867)],
)
def test_scan_time_for_90_percent(interval_ms: float, window_ms: float, seconds: float) -> None:
    from bleradio.air.airtime import discovery_probability, scan_time_for

    needed = scan_time_for(0.9, 0.25, interval_ms / 1000, window_ms / 1000)
    assert needed == pytest.approx(seconds, abs=0.01)
    assert discovery_probability(0.25, interval_ms / 1000, window_ms / 1000, needed) >= 0.9 - 1e-9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nrf52832", NRF52832),
        ("nRF52832", NRF52832),
        ("esp32=130,95,0.8,150", CurrentProfile("esp32", 130.0, 95.0, 0.8, 150, 95.0)),
        ("10,11,0.001,100", CurrentProfile("custom", 10.0, 11.0, 0.001, 100, 11.0)),
    ],
)
def test_parse_profile(text: str, expected: CurrentProfile) -> None:
    assert parse_profile(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cc2640", "expected a name"),
        ("1,2,3", "expected a name"),
        ("a,2,3,4", "must be numbers"),
        ("1,2,3,-4", "must not be negative"),
    ],
)
def test_parse_profile_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_profile(text)

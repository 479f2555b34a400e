"""The channel model's pure functions, against published figures (table tests)."""

from __future__ import annotations

import math

import pytest

from bleradio.air import channel
from bleradio.air.airtime import PHY_1M, PHY_2M


def test_reference_loss_is_free_space_at_one_metre() -> None:
    # Friis at 2.44 GHz: 20 log10(4 pi / 0.12287 m)
    assert channel.REFERENCE_LOSS_DB == pytest.approx(40.2, abs=0.05)


@pytest.mark.parametrize(
    ("distance", "exponent", "loss"),
    [
        (1.0, 2.0, 40.2),
        (10.0, 2.0, 60.2),
        (100.0, 2.0, 80.2),
        (10.0, 3.0, 70.2),
        (2.0, 2.0, 46.2),
        (0.01, 2.0, 20.2),  # nearer than 10 cm counts as 10 cm
    ],
)
def test_path_loss_is_log_distance(distance: float, exponent: float, loss: float) -> None:
    assert channel.path_loss_db(distance, exponent) == pytest.approx(loss, abs=0.05)


def test_received_power_takes_tx_power_and_walls() -> None:
    assert channel.mean_rx_power_dbm(0, 10) == pytest.approx(-60.2, abs=0.05)
    assert channel.mean_rx_power_dbm(4, 10, extra_db=12) == pytest.approx(-68.2, abs=0.05)


@pytest.mark.parametrize(
    ("power", "rssi"), [(-60.4, -60), (-200.0, -127), (30.0, 20), (-math.inf, -127)]
)
def test_rssi_is_rounded_and_clamped_to_what_hci_carries(power: float, rssi: int) -> None:
    assert channel.rssi(power) == rssi


def test_packet_error_rate_at_sensitivity_is_the_specifications_30_8_percent() -> None:
    # Core Vol 6 Part A 4.1: BER 0.1 % with 37-octet payloads is 30.8 % PER
    assert channel.packet_error_rate(-96, 37, PHY_1M) == pytest.approx(0.308, abs=0.001)
    assert channel.packet_error_rate(-93, 37, PHY_2M) == pytest.approx(0.308, abs=0.001)


@pytest.mark.parametrize(
    ("power", "octets", "low", "high"),
    [
        (-60.0, 251, 0.0, 0.0),  # 36 dB over: nothing lost
        (-90.0, 251, 0.0, 1e-6),  # 6 dB over: next to nothing
        (-96.0, 251, 0.85, 0.9),  # a long packet at the sensitivity: mostly lost
        (-96.0, 0, 0.06, 0.08),  # an empty one: about one in fifteen
        (-100.0, 27, 0.999, 1.0),  # below: lost
    ],
)
def test_packet_error_rate_falls_with_power_and_rises_with_length(
    power: float, octets: int, low: float, high: float
) -> None:
    assert low <= channel.packet_error_rate(power, octets) <= high


def test_extra_loss_adds_independently() -> None:
    assert channel.packet_error_rate(-60, 100, extra_per=0.3) == pytest.approx(0.3)
    assert channel.packet_error_rate(-96, 37, extra_per=0.5) == pytest.approx(
        1 - (1 - 0.308) * 0.5, abs=0.001
    )
    assert channel.packet_error_rate(-math.inf, 10) == 1.0


@pytest.mark.parametrize(
    ("signal", "interferers", "survives"),
    [
        (-50, [], True),
        (-50, [-72], True),  # 22 dB over
        (-50, [-70], False),  # 20 dB: short of the 21 dB co-channel C/I
        (-50, [-75, -75], True),  # two at -75 add up to -72: 22 dB under
        (-50, [-70, -80], False),
        (-60, [-60], False),
        (-50, [-math.inf], True),
    ],
)
def test_capture_needs_a_clear_margin(signal: float, interferers: list, survives: bool) -> None:
    assert channel.captured(signal, interferers) is survives


@pytest.mark.parametrize(
    ("start", "end", "packets", "senders"),
    [
        (0.0, 1.0, [], []),
        (0.0, 1.0, [(0.5, 1.5, "a"), (1.0, 2.0, "b"), (-1.0, 0.0, "c")], ["a"]),  # ends touch
        (0.0, 1.0, [(-1.0, 2.0, "a"), (0.2, 0.3, "b"), (2.0, 3.0, "c")], ["a", "b"]),
    ],
)
def test_overlapping_keeps_what_shares_an_instant(
    start: float, end: float, packets: list, senders: list
) -> None:
    assert channel.overlapping(start, end, packets) == senders


@pytest.mark.parametrize(
    ("hop_a", "counter_a", "hop_b", "counter_b", "events", "meetings"),
    [
        (5, 0, 7, 0, 37, 1),  # different hops: once in every 37 events (37 is prime)
        (5, 100, 16, 3, 370, 10),
        (9, 4, 12, 40, 74, 2),
        (7, 0, 7, 0, 37, 37),  # one hop, one counter: always
        (7, 0, 7, 1, 37, 0),  # one hop, counters apart: never
    ],
)
def test_two_links_meet_on_a_data_channel_once_in_37_events(
    hop_a: int, counter_a: int, hop_b: int, counter_b: int, events: int, meetings: int
) -> None:
    assert channel.csa1_meetings(hop_a, counter_a, hop_b, counter_b, events) == meetings


@pytest.mark.parametrize(
    ("offset", "first", "second"),
    [(0.0, 2 / 37, 1 / 37), (0.5, 1.5 / 37, 1.5 / 37), (0.2, 1.8 / 37, 1.2 / 37)],
)
def test_two_streaming_links_lose_three_events_in_37_between_them(
    offset: float, first: float, second: float
) -> None:
    lost = channel.streaming_pair_loss(offset)
    assert lost == pytest.approx((first, second))
    assert sum(lost) == pytest.approx(3 / 37)


def test_csa1_hops_over_every_channel_and_remaps_unused_ones() -> None:
    assert [channel.csa1(n, 7) for n in range(6)] == [7, 14, 21, 28, 35, 5]
    for hop in range(5, 17):
        assert sorted(channel.csa1(n, hop) for n in range(37)) == list(range(37))
    first_ten = (1 << 10) - 1
    assert channel.csa1(1, 7, first_ten) == 14 % 10


def test_csa2_matches_the_specifications_sample_data() -> None:
    # Core Vol 6 Part C 3.1 (sample data 1 and 2): access address 0x8E89BED6
    assert [channel.csa2(n, 0x8E89BED6) for n in range(4)] == [25, 20, 6, 21]
    nine = sum(1 << c for c in (9, 10, 21, 22, 23, 33, 34, 35, 36))
    assert [channel.csa2(n, 0x8E89BED6, nine) for n in (6, 7, 8)] == [23, 9, 34]
    assert channel.used_channels(nine) == [9, 10, 21, 22, 23, 33, 34, 35, 36]


@pytest.mark.parametrize(
    ("others", "pdu_us", "period_us", "odds"),
    [
        (0, 376, 100_000, 1.0),
        (1, 376, 100_000, 1 - 0.00752),
        (999, 376, 1_005_000, (1 - 752 / 1_005_000) ** 999),
        (10, 60_000, 100_000, 0.0),
    ],
)
def test_collision_survival_is_pure_aloha(
    others: int, pdu_us: float, period_us: float, odds: float
) -> None:
    assert channel.collision_survival(others, pdu_us, period_us) == pytest.approx(odds)


@pytest.mark.parametrize("source_is_central", [True, False])
def test_delivered_per_event_without_loss_is_every_exchange(source_is_central: bool) -> None:
    assert channel.delivered_per_event(
        20, 0.0, 0.0, source_is_central=source_is_central
    ) == pytest.approx(20)


def test_delivered_per_event_under_loss() -> None:
    # one exchange: delivered if the source's packet gets through
    assert channel.delivered_per_event(1, 0.2, 0.0, source_is_central=True) == pytest.approx(0.8)
    # the peripheral streaming, every answer of the central lost: its first PDU goes,
    # then it never hears an acknowledgement and repeats it (never taken twice)
    assert channel.delivered_per_event(20, 1.0, 0.0, source_is_central=False) == pytest.approx(0.0)
    # two CRC errors in a row close the event: heavy loss cuts events short
    heavy = channel.delivered_per_event(20, 0.5, 0.5, source_is_central=False)
    light = channel.delivered_per_event(20, 0.1, 0.1, source_is_central=False)
    assert 0 < heavy < 2 < light < 20 * 0.9 * 0.9 + 1
    # symmetric loss: either way round gives the same
    assert heavy == pytest.approx(channel.delivered_per_event(20, 0.5, 0.5, source_is_central=True))

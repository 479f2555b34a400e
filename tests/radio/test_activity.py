"""The activity log behind `aioble run --timeline`: merging, bounds, scan windows."""

from __future__ import annotations

import pytest

from bleradio.air.activity import ActivityLog, windows


def _spans(log: ActivityLog) -> list[tuple]:
    return [
        (a.kind, round(a.start, 6), round(a.end, 6), round(a.on, 6), a.events)
        for a in log.spans("d")
    ]


def test_events_apart_stay_apart_and_touching_ones_merge() -> None:
    log = ActivityLog()
    log.add("advertising", 0.0, 0.001)
    log.add("advertising", 0.1, 0.101)
    log.add("scanning", 0.0, 0.5)
    log.add("scanning", 0.5, 1.0)  # continuous scan windows touch: one span
    assert _spans(log) == [
        ("advertising", 0.0, 0.001, 0.001, 1),
        ("scanning", 0.0, 1.0, 1.0, 2),
        ("advertising", 0.1, 0.101, 0.001, 1),
    ]


@pytest.mark.parametrize(
    ("resolution", "expected"),
    [
        # 5 events of 0.3 ms every 50 ms: drawn one by one
        (0.0, [("connection", 0.05 * i, 0.05 * i + 0.0003, 0.0002, 1) for i in range(5)]),
        # a resolution coarser than the gaps: one span, on time and count kept
        (0.06, [("connection", 0.0, 0.2003, 0.001, 5)]),
    ],
)
def test_periodic_events(resolution: float, expected: list[tuple]) -> None:
    log = ActivityLog(resolution=resolution)
    log.add_periodic("connection", 0.0, 0.05, 5, 0.0003, 0.0002)
    assert _spans(log) == [
        (k, round(s, 6), round(e, 6), round(o, 6), n) for k, s, e, o, n in expected
    ]


def test_memory_is_bounded_and_on_time_is_kept() -> None:
    log = ActivityLog(max_spans=100)
    for i in range(100_000):  # 7.5 ms connection events for 750 s
        log.add("connection", i * 0.0075, i * 0.0075 + 0.0003, 0.0002)
    assert len(log) <= 100
    spans = log.spans("d")
    assert sum(a.events for a in spans) == 100_000
    assert sum(a.on for a in spans) == pytest.approx(100_000 * 0.0002)
    assert spans[0].start == 0.0 and spans[-1].end == pytest.approx(99_999 * 0.0075 + 0.0003)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        (0.0, 2.6, [(0.0, 0.01), (1.0, 1.01), (2.0, 2.01)]),
        (0.005, 1.005, [(0.005, 0.01), (1.0, 1.005)]),  # cut at both ends
        (0.02, 0.9, []),  # between two windows
    ],
)
def test_scan_windows(since: float, until: float, expected: list[tuple]) -> None:
    log = ActivityLog()
    windows(log, "scanning", 0.0, 1.0, 0.01, since, until)
    assert [(round(a.start, 6), round(a.end, 6)) for a in log.spans("d")] == expected

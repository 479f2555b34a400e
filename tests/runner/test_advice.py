"""`aioble run`'s warning about scans unlikely to hear an advertiser (pure, table-driven)."""

from __future__ import annotations

import pytest

from bleradio.air.medium import ScanRecord
from blerun.advice import scan_warning


def _scan(duration: float, interval: float, window: float, last_report: float | None = None):
    return ScanRecord("central", 10.0, 10.0 + duration, interval, window, True, 0, last_report)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # the seed's central: aioble's default 11.25 ms / 1.28 s for 5 s
        (
            _scan(5.0, 1.28, 0.01125),
            "central: its scan listened 11.25 ms every 1280 ms (0.9% duty) for 5.00 s: that "
            "hears an advertiser at 250 ms only 17% of the time. To hear it 90% of the time, "
            "scan for ~65 s at this duty, or listen longer per interval "
            "(e.g. aioble.scan(..., interval_us=30000, window_us=30000)).",
        ),
        # the same scan, ended 40 ms after a report: the program found what it wanted
        (_scan(2.6, 1.28, 0.01125, last_report=12.56), None),
        # ... but a report long before the end does not excuse it
        (_scan(5.0, 1.28, 0.01125, last_report=11.0), "central: its scan listened"),
        (_scan(5.0, 0.03, 0.03), None),  # continuous: hears it at once
        (_scan(60.0, 1.28, 0.01125), None),  # a minute: 88 %
        (_scan(1.0, 0.1, 0.05), None),  # half duty for a second: 93 %
        (
            _scan(0.1, 0.1, 0.1),
            "central: its scan listened all the time for 0.10 s: that hears an advertiser at "
            "250 ms only 39% of the time. To hear it 90% of the time, scan for 0.2 s or longer.",
        ),
    ],
)
def test_scan_warning(record: ScanRecord, expected: str | None) -> None:
    warning = scan_warning(record)
    if expected is None:
        assert warning is None
    else:
        assert warning is not None and warning.startswith(expected), warning

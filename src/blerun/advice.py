"""What `aioble run` tells a program's author about its radio use, as pure functions.

`scan_warning(record)`: a scan whose duty cycle made discovering a typical advertiser
unlikely within the time it ran. On a real radio a scan hears only inside its windows:
aioble's default (11.25 ms every 1.28 s, under 1 % duty) hears a 250 ms advertiser in 5 s
about one time in six. The virtual radio keeps that truth; this makes it visible.
"""

from __future__ import annotations

from typing import Any

from bleradio.air.airtime import (
    TYPICAL_ADVERTISING_INTERVAL_S,
    discovery_probability,
    scan_time_for,
)

# Below these odds of hearing the typical advertiser, a scan gets a warning.
UNLIKELY = 0.5


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:g} ms"


def scan_warning(record: Any, adv_interval: float = TYPICAL_ADVERTISING_INTERVAL_S) -> str | None:
    """A warning for one finished scan (`label`, `start`, `end`, `interval`, `window`
    seconds, `last_report`), or None when it was likely to hear an advertiser at
    `adv_interval`, or ended within one scan interval of a report (the program had
    probably found what it scanned for)."""
    duration = record.end - record.start
    if record.last_report is not None and record.end - record.last_report <= record.interval:
        return None
    odds = discovery_probability(adv_interval, record.interval, record.window, duration)
    if odds >= UNLIKELY:
        return None
    continuous = record.window >= record.interval
    duty = min(1.0, record.window / record.interval)
    need = scan_time_for(0.9, adv_interval, record.interval, record.window)
    listened = (
        "listened all the time"
        if continuous
        else f"listened {_ms(record.window)} every {_ms(record.interval)} ({duty:.1%} duty)"
    )
    advice = (
        f"scan for {need:.1f} s or longer"
        if continuous
        else f"scan for ~{need:.0f} s at this duty, or listen longer per interval "
        "(e.g. aioble.scan(..., interval_us=30000, window_us=30000))"
    )
    return (
        f"{record.label}: its scan {listened} for {duration:.2f} s: that hears an advertiser "
        f"at {_ms(adv_interval)} only {odds:.0%} of the time. To hear it 90% of the time, "
        f"{advice}."
    )

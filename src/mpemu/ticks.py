"""MicroPython's `time` extras: `ticks_*` with wrap-around, `sleep_ms`, `sleep_us`.

Ticks count in a period of 2**30, as on a 32-bit board (MicroPython masks ticks to its
positive small-int range), so a program that mishandles wrap-around fails here as it would
there. `ticks_diff` and `ticks_add` are the only correct ways to do arithmetic on them.
"""

from __future__ import annotations

import time

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
TICKS_HALFPERIOD = TICKS_PERIOD // 2


def ticks_ms() -> int:
    return (time.monotonic_ns() // 1_000_000) & TICKS_MAX


def ticks_us() -> int:
    return (time.monotonic_ns() // 1_000) & TICKS_MAX


def ticks_cpu() -> int:
    # The highest-resolution counter there is; like a board's, its unit is unspecified.
    return time.perf_counter_ns() & TICKS_MAX


def ticks_diff(ticks1: int, ticks2: int) -> int:
    """Signed distance from `ticks2` to `ticks1`, correct across one wrap-around."""
    return ((ticks1 - ticks2 + TICKS_HALFPERIOD) & TICKS_MAX) - TICKS_HALFPERIOD


def ticks_add(ticks: int, delta: int) -> int:
    """`ticks` moved by `delta`; OverflowError where `ticks_diff` could not undo it."""
    if not -TICKS_HALFPERIOD < delta < TICKS_HALFPERIOD:
        raise OverflowError("ticks interval overflow")
    return (ticks + delta) & TICKS_MAX


def sleep_ms(ms: int | float) -> None:
    if ms > 0:
        time.sleep(ms / 1000)


def sleep_us(us: int | float) -> None:
    if us > 0:
        time.sleep(us / 1_000_000)


NAMES = ("ticks_ms", "ticks_us", "ticks_cpu", "ticks_diff", "ticks_add", "sleep_ms", "sleep_us")

"""Radio activity per device, for a timeline: when its radio was busy, and with what.

Each device of an air-time medium keeps an ``ActivityLog``: spans of one ``kind``
("advertising" events, "scanning" and "connecting" windows, "connection" events) with
their start, end and radio-on time. Spans closer than the log's ``resolution`` merge
into one (its ``on`` time adds up, so the duty cycle inside it stays known). When a log
holds more than ``max_spans`` spans its resolution doubles and it merges again, so
memory is bounded however long a device runs: a long run keeps fine detail where the
radio was sparse and coarse bands where it was dense.

Pure bookkeeping: times are the medium's clock in seconds, nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_SPANS = 4096  # per device and kind
FIRST_COARSE_RESOLUTION = 0.001  # s: the resolution once a log first overflows


@dataclass(frozen=True)
class Activity:
    """One span of a device's radio activity (``RadioServer.activity()``)."""

    label: str  # the device (a program's name under ``aioble run``)
    kind: str  # "advertising", "scanning", "connecting" or "connection"
    start: float  # s, on the medium's clock
    end: float
    on: float  # s of radio-on time inside the span (<= end - start)
    events: int = 1  # radio events merged into this span


class ActivityLog:
    """The spans of one device, merged where closer than ``resolution`` (see module)."""

    def __init__(self, max_spans: int = MAX_SPANS, resolution: float = 0.0) -> None:
        self.max_spans = max_spans
        self.resolution = resolution
        # kind -> spans as [start, end, on, events], in the order added
        self._spans: dict[str, list[list[float]]] = {}

    def add(self, kind: str, start: float, end: float, on: float | None = None) -> None:
        """A radio event (or several, merged) from ``start`` to ``end``."""
        self._add(kind, start, end, end - start if on is None else on, 1)

    def _add(self, kind: str, start: float, end: float, on: float, events: int) -> None:
        spans = self._spans.get(kind)
        if spans is None:
            spans = self._spans[kind] = []
        if spans:
            last = spans[-1]
            if last[0] <= start and start - last[1] <= self.resolution:
                if end > last[1]:
                    last[1] = end
                last[2] += on
                last[3] += events
                return
        spans.append([start, end, on, events])
        if len(spans) > self.max_spans:
            self._coarsen(spans)

    def add_periodic(
        self, kind: str, first: float, period: float, count: int, length: float, on: float
    ) -> None:
        """``count`` events of ``length`` s (``on`` s of radio each) every ``period`` s from
        ``first``; one span at once where they are closer than the resolution."""
        i = 0
        while i < count:
            if period - length <= self.resolution:
                rest = count - i
                start = first + i * period
                self._add(kind, start, start + (rest - 1) * period + length, rest * on, rest)
                return
            start = first + i * period
            self._add(kind, start, start + length, on, 1)
            i += 1

    def _coarsen(self, spans: list[list[float]]) -> None:
        while len(spans) > self.max_spans // 2:
            self.resolution = max(self.resolution * 2, FIRST_COARSE_RESOLUTION)
            spans.sort(key=lambda s: s[0])
            merged: list[list[float]] = []
            for span in spans:
                if merged and span[0] - merged[-1][1] <= self.resolution:
                    last = merged[-1]
                    last[1] = max(last[1], span[1])
                    last[2] += span[2]
                    last[3] += span[3]
                else:
                    merged.append(span)
            spans[:] = merged

    def spans(self, label: str) -> list[Activity]:
        """Every span, labelled, in time order."""
        out = [
            Activity(label, kind, s[0], s[1], s[2], int(s[3]))
            for kind, spans in self._spans.items()
            for s in spans
        ]
        out.sort(key=lambda a: (a.start, a.kind))
        return out

    def __len__(self) -> int:
        return sum(len(spans) for spans in self._spans.values())


def windows(
    log: ActivityLog,
    kind: str,
    origin: float,
    interval: float,
    window: float,
    since: float,
    until: float,
) -> None:
    """Add the parts of scan windows (``window`` s every ``interval`` s from ``origin``)
    that lie between ``since`` and ``until``."""
    if until <= since or interval <= 0:
        return
    k_first = max(0, int((since - origin) // interval))
    k_last = int((until - origin) // interval)
    for k in (k_first, k_last) if k_last > k_first else (k_first,):
        start = max(since, origin + k * interval)
        end = min(until, origin + k * interval + window)
        if k == k_last and k_last > k_first:
            # the middle windows, whole, go in before the last one
            middle = k_last - k_first - 1
            if middle > 0:
                first = origin + (k_first + 1) * interval
                log.add_periodic(kind, first, interval, middle, window, window)
        if end > start:
            log.add(kind, start, end)

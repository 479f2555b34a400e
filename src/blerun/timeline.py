"""The `aioble run --timeline FILE.svg` drawing: each device's radio activity on one time
axis, as a pure function from spans to SVG text.

A span is anything with `label` (the program), `kind` ("advertising", "scanning",
"connecting", "connection", or any other word: it gets a colour of its own), `start` and
`end` (seconds on the radio's clock), and optionally `on` (seconds of radio-on time inside
it) and `events` (how many radio events it stands for), as `bleradio`'s `Activity` has.

Spans of one row and kind closer than a pixel are drawn as one bar; a bar whose radio was
on only part of its length (merged events, or a merged span from the radio) is drawn
lighter, in proportion, so dense-but-idle stretches do not look like solid radio time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

_KNOWN_COLOURS = {
    "advertising": "#e6862e",
    "scanning": "#3b7dd8",
    "connecting": "#8e44ad",
    "connection": "#3aa35b",
}
_OTHER_COLOURS = ("#9b59b6", "#c0392b", "#16a085", "#7f8c8d")

WIDTH = 1000
LABEL_WIDTH = 140
ROW_HEIGHT = 28
TOP = 30
AXIS_HEIGHT = 40


@dataclass(frozen=True)
class Span:
    label: str
    kind: str
    start: float
    end: float
    on: float | None = None  # radio-on seconds inside (None: all of it)
    events: int = 1


@dataclass
class _Bar:
    kind: str
    start: float
    end: float
    on: float
    events: int


def _bars(spans: list[Span], merge_gap: float) -> list[_Bar]:
    """One row's spans, merged per kind where closer than ``merge_gap`` seconds."""
    bars: list[_Bar] = []
    last: dict[str, _Bar] = {}
    for s in sorted(spans, key=lambda s: s.start):
        on = s.end - s.start if s.on is None else s.on
        bar = last.get(s.kind)
        if bar is not None and s.start - bar.end <= merge_gap:
            bar.end = max(bar.end, s.end)
            bar.on += on
            bar.events += s.events
            continue
        bar = _Bar(s.kind, s.start, s.end, on, s.events)
        last[s.kind] = bar
        bars.append(bar)
    return bars


def _tick_step(duration: float) -> float:
    """A round step giving at most about 10 ticks."""
    raw = duration / 10 if duration > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def _time_text(t: float) -> str:
    return f"{t * 1000:g} ms" if t < 1 else f"{t:g} s"


def render_timeline(spans: Iterable[Any], title: str = "radio activity") -> str:
    """SVG text: one row per label (in order of first appearance), time from the first span."""
    items = [
        Span(
            s.label,
            s.kind,
            float(s.start),
            float(s.end),
            getattr(s, "on", None),
            int(getattr(s, "events", 1)),
        )
        for s in spans
    ]
    labels = list(dict.fromkeys(s.label for s in items))
    kinds = list(dict.fromkeys(s.kind for s in items))
    colours = dict(_KNOWN_COLOURS)
    for i, kind in enumerate(k for k in kinds if k not in colours):
        colours[kind] = _OTHER_COLOURS[i % len(_OTHER_COLOURS)]
    t0 = min((s.start for s in items), default=0.0)
    duration = max((s.end for s in items), default=0.0) - t0
    scale = (WIDTH - LABEL_WIDTH - 20) / duration if duration > 0 else 0.0
    height = TOP + ROW_HEIGHT * max(1, len(labels)) + AXIS_HEIGHT + 20

    def x(t: float) -> float:
        return LABEL_WIDTH + (t - t0) * scale

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="10" y="18" font-weight="bold">{escape(title)}</text>',
    ]
    if not items:
        out.append(f'<text x="{LABEL_WIDTH}" y="{TOP + 18}">no radio activity recorded</text>')
    pixel = 1 / scale if scale else 0.0
    for row, label in enumerate(labels):
        y = TOP + row * ROW_HEIGHT
        out.append(f'<text x="10" y="{y + 18}">{escape(label)}</text>')
        out.append(
            f'<line x1="{LABEL_WIDTH}" y1="{y + ROW_HEIGHT - 2}" x2="{WIDTH - 20}" '
            f'y2="{y + ROW_HEIGHT - 2}" stroke="#ddd"/>'
        )
        for bar in _bars([s for s in items if s.label == label], pixel):
            length = bar.end - bar.start
            # At least a pixel wide: a 0.3 ms advertising event must stay visible.
            w = max(1.0, length * scale)
            duty = min(1.0, bar.on / length) if length > 0 else 1.0
            opacity = "" if duty >= 0.999 else f' fill-opacity="{0.3 + 0.7 * duty:.2f}"'
            what = escape(bar.kind) + (f" x{bar.events}" if bar.events > 1 else "")
            out.append(
                f'<rect x="{x(bar.start):.2f}" y="{y + 4}" width="{w:.2f}" '
                f'height="{ROW_HEIGHT - 10}" fill="{colours[bar.kind]}"{opacity}>'
                f"<title>{what} {_time_text(bar.start - t0)} +{length * 1000:.3f} ms, "
                f"radio on {bar.on * 1000:.3f} ms</title></rect>"
            )
    axis_y = TOP + ROW_HEIGHT * max(1, len(labels)) + 10
    out.append(
        f'<line x1="{LABEL_WIDTH}" y1="{axis_y}" x2="{WIDTH - 20}" y2="{axis_y}" stroke="black"/>'
    )
    if duration > 0:
        step = _tick_step(duration)
        for i in range(int(duration / step) + 1):
            t = i * step
            out.append(
                f'<line x1="{x(t0 + t):.2f}" y1="{axis_y}" x2="{x(t0 + t):.2f}" '
                f'y2="{axis_y + 5}" stroke="black"/>'
                f'<text x="{x(t0 + t):.2f}" y="{axis_y + 18}" text-anchor="middle">'
                f"{_time_text(round(t, 9))}</text>"
            )
    legend_x = LABEL_WIDTH
    for kind in kinds:
        out.append(
            f'<rect x="{legend_x}" y="{axis_y + 26}" width="10" height="10" '
            f'fill="{colours[kind]}"/><text x="{legend_x + 14}" y="{axis_y + 35}">'
            f"{escape(kind)}</text>"
        )
        legend_x += 24 + 7 * len(kind)
    out.append("</svg>")
    return "\n".join(out) + "\n"

"""The `aioble run --timeline FILE.svg` drawing: each device's radio activity on one time
axis, as a pure function from spans to SVG text.

A span is anything with `label` (the program), `kind` ("advertising", "scanning",
"connection", or any other word: it gets a colour of its own), `start` and `end` (seconds
on the radio's clock).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

_KNOWN_COLOURS = {"advertising": "#e6862e", "scanning": "#3b7dd8", "connection": "#3aa35b"}
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
    items = [Span(s.label, s.kind, float(s.start), float(s.end)) for s in spans]
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
    for row, label in enumerate(labels):
        y = TOP + row * ROW_HEIGHT
        out.append(f'<text x="10" y="{y + 18}">{escape(label)}</text>')
        out.append(
            f'<line x1="{LABEL_WIDTH}" y1="{y + ROW_HEIGHT - 2}" x2="{WIDTH - 20}" '
            f'y2="{y + ROW_HEIGHT - 2}" stroke="#ddd"/>'
        )
        for s in (s for s in items if s.label == label):
            # At least half a pixel wide: a 0.3 ms advertising event must stay visible.
            w = max(0.5, (s.end - s.start) * scale)
            out.append(
                f'<rect x="{x(s.start):.2f}" y="{y + 4}" width="{w:.2f}" '
                f'height="{ROW_HEIGHT - 10}" fill="{colours[s.kind]}">'
                f"<title>{escape(s.kind)} {_time_text(s.start - t0)} +"
                f"{(s.end - s.start) * 1000:.3f} ms</title></rect>"
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

"""The `aioble run --energy` table: per-label sums and formatting (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from blerun.energy import EnergyRow, energy_rows, format_energy_table


@dataclass
class Report:  # the fields of bleradio's EnergyReport that the table uses
    elapsed_ms: float
    tx_ms: float
    rx_ms: float
    ramp_ms: float
    charge_uc: float
    profile: str = "nRF52832"

    @property
    def off_ms(self) -> float:
        return self.elapsed_ms - self.tx_ms - self.rx_ms - self.ramp_ms


@dataclass
class Device:
    label: str
    energy: Any


@pytest.mark.parametrize(
    ("devices", "rows"),
    [
        ([], []),
        ([Device("a", None)], []),  # fast mode: no air time kept
        (
            [Device("a", Report(1000, 1, 2, 0.5, 10))],
            [EnergyRow("a", 1000, 1, 2, 0.5, 10, "nRF52832", off_ms=996.5)],
        ),
        (
            # a program that reset: two devices, one label, figures added up
            [
                Device("a", Report(1000, 1, 2, 0.5, 10)),
                Device("b", Report(10, 0, 0, 0, 0)),
                Device("a", Report(500, 1, 1, 0.5, 5)),
            ],
            [
                EnergyRow("a", 1500, 2, 3, 1.0, 15, "nRF52832", off_ms=1494.0),
                EnergyRow("b", 10, 0, 0, 0, 0, "nRF52832", off_ms=10),
            ],
        ),
        (
            [Device("a", Report(1, 0, 0, 0, 0, "x")), Device("a", Report(1, 0, 0, 0, 0, "y"))],
            [EnergyRow("a", 2, 0, 0, 0, 0, "mixed", off_ms=2)],
        ),
    ],
)
def test_energy_rows(devices: list[Device], rows: list[EnergyRow]) -> None:
    assert energy_rows(devices) == rows


@pytest.mark.parametrize(
    ("row", "duty", "average_ma"),
    [
        (EnergyRow("a", 1000, 5, 4, 1, 20, "p"), 0.01, 0.02),
        (EnergyRow("a", 0, 0, 0, 0, 0, "p"), 0.0, 0.0),
    ],
)
def test_derived_figures(row: EnergyRow, duty: float, average_ma: float) -> None:
    assert row.duty_cycle == pytest.approx(duty)
    assert row.average_ma == pytest.approx(average_ma)


def test_format_energy_table() -> None:
    text = format_energy_table(
        [
            EnergyRow("peripheral", 5000, 12.5, 3.25, 1.4, 101.7, "nRF52832"),
            EnergyRow("central", 900, 0.5, 40, 0.28, 222.0, "nRF52832"),
        ]
    )
    assert text.splitlines() == [
        "program     elapsed ms  TX ms  RX ms  ramp ms   duty  avg mA  charge uC",
        "peripheral        5000  12.50   3.25     1.40  0.34%  0.0203      101.7",
        "central            900   0.50  40.00     0.28  4.53%  0.2467      222.0",
        "current profile: nRF52832",
    ]
    assert "no air time" in format_energy_table([])


def test_timeline_svg() -> None:
    import xml.dom.minidom

    from blerun.timeline import Span, render_timeline

    spans = [
        Span("peri<1>", "advertising", 10.0, 10.0004),
        Span("central", "scanning", 10.1, 10.11125),
        Span("peri<1>", "connection", 10.5, 10.5006),
        Span("central", "my-kind", 10.6, 10.7),
    ]
    svg = render_timeline(spans, "a & b")
    doc = xml.dom.minidom.parseString(svg)  # well-formed, labels escaped
    texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
    assert texts[:3] == ["a & b", "peri<1>", "central"]
    assert {"advertising", "scanning", "connection", "my-kind"} <= set(texts)
    assert "0 ms" in texts  # the axis starts at the first span
    titles = [t.firstChild.data for t in doc.getElementsByTagName("title")]
    assert titles[0] == "advertising 0 ms +0.400 ms, radio on 0.400 ms"
    assert "no radio activity" in render_timeline([])

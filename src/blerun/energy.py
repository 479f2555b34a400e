"""The `--energy` table of `aioble run`: radio time and charge per program, pure functions.

Input is what the shared radio reports per device (`bleradio`'s `EnergyReport`: elapsed,
TX, RX, ramp-up and off milliseconds, charge, current profile). A program that reset or
reconnected has several devices under one label; their figures add up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EnergyRow:
    label: str
    elapsed_ms: float
    tx_ms: float
    rx_ms: float
    ramp_ms: float
    charge_uc: float
    profile: str
    off_ms: float = 0.0  # radio off: elapsed - (TX + RX + ramp), as the radio counts it

    @property
    def duty_cycle(self) -> float:
        on = self.tx_ms + self.rx_ms + self.ramp_ms
        return on / self.elapsed_ms if self.elapsed_ms > 0 else 0.0

    @property
    def average_ma(self) -> float:
        return self.charge_uc / self.elapsed_ms if self.elapsed_ms > 0 else 0.0


def energy_rows(devices: Iterable[Any]) -> list[EnergyRow]:
    """One row per label, in order of first appearance, from objects with `label` and
    `energy` (an EnergyReport, or None where the radio keeps no air time)."""
    rows: dict[str, EnergyRow] = {}
    for device in devices:
        report = getattr(device, "energy", None)
        if report is None:
            continue
        label = device.label or "?"
        previous = rows.get(label)
        row = EnergyRow(
            label,
            report.elapsed_ms,
            report.tx_ms,
            report.rx_ms,
            report.ramp_ms,
            report.charge_uc,
            report.profile,
            report.off_ms,
        )
        if previous is not None:
            row = EnergyRow(
                label,
                previous.elapsed_ms + row.elapsed_ms,
                previous.tx_ms + row.tx_ms,
                previous.rx_ms + row.rx_ms,
                previous.ramp_ms + row.ramp_ms,
                previous.charge_uc + row.charge_uc,
                previous.profile if previous.profile == row.profile else "mixed",
                previous.off_ms + row.off_ms,
            )
        rows[label] = row
    return list(rows.values())


_HEADER = ("program", "elapsed ms", "TX ms", "RX ms", "ramp ms", "duty", "avg mA", "charge uC")


def format_energy_table(rows: list[EnergyRow]) -> str:
    """A plain-text table, one line per program, and the current profile used."""
    if not rows:
        return "energy: the radio kept no air time (fast mode, or not a virtual radio)\n"
    cells = [_HEADER] + [
        (
            r.label,
            f"{r.elapsed_ms:.0f}",
            f"{r.tx_ms:.2f}",
            f"{r.rx_ms:.2f}",
            f"{r.ramp_ms:.2f}",
            f"{r.duty_cycle:.2%}",
            f"{r.average_ma:.4f}",
            f"{r.charge_uc:.1f}",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(_HEADER))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    profiles = sorted({r.profile for r in rows})
    return "\n".join(lines) + f"\ncurrent profile: {', '.join(profiles)}\n"

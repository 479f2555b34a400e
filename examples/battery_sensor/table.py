"""How the advertising and connection intervals change the sensor's average current.

Runs sensor.py against collector.py (``aioble run --energy --virtual-time`` as a library
call) on the air-time virtual radio once per combination of intervals, each in a copy of
this folder with its own config.py, a few at a time, and prints a markdown table from the
sensor's energy report (nRF52832 currents):

    python examples/battery_sensor/table.py [--readings N] [--jobs N] [--real-time]

On simulated time (the default) it takes seconds; ``--real-time`` waits for every
advertising and connection interval and every minute between readings (about 20 minutes),
for comparison. It prints the wall time
and the simulated time it took. "Awake" is the time from waking to hanging up
(advertising, then connected); the charge per reading is what a battery budget needs; the
last column is that charge spread over one reading a minute, plus the chip's sleep current
(1.9 uA).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import vclock
from bleradio.air.airtime import NRF52832
from blerun.run import run_programs_async

HERE = Path(__file__).resolve().parent
# one reading a minute, as the last column assumes (the charge per reading does not depend
# on it; on simulated time the minute costs nothing, with --real-time the table takes ~20 min)
PERIOD_MS = 60_000
# (advertising interval ms, connection interval ms); None: no collector around, the
# sensor advertises ALONE_MS for nothing each time
COMBINATIONS: list[tuple[int, float | None]] = [
    (adv, conn) for adv in (100, 500, 1000) for conn in (7.5, 50, 200)
] + [(adv, None) for adv in (100, 500, 1000)]
ALONE_MS = 5000


def _config(adv_ms: int, conn_ms: float | None, readings: int) -> str:
    text = (HERE / "config.py").read_text()
    values = {
        "ADV_INTERVAL_MS": adv_ms,
        "ADV_TIMEOUT_MS": ALONE_MS if conn_ms is None else 20000,
        "CONN_INTERVAL_MS": conn_ms or 50,
        "PERIOD_MS": PERIOD_MS,
        "READINGS": readings,
    }
    lines = []
    for line in text.splitlines():
        name = line.split("=")[0].strip()
        lines.append(f"{name} = {values[name]!r}" if name in values else line)
    return "\n".join(lines) + "\n"


async def measure(
    adv_ms: int, conn_ms: float | None, readings: int, virtual_time: bool
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="battery-") as folder:
        work = Path(folder)
        for name in ("sensor.py", "collector.py"):
            shutil.copy(HERE / name, work / name)
        (work / "config.py").write_text(_config(adv_ms, conn_ms, readings))
        out = io.StringIO()
        programs = ["sensor.py"] if conn_ms is None else ["collector.py", "sensor.py"]
        result = await run_programs_async(
            [str(work / name) for name in programs],
            energy=True,
            radio_options={"fast": False},
            timeout=120 + readings * (PERIOD_MS + ALONE_MS) / 1000,
            out=out,
            err=out,
            virtual_time=virtual_time,
        )
    done = out.getvalue().count("| pushed " if conn_ms else "| no collector this time")
    if result.exit_status != 0 or result.energy is None or done != readings:
        raise RuntimeError(f"run failed ({adv_ms} ms, {conn_ms} ms):\n{out.getvalue()}")
    (sensor,) = [row for row in result.energy if row.label == "sensor"]
    on_ms = sensor.tx_ms + sensor.rx_ms + sensor.ramp_ms
    # the reading's own charge: less the chip's sleep current over the period between two
    # (the last column adds that back, spread over the minute)
    per_reading = sensor.charge_uc / readings - NRF52832.idle_ma * PERIOD_MS
    return {
        "awake_ms": sensor.elapsed_ms / readings - PERIOD_MS,
        "on_ms": on_ms / readings,
        "charge_uc": per_reading,
        "per_minute_ua": per_reading / 60 + NRF52832.idle_ma * 1000,
    }


async def main(readings: int, jobs: int, virtual_time: bool) -> None:
    limit = asyncio.Semaphore(jobs)

    async def one(adv: int, conn: float | None) -> dict[str, float]:
        async with limit:
            return await measure(adv, conn, readings, virtual_time)

    wall, simulated = vclock.real_monotonic(), time.monotonic()
    rows = await asyncio.gather(*(one(adv, conn) for adv, conn in COMBINATIONS))
    wall, simulated = vclock.real_monotonic() - wall, time.monotonic() - simulated
    print(
        "| advertising interval | connection interval | awake per reading | "
        "radio on per reading | charge per reading | average current, 1 reading/min |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for (adv, conn), row in zip(COMBINATIONS, rows, strict=True):
        conn_text = f"{conn:g} ms" if conn else f"no collector ({ALONE_MS / 1000:g} s)"
        print(
            f"| {adv} ms | {conn_text} | {row['awake_ms']:,.0f} ms | {row['on_ms']:.1f} ms | "
            f"{row['charge_uc']:.0f} uC | {row['per_minute_ua']:.1f} uA |"
        )
    clock = "simulated" if virtual_time else "real"
    print(f"\n({clock} time: {simulated:.1f} s of it in {wall:.1f} s of wall time)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5, help="readings per combination")
    parser.add_argument("--jobs", type=int, default=3, help="runs at once")
    parser.add_argument(
        "--real-time", action="store_true", help="wait for real (for comparison: minutes)"
    )
    args = parser.parse_args()
    if not args.real_time:
        vclock.install(serve=True)  # (before the event loop: it runs on the clock too)
    asyncio.run(main(args.readings, args.jobs, not args.real_time))
    sys.exit(0)

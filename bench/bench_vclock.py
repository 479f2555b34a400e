"""Simulated time: simulated seconds per wall second (real time is 1 by definition).

    python bench/bench_vclock.py [--quick]

- one advertiser alone (100 ms, in one process on the air-time radio), 600 s;
- the manual's two programs (examples/temp_sensor: a sensor that updates its value every
  second and a central that finds it, connects and reads), `aioble run --virtual-time` for
  120 s of the sensor's life;
- 100 connected devices (50 peripheral/central pairs in one process, 50 ms interval, a
  notification per pair per second), 60 s of the connected phase.

Each program measures its own simulated and wall time, so start-up (Python, Bumble) is
left out where it is a program's; the runner figure includes everything.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = ROOT / "bench" / "workloads" / "vclock"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")}
    env.update(extra)
    return env


def program(name: str, *args: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-m", "mpemu.interpreter", str(WORKLOADS / name), *args],
        capture_output=True,
        text=True,
        env=_env(AIOBLE_VIRTUAL_TIME="1"),
        timeout=900,
        check=True,
    ).stdout
    simulated = float(re.search(r"simulated_s=([\d.]+)", out).group(1))  # type: ignore[union-attr]
    wall = float(re.search(r"wall_s=([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return simulated, wall


def manual_pair(seconds: float) -> tuple[float, float]:
    wall = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "blerun.cli",
            "run",
            "--virtual-time",
            "--timeout",
            str(seconds),
            "peripheral.py",
            "central.py",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=_env(),
        cwd=ROOT / "examples" / "temp_sensor",
        timeout=900,
    )
    return seconds, time.monotonic() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, 10 pairs")
    args = parser.parse_args()
    q = args.quick
    rows = [
        ("one advertiser alone", program("advertiser.py", "60" if q else "600")),
        ("the manual's two programs (aioble run)", manual_pair(30 if q else 120)),
        (
            f"{20 if q else 100} connected devices",
            program("connected.py", "10" if q else "50", "20" if q else "60"),
        ),
    ]
    print(f"{'workload':<42} {'simulated s':>11} {'wall s':>8} {'simulated/wall':>15}")
    for name, (simulated, wall) in rows:
        print(f"{name:<42} {simulated:>11.1f} {wall:>8.2f} {simulated / wall:>15.1f}")
    print("(real time: 1.0 simulated second per wall second)")


if __name__ == "__main__":
    main()

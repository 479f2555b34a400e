"""``aioble run --virtual-time``: the runner's radio and every program on one simulated clock
(``aioble multitest --virtual-time``: tests/test_multitests.py).

The runner goes on the clock for good, so each case runs the CLI in a process of its own.
Nothing here asserts wall time: simulated durations say the clock is shared and right.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from capture.sniff import btsnoop  # (tests/capture: the suite's reader of capture files)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def python(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd``, with no AIOBLE_ setting of the suite's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd
    )


def aioble_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return python("-m", "blerun.cli", "run", "--virtual-time", *args, cwd=cwd)


def write(folder: Path, name: str, code: str) -> str:
    path = folder / name
    path.write_text(textwrap.dedent(code))
    return name


def test_an_hour_of_two_programs_on_one_radio(tmp_path: Path) -> None:
    # A peripheral that sleeps an hour between two advertisements and a central that looks
    # for it each time: both see the same hour pass, and each finds the other.
    peripheral = write(
        tmp_path,
        "peripheral.py",
        """
        import asyncio, time
        import aioble, bluetooth
        SVC = bluetooth.UUID(0x181A)
        aioble.register_services(aioble.Service(SVC))
        async def main():
            t0 = time.ticks_ms()
            for n in range(2):
                await asyncio.sleep(1800)
                conn = await aioble.advertise(100_000, name="p", services=[SVC])
                await conn.disconnected(timeout_ms=None)
                print("served", n, "at", time.ticks_diff(time.ticks_ms(), t0) // 60000, "min")
        asyncio.run(main())
        """,
    )
    central = write(
        tmp_path,
        "central.py",
        """
        import asyncio, time
        import aioble, bluetooth
        SVC = bluetooth.UUID(0x181A)
        async def find():
            async with aioble.scan(0, interval_us=30000, window_us=30000) as scanner:
                async for result in scanner:
                    if SVC in result.services():
                        return result.device
        async def main():
            t0 = time.ticks_ms()
            for n in range(2):
                device = await find()
                conn = await device.connect()
                await asyncio.sleep_ms(500)
                await conn.disconnect()
                print("visited", n, "at", time.ticks_diff(time.ticks_ms(), t0) // 60000, "min")
            await asyncio.sleep(1)
        asyncio.run(main())
        """,
    )
    capture = tmp_path / "capture"
    proc = aioble_run(
        "--timeout", "7200", "--capture", str(capture), peripheral, central, cwd=tmp_path
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "central    | visited 0 at 30 min" in lines
    assert "central    | visited 1 at 60 min" in lines
    assert "peripheral | served 0 at 30 min" in lines
    assert "peripheral | served 1 at 60 min" in lines
    # the captures are stamped on the same clock: the central's HCI spans the hour
    stamps = [record.timestamp for record in btsnoop(capture / "central.btsnoop")]
    assert 3600 <= (stamps[-1] - stamps[0]) / 1e6 < 3700


def test_timeout_is_in_simulated_seconds(tmp_path: Path) -> None:
    sleeper = write(tmp_path, "sleeper.py", "import time\nprint('asleep')\ntime.sleep(10**6)\n")
    proc = aioble_run("--timeout", "600", sleeper, cwd=tmp_path)
    assert proc.returncode == 124
    assert "sleeper | asleep" in proc.stdout
    assert "timed out after 600 s" in proc.stderr


def test_the_battery_example_gives_its_readings_and_energy(tmp_path: Path) -> None:
    folder = tmp_path / "battery"
    shutil.copytree(EXAMPLES / "battery_sensor", folder)
    proc = aioble_run("--energy", "--timeout", "300", "collector.py", "sensor.py", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for reading in ("21.5", "21.51", "21.52"):
        assert f"sensor    | pushed {reading}\n" in out
        assert f"collector | reading {reading}\n" in out
    (row,) = [
        line.split() for line in out.splitlines() if line.startswith("sensor ") and "|" not in line
    ]
    elapsed_ms, tx_ms, charge_uc = float(row[1]), float(row[2]), float(row[-1])
    # Three readings 2 s apart, each a few advertising events and a short connection.
    assert 6000 < elapsed_ms < 20000
    assert 0 < tx_ms < 100 and 0 < charge_uc < 2000


def test_the_battery_table_builds_on_simulated_time(tmp_path: Path) -> None:
    # examples/battery_sensor/table.py, one reading per combination: a row for each, and the
    # rows without a collector give the radio time they give on real time.
    table = EXAMPLES / "battery_sensor" / "table.py"
    proc = python(str(table), "--readings", "1", cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and " ms |" in line]
    assert len(rows) == 12
    alone = {
        row.split("|")[1].strip(): float(row.split("|")[4].split()[0])
        for row in rows
        if "no collector" in row
    }
    # 5 s of advertising: about 48 events (the interval plus 0-10 ms of random delay each)
    for interval, radio_on_ms in {"100 ms": 132.2, "500 ms": 27.5, "1000 ms": 13.8}.items():
        assert abs(alone[interval] - radio_on_ms) <= 0.06 * radio_on_ms, alone
    assert "(simulated time: " in proc.stdout


def test_rootcanal_on_simulated_time_is_a_usage_error(tmp_path: Path) -> None:
    # rootcanal is a real-time controller in a process of its own: no clock can skip its waits
    test = write(tmp_path, "t.py", "def instance0():\n    print('ran')\n")
    proc = python("-m", "blerun.cli", "multitest", "--virtual-time", "--radio", "rootcanal", test,
                  cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert "simulated time needs the virtual radio" in proc.stderr

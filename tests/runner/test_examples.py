"""The examples, run as a user runs them: `aioble run` on the air-time radio where timing is
the point, fast where it is not."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from blerun.run import run_programs

ROOT = Path(__file__).resolve().parents[2]
TEMP = ROOT / "examples" / "temp_sensor"
BATTERY = ROOT / "examples" / "battery_sensor"
AIR = {"fast": False}


def run(paths: list[Path], **kw):
    out, err = io.StringIO(), io.StringIO()
    result = run_programs([str(p) for p in paths], out=out, err=err, timeout=60, **kw)
    return result, out.getvalue(), err.getvalue()


def test_listening_central_finds_the_seed_peripheral_on_air_time(needs_ble) -> None:
    result, out, err = run(
        [TEMP / "peripheral.py", TEMP / "central_listening.py"], radio_options=AIR
    )
    assert result.exit_status == 0, out + err
    assert "central_listening | b''" in out.splitlines(), out + err
    assert "warning" not in err


def test_seed_central_on_air_time_is_warned_when_it_hears_nothing(needs_ble) -> None:
    """The seed's central scans 11.25 ms every 1.28 s for 5 s: it hears the 250 ms
    peripheral about one time in six. When it does, it reads; when not, the run says why."""
    result, out, err = run([TEMP / "peripheral.py", TEMP / "central.py"], radio_options=AIR)
    assert result.exit_status == 0, out + err
    found = "central    | b''" in out.splitlines()
    warned = "aioble run: warning: central: its scan listened 11.25 ms every 1280 ms" in err
    assert found != warned, out + err


def _battery(tmp_path: Path, **config: object) -> list[Path]:
    for name in ("sensor.py", "collector.py"):
        shutil.copy(BATTERY / name, tmp_path / name)
    lines = (BATTERY / "config.py").read_text().splitlines()
    for key, value in config.items():
        lines = [f"{key} = {value!r}" if line.startswith(f"{key} ") else line for line in lines]
    (tmp_path / "config.py").write_text("\n".join(lines) + "\n")
    return [tmp_path / "collector.py", tmp_path / "sensor.py"]


def test_battery_sensor_fast(needs_ble, tmp_path: Path) -> None:
    programs = _battery(tmp_path, PERIOD_MS=100, READINGS=3)
    result, out, err = run(programs, radio_options={"fast": True})
    assert result.exit_status == 0, out + err
    lines = out.splitlines()
    for reading in ("21.5", "21.51", "21.52"):
        assert f"sensor    | pushed {reading}" in lines, out + err
        assert f"collector | reading {reading}" in lines, out + err


def test_battery_sensor_energy_adds_up_on_air_time(needs_ble, tmp_path: Path) -> None:
    programs = _battery(tmp_path, PERIOD_MS=500, READINGS=2, ADV_INTERVAL_MS=100)
    result, out, err = run(programs, radio_options=AIR, energy=True)
    assert result.exit_status == 0, out + err
    assert out.count("sensor    | pushed") == 2, out + err
    assert result.energy is not None
    rows = {row.label: row for row in result.energy}
    assert set(rows) == {"collector", "sensor"}
    for row in rows.values():
        # TX + RX + ramp-ups + off = elapsed, within the model's resolution (1 ns)
        total = row.tx_ms + row.rx_ms + row.ramp_ms + row.off_ms
        assert total == pytest.approx(row.elapsed_ms, abs=1e-6), row
        assert row.tx_ms > 0 and row.rx_ms > 0
    sensor, collector = rows["sensor"], rows["collector"]
    # the sensor sleeps with its radio off; the collector listens a quarter of the time
    assert sensor.duty_cycle < 0.05 < collector.duty_cycle
    assert "program" in out and "current profile: nRF52832" in out

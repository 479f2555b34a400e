"""The examples, run as a user runs them (the plugin's ble_run: `aioble run`'s runner) on
the air-time radio where timing is the point, fast where it is not. The air-time runs are
on simulated time (`aioble run --virtual-time`): the same air, without waiting for it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMP = ROOT / "examples" / "temp_sensor"
BATTERY = ROOT / "examples" / "battery_sensor"


@pytest.mark.air_time
@pytest.mark.virtual_time
def test_listening_central_finds_the_seed_peripheral_on_air_time(needs_ble, ble_run) -> None:
    run = ble_run(TEMP / "peripheral.py", TEMP / "central_listening.py", timeout=60)
    assert run.exit_status == 0, run
    assert run["central_listening"].stdout == ["b''"], run
    assert not any("warning" in message for message in run.messages)


@pytest.mark.air_time
@pytest.mark.virtual_time
def test_seed_central_on_air_time_is_warned_when_it_hears_nothing(needs_ble, ble_run) -> None:
    """The seed's central scans 11.25 ms every 1.28 s for 5 s: it hears the 250 ms
    peripheral about one time in six. When it does, it reads; when not, the run says why."""
    run = ble_run(TEMP / "peripheral.py", TEMP / "central.py", timeout=60)
    assert run.exit_status == 0, run
    found = run["central"].stdout == ["b''"]
    warning = "aioble run: warning: central: its scan listened 11.25 ms every 1280 ms"
    warned = any(message.startswith(warning) for message in run.messages)
    assert found != warned, run


def _battery(tmp_path: Path, **config: object) -> list[Path]:
    for name in ("sensor.py", "collector.py"):
        shutil.copy(BATTERY / name, tmp_path / name)
    lines = (BATTERY / "config.py").read_text().splitlines()
    for key, value in config.items():
        lines = [f"{key} = {value!r}" if line.startswith(f"{key} ") else line for line in lines]
    (tmp_path / "config.py").write_text("\n".join(lines) + "\n")
    return [tmp_path / "collector.py", tmp_path / "sensor.py"]


def test_battery_sensor_fast(needs_ble, ble_run, tmp_path: Path) -> None:
    run = ble_run(*_battery(tmp_path, PERIOD_MS=100, READINGS=3), timeout=60)
    assert run.exit_status == 0, run
    for reading in ("21.5", "21.51", "21.52"):
        assert f"pushed {reading}" in run["sensor"].stdout, run
        assert f"reading {reading}" in run["collector"].stdout, run


@pytest.mark.air_time
@pytest.mark.virtual_time
def test_battery_sensor_energy_adds_up_on_air_time(needs_ble, ble_run, tmp_path: Path) -> None:
    programs = _battery(tmp_path, PERIOD_MS=500, READINGS=2, ADV_INTERVAL_MS=100)
    run = ble_run(*programs, timeout=60, energy=True)
    assert run.exit_status == 0, run
    assert sum(line.startswith("pushed") for line in run["sensor"].stdout) == 2, run
    assert run.energy is not None
    rows = {row.label: row for row in run.energy}
    assert set(rows) == {"collector", "sensor"}
    for row in rows.values():
        # TX + RX + ramp-ups + off = elapsed, within the model's resolution (1 ns)
        total = row.tx_ms + row.rx_ms + row.ramp_ms + row.off_ms
        assert total == pytest.approx(row.elapsed_ms, abs=1e-6), row
        assert row.tx_ms > 0 and row.rx_ms > 0
    sensor, collector = rows["sensor"], rows["collector"]
    # the sensor sleeps with its radio off; the collector listens a quarter of the time
    assert sensor.duty_cycle < 0.05 < collector.duty_cycle
    table = "\n".join(run.report)
    assert "program" in table and "current profile: nRF52832" in table

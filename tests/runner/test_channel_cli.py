"""The channel's controls on the command line (--per, --place, --scenario) and the
reconnect example, whose sensor walks out of range and back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bleradio.air.scenario import Scenario, load_scenario
from blerun import cli

ROOT = Path(__file__).resolve().parents[2]
RECONNECT = ROOT / "examples" / "reconnect"


def test_the_flags_make_a_scenario_for_every_command(tmp_path: Path) -> None:
    file = tmp_path / "s.json"
    file.write_text(json.dumps({"devices": {"a": {"position": [1, 2]}}, "per": 0.1}))
    flags = ["--scenario", str(file), "--place", "b=3,4,5", "--per", "0.2"]
    for command in ("run", "radio", "multitest"):
        extra = ["x.py"] if command != "radio" else []
        args = cli._parser().parse_args([command, *flags, *extra])
        assert cli._scenario_ok(args, command)
        scenario = cli._radio_options(args)["scenario"]
        assert isinstance(scenario, Scenario)
        assert scenario.positions == {"a": (1.0, 2.0, 0.0), "b": (3.0, 4.0, 5.0)}
        assert scenario.per == 0.2
    args = cli._parser().parse_args(["radio"])
    assert cli._scenario_ok(args, "radio") and "scenario" not in cli._radio_options(args)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--per", "1.5"], "--per: 1.5 is out of range"),
        (["--place", "sensor=1"], "--place 'sensor=1': expected LABEL=X,Y"),
        (["--scenario", "/nonexistent/s.json"], "scenario '/nonexistent/s.json'"),
    ],
)
def test_bad_channel_flags_are_usage_errors(
    flags: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = tmp_path / "p.py"
    program.write_text("print('never runs')\n")
    for command in ("run", "multitest", "radio"):
        argv = [command, *flags] + ([str(program)] if command != "radio" else [])
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"aioble {command}: ") and message in err, err


def test_a_bad_scenario_file_names_the_key_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"events": [{"at_s": 2, "move": {"sensor": [1]}}]}))
    program = tmp_path / "p.py"
    program.write_text("print('ran')\n")
    assert cli.main(["run", "--scenario", str(scenario), str(program)]) == 2
    captured = capsys.readouterr()
    assert "events[0].move.sensor: expected [x, y] or [x, y, z]" in captured.err
    assert "ran" not in captured.out


def test_the_reconnect_examples_scenario_is_valid() -> None:
    scenario = load_scenario(RECONNECT / "scenario.json")
    assert set(scenario.positions) == {"sensor", "collector"}
    assert [event.at_s for event in scenario.events] == [4.0, 5.0, 11.0]


@pytest.mark.air_time
@pytest.mark.virtual_time
def test_the_collector_survives_the_sensor_walking_out_of_range(needs_ble, ble_run) -> None:
    run = ble_run(
        RECONNECT / "sensor.py",
        RECONNECT / "collector.py",
        timeout=60,
        scenario=load_scenario(RECONNECT / "scenario.json"),
    )
    assert run.exit_status == 0, run
    lines = run["collector"].stdout
    assert "lost the sensor; looking for it again" in lines, run
    assert lines.index("connecting, link 2") > lines.index("lost the sensor; looking for it again")
    assert lines[-1] == "done", run
    assert sum(line.startswith("reading") for line in lines) >= 5, run

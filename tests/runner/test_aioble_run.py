"""`aioble run`: programs in their own processes on one private radio."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

from blerun import cli, procs
from blerun.run import Prefixer, ProgramNotFound, program_names, run_programs

ENDLESS = "import time\nprint('started')\nwhile True:\n    time.sleep_ms(20)\n"


def write(tmp_path: Path, name: str, code: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return str(path)


def run(paths: list[str], **kw):
    out, err = io.StringIO(), io.StringIO()
    result = run_programs(paths, out=out, err=err, **kw)
    return result, out.getvalue(), err.getvalue()


def test_output_is_prefixed_and_aligned(tmp_path: Path) -> None:
    a = write(
        tmp_path, "a.py", "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\n"
    )
    longer = write(tmp_path, "longer.py", "import time\ntime.sleep_ms(300)\nprint('last')\n")
    result, out, _ = run([a, longer])
    assert result.exit_status == 0
    lines = out.splitlines()
    assert "a      | to stdout" in lines
    assert "a      ! to stderr" in lines
    assert lines[-1] == "longer | last"


def test_a_line_longer_than_the_limit_loses_nothing(tmp_path: Path) -> None:
    size = procs.LINE_LIMIT + 10
    path = write(tmp_path, "long.py", f"print('before')\nprint('A' * {size})\nprint('after')\n")
    result, out, _ = run([path])
    lines = out.splitlines()
    assert lines[0] == "long | before" and lines[-1] == "long | after"
    middle = "".join(line.removeprefix("long | ") for line in lines[1:-1])
    assert middle == "A" * size


def test_what_a_program_started_is_stopped_with_it(tmp_path: Path) -> None:
    spawner = write(
        tmp_path,
        "spawner.py",
        "import subprocess, time\n"
        "print('child', subprocess.Popen(['sleep', '60']).pid)\n"
        "time.sleep(60)\n",
    )
    last = write(tmp_path, "last.py", "import time\ntime.sleep_ms(500)\n")
    result, out, _ = run([spawner, last])
    pid = int(out.split("child ")[1].split()[0])
    with pytest.raises(ProcessLookupError):
        for _ in range(50):  # (reaped by init a moment later)
            os.kill(pid, 0)
            time.sleep(0.1)


def test_programs_see_the_radio_and_their_label(tmp_path: Path) -> None:
    code = "import os\nprint(os.environ['AIOBLE_LABEL'], os.environ['AIOBLE_RADIO'].startswith('127.0.0.1:'))\n"
    result, out, _ = run([write(tmp_path, "p.py", code)])
    assert (result.exit_status, out) == (0, "p | p True\n")


def test_last_program_ends_the_run(tmp_path: Path) -> None:
    endless = write(tmp_path, "endless.py", ENDLESS)
    last = write(tmp_path, "last.py", "import time\ntime.sleep_ms(300)\nprint('bye')\n")
    result, out, err = run([endless, last])
    assert result.exit_status == 0, err
    assert [p.stopped for p in result.programs] == [True, False]
    assert not result.programs[0].failed  # stopped by the runner: not a failure
    assert "endless | started" in out and "last    | bye" in out


def test_exit_status_of_the_last_program(tmp_path: Path) -> None:
    endless = write(tmp_path, "endless.py", ENDLESS)
    last = write(tmp_path, "last.py", "raise SystemExit(3)\n")
    result, _, err = run([endless, last])
    assert result.exit_status == 3
    assert "last exited with status 3" in err


def test_an_earlier_program_failing_fails_the_run(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.py", "raise ValueError('early')\n")
    last = write(tmp_path, "last.py", "import time\ntime.sleep_ms(500)\n")
    result, out, err = run([bad, last])
    assert result.exit_status == 1
    assert "bad  ! ValueError: early" in out
    assert "bad exited with status 1" in err


def test_timeout(tmp_path: Path) -> None:
    one = write(tmp_path, "one.py", ENDLESS)
    two = write(tmp_path, "two.py", ENDLESS)
    result, _, err = run([one, two], timeout=1)
    assert result.timed_out and result.exit_status == 124
    assert result.still_running == ["one", "two"]
    assert "timed out after 1 s; still running: one, two" in err


def test_missing_file_starts_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "ran"
    first = write(tmp_path, "first.py", f"open({str(marker)!r}, 'w').close()\n")
    with pytest.raises(ProgramNotFound):
        run_programs([first, str(tmp_path / "missing.py")])
    assert cli.main(["run", first, str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert not marker.exists()


def test_cli_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = write(tmp_path, "hello.py", "print('hello')\n")
    assert cli.main(["run", prog]) == 0
    assert capsys.readouterr().out == "hello | hello\n"


@pytest.mark.parametrize(
    ("paths", "names"),
    [
        (["a/p.py", "b/c.py"], ["p", "c"]),
        (["a/p.py", "b/p.py"], ["a/p.py", "b/p.py"]),
        (["p.py", "p.py"], ["p.py#1", "p.py#2"]),
    ],
)
def test_program_names(paths: list[str], names: list[str]) -> None:
    assert program_names(paths) == names


def test_stop_escalates_past_a_program_ignoring_sigint() -> None:
    code = (
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('up', flush=True)\ntime.sleep(30)\n"
    )

    async def main() -> int:
        proc = await procs.spawn([sys.executable, "-c", code], env=procs.child_env({}))
        assert proc.stdout is not None
        assert await proc.stdout.readline() == b"up\n"
        return await procs.stop(proc, int_grace=0.2, term_grace=5)

    assert asyncio.run(main()) == -15  # SIGTERM


def test_seed_programs(needs_ble, tmp_path: Path) -> None:
    """The seed's §14.8.3 pair, byte for byte (kept as .txt so no formatter touches them):
    the central reads the characteristic, prints it, and its exit ends the run with 0."""
    data = Path(__file__).parent / "data"
    peripheral = tmp_path / "peripheral.py"
    central = tmp_path / "central.py"
    peripheral.write_bytes((data / "seed_peripheral.txt").read_bytes())
    central.write_bytes((data / "seed_central.txt").read_bytes())
    result, out, err = run([str(peripheral), str(central)], timeout=60)
    assert result.exit_status == 0, out + err
    assert "central    | b''" in out.splitlines()  # nothing wrote the value: empty
    assert result.programs[0].stopped


def test_colour_only_when_asked() -> None:
    plain, coloured = io.StringIO(), io.StringIO()
    Prefixer(["a", "bcd"], plain, colour=False).line("a", "text", stderr=True)
    Prefixer(["a", "bcd"], coloured, colour=True).line("a", "text", stderr=True)
    assert plain.getvalue() == "a   ! text\n"
    assert coloured.getvalue() == "\x1b[36ma  \x1b[0m \x1b[31m!\x1b[0m text\n"
    # A StringIO is no terminal: run_programs leaves colour off by itself.


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("fast=1", ("fast", 1)),
        ("fast=true", ("fast", True)),
        ("fast=No", ("fast", False)),
        ("seed=42", ("seed", 42)),
        ("min-advertising-interval=0.02", ("min_advertising_interval", 0.02)),
        ("phy=2M", ("phy", "2M")),
        ("name=", ("name", "")),
    ],
)
def test_parse_radio_option(text: str, option: tuple) -> None:
    from blerun.radio import parse_radio_option

    assert parse_radio_option(text) == option


@pytest.mark.parametrize("text", ["fast", "=1", "two words=1"])
def test_parse_radio_option_errors(text: str) -> None:
    from blerun.radio import parse_radio_option

    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_radio_option(text)


def test_cli_passes_radio_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = write(tmp_path, "p.py", "print('ok')\n")
    assert cli.main(["run", "-o", "seed=7", "--fast", prog]) == 0
    assert capsys.readouterr().out == "p | ok\n"
    with pytest.raises(SystemExit):
        cli.main(["run", "-o", "nonsense", prog])


def test_energy_per_program(needs_ble, tmp_path: Path) -> None:
    advertiser = write(
        tmp_path,
        "advertiser.py",
        "import bluetooth, time\nble = bluetooth.BLE()\nble.active(True)\n"
        "ble.gap_advertise(20_000, b'\\x02\\x01\\x06')\ntime.sleep_ms(300)\n",
    )
    svg = tmp_path / "timeline.svg"
    result, out, err = run(
        [advertiser], energy=True, timeline=str(svg), radio_options={"fast": False}
    )
    assert result.exit_status == 0, out + err
    assert result.energy is not None and [r.label for r in result.energy] == ["advertiser"]
    assert result.energy[0].tx_ms > 0  # ~15 advertising events of three PDUs each
    assert "current profile:" in out
    # the timeline: one bar per advertising event (20 ms apart: more than a pixel)
    bars = svg.read_text().count('fill="#e6862e" fill-opacity') + svg.read_text().count(
        'fill="#e6862e">'
    )
    assert 8 <= bars <= 20, svg.read_text()
    assert "advertiser" in svg.read_text() and "no radio activity" not in svg.read_text()


def test_energy_with_another_current_profile(needs_ble, tmp_path: Path) -> None:
    """The same radio time costs what the given chip's currents say."""
    from bleradio.air.airtime import NRF52832, parse_profile

    advertiser = write(
        tmp_path,
        "advertiser.py",
        "import bluetooth, time\nble = bluetooth.BLE()\nble.active(True)\n"
        "ble.gap_advertise(20_000, b'\\x02\\x01\\x06')\ntime.sleep_ms(200)\n",
    )
    hungry = parse_profile("hungry=53,54,0.019,140")  # ten times the nRF52832
    result, out, err = run([advertiser], energy=True, profile=hungry, radio_options={"fast": False})
    assert result.exit_status == 0, out + err
    (row,) = result.energy
    assert row.profile == "hungry" and "current profile: hungry" in out
    ramps = round(row.ramp_ms * 1000 / hungry.ramp_us)
    charge = hungry.charge_uc(row.tx_ms * 1000, row.rx_ms * 1000, row.off_ms * 1000, ramps)
    assert row.charge_uc == pytest.approx(charge)
    assert charge == pytest.approx(
        10 * NRF52832.charge_uc(row.tx_ms * 1000, row.rx_ms * 1000, row.off_ms * 1000, ramps)
    )


def test_bad_current_profile_is_a_usage_error(tmp_path: Path, capsys) -> None:
    from blerun import cli

    program = write(tmp_path, "p.py", "print('never runs')\n")
    assert cli.main(["run", "--energy", "--current-profile", "1,2", str(program)]) == 2
    assert "current profile '1,2'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        ([], {}),
        (["--fast"], {"fast": True}),
        (
            ["--phy", "2M", "--data-length", "27", "--conn-interval", "7.5", "--event-length", "3"],
            {"phy": "2M", "data_length": 27, "conn_interval_ms": 7.5, "event_length_ms": 3.0},
        ),
        (["-o", "fast=0", "-o", "seed=3"], {"fast": False, "seed": 3}),
    ],
)
def test_cli_radio_flags(argv: list[str], options: dict) -> None:
    for command in ("run", "radio", "multitest"):
        args = cli._parser().parse_args([command, *argv] + (["x.py"] if command != "radio" else []))
        assert cli._radio_options(args) == options


def test_bad_medium_option_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prog = write(tmp_path, "p.py", "print('ok')\n")
    assert cli.main(["run", "--data-length", "300", prog]) == 2
    assert "data_length=300" in capsys.readouterr().err

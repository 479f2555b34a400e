"""The pytest plugin, through real inner pytest runs (``pytester``): the fixtures as a
user's tests see them once the package is installed (entry point ``pytest11``), and the
README's example."""

from __future__ import annotations

import re
import shutil
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def test_installed_as_a_pytest11_plugin(pytester: pytest.Pytester) -> None:
    assert any(ep.value == "blerun.pytest_plugin" for ep in entry_points(group="pytest11")), (
        "the package's pytest11 entry point is missing: pip install -e ."
    )
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*ble_run*", "*ble_devices*", "*ble_radio*"])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.air_time(**medium_options):*"])


def readme_example() -> str:
    """The first Python block of the README's section on the plugin."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Testing with the pytest plugin", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the README's plugin section has no example"
    return match.group(1)


def test_the_readme_example(pytester: pytest.Pytester) -> None:
    examples = pytester.path / "examples" / "temp_sensor"
    shutil.copytree(ROOT / "examples" / "temp_sensor", examples)
    pytester.makepyfile(test_temp_sensor=readme_example())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_ble_devices_meet_on_their_own_medium_and_are_closed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio

        import aioble
        import bluetooth
        import pytest

        made = []
        SERVICE = bluetooth.UUID(0x181A)
        VALUE = bluetooth.UUID(0x2A6E)


        def test_a_peripheral_and_a_central(ble_devices):
            peripheral, central = ble_devices(2)
            made.extend([peripheral, central])
            assert ble_devices.medium.options.fast  # not marked air_time

            async def main():
                with bluetooth.use(peripheral):
                    service = aioble.Service(SERVICE)
                    char = aioble.Characteristic(service, VALUE, read=True)
                    aioble.register_services(service)
                    char.write(b"21.5")
                    serving = asyncio.ensure_future(aioble.advertise(20_000, name="p"))
                with bluetooth.use(central):
                    async with aioble.scan(2000, 30000, 30000, active=True) as scanner:
                        async for result in scanner:
                            if result.name() == "p":
                                break
                    connection = await result.device.connect(timeout_ms=5000)
                    service = await connection.service(SERVICE)
                    char = await service.characteristic(VALUE)
                    value = await char.read()
                    await connection.disconnect()
                await serving
                return value

            assert asyncio.run(asyncio.wait_for(main(), 30)) == b"21.5"


        def test_they_were_closed():
            assert len(made) == 2
            for radio in made:
                assert "closed" in repr(radio)
                with pytest.raises(OSError):
                    radio.active()


        def test_labels_and_numbering(ble_devices):
            first = ble_devices("sensor")
            second, third = ble_devices(2)
            assert [repr(r) for r in (*first, second, third)] == [
                "<BLE 'sensor' inactive>", "<BLE 'device2' inactive>", "<BLE 'device3' inactive>"
            ]
            with pytest.raises(ValueError, match="positive count"):
                ble_devices(0)
            with pytest.raises(TypeError, match="a count or labels"):
                ble_devices(2, 3)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_air_time_marker(pytester: pytest.Pytester) -> None:
    """The marker puts every fixture's radio on air time; unmarked tests stay fast."""
    (pytester.path / "sensor.py").write_text(
        "import aioble, asyncio\n"
        "async def main():\n"
        "    try:\n"
        "        await aioble.advertise(100_000, name='s', timeout_ms=300)\n"
        "    except asyncio.TimeoutError:\n"
        "        print('nobody came')\n"
        "asyncio.run(main())\n"
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.air_time(conn_interval_ms=7.5)
        def test_marked(ble_run, ble_devices, ble_radio):
            assert not ble_devices.medium.options.fast
            assert ble_devices.medium.options.conn_interval_ms == 7.5
            assert not ble_radio.server.medium.options.fast
            run = ble_run("sensor.py", energy=True)
            assert run["sensor"].stdout == ["nobody came"], run
            (row,) = run.energy
            assert row.label == "sensor" and row.tx_ms > 0  # it advertised on air time

        def test_unmarked(ble_run, ble_devices, ble_radio):
            assert ble_devices.medium.options.fast and ble_radio.server.medium.options.fast
            run = ble_run("sensor.py", energy=True)
            assert run["sensor"].stdout == ["nobody came"], run
            assert run.energy == []  # no air time, no energy figures

        @pytest.mark.air_time(no_such_option=1)
        def test_bad_option(ble_devices):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.air_time: bad medium options*no_such_option*"])


def test_virtual_time_marker(pytester: pytest.Pytester) -> None:
    """The marker runs ble_run on simulated time: an hour's advertising, its energy and a
    timeout all in simulated seconds; the test's own process keeps real time."""
    (pytester.path / "sensor.py").write_text(
        "import aioble, asyncio, time\n"
        "async def main():\n"
        "    t0 = time.ticks_ms()\n"
        "    try:\n"
        "        await aioble.advertise(1_000_000, name='s', timeout_ms=3_600_000)\n"
        "    except asyncio.TimeoutError:\n"
        "        print('nobody came in', time.ticks_diff(time.ticks_ms(), t0) // 60000, 'min')\n"
        "asyncio.run(main())\n"
    )
    (pytester.path / "sleeper.py").write_text("import time\ntime.sleep(10**6)\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.air_time
        @pytest.mark.virtual_time
        def test_an_hour(ble_run):
            run = ble_run("sensor.py", energy=True, timeout=4000)
            assert run["sensor"].stdout == ["nobody came in 60 min"], run
            (row,) = run.energy
            assert 3_600_000 <= row.elapsed_ms < 3_700_000, row

        @pytest.mark.virtual_time
        def test_a_timeout(ble_run):
            run = ble_run("sleeper.py", timeout=900)
            assert run.timed_out and run.exit_status == 124, run

        def test_real_time_here():
            import vclock
            assert vclock.current() is None
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_ble_run_reports_each_program(pytester: pytest.Pytester) -> None:
    (pytester.path / "talker.py").write_text(
        "import sys\nprint('hello')\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"
    )
    (pytester.path / "waiter.py").write_text("import time\ntime.sleep(600)\n")
    pytester.makepyfile(
        """
        def test_outputs(ble_run):
            run = ble_run("waiter.py", "talker.py")  # the last one's end ends the run
            talker = run["talker"]
            assert (talker.stdout, talker.stderr, talker.returncode) == (["hello"], ["oops"], 3)
            assert talker.failed and run.exit_status == 3
            assert run["waiter"].stopped and not run["waiter"].failed
            assert "aioble run: talker exited with status 3" in run.messages
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_ble_radio_serves_programs_and_bumble(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import asyncio
        import subprocess
        import sys

        import bluetooth
        from bumble.device import Device
        from bumble.transport import open_transport


        def test_a_program_and_bumble_join(ble_radio, monkeypatch):
            env = {"AIOBLE_LABEL": "board", **ble_radio.env}
            code = "import bluetooth; bluetooth.BLE().active(1)"
            subprocess.run(
                [sys.executable, "-m", "mpemu.interpreter", "-c", code], env=env, check=True
            )

            async def bumble():
                async with await open_transport(ble_radio.bumble_transport) as transport:
                    device = Device.with_hci("bumble", "F0:F1:F2:F3:F4:F5", transport.source, transport.sink)
                    await device.power_on()

            asyncio.run(asyncio.wait_for(bumble(), 30))
            labels = [device.label for device in ble_radio.devices()]
            assert labels[0] == "board" and len(labels) == 2
            assert ble_radio.address.startswith("127.0.0.1:")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_ble_run_keeps_lines_whole_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `aioble run` writes is taken apart by program and stream; a line keeps any
    character but its newline; each stream keeps MAX_LINES and counts the rest."""
    from blerun import pytest_plugin
    from blerun.run import Prefixer

    monkeypatch.setattr(pytest_plugin, "MAX_LINES", 2)
    outputs = {n: pytest_plugin.ProgramOutput(n, n + ".py") for n in ("a", "long")}
    lines = pytest_plugin._Lines(outputs)
    prefixer = Prefixer(list(outputs), lines, colour=False)
    for text in ("one\fpage", "two", "three"):
        prefixer.line("a", text)
    prefixer.line("long", "oops", stderr=True)
    lines.write("table\nrows\n")
    assert outputs["a"].stdout == ["one\fpage", "two"] and outputs["a"].dropped == 1
    assert outputs["long"].stderr == ["oops"] and outputs["long"].stdout == []
    assert lines.other == ["table", "rows"]

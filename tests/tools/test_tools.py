"""`aioble scan`, `aioble gatt-dump`, `aioble radio`'s join/leave lines and the commands'
--version/--help, as real processes on a real `aioble radio` with board programs on it."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version

import pytest
from bumble.hci import Address
from tool_processes import DATA, EXAMPLES, Process, aioble, start_program, tool_env

from blerun import cli, tools
from mpemu import interpreter


def label_address(label: str) -> str:
    """The address a virtual radio gives a device labelled `label` (see the README)."""
    digest = hashlib.sha256(label.encode()).digest()[:6]
    return ":".join(f"{b:02X}" for b in reversed(digest)) + "/P"


@pytest.fixture(scope="module")
def peripherals(shared_radio: Process) -> Iterator[dict[str, str]]:
    """The manual's temperature sensor and the test thermometer advertising on the shared
    radio; {label: address}. Returns once a scan has heard both."""
    programs = [
        start_program(shared_radio, EXAMPLES / "temp_sensor" / "peripheral.py", "manual-sensor"),
        start_program(shared_radio, DATA / "thermometer.py", "thermometer"),
    ]
    try:
        # A scan with no end, read as it prints: both heard is the sign they advertise.
        scan = Process(
            [sys.executable, "-m", "blerun.cli", "scan", "--duration", "600", "--json"],
            tool_env(AIOBLE_RADIO=shared_radio.address),
        )
        heard: set[str] = set()
        try:
            while heard != {"openmv-temp", "tools-thermo"}:
                heard.add(json.loads(scan.expect(lambda line: line.startswith("{")))["name"])
        finally:
            scan.popen.send_signal(signal.SIGINT)
            assert scan.exit_status() == 130  # interrupted: it stops as Ctrl-C stops it
        yield {label: label_address(label) for label in ("manual-sensor", "thermometer")}
    finally:
        for program in programs:
            program.stop()


def test_scan_json_has_each_device_once(shared_radio: Process, peripherals: dict) -> None:
    result = aioble(
        "scan", "--duration", "1", "--json", env=tool_env(AIOBLE_RADIO=shared_radio.address)
    )
    assert result.returncode == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    by_name = {device["name"]: device for device in found}
    assert len(by_name) == len(found)  # one line per device
    manual = by_name["openmv-temp"]
    assert manual["address"] == peripherals["manual-sensor"]
    assert manual["services"] == ["0x181A"]
    assert manual["connectable"] is True
    thermo = by_name["tools-thermo"]
    assert thermo["address"] == peripherals["thermometer"]
    assert thermo["manufacturer"] == [{"company": 0xFFFF, "data": "0102"}]
    assert isinstance(thermo["rssi"], int)
    # the address is one Bumble parses back to the same public address
    parsed = Address(thermo["address"])
    assert parsed.is_public and parsed.to_string() == thermo["address"]


def test_scan_lines_passive(shared_radio: Process, peripherals: dict) -> None:
    result = aioble(
        "scan", "--duration", "1", "--passive", env=tool_env(AIOBLE_RADIO=shared_radio.address)
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "tools-thermo" in line)
    assert line.startswith(peripherals["thermometer"] + "  'tools-thermo'  rssi -")
    assert "services 0x181A" in line and "manufacturer 0xFFFF:0102" in line


def test_gatt_dump_reads_the_values(shared_radio: Process, peripherals: dict) -> None:
    address = peripherals["thermometer"]
    result = aioble("gatt-dump", address, "--read", env=tool_env(AIOBLE_RADIO=shared_radio.address))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Connected to {address}"
    assert "Service 0x181A (Environmental Sensing) handles 10-14" in lines
    temp = next(line for line in lines if "Characteristic 0x2A6E" in line)
    assert "[read,notify]" in temp and temp.endswith("value: 66 08")  # 2150 = 21.50 C
    assert any(
        "Descriptor 0x2901 (Characteristic User Description)" in line
        and line.endswith('value: 6f 75 74 64 6f 6f 72 "outdoor"')
        for line in lines
    )
    assert any("Characteristic 0x2A00 (Device Name)" in line and "value:" in line for line in lines)


def test_gatt_dump_of_the_manual_sensor(shared_radio: Process, peripherals: dict) -> None:
    result = aioble(
        "gatt-dump", peripherals["manual-sensor"], env=tool_env(AIOBLE_RADIO=shared_radio.address)
    )
    assert result.returncode == 0, result.stderr
    assert "Service 0x181A (Environmental Sensing) handles 10-12" in result.stdout
    assert "  Characteristic 0x2A6E handle 12 [read]" in result.stdout
    assert "value:" not in result.stdout  # without --read


def test_gatt_dump_device_not_found(shared_radio: Process) -> None:
    result = aioble(
        "gatt-dump",
        "C0:FF:EE:C0:FF:EE",
        "--timeout",
        "0.5",
        env=tool_env(AIOBLE_RADIO=shared_radio.address),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "aioble gatt-dump: no device C0:FF:EE:C0:FF:EE found within 0.5 s "
        "(a public address ends in /P)"
    )


@pytest.mark.parametrize("bad", ["C0:FF:EE", "C0:FF:EE:C0:FF:GG/P", "C0:FF:EE:C0:FF:EE/R"])
def test_gatt_dump_bad_address_is_a_usage_error(bad: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(["gatt-dump", bad])
    assert exit.value.code == 2
    assert f"argument ADDRESS: {bad!r} is not a device address" in capsys.readouterr().err


def test_radio_prints_who_joins_and_leaves(shared_radio: Process) -> None:
    program = Process(
        [
            sys.executable,
            "-m",
            "mpemu.interpreter",
            "-c",
            "import bluetooth; bluetooth.BLE().active(1)",
        ],
        tool_env(AIOBLE_RADIO=shared_radio.address, AIOBLE_LABEL="visitor"),
    )
    address = label_address("visitor")
    assert shared_radio.expect("joined visitor") == f"aioble radio: joined visitor {address}"
    assert shared_radio.expect("left visitor") == f"aioble radio: left visitor {address}"
    assert program.exit_status() == 0


def test_bad_radio_variable_is_a_usage_error() -> None:
    result = aioble("scan", env=tool_env(AIOBLE_RADIO="nowhere"))
    assert result.returncode == 2
    assert "AIOBLE_RADIO='nowhere': expected HOST:PORT" in result.stderr


def test_unreachable_radio_is_an_error() -> None:
    result = aioble("scan", "--duration", "1", env=tool_env(AIOBLE_RADIO="127.0.0.1:1"))
    assert result.returncode == 1
    assert "aioble scan: cannot power the radio on" in result.stderr
    assert "Traceback" not in result.stderr


def test_alone_on_an_in_process_radio_says_so() -> None:
    result = aioble("scan", "--duration", "0.2", env=tool_env())
    assert result.returncode == 0 and result.stdout == ""
    assert "neither AIOBLE_RADIO nor AIOBLE_TRANSPORT is set" in result.stderr


def test_versions() -> None:
    expected = version("aioble-cpython")
    assert aioble("--version", env=tool_env()).stdout == f"aioble {expected}\n"
    interpreter = [sys.executable, "-m", "mpemu.interpreter", "--version"]
    out = subprocess.run(interpreter, capture_output=True, text=True, timeout=60).stdout
    assert out.startswith(f"aioble-python {expected} (CPython ")


RADIO_VARIABLES = ("AIOBLE_RADIO=", "AIOBLE_TRANSPORT=", "AIOBLE_LABEL=", "AIOBLE_RADIO_FAST=")


@pytest.mark.parametrize(
    "command", [[], ["run"], ["radio"], ["multitest"], ["scan"], ["gatt-dump"]]
)
def test_every_help_names_the_radio_variables(command: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main([*command, "--help"])
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for variable in (*RADIO_VARIABLES, "AIOBLE_CAPTURE"):
        assert variable in text
    assert "only devices of the\n" in text  # the in-process radio is of no use to the tools


def test_interpreter_help_names_the_radio_variables(capsys: pytest.CaptureFixture) -> None:
    assert interpreter.main(["--help"]) == 0
    text = capsys.readouterr().out
    for variable in (*RADIO_VARIABLES, "AIOBLE_CAPTURE"):
        assert variable in text


@pytest.mark.parametrize("addr_type", [tools.ADDR_PUBLIC, tools.ADDR_RANDOM])
def test_addresses_are_bumble_s(addr_type: int) -> None:
    addr = bytes.fromhex("c0ffee123456")
    text = tools.format_address(addr_type, addr)
    bumble = Address(text)
    assert bumble.to_string() == text
    assert bumble.is_public == (addr_type == tools.ADDR_PUBLIC)
    assert bytes(bumble)[::-1] == addr
    assert tools.parse_address(text) == (addr_type, addr)

"""The corpus: pairs of board programs in the styles found in the wild, each run unmodified
with `aioble run` (fast, and a few on air time) and judged by what the peer received.

Each pair's folder is copied into a temporary folder, which is the programs' working
directory (a board's filesystem: data files, secrets files and downloads live there). The
run ends when the last-listed program (the central) exits; the tests wait for that, never
for a time.

The fast runs go two at a time (`LANES`; each run is two mostly idle programs and its own
private radio); the air-time runs go alone, after them, so that no other run competes with
their timing.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent
LANES = 2


def _aioble_command() -> list[str]:
    aioble = Path(sys.executable).with_name("aioble")
    return [str(aioble)] if aioble.exists() else [sys.executable, "-m", "blerun.cli"]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    work: Path

    def lines(self, program: str) -> list[str]:
        """What `program` printed on stdout, in order, without the runner's prefix."""
        return self._lines(program, " | ")

    def log(self, program: str) -> list[str]:
        """What `program` wrote on stderr (its log records under --log DEBUG)."""
        return self._lines(program, " ! ")

    def _lines(self, program: str, separator: str) -> list[str]:
        found = []
        for line in self.stdout.splitlines():
            name, sep, text = line.partition(separator)
            if sep and name.strip() == program:
                found.append(text)
        return found

    def __str__(self) -> str:  # the assertion messages
        return f"exit {self.returncode}\n{self.stdout}\n{self.stderr}"


@dataclass
class Pair:
    folder: str
    programs: tuple[str, str]  # peripheral, central (the run ends when the central exits)
    check: Callable[[Callable[[], Run]], None]
    air: bool = False
    log: str | None = None
    board: dict[str, object] = field(default_factory=dict)
    # A divergence from MicroPython this pair runs into (the test is a strict xfail until
    # it is fixed): what the board does, and what happens here.
    known_failure: str | None = None

    @property
    def id(self) -> str:
        return f"{self.folder}-{'air' if self.air else 'fast'}"


def run_pair(pair: Pair, work: Path) -> Run:
    command = [*_aioble_command()]
    if pair.log:
        command += ["--log", pair.log]
    # on simulated time: the same programs and air, without waiting for their sleeps and
    # intervals (the timeout is in simulated seconds)
    command += ["run", "--virtual-time", "--timeout", "60"]
    if not pair.air:
        command.append("--fast")
    command += list(pair.programs)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "AIOBLE_RADIO_FAST": "0" if pair.air else "1"}
    env.pop("AIOBLE_LOG", None)
    env.pop("AIOBLE_BOARD", None)
    if pair.board:
        env["AIOBLE_BOARD"] = json.dumps(pair.board)
    result = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=150, env=env)
    return Run(result.returncode, result.stdout, result.stderr, work)


def ok(run: Run) -> Run:
    assert run.returncode == 0, run
    return run


def numbers(pattern: str, lines: list[str]) -> list[tuple[str, ...]]:
    return [m.groups() for line in lines if (m := re.fullmatch(pattern, line))]


def is_subsequence(items: list[int], of: list[int]) -> bool:
    it = iter(of)
    return all(any(x == y for y in it) for x in items)


# --- 1. MicroPython's examples/bluetooth, raw IRQs on ble_advertising.py ------------------


def check_mp_temperature(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    central = run.lines("ble_temperature_central")
    assert re.fullmatch(r"Found sensor: [01] b'.*' mpy-temp", central[0]), run
    assert central[1] == "Connected" and central[-1] == "Disconnected", run
    readings = [float(line) for line in central[2:-1]]
    assert len(readings) == 3, run
    # the sensor starts at 25 and walks at most 0.5 a second: a sint16 of hundredths
    assert all(abs(value - 25) < 20 and round(value * 100) == value * 100 for value in readings)


def check_mp_uart(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    central, peripheral = run.lines("ble_simple_central"), run.lines("ble_simple_peripheral")
    assert re.fullmatch(r"Found peripheral: [01] b'.*' mpy-uart", central[0]), run
    assert "Connected" in central and central[-1] == "Disconnected", run
    # the central's five writes, with response, arrive in order
    assert [line for line in peripheral if line.startswith("RX ")] == [
        f"RX b'{i}_'" for i in range(5)
    ], run
    assert central.count("TX complete") == 5, run
    # the peripheral's notifications arrive as sent, in order, none lost once subscribed
    received = [int(n) for (n,) in numbers(r"RX b'(\d+)_'", central)]
    sent = [int(n) for (n,) in numbers(r"TX (\d+)_", peripheral)]
    assert len(received) >= 3, run
    assert received == list(range(received[0], received[0] + len(received))), run
    assert set(received) <= set(sent), run


# --- 2. aioble's temperature sensor and client ------------------------------------------


def check_aioble_temp(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    client, sensor = run.lines("temp_client"), run.lines("temp_sensor")
    assert client[0].startswith("Connecting to Device(ADDR_"), run
    received = [round(float(t) * 100) for (t,) in numbers(r"Temperature: (-?\d+\.\d\d)", client)]
    notified = [int(n) for (n,) in numbers(r"notify (-?\d+)", sensor)]
    assert len(received) == 5, run
    # notified() keeps the newest value: what the client got is what the sensor sent, in order
    assert is_subsequence(received, notified), run


# --- 3. L2CAP file transfer -------------------------------------------------------------


def check_l2cap_file(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    data = (run.work / "data" / "log.csv").read_bytes()
    client = run.lines("l2cap_file_client")
    assert f"Size of data/log.csv is {len(data)}" in client, run
    assert client[-3:] == [
        f"Downloaded {len(data)} bytes, status 0",
        f"sha256 {hashlib.sha256(data).hexdigest()}",
        "Hash OK",
    ], run
    assert f"Sent {len(data)} bytes" in run.lines("l2cap_file_server"), run
    assert (run.work / "download.csv").read_bytes() == data


# --- 4. Bonding: a raw-IRQ peripheral with a secrets file, an aioble.security central ----


def check_bonding(run_once: Callable[[], Run]) -> None:
    visits = [
        f"visit {n} {what}"
        for n in (1, 2)
        for what in ("encrypted True bonded True", "state locked")
    ]
    first = ok(run_once())
    lock = first.lines("door_lock")
    assert lock[0] == "loaded 0 secrets", first
    assert any(line.startswith("set secret type") for line in lock), first
    # the IRQ's tuple as printed: (conn_handle, encrypted, authenticated, bonded, key_size)
    assert any(re.fullmatch(r"_IRQ_ENCRYPTION_UPDATE \(\d+, 1, 0, 1, 16\)", x) for x in lock), first
    assert first.lines("phone") == visits, first
    bonds = first.work / "bonds.json"
    saved = bonds.read_text()
    assert len(json.loads(saved)) >= 1 and (first.work / "ble_secrets.json").exists()

    # Both boards restart: the bond is all that remains, in their files.
    second = ok(run_once())
    lock = second.lines("door_lock")
    assert re.fullmatch(r"loaded [1-9]\d* secrets", lock[0]), second
    assert not any(line.startswith("set secret") for line in lock), second
    assert any(re.fullmatch(r"get secret type \d+ found", line) for line in lock), second
    assert second.lines("phone") == visits, second
    assert bonds.read_text() == saved


# --- 5. Pins and ADCs: a Pico W and an ESP32 --------------------------------------------

PICO_TEMP_U16 = 14123  # what the RP2040's temperature sensor (ADC 4) reads


def _pin_levels(log: list[str], pin: str) -> list[int]:
    """The levels the program drove `pin` to, from the virtual pin's log, repeats merged."""
    levels = [int(v) for (v,) in numbers(rf".*\bPin\({pin}\) = ([01])", log)]
    return [v for i, v in enumerate(levels) if i == 0 or levels[i - 1] != v]


def check_picow_temp(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    sensor, reader = run.lines("main"), run.lines("picow_ble_temp_reader")
    # main.py's own formula on what ADC(4) read
    celsius = 27 - (PICO_TEMP_U16 * 3.3 / 65535 - 0.706) / 0.001721
    (name,) = numbers(r"Sensor name (Pico [0-9A-F:]{17})", sensor)[0]
    assert f"write temp {celsius:.2f} degc" in sensor, run
    assert reader[0] == f"Found sensor: {name}", run
    sent = int(celsius * 100) / 100  # a sint16 of hundredths
    assert reader[1:] == ["Connected", *[f"read temp: {sent:.2f} degc"] * 3, "Disconnected"], run
    # main.py blinks the LED once a second; the reader lights it while connected
    blink = _pin_levels(run.log("main"), "LED")
    assert len(blink) >= 2 and all(a != b for a, b in zip(blink, blink[1:], strict=False)), run
    # (off at start, which a pin that starts low may or may not log)
    assert _pin_levels(run.log("picow_ble_temp_reader"), "LED") in ([0, 1, 0], [1, 0]), run


def check_esp32_soil(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    sensor, app = run.lines("esp32_soil"), run.lines("soil_app")
    readings = numbers(r"moisture raw (\d+) mV (\d+)", app)
    assert len(readings) == 3, run
    for raw, mv in readings:
        # 1.65 V on GPIO34 with 11 dB attenuation: half of the 12-bit range
        assert abs(int(raw) - 2048) <= 1 and int(mv) == 1650, run
        assert f"sent {raw} {mv}" in sensor, run
    assert app[-1] == "LED blinked", run
    assert ["LED command b'on'", "LED command b'off'"] == [
        line for line in sensor if line.startswith("LED command")
    ], run
    # the LED pin: off at boot, on, then off again, as the app asked
    assert _pin_levels(run.log("esp32_soil"), "(?:GPIO)?2") in ([0, 1, 0], [1, 0]), run


# --- 6. A program with its own aioble in lib/ -------------------------------------------


def check_vendored_aioble(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    vendored = (run.work / "lib" / "aioble" / "__init__.py").resolve()
    for program in ("thermostat", "controller"):
        (path,) = numbers(r"aioble: (.*)", run.lines(program))[0]
        assert Path(path).resolve() == vendored, run
    controller = run.lines("controller")
    assert controller[1].startswith("found Device(ADDR_"), run
    assert controller[2:4] == ["setpoint 20.0", "setpoint now 21.5"], run
    assert "new setpoint 21.5" in run.lines("thermostat"), run
    room = [float(t) for (t,) in numbers(r"room (\d+\.\d+)", controller)]
    assert len(room) == 4 and room == sorted(room), run
    assert all(18.5 <= t <= 21.5 and (t * 4).is_integer() for t in room), run


# --- 7. const() without an import; a beacon and a passive observer ----------------------


def check_beacon_observer(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    observer = run.lines("observer")
    heard = numbers(r"beacon seq (\d+) temp (\d+\.\d+) adv_type (\d)", observer)
    assert len(heard) == 5, run
    seqs = [int(seq) for seq, _, _ in heard]
    assert seqs == sorted(set(seqs)), run
    for seq, temp, adv_type in heard:
        assert float(temp) == 21.5 + 0.25 * int(seq), run
        assert adv_type == "2", run  # connectable=False goes out as ADV_SCAN_IND
    assert re.fullmatch(r"heard 5 readings in \d+ s", observer[-1]), run


# --- Third-party libraries from PyPI, unmodified ----------------------------------------


def check_ble_library_uart(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    central, esp32 = run.lines("uart_central"), run.lines("esp32_uart")
    assert central[0] == ("found kocoa services [UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')]"), (
        run
    )
    counts = [int(n) for (n,) in numbers(r"notified count=(\d+)", central)]
    assert len(counts) == 3 and counts == list(range(counts[0], counts[0] + 3)), run
    assert all(f"Sent: count={n}" in esp32 for n in counts), run
    assert central[-1] == "sent 2 lines", run
    assert [line for line in esp32 if line.startswith("Received:")] == [
        "Received: hello esp32",
        "Received: LED ON",
    ], run


def check_btbricks_rc(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    remote = run.lines("remote")
    assert "Found peripheral: robot" in remote, run
    assert any(re.fullmatch(r"connected, mtu \d+", line) for line in remote), run
    states = numbers(r"steer (-?\d+) speed (\d+) buttons (\d+)", run.lines("robot"))
    driven = [s for s in states if s != ("0", "0", "0")]
    assert driven == [
        ("-30", "25", "0"),
        ("-30", "50", "0"),
        ("-30", "75", "0"),
        ("-30", "100", "1"),
    ], run


# --- Programs that found divergences from MicroPython, fixed since ---------------------
# hm10_serial: decode_services unpacks 16-bit UUIDs with "<h" (0xFFE0 is -32), and
# MicroPython's UUID(int) keeps the low 16 bits of a negative int. esp32_tutorial:
# gap_advertise(100) is zero units of 625 us, which NimBLE replaces by its default interval,
# and it notifies connection handle 0, an ESP32 controller's first. mp_bonding: a bonded
# peer dialled at its resolvable private address connects under its identity address.


def check_hm10_serial(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    assert run.lines("hm10_terminal") == ["found HMSoft", "answer b'OK'"], run
    assert "rx b'AT'" in run.lines("hm10"), run


def check_esp32_tutorial(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    assert run.lines("phone_app") == ["LED state: LED is ON."], run
    assert "read_LED" in run.lines("esp32_ble"), run
    # on once the phone is connected (before, and again once it has left, a 100 ms Timer
    # blinks it: a fast run may connect before its first tick)
    levels = _pin_levels(run.log("esp32_ble"), "(?:GPIO)?2")
    assert levels[0] == 1, run


def check_mp_bonding(run_once: Callable[[], Run]) -> None:
    run = ok(run_once())
    central = run.lines("bonding_central")
    for n in (1, 2):
        assert f"visit {n} encrypted True bonded True" in central, run
        (value,) = numbers(rf"visit {n} temperature (-?\d+\.\d+)", central)[0]
        assert abs(float(value) - 25) < 20, run
    sensor = run.lines("ble_bonding_peripheral")
    assert any(line.startswith("set secret: (") for line in sensor), run
    assert len(json.loads((run.work / "secrets.json").read_text())) >= 1


PAIRS = [
    Pair(
        "mp_temperature", ("ble_temperature.py", "ble_temperature_central.py"), check_mp_temperature
    ),
    Pair(
        "mp_temperature",
        ("ble_temperature.py", "ble_temperature_central.py"),
        check_mp_temperature,
        air=True,
    ),
    Pair("mp_uart", ("ble_simple_peripheral.py", "ble_simple_central.py"), check_mp_uart),
    Pair("aioble_temp", ("temp_sensor.py", "temp_client.py"), check_aioble_temp),
    Pair("aioble_temp", ("temp_sensor.py", "temp_client.py"), check_aioble_temp, air=True),
    Pair("l2cap_file", ("l2cap_file_server.py", "l2cap_file_client.py"), check_l2cap_file),
    Pair(
        "l2cap_file", ("l2cap_file_server.py", "l2cap_file_client.py"), check_l2cap_file, air=True
    ),
    Pair("bonding", ("door_lock.py", "phone.py"), check_bonding),
    Pair(
        "picow_temp",
        ("main.py", "picow_ble_temp_reader.py"),
        check_picow_temp,
        log="DEBUG",
        board={"adc": {"4": PICO_TEMP_U16}},
    ),
    Pair(
        "esp32_soil",
        ("esp32_soil.py", "soil_app.py"),
        check_esp32_soil,
        log="DEBUG",
        board={"adc": {"34": {"uv": 1_650_000}}},
    ),
    Pair("vendored_aioble", ("thermostat.py", "controller.py"), check_vendored_aioble),
    Pair("beacon_observer", ("beacon.py", "observer.py"), check_beacon_observer),
    Pair("beacon_observer", ("beacon.py", "observer.py"), check_beacon_observer, air=True),
    Pair("ble_library_uart", ("esp32_uart.py", "uart_central.py"), check_ble_library_uart),
    Pair("btbricks_rc", ("robot.py", "remote.py"), check_btbricks_rc),
    Pair(
        "mp_bonding",
        ("ble_bonding_peripheral.py", "bonding_central.py"),
        check_mp_bonding,
    ),
    Pair(
        "hm10_serial",
        ("hm10.py", "hm10_terminal.py"),
        check_hm10_serial,
    ),
    Pair(
        "esp32_tutorial",
        ("esp32_ble.py", "phone_app.py"),
        check_esp32_tutorial,
        log="DEBUG",
    ),
]

PAIRS.sort(key=lambda pair: pair.air)  # the air-time runs last, alone


def _param(pair: Pair) -> object:
    marks = []
    if pair.known_failure:
        marks.append(
            pytest.mark.xfail(strict=True, raises=AssertionError, reason=pair.known_failure)
        )
    return pytest.param(pair, id=pair.id, marks=marks)


def _check(pair: Pair, work: Path) -> None:
    shutil.copytree(CORPUS / pair.folder, work, ignore=shutil.ignore_patterns("__pycache__"))
    pair.check(lambda: run_pair(pair, work))


class Lanes:
    """Runs the selected fast pairs' checks in the background, `LANES` at a time."""

    def __init__(self, pairs: list[Pair], tmp: pytest.TempPathFactory) -> None:
        self._pool = ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="corpus")
        self._futures: dict[str, Future[None]] = {}
        for pair in pairs:
            work = tmp.mktemp(pair.id) / pair.folder
            self._futures[pair.id] = self._pool.submit(_check, pair, work)

    def result(self, pair: Pair) -> None:
        self._futures[pair.id].result()  # (re-raises the check's assertion)

    def drain(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def lanes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    selected = [
        item.callspec.params["pair"]
        for item in request.session.items
        if item.module is request.module and getattr(item, "callspec", None) is not None
    ]
    lanes = Lanes([p for p in selected if not p.air], tmp_path_factory)
    yield lanes
    lanes.drain()


@pytest.mark.parametrize("pair", [_param(p) for p in PAIRS])
def test_pair(pair: Pair, lanes: Lanes, tmp_path: Path) -> None:
    if pair.air:
        lanes.drain()
        _check(pair, tmp_path / pair.folder)
    else:
        lanes.result(pair)


def test_every_folder_is_run() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert folders == {p.folder for p in PAIRS}
    assert len(folders) >= 10

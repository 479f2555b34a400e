"""The pytest plugin (entry point ``pytest11``, so installing the package enables it):
fixtures that put a test's BLE devices on a radio of its own.

- ``ble_run(*programs, timeout=...)``: runs board programs as ``aioble run`` does (each in
  its own ``aioble-python`` process on a private shared radio, `blerun.run`) and returns
  each program's output lines and exit status.
- ``ble_devices(2)`` / ``ble_devices("peripheral", "central")``: radios of this process
  (``bluetooth.new_radio``) on one medium private to the test; make one current with
  ``bluetooth.use(radio)``. They are closed after the test.
- ``ble_radio``: a private shared radio served for the test; ``.address`` is ready for
  ``AIOBLE_RADIO``, ``.bumble_transport`` for Bumble (``tcp-client:HOST:PORT``).
- ``@pytest.mark.air_time``: the test's radios keep air time (advertising events, scan
  windows, connection events), as a board's do; without it they are fast (everything
  delivered at once), as unit tests want. ``@pytest.mark.air_time(conn_interval_ms=7.5)``
  passes medium options (``bleradio.MediumOptions`` fields) too.
- ``@pytest.mark.virtual_time``: the test's ``ble_run`` runs on simulated time (``aioble run
  --virtual-time``: waiting costs no wall time; its ``timeout`` is in simulated seconds). The
  clock is process-wide, so that run's runner is a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

AIR_TIME_MARKER = "air_time"
VIRTUAL_TIME_MARKER = "virtual_time"
RUN_TIMEOUT_S = 120.0  # ble_run's default bound: only a program that hangs reaches it
MAX_LINES = 100_000  # lines ble_run keeps of each program's stdout and of its stderr
RADIO_VARIABLES = ("AIOBLE_RADIO", "AIOBLE_TRANSPORT")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{AIR_TIME_MARKER}(**medium_options): the test's virtual radios (ble_devices, "
        "ble_run, ble_radio) keep air time; keyword arguments are bleradio.MediumOptions",
    )
    config.addinivalue_line(
        "markers",
        f"{VIRTUAL_TIME_MARKER}: the test's ble_run runs on simulated time (aioble run "
        "--virtual-time), its timeout in simulated seconds",
    )


def medium_options(node: pytest.Item) -> dict[str, Any]:
    """The options of a test's virtual radio: fast, unless marked ``air_time`` (whose
    keyword arguments are added)."""
    marker = node.get_closest_marker(AIR_TIME_MARKER)
    if marker is None:
        return {"fast": True}
    if marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{AIR_TIME_MARKER} takes keyword arguments only (medium options), "
            f"not {marker.args!r}"
        )
    options = {**marker.kwargs, "fast": False}
    check_medium_options(options, f"@pytest.mark.{AIR_TIME_MARKER}")
    return options


def check_medium_options(options: dict[str, Any], where: str) -> None:
    """pytest.UsageError naming `where` if `options` are not valid medium options."""
    import bleradio

    try:
        # (a scenario goes to the medium beside its options)
        bleradio.MediumOptions.merged(**{k: v for k, v in options.items() if k != "scenario"})
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"{where}: bad medium options {options}: {exc}") from None


# ---------------------------------------------------------------------- ble_run
@dataclass
class ProgramOutput:
    """What one program of a ``ble_run`` printed, and how it ended."""

    name: str
    path: str
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    returncode: int | None = None
    stopped: bool = False  # still running when the last program ended, so stopped
    dropped: int = 0  # lines past MAX_LINES (of stdout or stderr), not kept

    @property
    def failed(self) -> bool:
        return not self.stopped and self.returncode != 0


@dataclass
class BleRun:
    """The result of ``ble_run``: each program's output (by name: the file's stem, as
    ``aioble run`` prefixes lines), the run's exit status and the runner's messages."""

    programs: dict[str, ProgramOutput]
    exit_status: int
    timed_out: bool
    messages: list[str]  # the runner's own (a program that failed, a scan that hears little)
    energy: list[Any] | None = None  # with energy=True: blerun.energy.EnergyRow per program
    report: list[str] = field(default_factory=list)  # the run's other lines (energy table)

    def __getitem__(self, name: str) -> ProgramOutput:
        return self.programs[name]


class _Lines(io.TextIOBase):
    """The ``out`` of `blerun.run`, taking each ``NAME | line`` / ``NAME ! line`` it writes
    (one whole line per write, names padded to one width, no colour) apart again; the
    first MAX_LINES of each stream are kept."""

    def __init__(self, programs: dict[str, ProgramOutput]) -> None:
        self.programs = programs
        self.width = max(len(name) for name in programs)
        self.other: list[str] = []  # anything else (an --energy table)

    def write(self, text: str) -> int:
        name, mark = text[: self.width].rstrip(), text[self.width : self.width + 3]
        program = self.programs.get(name)
        if program is None or mark not in (" | ", " ! ") or not text.endswith("\n"):
            self.other.extend(text.splitlines()[: max(0, MAX_LINES - len(self.other))])
            return len(text)
        lines = program.stderr if mark == " ! " else program.stdout
        if len(lines) < MAX_LINES:
            lines.append(text[self.width + 3 : -1])  # (the line may hold \r, \f, ...)
        else:
            program.dropped += 1
        return len(text)


def run_board_programs(
    programs: Sequence[str | Path],
    *,
    options: dict[str, Any],
    timeout: float = RUN_TIMEOUT_S,
    **run_kwargs: Any,
) -> BleRun:
    """Run `programs` as ``aioble run`` does, on a private radio with medium `options`
    (with ``virtual_time=True``, on simulated time: in a runner process of its own unless
    this process serves a simulated clock already)."""
    import vclock
    from blerun import run

    if run_kwargs.get("virtual_time") and vclock.master() is None:
        return _in_a_runner_process(programs, options, timeout, run_kwargs)

    paths = [str(p) for p in programs]
    outputs = {
        name: ProgramOutput(name, path)
        for name, path in zip(run.program_names(paths), paths, strict=True)
    }
    lines = _Lines(outputs)
    messages = io.StringIO()
    result = run.run_programs(
        paths,
        timeout=timeout,
        radio_options=options,
        out=lines,
        err=messages,
        colour=False,
        **run_kwargs,
    )
    for program in result.programs:
        outputs[program.name].returncode = program.returncode
        outputs[program.name].stopped = program.stopped
    return BleRun(
        outputs,
        result.exit_status,
        result.timed_out,
        messages.getvalue().splitlines(),
        result.energy,
        lines.other,
    )


# The runner process of a ``ble_run`` on simulated time: the arguments come pickled on
# stdin, the BleRun goes back pickled on stdout (the programs' own output is inside it).
_RUNNER = """
import pickle, sys
import vclock
vclock.install(serve=True)
from blerun.pytest_plugin import run_board_programs
programs, options, timeout, kwargs = pickle.load(sys.stdin.buffer)
result = run_board_programs(programs, options=options, timeout=timeout, **kwargs)
sys.stdout.buffer.write(pickle.dumps(result))
"""


def _in_a_runner_process(
    programs: Sequence[str | Path], options: dict[str, Any], timeout: float, kwargs: Any
) -> BleRun:
    request = pickle.dumps(([str(p) for p in programs], options, timeout, kwargs))
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=request,
        capture_output=True,
        timeout=max(RUN_TIMEOUT_S, timeout) + 60,  # (wall time: only a wedged runner)
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"ble_run's runner process failed ({proc.returncode}):\n"
            + proc.stderr.decode(errors="replace")
        )
    result: BleRun = pickle.loads(proc.stdout)
    return result


@pytest.fixture
def ble_run(request: pytest.FixtureRequest) -> Callable[..., BleRun]:
    """``ble_run(*programs, timeout=120, energy=False, **options)``: run board programs as
    ``aioble run`` does (each under ``aioble-python``, all on one private radio, the run
    ending when the last one exits) and return a `BleRun`. The radio is fast unless the
    test is marked ``air_time``; ``options`` are more medium options (e.g.
    ``conn_interval_ms=7.5``); ``energy`` asks for each program's radio time and charge
    (air time only)."""
    base = medium_options(request.node)
    virtual_time = request.node.get_closest_marker(VIRTUAL_TIME_MARKER) is not None

    def run(
        *programs: str | Path, timeout: float = RUN_TIMEOUT_S, energy: bool = False, **options: Any
    ) -> BleRun:
        if not programs:
            raise TypeError("ble_run needs at least one program")
        options = {**base, **options}
        check_medium_options(options, "ble_run")
        return run_board_programs(
            programs, options=options, timeout=timeout, energy=energy, virtual_time=virtual_time
        )

    return run


# ---------------------------------------------------------------------- ble_devices
class DeviceFactory:
    """``ble_devices(...)``: in-process radios on the test's own medium (see the fixture)."""

    def __init__(self, medium: Any) -> None:
        self.medium = medium
        self.radios: list[Any] = []

    def __call__(self, *labels: int | str) -> list[Any]:
        """``(2)``: two radios labelled device1, device2 (numbered on across calls);
        ``("peripheral", "central")``: one radio per label."""
        import bluetooth

        if len(labels) == 1 and isinstance(labels[0], int) and not isinstance(labels[0], bool):
            count = labels[0]
            if count < 1:
                raise ValueError(f"ble_devices needs a positive count, not {count}")
            start = len(self.radios) + 1
            names: Sequence[int | str] = [f"device{start + i}" for i in range(count)]
        else:
            names = labels
        if not names or not all(isinstance(name, str) and name for name in names):
            raise TypeError(f"ble_devices takes a count or labels (non-empty str), not {labels!r}")
        made = [bluetooth.new_radio(str(name)) for name in names]
        self.radios.extend(made)
        return made

    def close(self) -> None:
        for radio in self.radios:
            radio.close()


@pytest.fixture
def ble_devices(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DeviceFactory]:
    """A factory of radios of this process on one medium private to the test:
    ``peripheral, central = ble_devices(2)`` (or labels: ``ble_devices("p", "c")``). Each is
    a ``bluetooth.BLE``, made current with ``bluetooth.use(radio)``; all are closed after
    the test. Fast unless the test is marked ``air_time``. ``ble_devices.medium`` is the
    ``bleradio.Medium``."""
    import bleradio

    for variable in RADIO_VARIABLES:  # in-process radios, whatever the shell says
        monkeypatch.delenv(variable, raising=False)
    with bleradio.private_medium(**medium_options(request.node)) as medium:
        factory = DeviceFactory(medium)
        try:
            yield factory
        finally:
            factory.close()


# ---------------------------------------------------------------------- ble_radio
class SharedRadio:
    """A shared virtual radio served on loopback by a thread of this process."""

    def __init__(self, options: dict[str, Any]) -> None:
        import bleradio

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="ble_radio")
        self._thread.start()
        try:
            self.server = self._call(bleradio.serve(**options))
        except BaseException:
            self._stop_loop()
            raise
        self.address: str = self.server.address  # HOST:PORT, for AIOBLE_RADIO
        self.env = {"AIOBLE_RADIO": self.address}

    @property
    def bumble_transport(self) -> str:
        """The radio as a Bumble transport spec (a plain H4 client gets a controller)."""
        return f"tcp-client:{self.address}"

    def devices(self) -> list[Any]:
        """The server's ``bleradio.DeviceInfo`` of every device that joined."""

        async def devices() -> list[Any]:
            return self.server.devices()

        return self._call(devices())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self.server.close())
        self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        if not self._thread.is_alive():
            self._loop.close()


@pytest.fixture
def ble_radio(request: pytest.FixtureRequest) -> Iterator[SharedRadio]:
    """A shared virtual radio private to the test, served on loopback until it ends:
    ``ble_radio.address`` (HOST:PORT) for ``AIOBLE_RADIO`` (``ble_radio.env`` is that as a
    dict for a subprocess), ``ble_radio.bumble_transport`` for Bumble
    (``tcp-client:HOST:PORT``), ``ble_radio.devices()`` who joined. Fast unless the test is
    marked ``air_time``."""
    radio = SharedRadio(medium_options(request.node))
    try:
        yield radio
    finally:
        radio.close()

"""The interoperability tests' pieces: real subprocesses whose output lines a test waits for
(`Program`), the radio they meet on (`Radio`) and the programs started on it (`Programs`)."""

from __future__ import annotations

import collections
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PROGRAMS = Path(__file__).parent / "programs"
SENSOR = "interop-sensor"  # the name programs/sensor.py advertises
BIN = Path(sys.executable).parent
# An upper bound for one awaited line on a loaded machine, never a pace: tests wait for lines.
LINE_TIMEOUT = 30.0

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EOF = object()


class ProgramError(AssertionError):
    """A program exited, or did not print what a test waited for in time."""


class Program:
    """A subprocess in a process group of its own; its stdout and stderr, as lines without
    ANSI colours, wait in a bounded queue (a program that prints faster than the test reads
    is held back by its pipe, never dropped from)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self._lines: queue.Queue[object] = queue.Queue(maxsize=4096)
        self.transcript: collections.deque[str] = collections.deque(maxlen=200)
        self._reader = threading.Thread(target=self._read, name=f"{name}-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = _ANSI.sub("", line.rstrip("\n"))
            self.transcript.append(line)
            self._lines.put(line)
        self._lines.put(_EOF)

    def _failure(self, what: str) -> ProgramError:
        lines = "\n".join(f"  {line}" for line in self.transcript)
        return ProgramError(f"{self.name}: {what}; its output:\n{lines}")

    def expect(self, pattern: str, timeout: float = LINE_TIMEOUT) -> re.Match[str]:
        """The first line from here on that `pattern` matches (`re.search`)."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise self._failure(f"no line matching {pattern!r} within {timeout} s") from None
            if line is _EOF:
                self._lines.put(_EOF)
                self.process.wait()
                raise self._failure(
                    f"exited ({self.process.returncode}) before a line matching {pattern!r}"
                )
            assert isinstance(line, str)
            if match := compiled.search(line):
                return match

    def write(self, text: str) -> None:
        """Types `text` on the program's standard input."""
        assert self.process.stdin is not None
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def wait(self, timeout: float = LINE_TIMEOUT) -> int:
        """Waits for the program to exit by itself; its exit status."""
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise self._failure(f"still running after {timeout} s") from None

    def stop(self) -> None:
        """SIGINT to the program's group (so `finally` blocks run), then SIGKILL."""
        if self.process.poll() is None:
            for sig, grace in ((signal.SIGINT, 5.0), (signal.SIGKILL, None)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        # Lines nobody waited for may fill the queue and hold the reader at put(): take them
        # until it has read the end of the (now closed) pipe.
        deadline = time.monotonic() + 5.0
        while self._reader.is_alive() and time.monotonic() < deadline:
            try:
                self._lines.get(timeout=0.1)
            except queue.Empty:
                pass


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment without radio settings (AIOBLE_RADIO_FAST, the suite's choice of
    radio mode, stays), unbuffered output, and `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIOBLE_") or key == "AIOBLE_RADIO_FAST"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def command(script: str, module: str) -> list[str]:
    """A console script installed beside this Python, else its module run with it."""
    path = BIN / script
    return [str(path)] if path.exists() else [sys.executable, "-m", module]


@dataclass
class Radio:
    """Where the programs meet: `env` puts an aioble program on it, `transport` is the
    Bumble transport spec of a raw HCI client (a Bumble app or `Device`)."""

    kind: str
    env: dict[str, str]
    transport: str


class Programs:
    """Starts programs on one radio and stops every one of them when the test ends."""

    def __init__(self, radio: Radio, cwd: Path) -> None:
        self.radio = radio
        self.cwd = cwd
        self._started: list[Program] = []

    def start(self, name: str, argv: list[str], **env: str) -> Program:
        program = Program(name, argv, child_env(**self.radio.env, **env), cwd=self.cwd)
        self._started.append(program)
        return program

    def aioble(self, program: str, *args: str, label: str) -> Program:
        """`aioble-python tests/interop/programs/PROGRAM ARGS` on the radio, as `label`."""
        argv = [*command("aioble-python", "mpemu.interpreter"), str(PROGRAMS / program), *args]
        return self.start(label, argv, AIOBLE_LABEL=label)

    def bumble(self, app: str, *args: str) -> Program:
        """Bumble's `bumble-APP` with `args` (the transport among them: `radio.transport`)."""
        module = "bumble.apps." + app.replace("-", "_")
        return self.start(f"bumble-{app}", [*command(f"bumble-{app}", module), *args])

    def stop_all(self) -> None:
        for program in reversed(self._started):
            program.stop()

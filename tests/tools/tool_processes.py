"""Helpers of the tools' tests, which run everything as real processes: `aioble radio` (the shared radio),
board programs under `aioble-python` on it, and the `aioble scan` / `aioble gatt-dump` under
test. Waits are for lines the processes print, each bounded by a deadline that only a hang
reaches."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[2] / "examples"
HANG = 60.0  # s: only a hang takes this long


def tool_env(**extra: str) -> dict[str, str]:
    """The environment of a process under test: none of the user's radio variables
    (AIOBLE_RADIO_FAST, the suite's choice, stays), plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIOBLE_") or k == "AIOBLE_RADIO_FAST"
    }
    env.update(extra)
    return env


class Process:
    """A child process whose stdout lines are read as they come; the last lines of its
    stderr are kept for failure messages (both pipes are drained, so it never blocks)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.address = ""  # a shared radio's HOST:PORT
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.stderr: deque[str] = deque(maxlen=50)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.stderr.append(line.rstrip("\n"))

    def expect(self, wanted: str | Callable[[str], bool]) -> str:
        """The next stdout line containing `wanted` (a str) or for which it is true."""
        while True:
            try:
                line = self.lines.get(timeout=HANG)
            except queue.Empty:
                raise AssertionError(f"no line {wanted!r}; saw {self.seen}") from None
            if line is None:
                raise AssertionError(
                    f"exited before a line {wanted!r}; saw {self.seen}; stderr: {list(self.stderr)}"
                )
            self.seen.append(line)
            if wanted in line if isinstance(wanted, str) else wanted(line):
                return line

    def exit_status(self, within: float = HANG) -> int:
        """Its exit status, once it exits; a failure naming its last stderr lines (and,
        where py-spy is installed, where its threads are) if it has not within `within`."""
        try:
            return self.popen.wait(within)
        except subprocess.TimeoutExpired:
            stacks = _stacks(self.popen.pid)
            raise AssertionError(
                f"still running after {within:.0f} s; stderr: {list(self.stderr)}\n{stacks}"
            ) from None

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def aioble(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`aioble ARGS` as a real process, to its end."""
    return subprocess.run(
        [sys.executable, "-m", "blerun.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=HANG,
    )


def start_program(radio: Process, path: Path, label: str) -> Process:
    """Run the board program `path` under aioble-python on `radio` as `label`; returns once
    the radio has seen it join."""
    env = tool_env(AIOBLE_RADIO=radio.address, AIOBLE_LABEL=label)
    program = Process([sys.executable, "-m", "mpemu.interpreter", str(path)], env)
    radio.expect(f"joined {label} ")
    return program


def _stacks(pid: int) -> str:
    """The Python stacks of process `pid`, by py-spy if it is installed (a diagnosis aid)."""
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        return ""
    try:
        return subprocess.run(
            [str(spy), "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ""

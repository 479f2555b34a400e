"""MicroPython's own `tests/run-multitests.py -t exec:aioble-python -t exec:aioble-python`
must work, and `aioble multitest` must record what it records.

This mimics exactly how that runner starts and drives instances: `Popen([aioble-python, "-c",
SCRIPT], bufsize=0, stdin=PIPE, stdout=PIPE, stderr=STDOUT, cwd=<test folder>)`, the
environment inherited (with AIOBLE_RADIO pointing at a shared radio, the plugin's
ble_radio), lines read raw with select and rstripped, BROADCAST lines written to the
others' stdin with "\\r\\n".
It uses blerun only for the script text, so it checks our interpreter, not our runner.
"""

from __future__ import annotations

import io
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blerun import protocol

DATA = Path(__file__).parent / "data"


def _aioble_python() -> str:
    beside = Path(sys.executable).parent / "aioble-python"
    found = str(beside) if beside.exists() else shutil.which("aioble-python")
    if found is None:
        pytest.skip("the aioble-python console script is not installed")
    return found


class Instance:
    """Like run-multitests.py's PyInstanceSubProcess."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        self.cwd = cwd
        self.popen: subprocess.Popen[bytes] | None = None
        self.finished = True

    def run_script(self, script: str) -> None:
        self.popen = subprocess.Popen(
            self.argv + ["-c", script],
            bufsize=0,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.cwd,
        )
        self.finished = False

    def readline(self) -> str | None:
        assert self.popen is not None and self.popen.stdout is not None
        raw = getattr(self.popen.stdout, "raw", self.popen.stdout)  # bufsize=0: already raw
        if not select.select([raw], [], [], 0.001)[0]:
            self.finished = self.popen.poll() is not None
            return None
        out = raw.readline()
        if out == b"":
            self.finished = self.popen.poll() is not None
            return None
        return str(out.rstrip(), "ascii")

    def write(self, data: bytes) -> None:
        assert self.popen is not None and self.popen.stdin is not None
        self.popen.stdin.write(data)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            self.popen.wait(10)


def run_like_micropython(test_file: Path, timeout_s: float = 10.0) -> str:
    """MicroPython's run_test_on_instances, for instances that do not reboot.

    Phase 1 starts the instances in order, reading each one only until its NEXT (SET, SKIP
    and NEXT are commands there; every other line, a BROADCAST too, is output). Phase 2
    reads them all in turn, one line each, its clocks restarted: BROADCAST goes to the
    others, OUTPUT_METRIC apart, and every other line (WAIT_FOR_REBOOT too) is output; a
    TIMEOUT there ends the test. Each instance's lines are joined with "\\n" plus "\\n".
    """
    source = test_file.read_text()
    count = protocol.count_instances(source)
    instances = [Instance([_aioble_python()], test_file.parent) for _ in range(count)]
    output: list[list[str]] = [[] for _ in range(count)]
    injected: list[str] = []

    try:
        for idx, inst in enumerate(instances):
            inst.run_script(protocol.build_script(source, f"instance{idx}", injected))
            last = time.monotonic()
            while not inst.finished:
                line = inst.readline()
                if line is None:
                    if time.monotonic() > last + timeout_s:
                        output[idx].append("TIMEOUT")
                        break
                    continue
                last = time.monotonic()
                if line.startswith("SET "):
                    injected.append(line[4:])
                elif line == "SKIP":
                    raise AssertionError("unexpected SKIP")
                elif line == "NEXT":
                    break
                else:
                    output[idx].append(line)
        last_read = [time.monotonic()] * count
        error = False
        while True:
            running = 0
            for idx, inst in enumerate(instances):
                if inst.finished:
                    continue
                running += 1
                line = inst.readline()
                if line is None:
                    if time.monotonic() > last_read[idx] + timeout_s:
                        output[idx].append("TIMEOUT")
                        error = True
                    continue
                last_read[idx] = time.monotonic()
                if line.startswith("BROADCAST "):
                    for other in instances:
                        if other is not inst and not other.finished:
                            other.write(bytes(line, "ascii") + b"\r\n")
                elif not line.startswith("OUTPUT_METRIC "):
                    output[idx].append(line)
            if error or running == 0:
                break
    finally:
        for inst in instances:
            inst.stop()
    text = ""
    for idx, lines in enumerate(output):
        text += f"--- instance{idx} ---\n" + "\n".join(lines) + "\n"
    return text


def test_handshake_through_aioble_python(ble_radio, monkeypatch) -> None:
    monkeypatch.setenv("AIOBLE_RADIO", ble_radio.address)
    got = run_like_micropython(DATA / "handshake.py")
    assert got == (DATA / "handshake.py.exp").read_text()


def test_ble_connection_through_aioble_python(needs_ble, ble_radio, monkeypatch) -> None:
    monkeypatch.setenv("AIOBLE_RADIO", ble_radio.address)
    got = run_like_micropython(DATA / "ble_connect.py")
    assert got == (DATA / "ble_connect.py.exp").read_text()


@pytest.mark.parametrize("name", ["handshake.py", "quiet.py", "held_broadcast.py"])
def test_aioble_multitest_records_what_micropython_records(
    name: str, ble_radio, monkeypatch
) -> None:
    """The same files, under this mimic and under `aioble multitest`: the same output, byte
    for byte (an instance that printed nothing, a broadcast sent right after NEXT)."""
    from blerun.multitest import run_tests

    exp = (DATA / (name + ".exp")).read_text()
    summary = run_tests([str(DATA / name)], out=io.StringIO())
    monkeypatch.setenv("AIOBLE_RADIO", ble_radio.address)
    assert run_like_micropython(DATA / name) == summary.results[0].output == exp

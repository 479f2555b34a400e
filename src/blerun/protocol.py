"""MicroPython's multitest protocol, as pure functions: no processes, no I/O.

Compatible with MicroPython's `tests/run-multitests.py`: how many instances a test has,
the script each instance runs, what each line an instance prints means, and the recorded
output that is compared with `FILE.py.exp`.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

# MicroPython's injected class, reproduced faithfully: tests depend on its exact behaviour
# (e.g. `wait` discards every stdin line that is not the awaited broadcast).
MULTITEST_CLASS = """\
import sys
class multitest:
    @staticmethod
    def flush():
        try:
            sys.stdout.flush()
        except AttributeError:
            pass
    @staticmethod
    def skip():
        print("SKIP")
        multitest.flush()
        raise SystemExit
    @staticmethod
    def next():
        print("NEXT")
        multitest.flush()
    @staticmethod
    def broadcast(msg):
        print("BROADCAST", msg)
        multitest.flush()
    @staticmethod
    def wait(msg):
        msg_ = "BROADCAST " + msg
        while True:
            if sys.stdin.readline().rstrip() == msg_:
                return
    @staticmethod
    def globals(**gs):
        for g in gs:
            print("SET {} = {!r}".format(g, gs[g]))
        multitest.flush()
    @staticmethod
    def get_network_ip():
        return "127.0.0.1"
    @staticmethod
    def expect_reboot(resume, delay_ms=0):
        print("WAIT_FOR_REBOOT", resume, delay_ms)
    @staticmethod
    def output_metric(data):
        print("OUTPUT_METRIC", data)
"""

PROLOGUE = "import sys; sys.path.remove('')\n"

# What the runner records for an instance that printed nothing for too long.
TIMEOUT_LINE = "TIMEOUT"

_INSTANCE_DEF = re.compile(r"def instance([0-9]+)\(\):")


def count_instances(source: str) -> int:
    """Instances of a test: one more than the highest N of a `def instanceN():` line."""
    count = 0
    for line in source.splitlines():
        m = _INSTANCE_DEF.match(line)
        if m:
            count = max(count, int(m.group(1)) + 1)
    return count


def build_script(source: str, entry: str, injected_globals: list[str]) -> str:
    """The `-c` script of one instance: the test, the multitest class, the globals other
    instances SET so far (`name = repr` lines) and a call of `entry` (`instance0`, or the
    resume function after an expected reboot)."""
    return (
        PROLOGUE
        + source
        + "\n"
        + MULTITEST_CLASS
        + "".join(g + "\n" for g in injected_globals)
        + f"\n{entry}()\nmultitest.flush()\n"
    )


@dataclass(frozen=True)
class Output:
    """A line to record and compare."""

    line: str


@dataclass(frozen=True)
class Next:
    """The instance is ready for the next one to start."""


@dataclass(frozen=True)
class Set:
    """Inject `assignment` (`name = repr`) into instances started from now on."""

    assignment: str


@dataclass(frozen=True)
class Broadcast:
    """Write `line` (the whole `BROADCAST msg` line) to every other instance's stdin."""

    line: str


@dataclass(frozen=True)
class Metric:
    data: str


@dataclass(frozen=True)
class Skip:
    pass


@dataclass(frozen=True)
class WaitForReboot:
    """The instance will reset; once it has, start `resume()` in a new one."""

    resume: str
    delay_ms: int


Event = Output | Next | Set | Broadcast | Metric | Skip | WaitForReboot


def decode_line(raw: bytes) -> str:
    """A line as the runner sees it: trailing whitespace (incl. `\\r\\n`) removed."""
    return raw.rstrip().decode("utf-8", "backslashreplace")


def parse_line(line: str) -> Event:
    """What a (decoded) line from an instance means to the runner."""
    if line == "NEXT":
        return Next()
    if line == "SKIP":
        return Skip()
    if line.startswith("SET "):
        return Set(line[4:])
    if line.startswith("BROADCAST "):
        return Broadcast(line)
    if line.startswith("OUTPUT_METRIC "):
        return Metric(line.split(" ", 1)[1])
    if line.startswith("WAIT_FOR_REBOOT "):
        parts = line.split(" ")
        if len(parts) == 3 and parts[2].lstrip("-").isdigit():
            return WaitForReboot(parts[1], int(parts[2]))
    return Output(line)


def recorded(line: str, event: Event) -> str | None:
    """What `line` (parsed as `event`) adds to the recorded output, if anything: ordinary
    output, and `WAIT_FOR_REBOOT resume delay` too (MicroPython's runner handles it and
    then records it like any other line, so `.exp` files have it). NEXT, SET, BROADCAST,
    OUTPUT_METRIC and SKIP are the runner's and stay out."""
    if isinstance(event, (Output, WaitForReboot)):
        return line
    return None


def broadcast_bytes(event: Broadcast) -> bytes:
    """What the runner writes to the other instances' stdin for a broadcast."""
    return event.line.encode("utf-8") + b"\r\n"


def format_output(outputs: list[list[str]]) -> str:
    """The recorded output of a test, in the `.exp` file's format: as MicroPython's runner
    builds it, each instance's lines joined with "\\n" plus a final "\\n", so an instance
    that printed nothing still has an empty line under its header."""
    text = ""
    for idx, lines in enumerate(outputs):
        text += f"--- instance{idx} ---\n"
        text += "\n".join(lines) + "\n"
    return text


def output_diff(expected: str, got: str, name: str = "") -> str:
    """A unified diff from the expected to the recorded output ('' when they are equal)."""
    lines = difflib.unified_diff(
        expected.splitlines(keepends=True),
        got.splitlines(keepends=True),
        fromfile=f"{name}.exp (expected)",
        tofile=f"{name} (got)",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )

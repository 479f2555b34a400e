"""`aioble multitest FILE.py ...`: MicroPython multitest files, one process per instance.

Each test gets its own private radio. Its instances run as `aioble-python -c SCRIPT` in the
test's folder (`blerun.protocol.build_script`), stderr merged into stdout, started in order:
the next instance starts once the previous one printed `NEXT` (or ended). Lines are handled
as MicroPython's `run-multitests.py` does (`blerun.protocol.parse_line`): SET globals go to
instances started later, BROADCAST lines to every other running instance's stdin, metrics
apart, SKIP skips the test, an instance silent for `instance_timeout` seconds gets `TIMEOUT`
recorded and is stopped. `WAIT_FOR_REBOOT resume delay` (from `multitest.expect_reboot`)
lets the instance's process end at its `machine.reset()`/`deepsleep()` (the runner sets
`AIOBLE_ON_RESET=exit`) and starts `resume()` in a new one after `delay` ms.

The recorded output is compared exactly with `FILE.py.exp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from blerun import procs, protocol
from blerun.radio import RadioEnv, RadioProvider, radio_provider

INSTANCE_TIMEOUT_S = 10.0

PASS, FAIL, SKIP = "pass", "fail", "skip"

LineCallback = Callable[[int, str], None]


@dataclass
class TestResult:
    path: str
    status: str  # PASS, FAIL or SKIP
    output: str = ""  # the recorded output, in the .exp format
    expected: str | None = None  # None: there is no .exp file
    metrics: list[str] = field(default_factory=list)
    reason: str = ""  # why it failed, besides a differing output

    @property
    def diff(self) -> str:
        if self.expected is None:
            return ""
        return protocol.output_diff(self.expected, self.output, os.path.basename(self.path))


@dataclass
class Summary:
    results: list[TestResult]

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def exit_status(self) -> int:
        return 1 if self.count(FAIL) else 0

    def closing_line(self) -> str:
        line = f"{self.count(PASS)} passed, {self.count(FAIL)} failed"
        skipped = self.count(SKIP)
        return line + (f", {skipped} skipped" if skipped else "")


class _Instance:
    def __init__(self, idx: int) -> None:
        self.idx = idx
        self.output: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self.ready = asyncio.Event()  # printed NEXT, or ended
        self.reboot: protocol.WaitForReboot | None = None
        self.timed_out = False


class _TestRun:
    """One test: its instances, the globals they SET and the metrics they output."""

    def __init__(
        self,
        source: str,
        cwd: str,
        radio_env: RadioEnv,
        instance_timeout: float,
        on_line: LineCallback | None,
    ) -> None:
        self.source = source
        self.cwd = cwd
        self.radio_env = radio_env
        self.instance_timeout = instance_timeout
        self.on_line = on_line
        self.instances: list[_Instance] = []
        self.globals: list[str] = []
        self.metrics: list[str] = []
        self.skipped = asyncio.Event()

    async def drive(self, inst: _Instance) -> None:
        """Run instance `inst` to its end, through any expected reboots."""
        entry = label = f"instance{inst.idx}"  # a rebooted board keeps its address: same label
        try:
            while True:
                script = protocol.build_script(self.source, entry, self.globals)
                inst.proc = await procs.spawn(
                    procs.interpreter_command("-c", script),
                    env=procs.child_env(self.radio_env, AIOBLE_LABEL=label, AIOBLE_ON_RESET="exit"),
                    cwd=self.cwd,
                    stdin=asyncio.subprocess.PIPE,
                    merge_stderr=True,
                )
                await self._read(inst)
                if not inst.timed_out:  # its output ended: it is probably exiting by itself
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(inst.proc.wait(), 1.0)
                await procs.stop(inst.proc, int_grace=0.5, term_grace=0.5)
                if inst.reboot is None or inst.timed_out or self.skipped.is_set():
                    return
                entry, delay_ms = inst.reboot.resume, inst.reboot.delay_ms
                inst.reboot = None
                await asyncio.sleep(max(0, delay_ms) / 1000)
        finally:
            inst.ready.set()

    async def _read(self, inst: _Instance) -> None:
        assert inst.proc is not None and inst.proc.stdout is not None
        stdout = inst.proc.stdout
        while True:
            try:
                raw = await asyncio.wait_for(_whole_line(stdout), self.instance_timeout)
            except TimeoutError:
                inst.output.append(protocol.TIMEOUT_LINE)
                inst.timed_out = True
                return
            if not raw:
                return
            line = protocol.decode_line(raw)
            if self.on_line is not None:
                self.on_line(inst.idx, line)
            self._handle(inst, protocol.parse_line(line))

    def _handle(self, inst: _Instance, event: protocol.Event) -> None:
        if isinstance(event, protocol.Output):
            inst.output.append(event.line)
        elif isinstance(event, protocol.Next):
            inst.ready.set()
        elif isinstance(event, protocol.Set):
            self.globals.append(event.assignment)
        elif isinstance(event, protocol.Broadcast):
            data = protocol.broadcast_bytes(event)
            for other in self.instances:
                proc = other.proc
                if other is inst or proc is None or proc.returncode is not None:
                    continue
                if proc.stdin is not None and not proc.stdin.is_closing():
                    with contextlib.suppress(ConnectionError, RuntimeError):
                        proc.stdin.write(data)
        elif isinstance(event, protocol.Metric):
            self.metrics.append(event.data)
        elif isinstance(event, protocol.Skip):
            self.skipped.set()
        elif isinstance(event, protocol.WaitForReboot):
            inst.reboot = event

    async def run(self, count: int) -> None:
        drivers: list[asyncio.Task[None]] = []
        skipped = asyncio.create_task(self.skipped.wait())
        try:
            for idx in range(count):
                inst = _Instance(idx)
                self.instances.append(inst)
                drivers.append(asyncio.create_task(self.drive(inst)))
                ready = asyncio.create_task(inst.ready.wait())
                await asyncio.wait({ready, skipped}, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if self.skipped.is_set():
                    return
            while not self.skipped.is_set():
                pending = {d for d in drivers if not d.done()}
                if not pending:
                    break
                await asyncio.wait({skipped, *pending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            skipped.cancel()
            running = [i.proc for i in self.instances if i.proc and i.proc.returncode is None]
            await asyncio.gather(*(procs.stop(p, int_grace=0.5, term_grace=0.5) for p in running))
            for inst in self.instances:
                if inst.proc is not None:
                    procs.kill_group(inst.proc)
            for d in drivers:
                d.cancel()
            outcomes = await asyncio.gather(*drivers, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, Exception):
                raise outcome


async def run_test_async(
    path: str,
    *,
    radio: str | RadioProvider = "virtual",
    radio_options: dict[str, Any] | None = None,
    instance_timeout: float = INSTANCE_TIMEOUT_S,
    on_line: LineCallback | None = None,
) -> TestResult:
    """Run one multitest file; `on_line(instance, line)` sees every line as it arrives."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    count = protocol.count_instances(source)
    if count == 0:
        return TestResult(path, FAIL, reason="no 'def instanceN():' in the file")
    provider = radio_provider(radio, **(radio_options or {}))
    async with provider() as radio:
        test = _TestRun(
            source, os.path.dirname(os.path.abspath(path)), radio.env, instance_timeout, on_line
        )
        await test.run(count)
    if test.skipped.is_set():
        return TestResult(path, SKIP, metrics=test.metrics)
    output = protocol.format_output([i.output for i in test.instances])
    result = TestResult(path, PASS, output=output, metrics=test.metrics)
    try:
        with open(path + ".exp", encoding="utf-8", newline="") as f:
            result.expected = f.read()
    except FileNotFoundError:
        result.status = FAIL
        result.reason = f"no expected output: {path}.exp does not exist"
        return result
    if result.expected != output:
        result.status = FAIL
    return result


def _indent(text: str, prefix: str = "    ") -> str:
    return "".join(prefix + line + "\n" for line in text.splitlines())


def print_result(result: TestResult, out: TextIO) -> None:
    out.write(f"{result.status.upper()}  {result.path}\n")
    if result.status == FAIL:
        if result.reason:
            out.write(f"    {result.reason}\n")
        if result.expected is None and result.output:
            out.write("    output got:\n" + _indent(result.output, "      "))
        elif result.diff:
            out.write(_indent(result.diff))
    for metric in result.metrics:
        out.write(f"    metric: {metric}\n")
    out.flush()


async def run_tests_async(
    paths: Sequence[str],
    *,
    radio: str | RadioProvider = "virtual",
    radio_options: dict[str, Any] | None = None,
    verbose: bool = False,
    out: TextIO | None = None,
    instance_timeout: float = INSTANCE_TIMEOUT_S,
) -> Summary:
    """Run each multitest file in turn, printing PASS/FAIL/SKIP and a closing line to `out`.
    Raises FileNotFoundError before running anything if a file is missing."""
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"no such file: {p}")
    out = sys.stdout if out is None else out
    summary = Summary([])
    for path in paths:
        on_line = None
        if verbose:
            t0 = time.monotonic()
            out.write(f"---- {path}\n")

            def on_line(idx: int, line: str, t0: float = t0) -> None:
                out.write(f"  {time.monotonic() - t0:7.3f} instance{idx} | {line}\n")
                out.flush()

        result = await run_test_async(
            path,
            radio=radio,
            radio_options=radio_options,
            instance_timeout=instance_timeout,
            on_line=on_line,
        )
        summary.results.append(result)
        print_result(result, out)
    out.write(summary.closing_line() + "\n")
    out.flush()
    return summary


def run_tests(paths: Sequence[str], **kwargs: Any) -> Summary:
    """`run_tests_async` in a fresh event loop."""
    return asyncio.run(run_tests_async(paths, **kwargs))


async def _whole_line(stream: asyncio.StreamReader) -> bytes:
    # A line is compared with the .exp file whole, however long.
    line = await procs.read_line(stream)
    while line and not line.endswith(b"\n"):
        piece = await procs.read_line(stream)
        if not piece:
            break
        line += piece
    return line

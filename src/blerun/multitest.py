"""`aioble multitest FILE.py ...`: MicroPython multitest files, one process per instance.

Each test gets its own private radio. Its instances run as `aioble-python -c SCRIPT` in the
test's folder (`blerun.protocol.build_script`), stderr merged into stdout, started in order:
the next instance starts once the previous one printed `NEXT` (or ended). Lines are handled
as MicroPython's `run-multitests.py` does (`blerun.protocol.parse_line`): SET globals go to
instances started later, BROADCAST lines to every other instance's stdin, metrics apart,
SKIP skips the test, an instance silent for `instance_timeout` seconds gets `TIMEOUT`
recorded and is stopped. `WAIT_FOR_REBOOT resume delay` (from `multitest.expect_reboot`)
lets the instance's process end at its `machine.reset()`/`deepsleep()` (the runner sets
`AIOBLE_ON_RESET=exit`) and starts `resume()` in a new one after `delay` ms; the line
itself is recorded, as MicroPython's runner records it.

A broadcast is never dropped: an instance that has no process yet (not started, or between
its WAIT_FOR_REBOOT and its resume) has it held and written to its process's stdin once it
starts.
MicroPython's runner gets the same effect by not reading an instance's output after its
NEXT until every instance has started.

The recorded output has a block for every instance, even one that printed nothing, and is
compared exactly with `FILE.py.exp`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import vclock
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
        self.past_next = False  # printed NEXT
        self.deferred: list[str] = []  # lines after NEXT, before every instance has started
        self.reboot: protocol.WaitForReboot | None = None
        self.timed_out = False
        self.ended = False  # its last process is gone: nothing more to deliver to it
        self.held: list[bytes] = []  # broadcasts that came while it had no process
        self.clock = ""  # its process's name on the run's simulated clock, if any

    def deliver(self, data: bytes) -> None:
        """Write a broadcast to the instance's stdin, or hold it until its process runs."""
        if self.ended:
            return
        proc = self.proc
        # After WAIT_FOR_REBOOT the process is about to reset and read no more: what comes
        # now is for the resumed one (MicroPython's runner, busy waiting for the reboot,
        # reads the other instances' lines only once the resume has started).
        if proc is None or proc.returncode is not None or self.reboot is not None:
            self.held.append(data)
            return
        assert proc.stdin is not None  # spawned with stdin=PIPE
        if not proc.stdin.is_closing():
            # it may be exiting by itself (a pipe closed under us): like a board, it misses it
            with contextlib.suppress(ConnectionError, RuntimeError):
                proc.stdin.write(data)

    def started(self, proc: asyncio.subprocess.Process) -> None:
        """A process of the instance started: it gets the broadcasts held for it, in order.
        Called with no await between the spawn and it, so nothing can slip in between."""
        self.proc = proc
        held, self.held = self.held, []
        for data in held:
            self.deliver(data)


class _TestRun:
    """One test: its instances, the globals they SET and the metrics they output.

    As in MicroPython's runner, the lines an instance prints after its NEXT are handled only
    once every instance has started (that runner does not read them before), in its order:
    one line of each instance in turn. So a BROADCAST printed right after NEXT reaches the
    instances started after it too, and their start-up does not count as silence.
    """

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
        self.all_started = asyncio.Event()
        self.all_started_at: float | None = None  # loop time

    async def drive(self, inst: _Instance) -> None:
        """Run instance `inst` to its end, through any expected reboots."""
        entry = label = f"instance{inst.idx}"  # a rebooted board keeps its address: same label
        master = vclock.master()
        try:
            while True:
                script = protocol.build_script(self.source, entry, self.globals)
                inst.clock = procs.clock_name(label)
                clock = master.expect(inst.clock) if master is not None else ""
                env = procs.child_env(
                    self.radio_env,
                    AIOBLE_LABEL=label,
                    AIOBLE_ON_RESET="exit",
                    AIOBLE_VIRTUAL_TIME=clock,
                )
                try:
                    proc = await procs.spawn(
                        procs.interpreter_command("-c", script),
                        env=env,
                        cwd=self.cwd,
                        stdin=asyncio.subprocess.PIPE,
                        merge_stderr=True,
                    )
                    inst.started(proc)
                    await self._read(inst)
                    if not inst.timed_out:  # its output ended: it is probably exiting by itself
                        with contextlib.suppress(TimeoutError):
                            await vclock.wall_wait_for(proc.wait(), 1.0)
                    await procs.stop(proc, int_grace=0.5, term_grace=0.5, clock=inst.clock)
                finally:
                    if master is not None:
                        master.forget(inst.clock)
                if inst.deferred:
                    # its last lines (a WAIT_FOR_REBOOT, say) are handled once all started
                    await self.all_started.wait()
                if inst.reboot is None or inst.timed_out or self.skipped.is_set():
                    return
                entry, delay_ms = inst.reboot.resume, inst.reboot.delay_ms
                inst.reboot = None
                await asyncio.sleep(max(0, delay_ms) / 1000)
        finally:
            inst.ended = True
            inst.held.clear()
            inst.ready.set()

    async def _read(self, inst: _Instance) -> None:
        assert inst.proc is not None and inst.proc.stdout is not None
        stdout = inst.proc.stdout
        while True:
            reading = asyncio.ensure_future(_whole_line(stdout))
            try:
                if not await self._line_in_time(inst, reading):
                    inst.output.append(protocol.TIMEOUT_LINE)
                    inst.timed_out = True
                    return
            finally:
                reading.cancel()  # when _read itself is cancelled; no-op once done
            raw = reading.result()
            if not raw:
                return
            line = protocol.decode_line(raw)
            if self.on_line is not None:
                self.on_line(inst.idx, line)
            if inst.past_next and not self.all_started.is_set():
                inst.deferred.append(line)
            else:
                self._handle(inst, line)

    async def _line_in_time(self, inst: _Instance, reading: asyncio.Future[bytes]) -> bool:
        """Wait for `reading`; False once the instance has been silent `instance_timeout` s.
        After its NEXT, silence counts only from when every instance has started, as in
        MicroPython's runner, which restarts its clocks then. `reading` is not cancelled
        here, so a long line read in pieces is never cut."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.instance_timeout
        while True:
            done, _ = await asyncio.wait({reading}, timeout=max(0.0, deadline - loop.time()))
            if done:
                return True
            if not inst.past_next:
                return False
            if self.all_started_at is None:
                deadline = loop.time() + self.instance_timeout
            elif self.all_started_at + self.instance_timeout > deadline:
                deadline = self.all_started_at + self.instance_timeout
            else:
                return False

    def _handle(self, inst: _Instance, line: str) -> None:
        event = protocol.parse_line(line)
        record = protocol.recorded(line, event)
        if record is not None:
            inst.output.append(record)
        if isinstance(event, protocol.Next):
            inst.past_next = True
            inst.ready.set()
        elif isinstance(event, protocol.Set):
            self.globals.append(event.assignment)
        elif isinstance(event, protocol.Broadcast):
            data = protocol.broadcast_bytes(event)
            for other in self.instances:
                if other is not inst:
                    other.deliver(data)
        elif isinstance(event, protocol.Metric):
            self.metrics.append(event.data)
        elif isinstance(event, protocol.Skip):
            self.skipped.set()
        elif isinstance(event, protocol.WaitForReboot):
            inst.reboot = event

    def _start_all(self) -> None:
        """Every instance has started: handle the lines held back since their NEXT, one
        line of each instance in turn, as MicroPython's runner reads them. Synchronous, so
        that no newer line of an instance is handled before its held ones."""
        self.all_started_at = asyncio.get_running_loop().time()
        self.all_started.set()
        queues = [inst.deferred for inst in self.instances]
        for inst in self.instances:
            inst.deferred = []
        for row in itertools.zip_longest(*queues):
            for inst, line in zip(self.instances, row, strict=True):
                if line is not None:
                    self._handle(inst, line)

    async def run(self, count: int) -> None:
        drivers: list[asyncio.Task[None]] = []
        skipped = asyncio.create_task(self.skipped.wait())
        # every instance exists from the start, so that broadcasts can be held for the
        # ones not started yet, and every one has its block in the recorded output
        self.instances = [_Instance(idx) for idx in range(count)]
        try:
            for inst in self.instances:
                drivers.append(asyncio.create_task(self.drive(inst)))
                ready = asyncio.create_task(inst.ready.wait())
                await asyncio.wait({ready, skipped}, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if self.skipped.is_set():
                    return
            self._start_all()
            while not self.skipped.is_set():
                pending = {d for d in drivers if not d.done()}
                if not pending:
                    break
                await asyncio.wait({skipped, *pending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            skipped.cancel()
            await asyncio.gather(
                *(
                    procs.stop(i.proc, int_grace=0.5, term_grace=0.5, clock=i.clock)
                    for i in self.instances
                    if i.proc is not None and i.proc.returncode is None
                )
            )
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
    capture: str | None = None,
) -> TestResult:
    """Run one multitest file; `on_line(instance, line)` sees every line as it arrives;
    with `capture` (a directory) each instance's HCI traffic goes to instanceN.btsnoop
    there and a virtual radio's air to air.pcap."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    count = protocol.count_instances(source)
    if count == 0:
        return TestResult(path, FAIL, reason="no 'def instanceN():' in the file")
    provider = radio_provider(radio, capture=capture, **(radio_options or {}))
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
    capture: str | None = None,
    virtual_time: bool = False,
) -> Summary:
    """Run each multitest file in turn, printing PASS/FAIL/SKIP and a closing line to `out`.
    With `capture`, a directory: one test's files go there, several tests' each into a
    folder named after the test (`capture/FILE/`). With `virtual_time` (or whenever this
    process serves a simulated clock, which `run_tests` sets up), the radio and the
    instances run on this process's clock, `instance_timeout` in simulated seconds. Raises
    FileNotFoundError (a missing file) or bleradio.capture.CaptureError (an unusable
    `capture`) before running anything."""
    for p in paths:
        if not os.path.isfile(p):
            raise FileNotFoundError(f"no such file: {p}")
    procs.run_clock(virtual_time, radio)
    captures: list[str | None] = [None] * len(paths)
    if capture is not None:
        captures = _capture_folders(capture, paths)
    out = sys.stdout if out is None else out
    summary = Summary([])
    for path, test_capture in zip(paths, captures, strict=True):
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
            capture=test_capture,
        )
        summary.results.append(result)
        print_result(result, out)
    out.write(summary.closing_line() + "\n")
    out.flush()
    return summary


def _capture_folders(capture: str, paths: Sequence[str]) -> list[str | None]:
    """Where each test's capture files go: `capture` itself for one test, else a folder per
    test named after its file (with `-N` when two files share a name); made and checked."""
    from bleradio.capture import capture_directory

    base = capture_directory(capture)
    if len(paths) == 1:
        return [str(base)]
    names = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return [
        str(capture_directory(base / (name if names.count(name) == 1 else f"{name}-{n}")))
        for n, name in enumerate(names, 1)
    ]


def run_tests(paths: Sequence[str], **kwargs: Any) -> Summary:
    """`run_tests_async` in a fresh event loop (with `virtual_time=True`, this process goes
    on a simulated clock first, for good)."""
    procs.serve_clock(kwargs.get("virtual_time"))
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

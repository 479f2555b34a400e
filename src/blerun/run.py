"""`aioble run A.py B.py ...`: several programs, one process each, on one private radio.

Each program runs under `aioble-python` with `AIOBLE_RADIO` (or `AIOBLE_TRANSPORT`) set to
the run's private radio, `AIOBLE_LABEL` to its name and stdin to /dev/null. Every line it
prints is written to `out` prefixed with its name (`name | line` for stdout, `name ! line`
for stderr; names coloured when `out` is a terminal and NO_COLOR is unset). The run ends
when the last-listed program exits, stopping the others (SIGINT, then SIGTERM, then SIGKILL
after short graces; a program stopped this way has not failed), or after `timeout` seconds,
stopping all of them.

Exit status (`RunResult.exit_status`): 124 on timeout; else the status of the first
program, in the order given, that failed (128+N for a program killed by signal N); else 0.

With `virtual_time`, the runner's process (its radio) and every program run on one
simulated clock (`vclock`): waiting costs no wall time, and `timeout` is in simulated seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import vclock
from blerun import procs
from blerun.advice import scan_warning
from blerun.energy import EnergyRow, energy_rows, format_energy_table
from blerun.radio import PrivateRadio, RadioProvider, radio_provider
from blerun.timeline import render_timeline

TIMEOUT_STATUS = 124

_COLOURS = ("36", "35", "33", "32", "34", "96", "95", "93", "92", "94")


class ProgramNotFound(FileNotFoundError):
    pass


@dataclass
class ProgramResult:
    name: str
    path: str
    returncode: int | None = None
    stopped: bool = False  # stopped by the runner (not by itself)

    @property
    def failed(self) -> bool:
        return not self.stopped and self.returncode != 0


@dataclass
class RunResult:
    programs: list[ProgramResult]
    timed_out: bool = False
    timeout: float | None = None
    still_running: list[str] = field(default_factory=list)  # at the timeout
    energy: list[EnergyRow] | None = None  # with energy=True: per program, from the radio

    @property
    def exit_status(self) -> int:
        if self.timed_out:
            return TIMEOUT_STATUS
        for p in self.programs:
            if p.failed:
                code = p.returncode if p.returncode is not None else 1
                return 128 - code if code < 0 else code
        return 0


def program_names(paths: Sequence[str]) -> list[str]:
    """Short, distinct names: the file's stem, else the path as given, else with `#N`."""
    stems = [Path(p).stem for p in paths]
    names = [s if stems.count(s) == 1 else p for s, p in zip(stems, paths, strict=True)]
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if names.count(n) == 1 else f"{n}#{seen[n]}")
    return out


class Prefixer:
    """Writes the programs' lines to one stream, each behind its program's name."""

    def __init__(self, names: Sequence[str], out: TextIO, colour: bool) -> None:
        self.out = out
        self.width = max((len(n) for n in names), default=0)
        self.colour = colour
        self._colour_of = {n: _COLOURS[i % len(_COLOURS)] for i, n in enumerate(names)}

    def line(self, name: str, text: str, stderr: bool = False) -> None:
        label = name.ljust(self.width)
        mark = "!" if stderr else "|"
        if self.colour:
            label = f"\x1b[{self._colour_of.get(name, '0')}m{label}\x1b[0m"
            if stderr:
                mark = f"\x1b[31m{mark}\x1b[0m"
        self.out.write(f"{label} {mark} {text}\n")
        self.out.flush()


def _wants_colour(out: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


async def _pump(stream: asyncio.StreamReader, name: str, prefixer: Prefixer, stderr: bool) -> None:
    while True:
        raw = await procs.read_line(stream)
        if not raw:
            return
        prefixer.line(name, raw.rstrip(b"\r\n").decode("utf-8", "replace"), stderr)


def _status_text(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exited with status {code}"


async def run_programs_async(
    paths: Sequence[str],
    *,
    timeout: float | None = None,
    radio: str | RadioProvider = "virtual",
    radio_options: dict[str, Any] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    colour: bool | None = None,
    energy: bool = False,
    profile: Any = None,
    timeline: str | None = None,
    capture: str | None = None,
    virtual_time: bool = False,
) -> RunResult:
    """Run `paths` as described in the module docstring; `out` gets the programs' prefixed
    lines (then, with `energy`, the table of each program's radio time and charge), `err`
    the runner's own messages (`profile`: a `bleradio.air.airtime.CurrentProfile` for the
    energy figures, else the radio's default). With `timeline`, the radio's activity is drawn to that SVG
    file. With `capture`, a directory: each program's HCI traffic goes to NAME.btsnoop
    there and the virtual radio's air to air.pcap. With `virtual_time` (or whenever this
    process serves a simulated clock: `vclock.install(serve=True)`, which `run_programs`
    does), the programs follow this process's clock. Raises ProgramNotFound (a missing
    file) or bleradio.capture.CaptureError (an unusable `capture`) before starting anything."""
    if not paths:
        raise ValueError("no program to run")
    master = procs.run_clock(virtual_time, radio)
    for p in paths:
        if not os.path.isfile(p):
            raise ProgramNotFound(f"no such file: {p}")
    if capture is not None:
        from bleradio.capture import capture_directory

        capture = str(capture_directory(capture))
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    names = program_names(paths)
    prefixer = Prefixer(names, out, _wants_colour(out) if colour is None else colour)
    results = [ProgramResult(n, p) for n, p in zip(names, paths, strict=True)]
    provider = radio_provider(radio, capture=capture, **(radio_options or {}))

    energy_table: list[EnergyRow] | None = None
    async with provider() as radio:
        warn_about_scans(radio.server, "aioble run", err)
        started: list[asyncio.subprocess.Process] = []
        pumps: list[asyncio.Task[None]] = []
        clock_names = [procs.clock_name(name) for name in names]
        clocks = [master.expect(name) if master else "" for name in clock_names]
        try:
            for name, path, clock in zip(names, paths, clocks, strict=True):
                proc = await procs.spawn(
                    procs.interpreter_command(path),
                    env=procs.child_env(radio.env, AIOBLE_LABEL=name, AIOBLE_VIRTUAL_TIME=clock),
                )
                started.append(proc)
                assert proc.stdout is not None and proc.stderr is not None
                pumps.append(asyncio.create_task(_pump(proc.stdout, name, prefixer, False)))
                pumps.append(asyncio.create_task(_pump(proc.stderr, name, prefixer, True)))

            def report(result: ProgramResult, clock: str, task: asyncio.Task[int]) -> None:
                if master is not None:
                    master.forget(clock)
                if not task.cancelled() and task.result() != 0 and not result.stopped:
                    print(f"aioble run: {result.name} {_status_text(task.result())}", file=err)

            waits = []
            for proc, result, clock in zip(started, results, clock_names, strict=True):
                task = asyncio.create_task(proc.wait())
                task.add_done_callback(lambda t, r=result, c=clock: report(r, c, t))
                waits.append(task)
            done, _ = await asyncio.wait({waits[-1]}, timeout=timeout)
            timed_out = not done
        finally:
            # Stop whatever still runs (also when this task is cancelled, e.g. by Ctrl-C).
            still = [
                (p, r, c)
                for p, r, c in zip(started, results, clock_names, strict=False)
                if p.returncode is None
            ]
            for _, r, _ in still:
                r.stopped = True
            await asyncio.gather(*(procs.stop(p, clock=c) for p, _, c in still))
            for p in started:
                procs.kill_group(p)
            if master is not None:  # (a program that never started is waited for no more)
                for clock in clock_names:
                    master.forget(clock)
            with contextlib.suppress(TimeoutError):
                await vclock.wall_wait_for(asyncio.gather(*pumps), 2.0)
            for p in pumps:
                p.cancel()
        if energy:
            energy_table = energy_rows(radio.devices(profile))
        if timeline is not None:
            _write_timeline(radio, timeline, names, err)

    for proc, result in zip(started, results, strict=True):
        result.returncode = proc.returncode
    run = RunResult(results, timed_out=timed_out, timeout=timeout, energy=energy_table)
    if energy_table is not None:
        out.write(format_energy_table(energy_table))
        out.flush()
    if timed_out:
        run.still_running = [r.name for _, r, _ in still]
        print(
            f"aioble run: timed out after {timeout:g} s; still running: "
            + ", ".join(run.still_running),
            file=err,
        )
    return run


def warn_about_scans(server: Any, who: str, err: TextIO) -> None:
    """Have the shared radio `server` report every scan as it ends (air time only) and print,
    as `who`, one warning per scan whose duty cycle made hearing a typical advertiser
    unlikely. A radio that keeps no such record (rootcanal) gives none."""
    watch = getattr(server, "watch_scans", None)
    if not callable(watch):
        return

    def on_scan(record: Any) -> None:
        warning = scan_warning(record)
        if warning is not None:
            print(f"{who}: warning: {warning}", file=err, flush=True)

    watch(on_scan)


def _write_timeline(radio: PrivateRadio, path: str, names: Sequence[str], err: TextIO) -> None:
    # The shared radio's record of each device's radio events (label, kind, start, end),
    # where the radio keeps one (a virtual radio with air time).
    activity = getattr(radio.server, "activity", None)
    spans = list(activity()) if callable(activity) else []
    if not spans:
        print("aioble run: the radio recorded no activity to draw (fast mode?)", file=err)
    with open(path, "w", encoding="utf-8") as f:
        f.write(render_timeline(spans, "aioble run: " + ", ".join(names)))


def run_programs(paths: Sequence[str], **kwargs: Any) -> RunResult:
    """`run_programs_async` in a fresh event loop (with `virtual_time=True`, this process
    goes on a simulated clock first, for good)."""
    procs.serve_clock(kwargs.get("virtual_time"))
    return asyncio.run(run_programs_async(paths, **kwargs))

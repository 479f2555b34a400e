"""Starting programs under `aioble-python` and stopping them politely."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import logging
import os
import signal
import sys
from collections.abc import Mapping

import vclock
from blerun.radio import RADIO_VARIABLES

logger = logging.getLogger(__name__)

# A child's stdout can carry long lines (hex dumps); StreamReader's default is 64 KiB.
LINE_LIMIT = 1 << 20


async def read_line(stream: asyncio.StreamReader) -> bytes:
    """The next line of `stream` (with its newline; the last one may lack it), or b"" at
    its end. A line longer than LINE_LIMIT comes in pieces of that size, nothing lost."""
    try:
        return await stream.readuntil(b"\n")
    except asyncio.IncompleteReadError as end:
        return end.partial
    except asyncio.LimitOverrunError as long_line:
        return await stream.readexactly(long_line.consumed)


# Stopping: SIGINT (KeyboardInterrupt, so `finally` blocks run), then SIGTERM, then SIGKILL.
INT_GRACE_S = 2.0
TERM_GRACE_S = 1.0


def interpreter_command(*args: str) -> list[str]:
    """The command line of `aioble-python ARGS` with this very Python."""
    return [sys.executable, "-m", "mpemu.interpreter", *args]


def child_env(radio_env: Mapping[str, str], **extra: str) -> dict[str, str]:
    """The runner's environment for a child, less the variables that choose a radio and a
    clock (the run's own are in ``radio_env`` and ``extra``; an empty value is left out)."""
    env = {k: v for k, v in os.environ.items() if k not in RADIO_VARIABLES and k != vclock.ENV}
    env.update(radio_env)
    env.update({k: v for k, v in extra.items() if v})
    return env


def run_clock(virtual_time: bool, radio: object) -> vclock.Master | None:
    """The clock a run's programs follow: this process's, when it serves one (``serve_clock``);
    None on real time. ValueError when ``virtual_time`` asks for one this process does not
    serve, or for simulated time on rootcanal (a real-time controller of its own)."""
    master = vclock.master()
    if virtual_time and master is None:
        raise ValueError(
            "virtual_time needs this process on a simulated clock that serves others: "
            "vclock.install(serve=True) before its event loop starts (run_programs and "
            "run_tests do it)"
        )
    if master is not None and radio == "rootcanal":
        raise ValueError("simulated time needs the virtual radio (rootcanal keeps real time)")
    return master


def serve_clock(virtual_time: bool | None) -> None:
    """Before a run's event loop starts: with ``virtual_time``, put this process on a
    simulated clock that its programs follow (for good; once)."""
    if virtual_time and vclock.master() is None:
        vclock.install(serve=True)


def clock_name(name: str) -> str:
    """A program's name on the run's simulated clock: unique in this process (several runs
    may share its clock), one word."""
    return f"{''.join(c if c.isalnum() else '_' for c in name)}.{next(_clock_names)}"


_clock_names = itertools.count(1)


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM if the runner dies, so no program outlives a killed run.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def spawn(
    args: list[str],
    *,
    env: Mapping[str, str],
    cwd: str | None = None,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    merge_stderr: bool = False,
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT if merge_stderr else asyncio.subprocess.PIPE,
        env=dict(env),
        cwd=cwd,
        limit=LINE_LIMIT,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        # A process group of its own: what the program starts is stopped with it.
        start_new_session=True,
    )


async def stop(
    proc: asyncio.subprocess.Process,
    *,
    int_grace: float = INT_GRACE_S,
    term_grace: float = TERM_GRACE_S,
    clock: str | None = None,
) -> int:
    """Stop `proc` (SIGINT, then SIGTERM, then SIGKILL after the graces); its exit status.
    `clock`: its name on this process's simulated clock, which then waits for its shutdown."""
    master = vclock.master()
    if clock and master is not None and proc.returncode is None:
        master.hold(clock)
    for sig, grace in ((signal.SIGINT, int_grace), (signal.SIGTERM, term_grace)):
        if proc.returncode is not None:
            return proc.returncode
        # os.killpg, not proc.send_signal: Popen.send_signal first reaps an exited child
        # behind asyncio's child watcher, which then logs "Unknown child process".
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            # Graces in wall time: on a simulated clock the program's shutdown is not waited
            # for by the clock, so a jump could end a simulated grace at once.
            return await vclock.wall_wait_for(proc.wait(), grace)
        except TimeoutError:
            logger.debug("pid %d still running after %s", proc.pid, sig.name)
    kill_group(proc)
    return await proc.wait()


def kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL to `proc`'s process group: `proc` itself if it still runs, and whatever it
    started and left running."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)

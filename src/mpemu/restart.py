"""Restarting the running program from the top: `machine.reset()`, `deepsleep()`.

The interpreter records how it was started (`remember`); `restart` replaces the process
image with the same invocation (same pid, same stdin/stdout/stderr, every socket closed, so
peers see the radio go away as they would a board's). Two private environment variables
carry the reset cause and a sleep to do first across the `exec`.

With `AIOBLE_ON_RESET=exit` (set by `aioble multitest`, whose `expect_reboot` starts the
resumed instance itself) a reset ends the process with status 0 instead.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import NoReturn

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_CAUSE_VAR = "_AIOBLE_RESET_CAUSE"
_SLEEP_VAR = "_AIOBLE_SLEEP_MS"

_argv: list[str] | None = None
_cause = PWRON_RESET


def remember(interpreter_args: list[str]) -> None:
    """Called by the interpreter with the arguments that start this same program again."""
    global _argv
    _argv = list(interpreter_args)


def wake() -> None:
    """At interpreter start: take the reset cause and do the deep sleep a restart asked for."""
    global _cause
    cause = os.environ.pop(_CAUSE_VAR, None)
    sleep_ms = os.environ.pop(_SLEEP_VAR, None)
    _cause = int(cause) if cause else PWRON_RESET
    if sleep_ms == "forever":
        threading.Event().wait()
    elif sleep_ms:
        time.sleep(int(sleep_ms) / 1000)


def reset_cause() -> int:
    return _cause


def restart(cause: int, sleep_ms: int | None = None) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    if os.environ.get("AIOBLE_ON_RESET") == "exit" or _argv is None:
        os._exit(0)
    os.environ[_CAUSE_VAR] = str(cause)
    if cause == DEEPSLEEP_RESET:
        os.environ[_SLEEP_VAR] = "forever" if sleep_ms is None else str(max(0, int(sleep_ms)))
    os.execv(sys.executable, [sys.executable, "-m", "mpemu.interpreter", *_argv])

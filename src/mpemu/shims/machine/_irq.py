"""Running a peripheral's IRQ handler as a board does: a soft one through
`micropython.schedule`, a hard one at once, on the thread that caused the event."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

import micropython


def dispatch(handler: Callable[[Any], Any], arg: Any, hard: bool) -> None:
    if not hard:
        try:
            micropython.schedule(handler, arg)
        except RuntimeError:
            pass  # the schedule queue is full: a board loses this IRQ too
        return
    try:
        handler(arg)
    except Exception as exc:  # noqa: BLE001 - a board prints it and carries on
        # (the event came from a test or a tool: the handler's error is the program's)
        print("Uncaught exception in IRQ callback handler", file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)

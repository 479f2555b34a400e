"""An asyncio loop on virtual time: when nothing is ready, time jumps to the next timer.

In-process scenarios (no sockets) then run seconds of radio time in milliseconds, and
timing can be asserted exactly, never against the wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """``lag``: every timer fires that many seconds late, as in a busy process."""

    def __init__(self, lag: float = 0.0) -> None:
        super().__init__()
        self._now = 0.0
        self._lag = lag

    def time(self) -> float:
        return self._now

    def _run_once(self) -> None:  # type: ignore[override]
        ready = self._ready  # type: ignore[attr-defined]
        scheduled = self._scheduled  # type: ignore[attr-defined]
        if not ready and scheduled:
            when = scheduled[0]._when + self._lag
            if when > self._now:
                self._now = when
        super()._run_once()  # type: ignore[misc]


def run_virtual(main: Callable[[], Awaitable[T]], timeout: float = 600.0, lag: float = 0.0) -> T:
    """Run ``main()`` on a fresh virtual-time loop; ``timeout`` is in virtual seconds;
    ``lag``: how late every timer fires (seconds)."""
    loop = VirtualTimeLoop(lag)
    try:
        return loop.run_until_complete(asyncio.wait_for(main(), timeout))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def elapsed(since: float) -> float:
    return asyncio.get_running_loop().time() - since


__all__ = ["VirtualTimeLoop", "elapsed", "run_virtual", "Any"]

"""Flow control between a program's thread and the stack for bulk sends.

``gatts_notify`` and ``gattc_write(..., mode=0)`` do not wait for the stack to answer (that
round trip would halve their rate): they take a credit and post the send. The stack returns
the credit once the packet is handed to the controller and the controller's queue has room,
so a program that sends faster than the link carries is held back at the call, as a board's
stack holds it back when its buffers are full, and nothing is dropped.

Thread: ``take`` on the program's threads, ``give`` on the stack thread.
"""

from __future__ import annotations

import errno
import threading

WINDOW = 64  # sends posted but not yet drained
STALL_TIMEOUT = 30.0  # a link that drains nothing for this long is stalled


class TxWindow:
    def __init__(self, size: int = WINDOW) -> None:
        self._cond = threading.Condition()
        self._free = size

    def take(self) -> None:
        """Wait for a credit (a program's thread)."""
        with self._cond:
            if self._free <= 0 and not self._cond.wait_for(lambda: self._free > 0, STALL_TIMEOUT):
                raise OSError(
                    errno.ENOMEM,
                    f"send queue full: nothing was sent for {STALL_TIMEOUT:.0f} s (ENOMEM)",
                )
            self._free -= 1

    def give(self, count: int = 1) -> None:
        """Return credits (the stack thread)."""
        with self._cond:
            self._free += count
            self._cond.notify_all()

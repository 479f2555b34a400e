"""`machine.UART` on the virtual board: what the program writes is kept
(`board.uart_sent`) and logged to "mpemu.machine.uart"; `read`/`readline`/`any` return what a
test sent it (`board.uart_feed`), waiting `timeout` ms for the first byte and `timeout_char`
ms for each next one, as a board does; an RX `irq` fires when bytes arrive."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from mpemu import board as _board

from . import _irq
from .pin import Pin

log = logging.getLogger("mpemu.machine.uart")

_UARTS = (0, 1, 2)
_LOG_BYTES = 80


class UART:
    INV_TX = 1
    INV_RX = 2
    RTS = 1
    CTS = 2
    IRQ_RX = 1
    IRQ_RXIDLE = 2
    IRQ_TXIDLE = 4
    IRQ_BREAK = 8

    def __init__(self, id: int, *args: Any, **kwargs: Any) -> None:
        if id not in _UARTS:
            raise ValueError(f"UART({id}) doesn't exist")
        self._id = id
        self._baudrate = 115_200
        self._bits = 8
        self._parity: int | None = None
        self._stop = 1
        self._timeout = 0
        self._timeout_char = 0
        self.init(*args, **kwargs)

    def init(
        self,
        baudrate: int | None = None,
        bits: int | None = None,
        parity: int | None = -1,
        stop: int | None = None,
        *,
        tx: Any = None,
        rx: Any = None,
        rts: Any = None,
        cts: Any = None,
        txbuf: int | None = None,
        rxbuf: int | None = None,
        timeout: int | None = None,
        timeout_char: int | None = None,
        invert: int | None = None,
        flow: int | None = None,
    ) -> None:
        if baudrate is not None:
            if int(baudrate) <= 0:
                raise ValueError("invalid baudrate")
            self._baudrate = int(baudrate)
        if bits is not None:
            if bits not in (5, 6, 7, 8):
                raise ValueError("invalid data bits")
            self._bits = bits
        if parity != -1:
            if parity not in (None, 0, 1):
                raise ValueError("invalid parity")
            self._parity = parity
        if stop is not None:
            if stop not in (1, 2):
                raise ValueError("invalid stop bits")
            self._stop = stop
        for pin in (tx, rx, rts, cts):
            if pin is not None and not isinstance(pin, Pin):
                Pin(pin)  # validates the id as the board would
        for name, size in (("txbuf", txbuf), ("rxbuf", rxbuf)):
            if size is not None and int(size) < 0:
                raise ValueError(f"invalid {name}")
        if timeout is not None:
            self._timeout = max(0, int(timeout))
        if timeout_char is not None:
            self._timeout_char = max(0, int(timeout_char))
        if invert is not None and int(invert) & ~(self.INV_TX | self.INV_RX):
            raise ValueError("invalid inversion mask")
        if flow is not None and int(flow) & ~(self.RTS | self.CTS):
            raise ValueError("invalid flow control mask")

    def deinit(self) -> None:
        _board.watch_uart(self._id, None)

    def any(self) -> int:
        return _board.uart_any(self._id)

    def read(self, nbytes: int | None = None) -> bytes | None:
        got = bytearray()
        wait_ms = self._timeout
        while nbytes is None or len(got) < nbytes:
            want = (1 << 30) if nbytes is None else nbytes - len(got)
            chunk = _board.uart_take(self._id, want, wait_ms / 1000)
            if not chunk:
                break
            got += chunk
            wait_ms = self._timeout_char
        return bytes(got) if got or nbytes == 0 else None

    def readinto(self, buf: Any, nbytes: int | None = None) -> int | None:
        data = self.read(len(buf) if nbytes is None else min(nbytes, len(buf)))
        if data is None:
            return None
        memoryview(buf)[: len(data)] = data
        return len(data)

    def readline(self) -> bytes | None:
        got = bytearray()
        wait_ms = self._timeout
        while True:
            queued = _board.uart_peek(self._id)
            end = queued.find(b"\n")
            if end >= 0:
                got += _board.uart_take(self._id, end + 1, 0)
                return bytes(got)
            if queued:
                got += _board.uart_take(self._id, len(queued), 0)
                wait_ms = self._timeout_char
            if not _board.uart_wait_more(self._id, 0, wait_ms / 1000):
                return bytes(got) if got else None

    def write(self, buf: Any) -> int:
        data = bytes(buf.encode() if isinstance(buf, str) else buf)
        _board.uart_write(self._id, data)
        shown = repr(data[:_LOG_BYTES]) + ("..." if len(data) > _LOG_BYTES else "")
        log.debug("UART(%d) <- %s", self._id, shown)
        return len(data)

    def sendbreak(self) -> None:
        log.debug("UART(%d) <- break", self._id)

    def flush(self) -> None:
        pass

    def txdone(self) -> bool:
        return True

    def irq(
        self,
        handler: Callable[[UART], Any] | None = None,
        trigger: int = IRQ_RXIDLE,
        hard: bool = False,
    ) -> None:
        """The handler runs when a test sends bytes, for an RX or RXIDLE trigger."""
        if handler is None or not trigger & (self.IRQ_RX | self.IRQ_RXIDLE):
            _board.watch_uart(self._id, None)
            return
        _board.watch_uart(self._id, lambda: _irq.dispatch(handler, self, hard))

    def __repr__(self) -> str:
        parity = {None: "None", 0: "0", 1: "1"}[self._parity]
        return (
            f"UART({self._id}, baudrate={self._baudrate}, bits={self._bits}, parity={parity}, "
            f"stop={self._stop}, timeout={self._timeout}, timeout_char={self._timeout_char})"
        )

"""`machine.SPI` and `SoftSPI` on the virtual board: what the program clocks out is kept
(`board.spi_sent`) and logged to "mpemu.machine.spi"; what it reads is what a test queued
(`board.spi_feed`) by `read`, `readinto` and `write_readinto` (a plain `write` ignores MISO),
and past that its own bytes (as if MISO were wired to MOSI)."""

from __future__ import annotations

import logging
from typing import Any

from mpemu import board as _board

from .pin import Pin

log = logging.getLogger("mpemu.machine.spi")

_BUSES = (0, 1)


class SPI:
    MSB = 0
    LSB = 1
    CONTROLLER = MASTER = 0

    def __init__(self, id: int, *args: Any, **kwargs: Any) -> None:
        if id not in _BUSES:
            raise ValueError(f"SPI({id}) doesn't exist")
        self._bus: _board.BusKey = id
        self._name = f"SPI({id})"
        self._baudrate = 1_000_000
        self.init(*args, **kwargs)

    def init(
        self,
        baudrate: int | None = None,
        *,
        polarity: int = 0,
        phase: int = 0,
        bits: int = 8,
        firstbit: int = MSB,
        sck: Any = None,
        mosi: Any = None,
        miso: Any = None,
        pins: Any = None,
    ) -> None:
        if baudrate is not None:
            if int(baudrate) <= 0:
                raise ValueError("baudrate must be positive")
            self._baudrate = int(baudrate)
        if polarity not in (0, 1):
            raise ValueError("polarity must be 0 or 1")
        if phase not in (0, 1):
            raise ValueError("phase must be 0 or 1")
        if bits != 8:
            raise ValueError("bits must be 8")
        if firstbit not in (self.MSB, self.LSB):
            raise ValueError("invalid firstbit")
        for pin in (sck, mosi, miso, *(pins or ())):
            if pin is not None and not isinstance(pin, Pin):
                Pin(pin)  # validates the id as the board would

    def deinit(self) -> None:
        pass

    def _transfer(self, out: bytes, reading: bool = True) -> bytes:
        back = _board.spi_transfer(self._bus, out, reading)
        log.debug("%s <- %s", self._name, out.hex() or "(empty)")
        return back

    def write(self, buf: Any) -> None:
        self._transfer(bytes(buf), reading=False)

    def read(self, nbytes: int, write: int = 0x00) -> bytes:
        return self._transfer(bytes([write & 0xFF]) * nbytes)

    def readinto(self, buf: Any, write: int = 0x00) -> None:
        memoryview(buf)[:] = self._transfer(bytes([write & 0xFF]) * len(buf))

    def write_readinto(self, write_buf: Any, read_buf: Any) -> None:
        out = bytes(write_buf)
        if len(out) != len(read_buf):
            raise ValueError("buffers must be the same length")
        memoryview(read_buf)[:] = self._transfer(out)

    def __repr__(self) -> str:
        head = self._name[:-1]  # "SPI(0" or "SoftSPI("
        return f"{head}{', ' if head[-1] != '(' else ''}baudrate={self._baudrate})"


class SoftSPI(SPI):
    """The bit-banged bus: bus "soft" for `board.spi_feed`/`spi_sent`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._bus = "soft"
        self._name = "SoftSPI()"
        self._baudrate = 500_000
        self.init(*args, **kwargs)

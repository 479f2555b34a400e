"""MicroPython's `neopixel` (pure Python on a board too): pixels go out through
`machine.bitstream`, which the virtual board records; `board.pixels(pin)` decodes the last
frame. `NeoPixel(pin, n, bpp=3, timing=1)`, `len()`, `[i]`, `fill()`, `write()`."""

from __future__ import annotations

from typing import Any

from machine import Pin, bitstream


class NeoPixel:
    # Where each of a pixel's (r, g, b, w) goes on the wire: WS2812s take g, r, b, w.
    ORDER = (1, 0, 2, 3)

    def __init__(self, pin: Pin, n: int, bpp: int = 3, timing: Any = 1) -> None:
        self.pin = pin
        self.n = n
        self.bpp = bpp
        self.buf = bytearray(n * bpp)
        self.pin.init(pin.OUT)
        # Timing arg can either be 1 for 800kHz or 0 for 400kHz, or a 4-tuple of ns.
        self.timing = (
            ((400, 850, 800, 450) if timing else (800, 1700, 1600, 900))
            if isinstance(timing, int)
            else timing
        )

    def __len__(self) -> int:
        return self.n

    def __setitem__(self, i: int, v: Any) -> None:
        offset = i * self.bpp
        for i in range(self.bpp):
            self.buf[offset + self.ORDER[i]] = v[i]

    def __getitem__(self, i: int) -> tuple[int, ...]:
        offset = i * self.bpp
        return tuple(self.buf[offset + self.ORDER[i]] for i in range(self.bpp))

    def fill(self, v: Any) -> None:
        b = self.buf
        l = len(self.buf)  # noqa: E741 - micropython-lib's own name
        bpp = self.bpp
        for i in range(bpp):
            c = v[i]
            j = self.ORDER[i]
            while j < l:
                b[j] = c
                j += bpp

    def write(self) -> None:
        bitstream(self.pin, 0, self.timing, self.buf)

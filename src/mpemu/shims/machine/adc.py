"""`machine.ADC` and `ADCBlock` on the virtual board: a reading is what a test set with
`board.set_adc` (else the rail an input pin is at, else 0); the rp2's temperature sensor
(channel 4) reads 0.706 V, which its datasheet formula makes 27 degC.

`read_u16()` (0-65535), `read_uv()` (3.3 V full scale), esp32's `read()` (by `width`,
12 bits by default), `atten()`, `width()` and their constants; ADC(Pin(26)), ADC(26) and
ADC(0) are the same input, as on the rp2.
"""

from __future__ import annotations

from typing import Any

from mpemu import board as _board

from .pin import Pin

_ATTENS = range(4)
_WIDTHS = {0: 9, 1: 10, 2: 11, 3: 12, 4: 13}  # WIDTH_* -> bits


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 0
    WIDTH_10BIT = 1
    WIDTH_11BIT = 2
    WIDTH_12BIT = 3
    WIDTH_13BIT = 4
    CORE_TEMP = 4  # the rp2's temperature sensor channel

    def __init__(self, source: Any, *, atten: int | None = None, sample_ns: int = 0) -> None:
        if isinstance(source, int | str) or isinstance(source, Pin):
            self._key = _board.adc_key(source)
        else:
            raise TypeError(f"can't convert {type(source).__name__} to int")
        if self._key != _board.TEMP_CHANNEL:
            # the pin leaves its digital function, as adc_gpio_init does on the rp2
            _board.configure_pin(self._key, mode="ANALOG", pull=None)
        self._atten = self.ATTN_0DB
        self._width = self.WIDTH_12BIT
        self.init(atten=atten, sample_ns=sample_ns)

    def init(self, *, atten: int | None = None, sample_ns: int | None = None) -> None:
        if atten is not None:
            self.atten(atten)

    def _u16(self) -> float:
        return _board.read_adc(self._key)

    def read_u16(self) -> int:
        return round(self._u16())

    def read_uv(self) -> int:
        return round(self._u16() * _board.FULL_SCALE_UV / 65535)

    def read(self) -> int:
        return round(self._u16()) >> (16 - _WIDTHS[self._width])

    def atten(self, atten: int) -> None:
        if atten not in _ATTENS:
            raise ValueError("invalid atten")
        self._atten = atten

    def width(self, width: int) -> None:
        if width not in _WIDTHS:
            raise ValueError("invalid width")
        self._width = width

    def block(self) -> ADCBlock:
        return ADCBlock(1)

    def __repr__(self) -> str:
        key = self._key
        if key == _board.TEMP_CHANNEL:
            return "<ADC channel=4>"
        return f"<ADC Pin({key})>"


class ADCBlock:
    """esp32's ADC unit: `connect(channel | pin)` gives an ADC on it."""

    def __init__(self, id: int, *, bits: int | None = None) -> None:
        if id not in (1, 2):
            raise ValueError(f"ADCBlock({id}) doesn't exist")
        self._id = id
        self._bits = bits

    def init(self, *, bits: int | None = None) -> None:
        self._bits = bits

    def connect(self, *source: Any, atten: int | None = None) -> ADC:
        if not 1 <= len(source) <= 2:
            raise TypeError("connect takes a channel, a pin, or both")
        adc = ADC(source[-1], atten=atten)
        if self._bits is not None:
            adc.width({9: 0, 10: 1, 11: 2, 12: 3, 13: 4}.get(self._bits, 3))
        return adc

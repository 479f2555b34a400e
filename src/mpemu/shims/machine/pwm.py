"""`machine.PWM` on the virtual board: frequency and duty are validated as on the rp2
(8 Hz up to half the CPU clock; duty_u16 0-65535, duty_ns up to the period; esp32's
`duty()` 0-1023), kept (`board.pwm(pin)`), and logged to "mpemu.machine.pwm"."""

from __future__ import annotations

import logging
from typing import Any

from mpemu import board as _board

from . import system
from .pin import Pin

log = logging.getLogger("mpemu.machine.pwm")

_MIN_FREQ = 8  # the rp2's slowest: a 125 MHz clock divided by 256 * 65535
_DEFAULT_FREQ = 1000


class PWM:
    def __init__(
        self,
        dest: Any,
        *,
        freq: int | None = None,
        duty_u16: int | None = None,
        duty_ns: int | None = None,
        invert: bool = False,
    ) -> None:
        self._key = (dest if isinstance(dest, Pin) else Pin(dest)).board_key
        self._freq = _DEFAULT_FREQ
        self._duty_u16 = 0
        self._duty_ns: int | None = None  # as set, when set in ns: it reads back exactly
        self._invert = False
        self.init(freq=freq, duty_u16=duty_u16, duty_ns=duty_ns, invert=invert)

    def init(
        self,
        *,
        freq: int | None = None,
        duty_u16: int | None = None,
        duty_ns: int | None = None,
        invert: bool | None = None,
    ) -> None:
        if duty_u16 is not None and duty_ns is not None:
            raise ValueError("give duty_u16 or duty_ns, not both")
        if freq is not None:
            self._freq = self._check_freq(freq)
        if duty_u16 is not None:
            self._duty_u16 = self._check_u16(duty_u16)
            self._duty_ns = None
        if duty_ns is not None:
            self._duty_u16 = self._ns_to_u16(duty_ns)
        if invert is not None:
            self._invert = bool(invert)
        _board.configure_pin(self._key, mode="ALT")
        self._publish()

    def deinit(self) -> None:
        _board.set_pwm(self._key, None)
        log.debug("PWM(%s) off", _board.pin_label(self._key))

    def freq(self, value: int | None = None) -> int | None:
        if value is None:
            return self._freq
        self._freq = self._check_freq(value)
        self._duty_ns = None  # the duty cycle stays; its length in ns changes
        self._publish()
        return None

    def duty_u16(self, value: int | None = None) -> int | None:
        if value is None:
            return self._duty_u16
        self._duty_u16 = self._check_u16(value)
        self._duty_ns = None
        self._publish()
        return None

    def duty_ns(self, value: int | None = None) -> int | None:
        if value is None:
            if self._duty_ns is not None:
                return self._duty_ns
            return round(self._duty_u16 * 1e9 / self._freq / 65535)
        self._duty_u16 = self._ns_to_u16(value)
        self._publish()
        return None

    def duty(self, value: int | None = None) -> int | None:
        """esp32's 10-bit duty (0-1023)."""
        if value is None:
            return self._duty_u16 >> 6
        if not 0 <= int(value) <= 1023:
            raise ValueError("duty must be from 0 to 1023")
        self._duty_u16 = round(int(value) * 65535 / 1023)
        self._duty_ns = None
        self._publish()
        return None

    @staticmethod
    def _check_freq(value: Any) -> int:
        value = int(value)
        if value < _MIN_FREQ:
            raise ValueError("freq too small")
        if value > (system.freq() or 0) // 2:
            raise ValueError("freq too large")
        return value

    @staticmethod
    def _check_u16(value: Any) -> int:
        value = int(value)
        if not 0 <= value <= 65535:
            raise ValueError("duty_u16 must be from 0 to 65535")
        return value

    def _ns_to_u16(self, value: Any) -> int:
        value = int(value)
        period_ns = 1e9 / self._freq
        if not 0 <= value <= period_ns:
            raise ValueError(f"duty_ns must be from 0 to {int(period_ns)}")
        self._duty_ns = value
        return round(value * 65535 / period_ns)

    def _publish(self) -> None:
        # (a setter after deinit() starts the output again, as on the rp2)
        settings = {"freq": self._freq, "duty_u16": self._duty_u16, "invert": self._invert}
        _board.set_pwm(self._key, settings)
        log.debug(
            "PWM(%s) freq=%d duty_u16=%d%s",
            _board.pin_label(self._key),
            self._freq,
            self._duty_u16,
            " invert" if self._invert else "",
        )

    def __repr__(self) -> str:
        return f"<PWM Pin({self._key}) freq={self._freq} duty_u16={self._duty_u16}>"

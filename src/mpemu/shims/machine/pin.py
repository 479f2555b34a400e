"""`machine.Pin`, `Signal`, `time_pulse_us`, `bitstream` on the virtual board
(`mpemu.board`): a pin keeps its mode, pull and output, reads what a test sets, and fires
its `irq` when its level changes. Every output write is logged to "mpemu.machine.pin".

The constants' values are the rp2 port's; programs use them by name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from mpemu import board as _board

from . import _irq

log = logging.getLogger("mpemu.machine.pin")

_UNSET: Any = object()  # "not given": the docs' -1 defaults

_MODE_NAMES = {0: "IN", 1: "OUT", 2: "OPEN_DRAIN", 3: "ALT", 4: "ANALOG", 5: "ALT_OPEN_DRAIN"}
_PULL_NAMES = {1: "PULL_UP", 2: "PULL_DOWN", 4: "PULL_HOLD"}
_MODES = {name: value for value, name in _MODE_NAMES.items()}
_PULLS = {name: value for value, name in _PULL_NAMES.items()}


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"can't convert {type(value).__name__} to int")
    return value


class _PinIRQ:
    """What `Pin.irq()` returns: `flags()` (the triggers of the latest IRQ), `trigger()`."""

    def __init__(
        self, pin: Pin, handler: Callable[[Pin], Any] | None, trigger: int, hard: bool
    ) -> None:
        self._pin = pin
        self._handler = handler
        self._trigger = trigger
        self._hard = hard
        self._flags = 0

    def flags(self) -> int:
        return self._flags

    def trigger(self, trigger: int | None = None) -> int | None:
        if trigger is None:
            return self._trigger
        self._trigger = _int(trigger)
        return None

    def __call__(self) -> None:
        if self._handler is not None:
            self._handler(self._pin)

    def level_changed(self, level: int) -> None:
        happened = (
            (Pin.IRQ_RISING | Pin.IRQ_HIGH_LEVEL)
            if level
            else (Pin.IRQ_FALLING | Pin.IRQ_LOW_LEVEL)
        )
        flags = self._trigger & happened
        if flags and self._handler is not None:
            self._flags = flags
            _irq.dispatch(self._handler, self._pin, self._hard)


# The current irq of each pin: one per pin, whichever Pin object set it (as on a board).
_irqs: dict[_board.PinKey, _PinIRQ] = {}


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    ANALOG = 4
    ALT_OPEN_DRAIN = 5
    PULL_UP = 1
    PULL_DOWN = 2
    PULL_HOLD = 4
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3
    IRQ_LOW_LEVEL = 1
    IRQ_HIGH_LEVEL = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    board: _PinNames
    cpu: _PinNames

    def __init__(
        self,
        id: Any,
        mode: int = _UNSET,
        pull: int | None = _UNSET,
        *,
        value: Any = None,
        drive: int = _UNSET,
        alt: int = _UNSET,
    ) -> None:
        self.board_key = _board.pin_key(id)  # (the name mpemu.board looks for)
        if (mode, pull, drive, alt) != (_UNSET,) * 4 or value is not None:
            self.init(mode, pull, value=value, drive=drive, alt=alt)

    def init(
        self,
        mode: int = _UNSET,
        pull: int | None = _UNSET,
        *,
        value: Any = None,
        drive: int = _UNSET,
        alt: int = _UNSET,
    ) -> None:
        """Change only what is given, as the docs say; `value` is set before the mode, so an
        output starts at it without a glitch."""
        mode_name = pull_name = _UNSET
        if mode is not _UNSET and mode != -1:
            if _int(mode) not in _MODE_NAMES:
                raise ValueError(f"invalid pin mode: {mode}")
            mode_name = _MODE_NAMES[mode]
        if pull is not _UNSET and pull != -1:
            if pull is not None and _int(pull) not in _PULL_NAMES:
                raise ValueError(f"invalid pull: {pull}")
            pull_name = None if pull is None else _PULL_NAMES[pull]
        if drive is not _UNSET and _int(drive) not in range(4):
            raise ValueError(f"invalid drive: {drive}")
        if alt is not _UNSET and alt != -1 and _int(alt) < 0:
            raise ValueError(f"invalid pin af: {alt}")
        latch = None if value is None else int(bool(value))
        _board.configure_pin(
            self.board_key,
            mode=None if mode_name is _UNSET else mode_name,
            pull=... if pull_name is _UNSET else pull_name,
            drive=None if drive is _UNSET else drive,
            latch=latch,
        )
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%r", self)
            if latch is not None and self._settings()[0] in _board.OUTPUT_MODES:
                log.debug("Pin(%s) = %d", _board.pin_label(self.board_key), latch)

    def _settings(self) -> tuple[str | None, str | None, int, int]:
        return _board.pin_settings(self.board_key)

    def value(self, x: Any = None) -> int | None:
        if x is None:
            return _board.read_pin(self.board_key)
        level = int(bool(x))
        if _board.write_pin(self.board_key, level):
            log.debug("Pin(%s) = %d", _board.pin_label(self.board_key), level)
        return None

    def __call__(self, x: Any = None) -> int | None:
        return self.value(x)

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def high(self) -> None:
        self.value(1)

    def low(self) -> None:
        self.value(0)

    def toggle(self) -> None:
        self.value(1 - self._settings()[3])

    def mode(self, mode: int = _UNSET) -> int | None:
        if mode is _UNSET:
            name = self._settings()[0]
            return None if name is None else _MODES[name]
        self.init(mode)
        return None

    def pull(self, pull: int | None = _UNSET) -> int | None:
        if pull is _UNSET:
            name = self._settings()[1]
            return None if name is None else _PULLS[name]
        self.init(pull=pull)
        return None

    def drive(self, drive: int = _UNSET) -> int | None:
        if drive is _UNSET:
            return self._settings()[2]
        self.init(drive=drive)
        return None

    def irq(
        self,
        handler: Callable[[Pin], Any] | None = _UNSET,
        trigger: int = IRQ_FALLING | IRQ_RISING,
        *,
        priority: int = 1,
        wake: Any = None,
        hard: bool = False,
    ) -> _PinIRQ:
        """Set (or with no arguments, get) the pin's IRQ. It fires when the level changes:
        an edge trigger on that edge, a level trigger on entering that level."""
        key = self.board_key
        if handler is _UNSET:
            current = _irqs.get(key)
            return current if current is not None else _PinIRQ(self, None, 0, False)
        if _int(trigger) & ~0b1111:
            raise ValueError(f"invalid trigger: {trigger}")
        if handler is not None and not callable(handler):
            raise TypeError("handler must be None or callable")
        irq = _irqs[key] = _PinIRQ(self, handler, trigger, bool(hard))
        _board.watch_pin(key, irq.level_changed if handler is not None else None)
        return irq

    def __repr__(self) -> str:
        mode, pull, _, _ = self._settings()
        key = self.board_key
        text = f"Pin(GPIO{key}" if isinstance(key, int) else f"Pin({key}"
        if mode is not None:
            text += f", mode={mode}"
        if pull is not None:
            text += f", pull={pull}"
        return text + ")"


class _PinNames:
    """`Pin.board.LED`, `Pin.cpu.GPIO25`: the pins by name."""

    def __getattr__(self, name: str) -> Pin:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return Pin(name)
        except ValueError:
            raise AttributeError(name) from None


Pin.board = _PinNames()
Pin.cpu = _PinNames()


class Signal:
    """A pin seen through its active level: `invert=True` means on is low."""

    def __init__(self, pin: Any, *args: Any, invert: bool = False, **kwargs: Any) -> None:
        self._pin = (
            pin if isinstance(pin, Pin) and not args and not kwargs else Pin(pin, *args, **kwargs)
        )
        self._invert = bool(invert)

    def value(self, x: Any = None) -> int | None:
        if x is None:
            return self._pin.value() ^ self._invert  # type: ignore[operator]
        self._pin.value(bool(x) ^ self._invert)
        return None

    def __call__(self, x: Any = None) -> int | None:
        return self.value(x)

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)


def _pin(pin: Any) -> Pin:
    return pin if isinstance(pin, Pin) else Pin(pin)


def time_pulse_us(pin: Any, pulse_level: int, timeout_us: int = 1_000_000) -> int:
    """Waits (up to `timeout_us`) for the level to become `pulse_level`, then times how long
    it stays: -2 if it never came, -1 if it did not end in time. Only a test changing the
    input (from another thread) makes a pulse here."""
    key = _pin(pin).board_key
    level = 1 if pulse_level else 0
    if not _board.wait_pin(key, level, timeout_us / 1e6):
        return -2
    start = time.monotonic_ns()
    if not _board.wait_pin(key, 1 - level, timeout_us / 1e6):
        return -1
    return (time.monotonic_ns() - start) // 1000


def bitstream(pin: Any, encoding: int, timing: Any, data: Any) -> None:
    """Record the bytes a board would clock out on `pin` (NeoPixels): see `board.bitstreams`."""
    if _int(encoding) != 0:
        raise ValueError("invalid encoding")
    timing = tuple(timing)
    if len(timing) != 4:
        raise ValueError(f"requested length 4 but object has length {len(timing)}")
    key = _pin(pin).board_key
    buf = bytes(data)
    _board.record_bitstream(key, buf)
    log.debug("bitstream Pin(%s): %d bytes %s", _board.pin_label(key), len(buf), buf[:48].hex())

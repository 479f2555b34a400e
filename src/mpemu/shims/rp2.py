"""MicroPython's `rp2` under `aioble-python`: PIO state machines, DMA and raw flash have no
counterpart on a PC, so `PIO`, `StateMachine`, `asm_pio`, `DMA`, `Flash` raise
NotImplementedError when used. `bootsel_button()` reads the virtual board's "BOOTSEL" pin
(`board.set_input("BOOTSEL", 1)` presses it); `country()` keeps what the program sets."""

from __future__ import annotations

from mpemu import board as _board
from mpemu.shims import _unemulated

_NO_PIO = "the virtual board has no PIO blocks"

PIO = _unemulated.cls("rp2.PIO", _NO_PIO)
StateMachine = _unemulated.cls("rp2.StateMachine", _NO_PIO)
asm_pio = _unemulated.function("rp2.asm_pio", _NO_PIO)
asm_pio_encode = _unemulated.function("rp2.asm_pio_encode", _NO_PIO)
DMA = _unemulated.cls("rp2.DMA", "the virtual board has no DMA controller")
Flash = _unemulated.cls("rp2.Flash", "the virtual board has no raw flash")


class PIOASMError(Exception):
    pass


_country = "XX"


def bootsel_button() -> int:
    return _board.level("BOOTSEL")


def country(code: str | None = None) -> str | None:
    global _country
    if code is None:
        return _country
    _country = str(code)
    return None

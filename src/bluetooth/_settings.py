"""A radio's settings (``BLE.config``), handed to its host when the radio is made.

Thread: written by the program's threads (``config(...)``, each field set whole), read by the
stack thread (each field read whole when it is used: the MTU a server offers, the pairing
options when a pairing starts).
"""

from __future__ import annotations

from typing import Any


class Settings:
    """MicroPython's ``config`` values, with NimBLE's defaults."""

    __slots__ = ("addr_mode", "mtu", "rxbuf", "bond", "mitm", "io", "le_secure")

    NAMES = __slots__

    def __init__(self) -> None:
        self.addr_mode = 0
        self.mtu = 256  # NimBLE's preferred ATT MTU, used by gattc_exchange_mtu and as a server
        self.rxbuf = 1024
        self.bond = False
        self.mitm = False
        self.io = 3  # no input, no output
        self.le_secure = False

    def get(self, name: str) -> Any:
        return getattr(self, name)

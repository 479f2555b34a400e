"""MicroPython's ``bluetooth`` module on CPython, backed by the Bumble host stack.

``bluetooth.BLE()`` is the radio; by default a virtual one (no hardware). Which radio it
drives is configuration, never code: ``AIOBLE_RADIO=HOST:PORT`` joins a shared virtual radio
(``aioble radio``), ``AIOBLE_TRANSPORT=usb:0`` (any Bumble transport) drives a real controller.

Beyond MicroPython: ``new_radio()`` and ``use()`` let one process run several devices.
"""

from ._ble import BLE, new_radio, use
from ._uuid import UUID

FLAG_BROADCAST = 0x0001
FLAG_READ = 0x0002
FLAG_WRITE_NO_RESPONSE = 0x0004
FLAG_WRITE = 0x0008
FLAG_NOTIFY = 0x0010
FLAG_INDICATE = 0x0020
FLAG_AUTHENTICATED_SIGNED_WRITE = 0x0040
FLAG_AUX_WRITE = 0x0100
FLAG_READ_ENCRYPTED = 0x0200
FLAG_READ_AUTHENTICATED = 0x0400
FLAG_READ_AUTHORIZED = 0x0800
FLAG_WRITE_ENCRYPTED = 0x1000
FLAG_WRITE_AUTHENTICATED = 0x2000
FLAG_WRITE_AUTHORIZED = 0x4000

__all__ = [
    "BLE",
    "UUID",
    "new_radio",
    "use",
    "FLAG_BROADCAST",
    "FLAG_READ",
    "FLAG_WRITE_NO_RESPONSE",
    "FLAG_WRITE",
    "FLAG_NOTIFY",
    "FLAG_INDICATE",
    "FLAG_AUTHENTICATED_SIGNED_WRITE",
    "FLAG_AUX_WRITE",
    "FLAG_READ_ENCRYPTED",
    "FLAG_READ_AUTHENTICATED",
    "FLAG_READ_AUTHORIZED",
    "FLAG_WRITE_ENCRYPTED",
    "FLAG_WRITE_AUTHENTICATED",
    "FLAG_WRITE_AUTHORIZED",
]

"""MicroPython's `network` under `aioble-python`: the virtual board has no Wi-Fi, Ethernet
or PPP, so `WLAN`, `LAN`, `PPP`, `WIZNET5K`, `ipconfig` raise NotImplementedError naming
the API when used (importing works, as on a board). `hostname()` and `country()` keep what
the program sets. The program's own `network.py`, if any, comes first on `sys.path`.
"""

from __future__ import annotations

import socket

from mpemu.shims import _unemulated

_NO_WIFI = "no Wi-Fi on the virtual board"
_NO_WIRE = "no network interface on the virtual board"

STA_IF = 0
AP_IF = 1

WLAN = _unemulated.cls("network.WLAN", _NO_WIFI)
LAN = _unemulated.cls("network.LAN", _NO_WIRE)
PPP = _unemulated.cls("network.PPP", _NO_WIRE)
WIZNET5K = _unemulated.cls("network.WIZNET5K", _NO_WIRE)
ipconfig = _unemulated.function("network.ipconfig", _NO_WIRE)

_hostname = socket.gethostname()
_country = "XX"  # "worldwide", MicroPython's default


def hostname(name: str | None = None) -> str | None:
    global _hostname
    if name is None:
        return _hostname
    _hostname = str(name)
    return None


def country(code: str | None = None) -> str | None:
    global _country
    if code is None:
        return _country
    _country = str(code)
    return None

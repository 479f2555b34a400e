"""MicroPython's `espnow` under `aioble-python`: ESP-NOW needs the ESP32's Wi-Fi radio,
which the virtual board lacks; `ESPNow`/`AIOESPNow` raise NotImplementedError when used."""

from __future__ import annotations

from mpemu.shims import _unemulated

_WHY = "no Wi-Fi radio on the virtual board"

ESPNow = _unemulated.cls("espnow.ESPNow", _WHY)
AIOESPNow = _unemulated.cls("espnow.AIOESPNow", _WHY)
MAX_DATA_LEN = 250
KEY_LEN = 16
ADDR_LEN = 6
MAX_TOTAL_PEER_NUM = 20
MAX_ENCRYPT_PEER_NUM = 6

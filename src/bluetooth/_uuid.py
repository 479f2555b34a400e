"""`bluetooth.UUID`, exactly as MicroPython's (modbluetooth.c).

Thread: any (immutable values).
"""

from __future__ import annotations

from typing import Any

_HEX = "0123456789abcdefABCDEF"


class UUID:
    """A 16-, 32- or 128-bit Bluetooth UUID.

    - an int up to 0xFFFF is a 16-bit UUID: its low 16 bits, as MicroPython keeps them (a
      negative value too: `UUID(-32)` is `UUID(0xffe0)`, which is what the widely copied
      `decode_services` gets when it unpacks a UUID with `"<h"`);
    - a buffer of 2, 4 or 16 bytes is that size, little-endian as stored on air (a str of
      length 2, 4 or 16 counts as a buffer, as on MicroPython);
    - any other str is a 128-bit UUID in hex, dashes ignored.

    UUIDs compare by size, then by their little-endian bytes; ``bytes(uuid)`` gives those bytes.
    """

    __slots__ = ("_data",)

    _data: bytes

    def __init__(self, value: Any) -> None:
        if isinstance(value, bool):
            raise TypeError("UUID value must be an int, a buffer or a str, not bool")
        if isinstance(value, int):
            if value > 0xFFFF:
                raise ValueError(f"invalid UUID: int {value:#x} does not fit 16 bits")
            self._data = (value & 0xFFFF).to_bytes(2, "little")
            return
        if isinstance(value, str):
            raw = value.encode()
        elif isinstance(value, UUID):
            raw = value._data
        else:
            try:
                raw = bytes(memoryview(value))
            except TypeError:
                raise TypeError(
                    f"UUID value must be an int, a buffer or a str, not {type(value).__name__}"
                ) from None
        if len(raw) in (2, 4, 16):
            self._data = raw
            return
        if not isinstance(value, str):
            raise ValueError(f"invalid UUID: a buffer must be 2, 4 or 16 bytes, not {len(raw)}")
        digits = value.replace("-", "")
        for c in digits:
            if c not in _HEX:
                raise ValueError(f"invalid char in UUID: {c!r} in {value!r}")
        if len(digits) > 32:
            raise ValueError(f"UUID too long: {value!r}")
        if len(digits) < 32:
            raise ValueError(f"UUID too short: {value!r}")
        self._data = bytes.fromhex(digits)[::-1]

    def __bytes__(self) -> bytes:
        return self._data

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        if len(self._data) == 16:
            h = self._data[::-1].hex()
            return f"UUID('{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}')"
        width = 2 * len(self._data)
        return f"UUID(0x{int.from_bytes(self._data, 'little'):0{width}x})"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash(self._data)

    def _key(self) -> tuple[int, bytes]:
        return (len(self._data), self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UUID):
            return NotImplemented
        return self._data == other._data

    def __lt__(self, other: UUID) -> bool:
        if not isinstance(other, UUID):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: UUID) -> bool:
        if not isinstance(other, UUID):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: UUID) -> bool:
        if not isinstance(other, UUID):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: UUID) -> bool:
        if not isinstance(other, UUID):
            return NotImplemented
        return self._key() >= other._key()

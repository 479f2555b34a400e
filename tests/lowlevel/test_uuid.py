"""bluetooth.UUID exactly as MicroPython's: parsing, repr, order, hash, bytes."""

from __future__ import annotations

import pytest

from bluetooth import UUID

PARSE = [
    # value, bytes (little-endian), repr
    (0x180F, b"\x0f\x18", "UUID(0x180f)"),
    (0, b"\x00\x00", "UUID(0x0000)"),
    (0xFFFF, b"\xff\xff", "UUID(0xffff)"),
    # MicroPython keeps the low 16 bits of a negative int (`struct.unpack("<h", ...)`).
    (-32, b"\xe0\xff", "UUID(0xffe0)"),
    (-1, b"\xff\xff", "UUID(0xffff)"),
    (b"\x0f\x18", b"\x0f\x18", "UUID(0x180f)"),
    (bytearray(b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04", "UUID(0x04030201)"),
    (memoryview(b"\x0f\x18"), b"\x0f\x18", "UUID(0x180f)"),
    ("ab", b"ab", "UUID(0x6261)"),  # a 2-char str is a buffer, as on MicroPython
    ("abcd", b"abcd", "UUID(0x64636261)"),
    (
        "6E400001-B5A3-F393-E0A9-E50E24DCCA9E",
        bytes.fromhex("6E400001B5A3F393E0A9E50E24DCCA9E")[::-1],
        "UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')",
    ),
    (
        "6e400001b5a3f393e0a9e50e24dcca9e",
        bytes.fromhex("6E400001B5A3F393E0A9E50E24DCCA9E")[::-1],
        "UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')",
    ),
    (bytes(range(16)), bytes(range(16)), "UUID('0f0e0d0c-0b0a-0908-0706-050403020100')"),
]


@pytest.mark.parametrize(("value", "raw", "text"), PARSE)
def test_parse(value, raw, text) -> None:
    uuid = UUID(value)
    assert bytes(uuid) == raw
    assert repr(uuid) == text
    assert str(uuid) == text
    assert UUID(uuid) == uuid


BAD = [
    (0x10000, ValueError, "16 bits"),
    (b"\x01\x02\x03", ValueError, "2, 4 or 16 bytes"),
    ("6E400001-B5A3-F393-E0A9-E50E24DCCA9", ValueError, "too short"),
    ("6E400001-B5A3-F393-E0A9-E50E24DCCA9E0", ValueError, "too long"),
    ("6E400001-B5A3-F393-E0A9-E50E24DCCA9G", ValueError, "invalid char"),
    (1.5, TypeError, "not float"),
    (None, TypeError, "not NoneType"),
    (True, TypeError, "bool"),
]


@pytest.mark.parametrize(("value", "error", "message"), BAD)
def test_bad(value, error, message) -> None:
    with pytest.raises(error, match=message):
        UUID(value)


def test_equality_and_hash() -> None:
    assert UUID(0x180F) == UUID(b"\x0f\x18")
    assert UUID(0x180F) != UUID(0x180A)
    # Different sizes never compare equal, even for the same Bluetooth base UUID value.
    assert UUID(0x180F) != UUID("0000180f-0000-1000-8000-00805f9b34fb")
    assert UUID(0x180F) != 0x180F
    assert len({UUID(0x180F), UUID(b"\x0f\x18"), UUID(0x2A00)}) == 2
    assert UUID(0x180F) in [UUID(0x2A00), UUID(0x180F)]


def test_order_by_size_then_bytes() -> None:
    values = [
        UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E"),
        UUID(b"\x00\x00\x00\x01"),
        UUID(0x0201),
        UUID(0x0102),
    ]
    # 0x0201 is stored b"\x01\x02", which sorts before 0x0102 (b"\x02\x01").
    assert sorted(values) == [values[2], values[3], values[1], values[0]]
    assert UUID(0x0201) < UUID(0x0102) <= UUID(0x0102) < UUID(b"\x00\x00\x00\x00")
    assert UUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E") > UUID(0xFFFF)
    with pytest.raises(TypeError):
        _ = UUID(1) < 2

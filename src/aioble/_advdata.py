# Advertising data (AD structures, Core Supplement Part A): building and parsing.
#
# Pure functions on bytes, no radio: peripheral.py builds payloads with `build`, central.py
# reads scan results with `fields` and friends. A payload is a run of
#   1 byte length (N + 1) | 1 byte AD type | N bytes of value
# Parsing never raises on malformed input: a zero length ends the significant part (the rest
# is padding), a field running past the end is dropped, unknown types are skipped.

import struct

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


try:
    from typing import TYPE_CHECKING
except ImportError:
    TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from typing import Any

# Legacy advertising PDUs carry at most 31 bytes of AD structures, in each of the advertising
# data and the scan response.
ADV_PAYLOAD_MAX_LEN = const(31)

ADV_TYPE_FLAGS = const(0x01)
ADV_TYPE_UUID16_INCOMPLETE = const(0x02)
ADV_TYPE_UUID16_COMPLETE = const(0x03)
ADV_TYPE_UUID32_INCOMPLETE = const(0x04)
ADV_TYPE_UUID32_COMPLETE = const(0x05)
ADV_TYPE_UUID128_INCOMPLETE = const(0x06)
ADV_TYPE_UUID128_COMPLETE = const(0x07)
ADV_TYPE_SHORT_NAME = const(0x08)
ADV_TYPE_NAME = const(0x09)
ADV_TYPE_APPEARANCE = const(0x19)
ADV_TYPE_MANUFACTURER = const(0xFF)

# Flags field bits.
_FLAG_LIMITED_DISC = const(0x01)
_FLAG_GENERAL_DISC = const(0x02)
_FLAG_BR_EDR_NOT_SUPPORTED = const(0x04)
_FLAG_BR_EDR_CONTROLLER_HOST = const(0x18)

_UUID_LIST_TYPES = {
    2: ADV_TYPE_UUID16_COMPLETE,
    4: ADV_TYPE_UUID32_COMPLETE,
    16: ADV_TYPE_UUID128_COMPLETE,
}
_UUID_SIZE_NAMES = {2: "16-bit", 4: "32-bit", 16: "128-bit"}


def _to_bytes(value: "Any") -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def build(
    limited_disc: bool = False,
    br_edr: bool = False,
    name: "str | bytes | None" = None,
    services: "Iterable[Any] | None" = None,
    appearance: int = 0,
    manufacturer: "tuple[int, bytes] | None" = None,
) -> "tuple[bytes, bytes]":
    """Build `(adv_data, resp_data)` for `aioble.advertise`.

    Fields go, in this order, into the advertising data, or into the scan response once the
    advertising data is full: flags; the service UUIDs, one complete list per size (16, 32,
    128 bits; services come first because phones filter scans by service); the complete name;
    the appearance; the manufacturer data `(company_id, bytes)`. A field that fits in neither
    raises `ValueError` naming it. `services` are `bluetooth.UUID`s (anything whose bytes()
    is the 2, 4 or 16 little-endian bytes).
    """
    # Checked before anything is built: struct.pack would raise struct.error (or, on a board,
    # keep the low bits), and bytes(5) is five zero bytes rather than a mistake.
    if name is not None and not isinstance(name, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"name must be a str or bytes, not {type(name).__name__}")
    if appearance is not None:
        _check_u16(appearance, "appearance")
    if manufacturer is not None:
        if not isinstance(manufacturer, (tuple, list)) or len(manufacturer) != 2:
            raise TypeError(f"manufacturer must be a (company_id, data) pair, not {manufacturer!r}")
        _check_u16(manufacturer[0], "manufacturer company_id")
        if not isinstance(manufacturer[1], (str, bytes, bytearray, memoryview)):
            raise TypeError(
                f"manufacturer data must be bytes or str, not {type(manufacturer[1]).__name__}"
            )
    adv = bytearray()
    resp = bytearray()

    def append(what: str, ad_type: int, value: bytes) -> None:
        field = struct.pack("BB", len(value) + 1, ad_type) + value
        if len(adv) + len(field) <= ADV_PAYLOAD_MAX_LEN:
            adv.extend(field)
        elif len(resp) + len(field) <= ADV_PAYLOAD_MAX_LEN:
            resp.extend(field)
        else:
            raise ValueError(
                f"advertising payload too long: {what} ({len(field)} bytes with its header) fits in neither "
                f"the advertising data ({ADV_PAYLOAD_MAX_LEN - len(adv)} bytes free) nor the scan response ({ADV_PAYLOAD_MAX_LEN - len(resp)} bytes free)"
            )

    flags = (_FLAG_LIMITED_DISC if limited_disc else _FLAG_GENERAL_DISC) | (
        _FLAG_BR_EDR_CONTROLLER_HOST if br_edr else _FLAG_BR_EDR_NOT_SUPPORTED
    )
    append("flags", ADV_TYPE_FLAGS, bytes((flags,)))

    if services:
        lists: dict = {2: b"", 4: b"", 16: b""}
        for uuid in services:
            b = bytes(uuid)
            if len(b) not in lists:
                raise ValueError(f"service UUID {uuid!r} is not 2, 4 or 16 bytes")
            if b not in _split(lists[len(b)], len(b)):
                lists[len(b)] += b
        for size in (2, 4, 16):
            if lists[size]:
                append(
                    f"{_UUID_SIZE_NAMES[size]} service UUIDs",
                    _UUID_LIST_TYPES[size],
                    lists[size],
                )

    if name:
        append(f"name {name!r}", ADV_TYPE_NAME, _to_bytes(name))

    if appearance:
        append("appearance", ADV_TYPE_APPEARANCE, struct.pack("<H", appearance))

    if manufacturer:
        company, data = manufacturer
        append(
            "manufacturer data", ADV_TYPE_MANUFACTURER, struct.pack("<H", company) + _to_bytes(data)
        )

    return bytes(adv), bytes(resp)


def _check_u16(value: "Any", name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"{name} must be 0 to 0xFFFF (16 bits), not {value}")


def _split(data: bytes, size: int) -> "list[bytes]":
    return [data[i : i + size] for i in range(0, len(data) - size + 1, size)]


def fields(payload: "bytes | None") -> "Iterator[tuple[int, bytes]]":
    """Yield `(ad_type, value)` for each well-formed AD structure of `payload`."""
    if not payload:
        return
    n = len(payload)
    i = 0
    while i < n:
        length = payload[i]
        if length == 0:
            # Early termination: the rest is padding.
            return
        end = i + 1 + length
        if end > n:
            # Truncated field.
            return
        yield payload[i + 1], bytes(payload[i + 2 : end])
        i = end


def find(payloads: "Iterable[bytes | None]", *ad_types: int) -> "Iterator[bytes]":
    """Yield the values of the fields of any of `ad_types`, in each payload in turn."""
    for payload in payloads:
        for ad_type, value in fields(payload):
            if ad_type in ad_types:
                yield value


def name(payloads: "Iterable[bytes | None]") -> "str | None":
    """The complete or shortened local name, or None. Invalid UTF-8 is replaced, not raised."""
    for value in find(payloads, ADV_TYPE_NAME, ADV_TYPE_SHORT_NAME):
        try:
            return value.decode("utf-8")
        except UnicodeError:
            return "".join(chr(c) if c < 0x80 else "\ufffd" for c in value)
    return None


def service_uuids(payloads: "Iterable[bytes | None]") -> "Iterator[bytes]":
    """Yield the little-endian bytes (2, 4 or 16) of every advertised service UUID, complete
    or incomplete lists, 16-bit first. A trailing partial UUID is ignored."""
    payloads = tuple(payloads)
    for size, types in (
        (2, (ADV_TYPE_UUID16_INCOMPLETE, ADV_TYPE_UUID16_COMPLETE)),
        (4, (ADV_TYPE_UUID32_INCOMPLETE, ADV_TYPE_UUID32_COMPLETE)),
        (16, (ADV_TYPE_UUID128_INCOMPLETE, ADV_TYPE_UUID128_COMPLETE)),
    ):
        for value in find(payloads, *types):
            yield from _split(value, size)


def manufacturer(
    payloads: "Iterable[bytes | None]", filter: "int | None" = None
) -> "Iterator[tuple[int, bytes]]":
    """Yield `(company_id, data)` for each manufacturer-specific field (those shorter than the
    2-byte company id are skipped), only `filter`'s if given."""
    for value in find(payloads, ADV_TYPE_MANUFACTURER):
        if len(value) < 2:
            continue
        company = value[0] | (value[1] << 8)
        if filter is None or company == filter:
            yield company, value[2:]


def appearance(payloads: "Iterable[bytes | None]") -> "int | None":
    """The appearance value, or None."""
    for value in find(payloads, ADV_TYPE_APPEARANCE):
        if len(value) >= 2:
            return value[0] | (value[1] << 8)
    return None

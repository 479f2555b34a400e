"""The GATT server's attribute table, built from MicroPython service definitions (pure).

Handles are laid out as on MicroPython boards: the GAP service (0x1800: device name 0x2A00,
appearance 0x2A01) and the GATT service (0x1801: Service Changed + its CCCD) come first, then
each registered service: its declaration, and for each characteristic a declaration, the value,
a CCCD right after the value when it can notify or indicate, then its descriptors.

Values behave as MicroPython's GATTS database: each value and descriptor has a buffer (20 bytes
by default); a remote write is cut to the buffer (or appended in append mode), a local
``gatts_write`` grows it, and ``gatts_read`` of an append-mode buffer empties it.

Thread: any; the values are shared by the program's threads (``gatts_*``) and the stack
thread (a peer's reads and writes) under the table's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from . import _att as att
from ._uuid import UUID

DEFAULT_BUFFER = 20

# Characteristic flags (MicroPython's FLAG_*, which are NimBLE's BLE_GATT_CHR_F_*).
F_BROADCAST = 0x0001
F_READ = 0x0002
F_WRITE_NO_RESPONSE = 0x0004
F_WRITE = 0x0008
F_NOTIFY = 0x0010
F_INDICATE = 0x0020
F_AUTHENTICATED_SIGNED_WRITE = 0x0040
F_RELIABLE_WRITE = 0x0080
F_AUX_WRITE = 0x0100
F_READ_ENCRYPTED = 0x0200
F_READ_AUTHENTICATED = 0x0400
F_READ_AUTHORIZED = 0x0800
F_WRITE_ENCRYPTED = 0x1000
F_WRITE_AUTHENTICATED = 0x2000
F_WRITE_AUTHORIZED = 0x4000

# Descriptor flags: NimBLE (and so aioble) uses ATT's own bits, READ 0x01 and WRITE 0x02.
# A descriptor whose flags also carry a characteristic write bit (WRITE 0x08,
# WRITE_NO_RESPONSE 0x04) is taken to use the characteristic bits, where READ is 0x02.
# 0x02 alone is NimBLE's WRITE: a read-only descriptor is never writable by mistake.
_DESC_READ = 0x01
_DESC_WRITE = 0x02
_CHAR_STYLE_WRITE = F_WRITE | F_WRITE_NO_RESPONSE

# Attribute kinds
SERVICE, CHAR_DECL, VALUE, CCCD, DESCRIPTOR, GAP_NAME, STATIC = range(7)

_GAP_SERVICE = 0x1800
_GATT_SERVICE = 0x1801
_DEVICE_NAME = 0x2A00
_APPEARANCE = 0x2A01
_SERVICE_CHANGED = 0x2A05


class Entry:
    """A value buffer (MicroPython's mp_bluetooth_gatts_db_entry_t)."""

    __slots__ = ("data", "alloc", "append")

    def __init__(self, alloc: int = DEFAULT_BUFFER) -> None:
        self.data = b""
        self.alloc = alloc
        self.append = False


class Attribute:
    __slots__ = ("handle", "type", "kind", "value", "entry", "flags", "end", "char_handle")

    def __init__(self, handle: int, type_: bytes, kind: int, value: bytes = b"") -> None:
        self.handle = handle
        self.type = type_  # ATT form, little-endian (2 or 16 bytes)
        self.kind = kind
        self.value = value  # static value (declarations, appearance)
        self.entry: Entry | None = None
        self.flags = 0
        self.end = handle  # group end, for services
        self.char_handle = 0  # for CCCDs: the value handle they configure

    def readable(self) -> bool:
        if self.kind == VALUE:
            return bool(self.flags & F_READ)
        if self.kind == DESCRIPTOR:
            flags = self.flags
            return bool(flags & _DESC_READ or (flags & _CHAR_STYLE_WRITE and flags & F_READ))
        return True

    def writable(self) -> bool:
        if self.kind == VALUE:
            return bool(self.flags & (F_WRITE | F_WRITE_NO_RESPONSE))
        if self.kind == DESCRIPTOR:
            return bool(self.flags & (_DESC_WRITE | _CHAR_STYLE_WRITE))
        return self.kind == CCCD

    def read_security(self) -> int:
        """0, or the ATT error a link without the needed security gets (descriptors take the
        characteristic's bits: READ_ENCRYPTED 0x200 and so on)."""
        if self.kind in (VALUE, DESCRIPTOR):
            if self.flags & F_READ_AUTHENTICATED:
                return att.INSUFFICIENT_AUTHENTICATION
            if self.flags & F_READ_ENCRYPTED:
                return att.INSUFFICIENT_ENCRYPTION
        return 0

    def write_security(self) -> int:
        if self.kind in (VALUE, DESCRIPTOR):
            if self.flags & F_WRITE_AUTHENTICATED:
                return att.INSUFFICIENT_AUTHENTICATION
            if self.flags & F_WRITE_ENCRYPTED:
                return att.INSUFFICIENT_ENCRYPTION
        return 0


def _u16(value: int) -> bytes:
    return att.u16(value)


def _uuid_type(value: int) -> bytes:
    return _u16(value)


class GattDatabase:
    """The attribute table of one radio. Thread-safe: the program's threads read and write
    values while the stack thread serves peers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attributes: list[Attribute] = []
        self.gap_name = b"MPY BUMBLE"
        self._build([])

    # --- building -----------------------------------------------------------------------

    def register(self, definitions: Any) -> tuple[tuple[int, ...], ...]:
        """Replace the user services; returns MicroPython's tuple of handle tuples."""
        services = _parse_definitions(definitions)
        with self.lock:
            return self._build(services)

    def _build(self, services: list[_ServiceDef]) -> tuple[tuple[int, ...], ...]:
        attrs: list[Attribute] = []

        def add(type_: bytes, kind: int, value: bytes = b"") -> Attribute:
            attribute = Attribute(len(attrs) + 1, type_, kind, value)
            attrs.append(attribute)
            return attribute

        def add_characteristic(uuid: bytes, flags: int) -> Attribute:
            properties = flags & 0x7F
            if flags & (F_RELIABLE_WRITE | F_AUX_WRITE):
                properties |= 0x80  # extended properties
            decl = add(_uuid_type(att.CHARACTERISTIC), CHAR_DECL)
            value = add(att.uuid_to_att(uuid), VALUE)
            decl.value = bytes((properties,)) + _u16(value.handle) + att.uuid_to_att(uuid)
            value.flags = flags
            value.entry = Entry()
            if flags & (F_NOTIFY | F_INDICATE):
                cccd = add(_uuid_type(att.CCCD), CCCD)
                cccd.char_handle = value.handle
            return value

        # GAP service
        gap = add(_uuid_type(att.PRIMARY_SERVICE), SERVICE, _u16(_GAP_SERVICE))
        add(
            _uuid_type(att.CHARACTERISTIC),
            CHAR_DECL,
            bytes((F_READ,)) + _u16(3) + _u16(_DEVICE_NAME),
        )
        add(_uuid_type(_DEVICE_NAME), GAP_NAME)
        add(
            _uuid_type(att.CHARACTERISTIC),
            CHAR_DECL,
            bytes((F_READ,)) + _u16(5) + _u16(_APPEARANCE),
        )
        add(_uuid_type(_APPEARANCE), STATIC, b"\x00\x00")
        gap.end = len(attrs)
        # GATT service
        gatt = add(_uuid_type(att.PRIMARY_SERVICE), SERVICE, _u16(_GATT_SERVICE))
        changed = add_characteristic(_u16(_SERVICE_CHANGED), F_INDICATE)
        changed.kind = STATIC
        changed.value = b"\x00\x00\xff\xff"
        changed.entry = None
        gatt.end = len(attrs)

        result = []
        for service in services:
            decl = add(_uuid_type(att.PRIMARY_SERVICE), SERVICE, att.uuid_to_att(service.uuid))
            handles: list[int] = []
            for char in service.characteristics:
                value = add_characteristic(char.uuid, char.flags)
                handles.append(value.handle)
                for dsc in char.descriptors:
                    descriptor = add(att.uuid_to_att(dsc.uuid), DESCRIPTOR)
                    descriptor.flags = dsc.flags
                    descriptor.entry = Entry()
                    handles.append(descriptor.handle)
            decl.end = len(attrs)
            result.append(tuple(handles))
        if len(attrs) > 0xFFFF:
            raise ValueError("too many attributes: the table exceeds 65535 handles")
        self.attributes = attrs
        return tuple(result)

    # --- lookups (stack thread) -----------------------------------------------------------

    def get(self, handle: int) -> Attribute | None:
        if 1 <= handle <= len(self.attributes):
            return self.attributes[handle - 1]
        return None

    def services(self) -> list[Attribute]:
        return [a for a in self.attributes if a.kind == SERVICE]

    def characteristic_flags(self, value_handle: int) -> int:
        attribute = self.get(value_handle)
        return attribute.flags if attribute is not None and attribute.kind == VALUE else 0

    # --- values ----------------------------------------------------------------------------

    def _entry(self, handle: int) -> Entry:
        attribute = self.get(handle)
        if attribute is None or attribute.entry is None:
            raise OSError(
                22, f"no characteristic or descriptor value with handle {handle} (EINVAL)"
            )
        return attribute.entry

    def read(self, handle: int) -> bytes:
        """``gatts_read``: the value; an append-mode buffer is emptied."""
        with self.lock:
            entry = self._entry(handle)
            data = entry.data
            if entry.append:
                entry.data = b""
            return data

    def write(self, handle: int, data: bytes) -> None:
        """``gatts_write``: replaces the value, growing the buffer if needed."""
        with self.lock:
            entry = self._entry(handle)
            entry.data = data
            if len(data) > entry.alloc:
                entry.alloc = len(data)

    def set_buffer(self, handle: int, length: int, append: bool) -> None:
        with self.lock:
            entry = self._entry(handle)
            entry.alloc = length
            entry.append = append
            entry.data = b""

    def remote_write(self, attribute: Attribute, data: bytes) -> bytes | None:
        """A peer's write: cut to the buffer, or appended in append mode. Returns the value
        the handler of this write must read, or None where the buffer itself is what it reads
        (append mode, whose ``gatts_read`` consumes what accumulated)."""
        entry = attribute.entry
        assert entry is not None
        with self.lock:
            if entry.append:
                entry.data = (entry.data + data)[: entry.alloc]
                return None
            entry.data = data[: entry.alloc]
            return entry.data

    def peek(self, attribute: Attribute) -> bytes:
        """A peer's read: the value without emptying an append buffer (as NimBLE)."""
        if attribute.entry is not None:
            return attribute.entry.data
        if attribute.kind == GAP_NAME:
            return self.gap_name
        return attribute.value


# --- definition parsing ----------------------------------------------------------------


class _DescriptorDef:
    __slots__ = ("uuid", "flags")

    def __init__(self, uuid: bytes, flags: int) -> None:
        self.uuid = uuid
        self.flags = flags


class _CharacteristicDef:
    __slots__ = ("uuid", "flags", "descriptors")

    def __init__(self, uuid: bytes, flags: int, descriptors: list[_DescriptorDef]) -> None:
        self.uuid = uuid
        self.flags = flags
        self.descriptors = descriptors


class _ServiceDef:
    __slots__ = ("uuid", "characteristics")

    def __init__(self, uuid: bytes, characteristics: list[_CharacteristicDef]) -> None:
        self.uuid = uuid
        self.characteristics = characteristics


def _sequence(value: Any, what: str) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray, memoryview)) or not isinstance(value, Iterable):
        raise TypeError(f"{what} must be a tuple or list, not {type(value).__name__}")
    return list(value)


def _uuid(value: Any, what: str) -> bytes:
    if not isinstance(value, UUID):
        raise TypeError(f"{what}: the UUID must be a bluetooth.UUID, not {type(value).__name__}")
    return bytes(value)


def _flags(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}: flags must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what}: flags must not be negative")
    return value & 0xFFFF  # bits above 0xFFFF are ignored, as on MicroPython


def _parse_definitions(definitions: Any) -> list[_ServiceDef]:
    services = []
    for i, service in enumerate(_sequence(definitions, "services")):
        where = f"service {i}"
        parts = _sequence(service, where)
        if len(parts) != 2:
            raise ValueError(f"{where}: expected (uuid, characteristics), got {len(parts)} items")
        characteristics = []
        for j, char in enumerate(_sequence(parts[1], f"{where} characteristics")):
            cwhere = f"characteristic {j} of {where}"
            cparts = _sequence(char, cwhere)
            if len(cparts) not in (2, 3):
                raise ValueError(
                    f"{cwhere}: expected (uuid, flags) or (uuid, flags, descriptors), "
                    f"got {len(cparts)} items"
                )
            descriptors = []
            if len(cparts) == 3:
                for k, dsc in enumerate(_sequence(cparts[2], f"{cwhere} descriptors")):
                    dwhere = f"descriptor {k} of {cwhere}"
                    dparts = _sequence(dsc, dwhere)
                    if len(dparts) != 2:
                        raise ValueError(
                            f"{dwhere}: expected (uuid, flags), got {len(dparts)} items"
                        )
                    descriptors.append(
                        _DescriptorDef(_uuid(dparts[0], dwhere), _flags(dparts[1], dwhere))
                    )
            characteristics.append(
                _CharacteristicDef(_uuid(cparts[0], cwhere), _flags(cparts[1], cwhere), descriptors)
            )
        services.append(_ServiceDef(_uuid(parts[0], where), characteristics))
    return services

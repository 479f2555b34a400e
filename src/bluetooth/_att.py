"""ATT protocol: opcodes, error codes and PDU encoding/decoding (pure; no I/O).

The GATT server and client of this package speak ATT themselves on Bumble's L2CAP fixed
channel 0x0004, so that MicroPython's semantics (value buffers, READ_REQUEST, exact
discovery results) hold exactly and no PDU is formatted for debug output on the way.

Thread: any (pure functions and constants).
"""

from __future__ import annotations

import struct

ATT_CID = 0x0004
DEFAULT_MTU = 23
MAX_MTU = 517

# Opcodes (Core Vol 3 Part F §3.4.8)
ERROR_RSP = 0x01
EXCHANGE_MTU_REQ = 0x02
EXCHANGE_MTU_RSP = 0x03
FIND_INFORMATION_REQ = 0x04
FIND_INFORMATION_RSP = 0x05
FIND_BY_TYPE_VALUE_REQ = 0x06
FIND_BY_TYPE_VALUE_RSP = 0x07
READ_BY_TYPE_REQ = 0x08
READ_BY_TYPE_RSP = 0x09
READ_REQ = 0x0A
READ_RSP = 0x0B
READ_BLOB_REQ = 0x0C
READ_BLOB_RSP = 0x0D
READ_MULTIPLE_REQ = 0x0E
READ_MULTIPLE_RSP = 0x0F
READ_BY_GROUP_TYPE_REQ = 0x10
READ_BY_GROUP_TYPE_RSP = 0x11
WRITE_REQ = 0x12
WRITE_RSP = 0x13
PREPARE_WRITE_REQ = 0x16
PREPARE_WRITE_RSP = 0x17
EXECUTE_WRITE_REQ = 0x18
EXECUTE_WRITE_RSP = 0x19
HANDLE_VALUE_NTF = 0x1B
HANDLE_VALUE_IND = 0x1D
HANDLE_VALUE_CFM = 0x1E
WRITE_CMD = 0x52
SIGNED_WRITE_CMD = 0xD2

COMMAND_FLAG = 0x40

# Error codes
INVALID_HANDLE = 0x01
READ_NOT_PERMITTED = 0x02
WRITE_NOT_PERMITTED = 0x03
INVALID_PDU = 0x04
INSUFFICIENT_AUTHENTICATION = 0x05
REQUEST_NOT_SUPPORTED = 0x06
INVALID_OFFSET = 0x07
INSUFFICIENT_AUTHORIZATION = 0x08
PREPARE_QUEUE_FULL = 0x09
ATTRIBUTE_NOT_FOUND = 0x0A
ATTRIBUTE_NOT_LONG = 0x0B
INSUFFICIENT_ENCRYPTION_KEY_SIZE = 0x0C
INVALID_ATTRIBUTE_VALUE_LENGTH = 0x0D
UNLIKELY_ERROR = 0x0E
INSUFFICIENT_ENCRYPTION = 0x0F
UNSUPPORTED_GROUP_TYPE = 0x10
INSUFFICIENT_RESOURCES = 0x11

# Responses, by the request they answer.
RESPONSE_TO = {
    EXCHANGE_MTU_REQ: EXCHANGE_MTU_RSP,
    FIND_INFORMATION_REQ: FIND_INFORMATION_RSP,
    FIND_BY_TYPE_VALUE_REQ: FIND_BY_TYPE_VALUE_RSP,
    READ_BY_TYPE_REQ: READ_BY_TYPE_RSP,
    READ_REQ: READ_RSP,
    READ_BLOB_REQ: READ_BLOB_RSP,
    READ_MULTIPLE_REQ: READ_MULTIPLE_RSP,
    READ_BY_GROUP_TYPE_REQ: READ_BY_GROUP_TYPE_RSP,
    WRITE_REQ: WRITE_RSP,
    PREPARE_WRITE_REQ: PREPARE_WRITE_RSP,
    EXECUTE_WRITE_REQ: EXECUTE_WRITE_RSP,
}
RESPONSES = frozenset(RESPONSE_TO.values()) | {ERROR_RSP}

# GATT attribute types
PRIMARY_SERVICE = 0x2800
SECONDARY_SERVICE = 0x2801
INCLUDE = 0x2802
CHARACTERISTIC = 0x2803
CCCD = 0x2902

_BASE_UUID_TAIL = bytes.fromhex("0000001000800000805f9b34fb")[::-1]  # bytes 0..12, LE

_H = struct.Struct("<H")
_HH = struct.Struct("<HH")
_BHH = struct.Struct("<BHH")


class PduError(ValueError):
    """A malformed PDU."""


def uuid_to_att(uuid_le: bytes) -> bytes:
    """The form a UUID takes in ATT: 16-bit stays, 32-bit widens to 128 (ATT has no 32)."""
    if len(uuid_le) == 4:
        return _BASE_UUID_TAIL[:12] + uuid_le
    return uuid_le


def uuid_from_att(uuid_le: bytes) -> bytes:
    """The shortest form of an ATT UUID: a base-UUID 128-bit value becomes 16/32-bit."""
    if len(uuid_le) == 16 and uuid_le[:12] == _BASE_UUID_TAIL[:12]:
        short = uuid_le[12:]
        return short[:2] if short[2:] == b"\x00\x00" else short
    return uuid_le


def u16(value: int) -> bytes:
    return _H.pack(value)


# --- encoders ---------------------------------------------------------------------------


def error_rsp(request_opcode: int, handle: int, code: int) -> bytes:
    return bytes((ERROR_RSP, request_opcode)) + _H.pack(handle) + bytes((code,))


def exchange_mtu(opcode: int, mtu: int) -> bytes:
    return bytes((opcode,)) + _H.pack(mtu)


def find_information_req(start: int, end: int) -> bytes:
    return _BHH.pack(FIND_INFORMATION_REQ, start, end)


def find_by_type_value_req(start: int, end: int, att_type: int, value: bytes) -> bytes:
    return _BHH.pack(FIND_BY_TYPE_VALUE_REQ, start, end) + _H.pack(att_type) + value


def read_by_type_req(opcode: int, start: int, end: int, uuid_le: bytes) -> bytes:
    """Read By Type or Read By Group Type."""
    return _BHH.pack(opcode, start, end) + uuid_le


def handle_pdu(opcode: int, handle: int, value: bytes = b"") -> bytes:
    """Read, Write (req/cmd), notification, indication: opcode, handle, value."""
    return bytes((opcode,)) + _H.pack(handle) + value


def read_blob_req(handle: int, offset: int) -> bytes:
    return _BHH.pack(READ_BLOB_REQ, handle, offset)


def prepare_write(opcode: int, handle: int, offset: int, value: bytes) -> bytes:
    return _BHH.pack(opcode, handle, offset) + value


def list_rsp(opcode: int, entries: list[bytes], with_length: bool) -> bytes:
    """Responses carrying a list of equal-length entries (Read By (Group) Type, Find Info)."""
    head = bytes((opcode, len(entries[0]))) if with_length else bytes((opcode,))
    return head + b"".join(entries)


# --- decoders ---------------------------------------------------------------------------


def parse_u16(pdu: bytes, offset: int = 1) -> int:
    if len(pdu) < offset + 2:
        raise PduError("PDU too short")
    return _H.unpack_from(pdu, offset)[0]


def parse_range(pdu: bytes) -> tuple[int, int]:
    if len(pdu) < 5:
        raise PduError("PDU too short")
    return _HH.unpack_from(pdu, 1)


def parse_error(pdu: bytes) -> tuple[int, int, int]:
    """(request opcode, handle, error code) of an Error Response."""
    if len(pdu) != 5:
        raise PduError("malformed Error Response")
    return pdu[1], _H.unpack_from(pdu, 2)[0], pdu[4]


def parse_attribute_data_list(pdu: bytes, value_offset: int) -> list[tuple[int, int, bytes]]:
    """Entries of a Read By Type (value_offset 2) or Read By Group Type (value_offset 4)
    response: (handle, end handle or 0, value)."""
    if len(pdu) < 2:
        raise PduError("PDU too short")
    length = pdu[1]
    if length < value_offset or (len(pdu) - 2) % length:
        raise PduError("malformed attribute data list")
    entries = []
    for i in range(2, len(pdu), length):
        handle = _H.unpack_from(pdu, i)[0]
        end = _H.unpack_from(pdu, i + 2)[0] if value_offset == 4 else 0
        entries.append((handle, end, pdu[i + value_offset : i + length]))
    return entries


def parse_find_information(pdu: bytes) -> list[tuple[int, bytes]]:
    if len(pdu) < 2 or pdu[1] not in (1, 2):
        raise PduError("malformed Find Information Response")
    size = 2 if pdu[1] == 1 else 16
    step = 2 + size
    if (len(pdu) - 2) % step:
        raise PduError("malformed Find Information Response")
    return [(_H.unpack_from(pdu, i)[0], pdu[i + 2 : i + step]) for i in range(2, len(pdu), step)]


def parse_handles_information(pdu: bytes) -> list[tuple[int, int]]:
    """Find By Type Value Response: (found handle, group end handle) pairs."""
    if (len(pdu) - 1) % 4:
        raise PduError("malformed Find By Type Value Response")
    return [_HH.unpack_from(pdu, i) for i in range(1, len(pdu), 4)]

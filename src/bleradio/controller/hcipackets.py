"""HCI event packets (H4 bytes) built by hand.

The controller answers from here rather than from Bumble's dataclasses: these run for
every advertising report and every completed ACL packet, and plain ``struct`` keeps them
cheap and independent of Bumble's field names.
"""

from __future__ import annotations

import struct

H4_COMMAND = 0x01
H4_ACL = 0x02
H4_EVENT = 0x04

# Error codes (Core Vol 1, Part F)
SUCCESS = 0x00
UNKNOWN_HCI_COMMAND = 0x01
UNKNOWN_CONNECTION_IDENTIFIER = 0x02
PIN_OR_KEY_MISSING = 0x06
MEMORY_CAPACITY_EXCEEDED = 0x07
CONNECTION_TIMEOUT = 0x08
CONNECTION_LIMIT_EXCEEDED = 0x09
COMMAND_DISALLOWED = 0x0C
INVALID_HCI_COMMAND_PARAMETERS = 0x12
REMOTE_USER_TERMINATED_CONNECTION = 0x13
CONNECTION_TERMINATED_BY_LOCAL_HOST = 0x16
UNSUPPORTED_REMOTE_FEATURE = 0x1A
UNSPECIFIED_ERROR = 0x1F
UNSUPPORTED_PARAMETER_VALUE = 0x11
LMP_RESPONSE_TIMEOUT = 0x22
INSTANT_PASSED = 0x28
UNACCEPTABLE_CONNECTION_PARAMETERS = 0x3B
ADVERTISING_TIMEOUT = 0x3C
CONNECTION_TERMINATED_DUE_TO_MIC_FAILURE = 0x3D
CONNECTION_FAILED_TO_BE_ESTABLISHED = 0x3E

# Events
EVT_DISCONNECTION_COMPLETE = 0x05
EVT_ENCRYPTION_CHANGE = 0x08
EVT_READ_REMOTE_VERSION_COMPLETE = 0x0C
EVT_COMMAND_COMPLETE = 0x0E
EVT_COMMAND_STATUS = 0x0F
EVT_HARDWARE_ERROR = 0x10
EVT_NUMBER_OF_COMPLETED_PACKETS = 0x13
EVT_DATA_BUFFER_OVERFLOW = 0x1A
EVT_ENCRYPTION_KEY_REFRESH_COMPLETE = 0x30
EVT_LE_META = 0x3E

# LE meta sub-events
LE_CONNECTION_COMPLETE = 0x01
LE_ADVERTISING_REPORT = 0x02
LE_CONNECTION_UPDATE_COMPLETE = 0x03
LE_READ_REMOTE_FEATURES_COMPLETE = 0x04
LE_LONG_TERM_KEY_REQUEST = 0x05
LE_REMOTE_CONNECTION_PARAMETER_REQUEST = 0x06
LE_DATA_LENGTH_CHANGE = 0x07
LE_ENHANCED_CONNECTION_COMPLETE = 0x0A
LE_PHY_UPDATE_COMPLETE = 0x0C

# Bit in the (page 1) event mask for each event code; LE sub-events use bit (code - 1).
EVENT_MASK_BIT = {
    EVT_DISCONNECTION_COMPLETE: 4,
    EVT_ENCRYPTION_CHANGE: 7,
    EVT_READ_REMOTE_VERSION_COMPLETE: 11,
    EVT_HARDWARE_ERROR: 15,
    EVT_DATA_BUFFER_OVERFLOW: 25,
    EVT_ENCRYPTION_KEY_REFRESH_COMPLETE: 47,
    EVT_LE_META: 61,
}
DEFAULT_EVENT_MASK = 0x00001FFFFFFFFFFF
DEFAULT_LE_EVENT_MASK = 0x000000000000001F

_EVENT_HEADER = struct.Struct("<BBB")


def event(code: int, params: bytes) -> bytes:
    return _EVENT_HEADER.pack(H4_EVENT, code, len(params)) + params


def le_event(subevent: int, params: bytes) -> bytes:
    return _EVENT_HEADER.pack(H4_EVENT, EVT_LE_META, len(params) + 1) + bytes((subevent,)) + params


def command_complete(opcode: int, return_parameters: bytes) -> bytes:
    return event(EVT_COMMAND_COMPLETE, struct.pack("<BH", 1, opcode) + return_parameters)


def command_status(opcode: int, status: int) -> bytes:
    return event(EVT_COMMAND_STATUS, struct.pack("<BBH", status, 1, opcode))


def disconnection_complete(handle: int, reason: int) -> bytes:
    return event(EVT_DISCONNECTION_COMPLETE, struct.pack("<BHB", SUCCESS, handle, reason))


def encryption_change(status: int, handle: int, enabled: int) -> bytes:
    return event(EVT_ENCRYPTION_CHANGE, struct.pack("<BHB", status, handle, enabled))


def encryption_key_refresh_complete(status: int, handle: int) -> bytes:
    return event(EVT_ENCRYPTION_KEY_REFRESH_COMPLETE, struct.pack("<BH", status, handle))


def read_remote_version_complete(
    status: int, handle: int, version: int, company: int, subversion: int
) -> bytes:
    return event(
        EVT_READ_REMOTE_VERSION_COMPLETE,
        struct.pack("<BHBHH", status, handle, version, company, subversion),
    )


def number_of_completed_packets(counts: dict[int, int]) -> bytes:
    body = bytearray((len(counts),))
    for handle, count in counts.items():
        body += struct.pack("<HH", handle, count)
    return event(EVT_NUMBER_OF_COMPLETED_PACKETS, bytes(body))


def le_connection_complete(
    status: int,
    handle: int,
    role: int,
    peer_address_type: int,
    peer_address: bytes,
    interval: int,
    latency: int,
    timeout: int,
) -> bytes:
    return le_event(
        LE_CONNECTION_COMPLETE,
        struct.pack("<BHBB", status, handle, role, peer_address_type)
        + peer_address
        + struct.pack("<HHHB", interval, latency, timeout, 0),
    )


def le_enhanced_connection_complete(
    status: int,
    handle: int,
    role: int,
    peer_address_type: int,
    peer_address: bytes,
    local_rpa: bytes,
    peer_rpa: bytes,
    interval: int,
    latency: int,
    timeout: int,
) -> bytes:
    return le_event(
        LE_ENHANCED_CONNECTION_COMPLETE,
        struct.pack("<BHBB", status, handle, role, peer_address_type)
        + peer_address
        + local_rpa
        + peer_rpa
        + struct.pack("<HHHB", interval, latency, timeout, 0),
    )


def le_advertising_report(
    event_type: int, address_type: int, address: bytes, data: bytes, rssi: int
) -> bytes:
    return le_event(
        LE_ADVERTISING_REPORT,
        struct.pack("<BBB", 1, event_type, address_type)
        + address
        + bytes((len(data),))
        + data
        + struct.pack("<b", rssi),
    )


def le_connection_update_complete(
    status: int, handle: int, interval: int, latency: int, timeout: int
) -> bytes:
    return le_event(
        LE_CONNECTION_UPDATE_COMPLETE,
        struct.pack("<BHHHH", status, handle, interval, latency, timeout),
    )


def le_read_remote_features_complete(status: int, handle: int, features: bytes) -> bytes:
    return le_event(LE_READ_REMOTE_FEATURES_COMPLETE, struct.pack("<BH", status, handle) + features)


def le_long_term_key_request(handle: int, rand: bytes, ediv: int) -> bytes:
    return le_event(
        LE_LONG_TERM_KEY_REQUEST, struct.pack("<H", handle) + rand + struct.pack("<H", ediv)
    )


def le_remote_connection_parameter_request(
    handle: int, interval_min: int, interval_max: int, latency: int, timeout: int
) -> bytes:
    return le_event(
        LE_REMOTE_CONNECTION_PARAMETER_REQUEST,
        struct.pack("<HHHHH", handle, interval_min, interval_max, latency, timeout),
    )


def le_data_length_change(
    handle: int, max_tx_octets: int, max_tx_time: int, max_rx_octets: int, max_rx_time: int
) -> bytes:
    return le_event(
        LE_DATA_LENGTH_CHANGE,
        struct.pack("<HHHHH", handle, max_tx_octets, max_tx_time, max_rx_octets, max_rx_time),
    )


def le_phy_update_complete(status: int, handle: int, tx_phy: int, rx_phy: int) -> bytes:
    return le_event(LE_PHY_UPDATE_COMPLETE, struct.pack("<BHBB", status, handle, tx_phy, rx_phy))


_ACL_HEADER = struct.Struct("<BHH")


def acl(handle: int, pb_flag: int, payload: bytes) -> bytes:
    return _ACL_HEADER.pack(H4_ACL, handle | (pb_flag << 12), len(payload)) + payload

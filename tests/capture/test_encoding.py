"""The capture's encodings, checked against scapy's decoders and the spec's rules."""

from __future__ import annotations

import random

import pytest
from scapy.layers.bluetooth4LE import BTLE, BTLE_CTRL, BTLE_DATA

from bleradio import capture
from bleradio.air.link import CONTROL_PDU_SIZE

# One tuple per opcode the virtual link sends, as its controllers build them
CONTROLS = [
    ("CONNECTION_UPDATE_IND", 24, 2, 300),
    ("ENC_REQ", bytes(range(8)), 0x1234, bytes(16), False),
    ("ENC_RSP",),
    ("START_ENC_REQ", bytes(16)),
    ("START_ENC_RSP", True),
    ("UNKNOWN_RSP", "PING_REQ"),
    ("FEATURE_REQ", bytes.fromhex("ff49010800000000")),
    ("FEATURE_RSP", bytes.fromhex("ff49010800000000")),
    ("PAUSE_ENC_REQ",),
    ("PAUSE_ENC_RSP",),
    ("VERSION_IND", 9, 0xFFFF, 1, True),
    ("REJECT_IND", 0x06),
    ("PERIPHERAL_FEATURE_REQ", bytes.fromhex("ff49010800000000")),
    ("CONNECTION_PARAM_REQ", 6, 12, 0, 200),
    ("CONNECTION_PARAM_RSP", 6, 12, 0, 200),
    ("REJECT_EXT_IND", "ENC_REQ", 0x06),
    ("PING_REQ",),
    ("PING_RSP",),
    ("LENGTH_REQ", 251, 2120, 251, 2120),
    ("LENGTH_RSP", 251, 2120, 27, 328),
    ("PHY_REQ", 3, 3),
    ("PHY_RSP", 2, 2),
    ("PHY_UPDATE_IND", 2, 2),
    ("TERMINATE_IND", 0x13),
]


def _decode(payload: bytes) -> BTLE_DATA:
    return BTLE_DATA(bytes((3, len(payload))) + payload)


@pytest.mark.parametrize("pdu", CONTROLS, ids=[c[0] for c in CONTROLS])
def test_control_pdus_have_their_real_size_and_decode(pdu: tuple) -> None:
    payload = capture.encode_control(pdu, 41, random.Random(0))
    assert len(payload) == CONTROL_PDU_SIZE[pdu[0]]
    assert payload[0] == capture.LL_OPCODES[pdu[0]]
    decoded = _decode(payload)
    assert decoded.haslayer(BTLE_CTRL)
    assert decoded[BTLE_CTRL].opcode == capture.LL_OPCODES[pdu[0]]


def test_control_fields_as_scapy_reads_them() -> None:
    rng = random.Random(0)
    update = _decode(capture.encode_control(("CONNECTION_UPDATE_IND", 24, 2, 300), 41, rng))
    assert (update.interval, update.latency, update.timeout, update.instant) == (24, 2, 300, 42)
    length = _decode(capture.encode_control(("LENGTH_RSP", 251, 2120, 27, 328), 0, rng))
    assert (length.max_rx_bytes, length.max_rx_time) == (251, 2120)
    assert (length.max_tx_bytes, length.max_tx_time) == (27, 328)
    version = _decode(capture.encode_control(("VERSION_IND", 9, 0xFFFF, 1, True), 0, rng))
    assert (version.version, version.company, version.subversion) == (9, 0xFFFF, 1)
    reject = _decode(capture.encode_control(("REJECT_EXT_IND", "ENC_REQ", 6), 0, rng))
    assert (reject.reject_opcode, reject.error_code) == (0x03, 0x06)
    phy = _decode(capture.encode_control(("PHY_UPDATE_IND", 2, 2), 9, rng))
    assert phy.instant == 10
    terminate = _decode(capture.encode_control(("TERMINATE_IND", 0x13), 0, rng))
    assert terminate.code == 0x13


def test_keys_never_go_on_air() -> None:
    ltk = bytes(range(100, 116))
    rng = random.Random(0)
    for pdu in (("ENC_REQ", bytes(8), 0, ltk, False), ("START_ENC_REQ", ltk)):
        assert ltk[:4] not in capture.encode_control(pdu, 0, rng)


def test_crc_is_scapys() -> None:
    rng = random.Random(7)
    for _ in range(50):
        pdu = rng.randbytes(rng.randint(2, 60))
        # advertising channels: CRCInit 0x555555, scapy's default
        assert capture.ble_crc(pdu, 0x555555) == BTLE.compute_crc(pdu)
        crc_init = rng.getrandbits(24)
        swapped = int.from_bytes(crc_init.to_bytes(3, "little"), "big")
        assert capture.ble_crc(pdu, crc_init) == BTLE.compute_crc(pdu, swapped)


def test_crc_residue_is_zero() -> None:
    """Run over a PDU and its own CRC, the CRC register ends at zero (a CRC without a final
    XOR): the CRC's bytes are in the order the register shifts them out."""
    rng = random.Random(3)
    for _ in range(20):
        crc_init = rng.getrandbits(24)
        pdu = rng.randbytes(20)
        crc = capture.ble_crc(pdu, crc_init)
        assert capture.ble_crc(pdu + crc, crc_init) == b"\x00\x00\x00"


def test_channel_selection_algorithm_1() -> None:
    # unmapped channel = (hop * (counter + 1)) mod 37; every channel used
    assert [capture.data_channel(n, 7) for n in range(6)] == [7, 14, 21, 28, 35, 5]
    # every hop increment visits all 37 channels in 37 events
    for hop in range(5, 17):
        assert sorted(capture.data_channel(n, hop) for n in range(37)) == list(range(37))
    # a channel left out of the map is remapped onto the used ones, in order
    used_0_to_9 = (1 << 10) - 1
    assert capture.data_channel(1, 7, used_0_to_9) == 14 % 10


def test_rf_channels() -> None:
    assert [capture.rf_channel(c) for c in (37, 38, 39)] == [0, 12, 39]
    assert [capture.rf_channel(c) for c in (0, 10, 11, 36)] == [1, 11, 13, 38]


def test_access_addresses_follow_the_rules() -> None:
    rng = random.Random(1)
    for _ in range(200):
        aa = capture.new_access_address(rng)
        bits = f"{aa:032b}"
        assert aa != capture.ADVERTISING_ACCESS_ADDRESS
        assert "0000000" not in bits and "1111111" not in bits
        assert sum(a != b for a, b in zip(bits, bits[1:], strict=False)) <= 24
    assert not capture.valid_access_address(capture.ADVERTISING_ACCESS_ADDRESS ^ 1)
    assert not capture.valid_access_address(0x12121212)

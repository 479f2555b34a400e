"""ScanResult: what a scan yields, fed hand-made advertising events (no radio)."""

import pytest

import bluetooth
from aioble.central import ScanResult
from aioble.device import Device

ADV_IND, ADV_DIRECT_IND, ADV_SCAN_IND, ADV_NONCONN_IND, SCAN_RSP = range(5)

DEV = Device(0, b"\x01\x02\x03\x04\x05\x06")


def result(*events: tuple[int, int, bytes]) -> ScanResult:
    r = ScanResult(DEV)
    for adv_type, rssi, data in events:
        r._update(adv_type, rssi, data)
    return r


def test_seed_central_finds_service_in_advertising_data() -> None:
    r = result((ADV_IND, -50, b"\x02\x01\x06\x03\x03\x1a\x18\x0c\x09openmv-temp"))
    assert bluetooth.UUID(0x181A) in r.services()
    assert r.name() == "openmv-temp"
    assert r.connectable
    assert r.rssi == -50


def test_name_and_services_from_scan_response() -> None:
    u128 = bluetooth.UUID("a5a5a5a5-ffff-9999-1111-5a5a5a5a5a5a")
    r = result(
        (ADV_IND, -60, b"\x02\x01\x06\x11\x07" + bytes(u128)),
        (SCAN_RSP, -60, b"\x05\x09name\x05\xff\x34\x12hi"),
    )
    assert r.adv_data == b"\x02\x01\x06\x11\x07" + bytes(u128)
    assert r.resp_data == b"\x05\x09name\x05\xff\x34\x12hi"
    assert list(r.services()) == [u128]
    assert r.name() == "name"
    assert list(r.manufacturer()) == [(0x1234, b"hi")]
    assert list(r.manufacturer(0x1234)) == [(0x1234, b"hi")]
    assert list(r.manufacturer(1)) == []


def test_every_uuid_of_a_list_and_every_size() -> None:
    r = result(
        (ADV_IND, -1, b"\x05\x03\x0f\x18\x1a\x18\x05\x05\x78\x56\x34\x12"),
    )
    assert list(r.services()) == [
        bluetooth.UUID(0x180F),
        bluetooth.UUID(0x181A),
        bluetooth.UUID(bytes.fromhex("78563412")),
    ]


@pytest.mark.parametrize(
    ("adv_type", "connectable"),
    [(ADV_IND, True), (ADV_DIRECT_IND, True), (ADV_SCAN_IND, False), (ADV_NONCONN_IND, False)],
)
def test_connectable_by_type(adv_type: int, connectable: bool) -> None:
    assert result((adv_type, -40, b"\x02\x01\x06")).connectable is connectable


def test_update_reports_only_news() -> None:
    r = ScanResult(DEV)
    assert r._update(ADV_IND, -40, b"\x02\x01\x06")
    assert not r._update(ADV_IND, -40, b"\x02\x01\x06")
    assert r._update(ADV_IND, -41, b"\x02\x01\x06")  # rssi changed
    assert r._update(SCAN_RSP, -41, b"\x03\x09ab")
    assert not r._update(SCAN_RSP, -41, b"\x03\x09ab")
    assert r._update(ADV_IND, -41, b"\x02\x01\x04")  # data changed
    # A scannable, non-connectable advertisement is reported too (even in a passive scan).
    r2 = ScanResult(DEV)
    assert r2._update(ADV_SCAN_IND, -40, b"")


MALFORMED = [
    b"",
    b"\x00",
    b"\x00\x00\x00",
    b"\x01",
    b"\x05\x09ab",
    b"\x02\x03\x1a",
    b"\x04\x03\x1a\x18\x0f",
    b"\x02\xff\x01",
    b"\x01\xff",
    b"\x10\x07" + bytes(15),
    b"\x03\xee\xee\xee\x02\x01",
    b"\xff" * 31,
    b"\x03\x09\xff\xfe",
]


@pytest.mark.parametrize("payload", MALFORMED, ids=lambda b: b.hex() or "empty")
def test_malformed_never_crashes(payload: bytes) -> None:
    r = result((ADV_IND, -40, payload), (SCAN_RSP, -40, payload))
    r.name()
    list(r.services())
    list(r.manufacturer())
    list(r.manufacturer(0x1234))
    str(r)


def test_device_address_forms() -> None:
    d = Device(1, "aa:bb:cc:dd:ee:ff")
    assert d.addr == bytes.fromhex("aabbccddeeff")
    assert d.addr_hex() == "aa:bb:cc:dd:ee:ff"
    assert d == Device(1, bytes.fromhex("aabbccddeeff"))
    assert d != Device(0, bytes.fromhex("aabbccddeeff"))
    assert len({d, Device(1, "AA:BB:CC:DD:EE:FF")}) == 1
    assert "ADDR_RANDOM" in str(d)
    with pytest.raises(ValueError):
        Device(0, b"\x01\x02")

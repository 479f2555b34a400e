"""The advertising payload builder and parsers: pure functions on bytes, table-driven."""

import pytest

from aioble import _advdata as ad


class U:
    """A stand-in for bluetooth.UUID: bytes() gives the little-endian bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __bytes__(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return f"U({self.data.hex()})"


U16 = U(bytes.fromhex("1a18"))  # 0x181A
U16B = U(bytes.fromhex("0f18"))  # 0x180F
U32 = U(bytes.fromhex("78563412"))
U128 = U(bytes(range(16)))
U128B = U(bytes(range(16, 32)))

FLAGS = bytes.fromhex("020106")

BUILD_CASES = [
    ("flags only", {}, FLAGS, b""),
    ("limited discoverable", {"limited_disc": True}, bytes.fromhex("020105"), b""),
    ("br/edr", {"br_edr": True}, bytes.fromhex("02011a"), b""),
    ("limited + br/edr", {"limited_disc": True, "br_edr": True}, bytes.fromhex("020119"), b""),
    ("name str", {"name": "abc"}, FLAGS + b"\x04\x09abc", b""),
    ("name bytes", {"name": b"xy"}, FLAGS + b"\x03\x09xy", b""),
    ("name utf-8", {"name": "é"}, FLAGS + b"\x03\x09\xc3\xa9", b""),
    ("one 16-bit service", {"services": [U16]}, FLAGS + b"\x03\x03\x1a\x18", b""),
    (
        "16-bit services share one list",
        {"services": [U16, U16B]},
        FLAGS + b"\x05\x03\x1a\x18\x0f\x18",
        b"",
    ),
    ("duplicates listed once", {"services": [U16, U16]}, FLAGS + b"\x03\x03\x1a\x18", b""),
    ("32-bit service", {"services": [U32]}, FLAGS + b"\x05\x05" + U32.data, b""),
    ("128-bit service", {"services": [U128]}, FLAGS + b"\x11\x07" + U128.data, b""),
    (
        "lists by size, 16 then 32 then 128",
        {"services": [U128, U32, U16]},
        FLAGS + b"\x03\x03\x1a\x18" + b"\x05\x05" + U32.data + b"\x11\x07" + U128.data,
        b"",
    ),
    (
        "manufacturer data overflows, the later name still fits",
        {"services": [U128], "manufacturer": (1, b"m" * 12), "name": "ab"},
        FLAGS + b"\x11\x07" + U128.data + b"\x03\x09ab",
        b"\x0f\xff\x01\x00" + b"m" * 12,
    ),
    ("appearance", {"appearance": 0x0341}, FLAGS + b"\x03\x19\x41\x03", b""),
    (
        "manufacturer",
        {"manufacturer": (0x02E5, b"\x01\x02")},
        FLAGS + b"\x05\xff\xe5\x02\x01\x02",
        b"",
    ),
    ("manufacturer str data", {"manufacturer": (0x0001, "z")}, FLAGS + b"\x04\xff\x01\x00z", b""),
    (
        "overflow: name goes to the scan response",
        {"services": [U128], "name": "openmv-temp"},
        FLAGS + b"\x11\x07" + U128.data,
        b"\x0c\x09openmv-temp",
    ),
    (
        "a later small field still fills the advertising data",
        {"services": [U128], "name": "a-long-name-x", "appearance": 1},
        FLAGS + b"\x11\x07" + U128.data + b"\x03\x19\x01\x00",
        b"\x0e\x09a-long-name-x",
    ),
    (
        "exactly 31 bytes fit",
        {"name": "x" * 26},
        FLAGS + b"\x1b\x09" + b"x" * 26,
        b"",
    ),
    (
        "32 bytes overflow",
        {"name": "x" * 27},
        FLAGS,
        b"\x1c\x09" + b"x" * 27,
    ),
    (
        "the seed's peripheral",
        {"name": "openmv-temp", "services": [U16]},
        FLAGS + b"\x03\x03\x1a\x18\x0c\x09openmv-temp",
        b"",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "adv", "resp"), [c[1:] for c in BUILD_CASES], ids=[c[0] for c in BUILD_CASES]
)
def test_build(kwargs: dict, adv: bytes, resp: bytes) -> None:
    assert ad.build(**kwargs) == (adv, resp)
    assert len(adv) <= 31 and len(resp) <= 31


TOO_LONG_CASES = [
    ("name", {"name": "n" * 30}, "name"),
    ("128-bit services", {"services": [U128, U128B]}, "128-bit service UUIDs"),
    ("manufacturer", {"name": "n" * 27, "manufacturer": (1, b"m" * 28)}, "manufacturer data"),
    (
        "name after both filled",
        {"services": [U(bytes((i, 0x18))) for i in range(13)] + [U128], "name": "n" * 12},
        "name 'nnnnnnnnnnnn'",
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "what"), [c[1:] for c in TOO_LONG_CASES], ids=[c[0] for c in TOO_LONG_CASES]
)
def test_build_too_long_names_the_field(kwargs: dict, what: str) -> None:
    with pytest.raises(ValueError, match=what):
        ad.build(**kwargs)


def test_build_rejects_odd_uuid() -> None:
    with pytest.raises(ValueError, match="2, 4 or 16"):
        ad.build(services=[U(b"\x01\x02\x03")])


FIELDS_CASES = [
    ("empty", b"", []),
    ("none", None, []),
    ("one field", b"\x02\x01\x06", [(1, b"\x06")]),
    ("two fields", b"\x02\x01\x06\x03\x09ab", [(1, b"\x06"), (9, b"ab")]),
    ("length 1: empty value", b"\x01\x09", [(9, b"")]),
    ("zero length ends the data", b"\x02\x01\x06\x00\x03\x09ab", [(1, b"\x06")]),
    ("zero padding", b"\x02\x01\x06" + bytes(28), [(1, b"\x06")]),
    ("truncated field dropped", b"\x02\x01\x06\x09\x09ab", [(1, b"\x06")]),
    ("length byte alone", b"\x02\x01\x06\x05", [(1, b"\x06")]),
    ("unknown types kept as they are", b"\x02\xee\x01\x03\x42zz", [(0xEE, b"\x01"), (0x42, b"zz")]),
    ("0xff length", b"\xff\x09abc", []),
    ("memoryview", memoryview(b"\x03\x09ab"), [(9, b"ab")]),
]


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in FIELDS_CASES], ids=[c[0] for c in FIELDS_CASES]
)
def test_fields(payload: bytes, expected: list) -> None:
    assert list(ad.fields(payload)) == expected


NAME_CASES = [
    ("complete", [b"\x04\x09abc"], "abc"),
    ("shortened", [b"\x03\x08ab"], "ab"),
    ("empty name", [b"\x01\x09"], ""),
    ("absent", [b"\x02\x01\x06"], None),
    ("in the scan response", [b"\x02\x01\x06", b"\x03\x09zz"], "zz"),
    ("first wins", [b"\x03\x09aa", b"\x03\x09bb"], "aa"),
    ("bad utf-8 replaced", [b"\x03\x09\xffa"], "\ufffda"),
    ("truncated", [b"\x09\x09abc"], None),
    ("none payloads", [None, None], None),
]


@pytest.mark.parametrize(
    ("payloads", "expected"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES]
)
def test_name(payloads: list, expected: str | None) -> None:
    assert ad.name(payloads) == expected


SERVICES_CASES = [
    ("16-bit complete", [b"\x03\x03\x1a\x18"], [b"\x1a\x18"]),
    ("16-bit incomplete", [b"\x03\x02\x1a\x18"], [b"\x1a\x18"]),
    ("16-bit list of two", [b"\x05\x03\x1a\x18\x0f\x18"], [b"\x1a\x18", b"\x0f\x18"]),
    ("partial trailing uuid ignored", [b"\x04\x03\x1a\x18\x0f"], [b"\x1a\x18"]),
    ("too short for one", [b"\x02\x03\x1a"], []),
    ("32-bit", [b"\x05\x05\x78\x56\x34\x12"], [bytes.fromhex("78563412")]),
    ("128-bit", [b"\x11\x07" + bytes(range(16))], [bytes(range(16))]),
    ("128-bit short", [b"\x10\x07" + bytes(range(15))], []),
    (
        "16-bit first, then 32, then 128, across payloads",
        [b"\x11\x06" + bytes(range(16)), b"\x05\x04\x01\x02\x03\x04\x03\x03\x0a\x0b"],
        [b"\x0a\x0b", b"\x01\x02\x03\x04", bytes(range(16))],
    ),
    ("none", [b"\x02\x01\x06", None], []),
]


@pytest.mark.parametrize(
    ("payloads", "expected"), [c[1:] for c in SERVICES_CASES], ids=[c[0] for c in SERVICES_CASES]
)
def test_service_uuids(payloads: list, expected: list) -> None:
    assert list(ad.service_uuids(payloads)) == expected


MANUFACTURER_CASES = [
    ("one", [b"\x05\xff\xe5\x02\x01\x02"], None, [(0x02E5, b"\x01\x02")]),
    ("id only", [b"\x03\xff\x01\x00"], None, [(1, b"")]),
    ("too short skipped", [b"\x02\xff\x01\x05\xff\x02\x00ab"], None, [(2, b"ab")]),
    ("filter", [b"\x03\xff\x01\x00\x04\xff\x02\x00x"], 2, [(2, b"x")]),
    ("filter misses", [b"\x03\xff\x01\x00"], 9, []),
    ("absent", [b"\x02\x01\x06"], None, []),
]


@pytest.mark.parametrize(
    ("payloads", "filter", "expected"),
    [c[1:] for c in MANUFACTURER_CASES],
    ids=[c[0] for c in MANUFACTURER_CASES],
)
def test_manufacturer(payloads: list, filter: int | None, expected: list) -> None:
    assert list(ad.manufacturer(payloads, filter)) == expected


def test_appearance() -> None:
    assert ad.appearance([b"\x03\x19\x41\x03"]) == 0x0341
    assert ad.appearance([b"\x02\x19\x41"]) is None
    assert ad.appearance([None]) is None


@pytest.mark.parametrize(
    "kwargs",
    [c[1] for c in BUILD_CASES],
    ids=[c[0] for c in BUILD_CASES],
)
def test_round_trip(kwargs: dict) -> None:
    adv, resp = ad.build(**kwargs)
    payloads = [adv, resp]
    name = kwargs.get("name")
    if name is not None:
        assert ad.name(payloads) == (name.decode() if isinstance(name, bytes) else name)
    expected = []
    for size in (2, 4, 16):
        for u in kwargs.get("services", []):
            if len(u.data) == size and u.data not in expected:
                expected.append(u.data)
    assert list(ad.service_uuids(payloads)) == expected
    if "manufacturer" in kwargs:
        company, data = kwargs["manufacturer"]
        assert list(ad.manufacturer(payloads)) == [
            (company, data.encode() if isinstance(data, str) else data)
        ]


def test_parsers_never_raise_on_random_bytes() -> None:
    import random

    rng = random.Random(1234)
    for _ in range(3000):
        payload = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        payloads = [payload, payload[::-1]]
        list(ad.fields(payload))
        ad.name(payloads)
        list(ad.service_uuids(payloads))
        list(ad.manufacturer(payloads))
        ad.appearance(payloads)

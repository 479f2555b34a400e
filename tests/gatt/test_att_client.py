"""The GATT client, procedure by procedure: the requests it sends, the events a program
sees for each response, MTU, timeouts, lost links and malformed responses."""

from __future__ import annotations

import errno

import pytest

from bluetooth import UUID
from bluetooth._conn import Connection
from bluetooth._gattc import ATT_TIMEOUT, GattClient

from .conftest import Clock, Hooks

SERVICE_RESULT, SERVICE_DONE = 9, 10
CHARACTERISTIC_RESULT, CHARACTERISTIC_DONE = 11, 12
DESCRIPTOR_RESULT, DESCRIPTOR_DONE = 13, 14
READ_RESULT, READ_DONE, WRITE_DONE = 15, 16, 17
NOTIFY, INDICATE, MTU_EXCHANGED = 18, 19, 21
NOT_CONNECTED, TIMEOUT, INVALID_PDU = 0x1F, 0x7F, 0x04
UUID128 = UUID("6e400001-b5a3-f393-e0a9-e50e24dcca9e")


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def run(client: GattClient, hooks: Hooks, conn: Connection, exchange: list[tuple[str, str]]):
    """Feed each response after checking the request before it; returns the events."""
    for request, response in exchange:
        assert hooks.sent == [h(request)]
        hooks.sent = []
        client.on_pdu(conn, h(response))
    assert hooks.sent == []
    return hooks.events


# (what, start(client, conn), [(request, response)...], events)
PROCEDURES = [
    (
        "all services, two responses",
        lambda c, conn: c.discover_services(conn, None),
        [
            ("10 0100 ffff 0028", "11 06 0100 0500 0018 0600 0900 0118"),
            ("10 0a00 ffff 0028", "11 14 0a00 1700 9ecadc240ee5a9e093f3a3b50100406e"),
            ("10 1800 ffff 0028", "01 10 1800 0a"),
        ],
        [
            (SERVICE_RESULT, (0, 1, 5, UUID(0x1800))),
            (SERVICE_RESULT, (0, 6, 9, UUID(0x1801))),
            (SERVICE_RESULT, (0, 10, 23, UUID128)),
            (SERVICE_DONE, (0, 0)),
        ],
    ),
    (
        "all services: the last one ends at 0xffff",
        lambda c, conn: c.discover_services(conn, None),
        [("10 0100 ffff 0028", "11 06 0100 ffff 0018")],
        [(SERVICE_RESULT, (0, 1, 0xFFFF, UUID(0x1800))), (SERVICE_DONE, (0, 0))],
    ),
    (
        "services by UUID",
        lambda c, conn: c.discover_services(conn, UUID(0x1234)),
        [
            ("06 0100 ffff 0028 3412", "07 0a00 1700"),
            ("06 1800 ffff 0028 3412", "01 06 1800 0a"),
        ],
        [(SERVICE_RESULT, (0, 10, 23, UUID(0x1234))), (SERVICE_DONE, (0, 0))],
    ),
    (
        "services: an error other than not found is the status",
        lambda c, conn: c.discover_services(conn, None),
        [("10 0100 ffff 0028", "01 10 0100 0e")],
        [(SERVICE_DONE, (0, 0x0E))],
    ),
    (
        "services: a malformed response",
        lambda c, conn: c.discover_services(conn, None),
        [("10 0100 ffff 0028", "11 07 0100 0500 616263")],
        [(SERVICE_DONE, (0, INVALID_PDU))],
    ),
    (
        "characteristics: each reported once the next declaration is seen",
        lambda c, conn: c.discover_characteristics(conn, 10, 23, None),
        [
            ("08 0a00 1700 0328", "09 07 0b00 12 0c00 01aa 0e00 0c 0f00 02aa"),
            ("08 0f00 1700 0328", "01 08 0f00 0a"),
        ],
        [
            (CHARACTERISTIC_RESULT, (0, 13, 12, 0x12, UUID(0xAA01))),
            (CHARACTERISTIC_RESULT, (0, 23, 15, 0x0C, UUID(0xAA02))),
            (CHARACTERISTIC_DONE, (0, 0)),
        ],
    ),
    (
        "characteristics by UUID: the others are not reported",
        lambda c, conn: c.discover_characteristics(conn, 10, 23, UUID(0xAA02)),
        [
            ("08 0a00 1700 0328", "09 07 0b00 12 0c00 01aa 0e00 0c 0f00 02aa"),
            ("08 0f00 1700 0328", "01 08 0f00 0a"),
        ],
        [(CHARACTERISTIC_RESULT, (0, 23, 15, 0x0C, UUID(0xAA02))), (CHARACTERISTIC_DONE, (0, 0))],
    ),
    (
        "characteristics: a 128-bit UUID",
        lambda c, conn: c.discover_characteristics(conn, 1, 0xFFFF, None),
        [
            ("08 0100 ffff 0328", "09 15 0200 1a 0300 9ecadc240ee5a9e093f3a3b50100406e"),
            ("08 0300 ffff 0328", "01 08 0300 0a"),
        ],
        [(CHARACTERISTIC_RESULT, (0, 0xFFFF, 3, 0x1A, UUID128)), (CHARACTERISTIC_DONE, (0, 0))],
    ),
    (
        "characteristics: a declaration of the wrong size",
        lambda c, conn: c.discover_characteristics(conn, 1, 0xFFFF, None),
        [("08 0100 ffff 0328", "09 06 0200 1a 0300 01")],
        [(CHARACTERISTIC_DONE, (0, INVALID_PDU))],
    ),
    (
        "descriptors: from after the value handle",
        lambda c, conn: c.discover_descriptors(conn, 21, 23),
        [
            ("04 1600 1700", "05 01 1600 0229 1700 0129"),
        ],
        [
            (DESCRIPTOR_RESULT, (0, 22, UUID(0x2902))),
            (DESCRIPTOR_RESULT, (0, 23, UUID(0x2901))),
            (DESCRIPTOR_DONE, (0, 0)),
        ],
    ),
    (
        "descriptors: none",
        lambda c, conn: c.discover_descriptors(conn, 12, 13),
        [("04 0d00 0d00", "01 04 0d00 0a")],
        [(DESCRIPTOR_DONE, (0, 0))],
    ),
    (
        "descriptors: a value handle at the end of the range asks nothing",
        lambda c, conn: c.discover_descriptors(conn, 12, 12),
        [],
        [(DESCRIPTOR_DONE, (0, 0))],
    ),
    (
        "descriptors: a malformed response",
        lambda c, conn: c.discover_descriptors(conn, 12, 20),
        [("04 0d00 1400", "05 03 0d00 0229")],
        [(DESCRIPTOR_DONE, (0, INVALID_PDU))],
    ),
    (
        "read",
        lambda c, conn: c.read(conn, 12),
        [("0a 0c00", "0b 6869")],
        [(READ_RESULT, (0, 12, b"hi")), (READ_DONE, (0, 12, 0))],
    ),
    (
        "read: an error",
        lambda c, conn: c.read(conn, 15),
        [("0a 0f00", "01 0a 0f00 02")],
        [(READ_DONE, (0, 15, 0x02))],
    ),
    (
        "read: an error response cut short",
        lambda c, conn: c.read(conn, 3),
        [("0a 0300", "01 0a 0300")],
        [(READ_DONE, (0, 3, INVALID_PDU))],
    ),
    (
        "write with response",
        lambda c, conn: c.write_request(conn, 15, b"ab"),
        [("12 0f00 6162", "13")],
        [(WRITE_DONE, (0, 15, 0))],
    ),
    (
        "write with response: cut to MTU - 3",
        lambda c, conn: c.write_request(conn, 15, bytes(30)),
        [("12 0f00" + "00" * 20, "01 12 0f00 03")],
        [(WRITE_DONE, (0, 15, 0x03))],
    ),
    (
        "exchange MTU",
        lambda c, conn: c.exchange_mtu(conn, 256),
        [("02 0001", "03 b800")],
        [(MTU_EXCHANGED, (0, 184))],
    ),
    (
        "exchange MTU: refused (no event, 23 stays)",
        lambda c, conn: c.exchange_mtu(conn, 256),
        [("02 0001", "01 02 0000 06")],
        [],
    ),
]


@pytest.mark.parametrize(
    ("what", "start", "exchange", "events"), PROCEDURES, ids=[p[0] for p in PROCEDURES]
)
def test_procedures(client, hooks, conn, what, start, exchange, events) -> None:
    start(client, conn)
    assert run(client, hooks, conn, exchange) == events


def test_the_mtu_is_exchanged_once(client: GattClient, hooks: Hooks, conn: Connection) -> None:
    client.exchange_mtu(conn, 256)
    client.on_pdu(conn, h("03 0002"))
    assert conn.mtu == 256
    with pytest.raises(OSError) as raised:
        client.exchange_mtu(conn, 256)
    assert raised.value.errno == errno.EALREADY


def test_write_without_response_goes_at_once(
    client: GattClient, hooks: Hooks, conn: Connection
) -> None:
    client.read(conn, 12)  # a request on air does not hold a command back
    client.write_command(conn, 15, bytes(30))
    assert hooks.sent == [h("0a 0c00"), h("52 0f00") + bytes(20)]
    assert hooks.events == []


def test_procedures_queue_one_request_at_a_time(
    client: GattClient, hooks: Hooks, conn: Connection
) -> None:
    client.read(conn, 12)
    client.write_request(conn, 15, b"x")
    assert hooks.sent == [h("0a 0c00")]
    client.on_pdu(conn, h("13"))  # not the response to a read: ignored
    assert hooks.events == []
    client.on_pdu(conn, h("0b 41"))
    assert hooks.sent == [h("0a 0c00"), h("12 0f00 78")]
    client.on_pdu(conn, h("13"))
    assert hooks.events == [
        (READ_RESULT, (0, 12, b"A")),
        (READ_DONE, (0, 12, 0)),
        (WRITE_DONE, (0, 15, 0)),
    ]


def test_an_unexpected_response_is_ignored(
    client: GattClient, hooks: Hooks, conn: Connection
) -> None:
    client.on_pdu(conn, h("0b 41"))
    client.on_pdu(conn, h("01 0a 0c00 0a"))
    assert hooks.take() == ([], [])


def test_a_timeout_ends_the_request_and_every_later_one(
    client: GattClient, hooks: Hooks, clock: Clock, conn: Connection
) -> None:
    client.read(conn, 12)
    client.read(conn, 13)
    deadline = clock.now + ATT_TIMEOUT
    assert hooks.wakes == [deadline]
    assert client.expire(conn, deadline - 0.5) == deadline
    assert hooks.events == []
    assert client.expire(conn, deadline) is None
    assert hooks.events == [(READ_DONE, (0, 12, TIMEOUT)), (READ_DONE, (0, 13, TIMEOUT))]
    client.on_pdu(conn, h("0b 41"))  # a late response
    client.read(conn, 14)
    assert hooks.sent == [h("0a 0c00")]  # nothing more went out
    assert hooks.events[-1] == (READ_DONE, (0, 14, TIMEOUT))


def test_a_lost_link_ends_each_procedure_with_not_connected(
    client: GattClient, hooks: Hooks, conn: Connection
) -> None:
    client.discover_services(conn, None)
    client.read(conn, 12)
    client.exchange_mtu(conn, 256)
    conn.connected = False
    client.connection_gone(conn)
    assert hooks.events == [(SERVICE_DONE, (0, NOT_CONNECTED)), (READ_DONE, (0, 12, NOT_CONNECTED))]
    client.write_request(conn, 15, b"x")  # started after the link dropped
    assert hooks.events[-1] == (WRITE_DONE, (0, 15, NOT_CONNECTED))
    assert hooks.sent == [h("10 0100 ffff 0028")]


@pytest.mark.parametrize(
    ("pdu", "sent", "events"),
    [
        ("1b 0c00 6869", [], [(NOTIFY, (0, 12, b"hi"))]),
        ("1d 1500 6869", ["1e"], [(INDICATE, (0, 21, b"hi"))]),
        ("1b 0c00", [], [(NOTIFY, (0, 12, b""))]),
        ("1b 0c", [], []),  # too short: ignored
    ],
)
def test_notifications_and_indications(client, hooks, conn, pdu, sent, events) -> None:
    client.on_pdu(conn, h(pdu))
    assert hooks.take() == ([h(s) for s in sent], events)

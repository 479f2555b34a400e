"""Every bad argument is a TypeError or ValueError that names it, raised by the call that
received it (not later, and not as struct.error, AttributeError or silently wrong data).

One table: (the call, the exception type, a fragment of the message naming the argument).
The calls run on a radio of their own, mostly without turning it on."""

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aioble_support import Pair, run

import aioble
import bluetooth
from aioble import l2cap, security
from aioble.client import ClientCharacteristic, ClientService
from aioble.core import radio
from aioble.device import DeviceConnection

UUID = bluetooth.UUID(0x181A)
ADDR = b"\x01\x02\x03\x04\x05\x06"
NOTIFY, INDICATE, READ = 0x10, 0x20, 0x02


@pytest.fixture
def ble() -> Iterator[bluetooth.BLE]:
    r = bluetooth.new_radio(label="arguments")
    with bluetooth.use(r):
        yield r
        aioble.stop()


def characteristic(**kwargs: Any) -> aioble.Characteristic:
    return aioble.Characteristic(aioble.Service(UUID), UUID, **kwargs)


def link() -> DeviceConnection:
    """A connection object on the (inactive) current radio: enough for argument checks, which
    come before anything is sent."""
    return DeviceConnection(radio(), aioble.Device(0, ADDR), 1)


def remote(properties: int) -> ClientCharacteristic:
    service = ClientService(link(), 1, 10, UUID)
    return ClientCharacteristic(service, 10, 3, properties, UUID)


def huge_service() -> aioble.Service:
    # 2 handles per characteristic: 32,800 of them need more than the 65,535 there are.
    service = aioble.Service(UUID)
    for _ in range(32_800):
        aioble.Characteristic(service, UUID, read=True)
    return service


def advertise(**kwargs: Any) -> Any:
    return aioble.advertise(20_000, timeout_ms=10, **kwargs)


CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    # advertise
    ("appearance-too-big", lambda: advertise(appearance=0x10000), ValueError, "appearance"),
    ("appearance-negative", lambda: advertise(appearance=-1), ValueError, "appearance"),
    ("appearance-str", lambda: advertise(appearance="watch"), TypeError, "appearance"),
    (
        "manufacturer-id-too-big",
        lambda: advertise(manufacturer=(0x10000, b"x")),
        ValueError,
        "manufacturer company_id",
    ),
    ("manufacturer-not-a-pair", lambda: advertise(manufacturer=5), TypeError, "manufacturer"),
    (
        "manufacturer-data-int",
        lambda: advertise(manufacturer=(0xFFFF, 5)),
        TypeError,
        "manufacturer data",
    ),
    ("name-int", lambda: advertise(name=5), TypeError, "name"),
    # None (or the wrong object) for a service, characteristic or connection
    ("characteristic-of-none", lambda: aioble.Characteristic(None, UUID), TypeError, "service"),
    (
        "descriptor-of-none",
        lambda: aioble.Descriptor(None, UUID),
        TypeError,
        "characteristic",
    ),
    (
        "descriptor-of-a-service",
        lambda: aioble.Descriptor(aioble.Service(UUID), UUID),
        TypeError,
        "characteristic",
    ),
    ("register-none", lambda: aioble.register_services(None), TypeError, "argument 1"),
    (
        "register-a-characteristic",
        lambda: aioble.register_services(aioble.Service(UUID), characteristic()),
        TypeError,
        "argument 2",
    ),
    (
        "notify-none",
        lambda: characteristic(notify=True).notify(None),
        TypeError,
        "connection",
    ),
    (
        "indicate-none",
        lambda: characteristic(indicate=True).indicate(None),
        TypeError,
        "connection",
    ),
    ("pair-none", lambda: security.pair(None), TypeError, "connection"),
    ("l2cap-accept-none", lambda: l2cap.accept(None, 0x80, 128), TypeError, "connection"),
    ("l2cap-connect-none", lambda: l2cap.connect(None, 0x80, 128), TypeError, "connection"),
    # values: an int would be taken as a length (bytes(5) is five zero bytes)
    ("initial-int", lambda: characteristic(initial=5), TypeError, "initial"),
    (
        "descriptor-initial-int",
        lambda: aioble.Descriptor(characteristic(), UUID, initial=5),
        TypeError,
        "initial",
    ),
    ("write-int", lambda: characteristic(read=True).write(5), TypeError, "data"),
    ("notify-data-int", lambda: characteristic(notify=True).notify(link(), 5), TypeError, "data"),
    # UUIDs, at the call that made the object
    ("service-str-uuid", lambda: aioble.Service("notauuid"), TypeError, "uuid"),
    ("service-int-uuid", lambda: aioble.Service(0x180F), TypeError, "uuid"),
    ("service-none-uuid", lambda: aioble.Service(None), TypeError, "uuid"),
    (
        "characteristic-str-uuid",
        lambda: aioble.Characteristic(aioble.Service(UUID), "notauuid"),
        TypeError,
        "uuid",
    ),
    (
        "descriptor-int-uuid",
        lambda: aioble.Descriptor(characteristic(), 0x2901),
        TypeError,
        "uuid",
    ),
    # Device
    ("device-addr-type-5", lambda: aioble.Device(5, ADDR), ValueError, "addr_type"),
    ("device-addr-type-none", lambda: aioble.Device(None, ADDR), ValueError, "addr_type"),
    ("device-addr-none", lambda: aioble.Device(0, None), TypeError, "addr"),
    ("device-addr-short", lambda: aioble.Device(0, b"\x01\x02"), ValueError, "addr"),
    ("device-addr-not-hex", lambda: aioble.Device(0, "zz:zz:zz:zz:zz:zz"), ValueError, "addr"),
    # security
    ("passkey-handler-int", lambda: security.passkey_handler(5), TypeError, "handler"),
    ("pair-passkey-int", lambda: security.pair(link(), passkey=5), TypeError, "passkey"),
    ("pair-io-7", lambda: security.pair(link(), io=7), ValueError, "io"),
    # client
    (
        "subscribe-indicate-on-notify-only",
        lambda: remote(NOTIFY | READ).subscribe(indicate=True),
        ValueError,
        "indicate=True",
    ),
    (
        "subscribe-notify-on-indicate-only",
        lambda: remote(INDICATE).subscribe(notify=True),
        ValueError,
        "notify=True",
    ),
    (
        "subscribe-on-neither",
        lambda: remote(READ).subscribe(),
        ValueError,
        "notify=True",
    ),
    # bluetooth and aioble config
    ("ble-config-nothing", lambda: bluetooth.BLE().config(), TypeError, "config()"),
    ("aioble-config-nothing", lambda: aioble.config(), TypeError, "config()"),
    # the database
    ("too-many-handles", lambda: aioble.register_services(huge_service()), ValueError, "handles"),
]


@pytest.mark.parametrize(
    ("call", "kind", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_argument_is_named(
    ble: bluetooth.BLE, call: Callable[[], Any], kind: type[Exception], fragment: str
) -> None:
    async def main() -> None:
        result = call()
        if asyncio.iscoroutine(result):
            await result

    with pytest.raises(kind) as info:
        asyncio.run(main())
    assert type(info.value) is kind  # not a subclass such as struct.error or binascii.Error
    assert fragment in str(info.value)


def test_good_arguments_still_work(ble: bluetooth.BLE) -> None:
    # The edges of each range, and the kinds of value board programs pass.
    aioble._advdata.build(name="n", appearance=0xFFFF, manufacturer=(0xFFFF, b""))
    aioble._advdata.build(name=b"n", appearance=0, manufacturer=[0, "text"])
    aioble._advdata.build(appearance=None)
    assert aioble.Device(1, "01:02:03:04:05:06").addr == ADDR
    assert aioble.Device(0, bytearray(ADDR)).addr == ADDR
    c = characteristic(read=True, initial="text")
    c.write(bytearray(b"x"))
    c.write(memoryview(b"y"))
    assert c.read() == b"y"
    security.passkey_handler(lambda request: None)
    security.passkey_handler(None)
    # A database of exactly 65,535 handles fits (the stack's 9 + 1 service + 2 per characteristic).
    service = aioble.Service(UUID)
    for _ in range((0xFFFF - 9 - 1) // 2):
        aioble.Characteristic(service, UUID, read=True)
    aioble.register_services(service)


def test_subscribe_indicate_on_an_indicate_only_characteristic(pair: Pair) -> None:
    # notify=True is subscribe()'s default: beside indicate=True on a characteristic that
    # only indicates, it is left out rather than refused.
    async def main() -> None:
        service = aioble.Service(UUID)
        char = aioble.Characteristic(service, UUID, indicate=True)
        p, c = await pair.connect(service)
        remote = await (await c.service(UUID)).characteristic(UUID)
        await remote.subscribe(indicate=True)
        pair.call(pair.p, char.write, b"hi")
        acked = pair.on(pair.p, char.indicate, p)
        assert await remote.indicated(timeout_ms=5000) == b"hi"
        await acked

    run(main())

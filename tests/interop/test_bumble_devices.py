"""Bumble `Device`s in the test's process, each on a transport of its own to the radio, against
this project's board programs run by `aioble-python`: a Bumble central pairs with the aioble
sensor (Just Works, and a passkey it reads off the sensor) and reads its protected values; an
aioble central finds a Bumble peripheral by name and reads its GATT server's value."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from bumble import data_types
from bumble.att import ATT_Error, ErrorCode
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device, Peer
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.hci import Address, Role
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport import open_transport
from interop_support import LINE_TIMEOUT, SENSOR, Program, Programs

T = TypeVar("T")

# programs/sensor.py's values
ENVIRONMENTAL_SENSING = UUID.from_16_bits(0x181A)
TEMPERATURE = UUID.from_16_bits(0x2A6E)
ENCRYPTED = UUID("8f0d0001-63a5-4c8b-a2a3-3f6e5e2a1c01")
AUTHENTICATED = UUID("8f0d0002-63a5-4c8b-a2a3-3f6e5e2a1c01")

# A test's whole exchange, an upper bound on a loaded machine (they take a second or two).
DEADLINE = 60.0


async def expect(program: Program, pattern: str) -> str:
    """The first group (or the whole match) of `program`'s next line matching `pattern`."""
    match = await asyncio.to_thread(program.expect, pattern)
    return match.group(1) if match.groups() else match.group(0)


class SensorDisplay(PairingDelegate):
    """A keyboard whose person types the passkey the sensor prints."""

    def __init__(self, sensor: Program) -> None:
        super().__init__(io_capability=PairingDelegate.KEYBOARD_INPUT_ONLY)
        self.sensor = sensor

    async def get_number(self) -> int | None:
        return int(await expect(self.sensor, r"^passkey (\d{6})$"))


async def read_error(peer: Peer, uuid: UUID) -> ErrorCode:
    (characteristic,) = peer.get_characteristics_by_uuid(uuid)
    with pytest.raises(ATT_Error) as error:
        await characteristic.read_value()
    return ErrorCode(error.value.error_code)


async def read(peer: Peer, uuid: UUID) -> bytes:
    (characteristic,) = peer.get_characteristics_by_uuid(uuid)
    return bytes(await characteristic.read_value())


async def within_deadline(run: Callable[[], Awaitable[T]]) -> T:
    async with asyncio.timeout(DEADLINE):
        return await run()


@pytest.mark.parametrize("io", ["none", "display"])
def test_bumble_central_pairs_then_reads_protected_values(programs: Programs, io: str) -> None:
    """Just Works opens the encrypted value only; a typed passkey opens the MITM one too."""
    sensor = programs.aioble("sensor.py", io, label="sensor")
    mitm = io == "display"

    async def central() -> None:
        await expect(sensor, "^advertising$")
        async with await open_transport(programs.radio.transport) as (source, sink):
            device = Device.with_hci("bumble-central", Address("F3:F4:F5:F6:F7:F8"), source, sink)
            delegate = SensorDisplay(sensor) if mitm else PairingDelegate()
            device.pairing_config_factory = lambda _: PairingConfig(
                sc=True, mitm=mitm, bonding=True, delegate=delegate
            )
            await device.power_on()
            connection = await device.connect(SENSOR)  # Bumble scans for the name
            peer = Peer(connection)
            await peer.discover_services([ENVIRONMENTAL_SENSING])
            await peer.discover_characteristics()

            assert await read(peer, TEMPERATURE) == struct.pack("<h", 2150)
            assert await read_error(peer, ENCRYPTED) == ErrorCode.INSUFFICIENT_ENCRYPTION
            assert await read_error(peer, AUTHENTICATED) == ErrorCode.INSUFFICIENT_AUTHENTICATION

            await connection.pair()
            await expect(sensor, f"^encrypted authenticated={mitm} bonded=True key_size=16$")
            assert await read(peer, ENCRYPTED) == b"encrypted secret"
            if mitm:
                assert await read(peer, AUTHENTICATED) == b"mitm secret"
            else:
                assert (
                    await read_error(peer, AUTHENTICATED) == ErrorCode.INSUFFICIENT_AUTHENTICATION
                )
            await connection.disconnect()
            await expect(sensor, "^disconnected bonded=True$")

    asyncio.run(within_deadline(central))


def test_aioble_central_reads_a_bumble_peripheral(programs: Programs) -> None:
    name = "bumble-thermometer"
    value = struct.pack("<h", -425)  # -4.25 degrees C
    reads: list[Connection] = []

    def on_read(connection: Connection) -> bytes:
        reads.append(connection)
        return value

    async def peripheral() -> None:
        async with await open_transport(programs.radio.transport) as (source, sink):
            device = Device.with_hci(name, Address("F4:F5:F6:F7:F8:F9"), source, sink)
            device.add_service(
                Service(
                    ENVIRONMENTAL_SENSING,
                    [
                        Characteristic(
                            TEMPERATURE,
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            CharacteristicValue(read=on_read),
                        )
                    ],
                )
            )
            device.advertising_data = bytes(
                AdvertisingData(
                    [
                        data_types.CompleteLocalName(name),
                        data_types.CompleteListOf16BitServiceUUIDs([ENVIRONMENTAL_SENSING]),
                    ]
                )
            )
            await device.power_on()
            await device.start_advertising(auto_restart=False)
            reader = programs.aioble("reader.py", name, "181A", "2A6E", label="reader")
            await expect(reader, f"^found {name}$")
            await expect(reader, "^connected$")
            assert await expect(reader, "^read ([0-9a-f]*)$") == value.hex()
            assert await asyncio.to_thread(reader.wait, LINE_TIMEOUT) == 0
            (connection,) = set(reads)
            assert connection.role == Role.PERIPHERAL  # the one link, which the aioble central made

    asyncio.run(within_deadline(peripheral))

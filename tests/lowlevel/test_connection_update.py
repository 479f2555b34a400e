"""CONNECTION_UPDATE: a peer (here raw Bumble on the same virtual radio) changes the
connection parameters; the program sees the new values (in 1.25 ms / 10 ms units)."""

from __future__ import annotations

from bumble.device import Device
from bumble.hci import Address, OwnAddressType

import bleradio
from bluetooth._stack import StackThread

CONNECTION_UPDATE, CENTRAL_CONNECT = 27, 1


async def _raw_central_updates(address: bytes) -> None:
    transport = await bleradio.open_hci(bleradio.RadioConfig("virtual"), label="raw-central")
    device = Device.with_hci("raw-central", None, transport.source, transport.sink)
    await device.power_on()
    connection = await device.connect(
        Address(bytes(reversed(address)), Address.PUBLIC_DEVICE_ADDRESS),
        own_address_type=OwnAddressType.PUBLIC,
    )
    await connection.update_parameters(
        connection_interval_min=15.0,
        connection_interval_max=15.0,
        max_latency=2,
        supervision_timeout=4000,
    )
    await connection.disconnect()
    await transport.close()


def test_parameters_changed_by_the_peer(make_radio) -> None:
    ble, rec = make_radio("peripheral")
    ble.gap_advertise(20_000, b"\x02\x01\x06")
    addr_type, addr = ble.config("mac")
    assert addr_type == 0
    StackThread.get().run(_raw_central_updates(addr))
    conn = rec.wait(CENTRAL_CONNECT)[0]
    assert rec.wait(CONNECTION_UPDATE) == (conn, 12, 2, 400, 0)

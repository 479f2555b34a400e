"""Data over links: Bumble's GATT and L2CAP CoC, proving fragmentation and flow control."""

from __future__ import annotations

import asyncio

import pytest
from bumble import l2cap
from bumble.device import Peer
from bumble.gatt import Characteristic, Service

from .helpers import Env, Radio, connect, run, wait_for

SERVICE = "a5a5a5a5-ffff-9999-1111-5a5a5a5a5a5a"
CHAR = "a5a5a5a5-ffff-9999-2222-5a5a5a5a5a5a"


async def _gatt_pair(env: Env, data_length: int | None):
    server, client = await env.device("server"), await env.device("client")
    characteristic = Characteristic(
        CHAR,
        Characteristic.Properties.READ
        | Characteristic.Properties.WRITE
        | Characteristic.Properties.NOTIFY
        | Characteristic.Properties.INDICATE,
        Characteristic.READABLE | Characteristic.WRITEABLE,
        bytes(range(256)) * 2,
    )
    server.add_service(Service(SERVICE, [characteristic]))
    c, p = await connect(client, server)
    if data_length is not None:
        for connection in (c, p):
            await connection.set_data_length(data_length, 328 if data_length == 27 else 2120)
        await wait_for(
            lambda: c.data_length.max_tx_octets == p.data_length.max_tx_octets == data_length
        )
    peer = Peer(c)
    mtu = await peer.request_mtu(517)
    assert mtu == 517
    await peer.discover_services()
    await peer.discover_characteristics()
    [remote] = peer.get_characteristics_by_uuid(characteristic.uuid)
    return server, characteristic, p, peer, remote


@pytest.mark.parametrize("data_length", [27, 251, None], ids=["dl27", "dl251", "default"])
def test_gatt_read_write_notify_indicate(radio: Radio, data_length: int | None) -> None:
    if radio.is_rootcanal and data_length is not None:
        pytest.skip("rootcanal 1.10 has no LE Set Data Length")

    async def scenario(env: Env) -> None:
        server, characteristic, p, peer, remote = await _gatt_pair(env, data_length)
        # long read (read blob) and long write (prepare/execute)
        assert bytes(await peer.read_value(remote)) == bytes(range(256)) * 2
        value = bytes(reversed(range(256))) * 2
        await peer.write_value(remote, value, with_response=True)
        assert bytes(characteristic.value) == value
        received: list[bytes] = []
        await peer.subscribe(remote, lambda v: received.append(bytes(v)), prefer_notify=True)
        burst = [bytes([i]) * 514 for i in range(60)]
        for payload in burst:
            await server.notify_subscriber(p, characteristic, payload)
        await wait_for(lambda: len(received) >= len(burst))
        assert received == burst
        # indications: each waits for its confirmation
        await peer.unsubscribe(remote)
        indicated: list[bytes] = []
        await peer.subscribe(remote, lambda v: indicated.append(bytes(v)), prefer_notify=False)
        for i in range(5):
            await server.indicate_subscriber(p, characteristic, bytes([i]) * 300)
        assert indicated == [bytes([i]) * 300 for i in range(5)]

    run(radio, scenario)


@pytest.mark.parametrize("data_length", [27, 251], ids=["dl27", "dl251"])
def test_l2cap_coc_100k(radio: Radio, data_length: int) -> None:
    if radio.is_rootcanal and data_length == 27:
        pytest.skip("rootcanal 1.10 has no LE Set Data Length")

    async def scenario(env: Env) -> None:
        server, client = await env.device("server"), await env.device("client")
        received = bytearray()
        done = asyncio.Event()
        total = 100_000

        def on_channel(channel: l2cap.LeCreditBasedChannel) -> None:
            def sink(sdu: bytes) -> None:
                received.extend(sdu)
                if len(received) >= total:
                    done.set()

            channel.sink = sink

        server.create_l2cap_server(
            spec=l2cap.LeCreditBasedChannelSpec(psm=0x0080, mtu=2048, mps=247),
            handler=on_channel,
        )
        c, p = await connect(client, server)
        if not radio.is_rootcanal:
            await c.set_data_length(data_length, 328 if data_length == 27 else 2120)
            await p.set_data_length(data_length, 328 if data_length == 27 else 2120)
        channel = await c.create_l2cap_channel(
            spec=l2cap.LeCreditBasedChannelSpec(psm=0x0080, mtu=2048, mps=247)
        )
        payload = bytes(i * 7 % 251 for i in range(total))
        for offset in range(0, total, 2000):
            channel.write(payload[offset : offset + 2000])
        await channel.drain()
        await asyncio.wait_for(done.wait(), 15)
        assert bytes(received) == payload

    run(radio, scenario)

"""The virtual controller at the HCI level: bad input, reset, leaving the medium."""

from __future__ import annotations

import asyncio
import struct

from bumble import hci
from bumble.device import AdvertisingType

from bleradio import Medium, VirtualController

from .helpers import Env, Radio, collect_reports, connect, run, wait_for


class _Sink:
    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def on_packet(self, packet: bytes) -> None:
        self.packets.append(packet)


async def _raw(label: str = "raw") -> tuple[VirtualController, _Sink]:
    controller = VirtualController(Medium(), label=label)
    sink = _Sink()
    controller.set_packet_sink(sink)
    return controller, sink


def _command(opcode: int, params: bytes = b"") -> bytes:
    return struct.pack("<BHB", 1, opcode, len(params)) + params


def test_unknown_and_malformed_commands_are_answered() -> None:
    async def main() -> None:
        controller, sink = await _raw()
        controller.on_packet(_command(0xFC55, b"\x01\x02"))  # vendor command
        controller.on_packet(_command(hci.HCI_LE_SET_ADVERTISING_PARAMETERS_COMMAND, b"\x20"))
        controller.on_packet(_command(hci.HCI_DISCONNECT_COMMAND, b"\x01"))
        # a declared length that does not match
        controller.on_packet(
            struct.pack("<BHB", 1, hci.HCI_LE_SET_SCAN_ENABLE_COMMAND, 5) + b"\x01"
        )
        controller.on_packet(b"\x01\x03")  # truncated header: logged, dropped
        controller.on_packet(b"\x09\x00\x00")  # unknown H4 type
        controller.on_packet(b"\x02\x01\x00\x05\x00abc")  # ACL to an unknown handle
        await asyncio.sleep(0.01)
        # (event code, opcode, status) of each answer, read from the raw bytes
        answers = []
        for packet in sink.packets:
            assert packet[0] == 0x04
            if packet[1] == 0x0E:  # Command Complete: num, opcode, status
                answers.append((0x0E, struct.unpack_from("<H", packet, 4)[0], packet[6]))
            else:  # Command Status: status, num, opcode
                answers.append((packet[1], struct.unpack_from("<H", packet, 5)[0], packet[3]))
        invalid = hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR
        assert answers == [
            (0x0E, 0xFC55, hci.HCI_UNKNOWN_HCI_COMMAND_ERROR),
            (0x0E, hci.HCI_LE_SET_ADVERTISING_PARAMETERS_COMMAND, invalid),
            (0x0F, hci.HCI_DISCONNECT_COMMAND, invalid),
            (0x0E, hci.HCI_LE_SET_SCAN_ENABLE_COMMAND, invalid),
        ]
        controller.close()

    asyncio.run(main())


def test_reset_drops_links_and_stops_advertising(virtual: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        scanner = await env.device("scanner")
        c, p = await connect(central, peripheral)
        reasons: list[int] = []
        p.on("disconnection", reasons.append)
        await central.power_on()  # HCI_Reset and the power-on sequence again
        await wait_for(lambda: reasons)
        assert reasons == [hci.HCI_CONNECTION_TIMEOUT_ERROR]
        # a reset advertiser goes quiet
        await peripheral.start_advertising(
            advertising_type=AdvertisingType.UNDIRECTED,
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        reports = collect_reports(scanner)
        await scanner.start_scanning(legacy=True, active=False)
        await wait_for(lambda: reports)
        await peripheral.power_on()
        await asyncio.sleep(0.05)
        reports.clear()
        await asyncio.sleep(0.2)
        assert not [r for r in reports if r.address == peripheral.random_address]

    run(virtual, scenario)


def test_close_without_disconnect_times_out_peer(virtual: Radio) -> None:
    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        reasons: list[int] = []
        c.on("disconnection", reasons.append)
        await env.transports[1].close()
        await wait_for(lambda: reasons)
        assert reasons == [hci.HCI_CONNECTION_TIMEOUT_ERROR]

    run(virtual, scenario)


def test_flow_control_completes_every_packet(virtual: Radio) -> None:
    """Number Of Completed Packets returns every credit: the host never stalls."""

    async def scenario(env: Env) -> None:
        central, peripheral = await env.device("central"), await env.device("peripheral")
        c, p = await connect(central, peripheral)
        await wait_for(lambda: c.data_length.max_tx_octets == 251)
        queue = central.host.le_acl_packet_queue
        assert queue is not None and queue.max_in_flight == 16
        assert queue.max_packet_size == 251
        received: list[bytes] = []
        peripheral.l2cap_channel_manager.register_fixed_channel(
            0x0040, lambda h, pdu: received.append(pdu)
        )
        for i in range(200):
            central.send_l2cap_pdu(c.handle, 0x0040, bytes([i % 256]) * 600)
        await wait_for(lambda: len(received) == 200)
        assert received == [bytes([i % 256]) * 600 for i in range(200)]
        await wait_for(lambda: queue.pending == 0)

    run(virtual, scenario)


def test_set_default_phy_refuses_unsupported_phys_and_changes_nothing() -> None:
    async def main() -> list[tuple[int, int, int]]:
        controller, sink = await _raw()
        seen = []
        for tx, rx in ((1, 1), (4, 4), (2, 4), (8, 1), (0, 1), (3, 3)):
            sink.packets.clear()
            controller.on_packet(_command(hci.HCI_LE_SET_DEFAULT_PHY_COMMAND, bytes((0, tx, rx))))
            await asyncio.sleep(0)
            seen.append(
                (
                    sink.packets[-1][6],
                    controller.procedures.default_tx_phys,
                    controller.procedures.default_rx_phys,
                )
            )
        return seen

    unsupported = hci.HCI_UNSUPPORTED_FEATURE_OR_PARAMETER_VALUE_ERROR
    invalid = hci.HCI_INVALID_HCI_COMMAND_PARAMETERS_ERROR
    assert asyncio.run(main()) == [
        (0, 1, 1),  # 1M only
        (unsupported, 1, 1),  # Coded: not supported, nothing changes
        (unsupported, 1, 1),
        (unsupported, 1, 1),  # a reserved bit
        (invalid, 1, 1),  # no PHY at all
        (0, 3, 3),
    ]


def test_the_local_rpa_reported_is_the_address_used_on_air() -> None:
    async def main() -> tuple[bytes, bytes]:
        medium = Medium(fast=True, seed=1)
        peripheral, central = VirtualController(medium, "per"), VirtualController(medium, "cen")
        sink = _Sink()
        peripheral.set_packet_sink(sink)
        central.set_packet_sink(_Sink())
        for controller in (peripheral, central):
            controller.on_packet(_command(hci.HCI_SET_EVENT_MASK_COMMAND, bytes([0xFF] * 8)))
            controller.on_packet(_command(hci.HCI_LE_SET_EVENT_MASK_COMMAND, bytes([0xFF] * 8)))
        # The peripheral advertises with a resolvable private address (own type 2) made
        # from the local IRK it keeps for the central.
        irk = bytes(range(16))
        peripheral.on_packet(
            _command(
                hci.HCI_LE_ADD_DEVICE_TO_RESOLVING_LIST_COMMAND,
                b"\x00" + central.public_address + bytes(16) + irk,
            )
        )
        peripheral.on_packet(_command(hci.HCI_LE_SET_ADDRESS_RESOLUTION_ENABLE_COMMAND, b"\x01"))
        adv_params = struct.pack("<HHBBB", 32, 32, 0, 2, 0) + central.public_address + b"\x07\x00"
        peripheral.on_packet(_command(hci.HCI_LE_SET_ADVERTISING_PARAMETERS_COMMAND, adv_params))
        peripheral.on_packet(_command(hci.HCI_LE_SET_ADVERTISING_ENABLE_COMMAND, b"\x01"))
        await asyncio.sleep(0.01)
        on_air = peripheral.current_adv_pdu().address
        connect = struct.pack("<HHBB", 16, 16, 0, 1) + on_air
        connect += struct.pack("<BHHHHHH", 0, 24, 40, 0, 400, 0, 0)
        central.on_packet(_command(hci.HCI_LE_CREATE_CONNECTION_COMMAND, connect))
        await asyncio.sleep(0.05)
        # LE Enhanced Connection Complete: Local_Resolvable_Private_Address at bytes 15..21
        [complete] = [p for p in sink.packets if p[:2] == b"\x04\x3e" and p[3] == 0x0A]
        return on_air, complete[15:21]

    on_air, local_rpa = asyncio.run(main())
    assert local_rpa == on_air


def test_bad_packets_are_logged_once_an_interval(caplog) -> None:
    """A host sending garbage gets one warning line, then one per interval at most, which
    counts the packets it did not log: a broken client cannot flood the log."""
    import logging

    async def main() -> None:
        controller, _ = await _raw()
        with caplog.at_level(logging.WARNING, logger="bleradio.controller"):
            for _ in range(1000):
                controller.on_packet(b"\x01\x03")  # truncated
                controller.on_packet(b"\x02\x01\x00\x05\x00abc")  # ACL to no link
            assert len(caplog.records) == 1
            controller.core._warned_at -= 60  # the interval has passed
            controller.on_packet(b"\x09")
        assert len(caplog.records) == 2
        assert "1999 more bad packets" in caplog.records[1].getMessage()
        controller.close()

    asyncio.run(main())


def test_controller_to_host_flow_control() -> None:
    """With flow control on, the controller sends the host no more ACL packets than it has
    buffers for until the host says it is done with some; it keeps what comes next in its
    own buffers and, once those are full, stops acknowledging: the peer's data waits in its
    queue, nothing is lost. A link that ends hands the host what it held first."""
    from bleradio.controller.core import RX_BUFFERS

    from .helpers import device_on

    async def main() -> None:
        medium = Medium()
        central = await device_on(medium, "c")
        peripheral = await device_on(medium, "p")
        controller: VirtualController = peripheral.transport.controller  # type: ignore[attr-defined]
        await peripheral.host.send_command(
            hci.HCI_Host_Buffer_Size_Command(
                host_acl_data_packet_length=1024,
                host_synchronous_data_packet_length=0,
                host_total_num_acl_data_packets=2,
                host_total_num_synchronous_data_packets=0,
            ),
            check_result=True,
        )
        await peripheral.host.send_command(
            hci.HCI_Set_Controller_To_Host_Flow_Control_Command(flow_control_enable=1),
            check_result=True,
        )
        connection, _ = await connect(central, peripheral)
        got: list[str] = []
        host = peripheral.host
        on_acl, on_disconnection = host.on_hci_acl_data_packet, host.on_hci_event_packet

        def acl(packet: hci.HCI_AclDataPacket) -> None:
            got.append(packet.data[-1:].hex())
            on_acl(packet)

        def event(packet: hci.HCI_Event) -> None:
            if packet.event_code == hci.HCI_DISCONNECTION_COMPLETE_EVENT:
                got.append("disconnected")
            on_disconnection(packet)

        host.on_hci_acl_data_packet = acl  # type: ignore[method-assign]
        host.on_hci_event_packet = event  # type: ignore[method-assign]
        handle = controller.links[0].handle
        sender = controller.links[0].peer
        for i in range(30):  # ATT Write Commands to no handle: carried, then ignored
            central.send_l2cap_pdu(connection.handle, 0x0004, b"\x52\x01\x00" + bytes((i,)))
        await wait_for(lambda: controller.rx_full)
        await asyncio.sleep(0.05)  # nothing more moves
        assert got == ["00", "01"]  # the host's two buffers
        held = len(sender.tx)
        assert held >= 30 - 2 - RX_BUFFERS - 16 and controller.rx_full  # not acknowledged
        # the host is done with both: two more, and the queue moves on
        controller.on_packet(_command(0x0C35, struct.pack("<BHH", 1, handle, 2)))
        await wait_for(lambda: len(got) == 4)
        assert got == ["00", "01", "02", "03"]
        # counts for a link that is not there, or more than were sent, change nothing
        controller.on_packet(_command(0x0C35, struct.pack("<BHH", 1, 0x0EFF, 5)))
        await asyncio.sleep(0.01)
        assert len(got) == 4
        # the central goes silent: the peripheral's host gets what was held, then the news
        central.transport.controller.close()  # type: ignore[attr-defined]
        await wait_for(lambda: "disconnected" in got)
        assert got[:-1] == [f"{i:02x}" for i in range(4 + RX_BUFFERS)]
        assert got[-1] == "disconnected"

    asyncio.run(main())

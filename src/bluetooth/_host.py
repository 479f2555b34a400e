"""The Bumble side of one radio: its lifecycle and GAP, on a Bumble Host + Device.

It opens the radio's HCI transport, makes a fresh Bumble Host + Device for each activation,
runs GAP (advertising, scanning, connections) through Bumble's Device, and keeps the table of
open connections. ATT runs in this package's own GATT server and client (``_att_bearer``) on
L2CAP's fixed ATT channel, so MicroPython's semantics hold exactly; L2CAP channels and
security are ``_l2cap`` and ``_security``, which reach the radio through this host's hooks.

The host is given what it works with when it is made (the radio's settings, IRQ dispatcher,
attribute table and label) and reads nothing else of ``BLE``.

Thread: the stack thread, every method (the entry points are marked ``@stack_side``). The
program's threads read only ``open_links``, ``address`` and ``lost``, each replaced whole.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets
from collections.abc import Callable, Coroutine
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from bumble import hci
from bumble.core import PhysicalTransport
from bumble.device import (
    AdvertisingType,
    ConnectionParametersPreferences,
    Device,
    DeviceConfiguration,
)

import bleradio

from . import _att as att
from . import _events as ev
from ._att_bearer import AttBearer
from ._conn import Connection
from ._l2cap import L2cap
from ._quiet_host import QuietHost
from ._rxflow import ReceiveFlow
from ._security import Security
from ._threads import stack_side

if TYPE_CHECKING:
    from ._gatts_db import GattDatabase
    from ._irq import IrqDispatcher
    from ._settings import Settings

logger = logging.getLogger(__name__)
# Bumble logs warnings about peers (a failed pairing, a late packet) that a MicroPython program
# never sees on a board; they reach stderr only where the program configures logging.
logging.getLogger("bumble").addHandler(logging.NullHandler())

# NimBLE's defaults, which MicroPython boards use when a program gives none.
DEFAULT_CONN_INTERVAL_MIN_MS = 30.0
DEFAULT_CONN_INTERVAL_MAX_MS = 50.0
DEFAULT_SUPERVISION_TIMEOUT_MS = 2560
DEFAULT_CONNECT_DURATION_MS = 30000  # scan_duration_ms=0
DISCONNECT_REASON_USER = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR  # 0x13
LIMIT_EXCEEDED = hci.HCI_CONNECTION_LIMIT_EXCEEDED_ERROR  # 0x09
_CREATE_CONNECTION = (
    hci.HCI_LE_CREATE_CONNECTION_COMMAND,
    hci.HCI_LE_EXTENDED_CREATE_CONNECTION_COMMAND,
)


def addr_from_bumble(address: hci.Address) -> tuple[int, bytes]:
    """(addr_type, address in display order) as MicroPython reports them."""
    addr_type = 1 if address.address_type in (1, 3) else 0
    return addr_type, bytes(reversed(address.address_bytes))


def addr_to_bumble(addr_type: int, addr: bytes) -> hci.Address:
    return hci.Address(bytes(reversed(addr)), addr_type)


class RadioHost:
    """Owns the transport (kept across active(False)/active(True), so the radio keeps its
    address), and a fresh Bumble Host + Device for each activation."""

    def __init__(
        self,
        settings: Settings,
        irq: IrqDispatcher,
        db: GattDatabase,
        label: str | None,
        spawn: Callable[[Coroutine[Any, Any, Any]], Any],
    ) -> None:
        self.settings = settings
        self.irq = irq
        self.label = label
        self.spawn = spawn  # start a task on the stack loop (its failure is logged)
        self.transport: Any = None
        self.device: Device | None = None
        self.conns: dict[int, Connection] = {}
        # The same table for the program's threads: a read-only copy, replaced whole on each
        # connect and disconnect (so BLE checks a handle without calling the stack).
        self.open_links: MappingProxyType[int, Connection] = MappingProxyType({})
        self.att = AttBearer(db, irq, settings, self.conns)
        self.random_address: hci.Address | None = None
        self._static_address: hci.Address | None = None  # addr_mode 1 (made once)
        self.irk = secrets.token_bytes(16)
        self.own_address_type = hci.OwnAddressType.PUBLIC
        self.address: tuple[int, bytes] = (0, bytes(6))
        self.scanning = False
        self._scan_timer: asyncio.TimerHandle | None = None
        self._connect_task: asyncio.Task[None] | None = None
        # A connect attempt that has not yet ended in a connection or a failure. The task may
        # outlive it by a few loop turns; a new attempt waits for it then (NimBLE likewise
        # ends its connect procedure before the program sees PERIPHERAL_CONNECT).
        self._connecting = False
        self.lost = False
        self.l2cap = L2cap(self)
        self.security = Security(self)
        self._virtual = False  # the radio is this project's virtual one

    # --- hooks of _l2cap and _security ----------------------------------------------------------

    def emit(self, event: int, data: tuple[Any, ...]) -> None:
        self.irq.emit(event, data)

    async def ask(self, event: int, data: tuple[Any, ...], default: Any) -> Any:
        return await self.irq.ask(event, data, default)

    @property
    def has_handler(self) -> bool:
        return self.irq.handler is not None

    @property
    def public_identity(self) -> bool:
        return self.own_address_type == hci.OwnAddressType.PUBLIC

    def send_l2cap(self, conn: Connection, cid: int, pdu: bytes) -> None:
        if conn.connected and self.device is not None and not self.lost:
            self.device.host.send_l2cap_pdu(conn.handle, cid, pdu)

    # --- lifecycle ----------------------------------------------------------------------------

    @stack_side
    async def power_on(self) -> None:
        if self.transport is None:
            config = bleradio.config_from_env()
            self.transport = await bleradio.open_hci(config, label=self.label)
            self._virtual = config.kind != "hci"
        host = QuietHost(self.transport.source, self.transport.sink)
        device_config = DeviceConfiguration()
        device_config.gap_service_enabled = False
        device_config.gatt_service_enabled = False
        device_config.irk = self.irk  # resolvable private addresses (addr_mode 2) resolve to us
        device = Device(config=device_config, host=host)
        device.on("flush", self._on_flush)
        self.security.attach(device)
        host.on("advertising_report", self._on_advertising_report)
        await device.power_on()
        if self._virtual:
            # (a foreign controller may list the commands and not implement them)
            await ReceiveFlow(host, self.irq).enable()
        device.l2cap_channel_manager.register_fixed_channel(att.ATT_CID, self.att.on_att)
        host.fixed_channels = device.l2cap_channel_manager.fixed_channels
        self.l2cap.attach(device.l2cap_channel_manager)
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        self.att.attach(host)
        self.device = device
        self.lost = False
        await self.apply_address_mode()

    @stack_side
    async def apply_address_mode(self) -> None:
        device = self.device
        assert device is not None
        mode = self.settings.addr_mode
        has_public = device.public_address != hci.Address.ANY
        if mode == 0 and has_public:
            self.own_address_type = hci.OwnAddressType.PUBLIC
            self.address = addr_from_bumble(device.public_address)
            return
        if mode == 2:
            self.random_address = hci.Address.generate_private_address(device.irk)
        elif mode == 3:
            self.random_address = hci.Address.generate_private_address()
        else:
            # Static random (mode 1, or mode 0 without a public address): one per radio,
            # kept across active(False)/active(True) and mode changes.
            if self._static_address is None:
                self._static_address = hci.Address.generate_static_address()
            self.random_address = self._static_address
        device.random_address = self.random_address
        await device.send_command(
            hci.HCI_LE_Set_Random_Address_Command(random_address=self.random_address),
            check_result=True,
        )
        self.own_address_type = hci.OwnAddressType.RANDOM
        self.address = addr_from_bumble(self.random_address)

    @stack_side
    async def power_off(self) -> None:
        device = self.device
        if device is None:
            return
        self._cancel_scan_timer()
        if self.scanning and not self.lost:
            self.scanning = False
            await self._quietly(device.stop_scanning())
            self.irq.emit(ev.SCAN_DONE, ())
        if self._connect_task is not None:
            self._connect_task.cancel()
        if not self.lost:
            await self._quietly(device.stop_advertising())
            for conn in list(self.conns.values()):
                await self._quietly(
                    asyncio.wait_for(device.disconnect(conn.link, DISCONNECT_REASON_USER), 2.0)
                )
            # Whatever did not go cleanly goes now: a reset drops every link and role.
            await self._quietly(device.host.send_command(hci.HCI_Reset_Command()))
        for conn in list(self.conns.values()):
            self._connection_gone(conn)
        self.device = None
        self.att.detach()
        device.remove_all_listeners()
        if self.lost and self.transport is not None:
            # The transport is dead: the next power_on opens a new one (the shared radio,
            # or the dongle, may be back by then).
            transport, self.transport = self.transport, None
            await self._quietly(transport.close())

    @stack_side
    async def shutdown(self) -> None:
        """At interpreter exit (the stack thread's at-exit hook): no more events (a handler
        must not run, and fail, while the process stops), then a clean power-down."""
        self.irq.close()
        await self.close()

    @stack_side
    async def close(self) -> None:
        await self.power_off()
        if self.transport is not None:
            transport, self.transport = self.transport, None
            await self._quietly(transport.close())

    @staticmethod
    async def _quietly(awaitable: Any) -> None:
        try:
            await awaitable
        except Exception:  # noqa: BLE001 - best effort while powering down
            logger.debug("ignored during power-off", exc_info=True)

    def _on_flush(self) -> None:
        # The transport went away (a shared radio stopped, a USB dongle was unplugged).
        if self.device is None or self.lost:
            return
        logger.warning("bluetooth: the radio was lost")
        self.lost = True
        self.att.detach()
        for conn in list(self.conns.values()):
            self._connection_gone(conn)
        if self.scanning:
            self.scanning = False
            self.irq.emit(ev.SCAN_DONE, ())

    # --- advertising ----------------------------------------------------------------------------

    @stack_side
    async def advertise(
        self, interval_us: int, adv_data: bytes, resp_data: bytes, connectable: bool
    ) -> None:
        device = self._device()
        interval_ms = interval_us / 1000
        await device.start_advertising(
            advertising_type=(
                AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE
                if connectable
                else AdvertisingType.UNDIRECTED_SCANNABLE
            ),
            own_address_type=self.own_address_type,
            advertising_data=adv_data,
            scan_response_data=resp_data,
            advertising_interval_min=interval_ms,
            advertising_interval_max=interval_ms,
        )

    @stack_side
    async def stop_advertising(self) -> None:
        await self._device().stop_advertising()

    # --- scanning -------------------------------------------------------------------------------

    @stack_side
    async def scan(self, duration_ms: int, interval_us: int, window_us: int, active: bool) -> None:
        device = self._device()
        if self.scanning:
            await self.stop_scan()
        await device.start_scanning(
            active=active,
            scan_interval=interval_us / 1000,
            scan_window=window_us / 1000,
            own_address_type=self.own_address_type,
            filter_duplicates=False,
            scanning_phys=(hci.HCI_LE_1M_PHY,),
        )
        self.scanning = True
        if duration_ms > 0:
            self._scan_timer = asyncio.get_running_loop().call_later(
                duration_ms / 1000, lambda: asyncio.ensure_future(self.stop_scan())
            )

    @stack_side
    async def stop_scan(self) -> None:
        self._cancel_scan_timer()
        if not self.scanning:
            return
        self.scanning = False
        if self.device is not None and not self.lost:
            await self.device.stop_scanning()
        self.irq.emit(ev.SCAN_DONE, ())

    def _cancel_scan_timer(self) -> None:
        if self._scan_timer is not None:
            self._scan_timer.cancel()
            self._scan_timer = None

    def _on_advertising_report(self, report: Any) -> None:
        if not self.scanning:
            return
        event_type = report.event_type
        if isinstance(report, hci.HCI_LE_Extended_Advertising_Report_Event.Report):
            event_type = _legacy_type(event_type)
            if event_type is None:
                return  # extended PDUs: MicroPython's legacy scan does not see them
        addr_type, addr = addr_from_bumble(report.address)
        # (int(): Bumble's report fields may be IntEnums; MicroPython gives plain ints.)
        self.irq.emit(
            ev.SCAN_RESULT,
            (addr_type, addr, int(event_type), int(report.rssi), bytes(report.data)),
        )

    # --- connections ----------------------------------------------------------------------------

    @stack_side
    async def connect(
        self,
        addr_type: int,
        addr: bytes,
        duration_ms: int,
        min_interval_us: int | None,
        max_interval_us: int | None,
    ) -> None:
        """Start connecting; returns once the controller has taken the command (its Command
        Status), as NimBLE's ``ble_gap_connect`` does. A refusal then (no room for another
        link: HCI 0x09) is raised here, and ends in no event; a failure after that (timeout,
        cancel, the peer gone) ends in PERIPHERAL_DISCONNECT. (To a bonded peer that uses
        private addresses, the call returns at once: Bumble scans for the peer before it
        sends the command, and a refusal comes as PERIPHERAL_DISCONNECT.)"""
        device = self._device()
        if self._connecting:
            raise OSError(errno.EALREADY, "a connection attempt is already in progress (EALREADY)")
        interval_min = (
            DEFAULT_CONN_INTERVAL_MIN_MS if min_interval_us is None else min_interval_us / 1000
        )
        interval_max = (
            DEFAULT_CONN_INTERVAL_MAX_MS if max_interval_us is None else max_interval_us / 1000
        )
        if min_interval_us is not None and max_interval_us is None:
            interval_max = max(interval_min, DEFAULT_CONN_INTERVAL_MAX_MS)
        if max_interval_us is not None and min_interval_us is None:
            interval_min = min(interval_max, DEFAULT_CONN_INTERVAL_MIN_MS)
        preferences = ConnectionParametersPreferences(
            connection_interval_min=interval_min,
            connection_interval_max=interval_max,
            max_latency=0,
            supervision_timeout=DEFAULT_SUPERVISION_TIMEOUT_MS,
        )
        peer = addr_to_bumble(addr_type, addr)
        timeout = (duration_ms or DEFAULT_CONNECT_DURATION_MS) / 1000
        self._connecting = True
        taken: asyncio.Future[Exception | None] = asyncio.get_running_loop().create_future()
        resolver = device.address_resolver
        if (
            not device.address_resolution_offload
            and resolver is not None
            and resolver.can_resolve_to(peer)
        ):
            # Bumble first scans for a bonded peer's private address (until it hears it)
            # and only then sends the command: do not hold the call for that
            taken.set_result(None)
        self._connect_task = asyncio.get_running_loop().create_task(
            self._connect(
                device, peer, preferences, timeout, addr_type, addr, self._connect_task, taken
            )
        )
        refused = await taken
        if refused is not None:
            raise refused

    async def _connect(
        self,
        device: Device,
        peer: hci.Address,
        preferences: ConnectionParametersPreferences,
        timeout: float,
        addr_type: int,
        addr: bytes,
        previous: asyncio.Task[None] | None,
        taken: asyncio.Future[Exception | None],
    ) -> None:
        def on_status(event: hci.HCI_Command_Status_Event) -> None:
            if event.command_opcode in _CREATE_CONNECTION and not taken.done():
                taken.set_result(None)

        host: QuietHost = device.host  # type: ignore[assignment]
        try:
            if previous is not None:
                await asyncio.wait([previous])  # the last attempt's task winding down
            host.on_command_status = on_status
            await device.connect(
                peer,
                transport=PhysicalTransport.LE,
                connection_parameters_preferences={hci.HCI_LE_1M_PHY: preferences},
                own_address_type=self.own_address_type,
                timeout=timeout,
            )
        except asyncio.CancelledError:
            if self._connecting:  # not a task winding down after its connection came up
                self._connect_failed(addr_type, addr)
            raise
        except Exception as error:  # noqa: BLE001 - timeout, cancel, refusal: all end the same
            # (Bumble's TimeoutError is its own class, not the builtin one.)
            logger.debug("connect to %s failed: %r", peer, error)
            if not taken.done() and getattr(error, "error_code", None) == LIMIT_EXCEEDED:
                self._connecting = False  # refused at the call: no event
                taken.set_result(error)
            else:
                self._connect_failed(addr_type, addr)
        finally:
            if host.on_command_status is on_status:
                host.on_command_status = None
            if not taken.done():
                taken.set_result(None)
            if self._connect_task is asyncio.current_task():
                self._connect_task = None

    def _connect_failed(self, addr_type: int, addr: bytes) -> None:
        self._connecting = False
        self.irq.emit(ev.PERIPHERAL_DISCONNECT, (ev.NO_CONNECTION, addr_type, addr))

    @stack_side
    async def cancel_connect(self) -> bool:
        device = self.device
        if not self._connecting or device is None:
            return False
        # Bumble marks the attempt as under way (and only then cancels it) once the controller
        # has taken the Create Connection command: a cancel right after gap_connect waits
        # for that, else the attempt would run its whole duration.
        task = self._connect_task
        for _ in range(1000):
            if device.is_le_connecting or task is None or task.done():
                break
            await asyncio.sleep(0.001)
        await device.cancel_connection()
        return True

    def _on_connection(self, link: Any) -> None:
        if link.transport != PhysicalTransport.LE:
            return
        central = link.role == hci.Role.CENTRAL
        if central:
            self._connecting = False
        addr_type, addr = addr_from_bumble(link.peer_address)
        conn = Connection(int(link.handle), central, addr_type, addr, link)
        self.conns[link.handle] = conn
        self.open_links = MappingProxyType(dict(self.conns))
        self.security.watch(conn)
        link.on(link.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(conn, reason))
        link.on(link.EVENT_CONNECTION_PARAMETERS_UPDATE, lambda: self._on_parameters(conn, 0))
        link.on(
            link.EVENT_CONNECTION_PARAMETERS_UPDATE_FAILURE,
            # (Bumble passes the HCI status as a plain int.)
            lambda status: self._on_parameters(conn, int(status) or 1),
        )
        event = ev.PERIPHERAL_CONNECT if central else ev.CENTRAL_CONNECT
        self.irq.emit(event, (conn.handle, addr_type, addr))

    def _on_parameters(self, conn: Connection, status: int) -> None:
        parameters = conn.link.parameters
        self.irq.emit(
            ev.CONNECTION_UPDATE,
            (
                conn.handle,
                round(parameters.connection_interval / 1.25),
                int(parameters.peripheral_latency),
                round(parameters.supervision_timeout / 10),
                status,
            ),
        )

    def _on_disconnection(self, conn: Connection, reason: int) -> None:
        logger.debug("connection %d dropped, reason 0x%02X", conn.handle, reason)
        self._connection_gone(conn)

    def _connection_gone(self, conn: Connection) -> None:
        if not conn.connected:
            return
        conn.connected = False
        if self.conns.get(conn.handle) is conn:
            del self.conns[conn.handle]
            self.open_links = MappingProxyType(dict(self.conns))
        self.att.connection_gone(conn)
        self.l2cap.connection_gone(conn)
        self.security.connection_gone(conn)
        event = ev.PERIPHERAL_DISCONNECT if conn.central else ev.CENTRAL_DISCONNECT
        self.irq.emit(event, (conn.handle, conn.addr_type, conn.addr))

    @stack_side
    async def disconnect(self, handle: int) -> bool:
        conn = self.conns.get(handle)
        if conn is None or self.device is None:
            return False
        await self.device.send_command(
            hci.HCI_Disconnect_Command(connection_handle=handle, reason=DISCONNECT_REASON_USER)
        )
        return True

    def connection(self, handle: int) -> Connection | None:
        """The open connection with this handle (the hooks' lookup)."""
        return self.conns.get(handle)

    def _device(self) -> Device:
        if self.device is None:
            raise OSError(errno.ENODEV, "the radio is not active (ENODEV)")
        if self.lost:
            raise OSError(errno.ENODEV, "the radio was lost: its transport closed (ENODEV)")
        return self.device

    # --- the program's operations that run as stack tasks ---------------------------------------

    @stack_side
    def start(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run an operation's coroutine (pairing, an L2CAP connect or disconnect) as a task."""
        self.spawn(coro)


def _legacy_type(event_type: int) -> int | None:
    """The legacy adv_type (0-4) of an extended advertising report made from a legacy PDU."""
    kind = hci.HCI_LE_Extended_Advertising_Report_Event.EventType
    if not event_type & kind.LEGACY_ADVERTISING_PDU_USED:
        return None
    if event_type & kind.SCAN_RESPONSE:
        return 4
    if event_type & kind.DIRECTED_ADVERTISING:
        return 1
    if event_type & kind.CONNECTABLE_ADVERTISING:
        return 0
    if event_type & kind.SCANNABLE_ADVERTISING:
        return 2
    return 3

"""The medium: the air shared by the virtual controllers of one radio.

Every transmission goes through here, and the medium decides when each PDU arrives:

- advertising events (``start_advertising``): the advertiser's current PDU reaches the
  controllers that listen (scanners and initiators); an active scanner's SCAN_REQ and a
  initiator's CONNECT_IND are answered in the same event (``scan_request``, ``connect``);
- connections (``Link``): each end queues LL PDUs and calls ``kick``; the medium carries
  them to the other end and tells the sender when each was delivered.

Fast mode (``fast=True``) delivers with ``loop.call_soon`` and keeps no timing, except
that advertising repeats every advertising interval. The air-time model replaces the two
schedulers (advertising events and connection events) and keeps this interface.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hashlib
import logging
import os
import random
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..capture import (
    AirCapture,
    capture_directory,
    capture_from_env,
    new_access_address,
    open_air_capture,
)
from . import channel
from .conditions import Conditions
from .link import CENTRAL, LLID_CONTROL, Link, LinkEnd
from .scenario import Position, Scenario

if TYPE_CHECKING:
    from .linklayer import LinkLayer

logger = logging.getLogger(__name__)

# Legacy advertising PDU types, numbered as in HCI advertising reports.
ADV_IND = 0
ADV_DIRECT_IND = 1
ADV_SCAN_IND = 2
ADV_NONCONN_IND = 3
SCAN_RSP = 4


class AdvPdu:
    """What an advertiser puts on air in one advertising event."""

    __slots__ = (
        "advertiser",
        "pdu_type",
        "address_type",
        "address",
        "data",
        "target_address_type",
        "target_address",
        "interval",
    )

    def __init__(
        self,
        advertiser: LinkLayer,
        pdu_type: int,
        address_type: int,
        address: bytes,
        data: bytes,
        interval: float,
        target_address_type: int = 0,
        target_address: bytes = b"",
    ) -> None:
        self.advertiser = advertiser
        self.pdu_type = pdu_type
        self.address_type = address_type
        self.address = address
        self.data = data
        self.interval = interval  # seconds
        self.target_address_type = target_address_type
        self.target_address = target_address

    @property
    def connectable(self) -> bool:
        return self.pdu_type in (ADV_IND, ADV_DIRECT_IND)

    @property
    def scannable(self) -> bool:
        return self.pdu_type in (ADV_IND, ADV_SCAN_IND)


PHYS = ("1M", "2M")


@dataclass(frozen=True)
class MediumOptions:
    """Parameters of a medium (keyword arguments of ``Medium``, ``serve`` and ``configure``).

    fast: deliver at once, no air time (unit tests); the default is air time.
    seed: seeds RSSI and timing jitter (None: random).
    min_advertising_interval: floor, in seconds, of the advertising repeat in fast mode.
    phy: "1M" or "2M": links start on 1M (as on air); with "2M" the central's controller
        moves each new link to 2M right after connecting when both hosts allow it.
    data_length: the controllers' largest LL payload, 27 (no data length extension) to 251;
        a link runs the data length update to it right after connecting if its hosts ask
        for more than 27 (Bumble asks for 251).
    conn_interval_ms: the interval a controller picks inside the host's range (clamped
        to it); None: the top of the range, as NimBLE's and rootcanal's controllers do.
    event_length_ms: the longest connection event; None: the whole interval (less T_IFS).
    max_connections: links one controller may hold at once (as central and peripheral
        together). Beyond it a controller refuses with Connection Limit Exceeded (0x09):
        LE Set Advertising Enable of connectable advertising, LE Create Connection; and a
        CONNECT_IND that would exceed either side's limit is not taken.
    csa2: the controllers support Channel Selection Algorithm #2, so links use it (both
        sides support it); off, links hop with Algorithm #1.
    """

    fast: bool = False
    seed: int | None = None
    min_advertising_interval: float = 0.02
    phy: str = "1M"
    data_length: int = 251
    conn_interval_ms: float | None = None
    event_length_ms: float | None = None
    # 4 as a typical board: MicroPython's ESP32 port configures NimBLE with
    # CONFIG_BT_NIMBLE_MAX_CONNECTIONS=4 (more needs -o max_connections=N).
    max_connections: int = 4
    csa2: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.csa2, bool):
            raise ValueError(f"csa2={self.csa2!r}: expected true or false")
        phy = str(self.phy).upper()
        if phy in ("1", "2"):
            phy += "M"
        if phy not in PHYS:
            raise ValueError(f"phy={self.phy!r}: expected 1M or 2M")
        object.__setattr__(self, "phy", phy)
        if not isinstance(self.data_length, int) or not 27 <= self.data_length <= 251:
            raise ValueError(f"data_length={self.data_length!r}: expected 27 to 251 (octets)")
        if self.conn_interval_ms is not None and not 7.5 <= self.conn_interval_ms <= 4000:
            raise ValueError(
                f"conn_interval_ms={self.conn_interval_ms!r}: expected 7.5 to 4000 (ms)"
            )
        if self.event_length_ms is not None and not 0.5 <= self.event_length_ms <= 4000:
            raise ValueError(f"event_length_ms={self.event_length_ms!r}: expected 0.5 to 4000")
        # 0x0EFF: the largest connection handle, so the most links a controller can number
        if (
            isinstance(self.max_connections, bool)
            or not isinstance(self.max_connections, int)
            or not 1 <= self.max_connections <= 0x0EFF
        ):
            raise ValueError(
                f"max_connections={self.max_connections!r}: expected an integer, 1 to 3839"
            )

    @classmethod
    def from_env(cls, environ: Any = os.environ) -> MediumOptions:
        """Defaults from ``AIOBLE_RADIO_FAST`` (1/0) and ``AIOBLE_RADIO_SEED`` (an int)."""
        options = cls()
        fast = environ.get("AIOBLE_RADIO_FAST", "").strip()
        if fast:
            if fast.lower() not in ("0", "1", "true", "false", "yes", "no"):
                raise ValueError(f"AIOBLE_RADIO_FAST={fast!r}: expected 1 or 0")
            options = replace(options, fast=fast.lower() in ("1", "true", "yes"))
        seed = environ.get("AIOBLE_RADIO_SEED", "").strip()
        if seed:
            try:
                options = replace(options, seed=int(seed))
            except ValueError:
                raise ValueError(f"AIOBLE_RADIO_SEED={seed!r}: expected an integer") from None
        return options

    @classmethod
    def merged(cls, environ: Any = os.environ, **overrides: Any) -> MediumOptions:
        """The environment's defaults (``from_env``) overridden by ``overrides``."""
        return replace(cls.from_env(environ), **overrides)


@dataclass(frozen=True)
class ScanRecord:
    """One scan of a device, from LE Set Scan Enable on to off (times on the medium's clock,
    seconds), as the air-time medium reports it to its scan watchers."""

    label: str
    start: float
    end: float
    interval: float  # s
    window: float  # s
    active: bool
    reports: int  # advertising reports sent to the host
    last_report: float | None  # when the last one was sent


@dataclass
class DeviceInfo:
    """A controller on a medium, as a server reports it."""

    label: str
    address: str
    connected: bool
    links: int = 0
    energy: Any = None  # airtime.EnergyReport on an air-time medium
    extra: dict[str, Any] = field(default_factory=dict)


def format_address(address: bytes) -> str:
    """Little-endian 6 bytes -> "AA:BB:CC:DD:EE:FF" (most significant first)."""
    return ":".join(f"{b:02X}" for b in reversed(address))


class Medium:
    """The shared air of a set of virtual controllers, bound to one asyncio loop.

    ``Medium(fast=False)`` makes an ``AirMedium`` (``air_medium.py``), which keeps air time.
    ``Medium(capture=DIR)`` records every PDU on air into ``DIR/air.pcap`` (``capture.py``;
    ``close_capture()`` finishes the file). ``Medium(scenario=...)`` places the devices and
    times what happens to the air (``scenario.py``); ``move``, ``cut``, ``set_per``,
    ``jam``, ``power_off``... change it as it runs (``conditions``). Positions set the
    RSSI on any medium; only the air-time medium loses packets.
    """

    def __new__(cls, **options: Any) -> Medium:
        if cls is Medium and not options.get("fast", MediumOptions.fast):
            from .air_medium import AirMedium

            return super().__new__(AirMedium)
        return super().__new__(cls)

    def __init__(
        self,
        *,
        capture: str | os.PathLike[str] | None = None,
        scenario: Scenario | None = None,
        **options: Any,
    ) -> None:
        self.options = MediumOptions(**options)
        self.random = random.Random(self.options.seed)
        # the links' air parameters (access address, CRCInit, hop) from a generator of
        # their own, so that drawing them changes nothing else the medium draws
        self.link_random = random.Random(self.options.seed)
        # what a sniffer would record (None: nothing, at the cost of one test per PDU)
        self.capture: AirCapture | None = None
        if capture is not None:
            self.capture = open_air_capture(
                capture, fast=self.options.fast, seed=self.options.seed, csa2=self.options.csa2
            )
        self.conditions = Conditions(scenario)
        self._powers: dict[tuple[str, str], float] = {}  # mean power per (sender, receiver)
        self._scenario_timers: list[asyncio.TimerHandle] = []
        self._scenario_started = False
        self.controllers: list[LinkLayer] = []
        self._addresses: set[bytes] = set()
        self._labels: set[str] = set()
        self._counter = 0
        self._adv_timers: dict[LinkLayer, asyncio.TimerHandle | asyncio.Handle] = {}
        self.listeners: set[LinkLayer] = set()
        self.links: set[Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        # called with a ScanRecord when a scan ends (air-time medium only)
        self.scan_watchers: list[Callable[[ScanRecord], None]] = []

    def close_capture(self) -> None:
        """Finish ``air.pcap`` (flushed and closed; the air is no longer recorded)."""
        if self.capture is not None:
            self.capture.close()
            self.capture = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    # ------------------------------------------------------------------ membership
    def attach(self, controller: LinkLayer, label: str | None) -> tuple[str, bytes]:
        """Add a controller; returns its label and public address (6 bytes, little-endian)."""
        _ = self.loop
        if not self._scenario_started:
            self._start_scenario()
        self._counter += 1
        if not label:
            label = f"device{self._counter}"
        unique = label
        n = 1
        while unique in self._labels:
            n += 1
            unique = f"{label}#{n}"
        self._labels.add(unique)
        address = self._address_for(label)
        self.controllers.append(controller)
        return unique, address

    def _address_for(self, label: str) -> bytes:
        n = 0
        while True:
            seed = label if n == 0 else f"{label}#{n}"
            digest = hashlib.sha256(seed.encode()).digest()
            address = digest[:6]
            if address not in self._addresses and address not in (b"\x00" * 6, b"\xff" * 6):
                self._addresses.add(address)
                return address
            n += 1

    def detach(self, controller: LinkLayer) -> None:
        """Remove a controller abruptly: its advertising stops, its peers lose their links."""
        self.stop_advertising(controller)
        self.listeners.discard(controller)
        for link in [link for link in self.links if controller in _ends(link)]:
            self.lose_link(link, silent=controller)
        if controller in self.controllers:
            self.controllers.remove(controller)
            self._addresses.discard(controller.public_address)
            self._labels.discard(controller.label)

    # ------------------------------------------------------------------ advertising
    def start_advertising(self, controller: LinkLayer) -> None:
        self.stop_advertising(controller)
        self._adv_timers[controller] = self.loop.call_soon(self._advertising_event, controller)

    def stop_advertising(self, controller: LinkLayer) -> None:
        handle = self._adv_timers.pop(controller, None)
        if handle is not None:
            handle.cancel()

    def _advertising_event(self, advertiser: LinkLayer) -> None:
        pdu = advertiser.current_adv_pdu()
        if pdu is None:
            self._adv_timers.pop(advertiser, None)
            return
        interval = max(pdu.interval, self.options.min_advertising_interval)
        self._adv_timers[advertiser] = self.loop.call_later(
            interval, self._advertising_event, advertiser
        )
        capture = self.capture
        channels = advertiser.advertising_channels()
        if capture is not None:
            # every listener hears the first channel's PDU; the others go on air unheard
            capture.adv(pdu, channels[0], self.loop.time())
        for listener in list(self.listeners):
            if listener is advertiser or listener not in self.listeners:
                continue
            try:
                listener.on_adv_pdu(pdu, self.rssi(advertiser, listener))
            except Exception:
                logger.exception("%s failed on an advertising PDU", listener)
            if advertiser.current_adv_pdu() is not pdu:
                return  # connected (or stopped) during this event
        if capture is not None:
            for channel in channels[1:]:
                capture.adv(pdu, channel, self.loop.time())

    def start_listening(self, controller: LinkLayer) -> None:
        """A controller started scanning or initiating: it hears advertisers from now on."""
        if controller in self.listeners:
            return
        self.listeners.add(controller)
        # In fast mode a new listener hears every current advertiser at once, rather than
        # waiting up to one advertising interval for each.
        self.loop.call_soon(self._catch_up, controller)

    def stop_listening(self, controller: LinkLayer) -> None:
        self.listeners.discard(controller)

    def _catch_up(self, listener: LinkLayer) -> None:
        for advertiser in list(self._adv_timers):
            if listener not in self.listeners:
                return
            pdu = advertiser.current_adv_pdu()
            if pdu is not None and advertiser is not listener:
                if self.capture is not None:
                    self.capture.adv(pdu, advertiser.advertising_channels()[0], self.loop.time())
                try:
                    listener.on_adv_pdu(pdu, self.rssi(advertiser, listener))
                except Exception:
                    logger.exception("%s failed on an advertising PDU", listener)

    def scan_ended(self, record: ScanRecord) -> None:
        """A controller stopped scanning. Without air time every scan hears everything at
        once, so there is nothing to judge: watchers hear only from the air-time medium."""

    def scan_request(
        self, scanner: LinkLayer, pdu: AdvPdu, address_type: int, address: bytes
    ) -> bytes | None:
        """SCAN_REQ from ``scanner``; returns the SCAN_RSP data, or None if not answered."""
        if pdu.advertiser.current_adv_pdu() is not pdu:
            return None
        data = pdu.advertiser.on_scan_request(address_type, address)
        if self.capture is not None:
            self.capture.scan(pdu, address_type, address, data)
        return data

    def connect(
        self,
        initiator: LinkLayer,
        pdu: AdvPdu,
        address_type: int,
        address: bytes,
        interval: int,
        latency: int,
        timeout: int,
    ) -> Link | None:
        """CONNECT_IND from ``initiator`` in reply to ``pdu``: the link, or None if refused."""
        advertiser = pdu.advertiser
        if advertiser.current_adv_pdu() is not pdu:
            return None
        if not advertiser.accepts_connection(pdu, address_type, address):
            return None
        # Either side may have reached its limit since it started advertising or initiating
        # (a link made in the other role meanwhile): the initiator then sends no CONNECT_IND
        # and keeps initiating; the advertiser ignores it and keeps advertising. No link.
        if initiator.at_connection_limit() or advertiser.at_connection_limit():
            return None
        central_handle = initiator.allocate_handle()
        peripheral_handle = advertiser.allocate_handle()
        link = Link(
            self,
            initiator,
            central_handle,
            advertiser,
            peripheral_handle,
            interval,
            latency,
            timeout,
        )
        rng = self.link_random
        link.access_address = new_access_address(rng)
        link.crc_init = rng.getrandbits(24)
        link.hop = rng.randint(5, 16)
        link.csa2 = self.options.csa2
        self.links.add(link)
        if self.capture is not None:
            self.capture.connect(link, pdu, address_type, address)
        self.stop_advertising(advertiser)
        # each side learns the address the other used on air, and keeps its own
        advertiser.on_link_established(
            link.peripheral, (address_type, address), (pdu.address_type, pdu.address)
        )
        initiator.on_link_established(
            link.central, (pdu.address_type, pdu.address), (address_type, address)
        )
        return link

    # ------------------------------------------------------------------ connections
    def kick(self, link: Link) -> None:
        if not link.scheduled:
            link.scheduled = True
            self.loop.call_soon(self._carry, link)

    def _carry(self, link: Link) -> None:
        """Fast mode: deliver everything both ends have queued, alternating like a radio. A
        data PDU whose receiver has no buffer free (``rx_full``) stays at the head of its
        queue; the receiver kicks the link when it has room again."""
        link.scheduled = False
        central, peripheral = link.central, link.peripheral
        capture = self.capture
        event = capture.event(link) if capture is not None else 0
        try:
            moved = True
            while moved and link.alive:
                moved = False
                for end in (central, peripheral):
                    tx = end.tx
                    if tx and link.alive:
                        if tx[0][0] != LLID_CONTROL and end.peer.controller.rx_full:
                            continue  # not acknowledged: sent again once the peer has room
                        pdu = tx.popleft()
                        if capture is not None:
                            capture.data(
                                link, event, self.loop.time(), end.role, pdu, True, bool(tx)
                            )
                        self._deliver(end, pdu)
                        moved = True
        except Exception:
            logger.exception("%r: delivery failed; dropping the link", link)
            self.lose_link(link)

    def _deliver(self, sender: LinkEnd, pdu: tuple[int, Any, Any]) -> None:
        """Fast mode: the other side takes ``pdu`` and the sender is done with it at once."""
        self._take(sender, pdu)
        token = pdu[2]
        if token is not None:
            sender.controller.on_ll_sent(sender, token)

    def _take(self, sender: LinkEnd, pdu: tuple[int, Any, Any]) -> None:
        """The other side takes ``pdu`` (new to it): its controller has it."""
        llid, payload, _token = pdu
        receiver = sender.peer
        if llid == LLID_CONTROL:
            receiver.controller.on_ll_control(receiver, payload)
        else:
            receiver.controller.on_ll_data(receiver, llid, payload)

    def link_parameters_changed(self, link: Link) -> None:
        """Interval, latency, timeout or PHY changed (the air-time scheduler re-plans)."""

    def close_link(self, link: Link) -> None:
        """The link ended by procedure (LL_TERMINATE_IND delivered): forget it."""
        link.alive = False
        self.links.discard(link)
        if self.capture is not None:
            self.capture.link_closed(link)

    def lose_link(self, link: Link, silent: LinkLayer | None = None) -> None:
        """The link is lost (a side went silent): the other side times out (0x08)."""
        if not link.alive:
            return
        self.close_link(link)
        for end in (link.central, link.peripheral):
            if end.controller is not silent:
                end.controller.on_link_lost(end)

    def links_of(self, controller: LinkLayer) -> list[Link]:
        return [link for link in self.links if controller in _ends(link)]

    # ------------------------------------------------------------------ channel
    def mean_power(self, sender: LinkLayer, receiver: LinkLayer) -> float:
        """What ``receiver`` gets of ``sender``, in dBm before fading (-inf: nothing)."""
        key = (sender.label, receiver.label)
        power = self._powers.get(key)
        if power is None:
            if len(self._powers) > 65536:
                self._powers.clear()
            power = self._powers[key] = self.conditions.mean_power_dbm(*key)
        return power

    def rx_power(self, sender: LinkLayer, receiver: LinkLayer) -> float:
        """The power of one packet from ``sender`` at ``receiver``: mean and fading, dBm."""
        return self.mean_power(sender, receiver) + self.random.gauss(0, channel.FADING_SIGMA_DB)

    def rssi(self, a: LinkLayer, b: LinkLayer) -> int:
        """The RSSI ``b`` measures for a packet from ``a`` (path loss, walls and fading)."""
        return channel.rssi(self.rx_power(a, b))

    # ------------------------------------------------------------------ controls
    def _start_scenario(self) -> None:
        """Times the scenario's events from now (its first device joining)."""
        self._scenario_started = True
        start = self.loop.time()
        for event in self.conditions.scenario.events:
            self._scenario_timers.append(
                self.loop.call_at(start + event.at_s, self._scenario_event, event.actions)
            )

    def _scenario_event(self, actions: dict[str, Any]) -> None:
        logger.info("scenario: %s", actions)
        self.conditions.apply(actions)
        self.channel_changed()

    def channel_changed(self) -> None:
        """The conditions changed: powers are worked out again (the air-time medium also
        re-plans its links)."""
        self._powers.clear()

    def _changed(self, change: Callable[..., None], *args: Any) -> None:
        """Make ``change`` on the medium's loop (a test's thread may call the controls of
        the in-process medium, which runs on the stack thread) and wait until it is made;
        a bad argument raises here."""
        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            change(*args)
            self.channel_changed()
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def apply() -> None:
            try:
                change(*args)
                self.channel_changed()
            except BaseException as error:
                done.set_exception(error)
            else:
                done.set_result(None)

        loop.call_soon_threadsafe(apply)
        done.result(timeout=30)

    def move(self, label: str, position: Position | tuple[float, float]) -> None:
        """Put the device ``label`` at ``position`` (metres: x, y[, z])."""
        self._changed(self.conditions.move, label, position)

    def set_tx_power(self, label: str, dbm: float) -> None:
        self._changed(self.conditions.set_tx_power, label, dbm)

    def set_wall(self, a: str, b: str, loss_db: float) -> None:
        """Extra attenuation between devices ``a`` and ``b`` (0 takes the wall away)."""
        self._changed(self.conditions.set_wall, a, b, loss_db)

    def cut(self, a: str, b: str) -> None:
        """Nothing passes between ``a`` and ``b`` any more (their link, if any, times out)."""
        self._changed(self.conditions.cut, a, b)

    def uncut(self, a: str, b: str) -> None:
        self._changed(self.conditions.uncut, a, b)

    def set_per(self, per: float) -> None:
        """Extra loss, 0 to 1, of every PDU on air."""
        self._changed(self.conditions.set_per, per)

    def jam(self, *channels: int) -> None:
        """Every PDU on these channels (0-39) is lost; ``jam()`` clears."""
        self._changed(self.conditions.jam, channels)

    def power_off(self, label: str) -> None:
        """The radio of ``label`` neither sends nor hears anything (its program goes on)."""
        self._changed(self.conditions.power_off, label)

    def power_on(self, label: str) -> None:
        self._changed(self.conditions.power_on, label)

    def restore(self) -> None:
        """Back to the scenario's starting state (positions, powers, walls; no cuts, no
        jamming, every radio on, the scenario's loss)."""
        self._changed(self.conditions.restore)

    def activity(self) -> list[Any]:
        """Radio activity per device (``activity.Activity`` spans): only the air-time medium
        keeps it; a fast medium has no radio time to draw."""
        return []

    def energy(self, controller: LinkLayer, profile: Any = None) -> Any:
        """Radio time and charge of a device: only the air-time medium keeps them."""
        raise RuntimeError("energy figures need the air-time medium (fast=False)")

    def account(self, controller: LinkLayer) -> Any:
        """What to keep of a device to report its energy after it left and was freed (the
        air-time medium's record of its radio time); None here: no air time."""
        return None

    def account_energy(self, account: Any, profile: Any = None) -> Any:
        """The energy report of an ``account`` (see ``account``): air-time medium only."""
        raise RuntimeError("energy figures need the air-time medium (fast=False)")


def _ends(link: Link) -> tuple[LinkLayer, LinkLayer]:
    return link.central.controller, link.peripheral.controller


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# ---------------------------------------------------------------------- process medium
_options_override: dict[str, Any] = {}
_capture_override: list[str | os.PathLike[str] | None] = [None]
_media: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Medium] = weakref.WeakKeyDictionary()


def configure(**options: Any) -> None:
    """Options of the in-process medium (``MediumOptions`` fields: ``fast``, ``seed``,
    ``phy``, ``data_length``, ``conn_interval_ms``, ``event_length_ms``, ``max_connections``;
    and ``capture``: a directory for ``air.pcap``, else ``AIOBLE_CAPTURE``'s).

    Effective for media made after the call (one per event loop, made when the first
    virtual controller of that loop opens); environment variables (``AIOBLE_RADIO_FAST``,
    ``AIOBLE_RADIO_SEED``) give the defaults, and these override them. An option given
    as None returns to its default.
    """
    if "capture" in options:
        capture = options.pop("capture")
        if capture is not None:
            capture_directory(capture)  # a bad directory fails here, not at first use
        _capture_override[0] = capture
    MediumOptions(**{k: v for k, v in options.items() if v is not None})  # validate now
    for key, value in options.items():
        if value is None:
            _options_override.pop(key, None)
        else:
            _options_override[key] = value


_private_media: list[Medium] = []  # private_medium blocks, innermost last


@contextlib.contextmanager
def private_medium(**options: Any) -> Iterator[Medium]:
    """A medium of its own for the in-process virtual controllers opened inside the block
    (radios of this process that power on there, whatever their loop), instead of the
    process medium: a test's devices meet only each other, on the options it asks for
    (``MediumOptions`` fields; the environment's defaults for the others). Controllers
    opened before or after the block stay on the process medium; blocks nest."""
    medium = Medium(**MediumOptions.merged(**options).__dict__)
    _private_media.append(medium)
    try:
        yield medium
    finally:
        _private_media.remove(medium)


def process_medium() -> Medium:
    """The in-process medium of the running loop (made on first use), or the innermost
    ``private_medium`` block's."""
    if _private_media:
        return _private_media[-1]
    loop = asyncio.get_running_loop()
    medium = _media.get(loop)
    if medium is None:
        options = MediumOptions.merged(**_options_override)
        capture = _capture_override[0] or capture_from_env()
        medium = Medium(capture=capture, **options.__dict__)
        _media[loop] = medium
    return medium


__all__ = [
    "ADV_DIRECT_IND",
    "ADV_IND",
    "ADV_NONCONN_IND",
    "ADV_SCAN_IND",
    "AdvPdu",
    "CENTRAL",
    "DeviceInfo",
    "Medium",
    "MediumOptions",
    "SCAN_RSP",
    "ScanRecord",
    "configure",
    "format_address",
    "private_medium",
    "process_medium",
]

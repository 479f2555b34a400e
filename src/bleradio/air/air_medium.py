"""AirMedium: the medium with air time (``Medium(fast=False)``).

What changes from fast mode is *when* PDUs arrive, and that each device's radio time is
counted:

- Advertising events every advertising interval plus a 0-10 ms random delay, one PDU on
  each primary channel (37, 38, 39) in turn. A scanner (or initiator) hears a PDU only if,
  at that instant, it is inside its scan window and listening on that channel (it moves to
  the next channel every scan interval). SCAN_REQ/SCAN_RSP and CONNECT_IND happen in the
  same event.
- Connection events every connection interval from the link's anchor. In an event the
  central and the peripheral alternate packets (T_IFS 150 us) while either has data queued
  at the event's start and the next exchange fits the event length; each LL PDU carries at
  most the link's data length, at the link's PHY. Events with nothing to send are not
  simulated one by one: they are counted in closed form when the radio time is read. With
  peripheral latency the peripheral listens only every (latency + 1) events unless it has
  data, so data to it waits for such an event.
- A peer that goes silent is lost after the supervision timeout (reason 0x08).
- One radio per device: a connection event that overlaps another link's event on either
  device is skipped, the link skipped last going first next time (``_scheduled``).
- Collisions: a packet overlapped in time on its channel by others' packets survives at
  its receiver only ``channel.CAPTURE_DB`` above them: advertising PDUs (``_collided``) and
  data PDUs of links whose events overlap on one data channel (``_rivals``).

Radio time per device (TX, RX, ramp-ups) accumulates in ``RadioTime``; ``energy(ctrl)``
turns it into an ``EnergyReport`` with a ``CurrentProfile``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import airtime
from .activity import Activity, ActivityLog, windows
from .airtime import NRF52832, CurrentProfile, EnergyReport, RadioTime
from .channel import DATA_CHANNELS, FADING_SIGMA_DB, captured, overlapping, packet_error_rate
from .channel import rssi as rssi_of
from .link import CONTROL_PDU_SIZE, LLID_CONTROL, Link, LinkEnd
from .medium import ADV_DIRECT_IND, AdvPdu, Medium, ScanRecord

if TYPE_CHECKING:
    from .linklayer import LinkLayer

_CHANNEL_GAP_US = 200  # radio retune between two advertising channels
# a pair is clear (nothing drawn) when a longest PDU (251 octets and a MIC) faded this many
# standard deviations below the mean still has no bit error
_CLEAR_SIGMAS = 6.0
_LONGEST_PDU = 255
# how long a PDU stays on the air's record: longer than an advertising event's three
# PDUs with their scan request windows (3 x 0.9 ms), checked at the end of the last
_AIR_MEMORY = 0.005
# how long a connection event's packets stay on the air's record of its data channel: an
# event computed a little late (a late timer) still finds the events it overlapped
_DATA_AIR_MEMORY = 0.5
_SCAN_REQ_US = airtime.pdu_time_us(airtime.SCAN_REQ_PAYLOAD)
_CONNECT_IND_US = airtime.pdu_time_us(airtime.CONNECT_IND_PAYLOAD)

# What the medium keeps of devices that left (a long-running shared radio sees thousands
# come and go): the timelines of the latest departed devices, up to this many spans in all
# (a few MB at most; a short program's timeline has a handful), and their radio time, for
# at most this many devices. Older ones are forgotten; live devices are never trimmed.
DEPARTED_SPANS = 65536
DEPARTED_DEVICES = 1024


@dataclass
class _LinkState:
    anchor: float  # time of event 0 of the current segment (s)
    interval: float  # s
    latency: int
    settled: int = 0  # events of this segment already counted
    busy_central: int = 0  # events simulated since the last settle
    busy_peripheral: int = 0
    next_event: int = 0  # first event number not yet run
    timer: asyncio.TimerHandle | None = None
    drawn: int = 0  # first event number not yet on the timeline
    skipped: int = 0  # events the scheduler skipped (the radio was in another link's event)
    skipped_run: int = 0  # of them, in a row up to now: served last is 0
    # skipped since the last settle (not idle events: the radios were elsewhere)
    skipped_central: int = 0
    skipped_peripheral: int = 0
    base: int = 0  # the connection event counter of this segment's event 0
    # a clean link loses nothing (``AirMedium._assess``); others run every event
    clean: bool = True
    # when each side last received a valid packet (supervision timeout)
    heard_c: float = 0.0
    heard_p: float = 0.0


class _Transmission:
    """A PDU on an advertising channel, on the air's record while it may collide."""

    __slots__ = ("channel", "start", "end", "sender")

    def __init__(self, channel: int, start: float, end: float, sender: LinkLayer) -> None:
        self.channel = channel
        self.start = start
        self.end = end
        self.sender = sender


class _OnAir:
    """A connection event's packets on its data channel (one run of ``_event``), on the
    air's record while later events may overlap them."""

    __slots__ = ("link", "start", "end", "packets")

    def __init__(self, link: Link, start: float) -> None:
        self.link = link
        self.start = start
        self.end = start
        self.packets: list[tuple[float, float, LinkLayer]] = []  # (start, end, sender)


class _Rivals:
    """Other links' packets on a connection event's data channel (``AirMedium._rivals``):
    those on the air's record, and the events due later on it, foreseen only once the
    event reaches their start (most events end long before)."""

    __slots__ = ("medium", "until", "packets", "first", "last", "due", "next_due")

    def __init__(
        self,
        medium: AirMedium,
        until: float,
        packets: list[tuple[float, float, LinkLayer]],
        due: list[tuple[float, Link, bool]],
    ) -> None:
        self.medium = medium
        self.until = until
        self.packets = packets
        self.first = min((p[0] for p in packets), default=math.inf)
        self.last = max((p[1] for p in packets), default=-math.inf)
        self.due = due  # (start, link, fresh)
        self.next_due = min((d[0] for d in due), default=math.inf)

    def senders(self, start: float, end: float) -> list[LinkLayer]:
        """Who else is on the channel at some instant of [``start``, ``end``)."""
        if end > self.next_due:
            later = []
            for when, link, fresh in self.due:
                if when < end:
                    foreseen = self.medium._foresee(link, when, fresh, self.until)
                    self.packets.extend(foreseen)
                    self.first = min([self.first] + [p[0] for p in foreseen])
                    self.last = max([self.last] + [p[1] for p in foreseen])
                else:
                    later.append((when, link, fresh))
            self.due = later
            self.next_due = min((d[0] for d in later), default=math.inf)
        if end <= self.first or start >= self.last:
            return []
        return overlapping(start, end, self.packets)


@dataclass
class _AdvEvent:
    """An advertising event under way: its PDU goes on each channel in turn."""

    advertiser: LinkLayer
    pdu: AdvPdu
    channels: Sequence[int]
    start: float
    pdu_us: int
    listen_us: int
    on_us: float = 0.0
    sent: list[_Transmission] = field(default_factory=list)  # its PDUs on the air's record


@dataclass
class _Listening:
    origin: float  # start of window 0 (the phase of windows and channels)
    interval: float
    window: float
    settled: float  # RX time is counted up to here
    kind: str = "scanning"  # or "connecting" (an initiator)
    drawn: float = 0.0  # windows are on the timeline up to here

    def window_time(self, t: float) -> tuple[float, int]:
        """RX time in windows, and windows begun, from ``origin`` to ``t``."""
        elapsed = max(0.0, t - self.origin)
        k = int(elapsed // self.interval)
        return k * self.window + min(self.window, elapsed - k * self.interval), k + 1


@dataclass
class _Device:
    """A device's radio accounting; it outlives the controller (see ``account``)."""

    label: str
    attached: float
    closed: float | None = None
    time: RadioTime = field(default_factory=RadioTime)
    listening: _Listening | None = None
    activity: ActivityLog = field(default_factory=ActivityLog)


class AirMedium(Medium):
    """A medium that keeps air time; see the module docstring."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._devices: dict[LinkLayer, _Device] = {}
        # Devices that left, oldest first: their timelines (activity()) and radio time. The
        # controllers themselves are not kept (a detached controller must be freed);
        # ``_gone`` answers energy(controller) for as long as someone else keeps one.
        self._departed: deque[_Device] = deque()
        self._departed_spans = 0
        self._gone: weakref.WeakKeyDictionary[LinkLayer, _Device] = weakref.WeakKeyDictionary()
        self.profile: CurrentProfile = NRF52832
        event_length = self.options.event_length_ms
        self.event_length_us = None if event_length is None else event_length * 1000.0
        # Each device's radio: until when it is in a connection event, and of which link
        # (one radio serves one event at a time; see ``_scheduled``).
        self._radio_busy: dict[LinkLayer, tuple[float, Link]] = {}
        self._adv_end = 0.0  # end of the advertising PDU on air now (connect's reference)
        self._adv_channel = 37  # and its channel (a SCAN_REQ or CONNECT_IND goes there)
        # what is on each advertising channel lately (collisions), oldest first
        self._air: dict[int, deque[_Transmission]] = {}
        self._clear_pairs: dict[tuple[str, str, int], bool] = {}  # see _clear
        # data channels (with more than one link): each channel's events lately, and the
        # events due on each that have not run yet: (their timer, start, fresh or resumed)
        self._data_air: dict[int, deque[_OnAir]] = {}
        self._data_busy: dict[int, float] = {}  # when each one's last packet ends
        self._due: dict[int, dict[Link, tuple[asyncio.TimerHandle, float, bool]]] = {}
        self._due_on: dict[Link, int] = {}  # the channel of each link's event due
        self.data_collisions = 0  # data packets lost to a collision (a measure for tests)

    # ------------------------------------------------------------------ accounting
    def attach(self, controller: LinkLayer, label: str | None) -> tuple[str, bytes]:
        result = super().attach(controller, label)
        self._devices[controller] = _Device(result[0], attached=self.loop.time())
        return result

    def detach(self, controller: LinkLayer) -> None:
        device = self._devices.get(controller)
        if device is not None:
            self._settle_listening(controller, self.loop.time())
            for link in self.links_of(controller):
                self._settle_link(link, self.loop.time())
            device.closed = self.loop.time()
        super().detach(controller)
        if device is not None:
            # after super(): losing its links settles them on this device too
            del self._devices[controller]
            device.listening = None
            self._gone[controller] = device
            self._keep_departed(device)

    def _keep_departed(self, device: _Device) -> None:
        self._departed.append(device)
        self._departed_spans += len(device.activity)
        while self._departed and (
            self._departed_spans > DEPARTED_SPANS or len(self._departed) > DEPARTED_DEVICES
        ):
            oldest = self._departed.popleft()
            self._departed_spans -= len(oldest.activity)
            # (whoever still holds its account keeps the radio time, not the timeline)
            oldest.activity = ActivityLog()

    def account(self, controller: LinkLayer) -> _Device | None:
        """The accounting of ``controller`` (radio time from attach to close), which stays
        valid after it leaves: ``account_energy(account)`` reports it then."""
        return self._devices.get(controller) or self._gone.get(controller)

    def account_energy(self, account: Any, profile: CurrentProfile | None = None) -> EnergyReport:
        """The energy report of a departed device's ``account`` (see ``account``)."""
        device: _Device = account
        end = self.loop.time() if device.closed is None else device.closed
        return device.time.report((end - device.attached) * 1e6, profile or self.profile)

    def _time(self, controller: LinkLayer) -> RadioTime:
        return self._devices[controller].time

    def energy(self, controller: LinkLayer, profile: CurrentProfile | None = None) -> EnergyReport:
        """Radio time and charge of ``controller`` from its attach to now (or its close)."""
        device = self._devices.get(controller) or self._gone[controller]
        now = self.loop.time() if device.closed is None else device.closed
        if device.closed is None:
            self._settle_listening(controller, now)
            for link in self.links_of(controller):
                self._settle_link(link, now)
        return device.time.report((now - device.attached) * 1e6, profile or self.profile)

    def activity(self) -> list[Activity]:
        """Every device's radio activity so far (advertising events, scan and connect
        windows, connection events), merged where dense; devices in attach order."""
        now = self.loop.time()
        for controller, device in self._devices.items():
            if device.closed is None:
                self._settle_listening(controller, now)
        for link in list(self.links):
            self._settle_link(link, now)
        # departed devices' timelines too (aioble run draws programs that exited), all in
        # attach order
        devices = sorted([*self._departed, *self._devices.values()], key=lambda d: d.attached)
        spans: list[Activity] = []
        for device in devices:
            spans.extend(device.activity.spans(device.label))
        return spans

    # ------------------------------------------------------------------ advertising
    def start_advertising(self, controller: LinkLayer) -> None:
        self.stop_advertising(controller)
        when = self.loop.time() + self.random.uniform(0, 0.010)
        self._adv_timers[controller] = self.loop.call_at(
            when, self._advertising_event, controller, when
        )

    def _advertising_event(self, advertiser: LinkLayer, when: float) -> None:
        """An advertising event due at ``when``: the air's times are the ones scheduled,
        not when the loop got round to them (a busy loop runs timers late and together;
        their PDUs must not pile up on the air's record)."""
        pdu = advertiser.current_adv_pdu()
        if pdu is None:
            self._adv_timers.pop(advertiser, None)
            return
        now = when if when > self.loop.time() - pdu.interval else self.loop.time()
        jitter = 0.0 if pdu.interval < 0.02 else self.random.uniform(0, 0.010)
        due = now + pdu.interval + jitter
        self._adv_timers[advertiser] = self.loop.call_at(
            due, self._advertising_event, advertiser, due
        )
        if pdu.pdu_type == ADV_DIRECT_IND:
            pdu_us = airtime.pdu_time_us(airtime.ADV_DIRECT_IND_PAYLOAD)
        else:
            pdu_us = airtime.adv_pdu_time_us(len(pdu.data))
        listen_us = airtime.T_IFS_US + _SCAN_REQ_US if (pdu.connectable or pdu.scannable) else 0
        plan = _AdvEvent(advertiser, pdu, advertiser.advertising_channels(), now, pdu_us, listen_us)
        step = (pdu_us + listen_us + _CHANNEL_GAP_US) / 1e6
        if not self.listeners:
            # nobody listens: the event's PDUs go on air unheard
            for k, channel in enumerate(plan.channels):
                if self.capture is not None:
                    self.capture.adv(pdu, channel, now + k * step)
                self._adv_sent(plan)
            self._adv_done(plan, now + len(plan.channels) * step - _CHANNEL_GAP_US / 1e6)
            return
        # Each PDU goes on the air's record of its channel (others' PDUs that overlap it
        # collide), all of them now, and they are heard at the end of the last one: by
        # then everything that overlapped them is on the record too.
        for k, channel in enumerate(plan.channels):
            t = now + k * step
            sent = _Transmission(channel, t, t + pdu_us / 1e6, advertiser)
            record = self._air.get(channel)
            if record is None:
                record = self._air[channel] = deque()
            horizon = now - _AIR_MEMORY
            while record and record[0].end < horizon:
                record.popleft()
            record.append(sent)
            plan.sent.append(sent)
        self.loop.call_at(plan.sent[-1].end, self._adv_heard, plan)

    def _adv_sent(self, plan: _AdvEvent) -> None:
        listen = plan.listen_us
        self._time(plan.advertiser).add(tx_us=plan.pdu_us, rx_us=listen, ramps=2 if listen else 1)
        plan.on_us += plan.pdu_us + listen

    def _adv_done(self, plan: _AdvEvent, end: float) -> None:
        device = self._devices.get(plan.advertiser)
        if device is not None:
            device.activity.add("advertising", plan.start, end, plan.on_us / 1e6)

    def _adv_heard(self, plan: _AdvEvent) -> None:
        """The event's PDUs, channel by channel: each listener on the channel has each, or
        not (path loss, fading, bit errors, extra loss, jamming, a collision). A listener
        that connects (or an advertiser that stops) ends the event: its later PDUs were
        never sent and leave the air's record."""
        advertiser, pdu = plan.advertiser, plan.pdu
        if pdu.pdu_type == ADV_DIRECT_IND:
            octets = airtime.ADV_DIRECT_IND_PAYLOAD
        else:
            octets = airtime.ADV_ADDRESS_OCTETS + len(pdu.data)
        jammed = self.conditions.jammed
        end = plan.start
        for k, sent in enumerate(plan.sent):
            if advertiser.current_adv_pdu() is not pdu:
                for unsent in plan.sent[k:]:
                    with contextlib.suppress(ValueError):
                        self._air[unsent.channel].remove(unsent)
                break
            self._adv_sent(plan)
            channel = sent.channel
            end = sent.end + plan.listen_us / 1e6
            if self.capture is not None:
                self.capture.adv(pdu, channel, sent.start)
            self._adv_end = sent.end  # a CONNECT_IND in reply starts T_IFS later
            self._adv_channel = channel
            for listener in list(self.listeners):
                if listener is advertiser or not self._hears(listener, channel, sent.start):
                    continue
                power = self.rx_power(advertiser, listener)
                if channel in jammed or not self._clear(advertiser, listener, airtime.PHY_1M):
                    if not self._survives(power, octets, airtime.PHY_1M, channel):
                        continue
                if self._collided(sent, listener, power):
                    continue
                try:
                    listener.on_adv_pdu(pdu, rssi_of(power))
                except Exception:
                    self._log_failure(listener)
                if advertiser.current_adv_pdu() is not pdu:
                    break  # connected (or stopped) in this event
        self._adv_done(plan, end)

    def _survives(self, power: float, octets: int, phy: int, channel: int) -> bool:
        """Whether a packet that reaches its receiver at ``power`` (dBm) arrives intact:
        jamming, then bit errors and the extra loss (``channel.packet_error_rate``)."""
        conditions = self.conditions
        if channel in conditions.jammed:
            return False
        per = packet_error_rate(power, octets, phy, conditions.per)
        return per <= 0.0 or (per < 1.0 and self.random.random() >= per)

    def _collided(self, sent: _Transmission, listener: LinkLayer, power: float) -> bool:
        """Whether other PDUs on ``sent``'s channel overlapped it at ``listener`` so that it
        did not survive (it does only ``channel.CAPTURE_DB`` above them all)."""
        overlapped = overlapping(
            sent.start, sent.end, ((o.start, o.end, o.sender) for o in self._air[sent.channel])
        )
        return self._drowned(power, [o for o in overlapped if o is not sent.sender], listener)

    def _drowned(self, power: float, others: list[LinkLayer], receiver: LinkLayer) -> bool:
        """Whether a packet received at ``power`` is lost at ``receiver`` to ``others`` on the
        air with it (it survives ``channel.CAPTURE_DB`` above them all; the receiver's own
        transmissions do not count)."""
        powers = [self.mean_power(other, receiver) for other in others if other is not receiver]
        return bool(powers) and not captured(power, powers)

    def _hears(self, listener: LinkLayer, channel: int, t: float) -> bool:
        listening = self._devices[listener].listening
        if listening is None:
            return False
        elapsed = t - listening.origin
        if elapsed < 0:
            return False
        k = int(elapsed // listening.interval)
        if elapsed - k * listening.interval >= listening.window:
            return False
        return airtime.ADV_CHANNELS[k % 3] == channel

    def start_listening(self, controller: LinkLayer) -> None:
        interval, window = controller.listen_parameters()
        kind = "connecting" if controller.initiating is not None else "scanning"
        device = self._devices[controller]
        listening = device.listening
        if controller in self.listeners and listening is not None:
            if (listening.interval, listening.window, listening.kind) == (interval, window, kind):
                return
            self._settle_listening(controller, self.loop.time())
        self.listeners.add(controller)
        now = self.loop.time()
        device.listening = _Listening(now, interval, window, now, kind, now)

    def stop_listening(self, controller: LinkLayer) -> None:
        if controller in self.listeners:
            self._settle_listening(controller, self.loop.time())
            self._devices[controller].listening = None
        self.listeners.discard(controller)

    def _settle_listening(self, controller: LinkLayer, now: float) -> None:
        """Count the RX time of scan windows since the last settle, in closed form."""
        device = self._devices.get(controller)
        if device is None or device.listening is None:
            return
        listening = device.listening
        rx_now, windows_now = listening.window_time(now)
        rx_before, windows_before = listening.window_time(listening.settled)
        if listening.settled <= listening.origin:
            windows_before = 0
        device.time.add(rx_us=(rx_now - rx_before) * 1e6, ramps=windows_now - windows_before)
        listening.settled = now
        windows(
            device.activity,
            listening.kind,
            listening.origin,
            listening.interval,
            listening.window,
            listening.drawn,
            now,
        )
        listening.drawn = now

    def scan_ended(self, record: ScanRecord) -> None:
        for watcher in list(self.scan_watchers):
            try:
                watcher(record)
            except Exception:
                self._log_failure(watcher)

    def scan_request(
        self, scanner: LinkLayer, pdu: AdvPdu, address_type: int, address: bytes
    ) -> bytes | None:
        """SCAN_REQ and SCAN_RSP, each lost like any PDU (the scanner tries again at a
        later event, as its duplicate filter has not seen the response)."""
        self._time(scanner).add(tx_us=_SCAN_REQ_US, ramps=1)
        advertiser = pdu.advertiser
        if not self._gets(scanner, advertiser, airtime.SCAN_REQ_PAYLOAD, self._adv_channel):
            return None
        data = super().scan_request(scanner, pdu, address_type, address)
        if data is not None:
            self._time(advertiser).add(tx_us=airtime.adv_pdu_time_us(len(data)), ramps=1)
            octets = airtime.ADV_ADDRESS_OCTETS + len(data)
            if not self._gets(advertiser, scanner, octets, self._adv_channel):
                return None
        return data

    def _gets(
        self,
        sender: LinkLayer,
        receiver: LinkLayer,
        octets: int,
        channel: int,
        phy: int = airtime.PHY_1M,
    ) -> bool:
        """Whether ``receiver`` gets a packet of ``sender`` intact (nothing is drawn when
        the pair's signal is far above what could lose it)."""
        if self._clear(sender, receiver, phy) and channel not in self.conditions.jammed:
            return True
        return self._survives(self.rx_power(sender, receiver), octets, phy, channel)

    def _clear(self, sender: LinkLayer, receiver: LinkLayer, phy: int) -> bool:
        """Whether nothing from ``sender`` to ``receiver`` can be lost: no extra loss, and
        even a longest packet faded ``_CLEAR_SIGMAS`` deviations down has no bit error
        (kept per pair until the conditions change)."""
        if self.conditions.per:
            return False
        key = (sender.label, receiver.label, phy)
        clear = self._clear_pairs.get(key)
        if clear is None:
            if len(self._clear_pairs) > 65536:
                self._clear_pairs.clear()
            worst = self.mean_power(sender, receiver) - _CLEAR_SIGMAS * FADING_SIGMA_DB
            clear = self._clear_pairs[key] = packet_error_rate(worst, _LONGEST_PDU, phy) < 1e-12
        return clear

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
        # a CONNECT_IND the advertiser does not get makes no link: it advertises on, and
        # the initiator tries again at its next event
        payload = airtime.CONNECT_IND_PAYLOAD
        if not self._gets(initiator, pdu.advertiser, payload, self._adv_channel):
            self._time(initiator).add(tx_us=_CONNECT_IND_US, ramps=1)
            return None
        link = super().connect(initiator, pdu, address_type, address, interval, latency, timeout)
        if link is not None:
            self._time(initiator).add(tx_us=_CONNECT_IND_US, ramps=1)
            # transmit window: the first event 1.25 ms after the CONNECT_IND (sent T_IFS after
            # the advertising PDU it answers), plus a little
            sent = self._adv_end + airtime.T_IFS_US / 1e6
            anchor = sent + (_CONNECT_IND_US / 1e6) + 0.00125 + self.random.uniform(0, 0.00125)
            link.state = _LinkState(anchor, interval * 0.00125, latency)
            link.state.heard_c = link.state.heard_p = anchor
            self._assess(link)
            if link.central.tx or link.peripheral.tx:
                self.kick(link)
        return link

    # ------------------------------------------------------------------ connection events
    def kick(self, link: Link, after: float | None = None) -> None:
        """Schedule ``link``'s next event: the first one at or after ``after`` (data queued
        now: the loop's time) that follows the last event run.

        Data left over by an event goes in the very next one: its caller passes the time
        the event ended. A loop that runs a little late (a timer fired after the next
        anchor) must not skip that event; it runs late, at its own time on the air.
        """
        state: _LinkState | None = link.state
        if state is None or state.timer is not None or not link.alive:
            return
        now = self.loop.time() if after is None else after
        n = max(state.next_event, math.ceil((now - state.anchor) / state.interval - 1e-9))
        if not link.peripheral.tx and state.latency:
            # data only for the peripheral: wait for an event it listens to
            step = state.latency + 1
            n = -(-n // step) * step
        self._arm(link, state, n, state.anchor + n * state.interval)

    def _arm(self, link: Link, state: _LinkState, n: int, when: float, *resume: Any) -> None:
        """Event ``n`` of ``link`` runs (or, with ``resume``, goes on) at ``when``; with
        other links about, it is on the record of events due (``_rivals``)."""
        state.timer = self.loop.call_at(when, self._event, link, n, *resume)
        if len(self.links) > 1:
            channel = link.data_channel(state.base + n)
            before = self._due_on.get(link)
            if before is not None and before != channel:
                self._due[before].pop(link, None)
            self._due_on[link] = channel
            due = self._due.get(channel)
            if due is None:
                due = self._due[channel] = {}
            due[link] = (state.timer, when, not resume)

    def _event(
        self, link: Link, n: int, used: float = 0.0, dry: str = "", waited: bool = False
    ) -> None:
        """Connection event ``n``: exchanges while either side has data and the event fits.

        A receiver with no buffer free refuses a data PDU (its host has not taken what it
        was given: controller-to-host flow control). A host drains its controller while the
        event goes on, so the event pauses there and resumes at that point in time once the
        hosts have had their turn (``waited``); refused again with nothing moved since, the
        host is holding back, and the event closes.

        The more-data bit is the sender's queue at the instant of each exchange, past the
        PDU it sends: once the peripheral sent its last one, both bits are clear and the
        event closes (no exchange only to acknowledge it: the central's first packet of
        the next event does, Vol 6 Part B 4.5.6). Data left over goes in the next event,
        even when the loop runs late past that event's anchor. A side that sends its
        last queued packet while the event still has room may get more from its host
        (credits came back during the event): the event then resumes at that point in
        time if that side has data again (``dry`` names such sides). A reply from the
        other host (a read response) is not that fast: it waits for the next event, as
        on hardware.

        Each packet reaches the other side or not (``_gets``; a clean link draws
        nothing). The link layer then works as the Core Specification says (Vol 6 Part B
        4.5.6, 4.5.9): a PDU the other side took is acknowledged by that side's next
        packet; until the sender hears it, it sends the PDU again and the other side does
        not take it twice (``LinkEnd.held``); the event closes after two CRC errors in a
        row at either side (the peripheral then stays silent). A link that is not clean
        runs every event, idle ones too, and is lost (0x08) once a side has had no valid
        packet for the supervision timeout.
        """
        state: _LinkState = link.state
        state.timer = None
        self._forget_due(link)
        if not link.alive:
            return
        # data queued during this event (a kick) waits for the next one
        run_before = state.next_event
        state.next_event = n + 1
        start = state.anchor + n * state.interval
        if not used and not dry:
            if state.clean and run_before < n:
                # the idle events before this one (counted, not run) were heard both ways
                state.heard_c = max(state.heard_c, start - state.interval)
                state.heard_p = max(state.heard_p, start - state.interval)
            if self._supervision_expired(link, state, start):
                return
            if not self._scheduled(link, state, n):
                return
        central, peripheral = link.central, link.peripheral
        if dry and not (("c" in dry and central.tx) or ("p" in dry and _more(peripheral))):
            self._end_event(link, n, used)
            return
        budget = state.interval * 1e6 - airtime.T_IFS_US
        if self.event_length_us is not None:
            budget = min(budget, self.event_length_us)
        c_phy, p_phy = link.phy_c_to_p, link.phy_p_to_c
        cc, pc = central.controller, peripheral.controller
        c_time, p_time = self._time(cc), self._time(pc)
        clean = state.clean
        counter = state.base + n
        channel = link.data_channel(counter)
        # other links' packets on this channel meanwhile (collisions), and this event's own
        rivals: _Rivals | None = None
        onair: _OnAir | None = None
        busy_until = 0.0
        if len(self.links) > 1:
            t0 = start + used / 1e6
            busy_until = self._data_busy.get(channel, 0.0)
            if busy_until > t0 or self._due.get(channel):
                rivals = self._rivals(link, channel, t0, start + budget / 1e6)
            onair = _OnAir(link, t0)
            record = self._data_air.get(channel)
            if record is None:
                record = self._data_air[channel] = deque()
            record.append(onair)
        errors_c = errors_p = 0  # CRC errors in a row at the central, at the peripheral
        c_sent = p_sent = False
        after_refusal = waited  # resumed after a refusal, and nothing moved since
        capture = self.capture
        try:
            while link.alive:
                c_pdu = central.tx[0] if central.tx else None
                c_octets = _octets(c_pdu, central.encrypted)
                c_us = airtime.pdu_time_us(c_octets, c_phy)
                c_got = clean or self._gets(cc, pc, c_octets, channel, c_phy)
                t = start + used / 1e6
                c_hit = rivals is not None and c_got and self._collides(cc, pc, t, c_us, rivals)
                if c_hit:
                    c_got = False
                # the peripheral answers with its head, or the next PDU if the central's
                # packet acknowledged the head; after a second CRC error in a row, nothing
                ack_p = c_got and peripheral.held
                if ack_p:
                    p_pdu = peripheral.tx[1] if len(peripheral.tx) > 1 else None
                else:
                    p_pdu = peripheral.tx[0] if peripheral.tx else None
                p_silent = not c_got and errors_p >= 1
                p_octets = _octets(p_pdu, peripheral.encrypted)
                p_us = 0 if p_silent else airtime.pdu_time_us(p_octets, p_phy)
                need = c_us + p_us + 2 * airtime.T_IFS_US
                if used and used + need > budget:
                    break
                used += need
                if onair is not None:
                    onair.packets.append((t, t + c_us / 1e6, cc))
                    onair.end = t + c_us / 1e6
                    if not p_silent:
                        t_p = t + (c_us + airtime.T_IFS_US) / 1e6
                        onair.packets.append((t_p, t_p + p_us / 1e6, pc))
                        onair.end = t_p + p_us / 1e6
                    if onair.end > busy_until:
                        busy_until = self._data_busy[channel] = onair.end
                if c_hit:
                    self.data_collisions += 1
                c_time.add(tx_us=c_us, rx_us=p_us)
                p_time.add(tx_us=p_us, rx_us=c_us)
                progress = refused = False
                # the central's packet, at the peripheral
                c_new = c_pdu is not None and not central.held
                c_ok = not c_new or c_pdu[0] == LLID_CONTROL or not pc.rx_full  # type: ignore[index]
                if capture is not None:
                    capture.data(link, counter, t, 0, c_pdu, c_ok, len(central.tx) > 1, c_got)
                if c_got:
                    errors_p = 0
                    state.heard_p = t
                    if ack_p:
                        self._acknowledged(peripheral)
                        progress = True
                    if c_new and c_ok:
                        central.held = c_sent = progress = True
                        self._take(central, c_pdu)  # type: ignore[arg-type]
                    refused = c_new and not c_ok
                else:
                    errors_p += 1
                if p_silent or not link.alive:
                    break
                # the peripheral's packet, at the central
                t += (c_us + airtime.T_IFS_US) / 1e6
                if p_pdu is not None and not (peripheral.tx and peripheral.tx[0] is p_pdu):
                    p_pdu = None  # (its queue was emptied meanwhile)
                p_got = clean or self._gets(pc, cc, p_octets, channel, p_phy)
                if rivals is not None and p_got and self._collides(pc, cc, t, p_us, rivals):
                    p_got = False
                    self.data_collisions += 1
                p_new = p_pdu is not None and not peripheral.held
                p_ok = not p_new or p_pdu[0] == LLID_CONTROL or not cc.rx_full  # type: ignore[index]
                if capture is not None:
                    capture.data(link, counter, t, 1, p_pdu, p_ok, len(peripheral.tx) > 1, p_got)
                if p_got:
                    errors_c = 0
                    state.heard_c = t
                    if central.held:
                        self._acknowledged(central)
                        progress = True
                    if p_new and p_ok:
                        peripheral.held = p_sent = progress = True
                        self._take(peripheral, p_pdu)  # type: ignore[arg-type]
                    refused = refused or (p_new and not p_ok)
                else:
                    errors_c += 1
                if not link.alive or errors_c >= 2:
                    break
                if refused and not progress:
                    if after_refusal or used + need > budget:
                        break  # the host holds back: the next event tries again
                    # the hosts take what their controllers hold; then the event goes on
                    if state.timer is not None:
                        state.timer.cancel()
                    self._occupy(link, state, n, used)
                    self._arm(link, state, n, start + used / 1e6, used, "", True)
                    return
                if progress:
                    after_refusal = False
                if link.state is not state:
                    break  # a parameter update took effect: the new segment takes over
                if not central.tx and not _more(peripheral):
                    # both more-data bits clear: the event closes, unless a sender's
                    # host refills it while there is room (checked at that instant);
                    # a PDU the central took from the peripheral is then acknowledged
                    # by its first packet of the next event
                    dry = ("c" if c_sent else "") + ("p" if p_sent else "")
                    empty_us = airtime.pdu_time_us(0, c_phy) + airtime.pdu_time_us(0, p_phy)
                    if dry and used + empty_us + 2 * airtime.T_IFS_US <= budget:
                        if state.timer is not None:  # a kick during this event: resume first
                            state.timer.cancel()
                        # the radio stays in this event while it waits for the host
                        self._occupy(link, state, n, used + empty_us + 2 * airtime.T_IFS_US)
                        self._arm(link, state, n, start + used / 1e6, used, dry)
                        return
                    break
        except Exception:
            self._log_failure(link)
            self.lose_link(link)
            return
        if link.state is not state:
            # The update's instant was this event: it counts in the old segment (already
            # settled), and data still queued goes in the new one's events.
            self._occupy(link, state, n, used)
            self._account_event(link, state, n, used)
            if link.alive and (central.tx or peripheral.tx or not link.state.clean):
                self.kick(link, after=start + used / 1e6)
            return
        self._end_event(link, n, used)

    def _rivals(self, link: Link, channel: int, t0: float, t1: float) -> _Rivals | None:
        """Other links' packets (start, end, sender) on data ``channel`` between ``t0`` and
        ``t1``, the part of ``link``'s event still to run: those of events that ran (the
        air's record), and those of events due in that time that have not run yet (what
        their queues hold now would go, ``_foresee``). Links that share a device with
        ``link`` are not rivals: one radio serves one event at a time (``_scheduled``).
        None: nobody else on the channel then."""
        ends = set(_ends_of(link))
        packets: list[tuple[float, float, LinkLayer]] = []
        later: list[tuple[float, Link, bool]] = []
        record = self._data_air.get(channel)
        if record:
            horizon = t0 - _DATA_AIR_MEMORY
            while record and record[0].end < horizon:
                record.popleft()
            for run in record:
                if (
                    run.end > t0
                    and run.start < t1
                    and run.link is not link
                    and ends.isdisjoint(_ends_of(run.link))
                ):
                    packets.extend(packet for packet in run.packets if packet[1] > t0)
        due = self._due.get(channel)
        if due:
            for other, (timer, when, fresh) in list(due.items()):
                if other.state is None or other.state.timer is not timer or not other.alive:
                    self._forget_due(other)  # (run, moved or gone since)
                elif when < t1 and other is not link and ends.isdisjoint(_ends_of(other)):
                    later.append((when, other, fresh))
        if not packets and not later:
            return None
        return _Rivals(self, t1, packets, later)

    def _forget_due(self, link: Link) -> None:
        channel = self._due_on.pop(link, None)
        if channel is not None:
            self._due[channel].pop(link, None)

    def _foresee(
        self, link: Link, t: float, fresh: bool, until: float
    ) -> list[tuple[float, float, LinkLayer]]:
        """The packets ``link``'s event due at ``t`` would send before ``until`` with what
        its queues hold now, nothing lost (a fresh event makes at least one exchange)."""
        central, peripheral = link.central, link.peripheral
        cc, pc = central.controller, peripheral.controller
        c_queue, p_queue = iter(central.tx), iter(peripheral.tx)
        if peripheral.held:
            next(p_queue, None)  # (the central's first packet acknowledges it)
        packets: list[tuple[float, float, LinkLayer]] = []
        while t < until:
            c_pdu, p_pdu = next(c_queue, None), next(p_queue, None)
            if c_pdu is None and p_pdu is None and not fresh:
                break
            fresh = False
            c_us = airtime.pdu_time_us(_octets(c_pdu, central.encrypted), link.phy_c_to_p)
            p_us = airtime.pdu_time_us(_octets(p_pdu, peripheral.encrypted), link.phy_p_to_c)
            t_p = t + (c_us + airtime.T_IFS_US) / 1e6
            packets.append((t, t + c_us / 1e6, cc))
            packets.append((t_p, t_p + p_us / 1e6, pc))
            t = t_p + (p_us + airtime.T_IFS_US) / 1e6
        return packets

    def _collides(
        self,
        sender: LinkLayer,
        receiver: LinkLayer,
        t: float,
        us: float,
        rivals: _Rivals,
    ) -> bool:
        """Whether ``sender``'s packet on air from ``t`` for ``us`` µs is lost at
        ``receiver`` to the ``rivals`` it overlaps (it survives ``channel.CAPTURE_DB``
        above them all)."""
        return self._drowned(
            self.rx_power(sender, receiver), rivals.senders(t, t + us / 1e6), receiver
        )

    def _acknowledged(self, sender: LinkEnd) -> None:
        """``sender`` hears that its head PDU was taken: it is done with it."""
        sender.held = False
        _llid, _payload, token = sender.tx.popleft()
        if token is not None:
            sender.controller.on_ll_sent(sender, token)

    def _supervision_expired(self, link: Link, state: _LinkState, now: float) -> bool:
        """Whether a side has had no valid packet for the supervision timeout: then both
        drop the link (0x08)."""
        if now - min(state.heard_c, state.heard_p) <= link.timeout * 0.010 + 1e-9:
            return False
        self._drop(link)
        return True

    def _drop(self, link: Link) -> None:
        """Both sides give up on ``link`` at once: connection timeout (0x08)."""
        self.close_link(link)
        for end in (link.central, link.peripheral):
            if not end.controller.closed:
                end.controller.on_link_lost(end)

    def _assess(self, link: Link) -> None:
        """Whether ``link`` is clean under the present conditions (nothing can be lost
        either way: its idle events are counted in closed form). A link that stops being
        clean runs every event from now on, its last valid packets in the last event."""
        state: _LinkState | None = link.state
        if state is None or not link.alive:
            return
        c, p = link.central.controller, link.peripheral.controller
        clean = (
            not any(ch < DATA_CHANNELS for ch in self.conditions.jammed)
            and self._clear(c, p, link.phy_c_to_p)
            and self._clear(p, c, link.phy_p_to_c)
        )
        if state.clean and not clean:
            now = self.loop.time()
            events = max(0, math.floor((now - state.anchor) / state.interval))
            last = min(now, state.anchor + events * state.interval)
            state.heard_c = max(state.heard_c, last)
            state.heard_p = max(state.heard_p, last)
        state.clean = clean
        if not clean:
            self.kick(link)

    def channel_changed(self) -> None:
        super().channel_changed()
        self._clear_pairs.clear()
        for link in list(self.links):
            self._assess(link)

    def _scheduled(self, link: Link, state: _LinkState, n: int) -> bool:
        """Whether event ``n`` of ``link`` gets the radios of both its devices.

        A controller has one radio: when one of its links' events overlaps another's
        (several links, anchors close together), its scheduler serves one and skips the
        other for that interval, as NimBLE's and Zephyr's do. The rule here, deterministic:
        an event that starts while either device is still in another link's event is
        skipped; and an event yields to another link of its devices that was skipped last
        time and is due before this one could do its first exchange (so neither starves). A
        skipped event is not run: its counter still advances, data waits for the next and it
        costs neither device radio time (the radios were in the other event);
        skipped for longer than the supervision timeout, the link is lost (0x08) on both
        sides, as when the peer stays silent. Only events that carry data are simulated,
        so only those compete (idle events are counted in closed form).
        """
        start = state.anchor + n * state.interval
        ends = _ends_of(link)
        busy = any(
            other is not link and until > start + 1e-9
            for until, other in (self._radio_busy.get(c, (0.0, link)) for c in ends)
        )
        if not busy:
            # its first exchange: the head of each queue, and the gaps
            central, peripheral = link.central, link.peripheral
            exchange = (
                airtime.pdu_time_us(
                    _octets(central.tx[0] if central.tx else None),
                    link.phy_c_to_p,
                    mic=central.encrypted,
                )
                + airtime.pdu_time_us(
                    _octets(_answer(peripheral)),
                    link.phy_p_to_c,
                    mic=peripheral.encrypted,
                )
                + 2 * airtime.T_IFS_US
            ) / 1e6
            for other in self.links:
                other_state: _LinkState | None = other.state
                if (
                    other is link
                    or other_state is None
                    or not other_state.skipped_run
                    or other_state.timer is None
                    or not set(_ends_of(other)) & set(ends)
                ):
                    continue
                if other_state.timer.when() < start + exchange - 1e-9:
                    busy = True  # it is owed this one
                    break
        if not busy:
            state.skipped_run = 0
            return True
        state.skipped += 1
        state.skipped_run += 1
        state.skipped_central += 1
        if n % (state.latency + 1) == 0:
            state.skipped_peripheral += 1
        if state.skipped_run * state.interval > link.timeout * 0.010:
            # no event for a whole supervision timeout: both sides give up (0x08)
            self._drop(link)
            return False
        if link.central.tx or link.peripheral.tx or not state.clean:
            self.kick(link, after=start)  # the next event (next_event is already n + 1)
        return False

    def _end_event(self, link: Link, n: int, used: float) -> None:
        state: _LinkState = link.state
        self._occupy(link, state, n, used)
        self._draw_idle_events(link, n)
        self._account_event(link, state, n, used)
        state.drawn = max(state.drawn, n + 1)
        state.busy_central += 1
        if n % (state.latency + 1) == 0:
            # (an event it would have listened to anyway; the others are extra)
            state.busy_peripheral += 1
        state.next_event = n + 1
        if not link.alive or not (link.central.tx or link.peripheral.tx or not state.clean):
            return
        nxt = n + 1
        if (
            state.clean
            and not link.central.tx
            and not _more(link.peripheral)
            and nxt % (state.latency + 1) == 0
        ):
            # Only the peripheral's last PDU waits, for the central's first packet of the
            # next event: an idle event (counted in closed form, as the peripheral listens
            # to it) that acknowledges it, run in full only if data comes first.
            state.timer = self.loop.call_at(
                state.anchor + nxt * state.interval, self._acknowledge_idle, link, state, nxt
            )
            return
        self.kick(link, after=state.anchor + n * state.interval + used / 1e6)

    def _acknowledge_idle(self, link: Link, state: _LinkState, n: int) -> None:
        """Event ``n`` of a clean link whose peripheral waits only for the acknowledgement
        of its last PDU: the central's empty packet brings it (the event is idle, counted in
        closed form). Data queued meanwhile makes it an event like any other."""
        state.timer = None
        if not link.alive or link.state is not state:
            return
        central, peripheral = link.central, link.peripheral
        if central.tx or _more(peripheral) or not state.clean:
            self._event(link, n)
            return
        if peripheral.held:
            self._acknowledged(peripheral)

    def _occupy(self, link: Link, state: _LinkState, n: int, used: float) -> None:
        """Both devices' radios were in event ``n`` of ``link`` for ``used`` µs."""
        until = state.anchor + n * state.interval + used / 1e6
        for end in (link.central, link.peripheral):
            if self._radio_busy.get(end.controller, (0.0, link))[0] < until:
                self._radio_busy[end.controller] = (until, link)

    def _account_event(self, link: Link, state: _LinkState, n: int, used: float) -> None:
        """Event ``n`` of ``state``'s segment, ``used`` µs long, on both timelines and
        as two radio ramps each."""
        start = state.anchor + n * state.interval
        for end in (link.central, link.peripheral):
            device = self._devices.get(end.controller)
            if device is not None:
                device.activity.add("connection", start, start + used / 1e6)
            self._time(end.controller).add(ramps=2)

    def _settle_link(self, link: Link, now: float) -> None:
        """Count the idle events of ``link`` since the last settle, in closed form."""
        state: _LinkState | None = link.state
        if state is None:
            return
        events = max(0, math.floor((now - state.anchor) / state.interval) + 1)
        self._draw_idle_events(link, events)
        new = events - state.settled
        if new <= 0:
            return
        step = state.latency + 1
        listened = events // step + (1 if events % step else 0)
        listened_before = state.settled // step + (1 if state.settled % step else 0)
        idle_c = max(0, new - state.busy_central - state.skipped_central)
        idle_p = max(
            0, (listened - listened_before) - state.busy_peripheral - state.skipped_peripheral
        )
        c_us = airtime.pdu_time_us(0, link.phy_c_to_p)
        p_us = airtime.pdu_time_us(0, link.phy_p_to_c)
        for end, idle, tx_us, rx_us in (
            (link.central, idle_c, c_us, p_us),
            (link.peripheral, idle_p, p_us, c_us),
        ):
            if idle and end.controller in self._devices:
                self._time(end.controller).add(
                    tx_us=idle * tx_us, rx_us=idle * rx_us, ramps=2 * idle
                )
        state.settled = events
        state.busy_central = state.busy_peripheral = 0
        state.skipped_central = state.skipped_peripheral = 0

    def _draw_idle_events(self, link: Link, upto: int) -> None:
        """Put the events of ``link`` not drawn yet, before event ``upto``, on both devices'
        timelines as empty exchanges (the peripheral's only where it listens)."""
        state: _LinkState = link.state
        if upto <= state.drawn:
            return
        c_us = airtime.pdu_time_us(0, link.phy_c_to_p)
        p_us = airtime.pdu_time_us(0, link.phy_p_to_c)
        length, on = (c_us + airtime.T_IFS_US + p_us) / 1e6, (c_us + p_us) / 1e6
        step = state.latency + 1
        first_p = -(-state.drawn // step) * step
        plans = (
            (link.central, state.drawn, upto - state.drawn, 1),
            (link.peripheral, first_p, -(-(upto - first_p) // step), step),
        )
        for end, first, count, every in plans:
            device = self._devices.get(end.controller)
            if device is not None and count > 0:
                device.activity.add_periodic(
                    "connection",
                    state.anchor + first * state.interval,
                    state.interval * every,
                    count,
                    length,
                    on,
                )
        state.drawn = upto

    def link_parameters_changed(self, link: Link) -> None:
        state: _LinkState | None = link.state
        if state is None:
            return
        now = self.loop.time()
        self._settle_link(link, now)
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        interval = link.interval * 0.00125
        if (interval, link.latency) != (state.interval, state.latency):
            # a new segment: the first event at the new interval after the instant (the
            # event counter goes on: the events settled so far are numbered before it)
            link.state = _LinkState(
                now + interval,
                interval,
                link.latency,
                base=state.base + state.settled,
                clean=state.clean,
                heard_c=state.heard_c,
                heard_p=state.heard_p,
            )
        self._assess(link)  # (a new PHY changes what the link can lose)
        if link.central.tx or link.peripheral.tx:
            self.kick(link)

    def close_link(self, link: Link) -> None:
        # a gone link competes no more (and must not keep its controllers alive)
        self._forget_due(link)
        for controller in _ends_of(link):
            if self._radio_busy.get(controller, (0.0, None))[1] is link:
                del self._radio_busy[controller]
        if link.state is not None and link.alive:
            self._settle_link(link, self.loop.time())
            if link.state.timer is not None:
                link.state.timer.cancel()
                link.state.timer = None
        super().close_link(link)
        if len(self.links) < 2:  # no collisions between links now: forget the records
            self._data_air.clear()
            self._data_busy.clear()
            self._due.clear()
            self._due_on.clear()

    def lose_link(self, link: Link, silent: LinkLayer | None = None) -> None:
        """A side went silent: the other notices after the supervision timeout."""
        if not link.alive:
            return
        self.close_link(link)
        timeout = link.timeout * 0.010
        for end in (link.central, link.peripheral):
            if end.controller is not silent:
                self.loop.call_later(timeout, self._timed_out, end)

    def _timed_out(self, end: LinkEnd) -> None:
        if not end.controller.closed:
            end.controller.on_link_lost(end)

    def _log_failure(self, what: object) -> None:
        import logging

        logging.getLogger(__name__).exception("%r failed in an air-time event", what)


def _ends_of(link: Link) -> tuple[LinkLayer, LinkLayer]:
    return link.central.controller, link.peripheral.controller


def _more(peripheral: LinkEnd) -> bool:
    """Whether ``peripheral`` has a PDU to send beyond one the central took (which the
    central's next packet acknowledges): its more-data bit."""
    return len(peripheral.tx) > (1 if peripheral.held else 0)


def _answer(peripheral: LinkEnd) -> tuple[int, Any, Any] | None:
    """The PDU ``peripheral`` answers the central's next packet with (past its head if
    that packet acknowledges it)."""
    tx = peripheral.tx
    skip = 1 if peripheral.held else 0
    return tx[skip] if len(tx) > skip else None


def _octets(pdu: tuple[int, Any, Any] | None, encrypted: bool = False) -> int:
    """Octets of ``pdu``'s payload on air, MIC included on an encrypted link."""
    if pdu is None:
        return 0
    llid, payload, _ = pdu
    size = CONTROL_PDU_SIZE.get(payload[0], 1) if llid == LLID_CONTROL else len(payload)
    return size + (airtime.MIC_OCTETS if encrypted and size else 0)

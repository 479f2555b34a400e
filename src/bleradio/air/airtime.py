"""Air-time arithmetic of LE radio packets: pure functions, no I/O, no clocks.

Times are in microseconds. Sources: Core Spec 5.x Vol 6 Part B (packet format, T_IFS,
data length), and a current profile from a public datasheet (``NRF52832``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

T_IFS_US = 150  # inter frame space

PHY_1M = 1
PHY_2M = 2

# Octets around a PDU's payload: preamble (1 on 1M, 2 on 2M), access address (4),
# PDU header (2), CRC (3).
_OVERHEAD = {PHY_1M: 1 + 4 + 2 + 3, PHY_2M: 2 + 4 + 2 + 3}
_US_PER_OCTET = {PHY_1M: 8, PHY_2M: 4}
MIC_OCTETS = 4

# Advertising channel PDU payloads (AdvA and friends), Vol 6 Part B 2.3
ADV_ADDRESS_OCTETS = 6
SCAN_REQ_PAYLOAD = 12  # ScanA + AdvA
CONNECT_IND_PAYLOAD = 34  # InitA + AdvA + LLData(22)
ADV_DIRECT_IND_PAYLOAD = 12  # AdvA + TargetA

ADV_CHANNELS = (37, 38, 39)


def pdu_time_us(payload_octets: int, phy: int = PHY_1M, *, mic: bool = False) -> int:
    """Air time of one PDU with ``payload_octets`` of payload (MIC added if encrypted)."""
    octets = _OVERHEAD[phy] + payload_octets + (MIC_OCTETS if mic and payload_octets else 0)
    return octets * _US_PER_OCTET[phy]


def adv_pdu_time_us(data_octets: int) -> int:
    """ADV_IND / ADV_SCAN_IND / ADV_NONCONN_IND / SCAN_RSP with ``data_octets`` of AD data."""
    return pdu_time_us(ADV_ADDRESS_OCTETS + data_octets, PHY_1M)


def exchange_time_us(
    central_octets: int, peripheral_octets: int, phy: int = PHY_1M, *, mic: bool = False
) -> int:
    """One central->peripheral packet and the reply, each followed by T_IFS."""
    return (
        pdu_time_us(central_octets, phy, mic=mic)
        + T_IFS_US
        + pdu_time_us(peripheral_octets, phy, mic=mic)
        + T_IFS_US
    )


def packets_per_event(
    event_us: int, data_octets: int, phy: int = PHY_1M, *, mic: bool = False
) -> int:
    """Full data packets one side can send in a connection event of ``event_us``
    (the other side answering with empty packets), at least one."""
    return max(1, event_us // exchange_time_us(data_octets, 0, phy, mic=mic))


def max_throughput_bps(
    interval_us: int,
    data_octets: int,
    phy: int = PHY_1M,
    *,
    event_us: int | None = None,
    l2cap_overhead: int = 4,
    att_overhead: int = 3,
    att_mtu: int | None = None,
    mic: bool = False,
) -> float:
    """Upper bound of one-way application throughput (bits/s) for notifications.

    Each notification of ATT_MTU-3 bytes travels as an L2CAP PDU (4-byte header) cut into
    LL packets of ``data_octets``. A connection event (default: the interval less T_IFS)
    holds as many whole exchanges (a data packet, T_IFS, an empty reply, T_IFS) as fit.
    """
    event = interval_us - T_IFS_US if event_us is None else event_us
    mtu = att_mtu if att_mtu is not None else data_octets - l2cap_overhead
    sdu = mtu + l2cap_overhead  # L2CAP PDU of one notification
    fragments = -(-sdu // data_octets)
    per_event = packets_per_event(event, min(data_octets, sdu), phy, mic=mic)
    notifications_per_second = per_event / fragments * 1_000_000 / interval_us
    return notifications_per_second * (mtu - att_overhead) * 8


@dataclass(frozen=True)
class CurrentProfile:
    """Supply currents of a radio chip, in mA, and its radio ramp-up."""

    name: str
    tx_ma: float
    rx_ma: float
    idle_ma: float
    ramp_us: int
    ramp_ma: float

    def charge_uc(self, tx_us: float, rx_us: float, off_us: float, ramps: int) -> float:
        """Charge in microcoulombs (mA x ms = uC)."""
        return (
            self.tx_ma * tx_us
            + self.rx_ma * rx_us
            + self.idle_ma * off_us
            + self.ramp_ma * ramps * self.ramp_us
        ) / 1000.0


# Nordic nRF52832 Product Specification v1.4, DC/DC on, 3 V: radio TX at 0 dBm 5.3 mA,
# RX at 1 Mbit/s 5.4 mA, System ON idle with RTC and full RAM retention 1.9 uA,
# TX/RX ramp-up (normal mode) 140 us, counted at the RX current.
NRF52832 = CurrentProfile(
    "nRF52832", tx_ma=5.3, rx_ma=5.4, idle_ma=0.0019, ramp_us=140, ramp_ma=5.4
)
PROFILES = {"nrf52832": NRF52832}


def parse_profile(text: str) -> CurrentProfile:
    """A current profile by name (``nrf52832``), or given as ``TX_MA,RX_MA,IDLE_MA,RAMP_US``
    (optionally ``NAME=`` before it), e.g. ``esp32=130,95,0.8,150``: the ramp-up is counted
    at the RX current. ValueError says what is wrong."""
    known = PROFILES.get(text.strip().lower())
    if known is not None:
        return known
    name, _, numbers = text.rpartition("=")
    parts = numbers.split(",")
    if len(parts) != 4:
        raise ValueError(
            f"current profile {text!r}: expected a name ({', '.join(PROFILES)}) or "
            "TX_MA,RX_MA,IDLE_MA,RAMP_US"
        )
    try:
        tx_ma, rx_ma, idle_ma = (float(p) for p in parts[:3])
        ramp_us = int(parts[3])
    except ValueError:
        raise ValueError(f"current profile {text!r}: the figures must be numbers") from None
    if min(tx_ma, rx_ma, idle_ma, ramp_us) < 0:
        raise ValueError(f"current profile {text!r}: the figures must not be negative")
    return CurrentProfile(name.strip() or "custom", tx_ma, rx_ma, idle_ma, ramp_us, rx_ma)


@dataclass
class RadioTime:
    """Time a device's radio spent transmitting, receiving and off, and its ramp-ups."""

    tx_us: float = 0.0
    rx_us: float = 0.0
    ramps: int = 0

    def add(self, tx_us: float = 0.0, rx_us: float = 0.0, ramps: int = 0) -> None:
        self.tx_us += tx_us
        self.rx_us += rx_us
        self.ramps += ramps

    def report(self, elapsed_us: float, profile: CurrentProfile = NRF52832) -> EnergyReport:
        on = self.tx_us + self.rx_us + self.ramps * profile.ramp_us
        off = max(0.0, elapsed_us - on)
        charge = profile.charge_uc(self.tx_us, self.rx_us, off, self.ramps)
        average = charge * 1000.0 / elapsed_us if elapsed_us > 0 else 0.0
        return EnergyReport(
            elapsed_ms=elapsed_us / 1000.0,
            tx_ms=self.tx_us / 1000.0,
            rx_ms=self.rx_us / 1000.0,
            ramp_ms=self.ramps * profile.ramp_us / 1000.0,
            off_ms=off / 1000.0,
            duty_cycle=on / elapsed_us if elapsed_us > 0 else 0.0,
            charge_uc=charge,
            average_ma=average,
            profile=profile.name,
        )


@dataclass(frozen=True)
class EnergyReport:
    """Radio time and charge of one device over ``elapsed_ms``."""

    elapsed_ms: float
    tx_ms: float
    rx_ms: float
    ramp_ms: float
    off_ms: float
    duty_cycle: float
    charge_uc: float
    average_ma: float
    profile: str


# ---------------------------------------------------------------------- discovery odds
ADV_DELAY_MEAN_S = 0.005  # advDelay: 0-10 ms added to every advertising interval

# The advertiser a scan is judged against when nothing else is known: MicroPython's aioble
# examples (and the seed's sensor) advertise every 250 ms.
TYPICAL_ADVERTISING_INTERVAL_S = 0.25


def discovery_probability(
    adv_interval_s: float, scan_interval_s: float, scan_window_s: float, duration_s: float
) -> float:
    """Odds that a scan (``scan_window_s`` of listening every ``scan_interval_s``, for
    ``duration_s`` from the start of a window) hears at least one advertising event of an
    advertiser that started at a random time with ``adv_interval_s`` (plus advDelay).

    An advertising event puts its PDU on the three primary channels within about a
    millisecond, so a window on any channel hears the events that fall inside it; advDelay
    drifts the events against the windows. Windows sparser than the events (the scan
    interval at least the advertising period) are independent tries, each hearing an
    event with odds ``window / period``; denser windows make each event an independent
    try, heard with odds ``window / interval`` (the duty cycle). A continuous scan hears
    the first event that comes.
    """
    if duration_s <= 0 or scan_window_s <= 0:
        return 0.0
    period = adv_interval_s + ADV_DELAY_MEAN_S
    if scan_interval_s < period:
        duty = min(1.0, scan_window_s / scan_interval_s)
        events = duration_s / period
        whole = math.floor(events)
        return 1.0 - (1.0 - duty) ** whole * (1.0 - (events - whole) * duty)
    miss = 1.0
    k = 0
    while k * scan_interval_s < duration_s:
        listened = min(scan_window_s, duration_s - k * scan_interval_s)
        miss *= max(0.0, 1.0 - listened / period)
        if miss == 0.0:
            break
        k += 1
    return 1.0 - miss


def scan_time_for(
    probability: float, adv_interval_s: float, scan_interval_s: float, scan_window_s: float
) -> float:
    """Seconds of scanning that reach ``probability`` of hearing the advertiser (see
    ``discovery_probability``; sparse scans count in whole scan intervals)."""
    period = adv_interval_s + ADV_DELAY_MEAN_S
    if scan_interval_s < period:
        # whole advertising events give (1 - duty)^n; the last one is linear: solve there
        duty = min(1.0, scan_window_s / scan_interval_s)
        miss = 1.0 - probability
        whole = 0
        while (1.0 - duty) ** (whole + 1) > miss:
            whole += 1
        fraction = (1.0 - miss / (1.0 - duty) ** whole) / duty
        return (whole + fraction) * period
    p = min(1.0, scan_window_s / period)
    if p >= 1.0:
        # the window spans a whole advertising period: as with continuous listening
        return probability * period
    windows = math.ceil(math.log(1.0 - probability) / math.log(1.0 - p))
    return (windows - 1) * scan_interval_s + scan_window_s

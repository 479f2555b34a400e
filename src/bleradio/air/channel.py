"""The radio channel as pure arithmetic: path loss, packet errors, collisions, channel
selection, and the theory the measurements are compared with. No clocks, no state.

Every default is a published figure (``docs/channel.md`` lists them with their sources):

- Path loss: the log-distance law ``PL(d) = PL(1 m) + 10 n log10(d / 1 m)`` with the
  free-space loss at 1 m for 2.44 GHz (Friis: 20 log10(4 pi d / lambda) = 40.2 dB) and
  exponent n = 2.0 (free space; 2.5-4 indoors, Rappaport, *Wireless Communications*,
  table 4.2), plus log-normal fading of ``FADING_SIGMA_DB`` per packet.
- Sensitivity: the level at which the bit error rate is 0.1 % (the reference the Core
  Specification uses, Vol 6 Part A 4.1); the figures are the nRF52832's (Product
  Specification v1.4: -96 dBm at 1 Mbit/s, -93 dBm at 2 Mbit/s).
- Bit errors: non-coherent binary FSK, BER = 1/2 exp(-Eb/N0 / 2) (Proakis, *Digital
  Communications*), scaled so that it is 0.1 % at the sensitivity; a packet survives
  when all its bits after the preamble do.
- Capture: a packet survives a collision when it is ``CAPTURE_DB`` above the sum of the
  interferers (co-channel C/I, Core Vol 6 Part A 4.2: 21 dB). Interferers are the packets
  that overlap it in time on its channel (``overlapping``), on the advertising channels
  and on the data channels alike.
- Channel selection: Algorithm #1 and #2 (Core Vol 6 Part B 4.5.8).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TypeVar

from .airtime import PHY_1M, PHY_2M

T = TypeVar("T")

SPEED_OF_LIGHT = 299_792_458.0
CENTRE_FREQUENCY_HZ = 2.44e9
# Friis free-space loss at 1 m: 20 log10(4 pi / lambda), lambda = c / 2.44 GHz
REFERENCE_LOSS_DB = 20 * math.log10(4 * math.pi * CENTRE_FREQUENCY_HZ / SPEED_OF_LIGHT)
PATH_LOSS_EXPONENT = 2.0
MIN_DISTANCE_M = 0.1  # the law holds in the far field; nearer is counted as 10 cm
FADING_SIGMA_DB = 2.5
TX_POWER_DBM = 0.0
SENSITIVITY_DBM = {PHY_1M: -96.0, PHY_2M: -93.0}
SENSITIVITY_BER = 1e-3
CAPTURE_DB = 21.0
RSSI_MIN, RSSI_MAX = -127, 20  # what HCI can carry (Vol 4 Part E 7.7.65.2)

# Eb/N0 (linear) at which non-coherent FSK has the sensitivity's bit error rate
_EBN0_AT_SENSITIVITY = 2 * math.log(0.5 / SENSITIVITY_BER)

DATA_CHANNELS = 37
CHANNEL_MAP_ALL = (1 << DATA_CHANNELS) - 1
ADV_CHANNELS = (37, 38, 39)


def distance(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Euclidean distance in metres between two positions (2 or 3 coordinates)."""
    return math.dist(a, b)


def path_loss_db(
    distance_m: float,
    exponent: float = PATH_LOSS_EXPONENT,
    reference_db: float = REFERENCE_LOSS_DB,
) -> float:
    """Log-distance path loss at ``distance_m`` (at least ``MIN_DISTANCE_M``)."""
    return reference_db + 10.0 * exponent * math.log10(max(distance_m, MIN_DISTANCE_M))


def mean_rx_power_dbm(
    tx_power_dbm: float,
    distance_m: float,
    exponent: float = PATH_LOSS_EXPONENT,
    extra_db: float = 0.0,
) -> float:
    """Received power before fading: TX power less path loss and extra attenuation."""
    return tx_power_dbm - path_loss_db(distance_m, exponent) - extra_db


def rssi(power_dbm: float) -> int:
    """The RSSI a controller reports for a packet received at ``power_dbm``."""
    if power_dbm != power_dbm or power_dbm == -math.inf:
        return RSSI_MIN
    return max(RSSI_MIN, min(RSSI_MAX, round(power_dbm)))


def bit_error_rate(power_dbm: float, sensitivity_dbm: float) -> float:
    """Bit error rate at ``power_dbm``: non-coherent FSK, 0.1 % at the sensitivity."""
    if power_dbm == -math.inf:
        return 0.5
    ebn0 = _EBN0_AT_SENSITIVITY * 10.0 ** ((power_dbm - sensitivity_dbm) / 10.0)
    return min(0.5, 0.5 * math.exp(-ebn0 / 2.0))


def packet_bits(pdu_octets: int) -> int:
    """Bits of a packet that must arrive intact: access address, PDU header and payload
    (``pdu_octets``: payload plus MIC), CRC."""
    return 8 * (4 + 2 + pdu_octets + 3)


def packet_error_rate(
    power_dbm: float, pdu_octets: int, phy: int = PHY_1M, extra_per: float = 0.0
) -> float:
    """Probability that a packet with ``pdu_octets`` of payload, received at
    ``power_dbm`` on ``phy``, is lost (a bit error, or the uniform ``extra_per``)."""
    ber = bit_error_rate(power_dbm, SENSITIVITY_DBM[phy])
    survive = (1.0 - ber) ** packet_bits(pdu_octets) if ber < 0.5 else 0.0
    return 1.0 - survive * (1.0 - extra_per)


def captured(
    signal_dbm: float, interferers_dbm: Iterable[float], margin_db: float = CAPTURE_DB
) -> bool:
    """Whether a packet at ``signal_dbm`` survives a collision with ``interferers_dbm``
    (their powers add): only with ``margin_db`` to spare."""
    total_mw = sum(10.0 ** (p / 10.0) for p in interferers_dbm if p != -math.inf)
    if total_mw == 0.0:
        return True
    return signal_dbm - 10.0 * math.log10(total_mw) >= margin_db


def overlapping(start: float, end: float, packets: Iterable[tuple[float, float, T]]) -> list[T]:
    """The senders of ``packets`` (start, end, sender) on air at some instant of
    [``start``, ``end``): those that overlap it in time (ends that touch do not)."""
    return [sender for a, b, sender in packets if a < end and b > start]


# ---------------------------------------------------------------------- channel selection
def used_channels(channel_map: int) -> list[int]:
    """The data channels (0-36) a channel map uses, ascending."""
    return [c for c in range(DATA_CHANNELS) if channel_map >> c & 1]


def csa1(counter: int, hop: int, channel_map: int = CHANNEL_MAP_ALL) -> int:
    """Channel Selection Algorithm #1 (Core Vol 6 Part B 4.5.8.2): the data channel of
    connection event ``counter``: unmapped channel (hop * (counter + 1)) mod 37, remapped
    onto the used channels when the map leaves it out."""
    unmapped = (hop * (counter + 1)) % DATA_CHANNELS
    if channel_map >> unmapped & 1:
        return unmapped
    used = used_channels(channel_map)
    return used[unmapped % len(used)]


def csa1_meetings(hop_a: int, counter_a: int, hop_b: int, counter_b: int, events: int) -> int:
    """Of ``events`` consecutive connection events of two links at one interval (their
    counters at the first: ``counter_a``, ``counter_b``), how many put both on the same
    data channel with CSA#1 over all 37 channels. With different hops it is one in every
    37 (37 is prime: hop_a (ca + k + 1) = hop_b (cb + k + 1) mod 37 has one solution k per
    37); with equal hops, all of them or none."""
    return sum(csa1(counter_a + k, hop_a) == csa1(counter_b + k, hop_b) for k in range(events))


def _permute(value: int) -> int:
    """CSA#2's permutation: the bits of each octet of a 16-bit value reversed."""
    low = int(f"{value & 0xFF:08b}"[::-1], 2)
    high = int(f"{value >> 8 & 0xFF:08b}"[::-1], 2)
    return high << 8 | low


def _mam(a: int, b: int) -> int:
    return (17 * a + b) & 0xFFFF


def csa2_prn(counter: int, channel_identifier: int) -> int:
    """CSA#2's pseudo-random number prn_e for event ``counter`` (Vol 6 Part B 4.5.8.3.3)."""
    prn = (counter ^ channel_identifier) & 0xFFFF
    for _ in range(3):
        prn = _mam(_permute(prn), channel_identifier)
    return prn ^ channel_identifier


def csa2(counter: int, access_address: int, channel_map: int = CHANNEL_MAP_ALL) -> int:
    """Channel Selection Algorithm #2 (Core Vol 6 Part B 4.5.8.3): the data channel of
    connection event ``counter`` on a link with ``access_address``."""
    identifier = (access_address >> 16 ^ access_address) & 0xFFFF
    prn = csa2_prn(counter & 0xFFFF, identifier)
    unmapped = prn % DATA_CHANNELS
    if channel_map >> unmapped & 1:
        return unmapped
    used = used_channels(channel_map)
    return used[(len(used) * prn) >> 16]


# ---------------------------------------------------------------------- theory
def collision_survival(others: int, pdu_us: float, period_us: float) -> float:
    """Odds that a PDU of ``pdu_us`` escapes ``others`` transmitters that each put one
    PDU as long on its channel every ``period_us``, at independent random phases (pure
    ALOHA: another start within ``pdu_us`` on either side destroys it; no capture)."""
    vulnerable = min(1.0, 2.0 * pdu_us / period_us)
    return (1.0 - vulnerable) ** others


def streaming_pair_loss(offset: float, channels: int = DATA_CHANNELS) -> tuple[float, float]:
    """Shares of their connection events that two links near each other lose to one
    another when both stream (each event fills its interval), at one interval, the
    second's anchors ``offset`` (0 to 1, of the interval) after the first's, hopping so
    that two overlapping events meet on one channel once in ``channels`` (CSA#1 with
    different hops: ``csa1_meetings``). Every event of the first overlaps two of the
    second's: the one under way when it starts, and the next, which starts inside it.
    When two events meet (no capture), the one that starts inside the other loses all of
    it and the other loses the rest from there (both close after two CRC errors)."""
    return (2.0 - offset) / channels, (1.0 + offset) / channels


def _event_states(
    exchanges: int, c_ok: float, p_ok: float, source_is_central: bool, taken: bool
) -> tuple[float, float]:
    """One connection event from a start state: (expected new PDUs delivered, odds that
    the source's PDU in flight is taken but not acknowledged when it closes)."""
    # (errors in a row at the peripheral, at the central, head taken not acknowledged)
    states: dict[tuple[int, int, bool], float] = {(0, 0, taken): 1.0}
    delivered = 0.0
    ended_taken = 0.0
    for _ in range(exchanges):
        nxt: dict[tuple[int, int, bool], float] = {}
        for (err_p, err_c, held), prob in states.items():
            for c_got, pc in ((True, c_ok), (False, 1.0 - c_ok)):
                if pc == 0.0:
                    continue
                e_p = 0 if c_got else err_p + 1
                h, gain = held, 0.0
                if c_got:
                    if source_is_central and not h:
                        h, gain = True, 1.0  # the peripheral takes the new PDU
                    elif not source_is_central and h:
                        h = False  # the central's packet acknowledges the peripheral's
                if e_p >= 2:  # two CRC errors in a row: the peripheral closes the event
                    delivered += prob * pc * gain
                    ended_taken += prob * pc * h
                    continue
                for p_got, pp in ((True, p_ok), (False, 1.0 - p_ok)):
                    if pp == 0.0:
                        continue
                    e_c = 0 if p_got else err_c + 1
                    h2, g2 = h, gain
                    if p_got:
                        if source_is_central and h2:
                            h2 = False  # acknowledged: the next PDU goes next
                        elif not source_is_central and not h2:
                            h2, g2 = True, gain + 1.0  # the central takes the new PDU
                    weight = prob * pc * pp
                    delivered += weight * g2
                    if e_c >= 2:  # the central closes the event
                        ended_taken += weight * h2
                        continue
                    key = (e_p, e_c, h2)
                    nxt[key] = nxt.get(key, 0.0) + weight
        states = nxt
    ended_taken += sum(p for (_, _, h), p in states.items() if h)
    return delivered, ended_taken


def delivered_per_event(
    exchanges: int, loss_c_to_p: float, loss_p_to_c: float, *, source_is_central: bool
) -> float:
    """Expected new data PDUs per connection event, in the long run, while one side
    streams (``source_is_central``, else the peripheral) and the other answers with empty
    packets, each packet lost with its direction's odds, in events of at most
    ``exchanges`` exchanges. The link layer of the Core Specification (Vol 6 Part B 4.5.6,
    4.5.9): a PDU not acknowledged is sent again (a copy already taken is not taken
    twice), and an event closes after two consecutive CRC errors at either side. Exact
    over the event's states; events chain through the PDU in flight at their close."""
    c_ok, p_ok = 1.0 - loss_c_to_p, 1.0 - loss_p_to_c
    d_free, t_free = _event_states(exchanges, c_ok, p_ok, source_is_central, False)
    d_held, t_held = _event_states(exchanges, c_ok, p_ok, source_is_central, True)
    # stationary odds of starting an event with the PDU taken but not acknowledged
    denominator = 1.0 - t_held + t_free
    held = t_free / denominator if denominator > 0 else 0.0
    return (1.0 - held) * d_free + held * d_held

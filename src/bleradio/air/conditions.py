"""Conditions: the state of one medium's channel, which the medium consults for every
packet and which a scenario, its timed events or a test change.

Where each device stands, its TX power, extra attenuation between pairs (walls), pairs
cut off from each other, a uniform extra packet loss, jammed channels, and devices whose
radio is off. Devices are named by label. A device the scenario does not place stands at
a point within ``DEFAULT_RADIUS_M`` of the origin, picked from its label (so the same
label stands at the same place on every run): any two such devices are close enough that
nothing is lost, as before positions existed.
"""

from __future__ import annotations

import hashlib
import math

from . import channel
from .scenario import ACTIONS, Position, Scenario, ScenarioError, parse_position

DEFAULT_RADIUS_M = 5.0


def default_position(label: str) -> Position:
    """Where an unplaced device stands: a point of the disc of ``DEFAULT_RADIUS_M`` around
    the origin, uniform over its area, from the label's hash."""
    digest = hashlib.sha256(label.encode()).digest()
    u = int.from_bytes(digest[:4], "little") / 2**32
    v = int.from_bytes(digest[4:8], "little") / 2**32
    r = DEFAULT_RADIUS_M * math.sqrt(u)
    return (r * math.cos(2 * math.pi * v), r * math.sin(2 * math.pi * v), 0.0)


class Conditions:
    """The live channel state (see the module docstring); ``version`` counts changes."""

    def __init__(self, scenario: Scenario | None = None) -> None:
        self.scenario = scenario or Scenario()
        self.version = 0
        self.restore()

    def restore(self) -> None:
        """Back to the scenario's starting state."""
        start = self.scenario
        self.exponent = start.path_loss_exponent
        self.per = start.per
        self.positions: dict[str, Position] = dict(start.positions)
        self.tx_power: dict[str, float] = dict(start.tx_power_dbm)
        self.walls: dict[frozenset[str], float] = dict(start.walls)
        self.cuts: set[frozenset[str]] = set()
        self.jammed: frozenset[int] = frozenset()
        self.off: set[str] = set()
        self.version += 1

    # ------------------------------------------------------------------ queries
    def name(self, label: str) -> str:
        """The name the conditions know a device by: a second "alpha" on a medium is
        "alpha#2", and is "alpha" here unless something names "alpha#2" itself."""
        if "#" not in label:
            return label
        mentioned = (
            label in self.positions
            or label in self.tx_power
            or label in self.off
            or any(label in pair for pair in (*self.walls, *self.cuts))
        )
        return label if mentioned else label.split("#", 1)[0]

    def position(self, label: str) -> Position:
        found = self.positions.get(self.name(label))
        return found if found is not None else default_position(label)

    def tx_power_dbm(self, label: str) -> float:
        return self.tx_power.get(self.name(label), channel.TX_POWER_DBM)

    def mean_power_dbm(self, sender: str, receiver: str) -> float:
        """What ``receiver`` gets of ``sender`` before fading (-inf: nothing at all)."""
        sender, receiver = self.name(sender), self.name(receiver)
        pair = frozenset((sender, receiver))
        if sender in self.off or receiver in self.off or pair in self.cuts:
            return -math.inf
        return channel.mean_rx_power_dbm(
            self.tx_power_dbm(sender),
            channel.distance(self.position(sender), self.position(receiver)),
            self.exponent,
            self.walls.get(pair, 0.0),
        )

    # ------------------------------------------------------------------ changes
    def move(self, label: str, position: Position | tuple[float, float]) -> None:
        self.positions[label] = _checked_position(position)
        self.version += 1

    def set_tx_power(self, label: str, dbm: float) -> None:
        self.tx_power[label] = _checked_number(dbm, "tx power (dBm)", -40, 20)
        self.version += 1

    def set_wall(self, a: str, b: str, loss_db: float) -> None:
        self.walls[_pair(a, b)] = _checked_number(loss_db, "wall loss (dB)", 0, math.inf)
        self.version += 1

    def cut(self, a: str, b: str) -> None:
        self.cuts.add(_pair(a, b))
        self.version += 1

    def uncut(self, a: str, b: str) -> None:
        self.cuts.discard(_pair(a, b))
        self.version += 1

    def set_per(self, per: float) -> None:
        self.per = _checked_number(per, "packet error rate", 0.0, 1.0)
        self.version += 1

    def jam(self, channels: frozenset[int] | set[int] | list[int] | tuple[int, ...]) -> None:
        for c in channels:
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 39:
                raise ValueError(f"jam: {c!r} is no channel (expected 0-39)")
        self.jammed = frozenset(channels)
        self.version += 1

    def power_off(self, label: str) -> None:
        self.off.add(label)
        self.version += 1

    def power_on(self, label: str) -> None:
        self.off.discard(label)
        self.version += 1

    def apply(self, actions: dict[str, object]) -> None:
        """A scenario event's actions (already checked by ``parse_scenario``), in the
        order of ``ACTIONS``."""
        for name in ACTIONS:
            if name not in actions:
                continue
            value = actions[name]
            if name == "restore":
                self.restore()
            elif name == "move":
                for label, position in value.items():  # type: ignore[attr-defined]
                    self.move(label, position)
            elif name == "tx_power":
                for label, dbm in value.items():  # type: ignore[attr-defined]
                    self.set_tx_power(label, dbm)
            elif name in ("cut", "uncut"):
                getattr(self, name)(*sorted(value))  # type: ignore[call-overload]
            elif name == "wall":
                pair, loss = value  # type: ignore[misc]
                self.set_wall(*sorted(pair), loss)
            elif name == "per":
                self.set_per(value)  # type: ignore[arg-type]
            elif name == "jam":
                self.jam(value)  # type: ignore[arg-type]
            else:
                getattr(self, name)(value)


def _pair(a: str, b: str) -> frozenset[str]:
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        raise ValueError(f"expected two different device labels, got {a!r} and {b!r}")
    return frozenset((a, b))


def _checked_number(value: float, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{what}: expected a number from {low} to {high}, got {value!r}")
    return float(value)


def _checked_position(position: Position | tuple[float, float]) -> Position:
    try:
        return parse_position(list(position), "position")
    except (ScenarioError, TypeError) as error:
        raise ValueError(str(error)) from None


__all__ = ["DEFAULT_RADIUS_M", "Conditions", "default_position"]

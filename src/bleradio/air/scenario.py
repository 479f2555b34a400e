"""Scenarios: where the devices of a virtual radio stand and what happens to the air.

A scenario is a JSON (or TOML) file, or the same data built in Python::

    {
      "path_loss_exponent": 2.0,
      "per": 0.0,
      "devices": {"sensor": {"position": [0, 0], "tx_power_dbm": 0},
                  "collector": {"position": [3, 0, 1]}},
      "walls": [{"between": ["sensor", "collector"], "loss_db": 10}],
      "events": [{"at_s": 3.0, "move": {"sensor": [40, 0]}},
                 {"at_s": 5.0, "cut": ["sensor", "collector"]},
                 {"at_s": 6.0, "uncut": ["sensor", "collector"]},
                 {"at_s": 7.0, "per": 0.3},
                 {"at_s": 8.0, "jam": [37, 38]},
                 {"at_s": 9.0, "power_off": "sensor"},
                 {"at_s": 10.0, "power_on": "sensor"},
                 {"at_s": 11.0, "restore": true}]
    }

Devices are named by label (a program's file stem in ``aioble run``). ``load_scenario``
checks everything before anything runs: a bad file is a ``ScenarioError`` naming the key
and what is wrong. ``Conditions`` (``conditions.py``) holds the state it sets.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Position = tuple[float, float, float]

# what an event may do, and the shape of its value
ACTIONS = (
    "move",
    "tx_power",
    "cut",
    "uncut",
    "wall",
    "per",
    "jam",
    "power_off",
    "power_on",
    "restore",
)


class ScenarioError(ValueError):
    """A scenario that cannot be used: the message names the key and the problem."""


@dataclass(frozen=True)
class Event:
    """At ``at_s`` seconds after the radio's first device joined, do ``actions`` (in the
    order of ``ACTIONS``): a dict of action name to its (checked) value."""

    at_s: float
    actions: dict[str, Any]


@dataclass
class Scenario:
    """The starting state of the channel and its timed events (see the module docstring)."""

    path_loss_exponent: float = 2.0
    per: float = 0.0
    positions: dict[str, Position] = field(default_factory=dict)
    tx_power_dbm: dict[str, float] = field(default_factory=dict)
    walls: dict[frozenset[str], float] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


def _number(value: Any, where: str, *, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(f"{where}: expected a number, got {value!r}")
    if not low <= value <= high:
        raise ScenarioError(f"{where}: {value!r} is out of range ({low} to {high})")
    return float(value)


def _label(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where}: expected a device label (a string), got {value!r}")
    return value


def parse_position(value: Any, where: str) -> Position:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise ScenarioError(f"{where}: expected [x, y] or [x, y, z] (metres), got {value!r}")
    coords = [_number(v, where) for v in value]
    return (coords[0], coords[1], coords[2] if len(coords) == 3 else 0.0)


def _pair(value: Any, where: str) -> frozenset[str]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ScenarioError(f"{where}: expected two device labels, got {value!r}")
    a, b = (_label(v, where) for v in value)
    if a == b:
        raise ScenarioError(f"{where}: the two labels are the same ({a!r})")
    return frozenset((a, b))


def _per(value: Any, where: str) -> float:
    return _number(value, where, low=0.0, high=1.0)


def _channels(value: Any, where: str) -> frozenset[int]:
    if not isinstance(value, list | tuple):
        raise ScenarioError(f"{where}: expected a list of channels (0-39), got {value!r}")
    channels = set()
    for channel in value:
        if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel <= 39:
            raise ScenarioError(f"{where}: {channel!r} is no channel (expected 0-39)")
        channels.add(channel)
    return frozenset(channels)


def _wall(value: Any, where: str) -> tuple[frozenset[str], float]:
    if not isinstance(value, dict) or set(value) != {"between", "loss_db"}:
        raise ScenarioError(
            f'{where}: expected {{"between": [A, B], "loss_db": DB}}, got {value!r}'
        )
    return _pair(value["between"], f"{where}.between"), _number(
        value["loss_db"], f"{where}.loss_db", low=0.0
    )


def _labelled(value: Any, where: str, parse: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise ScenarioError(f"{where}: expected {{label: value, ...}}, got {value!r}")
    return {_label(k, where): parse(v, f"{where}.{k}") for k, v in value.items()}


def _action(name: str, value: Any, where: str) -> Any:
    if name == "move":
        return _labelled(value, where, parse_position)
    if name == "tx_power":
        return _labelled(value, where, lambda v, w: _number(v, w, low=-40, high=20))
    if name in ("cut", "uncut"):
        return _pair(value, where)
    if name == "wall":
        return _wall(value, where)
    if name == "per":
        return _per(value, where)
    if name == "jam":
        return _channels(value, where)
    if name in ("power_off", "power_on"):
        return _label(value, where)
    if value is not True:
        raise ScenarioError(f"{where}: expected true")
    return True


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    """A ``Scenario`` from decoded JSON/TOML ``data``; ``ScenarioError`` names what is
    wrong, prefixed with ``source``."""
    try:
        return _parse(data)
    except ScenarioError as error:
        raise ScenarioError(f"{source}: {error}") from None


def _parse(data: Any) -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError("expected an object at the top")
    known = {"path_loss_exponent", "per", "devices", "walls", "events"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ScenarioError(f"unknown key {unknown[0]!r} (expected {', '.join(sorted(known))})")
    scenario = Scenario()
    if "path_loss_exponent" in data:
        scenario.path_loss_exponent = _number(
            data["path_loss_exponent"], "path_loss_exponent", low=1.0, high=8.0
        )
    if "per" in data:
        scenario.per = _per(data["per"], "per")
    devices = data.get("devices", {})
    if not isinstance(devices, dict):
        raise ScenarioError(f"devices: expected {{label: {{...}}}}, got {devices!r}")
    for label, spec in devices.items():
        where = f"devices.{label}"
        if not isinstance(spec, dict):
            raise ScenarioError(f'{where}: expected {{"position": [x, y]}}, got {spec!r}')
        extra = sorted(set(spec) - {"position", "tx_power_dbm"})
        if extra:
            raise ScenarioError(
                f"{where}: unknown key {extra[0]!r} (expected position, tx_power_dbm)"
            )
        if "position" in spec:
            scenario.positions[label] = parse_position(spec["position"], f"{where}.position")
        if "tx_power_dbm" in spec:
            scenario.tx_power_dbm[label] = _number(
                spec["tx_power_dbm"], f"{where}.tx_power_dbm", low=-40, high=20
            )
    walls = data.get("walls", [])
    if not isinstance(walls, list):
        raise ScenarioError(f"walls: expected a list, got {walls!r}")
    for i, wall in enumerate(walls):
        pair, loss = _wall(wall, f"walls[{i}]")
        scenario.walls[pair] = loss
    events = data.get("events", [])
    if not isinstance(events, list):
        raise ScenarioError(f"events: expected a list, got {events!r}")
    for i, event in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(event, dict) or "at_s" not in event:
            raise ScenarioError(f'{where}: expected {{"at_s": SECONDS, ACTION: ...}}')
        at = _number(event["at_s"], f"{where}.at_s", low=0.0)
        actions = {}
        for name, value in event.items():
            if name == "at_s":
                continue
            if name not in ACTIONS:
                raise ScenarioError(
                    f"{where}: unknown action {name!r} (expected one of {', '.join(ACTIONS)})"
                )
            actions[name] = _action(name, value, f"{where}.{name}")
        if not actions:
            raise ScenarioError(f"{where}: no action (expected one of {', '.join(ACTIONS)})")
        scenario.events.append(Event(at, actions))
    scenario.events.sort(key=lambda e: e.at_s)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file: ``.toml`` as TOML, anything else as JSON."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as error:
        raise ScenarioError(f"scenario {str(path)!r}: {error.strerror}") from None
    try:
        data = tomllib.loads(text.decode()) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise ScenarioError(
            f"scenario {str(path)!r}: not valid {'TOML' if path.suffix == '.toml' else 'JSON'}: {error}"
        ) from None
    return parse_scenario(data, f"scenario {str(path)!r}")


def parse_place(text: str) -> tuple[str, Position]:
    """``LABEL=X,Y[,Z]`` (``--place``) into a label and a position."""
    label, sep, coords = text.partition("=")
    label = label.strip()
    try:
        values = [float(v) for v in coords.split(",")]
    except ValueError:
        values = []
    if not sep or not label or len(values) not in (2, 3) or not all(map(math.isfinite, values)):
        raise ScenarioError(f"--place {text!r}: expected LABEL=X,Y or LABEL=X,Y,Z (metres)")
    return label, (values[0], values[1], values[2] if len(values) == 3 else 0.0)


def build_scenario(
    file: str | Path | None = None,
    places: list[tuple[str, Position]] | None = None,
    per: float | None = None,
) -> Scenario | None:
    """What ``--scenario``, ``--place`` and ``--per`` ask for together (the flags over the
    file); None when none is given."""
    if file is None and not places and per is None:
        return None
    scenario = load_scenario(file) if file is not None else Scenario()
    for label, position in places or []:
        scenario.positions[label] = position
    if per is not None:
        scenario.per = _per(per, "--per")
    return scenario


__all__ = [
    "ACTIONS",
    "Event",
    "Position",
    "Scenario",
    "ScenarioError",
    "build_scenario",
    "load_scenario",
    "parse_place",
    "parse_position",
    "parse_scenario",
]

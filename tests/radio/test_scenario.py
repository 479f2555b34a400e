"""Scenario files and the channel's conditions: what they accept, and what they refuse by name."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bleradio.air.conditions import DEFAULT_RADIUS_M, Conditions, default_position
from bleradio.air.scenario import (
    ScenarioError,
    build_scenario,
    load_scenario,
    parse_place,
    parse_scenario,
)

FULL = {
    "path_loss_exponent": 2.5,
    "per": 0.05,
    "devices": {
        "sensor": {"position": [0, 0], "tx_power_dbm": 4},
        "collector": {"position": [3, 4, 0]},
    },
    "walls": [{"between": ["sensor", "collector"], "loss_db": 10}],
    "events": [
        {"at_s": 3.0, "move": {"sensor": [40, 0]}},
        {"at_s": 1.0, "cut": ["sensor", "collector"], "per": 0.3},
        {"at_s": 5, "jam": [37, 38], "power_off": "sensor"},
        {"at_s": 6, "restore": True},
    ],
}


def test_a_full_scenario_is_read() -> None:
    scenario = parse_scenario(FULL)
    assert scenario.path_loss_exponent == 2.5 and scenario.per == 0.05
    assert scenario.positions == {"sensor": (0.0, 0.0, 0.0), "collector": (3.0, 4.0, 0.0)}
    assert scenario.tx_power_dbm == {"sensor": 4.0}
    assert scenario.walls == {frozenset(("sensor", "collector")): 10.0}
    assert [e.at_s for e in scenario.events] == [1.0, 3.0, 5.0, 6.0]  # in time order
    assert scenario.events[0].actions == {"cut": frozenset(("sensor", "collector")), "per": 0.3}


def test_json_and_toml_files(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(FULL))
    (tmp_path / "s.toml").write_text(
        'per = 0.1\n[devices.sensor]\nposition = [1, 2]\n[[events]]\nat_s = 2\ncut = ["a", "b"]\n'
    )
    assert load_scenario(tmp_path / "s.json") == parse_scenario(FULL)
    toml = load_scenario(tmp_path / "s.toml")
    assert toml.per == 0.1 and toml.positions["sensor"] == (1.0, 2.0, 0.0)
    assert toml.events[0].actions == {"cut": frozenset(("a", "b"))}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object at the top"),
        ({"walls_db": 3}, "unknown key 'walls_db'"),
        ({"per": 1.5}, "per: 1.5 is out of range"),
        ({"per": "high"}, "per: expected a number"),
        ({"path_loss_exponent": 0}, "path_loss_exponent: 0 is out of range"),
        ({"devices": {"a": {"position": [1]}}}, "devices.a.position: expected [x, y]"),
        ({"devices": {"a": {"pos": [1, 2]}}}, "devices.a: unknown key 'pos'"),
        ({"devices": {"a": {"tx_power_dbm": 99}}}, "devices.a.tx_power_dbm: 99"),
        ({"walls": [{"between": ["a"], "loss_db": 3}]}, "walls[0].between: expected two"),
        ({"walls": [{"between": ["a", "b"]}]}, "walls[0]: expected"),
        ({"events": [{"move": {"a": [1, 2]}}]}, 'events[0]: expected {"at_s"'),
        ({"events": [{"at_s": -1, "per": 0}]}, "events[0].at_s: -1 is out of range"),
        ({"events": [{"at_s": 1, "teleport": "a"}]}, "events[0]: unknown action 'teleport'"),
        ({"events": [{"at_s": 1}]}, "events[0]: no action"),
        ({"events": [{"at_s": 1, "jam": [40]}]}, "events[0].jam: 40 is no channel"),
        ({"events": [{"at_s": 1, "cut": ["a", "a"]}]}, "events[0].cut: the two labels"),
        ({"events": [{"at_s": 1, "move": {"a": "here"}}]}, "events[0].move.a: expected [x, y]"),
        ({"events": [{"at_s": 1, "restore": 1}]}, "events[0].restore: expected true"),
        ({"events": [{"at_s": 1, "power_off": 3}]}, "events[0].power_off: expected a device"),
    ],
)
def test_a_bad_scenario_names_the_key_and_the_problem(data: object, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data, "scenario 'x.json'")
    assert str(caught.value).startswith("scenario 'x.json': ")
    assert message in str(caught.value)


def test_unreadable_or_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="missing.json"):
        load_scenario(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{per: 1")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(tmp_path / "bad.json")


def test_place_and_per_flags_override_the_file(tmp_path: Path) -> None:
    assert parse_place("sensor=40,0") == ("sensor", (40.0, 0.0, 0.0))
    assert parse_place("a=1,2,3") == ("a", (1.0, 2.0, 3.0))
    for bad in ("sensor", "sensor=1", "=1,2", "a=1,x", "a=1,2,3,4", "a=nan,1"):
        with pytest.raises(ScenarioError, match="--place"):
            parse_place(bad)
    (tmp_path / "s.json").write_text(json.dumps(FULL))
    scenario = build_scenario(tmp_path / "s.json", [("sensor", (9.0, 9.0, 0.0))], 0.2)
    assert scenario is not None
    assert scenario.positions["sensor"] == (9.0, 9.0, 0.0) and scenario.per == 0.2
    assert build_scenario() is None
    with pytest.raises(ScenarioError, match="--per"):
        build_scenario(per=2.0)


def test_unplaced_devices_stand_near_the_origin_by_label() -> None:
    spots = [default_position(f"device{i}") for i in range(200)]
    assert all(math.hypot(x, y) <= DEFAULT_RADIUS_M for x, y, _ in spots)
    assert default_position("alpha") == default_position("alpha")
    assert len(set(spots)) == 200


def test_conditions_follow_the_controls() -> None:
    conditions = Conditions(parse_scenario(FULL))
    # 5 m apart, 4 dBm, exponent 2.5, a 10 dB wall
    expected = 4 - (40.2 + 25 * math.log10(5)) - 10
    assert conditions.mean_power_dbm("sensor", "collector") == pytest.approx(expected, abs=0.05)
    assert conditions.mean_power_dbm("sensor#2", "collector") == pytest.approx(
        expected, abs=0.05
    )  # a second "sensor" stands where the first does
    conditions.cut("sensor", "collector")
    assert conditions.mean_power_dbm("collector", "sensor") == -math.inf
    conditions.uncut("collector", "sensor")
    conditions.power_off("collector")
    assert conditions.mean_power_dbm("sensor", "collector") == -math.inf
    conditions.apply({"power_on": "collector", "move": {"sensor": (3.0, 14.0, 0.0)}})
    assert conditions.mean_power_dbm("sensor", "collector") == pytest.approx(
        4 - (40.2 + 25) - 10, abs=0.05
    )
    conditions.jam([37])
    conditions.set_per(0.5)
    assert conditions.jammed == {37} and conditions.per == 0.5
    conditions.restore()
    assert conditions.jammed == frozenset() and conditions.per == 0.05
    assert conditions.position("sensor") == (0.0, 0.0, 0.0)
    for bad in (lambda: conditions.set_per(2), lambda: conditions.jam([41])):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        conditions.move("a", (1.0,))  # type: ignore[arg-type]

"""Bumble's own command-line apps against this project's board programs, each a real process,
on the shared virtual radio and on rootcanal: `bumble-scan` hears the sensor's name and
service, `bumble-gatt-dump` reads its database, `bumble-pair` pairs with it (Just Works, and a
passkey typed on its keyboard)."""

from __future__ import annotations

import json
from pathlib import Path

from interop_support import SENSOR, Program, Programs


def test_bumble_scan_hears_the_name_and_service(programs: Programs) -> None:
    sensor = programs.aioble("sensor.py", label="sensor")
    address = sensor.expect("^address ([0-9A-F:]{17})$").group(1)
    sensor.expect("^advertising$")
    scan = programs.bumble("scan", programs.radio.transport)
    # A report: ">>> ADDRESS [TYPE]:", RSSI, then one line per AD structure, then a blank.
    scan.expect(rf"^>>> {address}/P \[PUBLIC\]:$")
    scan.expect(r"^\s+\[Complete List Of 16-bit Service or Service Class UUIDs\]: UUID-16:181A")
    scan.expect(rf"^\s+\[Complete Local Name\]: '{SENSOR}'$")


def test_bumble_gatt_dump_reads_the_database(programs: Programs) -> None:
    sensor = programs.aioble("sensor.py", label="sensor")
    sensor.expect("^advertising$")
    dump = programs.bumble("gatt-dump", programs.radio.transport, SENSOR)  # connects by name
    dump.expect("^=== Services ===$")
    dump.expect(r"^Service\(handle=0x[0-9A-F]{4}, uuid=UUID-16:181A \(Environmental Sensing\)\)$")
    dump.expect(r"^\s+Characteristic\(handle=0x[0-9A-F]{4}, uuid=UUID-16:2A6E, READ\)$")
    dump.expect(r"uuid=8F0D0001-63A5-4C8B-A2A3-3F6E5E2A1C01, READ\)$")
    dump.expect(r"uuid=8F0D0002-63A5-4C8B-A2A3-3F6E5E2A1C01, READ\)$")
    dump.expect("^=== All Attributes ===$")
    # The device name is the GAP service's, then the values: 21.50 as "<h"; the protected
    # ones refused to a central that has not paired.
    dump.expect(r"^Attribute\(handle=0x[0-9A-F]{4}, type=UUID-16:2A6E\)$")
    dump.expect("^6608$")
    dump.expect(r"type=8F0D0001-63A5-4C8B-A2A3-3F6E5E2A1C01\)$")
    dump.expect(r"^ATT_Error\(error=INSUFFICIENT_ENCRYPTION, ")
    dump.expect(r"type=8F0D0002-63A5-4C8B-A2A3-3F6E5E2A1C01\)$")
    dump.expect(r"^ATT_Error\(error=INSUFFICIENT_AUTHENTICATION, ")
    assert dump.wait() == 0
    sensor.expect("^disconnected bonded=False$")


def _pair_config(tmp_path: Path) -> str:
    path = tmp_path / "bumble-pair.json"
    path.write_text(json.dumps({"name": "bumble-pair", "address": "F2:F3:F4:F5:F6:F7"}))
    return str(path)


def _paired(pair: Program, authenticated: bool) -> None:
    """bumble-pair's report of a pairing: the peer's identity, then the keys it keeps."""
    pair.expect(r"^\*\*\* Paired! \(peer identity=")
    pair.expect(r"^\*\*\* ltk:$")
    pair.expect(r"^\*\*\*   value: [0-9a-f]{32}$")
    pair.expect(rf"^\*\*\*   authenticated: {authenticated}$")
    pair.expect(r"^\*\*\* irk:$")  # the sensor gave its identity: it bonds


def test_bumble_pair_just_works(programs: Programs, tmp_path: Path) -> None:
    sensor = programs.aioble("sensor.py", "none", label="sensor")
    address = sensor.expect("^address ([0-9A-F:]{17})$").group(1)
    sensor.expect("^advertising$")
    keys = tmp_path / "keys.json"
    pair = programs.bumble(
        "pair",
        "--mitm=false",
        "--io=none",
        f"--keystore-file={keys}",
        _pair_config(tmp_path),
        programs.radio.transport,
        SENSOR,
    )
    _paired(pair, authenticated=False)
    # bumble-pair disconnects a second after pairing (and then idles: the fixture stops it)
    sensor.expect("^encrypted authenticated=False bonded=True key_size=16$")
    sensor.expect("^disconnected bonded=True$")
    (bonds,) = json.loads(keys.read_text()).values()  # {its own address: {peer: keys}}
    assert list(bonds) == [f"{address}/P"]


def test_bumble_pair_types_the_passkey_the_sensor_shows(programs: Programs, tmp_path: Path) -> None:
    sensor = programs.aioble("sensor.py", "display", label="sensor")
    sensor.expect("^advertising$")
    pair = programs.bumble(
        "pair",
        "--io=keyboard",
        f"--keystore-file={tmp_path / 'keys.json'}",
        _pair_config(tmp_path),
        programs.radio.transport,
        SENSOR,
    )
    passkey = sensor.expect(r"^passkey (\d{6})$").group(1)
    pair.write(passkey + "\n")  # the person reads the sensor's display and types it in
    _paired(pair, authenticated=True)
    sensor.expect("^encrypted authenticated=True bonded=True key_size=16$")
    sensor.expect("^disconnected bonded=True$")

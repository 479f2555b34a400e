"""The radios the interoperability tests run on, and the programs a test starts on one.

A Bumble app reaches either radio as a plain HCI client, `tcp-client:127.0.0.1:PORT`: the
shared radio (`aioble radio`) serves a client that sends no hello as a device of its own
(label `device<N>`), and rootcanal gives every connection to its HCI port a controller.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_support import Program, Programs, Radio, child_env, command

from bleradio.transport.rootcanal import RootCanal


@pytest.fixture(params=["shared", "rootcanal"])
def radio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Radio]:
    """A fresh radio of each kind: `aioble radio` (a real CLI, on a free port) or rootcanal."""
    if request.param == "rootcanal":
        with RootCanal() as rootcanal:
            transport = rootcanal.hci_transport
            yield Radio("rootcanal", {"AIOBLE_TRANSPORT": transport}, transport)
        return
    server = Program("aioble radio", [*command("aioble", "blerun.cli"), "radio"], child_env())
    try:
        address = server.expect(r"^export AIOBLE_RADIO=(127\.0\.0\.1:\d+)$").group(1)
        yield Radio("shared", {"AIOBLE_RADIO": address}, f"tcp-client:{address}")
    finally:
        server.stop()


@pytest.fixture
def programs(radio: Radio, tmp_path: Path) -> Iterator[Programs]:
    """Programs on `radio`, run in the test's temporary folder (bonds land there)."""
    started = Programs(radio, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()

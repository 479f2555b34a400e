"""CONNECTION_UPDATE: a peer (here raw Bumble on the same virtual radio) changes the
connection parameters; the program sees the new values (in 1.25 ms / 10 ms units)."""

from __future__ import annotations

from bluetooth._stack import StackThread

from .conftest import raw_central_updates

CONNECTION_UPDATE, CENTRAL_CONNECT = 27, 1


def test_parameters_changed_by_the_peer(make_radio) -> None:
    ble, rec = make_radio("peripheral")
    ble.gap_advertise(20_000, b"\x02\x01\x06")
    addr_type, addr = ble.config("mac")
    assert addr_type == 0
    StackThread.get().run(raw_central_updates(addr))
    conn = rec.wait(CENTRAL_CONNECT)[0]
    assert rec.wait(CONNECTION_UPDATE) == (conn, 12, 2, 400, 0)

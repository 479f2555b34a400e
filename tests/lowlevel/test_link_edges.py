"""Edges of a link's life, on air time (where packets wait for connection events and a
command's confirmation takes a moment): a connect cancelled at once, and a link dropped
while the sender's queue is full. Each runs in a process of its own, on its own air-time
radio (this suite's in-process radio runs in fast mode)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_RECORDER = (Path(__file__).parent / "conftest.py").read_text()

_CANCEL_AT_ONCE = """
import bluetooth
c = bluetooth.new_radio("c")
rec = Recorder(c)
c.active(True)
# Nobody advertises this address: without the cancel the attempt runs for 60 s.
c.gap_connect(0, b"\\x11\\x22\\x33\\x44\\x55\\x66", 60000)
c.gap_connect(None)
print(rec.wait(8, timeout=10))
"""

_DROP_MID_FLOOD = """
import threading, bluetooth
c, p = bluetooth.new_radio("c"), bluetooth.new_radio("p")
crec, prec = Recorder(c), Recorder(p)
c.active(True)
p.active(True)
svc = (bluetooth.UUID(0x1234), ((bluetooth.UUID(0x1235), bluetooth.FLAG_NOTIFY),))
((handle,),) = p.gatts_register_services((svc,))

def connect():
    mark = prec.mark()
    p.gap_advertise(20_000, b"\\x02\\x01\\x06")
    c.gap_connect(*p.config("mac"))
    return prec.wait(1, start=mark)[0]

peer = connect()
ended = []
def flood():
    try:
        while True:
            p.gatts_notify(peer, handle, b"x" * 20)
    except OSError as e:
        ended.append(e.errno)
thread = threading.Thread(target=flood, daemon=True)
thread.start()
thread.join(1.0)  # the send window fills: it waits for room
mark = prec.mark()
c.gap_disconnect(crec.wait(7)[0])
prec.wait(2, start=mark)
thread.join(10)
print("flood ended", ended)
# The packets the drop flushed give their room back: a new link sends at once.
peer = connect()
for _ in range(100):
    p.gatts_notify(peer, handle, b"y")
print("sent on the new link")
"""


def _run(script: str) -> str:
    env = dict(os.environ, AIOBLE_RADIO_FAST="0")
    env.pop("AIOBLE_RADIO", None)
    env.pop("AIOBLE_TRANSPORT", None)
    result = subprocess.run(
        [sys.executable, "-c", _RECORDER + script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_connect_cancelled_right_after_it_starts_ends_at_once() -> None:
    assert _run(_CANCEL_AT_ONCE).strip() == "(65535, 0, b'\\x11\"3DUf')"


def test_link_dropped_while_the_send_window_is_full_gives_the_room_back() -> None:
    out = _run(_DROP_MID_FLOOD)
    assert "flood ended [107]" in out  # ENOTCONN, at once
    assert "sent on the new link" in out

"""A handler slower than the events: the backlog stays bounded, what is dropped is counted.

A peer writing without response as fast as it can, into a handler that sleeps, used to grow
the process without end (one queued event per write) and put a later read request behind the
whole flood. Now at most ``_irq.BACKLOG[GATTS_WRITE]`` of its events wait; the rest are dropped,
counted in ``BLE.irq_dropped`` and logged once, and events whose answer matters (a read
request) or that a program must see (a disconnect) still come. The flood is measured in
writes, not seconds, and the waits are for events (a busy two-core machine only slows it).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import bluetooth
from bluetooth import UUID, _irq

from .conftest import connect

F = bluetooth
GATTS_WRITE, GATTS_READ_REQUEST, READ_DONE, PERIPHERAL_DISCONNECT = 3, 4, 16, 8
CENTRAL_DISCONNECT = 2
SERVICE = (
    UUID(0x181A),
    ((UUID(0x2A6E), F.FLAG_READ | F.FLAG_WRITE | F.FLAG_WRITE_NO_RESPONSE),),
)
FLOOD = 3000  # writes: far more than the backlog holds
# (getattr: so that on code without a bound this fails on the behaviour, not on the name.)
BACKLOG: int = _irq.BACKLOG[3]  # GATTS_WRITE, what a write flood fills


def test_a_write_flood_into_a_slow_handler_is_bounded_and_counted(make_radio, caplog) -> None:
    central = make_radio("c")
    peripheral = make_radio("p", _4=0)
    (c, crec), (p, prec) = central, peripheral
    ((char,),) = p.gatts_register_services([SERVICE])
    conn, peer = connect(central, peripheral)
    release = threading.Event()
    reads: list[tuple[Any, ...]] = []

    def slow(event: int, data: tuple[Any, ...]) -> Any:
        if event == GATTS_WRITE:
            release.wait(0.05)  # slow; blocked outright until the flood is sent
        elif event == GATTS_READ_REQUEST:
            reads.append(data)
        return prec(event, data)

    p.irq(slow)
    with caplog.at_level(logging.WARNING, logger="bluetooth"):
        for i in range(FLOOD):
            c.gattc_write(conn, char, b"%d" % i)
        # Every write reaches the peripheral's table (the last one lands there) ...
        deadline = time.monotonic() + 30
        while p.gatts_read(char) != b"%d" % (FLOOD - 1) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.gatts_read(char) == b"%d" % (FLOOD - 1)
        # ... but at most BACKLOG of their events wait for the handler; the rest are counted.
        queued = len(p._irq._queue)
        assert queued <= BACKLOG + 2
        assert p.irq_dropped >= FLOOD - BACKLOG - 50
        release.set()
        # A read request after the flood is answered (not timed out behind it).
        mark = crec.mark()
        c.gattc_read(conn, char)
        assert crec.wait(READ_DONE, timeout=60, start=mark)[2] == 0
    assert reads
    drops = [r for r in caplog.records if "IRQ backlog full" in r.getMessage()]
    assert 1 <= len(drops) <= 3  # logged, not once per event
    # The newest writes reached the handler (the oldest were dropped).
    writes = prec.all(GATTS_WRITE)
    assert writes[-1] == (peer, char)
    # A disconnect is never dropped, even behind a full backlog.
    release.clear()
    for _ in range(2 * BACKLOG):
        c.gattc_write(conn, char, b"more")
    c.gap_disconnect(conn)
    release.set()
    prec.wait(CENTRAL_DISCONNECT, timeout=60)
    crec.wait(PERIPHERAL_DISCONNECT, timeout=60)


def test_nothing_is_dropped_while_the_handler_keeps_up(make_radio) -> None:
    central, peripheral = make_radio("c"), make_radio("p")
    (c, _), (p, prec) = central, peripheral
    ((char,),) = p.gatts_register_services([SERVICE])
    conn, peer = connect(central, peripheral)
    for i in range(BACKLOG // 2):
        c.gattc_write(conn, char, b"%d" % i)
    deadline = time.monotonic() + 30
    while len(prec.all(GATTS_WRITE)) < BACKLOG // 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(prec.all(GATTS_WRITE)) == BACKLOG // 2
    assert p.irq_dropped == 0

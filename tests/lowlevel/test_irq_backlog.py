"""A handler slower than the events: the peer is slowed down, and nothing grows without bound.

A peer writing without response as fast as it can, into a handler that sleeps, used to grow
the process without end (one queued event per write) and put a later read request behind the
whole flood. Now, as on a board, the handler's backlog pushes back on the link: the host
stops telling the controller it is done with ACL packets, the controller stops acknowledging
the peer, and the peer's writes wait at the call. Every write reaches the handler, in order.
With a controller that has no controller-to-host flow control, at most
``_irq.BACKLOG[GATTS_WRITE]`` events wait and the oldest are dropped, counted in
``BLE.irq_dropped`` and logged once. Events whose answer matters (a read request) or that a
program must see (a disconnect) always come. The floods are measured in writes, not
seconds, and the waits are for events (a busy two-core machine only slows them).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

import bluetooth
from bluetooth import UUID, _irq, _rxflow

from .conftest import connect

F = bluetooth
GATTS_WRITE, GATTS_READ_REQUEST, READ_DONE, PERIPHERAL_DISCONNECT = 3, 4, 16, 8
CENTRAL_DISCONNECT = 2
SERVICE = (
    UUID(0x181A),
    ((UUID(0x2A6E), F.FLAG_READ | F.FLAG_WRITE | F.FLAG_WRITE_NO_RESPONSE),),
)
FLOOD = 1500  # writes: far more than every buffer between the two programs holds
# (getattr: so that on code without a bound this fails on the behaviour, not on the name.)
BACKLOG: int = _irq.BACKLOG[3]  # GATTS_WRITE, what a write flood fills
# Writes that can have left the central's program while the peripheral's handler is blocked:
# the send window, the central's host and controller queues, the peripheral's controller
# and host buffers and its backlog; generously.
IN_FLIGHT = 300


def _settled(count: list[int], quiet: float = 0.5, limit: float = 60.0) -> int:
    """Wait until ``count[0]`` stops moving (or ``limit`` passes); return it."""
    deadline = time.monotonic() + limit
    last = -1
    while count[0] != last and time.monotonic() < deadline:
        last = count[0]
        time.sleep(quiet)
    return count[0]


def test_a_write_flood_into_a_blocked_handler_slows_the_writer_and_loses_nothing(
    make_radio, caplog
) -> None:
    central = make_radio("c")
    peripheral = make_radio("p", _4=0)
    (c, crec), (p, prec) = central, peripheral
    ((char,),) = p.gatts_register_services([SERVICE])
    conn, peer = connect(central, peripheral)
    release = threading.Event()
    seen: list[bytes] = []

    def blocked(event: int, data: tuple[Any, ...]) -> Any:
        if event == GATTS_WRITE:
            release.wait(120)  # blocked until the test has seen the writer held back
            seen.append(bytes(p.gatts_read(data[1])))
        return prec(event, data)

    p.irq(blocked)
    sent = [0]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(FLOOD):
                c.gattc_write(conn, char, b"%d" % i)
                sent[0] += 1
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    thread = threading.Thread(target=writer, daemon=True)
    with caplog.at_level(logging.WARNING, logger="bluetooth"):
        thread.start()
        # The writer is held back at the call, well before the end of its flood ...
        held_at = _settled(sent)
        assert held_at <= IN_FLIGHT, f"the writer was not held back: {held_at} writes left"
        # ... and the handler's backlog stays bounded.
        assert len(p._irq._queue) <= BACKLOG
        release.set()
        thread.join(120)
        assert not thread.is_alive() and not errors, errors
        # Every write reaches the handler, in order, each with its own value.
        deadline = time.monotonic() + 60
        while len(seen) < FLOOD and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == [b"%d" % i for i in range(FLOOD)]
        # A read request after the flood is answered.
        mark = crec.mark()
        c.gattc_read(conn, char)
        assert crec.wait(READ_DONE, timeout=60, start=mark)[2] == 0
    assert p.irq_dropped == 0
    assert not [r for r in caplog.records if "IRQ backlog full" in r.getMessage()]
    # A disconnect behind a full backlog comes, after every write the link carried. (Writes
    # still queued in the central's host when it disconnects are dropped with the link, as
    # a board's host drops them.)
    release.clear()
    for _ in range(BACKLOG):
        c.gattc_write(conn, char, b"more")
    c.gap_disconnect(conn)
    release.set()
    prec.wait(CENTRAL_DISCONNECT, timeout=60)
    crec.wait(PERIPHERAL_DISCONNECT, timeout=60)
    assert prec.kinds()[-1] == CENTRAL_DISCONNECT
    assert FLOOD < len(prec.all(GATTS_WRITE)) <= FLOOD + BACKLOG


@pytest.fixture
def no_flow_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """Radios whose controller lists no controller-to-host flow control commands."""

    async def unsupported(self: _rxflow.ReceiveFlow) -> bool:
        return False

    monkeypatch.setattr(_rxflow.ReceiveFlow, "enable", unsupported)


def test_without_flow_control_a_flood_is_bounded_and_counted(
    no_flow_control, make_radio, caplog
) -> None:
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

"""An IRQ a call causes never reaches the handler before that call has returned.

On a board the event comes a connection event later at the earliest; here the fast in-process
radio can have it queued while the calling thread is still inside the method. Each test logs
"returned" right after a call returns and the handler logs the events it gets, then checks
the order, many times over (fast radio, as the whole suite), from the program's main thread,
from an asyncio task, and from inside the handler itself (which must not deadlock, even when
the call needs a handler's answer to finish, as ``active(True)`` does with GET_SECRET).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import bluetooth
from bluetooth import UUID

from .conftest import Recorder, answers_by_event

F = bluetooth
SCAN_DONE, PERIPHERAL_CONNECT, PERIPHERAL_DISCONNECT, CENTRAL_CONNECT = 6, 7, 8, 1
READ_RESULT, READ_DONE, WRITE_DONE, INDICATE_DONE, MTU_EXCHANGED = 15, 16, 17, 20, 21
L2CAP_CONNECT, L2CAP_DISCONNECT, GET_SECRET = 23, 24, 29
SERVICE = (
    UUID(0x181A),
    ((UUID(0x2A6E), F.FLAG_READ | F.FLAG_WRITE | F.FLAG_NOTIFY | F.FLAG_INDICATE),),
)
PSM = 0x85
ITERATIONS = 40


class Log:
    """What happened, in order, across threads."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()

    def add(self, *item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def mark(self) -> int:
        with self.lock:
            return len(self.items)

    def check(self, start: int, call: str, event: int) -> None:
        """``call`` returned (logged after ``start``) before the first ``event`` after it."""
        with self.lock:
            items = self.items[start:]
        returned = items.index(("returned", call))
        delivered = next(i for i, item in enumerate(items) if item[:2] == ("event", event))
        assert returned < delivered, f"event {event} reached the handler inside {call}: {items}"


class LoggingRecorder(Recorder):
    def __init__(self, ble: bluetooth.BLE, log: Log, answers: dict[int, Any] | None = None):
        self.log = log
        super().__init__(ble, answers)

    def __call__(self, event: int, data: tuple[Any, ...]) -> Any:
        self.log.add("event", event, self.ble)
        return super().__call__(event, data)


@pytest.fixture
def radios(new_radio) -> Callable[..., tuple[bluetooth.BLE, LoggingRecorder]]:
    def make(label: str, log: Log, **answers: Any) -> tuple[bluetooth.BLE, LoggingRecorder]:
        return new_radio(label, lambda ble: LoggingRecorder(ble, log, answers_by_event(answers)))

    return make


def _connect(c: bluetooth.BLE, crec: Recorder, p: bluetooth.BLE, prec: Recorder) -> tuple[int, int]:
    mark_c, mark_p = crec.mark(), prec.mark()
    p.gap_advertise(20_000, b"\x02\x01\x06")
    c.gap_connect(*p.config("mac"))
    return crec.wait(PERIPHERAL_CONNECT, start=mark_c)[0], prec.wait(CENTRAL_CONNECT, start=mark_p)[
        0
    ]


def test_events_follow_the_calls_that_caused_them(radios) -> None:
    # Each radio logs its own events: a peer's events are not ordered against our calls.
    clog, plog = Log(), Log()
    c, crec = radios("c", clog)
    p, prec = radios("p", plog)
    ((value,),) = p.gatts_register_services([SERVICE])
    p.l2cap_listen(PSM, 256)
    conn, peer = _connect(c, crec, p, prec)

    def step(rec: Recorder, log: Log, event: int, call: Callable[..., Any], *args: Any) -> Any:
        name = call.__name__
        start, mark = log.mark(), rec.mark()
        call(*args)
        log.add("returned", name)
        data = rec.wait(event, start=mark, timeout=10)
        log.check(start, name, event)
        return data

    for i in range(ITERATIONS):
        c.gap_scan(0)
        step(crec, clog, SCAN_DONE, c.gap_scan, None)
        step(crec, clog, READ_RESULT, c.gattc_read, conn, value)
        crec.wait(READ_DONE)
        step(crec, clog, WRITE_DONE, c.gattc_write, conn, value, b"w", 1)
        step(prec, plog, INDICATE_DONE, p.gatts_indicate, peer, value)
        mark = prec.mark()
        cid = step(crec, clog, L2CAP_CONNECT, c.l2cap_connect, conn, PSM, 256)[1]
        prec.wait(L2CAP_CONNECT, start=mark)
        mark = prec.mark()
        step(crec, clog, L2CAP_DISCONNECT, c.l2cap_disconnect, conn, cid)
        prec.wait(L2CAP_DISCONNECT, start=mark)  # the peer is done with it too
        if i % 8 == 0:
            # A fresh link for the once-per-connection MTU exchange and the disconnect.
            step(crec, clog, MTU_EXCHANGED, c.gattc_exchange_mtu, conn)
            mark = prec.mark()
            step(crec, clog, PERIPHERAL_DISCONNECT, c.gap_disconnect, conn)
            prec.wait(2, start=mark)
            conn, peer = _connect(c, crec, p, prec)


def test_scan_done_follows_active_false_and_scan_stop(radios) -> None:
    """The events emitted inside the call itself (SCAN_DONE as the scan stops): the stack
    queues them before it answers the call, the handler gets them after it returns."""
    log = Log()
    ble, rec = radios("s", log)
    for i in range(ITERATIONS * 2):
        ble.gap_scan(0)
        start, mark = log.mark(), rec.mark()
        name = "active(False)" if i % 2 else "gap_scan(None)"
        if i % 2:
            ble.active(False)
        else:
            ble.gap_scan(None)
        log.add("returned", name)
        rec.wait(SCAN_DONE, start=mark)
        log.check(start, name, SCAN_DONE)
        ble.active(True)


def test_calls_from_an_asyncio_task(radios) -> None:
    log = Log()
    ble, rec = radios("a", log)
    loop_events: list[int] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()

        def on_event(data: tuple[Any, ...]) -> None:
            loop_events.append(SCAN_DONE)
            loop.call_soon_threadsafe(done.set)

        rec.answers[SCAN_DONE] = on_event
        for _ in range(ITERATIONS):
            done.clear()
            start = log.mark()
            ble.gap_scan(0)
            ble.gap_scan(None)
            log.add("returned", "gap_scan(None)")
            await asyncio.wait_for(done.wait(), 10)
            log.check(start, "gap_scan(None)", SCAN_DONE)

    asyncio.run(main())
    assert len(loop_events) == ITERATIONS


def test_calls_from_the_handler_itself(radios) -> None:
    """A handler's own calls: their events come after the handler returns, and a call that
    needs a handler's answer to finish (active(True) asks GET_SECRET for the stored bonds)
    does not deadlock the IRQ thread that is waiting for it."""
    log = Log()
    outcomes: list[Any] = []
    holder: dict[str, bluetooth.BLE] = {}
    asked = threading.Event()

    def get_secret(data: tuple[Any, ...]) -> None:
        asked.set()
        return None

    def on_scan_done(data: tuple[Any, ...]) -> None:
        ble = holder["ble"]
        if len(outcomes) >= ITERATIONS:
            return
        try:
            ble.active(False)
            asked.clear()
            ble.active(True)  # GET_SECRET is answered meanwhile, on this very thread
            outcomes.append(asked.is_set())
            ble.gap_scan(0)
            ble.gap_scan(None)  # the next SCAN_DONE: delivered once this handler returns
            log.add("returned", "handler")
        except Exception as error:  # noqa: BLE001 - recorded for the assertion below
            outcomes.append(error)

    ble, rec = radios("h", log, _6=on_scan_done, _29=get_secret)
    holder["ble"] = ble
    ble.gap_scan(0)
    ble.gap_scan(None)
    deadline = time.monotonic() + 60
    while len(outcomes) < ITERATIONS and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcomes == [True] * ITERATIONS
    with log.lock:
        items = list(log.items)
    # Each SCAN_DONE after the first comes after the handler that caused it returned.
    returns = [i for i, item in enumerate(items) if item == ("returned", "handler")]
    dones = [i for i, item in enumerate(items) if item[:2] == ("event", SCAN_DONE)]
    for returned, done in zip(returns, dones[1:], strict=False):
        assert returned < done


def test_a_call_needing_an_answer_from_the_main_thread(radios) -> None:
    """active(True) waits for GET_SECRET's answer: the IRQ thread answers it although the
    call is still in progress (as a board's stack calls the handler inside the call)."""
    log = Log()
    seen: list[bool] = []
    ble, rec = radios("m", log, _29=lambda data: seen.append(True))
    for _ in range(ITERATIONS // 4):
        ble.active(False)
        seen.clear()
        ble.active(True)
        assert seen


def test_a_busy_caller_does_not_starve_the_handler(radios) -> None:
    """Calls that start after an event was queued do not hold it back: a program polling
    the radio in a tight loop still gets its events."""
    log = Log()
    ble, rec = radios("b", log)
    got = threading.Event()
    rec.answers[SCAN_DONE] = lambda data: got.set()
    ble.gap_scan(0)
    ble.gap_scan(None)
    polls = 0
    while not got.is_set():
        ble.config("mac")  # a call in progress nearly all the time
        polls += 1
        assert polls < 10_000_000

"""`machine.Timer`: its callback runs from a timer thread, through `micropython.schedule`
(soft, the default) or directly on that thread (`hard=True`).

A tick scheduled before `deinit()` (or a new `init()`) whose callback has not started yet
is dropped: the program stopped the timer, and here, unlike on a board, scheduled callbacks
and IRQ handlers run on threads of their own, so a late tick could undo what the handler
that stopped the timer just did (a connect handler that turns a blinking LED on, say)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import micropython

import vclock


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id: int = -1, *args: Any, **kwargs: Any) -> None:
        self._stop: threading.Event | None = None
        if args or kwargs:
            self.init(*args, **kwargs)

    def init(
        self,
        *,
        mode: int = PERIODIC,
        freq: float | None = None,
        period: float | None = None,
        tick_hz: float = 1000,
        callback: Callable[[Timer], Any] | None = None,
        hard: bool = False,
    ) -> None:
        self.deinit()
        if freq is not None:
            interval = 1 / freq
        elif period is not None:
            interval = period / tick_hz
        else:
            raise ValueError("Timer needs freq or period")
        stop = self._stop = threading.Event()
        vclock.enlist(
            threading.Thread(
                target=self._run,
                args=(stop, interval, mode, callback, hard),
                name="machine.Timer",
                daemon=True,
            )
        ).start()

    def deinit(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None

    def _run(
        self,
        stop: threading.Event,
        interval: float,
        mode: int,
        callback: Callable[[Timer], Any] | None,
        hard: bool,
    ) -> None:
        due = time.monotonic() + interval
        while not stop.wait(max(0.0, due - time.monotonic())):
            if callback is not None:
                if hard:
                    callback(self)
                else:
                    try:
                        micropython.schedule(self._tick, (stop, callback))
                    except RuntimeError:
                        pass  # queue full: the tick is lost, as on a board
            if mode == Timer.ONE_SHOT:
                return
            due += interval

    def _tick(self, arg: tuple[threading.Event, Callable[[Timer], Any]]) -> None:
        stop, callback = arg
        if not stop.is_set():
            callback(self)

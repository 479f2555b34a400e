"""The simulated clock in one process (``AIOBLE_VIRTUAL_TIME=1``): waits cost no wall time, and
every clock and timeout reads simulated time.

Each case runs in a fresh interpreter: the clock is process-wide and cannot be taken back.
Durations are asserted in simulated time (exact up to the little that passes while the
program computes); wall time is never asserted: the jump counters say the waits were skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

PRELUDE = """
import vclock
clock = vclock.install()
"""


def run(code: str, *, aioble_python: bool = False) -> str:
    """``code`` in a fresh ``python -c`` that installs the clock first, or (``aioble_python``)
    in ``aioble-python -c`` with ``AIOBLE_VIRTUAL_TIME=1``; its stdout."""
    env = {k: v for k, v in os.environ.items() if k != "AIOBLE_VIRTUAL_TIME"}
    if aioble_python:
        command = [sys.executable, "-m", "mpemu.interpreter", "-c", textwrap.dedent(code)]
        env["AIOBLE_VIRTUAL_TIME"] = "1"
    else:
        command = [sys.executable, "-c", PRELUDE + textwrap.dedent(code)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def values(out: str) -> dict[str, float]:
    pairs = (line.split("=", 1) for line in out.splitlines() if "=" in line)
    return {key: float(value) for key, value in pairs}


def test_time_sleep_is_skipped():
    got = values(
        run("""
            import time
            t0, w0 = time.monotonic(), time.time()
            time.sleep(3600)
            print("elapsed=", time.monotonic() - t0, sep="")
            print("wall_clock=", time.time() - w0, sep="")
            print("skipped=", clock.skipped, sep="")
        """)
    )
    assert 3600 <= got["elapsed"] < 3600.5
    assert 3600 <= got["wall_clock"] < 3600.5  # time.time() moves with it
    assert got["skipped"] >= 3599


def test_asyncio_timers_fire_in_order_at_their_times():
    got = values(
        run("""
            import asyncio
            async def ticker(period, n):
                loop = asyncio.get_running_loop()
                start = loop.time()
                for _ in range(n):
                    await asyncio.sleep(period)
                return loop.time() - start
            async def main():
                a, b = await asyncio.gather(ticker(0.5, 100), ticker(7, 3))
                print(f"a={a}"); print(f"b={b}")
                try:
                    await asyncio.wait_for(asyncio.Event().wait(), 30)
                except TimeoutError:
                    print("timed_out=1")
            asyncio.run(main())
        """)
    )
    assert 50 <= got["a"] < 50.5
    assert 21 <= got["b"] < 21.5
    assert got["timed_out"] == 1


def test_threads_wait_on_the_same_clock():
    got = values(
        run("""
            import threading, time, queue
            ready = threading.Event()
            q = queue.Queue()
            def worker():
                time.sleep(30)
                ready.set()
                q.put(time.monotonic())
            t0 = time.monotonic()
            vclock.enlist(threading.Thread(target=worker)).start()
            print("set=", int(ready.wait(100)), sep="")
            print("at=", time.monotonic() - t0, sep="")
            print("put=", q.get(timeout=5) - t0, sep="")
            ready.clear()
            print("not_set=", int(ready.wait(12)), sep="")
            print("after=", time.monotonic() - t0, sep="")
            try:
                q.get(timeout=8)
            except queue.Empty:
                print("empty_after=", time.monotonic() - t0, sep="")
        """)
    )
    assert got["set"] == 1 and 30 <= got["at"] < 30.5 and 30 <= got["put"] < 30.5
    assert got["not_set"] == 0 and 42 <= got["after"] < 42.5
    assert 50 <= got["empty_after"] < 50.5


def test_a_busy_loop_sees_time_pass():
    # Computing without waiting: simulated time passes at the wall clock's rate, so a loop
    # that spins until the ticks move on ends.
    out = run("""
        import time
        t0 = time.monotonic()
        spins = 0
        while time.monotonic() - t0 < 0.05:
            spins += 1
        print("spun")
    """)
    assert out == "spun\n"


def test_a_thread_that_is_not_enlisted_does_not_hold_the_clock():
    # A thread blocked where the clock cannot see (a C queue) is not counted unless enlisted,
    # so the program's sleep is still skipped.
    got = values(
        run("""
            import queue, threading, time
            q = queue.SimpleQueue()
            threading.Thread(target=q.get, daemon=True).start()
            t0 = time.monotonic()
            time.sleep(600)
            print("elapsed=", time.monotonic() - t0, sep="")
            print("skipped=", clock.skipped, sep="")
            q.put(None)
        """)
    )
    assert got["skipped"] >= 599


@pytest.mark.parametrize("value", ["2", "host:1/x/", "nohost/x", "127.0.0.1:1"])
def test_a_bad_setting_is_a_clear_error(value):
    env = {**os.environ, "AIOBLE_VIRTUAL_TIME": value}
    proc = subprocess.run(
        [sys.executable, "-m", "mpemu.interpreter", "-c", "print('ran')"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 2
    assert "AIOBLE_VIRTUAL_TIME" in proc.stderr and "ran" not in proc.stdout


def test_board_clocks_under_aioble_python():
    # The program's own clocks: ticks, sleep_ms, machine.Timer, lightsleep, asyncio.sleep_ms.
    got = values(
        run(
            """
            import time, machine, asyncio
            t0 = time.ticks_ms()
            ticks = []
            timer = machine.Timer(period=1000, callback=lambda t: ticks.append(time.ticks_ms()))
            time.sleep_ms(10500)
            timer.deinit()
            print("timer_ticks=", len(ticks), sep="")
            print("first_tick=", time.ticks_diff(ticks[0], t0), sep="")
            machine.lightsleep(2000)
            async def main():
                await asyncio.sleep_ms(5000)
            asyncio.run(main())
            print("elapsed_ms=", time.ticks_diff(time.ticks_ms(), t0), sep="")
            """,
            aioble_python=True,
        )
    )
    assert got["timer_ticks"] == 10
    assert 1000 <= got["first_tick"] < 1100
    assert 17500 <= got["elapsed_ms"] < 17700


def test_a_programs_own_thread_is_on_the_clock():
    # MicroPython programs start threads with _thread (a Pico's second core): such a thread
    # sleeps on the simulated clock too, and the clock waits for it while it computes.
    got = values(
        run(
            """
            import _thread, time
            done = []
            def core1(n):
                for _ in range(n):
                    time.sleep(10)
                done.append(time.ticks_ms())
            t0 = time.ticks_ms()
            _thread.start_new_thread(core1, (30,))
            while not done:
                time.sleep(1)
            print("core1_ms=", time.ticks_diff(done[0], t0), sep="")
            print("main_ms=", time.ticks_diff(time.ticks_ms(), t0), sep="")
            """,
            aioble_python=True,
        )
    )
    assert 300_000 <= got["core1_ms"] < 300_500
    assert got["core1_ms"] <= got["main_ms"] < got["core1_ms"] + 1100


def test_a_sleep_inside_a_condition_does_not_stop_the_clock():
    # A waiter's deadline comes while another thread holds the condition's lock and sleeps:
    # the clock ends the wait once the lock is free, instead of waiting for it (and so for
    # the sleeper, who waits for the clock).
    got = values(
        run("""
            import threading, time
            cond = threading.Condition()
            woke = []
            def waiter():
                with cond:
                    woke.append(cond.wait(5))
                woke.append(time.monotonic() - t0)
            t0 = time.monotonic()
            thread = vclock.enlist(threading.Thread(target=waiter))
            thread.start()
            time.sleep(1)
            with cond:
                time.sleep(10)
            thread.join()
            print("notified=", int(woke[0]), sep="")
            print("woke_at=", woke[1], sep="")
        """)
    )
    assert got["notified"] == 0
    assert 11 <= got["woke_at"] < 11.5

"""MicroPython's environment: ticks arithmetic, schedule, and the shims under aioble-python."""

from __future__ import annotations

import threading
import time

import pytest

from mpemu import ticks as mptime
from mpemu.scheduler import Scheduler
from mpemu.ticks import TICKS_HALFPERIOD, TICKS_MAX, TICKS_PERIOD


@pytest.mark.parametrize(
    ("a", "b", "diff"),
    [
        (10, 3, 7),
        (3, 10, -7),
        (0, TICKS_MAX, 1),  # just wrapped
        (TICKS_MAX, 0, -1),
        (5, TICKS_PERIOD - 5, 10),
        (TICKS_HALFPERIOD - 1, 0, TICKS_HALFPERIOD - 1),
        (TICKS_HALFPERIOD, 0, -TICKS_HALFPERIOD),  # the far side is negative
        (0, 0, 0),
    ],
)
def test_ticks_diff(a: int, b: int, diff: int) -> None:
    assert mptime.ticks_diff(a, b) == diff


@pytest.mark.parametrize(
    ("t", "delta", "result"),
    [
        (0, 1, 1),
        (TICKS_MAX, 1, 0),
        (0, -1, TICKS_MAX),
        (100, TICKS_HALFPERIOD - 1, 100 + TICKS_HALFPERIOD - 1),
        (TICKS_MAX - 5, 10, 4),
    ],
)
def test_ticks_add(t: int, delta: int, result: int) -> None:
    assert mptime.ticks_add(t, delta) == result
    assert mptime.ticks_diff(result, t) == delta


@pytest.mark.parametrize("delta", [TICKS_HALFPERIOD, -TICKS_HALFPERIOD, TICKS_PERIOD, 10**12])
def test_ticks_add_overflow(delta: int) -> None:
    with pytest.raises(OverflowError, match="ticks interval overflow"):
        mptime.ticks_add(0, delta)


def test_ticks_are_masked_and_advance() -> None:
    for f in (mptime.ticks_ms, mptime.ticks_us, mptime.ticks_cpu):
        assert 0 <= f() <= TICKS_MAX
    t0 = mptime.ticks_us()
    mptime.sleep_us(2000)
    assert mptime.ticks_diff(mptime.ticks_us(), t0) >= 2000


def test_schedule_runs_in_order_one_at_a_time() -> None:
    scheduler = Scheduler()
    ran: list[int] = []
    running = [0]
    done = threading.Event()

    def callback(n: int) -> None:
        running[0] += 1
        assert running[0] == 1  # never two at once
        ran.append(n)
        running[0] -= 1
        if n == 9:
            done.set()

    for n in range(10):
        scheduler.schedule(callback, n)
    assert done.wait(5)
    assert ran == list(range(10))


def test_schedule_queue_full() -> None:
    scheduler = Scheduler(depth=4)
    gate = threading.Event()
    started = threading.Event()

    def blocker(_: object) -> None:
        started.set()
        gate.wait(5)

    scheduler.schedule(blocker, None)
    assert started.wait(5)  # running callbacks no longer count as pending
    for _ in range(4):
        scheduler.schedule(lambda _: None, "pending")
    with pytest.raises(RuntimeError, match="schedule queue full"):
        scheduler.schedule(lambda _: None, "one too many")
    gate.set()


def test_schedule_survives_a_failing_callback(capfd: pytest.CaptureFixture[str]) -> None:
    scheduler = Scheduler()
    done = threading.Event()
    scheduler.schedule(lambda _: 1 / 0, None)
    scheduler.schedule(lambda _: done.set(), None)
    assert done.wait(5)
    assert "ZeroDivisionError" in capfd.readouterr().err


def test_schedule_runs_while_the_caller_sleeps() -> None:
    scheduler = Scheduler()
    ran = threading.Event()
    scheduler.schedule(lambda _: ran.set(), None)
    time.sleep(0.05)  # a board runs scheduled callbacks during time.sleep too
    assert ran.wait(5)


SHIM_PROGRAM = r"""
import asyncio, sys, time
import micropython, machine, utime, uasyncio
from micropython import const

assert const(5) == 5 and utime is time and uasyncio is asyncio
for name in ("sleep_ms", "sleep_us", "ticks_ms", "ticks_us", "ticks_cpu", "ticks_diff", "ticks_add"):
    assert callable(getattr(time, name)), name
assert time.ticks_diff(time.ticks_add(time.ticks_ms(), 10), time.ticks_ms()) in (9, 10)

@micropython.native
def f():
    return 1
assert f() == 1 and micropython.opt_level() == 0
micropython.alloc_emergency_exception_buf(100)
micropython.heap_lock(); micropython.heap_unlock()

order = []
for n in range(5):
    micropython.schedule(order.append, n)
time.sleep_ms(100)
print("order", order)

try:
    for n in range(100):
        micropython.schedule(time.sleep_ms, 5)
except RuntimeError as e:
    print("full:", e)
time.sleep_ms(300)  # let the queue drain

async def main():
    flag = asyncio.ThreadSafeFlag()
    machine.Timer(-1, mode=machine.Timer.ONE_SHOT, period=10, callback=lambda t: flag.set())
    await asyncio.wait_for_ms(flag.wait(), 2000)
    await asyncio.sleep_ms(1)
    return "async ok"
print(asyncio.run(main()))

print(machine.reset_cause() == machine.PWRON_RESET, len(machine.unique_id()), machine.freq())
try:
    raise ValueError("shown")
except ValueError as e:
    sys.print_exception(e)
"""


def test_shims_under_aioble_python(aioble_python) -> None:
    result = aioble_python("-c", SHIM_PROGRAM)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "order [0, 1, 2, 3, 4]"
    assert lines[1] == "full: schedule queue full"
    assert lines[2] == "async ok"
    assert lines[3] == "True 8 160000000"
    assert lines[-1] == "ValueError: shown"


def test_plain_python_is_not_patched() -> None:
    import subprocess
    import sys

    code = (
        "import time, asyncio, importlib.util as u\n"
        "print(hasattr(time, 'ticks_ms'), hasattr(asyncio, 'sleep_ms'),"
        " u.find_spec('micropython'), u.find_spec('machine'), u.find_spec('utime'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "None", "None", "None"]


def test_machine_idle_does_not_burn_a_core(aioble_python) -> None:
    # CPU time of 200 idle() calls: a busy wait of ~1 ms each would spend ~0.2 s.
    code = (
        "import machine, time\n"
        "t = time.process_time()\n"
        "for _ in range(200):\n"
        "    machine.idle()\n"
        "print(time.process_time() - t)\n"
    )
    result = aioble_python("-c", code)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) < 0.05


def test_machine_reset_starts_the_program_again(aioble_python, tmp_path) -> None:
    program = tmp_path / "resets.py"
    program.write_text(
        "import machine, sys\n"
        "print('boot', machine.reset_cause(), sys.argv[1:])\n"
        "if machine.reset_cause() == machine.PWRON_RESET:\n"
        "    machine.reset()\n"
        "if machine.reset_cause() == machine.HARD_RESET:\n"
        "    machine.deepsleep(10)\n"
    )
    result = aioble_python(str(program), "arg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "boot 1 ['arg']",  # power-on
        "boot 2 ['arg']",  # after reset()
        "boot 4 ['arg']",  # after deepsleep(10)
    ]


def test_machine_reset_exits_when_asked(aioble_python) -> None:
    result = aioble_python(
        "-c",
        "import machine\nprint('a')\nmachine.reset()\nprint('b')",
        env={"AIOBLE_ON_RESET": "exit"},
    )
    assert (result.returncode, result.stdout) == (0, "a\n")


def test_print_from_threads_never_mixes_lines(aioble_python) -> None:
    # IRQ handlers print from another thread; a line must never be split by another's.
    code = (
        "import threading\n"
        "def spam(tag):\n"
        "    for i in range(2000):\n"
        "        print(tag, i, 'x' * 50, sep=':')\n"
        "threads = [threading.Thread(target=spam, args=(t,)) for t in 'ab']\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
    )
    result = aioble_python("-c", code)
    lines = result.stdout.splitlines()
    assert len(lines) == 4000
    assert all(line.endswith(":" + "x" * 50) and line[1] == ":" for line in lines)


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((1, "a"), {}, "1 a\n"),
        ((1, 2), {"sep": None, "end": None}, "1 2\n"),
        ((1, 2), {"sep": "-", "end": "!"}, "1-2!"),
        ((), {}, "\n"),
    ],
)
def test_atomic_print_is_print(args: tuple, kwargs: dict, text: str) -> None:
    import io

    from mpemu.environment import atomic_print

    out = io.StringIO()
    atomic_print(*args, file=out, **kwargs)
    assert out.getvalue() == text
    with pytest.raises(TypeError):
        atomic_print(1, sep=3, file=out)

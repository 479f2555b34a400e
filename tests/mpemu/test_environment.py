"""What `aioble-python` adds to the process (`mpemu.environment`) that board programs rely
on, run as the programs run: in a subprocess."""

from __future__ import annotations

import subprocess
import textwrap

from interpreter_run import aioble_python as run_interpreter


def aioble_python(source: str) -> subprocess.CompletedProcess:
    return run_interpreter("-c", textwrap.dedent(source))


def test_an_event_set_from_an_irq_thread_wakes_its_waiter() -> None:
    """On a board an IRQ handler runs on the main thread and may set an asyncio.Event; here
    handlers run on other threads, and CPython's Event would not wake its loop."""
    result = aioble_python(
        """
        import asyncio, threading
        ev = asyncio.Event()
        started = threading.Event()
        def irq():
            started.wait()
            ev.set()
            print("set from the IRQ thread:", ev.is_set())
        async def main():
            threading.Thread(target=irq).start()
            loop = asyncio.get_running_loop()
            loop.call_soon(started.set)
            try:
                await asyncio.wait_for(ev.wait(), 60)
                print("woken by the event")
            except asyncio.TimeoutError:
                print("woken only by the timeout")
        asyncio.run(main())
        ev2 = asyncio.Event()
        ev2.set()
        print("outside a loop:", ev2.is_set())
        """
    )
    assert result.stdout == (
        "set from the IRQ thread: True\nwoken by the event\noutside a loop: True\n"
    ), result.stderr


def test_threadsafeflag_and_ticks_come_from_the_emulation_not_aioble() -> None:
    result = aioble_python(
        """
        import asyncio, sys, time
        print(asyncio.ThreadSafeFlag.__module__, time.ticks_diff(time.ticks_add(5, -10), 5))
        print("aioble" in sys.modules)
        """
    )
    assert result.stdout == "mpemu.threadsafeflag -10\nFalse\n", result.stderr


def test_tasks_created_before_run_run_with_it() -> None:
    """MicroPython keeps one task queue: a task created at module level runs once the
    program calls asyncio.run()."""
    result = aioble_python(
        """
        import asyncio
        async def blink():
            for i in range(3):
                print("blink", i)
                await asyncio.sleep_ms(1)
        task = asyncio.create_task(blink())
        async def main():
            await task
            print("main done")
        asyncio.run(main())
        async def again():
            print("a second run works")
        asyncio.run(again())
        """
    )
    assert result.stdout == "blink 0\nblink 1\nblink 2\nmain done\na second run works\n", (
        result.stderr
    )

"""Memory under careless use: an IRQ backlog, and radios made and closed.

    python bench/bench_memory.py [--seconds S] [--cycles N] [--src PATH]

1. Write flood: a peripheral whose GATTS_WRITE handler sleeps 50 ms, a central writing
   without response as fast as `gattc_write` lets it, for S seconds, on the fast radio and
   on the air-time radio (`bleradio.configure(fast=False)`). Printed: the process's growth
   (VmRSS), the events left queued, the events dropped (`BLE.irq_dropped`, where the code has
   it), and whether a read request issued right after the flood was answered with success
   (not ended by ATT's 30 s timeout), and after how long, for information only.
2. Radio cycles: N times `new_radio()`, `active(True)`, then `close()` (old code: only
   `active(False)`, it has no close). Printed: memory (tracemalloc) and `bluetooth-irq`
   threads left per cycle, measured after a warm-up cycle and a garbage collection.

Each case runs in a child process, with `PYTHONPATH=--src` (default: this checkout's `src`),
so the same script measures the old code from a worktree of an earlier commit:
``git worktree add /tmp/head HEAD && python bench/bench_memory.py --src /tmp/head/src``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------------------------ children

FLOOD = r"""
import json, sys, threading, time
import bleradio, bluetooth
from bluetooth import UUID
fast, seconds = sys.argv[1] == "fast", float(sys.argv[2])
bleradio.configure(fast=fast)

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

p, c = bluetooth.new_radio("p"), bluetooth.new_radio("c")
state = {"conn": None, "peer": None, "read": threading.Event(), "ready": threading.Event()}

def on_p(event, data):
    if event == 1:
        state["peer"] = data[0]
    elif event == 3:
        time.sleep(0.05)  # the slow handler
    elif event == 4:
        return 0

def on_c(event, data):
    if event == 7:
        state["conn"] = data[0]
        state["ready"].set()
    elif event == 16:
        state["status"] = data[2]
        state["read"].set()

p.irq(on_p); c.irq(on_c)
p.active(True); c.active(True)
F = bluetooth
((char,),) = p.gatts_register_services([(UUID(0x181A), (
    (UUID(0x2A6E), F.FLAG_READ | F.FLAG_WRITE | F.FLAG_WRITE_NO_RESPONSE),),)])
p.gap_advertise(20_000, b"\x02\x01\x06")
c.gap_connect(*p.config("mac"))
assert state["ready"].wait(20)
time.sleep(0.5)
before = rss()
deadline = time.monotonic() + seconds
writes = 0
while time.monotonic() < deadline:
    c.gattc_write(state["conn"], char, b"x" * 20)
    writes += 1
after = rss()
queued = len(p._irq._queue)
started = time.monotonic()
c.gattc_read(state["conn"], char)
answered = state["read"].wait(120)
print(json.dumps({
    "writes": writes, "growth": after - before, "queued": queued,
    "dropped": getattr(p, "irq_dropped", None),
    "read_answered": answered and state.get("status") == 0, "read_s": time.monotonic() - started,
}))
sys.stdout.flush()
import os; os._exit(0)  # (the old code would deliver the whole backlog at exit)
"""

CYCLES = r"""
import gc, json, sys, threading, tracemalloc
import bluetooth
cycles = int(sys.argv[1])

def cycle():
    ble = bluetooth.new_radio("cycle")
    ble.irq(lambda event, data: None)
    ble.active(True)
    close = getattr(ble, "close", None)
    if close is not None:
        close()
    else:
        ble.active(False)

def irq_threads():
    return sum(t.name.startswith("bluetooth-irq") for t in threading.enumerate())

cycle()  # warm-up: imports, the stack thread, the medium
gc.collect()
tracemalloc.start()
base_mem, base_threads = tracemalloc.get_traced_memory()[0], irq_threads()
for _ in range(cycles):
    cycle()
gc.collect()
mem = tracemalloc.get_traced_memory()[0]
print(json.dumps({
    "bytes_per_cycle": (mem - base_mem) / cycles,
    "irq_threads_left": irq_threads() - base_threads,
    "cycles": cycles,
}))
sys.stdout.flush()
import os; os._exit(0)
"""


def child(code: str, src: str, *args: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=src)
    env.pop("AIOBLE_RADIO", None)
    env.pop("AIOBLE_TRANSPORT", None)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=600
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each flood")
    parser.add_argument("--cycles", type=int, default=30, help="new_radio()/close() cycles")
    parser.add_argument("--src", default=str(HERE.parent / "src"), help="the code to measure")
    options = parser.parse_args()
    print(f"code: {options.src}")
    for mode in ("fast", "air"):
        result = child(FLOOD, options.src, mode, str(options.seconds))
        print(
            f"write flood, {mode:4} radio, {options.seconds:g} s, handler sleeps 50 ms: "
            f"{result['writes']} writes, growth {int(result['growth']) / 1e6:.1f} MB, "
            f"{result['queued']} events queued, dropped {result['dropped']}, "
            f"read after flood answered: {result['read_answered']} "
            f"({float(result['read_s']):.1f} s)"
        )
    result = child(CYCLES, options.src, str(options.cycles))
    print(
        f"new_radio()/active(True)/close() x{result['cycles']}: "
        f"{float(result['bytes_per_cycle']) / 1e3:.1f} KB and "
        f"{int(result['irq_threads_left']) / int(result['cycles']):.2f} IRQ threads left per cycle"
    )


if __name__ == "__main__":
    main()

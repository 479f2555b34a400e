"""The cost of MicroPython's dialect: a board program's busy loop under `aioble-python` with
the dialect (the default) and without it (`AIOBLE_DIALECT=0`), and the same program's
compile time, and what MicroPython's own meanings cost where a program uses them.

    python bench/bench_dialect.py [--rounds N] [--loops L]

Runs the workload (`bench/workloads/board_loop.py`: `+` on bytes and ints, byte stores,
indexing, `struct.pack`, appends, formatting) in fresh processes, the two modes interleaved
(so a busy machine slows both alike), and prints the median time of the loop itself (the
program measures it with `time.ticks_us`, so start-up is left out), and the ratio. Also:
the time to compile a 2,000-line module in the dialect against plain `compile`, and the
time per operation of `payload += name` (bytearray += str, which only the dialect allows)
against the same with bytes, and of a byte store that keeps the low bits against one in
range.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from mpemu.dialect import program_builtins
from mpemu.dialect.transform import compile_program

WORKLOAD = Path(__file__).parent / "workloads" / "board_loop.py"


def _loop_us(dialect: bool, loops: int) -> tuple[int, str]:
    env = dict(os.environ, AIOBLE_DIALECT="1" if dialect else "0")
    command = [sys.executable, "-m", "mpemu.interpreter", str(WORKLOAD), str(loops)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    micros, result = out.split()
    return int(micros), result


def _compile_ms(source: str, dialect: bool, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        if dialect:
            compile_program(source, "<bench>")
        else:
            compile(ast.parse(source), "<bench>", "exec")
        best = min(best, time.perf_counter() - start)
    return best * 1000


def _ns_per_op(statement: str, setup: str, number: int = 200_000) -> float:
    """The best of 5 runs of `statement` compiled in the dialect, in ns per run."""
    body = "\n".join("        " + line for line in statement.splitlines())
    source = f"{setup}\ndef _loop(n):\n    for _ in range(n):\n{body}\n"
    namespace = {"__builtins__": program_builtins()}
    exec(compile_program(source, "<bench>"), namespace)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        namespace["_loop"](number)
        best = min(best, time.perf_counter() - start)
    return best / number * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="processes per mode")
    parser.add_argument(
        "--loops", type=int, default=200_000, help="iterations of the loop (long enough to time)"
    )
    args = parser.parse_args()

    times: dict[bool, list[int]] = {True: [], False: []}
    results: dict[bool, set[str]] = {True: set(), False: set()}
    for _ in range(args.rounds):
        for dialect in (False, True):
            micros, result = _loop_us(dialect, args.loops)
            times[dialect].append(micros)
            results[dialect].add(result)
    assert results[True] == results[False], f"the two modes computed {results}"
    plain, with_dialect = (statistics.median(times[m]) for m in (False, True))
    # Each round ran both modes back to back: the median of the rounds' ratios is what a
    # busy machine disturbs least.
    ratios = sorted(d / p for p, d in zip(times[False], times[True], strict=True))
    print(f"board loop, {args.loops} iterations, median of {args.rounds} processes each:")
    print(f"  without the dialect (AIOBLE_DIALECT=0): {plain / 1000:8.1f} ms")
    print(f"  with the dialect (default):             {with_dialect / 1000:8.1f} ms")
    print(
        f"  ratio: {statistics.median(ratios):.2f}x the time (rounds {ratios[0]:.2f}-"
        f"{ratios[-1]:.2f}; same result: {results[True].pop()})"
    )

    # A module of the size of a vendored aioble: the workload, repeated to ~2,000 lines.
    source = WORKLOAD.read_text()
    big = "\n".join(
        source.replace("def ", f"def v{i}_") for i in range(2000 // source.count("\n") + 1)
    )
    lines = big.count("\n")
    plain_ms, dialect_ms = _compile_ms(big, False), _compile_ms(big, True)
    print(
        f"compiling {lines} lines: plain {plain_ms:.1f} ms, dialect {dialect_ms:.1f} ms "
        f"({dialect_ms / plain_ms:.2f}x)"
    )
    setup = 'buf = bytearray(4)\nname = "sensor"\nraw = b"sensor"'
    rows = [
        ("payload = bytearray(); payload += name", "payload = bytearray(); payload += raw"),
        ("buf[0] = 300", "buf[0] = 44"),
    ]
    for micropython_only, valid in rows:
        mp_ns, cpython_ns = _ns_per_op(micropython_only, setup), _ns_per_op(valid, setup)
        print(f"  {micropython_only!r}: {mp_ns:.0f} ns; {valid!r}: {cpython_ns:.0f} ns")


if __name__ == "__main__":
    main()

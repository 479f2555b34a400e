"""The timing-free multitests (tests/multitests/, all but those marked ``# radio: virtual``)
pass while another job keeps every core busy.

A test that only passes on an idle machine has a race in it (in the runner, in the test's
own assumptions or in the stack) that a busy CI machine or laptop will hit. Here one busy
loop per usable core runs for the whole pass, at the same priority as the tests: an
ordinary job competing for the CPU, so the programs really get a fraction of it and their
steps come late and out of their usual interleaving. (A niced load would barely slow them:
the scheduler gives nice-0 processes nearly all the CPU over nice-19 ones.)

One pass of all of them, on the fast virtual radio (the suite's default): under this load it
roughly doubles the time of an idle pass, which the suite can afford once. The test waits
for events only; it asserts no durations.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blerun.multitest import FAIL, run_tests

FILES = sorted((Path(__file__).parent / "multitests").glob("*.py"))

# A busy loop that says when it spins, so the pass starts under load, not before it, and
# ends by itself if the test's process dies (its parent changes) so none is left behind.
BUSY_LOOP = """\
import os
parent = os.getppid()
print("spinning", flush=True)
while os.getppid() == parent:
    pass
"""


def _timing_free(path: Path) -> bool:
    # the same marker tests/test_multitests.py reads: timing-dependent files say so
    return not any(line.strip() == "# radio: virtual" for line in path.read_text().splitlines())


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 2


@pytest.fixture
def cpu_load() -> Iterator[list[subprocess.Popen[str]]]:
    """One busy loop per usable core (at least 2) for the test's duration, each spinning
    once this yields them. They are stopped however the test ends."""
    loops: list[subprocess.Popen[str]] = []
    try:
        for _ in range(max(2, _cores())):
            loops.append(
                subprocess.Popen(
                    [sys.executable, "-c", BUSY_LOOP], stdout=subprocess.PIPE, text=True
                )
            )
        for loop in loops:
            assert loop.stdout is not None
            assert loop.stdout.readline() == "spinning\n"
        yield loops
    finally:
        for loop in loops:
            loop.kill()
        for loop in loops:
            loop.wait()
            if loop.stdout is not None:
                loop.stdout.close()


def test_timing_free_multitests_pass_under_cpu_load(
    cpu_load: list[subprocess.Popen[str]],
) -> None:
    files = [str(f) for f in FILES if _timing_free(f)]
    assert files
    out = io.StringIO()
    summary = run_tests(files, radio="virtual", out=out)
    failed = [r.path for r in summary.results if r.status == FAIL]
    assert not failed, f"failed under {len(cpu_load)} busy loops: {failed}\n{out.getvalue()}"
    # every busy loop still spins: the whole pass ran under load
    assert all(loop.poll() is None for loop in cpu_load)

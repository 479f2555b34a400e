"""Every MicroPython multitest file in tests/multitests/, run as `aioble multitest` runs it,
on the virtual radio and on Google's rootcanal controller.

On the virtual radio the files run with air time, as users get it, on simulated time
(`aioble multitest --virtual-time`, in a process of its own: the clock is process-wide), so
the suite does not wait for the advertising and connection intervals. Real time is tested
by tests/test_multitests_under_load.py and by the rootcanal leg.

A file whose source has the line ``# radio: virtual`` depends on the virtual radio's timing
(or measures it) and runs on the virtual radio only.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blerun.multitest import FAIL, SKIP, run_tests

FILES = sorted((Path(__file__).parent / "multitests").glob("*.py"))
RADIOS = ("virtual", "rootcanal")


def _virtual_only(path: Path) -> bool:
    return any(line.strip() == "# radio: virtual" for line in path.read_text().splitlines())


@pytest.mark.parametrize("radio", RADIOS)
@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_multitest(path: Path, radio: str) -> None:
    if radio != "virtual" and _virtual_only(path):
        pytest.skip("depends on the virtual radio's timing")
    if radio == "virtual":
        _on_simulated_time(path)
        return
    out = io.StringIO()
    summary = run_tests([str(path)], radio=radio, out=out)
    (result,) = summary.results
    if result.status == SKIP:
        pytest.skip(f"the test skipped itself on {radio}")
    assert result.status != FAIL, out.getvalue()


def _on_simulated_time(path: Path) -> None:
    # the virtual radio with air time (the suite's default is fast mode)
    proc = subprocess.run(
        [sys.executable, "-m", "blerun.cli", "multitest", "--virtual-time", "-o", "fast=0"]
        + [path.name],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=path.parent,
        env={k: v for k, v in os.environ.items() if k != "AIOBLE_RADIO_FAST"},
    )
    if proc.stdout.startswith("SKIP"):
        pytest.skip("the test skipped itself on virtual")
    assert proc.returncode == 0 and proc.stdout.startswith("PASS"), proc.stdout + proc.stderr

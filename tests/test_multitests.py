"""Every MicroPython multitest file in tests/multitests/, run as `aioble multitest` runs it,
on the virtual radio and on Google's rootcanal controller.

A file whose source has the line ``# radio: virtual`` depends on the virtual radio's timing
(or measures it) and runs on the virtual radio only.
"""

from __future__ import annotations

import io
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
    out = io.StringIO()
    # the virtual radio with air time, as users get it (the suite's default is fast mode)
    options = {"fast": False} if radio == "virtual" else None
    summary = run_tests([str(path)], radio=radio, radio_options=options, out=out)
    (result,) = summary.results
    if result.status == SKIP:
        pytest.skip(f"the test skipped itself on {radio}")
    assert result.status != FAIL, out.getvalue()

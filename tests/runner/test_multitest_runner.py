"""`aioble multitest` on small non-BLE multitest files (tests/runner/data/)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from blerun import cli
from blerun.multitest import FAIL, PASS, SKIP, run_test_async, run_tests

DATA = Path(__file__).parent / "data"


def run_one(name: str, **kw):
    return asyncio.run(run_test_async(str(DATA / name), **kw))


def test_set_next_broadcast_across_instances() -> None:
    result = run_one("handshake.py")
    assert result.status == PASS, result.diff


def test_failure_has_a_diff() -> None:
    result = run_one("differs.py")
    assert result.status == FAIL
    assert "-three\n" in result.diff and "+two\n" in result.diff


def test_skip() -> None:
    assert run_one("skipped.py").status == SKIP


def test_silent_instance_times_out() -> None:
    result = run_one("silent.py", instance_timeout=1.0)
    assert result.status == PASS, result.diff
    assert result.output.endswith("instance1 waiting\nTIMEOUT\n")


def test_metrics_apart_and_stderr_merged() -> None:
    result = run_one("metrics.py")
    assert result.status == PASS, result.diff
    assert result.metrics == ["rate 12.5 ops/s"]


def test_missing_exp_fails_and_shows_the_output() -> None:
    result = run_one("noexp.py")
    assert result.status == FAIL
    assert "noexp.py.exp does not exist" in result.reason
    assert result.output == "--- instance0 ---\noutput without an .exp file\n"


def test_expect_reboot_resumes() -> None:
    result = run_one("reboot.py")
    assert result.status == PASS, result.output


def test_lines_are_seen_as_they_come() -> None:
    seen: list[tuple[int, str]] = []
    run_one("handshake.py", on_line=lambda idx, line: seen.append((idx, line)))
    assert (0, "SET VALUE = 42") in seen and (1, "BROADCAST hello") in seen


def test_summary_and_report() -> None:
    out = io.StringIO()
    names = ["handshake.py", "differs.py", "skipped.py", "metrics.py", "noexp.py"]
    summary = run_tests([str(DATA / n) for n in names], out=out)
    text = out.getvalue()
    assert summary.exit_status == 1
    assert text.splitlines()[-1] == "2 passed, 2 failed, 1 skipped"
    assert f"PASS  {DATA / 'handshake.py'}" in text
    assert f"FAIL  {DATA / 'differs.py'}" in text and "    +two" in text
    assert f"SKIP  {DATA / 'skipped.py'}" in text
    assert "    metric: rate 12.5 ops/s" in text
    assert "      output without an .exp file" in text


def test_cli_multitest(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["multitest", str(DATA / "handshake.py")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 passed, 0 failed"
    assert cli.main(["multitest", str(DATA / "nothere.py")]) == 2


@pytest.mark.parametrize("radio", ["virtual", "rootcanal"])
def test_ble_multitest(needs_ble, radio: str) -> None:
    if radio == "rootcanal":
        import bleradio

        if not hasattr(bleradio, "rootcanal"):
            pytest.skip("bleradio.rootcanal not there yet")
    result = run_one("ble_connect.py", radio=radio)
    assert result.status == PASS, result.diff or result.output

"""`aioble multitest` on small non-BLE multitest files (tests/runner/data/)."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import sys
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
    # MicroPython's runner records the WAIT_FOR_REBOOT line too
    assert result.output == "--- instance0 ---\nWAIT_FOR_REBOOT resume0 50\nresetting\nresumed\n"


def test_instance_that_printed_nothing_has_an_empty_line() -> None:
    result = run_one("quiet.py")
    assert result.status == PASS, result.diff
    assert result.output.startswith("--- instance0 ---\n\n--- instance1 ---\n")


def test_failure_shows_the_empty_line(tmp_path: Path) -> None:
    # an .exp written without the empty line fails, and the report shows the line missing
    shutil.copy(DATA / "quiet.py", tmp_path)
    (tmp_path / "quiet.py.exp").write_text("--- instance0 ---\n--- instance1 ---\ninstance1 done\n")
    out = io.StringIO()
    summary = run_tests([str(tmp_path / "quiet.py")], out=out)
    assert summary.results[0].status == FAIL
    assert " --- instance0 ---\n+\n --- instance1 ---\n" in summary.results[0].diff
    assert "     --- instance0 ---\n    +\n     --- instance1 ---\n" in out.getvalue()


def test_silent_instance_without_exp_shows_its_empty_block(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("def instance0():\n    pass\n")
    out = io.StringIO()
    summary = run_tests([str(tmp_path / "t.py")], out=out)
    assert summary.results[0].output == "--- instance0 ---\n\n"
    assert "    output got:\n      --- instance0 ---\n      \n" in out.getvalue()


def test_broadcast_after_next_reaches_instances_started_later() -> None:
    # instance0 broadcasts right after NEXT, before instances 1 and 2 have started
    result = run_one("held_broadcast.py")
    assert result.status == PASS, result.diff


def test_broadcast_during_a_reset_reaches_the_resumed_instance() -> None:
    result = run_one("reboot_broadcast.py")
    assert result.status == PASS, result.diff


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


def test_aioble_multitest_command_shows_the_empty_line(tmp_path: Path) -> None:
    # `aioble multitest` as a user runs it: a silent instance's empty line, in the diff
    shutil.copy(DATA / "quiet.py", tmp_path)
    (tmp_path / "quiet.py.exp").write_text("--- instance0 ---\n--- instance1 ---\ninstance1 done\n")
    done = subprocess.run(
        [sys.executable, "-m", "blerun.cli", "multitest", "quiet.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        "FAIL  quiet.py",
        "    --- quiet.py.exp (expected)",
        "    +++ quiet.py (got)",
        "    @@ -1,3 +1,4 @@",
        "     --- instance0 ---",
        "    +",
        "     --- instance1 ---",
        "     instance1 done",
        "0 passed, 1 failed",
    ]

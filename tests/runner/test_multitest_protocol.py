"""The multitest protocol as pure functions: table-driven, no processes."""

from __future__ import annotations

import pytest

from blerun import protocol
from blerun.protocol import Broadcast, Metric, Next, Output, Set, Skip, WaitForReboot


@pytest.mark.parametrize(
    ("line", "event"),
    [
        ("NEXT", Next()),
        ("SKIP", Skip()),
        ("SET BDADDR = b'\\x01\\x02'", Set("BDADDR = b'\\x01\\x02'")),
        ("SET x = 1", Set("x = 1")),
        ("BROADCAST connected", Broadcast("BROADCAST connected")),
        ("BROADCAST two words", Broadcast("BROADCAST two words")),
        ("OUTPUT_METRIC 12.5 kB/s", Metric("12.5 kB/s")),
        ("WAIT_FOR_REBOOT resume0 500", WaitForReboot("resume0", 500)),
        ("WAIT_FOR_REBOOT resume0", Output("WAIT_FOR_REBOOT resume0")),
        ("WAIT_FOR_REBOOT resume0 soon", Output("WAIT_FOR_REBOOT resume0 soon")),
        ("NEXT ", Output("NEXT ")),  # decode_line strips; a raw "NEXT " is just output
        ("next", Output("next")),
        ("SET", Output("SET")),
        ("BROADCAST", Output("BROADCAST")),
        ("SKIPPED", Output("SKIPPED")),
        ("", Output("")),
        ("Traceback (most recent call last):", Output("Traceback (most recent call last):")),
    ],
)
def test_parse_line(line: str, event: protocol.Event) -> None:
    assert protocol.parse_line(line) == event


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        (b"NEXT\n", "NEXT"),
        (b"NEXT\r\n", "NEXT"),
        (b"value 1  \r\n", "value 1"),
        (b"\xff\n", "\\xff"),
        (b"caf\xc3\xa9\n", "café"),
        (b"last line without newline", "last line without newline"),
    ],
)
def test_decode_line(raw: bytes, line: str) -> None:
    assert protocol.decode_line(raw) == line


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("def instance0():\n    pass\n", 1),
        ("def instance0():\n    pass\ndef instance1():\n    pass\n", 2),
        ("def instance1():\n    pass\n", 2),  # the highest N counts, as MicroPython's runner
        ("def instance0():\n    pass\ndef instance2():\n    pass\n", 3),
        ("  def instance0():\n", 0),  # indented: not a top-level instance
        ("def instance0(x):\n", 0),
        ("def instanceA():\n", 0),
        ("x = 1\n", 0),
        ("def instance10():\n", 11),
    ],
)
def test_count_instances(source: str, count: int) -> None:
    assert protocol.count_instances(source) == count


def test_broadcast_goes_out_with_crlf() -> None:
    assert protocol.broadcast_bytes(Broadcast("BROADCAST hi")) == b"BROADCAST hi\r\n"


def test_build_script_layout() -> None:
    script = protocol.build_script("def instance1():\n    print(X)\n", "instance1", ["X = 3"])
    assert script.startswith("import sys; sys.path.remove('')\ndef instance1():")
    assert "class multitest:" in script
    assert (
        script.index("class multitest:") < script.index("X = 3\n") < script.index("instance1()\n")
    )
    assert script.endswith("\ninstance1()\nmultitest.flush()\n")


def test_built_script_runs_and_speaks_the_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    source = "def instance0():\n    multitest.globals(A=1)\n    multitest.next()\n    print(B)\n"
    script = protocol.build_script(source, "instance0", ["B = 'injected'"])
    import sys

    sys.path.insert(0, "")  # the script starts with sys.path.remove('')
    exec(compile(script, "<string>", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out == "SET A = 1\nNEXT\ninjected\n"


@pytest.mark.parametrize(
    ("outputs", "text"),
    [
        # MicroPython's runner: "\n".join(lines) + "\n", so an instance that printed
        # nothing has an empty line, the same as one that printed one empty line
        ([[]], "--- instance0 ---\n\n"),
        ([[""]], "--- instance0 ---\n\n"),
        ([["a"], []], "--- instance0 ---\na\n--- instance1 ---\n\n"),
        ([[], ["a"]], "--- instance0 ---\n\n--- instance1 ---\na\n"),
        ([[], []], "--- instance0 ---\n\n--- instance1 ---\n\n"),
        ([["a", "b"], ["c"]], "--- instance0 ---\na\nb\n--- instance1 ---\nc\n"),
        ([["", ""]], "--- instance0 ---\n\n\n"),
        ([["TIMEOUT"]], "--- instance0 ---\nTIMEOUT\n"),
    ],
)
def test_format_output(outputs: list[list[str]], text: str) -> None:
    assert protocol.format_output(outputs) == text


@pytest.mark.parametrize(
    ("line", "record"),
    [
        ("hello", "hello"),
        ("", ""),
        # MicroPython's runner handles WAIT_FOR_REBOOT and records the line as well
        ("WAIT_FOR_REBOOT resume0 500", "WAIT_FOR_REBOOT resume0 500"),
        ("WAIT_FOR_REBOOT instance1 0", "WAIT_FOR_REBOOT instance1 0"),
        ("WAIT_FOR_REBOOT resume0", "WAIT_FOR_REBOOT resume0"),  # malformed: plain output
        ("NEXT", None),
        ("SKIP", None),
        ("SET x = 1", None),
        ("BROADCAST go", None),
        ("OUTPUT_METRIC 1 op/s", None),
    ],
)
def test_recorded(line: str, record: str | None) -> None:
    assert protocol.recorded(line, protocol.parse_line(line)) == record


def test_output_diff() -> None:
    assert protocol.output_diff("a\n", "a\n") == ""
    diff = protocol.output_diff("a\nb\n", "a\nc\n", "t.py")
    assert "--- t.py.exp (expected)" in diff and "+++ t.py (got)" in diff
    assert "-b\n" in diff and "+c\n" in diff
    # An .exp file without its final newline differs, and the diff says why.
    assert "No newline at end of file" in protocol.output_diff("a", "a\n")

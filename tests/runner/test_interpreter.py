"""`aioble-python`: how it starts programs and how they end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mpemu.interpreter import Invocation, UsageError, parse_args


@pytest.mark.parametrize(
    ("argv", "invocation"),
    [
        (["prog.py"], Invocation("file", "prog.py")),
        (["prog.py", "-c", "x"], Invocation("file", "prog.py", ["-c", "x"])),
        (["-c", "print(1)", "a"], Invocation("command", "print(1)", ["a"])),
        (["-cprint(1)"], Invocation("command", "print(1)")),
        (["-m", "mod", "-x"], Invocation("module", "mod", ["-x"])),
        (["-X", "heapsize=1M", "-O2", "-v", "prog.py"], Invocation("file", "prog.py")),
        ([], Invocation("stdin")),
        (["-", "a"], Invocation("stdin", "", ["a"])),
        (["-h"], None),
    ],
)
def test_parse_args(argv: list[str], invocation: Invocation | None) -> None:
    assert parse_args(argv) == invocation


@pytest.mark.parametrize("argv", [["-c"], ["-m"], ["--frobnicate"]])
def test_parse_args_errors(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_args(argv)


def test_command_has_empty_path_entry_first(aioble_python) -> None:
    # MicroPython's multitest runner starts every script with sys.path.remove('').
    result = aioble_python("-c", "import sys; print(repr(sys.path[0]), sys.argv)", "x")
    assert result.stdout == "'' ['-c', 'x']\n"


def test_file_runs_as_main_with_its_folder_on_path(aioble_python, tmp_path) -> None:
    (tmp_path / "helper.py").write_text("VALUE = 'from helper'\n")
    (tmp_path / "prog.py").write_text(
        "import sys, helper\nprint(__name__, helper.VALUE, sys.argv[1:])\n"
    )
    result = aioble_python(str(tmp_path / "prog.py"), "one", cwd="/")
    assert (result.returncode, result.stdout) == (0, "__main__ from helper ['one']\n")


def test_module(aioble_python, tmp_path) -> None:
    (tmp_path / "mod.py").write_text("import sys\nprint(__name__, sys.argv[1:])\n")
    result = aioble_python("-m", "mod", "z", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "__main__ ['z']\n")


def test_script_from_stdin(aioble_python) -> None:
    result = aioble_python(stdin="import time\nprint(time.ticks_diff(5, 2))\n")
    assert (result.returncode, result.stdout) == (0, "3\n")


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [
        ("pass", 0, ""),
        ("raise SystemExit", 0, ""),
        ("raise SystemExit(3)", 3, ""),
        ("import sys; sys.exit('bye')", 1, "bye\n"),
        ("raise KeyboardInterrupt", 130, ""),
    ],
)
def test_exit_status(aioble_python, code: str, status: int, stderr: str) -> None:
    result = aioble_python("-c", code)
    assert (result.returncode, result.stderr) == (status, stderr)


def test_exception_prints_the_programs_traceback(aioble_python, tmp_path) -> None:
    (tmp_path / "boom.py").write_text("def f():\n    raise ValueError('boom')\n\nf()\n")
    result = aioble_python(str(tmp_path / "boom.py"))
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith("ValueError: boom\n")
    assert "interpreter.py" not in result.stderr  # only the program's frames
    assert 'boom.py", line 4, in <module>' in result.stderr


def test_missing_file(aioble_python) -> None:
    result = aioble_python("/nonexistent/prog.py")
    assert result.returncode == 2
    assert "can't open file" in result.stderr


def test_stdout_is_line_buffered(tmp_path) -> None:
    # The first line must arrive while the program still runs (it waits for our stdin).
    proc = subprocess.Popen(
        [sys.executable, "-m", "mpemu.interpreter", "-c", "print('ready'); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline() == "ready\n"
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait(10) == 0
    finally:
        proc.kill()
        proc.wait()


def test_sigint_exits_quietly() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mpemu.interpreter",
            "-c",
            "import time\nprint('up')\ntime.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "up\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert (proc.returncode, err) == (130, "")
    finally:
        proc.kill()
        proc.wait()

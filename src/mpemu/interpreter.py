"""`aioble-python`: CPython dressed as MicroPython's unix interpreter.

    aioble-python FILE.py [ARGS]    run a file (sys.path[0] is its folder)
    aioble-python -c CODE [ARGS]    run CODE (sys.path[0] is '', as MicroPython's multitest
                                    runner expects: it starts with sys.path.remove(''))
    aioble-python -m MODULE [ARGS]  run a module as __main__
    aioble-python [-]               run the script read from stdin (a REPL on a terminal)
    aioble-python --version         print the version

The program runs in MicroPython's environment (`mpemu.environment`). An uncaught exception
prints its traceback to stderr and exits with status 1; `SystemExit` keeps its code;
KeyboardInterrupt exits with status 130 without a traceback. MicroPython's `-X OPT`, `-O`
and `-v` are accepted and ignored. `AIOBLE_LOG=LEVEL[,LOGGER=LEVEL...]` sends log records
(the virtual board's, the stack's) to stderr (`mpemu.logs`).
"""

from __future__ import annotations

import code
import codeop
import os
import runpy
import signal
import sys
import traceback
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import Any

import vclock
from mpemu import dialect, environment, logs, restart

USAGE = "usage: aioble-python [-c CODE | -m MODULE | FILE | -] [ARGS...]"

# Frames of ours (and runpy's) at the top of a traceback are not the program's.
_OWN_FILES = {os.path.abspath(__file__), os.path.abspath(runpy.__file__)}


class UsageError(Exception):
    pass


@dataclass
class Invocation:
    mode: str  # "file", "command", "module", "stdin" or "version"
    target: str = ""  # the file, the code or the module name
    args: list[str] = field(default_factory=list)  # the program's own arguments

    def interpreter_args(self) -> list[str]:
        """Arguments that start this same program again."""
        if self.mode == "file":
            return [self.target, *self.args]
        if self.mode == "module":
            return ["-m", self.target, *self.args]
        return ["-c", self.target, *self.args]


def parse_args(argv: list[str]) -> Invocation | None:
    """Parse the interpreter's arguments like `python`/`micropython` do: options up to the
    first of `-c CODE`, `-m MODULE`, `-` or a file name; everything after belongs to the
    program. None means print the usage (`-h`)."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            return None
        if arg in ("-V", "--version"):
            return Invocation("version")
        if arg in ("-c", "-m"):
            if i + 1 >= len(argv):
                raise UsageError(f"argument expected for the {arg} option")
            mode = "command" if arg == "-c" else "module"
            return Invocation(mode, argv[i + 1], argv[i + 2 :])
        if arg.startswith("-c") or arg.startswith("-m"):
            mode = "command" if arg[1] == "c" else "module"
            return Invocation(mode, arg[2:], argv[i + 1 :])
        if arg == "-X":
            i += 2
            continue
        if arg.startswith("-X") or arg.startswith("-O") or arg == "-v":
            i += 1
            continue
        if arg == "-":
            return Invocation("stdin", "", argv[i + 1 :])
        if arg.startswith("-"):
            raise UsageError(f"unknown option {arg}")
        return Invocation("file", arg, argv[i + 1 :])
    return Invocation("stdin")


class _DialectCompiler:
    """The REPL's compiler: whether a line is complete is CPython's question; what it runs
    is compiled in the dialect."""

    def __init__(self) -> None:
        self._complete = codeop.CommandCompiler()

    def __call__(self, source: str, filename: str = "<input>", symbol: str = "single") -> Any:
        if self._complete(source, filename, symbol) is None:
            return None
        return dialect.compile_program(source, filename, symbol)


def _exec_main(source: str | bytes, filename: str, file: str | None = None) -> None:
    """Run `source` as the `__main__` module, in MicroPython's dialect."""
    module = ModuleType("__main__")
    if file is not None:
        module.__file__ = file
    module.__builtins__ = dialect.program_builtins()  # type: ignore[attr-defined]
    sys.modules["__main__"] = module
    exec(dialect.compile_program(source, filename), module.__dict__)


def _run(inv: Invocation) -> None:
    if inv.mode == "file":
        with open(inv.target, "rb") as f:
            source = f.read()
        environment.install(os.path.dirname(os.path.abspath(inv.target)))
        sys.argv = [inv.target, *inv.args]
        _exec_main(source, inv.target, inv.target)
    elif inv.mode == "command":
        environment.install("")
        sys.argv = ["-c", *inv.args]
        _exec_main(inv.target, "<string>")
    elif inv.mode == "module":
        environment.install(os.getcwd())
        sys.argv = [inv.target, *inv.args]
        init = {"__builtins__": dialect.program_builtins()}
        runpy.run_module(inv.target, init_globals=init, run_name="__main__", alter_sys=True)
    elif sys.stdin is not None and sys.stdin.isatty():
        environment.install("")
        sys.argv = [""]
        console = code.InteractiveConsole({"__builtins__": dialect.program_builtins()})
        console.compile = _DialectCompiler()  # type: ignore[assignment]
        console.interact(banner=f"aioble-python (CPython {sys.version.split()[0]})", exitmsg="")
    else:
        source_text = sys.stdin.read() if sys.stdin is not None else ""
        # machine.reset() runs this same script again (stdin is spent by then).
        restart.remember(["-c", source_text, *inv.args])
        environment.install("")
        sys.argv = ["-" if inv.args else "", *inv.args]
        _exec_main(source_text, "<stdin>", "<stdin>")


def _program_traceback(tb: TracebackType | None) -> TracebackType | None:
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) in _OWN_FILES:
        tb = tb.tb_next
    return dialect.program_traceback(tb)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def run(inv: Invocation) -> int:
    """Run the program of `inv` in this process; return its exit status."""
    try:
        logs.configure(os.environ.get("AIOBLE_LOG", ""))
    except logs.LogSpecError as exc:
        print(f"aioble-python: AIOBLE_LOG: {exc}", file=sys.stderr)
        return 2
    # Ctrl-C stops the program even where this process was started with SIGINT ignored (a
    # shell's background job): `aioble run` stops its programs with SIGINT first.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        vclock.install_from_env()
    except (ValueError, OSError) as exc:
        print(f"aioble-python: {vclock.ENV}: {exc}", file=sys.stderr)
        return 2
    restart.remember(inv.interpreter_args())
    try:
        restart.wake()  # (a deep sleep a restart asked for: Ctrl-C may end it)
        _run(inv)
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:  # noqa: BLE001 - the program's exception, printed as Python does
        _flush()
        exc.__traceback__ = _program_traceback(exc.__traceback__)
        traceback.print_exception(exc, file=sys.stderr)
        return 1
    finally:
        _flush()
    return 0


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aioble-cpython")
    except PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    try:
        inv = parse_args(sys.argv[1:] if argv is None else argv)
    except UsageError as exc:
        print(f"aioble-python: {exc}\n{USAGE}", file=sys.stderr)
        return 2
    if inv is None:
        from bleradio.config import ENVIRONMENT_HELP

        print(USAGE)
        print(__doc__.split("\n\n", 2)[1])
        print()
        print(ENVIRONMENT_HELP, end="")
        return 0
    if inv.mode == "version":
        print(f"aioble-python {_package_version()} (CPython {sys.version.split()[0]})")
        return 0
    if inv.mode == "file" and not os.path.exists(inv.target):
        print(f"aioble-python: can't open file {inv.target!r}: no such file", file=sys.stderr)
        return 2
    return run(inv)


if __name__ == "__main__":
    from mpemu.interpreter import main as _main  # the importable copy, not this __main__ one

    sys.exit(_main())

"""MicroPython's dialect for a program's own code.

MicroPython is lenient where board programs lean on it: a str is a buffer (`b"\\x02\\x01" +
"name"`), integer stores into byte buffers keep the low bits, `struct` truncates, `const()`
needs no import. `aioble-python` compiles the program's own code (`importer`: its main file,
its folder, `lib/` beside it) with a transform (`transform`) whose rewritten operations call
helpers (`runtime`) that do what CPython does, and what MicroPython does only where CPython
would refuse. The program's modules see their own builtins (`program_builtins()`): the
helpers, `const`, viper's pointer types (`viper`), a `memoryview` that takes a str, and an
`__import__` that gives them MicroPython's `struct`, `json` and `time` (`mpstruct`,
`mpjson`, `mptime`).
Everything else in the process (the standard library, Bumble, this project) is untouched.

`AIOBLE_DIALECT=0` turns it off (plain CPython semantics for the program, e.g. to compare).
"""

from __future__ import annotations

import builtins
import importlib
import os
from collections.abc import Sequence
from types import CodeType, ModuleType, TracebackType
from typing import Any

from mpemu.dialect import importer, mpjson, mpstruct, mptime, runtime, transform, viper

__all__ = ["compile_program", "install", "program_builtins", "program_traceback"]

# The stdlib modules whose MicroPython flavour the program gets instead.
_REPLACED = {
    "struct": "mpemu.dialect.mpstruct",
    "ustruct": "mpemu.dialect.mpstruct",
    "json": "mpemu.dialect.mpjson",
    "ujson": "mpemu.dialect.mpjson",
    "time": "mpemu.dialect.mptime",
    "utime": "mpemu.dialect.mptime",
}
# Frames of these stand where CPython's own (C) functions would: a program's traceback ends
# at its own line, as it does for struct.pack there.
_HELPER_FILES = {
    os.path.abspath(module.__file__ or "") for module in (runtime, mpstruct, mpjson, mptime)
}

_builtins: dict[str, Any] | None = None


def _const(value: Any) -> Any:
    """MicroPython's compiler folds `X = const(expr)` without any import."""
    return value


def _program_import(
    name: str,
    globals: dict[str, Any] | None = None,
    locals: dict[str, Any] | None = None,
    fromlist: Sequence[str] = (),
    level: int = 0,
) -> ModuleType:
    if level == 0 and name in _REPLACED:
        return importlib.import_module(_REPLACED[name])
    return builtins.__import__(name, globals, locals, fromlist, level)


def enabled() -> bool:
    return os.environ.get("AIOBLE_DIALECT", "1").strip() not in ("0", "off", "no", "false")


def compile_program(source: str | bytes, filename: str, mode: str = "exec") -> CodeType:
    """Compile the program's own code: in the dialect, unless it is turned off."""
    if enabled():
        return transform.compile_program(source, filename, mode)
    return compile(source, filename, mode, dont_inherit=True)


def program_builtins() -> dict[str, Any]:
    """The builtins of the program's own code (made once, after `environment.install` has
    set `print`)."""
    global _builtins
    if not enabled():
        return builtins.__dict__
    if _builtins is None:
        table = dict(builtins.__dict__)
        table.update(runtime.HELPERS)
        table.update(viper.NAMES)
        table["const"] = _const
        table["memoryview"] = runtime.MicroMemoryview
        table["__import__"] = _program_import
        _builtins = table
    return _builtins


def install(program_dirs: Sequence[str]) -> None:
    """Compile the modules found in `program_dirs` (a program's folder and its `lib/`) in
    the dialect from now on."""
    if enabled():
        importer.install(program_dirs, program_builtins)


def program_traceback(tb: TracebackType | None) -> TracebackType | None:
    """`tb` without the dialect's helper frames, so a program's error reads as it would on
    a board (the helpers re-raise CPython's own exception from inside themselves)."""
    frames: list[TracebackType] = []
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) not in _HELPER_FILES:
            # A guarded statement's `except` re-raises: its frame shows twice, keep the
            # inner entry (the statement's own line).
            if frames and frames[-1].tb_frame is tb.tb_frame:
                frames.pop()
            frames.append(tb)
        tb = tb.tb_next
    result = None
    for frame in reversed(frames):
        result = TracebackType(result, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return result

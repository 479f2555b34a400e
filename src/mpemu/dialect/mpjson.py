"""The program's `json` (and `ujson`): CPython's, except that bytes serialise as strings
(`dumps(b"x")` is `'"x"'` on MicroPython 1.27, where CPython raises TypeError; MicroPython's
cpydiff `modules_json_nonserializable`). A bytearray is not JSON on either (MicroPython
writes its repr, unquoted; here it stays a TypeError)."""

from __future__ import annotations

import json as _json
from json import JSONDecodeError, JSONDecoder, JSONEncoder, load, loads
from typing import Any

__all__ = ["JSONDecodeError", "JSONDecoder", "JSONEncoder", "dump", "dumps", "load", "loads"]


def _buffer_as_str(obj: Any) -> str:
    if isinstance(obj, bytes):
        # One character per byte: what MicroPython copies into its output.
        return obj.decode("latin-1")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    kwargs.setdefault("default", _buffer_as_str)
    return _json.dumps(obj, *args, **kwargs)


def dump(obj: Any, fp: Any, *args: Any, **kwargs: Any) -> None:
    kwargs.setdefault("default", _buffer_as_str)
    _json.dump(obj, fp, *args, **kwargs)

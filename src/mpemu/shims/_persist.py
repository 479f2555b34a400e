"""Small state that survives `machine.reset()` and `deepsleep()` as a board's flash, NVS
or RTC memory does: kept in this process's environment, which the restart's `exec`
inherits (see `mpemu.restart`). A new run starts without it, as after a reflash.
Stateless itself, so importing it as `mpemu.shims._persist` is safe.
"""

from __future__ import annotations

import json
import os
from typing import Any

_PREFIX = "_AIOBLE_KEEP_"


def load(name: str, default: Any = None) -> Any:
    text = os.environ.get(_PREFIX + name)
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def save(name: str, value: Any) -> None:
    os.environ[_PREFIX + name] = json.dumps(value)

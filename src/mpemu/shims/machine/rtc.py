"""`machine.RTC`: the PC's local time, moved by `datetime(...)`; the setting (like the RTC's
battery-backed clock) and `memory()` survive `machine.reset()`/`deepsleep()`."""

from __future__ import annotations

import datetime as _dt
import errno
import time
from typing import Any

from mpemu.shims import _persist

_OFFSET = "RTC_OFFSET"  # seconds between the RTC and the PC's local time
_MEMORY = "RTC_MEMORY"  # RTC memory, hex
_MEMORY_SIZE = 2048  # esp32's RTC user memory


class RTC:
    def __init__(self, id: int = 0, datetime: Any = None) -> None:
        if datetime is not None:
            self.init(datetime)

    def init(self, datetime: Any) -> None:
        self.datetime(datetime)

    def datetime(self, datetimetuple: Any = None) -> tuple[int, ...] | None:
        """(year, month, day, weekday, hours, minutes, seconds, subseconds); weekday 0 is
        Monday (ignored when setting, as the date fixes it)."""
        if datetimetuple is None:
            now = _dt.datetime.now() + _dt.timedelta(seconds=_persist.load(_OFFSET, 0.0))
            return (now.year, now.month, now.day, now.weekday(), now.hour, now.minute,
                    now.second, 0)  # fmt: skip
        items = tuple(datetimetuple)
        if len(items) != 8:
            raise ValueError(f"requested length 8 but object has length {len(items)}")
        year, month, day, _, hour, minute, second, _ = (int(x) for x in items)
        try:
            wanted = _dt.datetime(year, month, day, hour, minute, second)
        except ValueError:
            raise OSError(errno.EINVAL, "EINVAL") from None
        _persist.save(_OFFSET, (wanted - _dt.datetime.now()).total_seconds())
        return None

    def memory(self, data: Any = None) -> bytes | None:
        if data is None:
            return bytes.fromhex(_persist.load(_MEMORY, ""))
        data = bytes(data)
        if len(data) > _MEMORY_SIZE:
            raise ValueError("buffer too long")
        _persist.save(_MEMORY, data.hex())
        return None

    def __repr__(self) -> str:
        return f"<RTC {time.strftime('%Y-%m-%d')}>"

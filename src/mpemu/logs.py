"""`AIOBLE_LOG`: which log records a program's process writes to stderr.

    AIOBLE_LOG=DEBUG                      everything at DEBUG, but HCI packet dumps
    AIOBLE_LOG=DEBUG,bumble=DEBUG,bluetooth._quiet_host=DEBUG   with the HCI dumps too
    AIOBLE_LOG=WARNING,mpemu.machine=DEBUG   only the virtual board's lines, and warnings

A bare level is the root logger's; `NAME=LEVEL` sets one logger (and its children). Bumble
and the host logger log every HCI packet at DEBUG, hundreds of lines a second, which would
bury what a program's developer looks for (the virtual pins, the stack's decisions): they
stay at INFO unless named.
"""

from __future__ import annotations

import logging
import sys

# Loggers that dump every HCI packet at DEBUG: Bumble's, and the host this project runs.
QUIETER_AT_DEBUG = {"bumble": logging.INFO, "bluetooth._quiet_host": logging.INFO}


class LogSpecError(ValueError):
    pass


def _level(text: str) -> int:
    level = logging.getLevelName(text.strip().upper())
    if not isinstance(level, int):
        raise LogSpecError(f"{text.strip()!r} is no log level (DEBUG, INFO, WARNING, ERROR)")
    return level


def parse(spec: str) -> tuple[int | None, dict[str, int]]:
    """(the root's level or None, {logger: level}) of an `AIOBLE_LOG` value."""
    root: int | None = None
    loggers: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, level = item.partition("=")
        if sep:
            if not name.strip():
                raise LogSpecError(f"{item!r} names no logger")
            loggers[name.strip()] = _level(level)
        else:
            root = _level(item)
    if root is not None and root <= logging.DEBUG:
        for name, level in QUIETER_AT_DEBUG.items():
            loggers.setdefault(name, level)
    return root, loggers


def configure(spec: str) -> None:
    """Send the records `spec` asks for to stderr (raises LogSpecError for a bad spec)."""
    root, loggers = parse(spec)
    if root is None and not loggers:
        return
    logging.basicConfig(
        level=logging.WARNING if root is None else root,
        format="%(name)s: %(message)s",
        stream=sys.stderr,
    )
    for name, level in loggers.items():
        logging.getLogger(name).setLevel(level)

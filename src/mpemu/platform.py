"""MicroPython's extras in standard modules (`gc`, `os`), added by `install()`."""

from __future__ import annotations


def install() -> None:
    """Add MicroPython's extras to this process's `gc` and `os`."""

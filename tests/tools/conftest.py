"""The shared radio of the tools' tests: a real `aioble radio` process."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from tool_processes import Process, tool_env


@pytest.fixture(scope="module")
def shared_radio() -> Iterator[Process]:
    """`aioble radio` on a free loopback port (`.address` is its HOST:PORT)."""
    radio = Process([sys.executable, "-m", "blerun.cli", "radio", "--port", "0"], tool_env())
    try:
        radio.address = radio.expect("export AIOBLE_RADIO=").split("=", 1)[1]
        yield radio
    finally:
        radio.stop()

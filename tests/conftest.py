"""The whole suite: the virtual radio runs in fast mode (no air time) unless a test asks
for air time (``Medium(fast=False)``, ``radio_options={"fast": False}``, ``-o fast=0``).

Air time is the default for users; most tests here check behaviour, not timing, and run
many times faster without it. ``AIOBLE_RADIO_FAST=0 pytest`` runs them on air time too.
The variable is read by every virtual radio a process makes (the in-process medium and
``bleradio.serve``), so subprocesses (``aioble run``, ``aioble multitest``) inherit it.

``BLUETOOTH_CHECK_THREADS=1``: every stack-side function of ``bluetooth`` asserts that it
runs on the stack thread (``bluetooth._threads``), in this process and its subprocesses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bleradio.transport.rootcanal import RootCanal, RootCanalError

os.environ.setdefault("AIOBLE_RADIO_FAST", "1")
os.environ.setdefault("BLUETOOTH_CHECK_THREADS", "1")


@pytest.fixture(scope="module")
def rootcanal() -> Iterator[RootCanal]:
    """Google's rootcanal on loopback, one per test module (a malformed command from any host
    aborts it for everyone, so modules do not share one); skipped where it cannot start."""
    instance = RootCanal()
    try:
        instance.start()
    except RootCanalError as error:
        pytest.skip(f"rootcanal unavailable: {error}")
    yield instance
    instance.stop()

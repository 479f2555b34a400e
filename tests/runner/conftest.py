"""Helpers for the runner's tests: running `aioble-python` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _aioble_python(*args: str, stdin: str | None = None, timeout: float = 30, **kw):
    """`aioble-python ARGS` with this Python, its environment free of any radio setting."""
    # AIOBLE_RADIO_FAST (tests/conftest.py) stays: the radio's mode is the suite's choice
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIOBLE_") or k == "AIOBLE_RADIO_FAST"
    }
    env.update(kw.pop("env", {}))
    return subprocess.run(
        [sys.executable, "-m", "mpemu.interpreter", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        **kw,
    )


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def aioble_python():
    """Runs `aioble-python ARGS` (see `_aioble_python`), returning the CompletedProcess."""
    return _aioble_python


@pytest.fixture
def needs_ble() -> None:
    """Skips the test until the `bluetooth` module (and the shared radio) can make a BLE()."""
    try:
        import bleradio
        import bluetooth
    except ImportError as exc:
        pytest.skip(f"bluetooth/bleradio not importable: {exc}")
    if not hasattr(bluetooth, "BLE") or not hasattr(bleradio, "serve"):
        pytest.skip("bluetooth.BLE / bleradio.serve not there yet")

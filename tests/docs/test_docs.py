"""The documentation site: `mkdocs build --strict` (a warning, such as a broken link or a
docstring mkdocstrings cannot render, fails it), and the reference pages cover what the code
has: every public `bluetooth.BLE` method, the 31 IRQ events and every `AIOBLE_` variable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import bluetooth
from bluetooth import _events

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner, not a warning
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"]
        + ["--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "bluetooth" / "index.html").is_file()
    api = (tmp_path / "site" / "aioble" / "index.html").read_text()
    assert "passkey_handler" in api and "DeviceConnection" in api  # from the docstrings


def test_the_bluetooth_page_names_every_method_and_event() -> None:
    page = (DOCS / "bluetooth.md").read_text()
    methods = [name for name in dir(bluetooth.BLE) if not name.startswith("_")]
    assert len(methods) > 25
    missing = [name for name in methods if f"`{name}" not in page]
    assert not missing, f"docs/bluetooth.md does not describe BLE.{missing}"
    events = {
        name: value
        for name, value in vars(_events).items()
        if name.isupper() and isinstance(value, int) and not name.startswith(("STATUS_", "NO_"))
    }
    assert sorted(events.values()) == list(range(1, 32))
    for name, number in events.items():
        assert re.search(rf"^\| {number} \| `_IRQ_{name}` \| `", page, re.M), name


def test_the_environment_page_names_every_variable() -> None:
    used = set()
    for path in (ROOT / "src").rglob("*.py"):
        used |= set(re.findall(r"(?<![_A-Z])AIOBLE_[A-Z_]*[A-Z]", path.read_text()))
    assert "AIOBLE_RADIO" in used
    page = (DOCS / "environment.md").read_text()
    missing = sorted(name for name in used if f"`{name}" not in page)
    assert not missing, f"docs/environment.md does not describe {missing}"

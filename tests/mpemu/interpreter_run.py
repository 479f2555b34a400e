"""Running `aioble-python` as a program runs: a subprocess of this Python, without the
caller's AIOBLE_* settings (imported by the tests beside it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def aioble_python(
    *args: str, cwd: Path | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """`aioble-python ARGS`; `env` is added to the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIOBLE_")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "mpemu.interpreter", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=environment,
    )

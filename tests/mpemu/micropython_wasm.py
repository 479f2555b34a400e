"""MicroPython itself, for differential tests: version 1.27's WebAssembly port from npm, run
with Node. Installed on first use into a cache folder (`AIOBLE_MICROPYTHON_DIR`, else
`~/.cache/aioble-cpython/micropython-wasm`); where Node or npm is missing, or npm cannot
fetch the package, `micropython()` says why and the tests that need it skip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PACKAGE = "@micropython/micropython-webassembly-pyscript@1.27.0"
SCRIPT = Path(__file__).with_name("run_micropython.mjs")


def _folder() -> Path:
    default = Path.home() / ".cache" / "aioble-cpython" / "micropython-wasm"
    return Path(os.environ.get("AIOBLE_MICROPYTHON_DIR", default))


def install() -> tuple[Path | None, str]:
    """(the folder with MicroPython installed, "") or (None, why not)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None, "Node.js and npm are needed to run MicroPython's WebAssembly port"
    folder = _folder()
    marker = folder / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
    if not (marker / "micropython.mjs").exists():
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(folder),
                PACKAGE,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            return None, f"npm could not install {PACKAGE}: {result.stderr.strip()[-300:]}"
    # Node resolves the package from the script's folder: run a copy beside node_modules.
    shutil.copyfile(SCRIPT, folder / SCRIPT.name)
    return folder, ""


def run(folder: Path, source: str, timeout: float = 60) -> str:
    """What MicroPython prints running `source`."""
    result = subprocess.run(
        ["node", str(folder / SCRIPT.name)],
        input=source,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=folder,
    )
    return result.stdout

"""The manual's two §14.8.3 programs (kept verbatim in examples/temp_sensor): they run."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "temp_sensor"


def test_aioble_run_the_manual_programs() -> None:
    aioble = Path(sys.executable).with_name("aioble")
    command = [str(aioble)] if aioble.exists() else [sys.executable, "-m", "blerun.cli"]
    result = subprocess.run(
        [
            *command,
            "run",
            "--timeout",
            "60",
            str(EXAMPLE / "peripheral.py"),
            str(EXAMPLE / "central.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The central prints the value it read (the characteristic was never written: empty).
    assert "central" in result.stdout and "b''" in result.stdout, result.stdout


CAMERA = ROOT / "examples" / "camera_snapshot"


def test_camera_snapshot_sends_a_jpeg_over_l2cap(tmp_path: Path) -> None:
    """`aioble run camera.py viewer.py` as the example says, on the air-time radio users get:
    the viewer saves the JPEG in its working directory and checks it against the camera's
    length and SHA-256."""
    aioble = Path(sys.executable).with_name("aioble")
    command = [str(aioble)] if aioble.exists() else [sys.executable, "-m", "blerun.cli"]
    result = subprocess.run(
        [*command, "run", "--timeout", "60", str(CAMERA / "camera.py"), str(CAMERA / "viewer.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "AIOBLE_RADIO_FAST": "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    image = (tmp_path / "snapshot.jpg").read_bytes()
    line = f"viewer | saved snapshot.jpg - {len(image)} bytes, 320x240 JPEG, SHA-256 matches"
    assert line in result.stdout.splitlines(), result.stdout
    assert image[:4] == b"\xff\xd8\xff\xe0" and image[6:11] == b"JFIF\x00"  # SOI, JFIF APP0
    assert image[-2:] == b"\xff\xd9"  # EOI
    assert f"camera | sent snapshot 1 - {len(image)} bytes" in result.stdout

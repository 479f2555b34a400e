"""MicroPython's platform extras under `aioble-python` (`mpemu.platform`, `mpemu.shims`):
`gc` and `os` extras, `micropython`'s reports, and the port modules whose hardware-only
APIs (Wi-Fi, PIO, ...) are not emulated and say so when used."""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from interpreter_run import aioble_python

from mpemu import platform
from mpemu.environment import SHIMS_DIR

SHIM_MODULES = ("micropython", "machine", "network", "espnow", "esp", "esp32", "rp2", "neopixel")


@pytest.fixture
def shims(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The shims importable by their top-level names for this test, freshly imported."""

    def loaded() -> list[str]:
        return [n for n in sys.modules if n.split(".")[0] in SHIM_MODULES]

    for name in loaded():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(SHIMS_DIR)
    monkeypatch.delenv("_AIOBLE_KEEP_ESP32_NVS", raising=False)
    yield
    for name in loaded():
        del sys.modules[name]


# --- gc, os, micropython -------------------------------------------------------------------


def test_heap_is_a_boards() -> None:
    free, alloc = platform.mem_free(), platform.mem_alloc()
    assert 0 < alloc < platform.HEAP_TOTAL // 2 < free <= platform.HEAP_TOTAL
    assert platform.HEAP_TOTAL == 192 * 1024


def test_gc_threshold_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "_threshold", -1)
    assert platform.threshold() == -1  # MicroPython's "not set"
    platform.threshold(4096)
    assert platform.threshold() == 4096
    with pytest.raises(ValueError):
        platform.threshold(-5)


def test_ilistdir_gives_micropythons_tuples(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "main.py").write_bytes(b"x" * 42)
    assert sorted(platform.ilistdir(str(tmp_path))) == [
        ("lib", 0x4000, 0, 0),
        ("main.py", 0x8000, 0, 42),
    ]
    names = sorted(entry[0] for entry in platform.ilistdir(os.fsencode(tmp_path)))
    assert names == [b"lib", b"main.py"]  # a bytes folder gives bytes names
    with pytest.raises(OSError) as caught:
        platform.ilistdir(str(tmp_path / "absent"))  # at the call, as on a board
    assert caught.value.errno == errno.ENOENT


def test_statvfs_is_a_ten_tuple(tmp_path: Path) -> None:
    stat = platform.statvfs(str(tmp_path))
    assert type(stat).__mro__[1] is tuple and len(stat) == 10
    bsize, _, blocks, bfree, bavail, *_ = stat
    assert stat.f_bsize == bsize and stat.f_bavail == bavail  # what shutil reads
    assert blocks >= bfree >= bavail >= 0
    assert repr(stat).startswith("(")


def test_dupterm_mount_umount(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "_dupterm", {})
    monkeypatch.setattr(platform, "_mounts", {})
    stream = object()
    assert platform.dupterm(stream) is None
    assert platform.dupterm(None) is stream
    fs = object()
    platform.mount(fs, "/sd")
    with pytest.raises(OSError) as caught:
        platform.mount(fs, "/sd")
    assert caught.value.errno == errno.EPERM
    platform.umount("/sd")
    with pytest.raises(OSError) as caught:
        platform.umount("/sd")
    assert caught.value.errno == errno.EINVAL


def test_micropython_reports_in_a_boards_format(
    shims: None, capsys: pytest.CaptureFixture[str]
) -> None:
    import micropython

    micropython.mem_info()
    micropython.qstr_info()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"stack: \d+ out of \d+", lines[0])
    assert re.fullmatch(r"GC: total: 196608, used: \d+, free: \d+", lines[1])
    assert re.fullmatch(
        r" No. of 1-blocks: \d+, 2-blocks: \d+, max blk sz: \d+, max free sz: \d+", lines[2]
    )
    assert re.fullmatch(
        r"qstr pool: n_pool=1, n_qstr=\d+, n_str_data_bytes=\d+, n_total_bytes=\d+", lines[3]
    )
    assert micropython.stack_use() > 0
    assert micropython.heap_lock() == 0 and micropython.heap_unlock() == 0


EXTRAS = """
import gc, os, micropython
print(gc.mem_free() + gc.mem_alloc(), gc.threshold())
gc.collect()
print(sorted(os.ilistdir("d")), len(os.statvfs("/")), type(os.statvfs("/")).__mro__[1].__name__)
print(os.dupterm(None), callable(os.mount), callable(os.umount))
micropython.mem_info()
"""


def test_extras_under_aioble_python(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("abc")
    program = tmp_path / "extras.py"
    program.write_text(EXTRAS)
    result = subprocess.run(
        [sys.executable, "-m", "mpemu.interpreter", str(program)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["196608 -1", "[('f.txt', 32768, 0, 3)] 10 tuple", "None True True"]
    assert lines[4].startswith("GC: total: 196608, used: ")


def test_plain_python_gets_no_extras() -> None:
    code = "import gc, os; print(hasattr(gc, 'mem_free'), hasattr(os, 'ilistdir'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "False False\n"


# --- hardware a PC has not got -------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "use", "message"),
    [
        (
            "network",
            lambda m: m.WLAN(m.STA_IF),
            "network.WLAN is not emulated by aioble-python (no Wi-Fi on the virtual board)",
        ),
        (
            "network",
            lambda m: m.WLAN.IF_STA,
            "network.WLAN is not emulated by aioble-python (no Wi-Fi on the virtual board)",
        ),
        ("network", lambda m: m.LAN(), "network.LAN is not emulated"),
        ("espnow", lambda m: m.ESPNow(), "espnow.ESPNow is not emulated"),
        ("rp2", lambda m: m.asm_pio(set_init=0), "rp2.asm_pio is not emulated"),
        ("rp2", lambda m: m.StateMachine(0), "rp2.StateMachine is not emulated"),
        ("rp2", lambda m: m.PIO.OUT_LOW, "rp2.PIO is not emulated"),
        ("esp32", lambda m: m.Partition(m.Partition.RUNNING), "esp32.Partition is not emulated"),
        ("esp32", lambda m: m.raw_temperature(), "esp32.raw_temperature is not emulated"),
        ("esp", lambda m: m.flash_size(), "esp.flash_size is not emulated"),
    ],
)
def test_not_emulated_apis_say_so(shims: None, module: str, use: Any, message: str) -> None:
    imported: ModuleType = __import__(module)  # importing works, as on a board
    with pytest.raises(NotImplementedError, match="^" + re.escape(message)):
        use(imported)


def test_what_ports_offer_that_a_pc_can_do(shims: None) -> None:
    import esp
    import network
    import rp2

    from mpemu import board

    esp.osdebug(None)  # common at boot: accepted
    network.hostname("sensor-1")
    assert network.hostname() == "sensor-1"
    rp2.country("GB")
    assert rp2.country() == "GB"
    board.reset()
    assert rp2.bootsel_button() == 0
    board.set_input("BOOTSEL", 1)
    assert rp2.bootsel_button() == 1
    board.reset()


def test_esp32_nvs(shims: None) -> None:
    import esp32

    nvs = esp32.NVS("app")
    nvs.set_i32("boots", -3)
    nvs.set_blob("key", b"\x01\x02")
    nvs.commit()
    again = esp32.NVS("app")
    assert again.get_i32("boots") == -3
    buf = bytearray(8)
    assert again.get_blob("key", buf) == 2 and buf[:2] == b"\x01\x02"
    with pytest.raises(OSError) as caught:
        again.get_i32("absent")
    assert caught.value.args == (-0x1102, "ESP_ERR_NVS_NOT_FOUND")
    with pytest.raises(OSError):
        again.get_blob("key", bytearray(1))  # too small
    again.erase_key("boots")
    with pytest.raises(OSError):
        again.get_i32("boots")


def test_esp32_nvs_survives_a_reset(tmp_path: Path) -> None:
    program = tmp_path / "nvs.py"
    program.write_text(
        "import esp32, machine\n"
        "nvs = esp32.NVS('app')\n"
        "if machine.reset_cause() == machine.SOFT_RESET:\n"
        "    print('after reset', nvs.get_i32('n'))\n"
        "else:\n"
        "    nvs.set_i32('n', 41)\n"
        "    nvs.commit()\n"
        "    machine.soft_reset()\n"
    )
    result = aioble_python(str(program))
    assert (result.returncode, result.stdout) == (0, "after reset 41\n"), result.stderr


def test_a_programs_own_network_module_wins(tmp_path: Path) -> None:
    (tmp_path / "network.py").write_text("WLAN = 'mine'\n")
    program = tmp_path / "main.py"
    program.write_text("import network\nprint(network.WLAN)\n")
    result = aioble_python(str(program))
    assert (result.returncode, result.stdout) == (0, "mine\n"), result.stderr


def test_network_error_through_aioble_python() -> None:
    result = aioble_python("-c", "import network\nprint('imported')\nnetwork.WLAN(network.STA_IF)")
    assert result.returncode == 1 and result.stdout == "imported\n"
    assert result.stderr.rstrip().endswith(
        "NotImplementedError: network.WLAN is not emulated by aioble-python"
        " (no Wi-Fi on the virtual board)"
    )

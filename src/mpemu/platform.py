"""MicroPython's extras in standard modules (`gc`, `os`), and the virtual board's inputs
from `AIOBLE_BOARD` (`mpemu.board`), set up by `install()` under `aioble-python` only.

- `gc.mem_free()`, `gc.mem_alloc()`: a board-like heap of `HEAP_TOTAL` bytes (192 KiB, an
  rp2's), not the PC's memory. The used part is a baseline plus what CPython allocated since
  its last collection, so it grows as the program allocates and drops after `gc.collect()`.
  `gc.threshold()` keeps the value a program sets (-1 when none), and does nothing with it.
- `os.ilistdir(dir)`: MicroPython's (name, type, inode, size) tuples, type 0x4000 for a
  folder and 0x8000 for a file, inode 0 as on a board's FAT/littlefs.
- `os.statvfs(path)`: MicroPython's 10-tuple (bsize, frsize, blocks, bfree, bavail, files,
  ffree, favail, flag, namemax) of the PC's filesystem there (it also keeps CPython's
  `f_*` attributes, which the standard library reads).
- `os.dupterm(stream, index=0)`: kept and returned, but the REPL is not copied to it.
  `os.mount(fs, path)` / `os.umount(path)`: recorded (with a board's errors for a path
  mounted twice or not mounted); file paths are the PC's all the same.
"""

from __future__ import annotations

import errno
import gc
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from mpemu import board

log = logging.getLogger("mpemu.platform")

HEAP_TOTAL = 192 * 1024
_HEAP_BASELINE = 8 * 1024  # what a small program has allocated after boot on a board
_BYTES_PER_OBJECT = 32  # MicroPython's heap blocks are 16 bytes; an object takes a few
_STACK_SIZE = 7936  # the rp2 port's main stack, as mem_info reports it

_threshold = -1
_dupterm: dict[int, Any] = {}
_mounts: dict[str, Any] = {}


def mem_alloc() -> int:
    # CPython's count of container objects allocated since its last collection: cheap,
    # grows with the program's allocations, and falls on gc.collect() as a board's heap does.
    young = gc.get_count()[0]
    return min(HEAP_TOTAL - 1024, _HEAP_BASELINE + _BYTES_PER_OBJECT * young)


def mem_free() -> int:
    return HEAP_TOTAL - mem_alloc()


def threshold(amount: int | None = None) -> int | None:
    global _threshold
    if amount is None:
        return _threshold
    if int(amount) < -1:
        raise ValueError("threshold must be -1 or more")
    _threshold = int(amount)
    return None


def stack_use() -> int:
    """A plausible stack use: about 80 bytes per active frame."""
    depth = 0
    frame = sys._getframe(1)
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    return depth * 80


def mem_info_text() -> str:
    """`micropython.mem_info()`'s report, in a board's format."""
    used, free = mem_alloc(), mem_free()
    return (
        f"stack: {stack_use()} out of {_STACK_SIZE}\n"
        f"GC: total: {HEAP_TOTAL}, used: {used}, free: {free}\n"
        f" No. of 1-blocks: {used // 64}, 2-blocks: {used // 256}, max blk sz: 40,"
        f" max free sz: {free // 16 * 3 // 4}"
    )


def qstr_info_text() -> str:
    """`micropython.qstr_info()`'s report, in a board's format: the program's own names
    (those of `__main__`) stand for the qstrs it added to the pool."""
    main = sys.modules.get("__main__")
    names = list(vars(main)) if main is not None else []
    data = sum(len(name) + 3 for name in names)  # hash, length and NUL
    return (
        f"qstr pool: n_pool=1, n_qstr={len(names)}, n_str_data_bytes={data},"
        f" n_total_bytes={data + 16 * len(names) + 48}"
    )


def ilistdir(dir: str | bytes = ".") -> Iterator[tuple[str | bytes, int, int, int]]:
    entries = []
    with os.scandir(dir or ".") as found:  # read now: a board raises ENOENT at the call
        for entry in found:
            if entry.is_dir():
                entries.append((entry.name, 0x4000, 0, 0))
            else:
                entries.append((entry.name, 0x8000, 0, entry.stat().st_size))
    return iter(entries)


class StatVFS(tuple):  # type: ignore[type-arg]
    """MicroPython's plain 10-tuple, still answering CPython's `f_*` names."""

    _FIELDS = (
        "f_bsize",
        "f_frsize",
        "f_blocks",
        "f_bfree",
        "f_bavail",
        "f_files",
        "f_ffree",
        "f_favail",
        "f_flag",
        "f_namemax",
    )

    def __getattr__(self, name: str) -> int:
        if name in self._FIELDS:
            return self[self._FIELDS.index(name)]
        raise AttributeError(name)


_cpython_statvfs = os.statvfs


def statvfs(path: Any) -> StatVFS:
    return StatVFS(tuple(_cpython_statvfs(path))[:10])


def dupterm(stream_object: Any = None, index: int = 0) -> Any:
    previous = _dupterm.get(index)
    if stream_object is None:
        _dupterm.pop(index, None)
    else:
        _dupterm[index] = stream_object
    return previous


def mount(fsobj: Any, mount_point: str, *, readonly: bool = False) -> None:
    if mount_point in _mounts:
        raise OSError(errno.EPERM, "EPERM")
    _mounts[mount_point] = fsobj
    log.debug("os.mount(%r, %r) recorded; paths there are the PC's", fsobj, mount_point)


def umount(mount_point: Any) -> None:
    for path, fs in list(_mounts.items()):
        if mount_point == path or mount_point is fs:
            del _mounts[path]
            return
    raise OSError(errno.EINVAL, "EINVAL")


def install() -> None:
    """Add MicroPython's extras to this process's `gc` and `os`; preset the virtual board's
    inputs from `AIOBLE_BOARD` (a bad value ends the run with a message naming it)."""
    gc.mem_free = mem_free  # type: ignore[attr-defined]
    gc.mem_alloc = mem_alloc  # type: ignore[attr-defined]
    gc.threshold = threshold  # type: ignore[attr-defined]
    os.ilistdir = ilistdir  # type: ignore[attr-defined]
    os.statvfs = statvfs  # type: ignore[assignment]
    os.dupterm = dupterm  # type: ignore[attr-defined]
    os.mount = mount  # type: ignore[attr-defined]
    os.umount = umount  # type: ignore[attr-defined]
    try:
        board.load_env()
    except ValueError as exc:
        raise SystemExit(f"aioble-python: {exc}") from None

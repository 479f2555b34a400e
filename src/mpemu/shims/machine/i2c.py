"""`machine.I2C` and `SoftI2C` on the virtual board: a bus has no device unless a test
attached one (`board.attach_i2c`); talking to an absent address raises
OSError(ENODEV), as SoftI2C and the esp32's I2C do (the rp2's hardware I2C says EIO).
Writes are logged to "mpemu.machine.i2c"."""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterable
from typing import Any

from mpemu import board as _board

from .pin import Pin

log = logging.getLogger("mpemu.machine.i2c")

_BUSES = (0, 1)


def _no_device() -> OSError:
    return OSError(errno.ENODEV, "ENODEV")


class I2C:
    def __init__(
        self,
        id: int = 0,
        *,
        scl: Any = None,
        sda: Any = None,
        freq: int = 400_000,
        timeout: int = 50_000,
    ) -> None:
        if id not in _BUSES:
            raise ValueError(f"I2C({id}) doesn't exist")
        self._bus: _board.BusKey = id
        self._name = f"I2C({id})"
        self.init(scl=scl, sda=sda, freq=freq, timeout=timeout)

    def init(
        self, *, scl: Any = None, sda: Any = None, freq: int = 400_000, timeout: int = 50_000
    ) -> None:
        for pin in (scl, sda):
            if pin is not None and not isinstance(pin, Pin):
                Pin(pin)  # validates the id as the board would
        if int(freq) <= 0:
            raise ValueError("freq must be positive")
        self._freq = int(freq)

    def deinit(self) -> None:
        pass

    def __repr__(self) -> str:
        head = self._name[:-1]  # "I2C(0" or "SoftI2C("
        return f"{head}{', ' if head[-1] != '(' else ''}freq={self._freq})"

    # --- the standard bus operations ---

    def _device(self, addr: int) -> _board.I2CDevice:
        device = _board.i2c_device(self._bus, addr)
        if device is None:
            raise _no_device()
        return device

    def _write(self, addr: int, data: bytes) -> None:
        self._device(addr).i2c_write(data)
        log.debug("%s 0x%02x <- %s", self._name, addr, data.hex() or "(empty)")

    def scan(self) -> list[int]:
        return [a for a in _board.i2c_addresses(self._bus) if 0x08 <= a <= 0x77]

    def writeto(self, addr: int, buf: Any, stop: bool = True) -> int:
        data = bytes(buf)
        self._write(addr, data)
        return len(data)  # every byte ACKed

    def writevto(self, addr: int, vector: Iterable[Any], stop: bool = True) -> int:
        data = b"".join(bytes(b) for b in vector)
        self._write(addr, data)
        return len(data)

    def readfrom(self, addr: int, nbytes: int, stop: bool = True) -> bytes:
        return self._read(addr, nbytes)

    def readfrom_into(self, addr: int, buf: Any, stop: bool = True) -> None:
        memoryview(buf)[:] = self._read(addr, len(buf))

    def _read(self, addr: int, n: int) -> bytes:
        data = bytes(self._device(addr).i2c_read(n))
        return (data + bytes(n))[:n]  # a device that stops answering reads as zeros

    @staticmethod
    def _memaddr(memaddr: int, addrsize: int) -> bytes:
        if addrsize not in (8, 16, 24, 32):
            raise ValueError("invalid addrsize")
        return (memaddr & ((1 << addrsize) - 1)).to_bytes(addrsize // 8, "big")

    def readfrom_mem(self, addr: int, memaddr: int, nbytes: int, *, addrsize: int = 8) -> bytes:
        self._device(addr).i2c_write(self._memaddr(memaddr, addrsize))
        return self._read(addr, nbytes)

    def readfrom_mem_into(self, addr: int, memaddr: int, buf: Any, *, addrsize: int = 8) -> None:
        memoryview(buf)[:] = self.readfrom_mem(addr, memaddr, len(buf), addrsize=addrsize)

    def writeto_mem(self, addr: int, memaddr: int, buf: Any, *, addrsize: int = 8) -> None:
        self._write(addr, self._memaddr(memaddr, addrsize) + bytes(buf))

    # --- the primitive operations: SoftI2C only ---

    def start(self) -> None:
        raise OSError(errno.EOPNOTSUPP, "I2C operation not supported")

    stop = start

    def readinto(self, buf: Any, nack: bool = True) -> None:
        self.start()

    def write(self, buf: Any) -> int:
        self.start()
        return 0


class SoftI2C(I2C):
    """The bit-banged bus (bus "soft" for `board.attach_i2c`), with the primitive
    operations: `start()`, then `write()` of the address byte and data, `readinto()`,
    `stop()`."""

    def __init__(self, scl: Any, sda: Any, *, freq: int = 400_000, timeout: int = 50_000) -> None:
        self._bus = "soft"
        self._name = "SoftI2C()"
        self._target: int | None = None  # the addressed device, between start() and stop()
        self._expect_address = False
        self._pending = bytearray()  # bytes written in this transaction, given at its end
        self.init(scl=scl, sda=sda, freq=freq, timeout=timeout)

    def _flush(self) -> None:
        if self._target is not None and self._pending:
            self._write(self._target, bytes(self._pending))
        self._pending.clear()

    def start(self) -> None:
        self._flush()
        self._expect_address = True

    def stop(self) -> None:
        self._flush()
        self._target = None
        self._expect_address = False

    def write(self, buf: Any) -> int:
        acks = 0
        for byte in bytes(buf):
            if self._expect_address:
                self._expect_address = False
                addr = byte >> 1
                self._target = addr if _board.i2c_device(self._bus, addr) is not None else None
                if self._target is None:
                    return acks  # NACK: a board stops at the first one
            elif self._target is None:
                return acks
            else:
                self._pending.append(byte)
            acks += 1
        return acks

    def readinto(self, buf: Any, nack: bool = True) -> None:
        self._flush()
        if self._target is None:
            memoryview(buf)[:] = b"\xff" * len(buf)  # nobody drives SDA: it reads high
            return
        memoryview(buf)[:] = self._read(self._target, len(buf))

"""The virtual board behind `machine` under `aioble-python`: what its inputs read, what its
outputs were set to, and the devices on its buses. No real hardware is ever touched.

A program reaches this board through `machine` (`Pin`, `ADC`, `PWM`, `I2C`, `SPI`, `UART`,
`bitstream`); a test or a tool reaches it through the functions below, in the same process
(`from mpemu import board`). Programs in other processes (`aioble run`) get their inputs
from the `AIOBLE_BOARD` environment variable, read when `aioble-python` starts.

For tests and tools:

- `set_input(pin, level)`: what an input pin reads from outside (1, 0, or None: nothing
  drives it, so its pull decides). A change fires the pin's `irq` as a board would.
- `output(pin)`: the level the program drives on an output (None unless the pin is `OUT`
  or `OPEN_DRAIN`); `level(pin)`: what the pin reads; `mode(pin)`, `pull(pin)`: names such
  as "OUT", "PULL_UP"; `history(pin)`: every value the program wrote to it as an output
  (the last `HISTORY` of them).
- `set_adc(source, u16)` or `set_adc(source, uv=microvolts)`: what an ADC reads.
- `pwm(pin)`: the pin's PWM settings (`{"freq", "duty_u16", "invert"}`) or None.
- `attach_i2c(bus, addr, device)`: a device on an I2C bus (an object with `i2c_write(data)`
  and `i2c_read(n)`, or a `bytearray`, wrapped in `I2CMemory`); `detach_i2c(bus, addr)`.
- `spi_feed(bus, data)` / `spi_sent(bus)`: bytes the SPI bus's reads return next (past them
  a read echoes what it writes) / every byte it clocked out.
- `uart_feed(uart, data)` / `uart_sent(uart)`: bytes the UART receives / it has sent since
  the last `uart_sent` (the far end of the wire).
- `bitstreams(pin)`: buffers `machine.bitstream` sent; `pixels(pin)`: the last NeoPixel
  frame on that pin as (r, g, b) tuples.
- `reset()`: an empty board; `load(spec)`: apply a spec (the format below).

Pins are named as `machine.Pin` names them: an int, "GP25"/"GPIO25"/"P25" (the same as 25),
"P1_02" (nRF: port 1 pin 2, i.e. 34), or a board name such as "LED" (a pin of its own).
ADC sources are what `machine.ADC` takes: a channel 0-4 (as on the rp2: channels 0-3 are
GP26-GP29, 4 is the temperature sensor, also called "TEMP"), or a pin (any other int, a name,
a `Pin`). Buses are the id given to `I2C`/`SPI`/`UART`; `SoftI2C`/`SoftSPI` are bus "soft".

`AIOBLE_BOARD` is a JSON object; every key is optional:

    {"pins": {"GP15": 0, "LED": null},        input levels (null: not driven)
     "adc":  {"26": 30000, "4": {"uv": 706000}}, u16 readings, or microvolts
     "i2c":  {"0": {"0x76": "d0ff", "60": ""}},  devices: address -> initial memory (hex)
     "uart": {"0": "hello\\n"},                   bytes the UART receives (UTF-8 text)
     "spi":  {"1": "9f00"}}                      bytes the SPI bus reads (hex)

A bad value stops `aioble-python` with a message naming `AIOBLE_BOARD`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

ENV_VAR = "AIOBLE_BOARD"
MAX_PIN = 47  # the largest GPIO number of the boards MicroPython runs on (nRF P1_15, RP2350B)
HISTORY = 10_000  # values kept per pin: a fast blink must not grow without bound
UART_SENT_MAX = 1 << 20  # bytes kept of what a UART sent and nobody read yet
FULL_SCALE_UV = 3_300_000  # an ADC's full scale: a 3.3 V reference
TEMP_CHANNEL = "TEMP"
# rp2: T = 27 - (V - 0.706) / 0.001721, so 0.706 V reads as 27 degC.
TEMP_U16_AT_27C = 0.706e6 * 65535 / FULL_SCALE_UV
ADC_CHANNEL_PINS: dict[int, int | str] = {0: 26, 1: 27, 2: 28, 3: 29, 4: TEMP_CHANNEL}

OUTPUT_MODES = ("OUT", "OPEN_DRAIN", "ALT_OPEN_DRAIN")

PinKey = int | str
BusKey = int | str


class I2CDevice(Protocol):
    """What `attach_i2c` takes: a device that is written to and read from, as on a bus."""

    def i2c_write(self, data: bytes) -> None: ...

    def i2c_read(self, n: int) -> bytes: ...


class I2CMemory:
    """A register file or EEPROM: a write's first `addrsize // 8` bytes set the address
    pointer, the rest are stored from there; a read returns bytes from the pointer on. The
    pointer advances and wraps, as in most sensors and memories. `mem` is the memory itself."""

    def __init__(self, mem: bytearray | bytes | int = 256, addrsize: int = 8) -> None:
        self.mem = bytearray(mem) if not isinstance(mem, bytearray) else mem
        if not self.mem:
            self.mem = bytearray(256)
        self.addrsize = addrsize
        self.pointer = 0

    def i2c_write(self, data: bytes) -> None:
        n = self.addrsize // 8
        if len(data) >= n and n:
            self.pointer = int.from_bytes(data[:n], "big") % len(self.mem)
            data = data[n:]
        for byte in data:
            self.mem[self.pointer] = byte
            self.pointer = (self.pointer + 1) % len(self.mem)

    def i2c_read(self, n: int) -> bytes:
        out = bytearray()
        for _ in range(n):
            out.append(self.mem[self.pointer])
            self.pointer = (self.pointer + 1) % len(self.mem)
        return bytes(out)


@dataclass
class _Pin:
    mode: str | None = None
    pull: str | None = None
    drive: int = 0
    latch: int = 0
    external: int | None = None
    history: deque[int] = field(default_factory=lambda: deque(maxlen=HISTORY))
    listener: Callable[[int], None] | None = None

    def level(self) -> int:
        if self.mode == "OUT":
            return self.latch
        if self.mode in ("OPEN_DRAIN", "ALT_OPEN_DRAIN") and self.latch == 0:
            return 0
        if self.external is not None:
            return self.external
        if self.mode in ("OPEN_DRAIN", "ALT_OPEN_DRAIN"):
            return 1  # a released open-drain line: its bus is pulled up
        return 1 if self.pull == "PULL_UP" else 0


@dataclass
class _Line:
    """A byte stream in each direction: a UART, or an SPI bus's MISO queue and MOSI record."""

    rx: bytearray = field(default_factory=bytearray)
    sent: bytearray = field(default_factory=bytearray)
    listener: Callable[[], None] | None = None


_lock = threading.RLock()
_changed = threading.Condition(_lock)  # any pin level or received byte: waiters re-check
_pins: dict[PinKey, _Pin] = {}
_analog: dict[PinKey, float] = {}
_pwm: dict[PinKey, dict[str, Any]] = {}
_i2c: dict[BusKey, dict[int, I2CDevice]] = {}
_spi: dict[BusKey, _Line] = {}
_uart: dict[BusKey, _Line] = {}
_bitstreams: dict[PinKey, list[bytes]] = {}

_NUMBERED = re.compile(r"(?:GP|GPIO|P)?(\d+)")
_NRF = re.compile(r"P(\d)_(\d{1,2})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- names ---------------------------------------------------------------------------------


def pin_key(pin: Any) -> PinKey:
    """The board's key for a pin id as `machine.Pin` accepts it (see the module docstring)."""
    key = getattr(pin, "board_key", None)  # a machine.Pin
    if key is not None:
        return key
    if isinstance(pin, int):
        if not 0 <= pin <= MAX_PIN:
            raise ValueError("invalid pin")
        return int(pin)
    if isinstance(pin, str):
        if m := _NUMBERED.fullmatch(pin):
            return pin_key(int(m.group(1)))
        if m := _NRF.fullmatch(pin):
            return pin_key(int(m.group(1)) * 32 + int(m.group(2)))
        if _NAME.fullmatch(pin):
            return pin
        raise ValueError(f'unknown named pin "{pin}"')
    raise TypeError(f"can't convert {type(pin).__name__} to int")


def pin_label(key: PinKey) -> str:
    """A pin's name in log lines, as `repr(Pin)` gives it (`GPIO2`, `LED`)."""
    return f"GPIO{key}" if isinstance(key, int) else str(key)


def adc_key(source: Any) -> PinKey:
    """The key of what an ADC reads: a channel number (0-4), or a pin."""
    if getattr(source, "board_key", None) is None:
        if isinstance(source, str) and source.isdigit():
            source = int(source)
        if isinstance(source, int) and source in ADC_CHANNEL_PINS:
            return ADC_CHANNEL_PINS[source]
        if source == TEMP_CHANNEL:
            return TEMP_CHANNEL
    return pin_key(source)


def _bus(bus: Any) -> BusKey:
    if isinstance(bus, str) and bus.isdigit():
        return int(bus)
    if isinstance(bus, int | str):
        return bus
    raise TypeError(f"a bus is an int id or 'soft', not {type(bus).__name__}")


# --- for tests and tools -------------------------------------------------------------------


def set_input(pin: Any, level: int | bool | None) -> None:
    """What `pin` reads from outside; None: nothing drives it."""
    key = pin_key(pin)
    with _lock:
        state = _pins.setdefault(key, _Pin())
        before = state.level()
        state.external = None if level is None else int(bool(level))
    _notify(key, before)


def output(pin: Any) -> int | None:
    """The level the program drives on `pin`, None unless the pin is an output."""
    with _lock:
        state = _pins.get(pin_key(pin))
        return state.latch if state is not None and state.mode in OUTPUT_MODES else None


def level(pin: Any) -> int:
    with _lock:
        return _pins.get(pin_key(pin), _Pin()).level()


def mode(pin: Any) -> str | None:
    with _lock:
        return _pins.get(pin_key(pin), _Pin()).mode


def pull(pin: Any) -> str | None:
    with _lock:
        return _pins.get(pin_key(pin), _Pin()).pull


def history(pin: Any) -> list[int]:
    with _lock:
        state = _pins.get(pin_key(pin))
        return list(state.history) if state is not None else []


def set_adc(source: Any, u16: float | None = None, *, uv: float | None = None) -> None:
    """What an ADC on `source` reads: `u16` (0-65535) or `uv` microvolts (0-3.3 V)."""
    if (u16 is None) == (uv is None):
        raise TypeError("set_adc takes u16 or uv")
    value = float(u16) if u16 is not None else float(uv) * 65535 / FULL_SCALE_UV  # type: ignore[arg-type]
    if not 0 <= value <= 65535:
        raise ValueError(f"ADC reading out of range: {u16 if uv is None else uv}")
    with _lock:
        _analog[adc_key(source)] = value


def pwm(pin: Any) -> dict[str, Any] | None:
    with _lock:
        settings = _pwm.get(pin_key(pin))
        return dict(settings) if settings is not None else None


def attach_i2c(bus: Any, addr: int, device: I2CDevice | bytearray | bytes | None = None) -> Any:
    """Put `device` (default: a 256-byte `I2CMemory`) at `addr` on I2C `bus`; returns it."""
    if not 0 <= addr <= 0x7F:
        raise ValueError(f"I2C address out of range: {addr:#x}")
    if device is None or isinstance(device, bytes | bytearray):
        device = I2CMemory(device if device is not None else 256)
    with _lock:
        _i2c.setdefault(_bus(bus), {})[addr] = device
    return device


def detach_i2c(bus: Any, addr: int) -> None:
    with _lock:
        _i2c.get(_bus(bus), {}).pop(addr, None)


def spi_feed(bus: Any, data: bytes) -> None:
    with _lock:
        _spi.setdefault(_bus(bus), _Line()).rx += data


def spi_sent(bus: Any) -> bytes:
    with _lock:
        line = _spi.get(_bus(bus))
        return bytes(line.sent) if line is not None else b""


def uart_feed(uart: Any, data: bytes | str) -> None:
    """Bytes arriving on `uart`'s RX: its `read`s return them, its RX `irq` fires."""
    if isinstance(data, str):
        data = data.encode()
    with _lock:
        line = _uart.setdefault(_bus(uart), _Line())
        line.rx += data
        listener = line.listener
        _changed.notify_all()
    if listener is not None and data:
        listener()


def uart_sent(uart: Any) -> bytes:
    """What `uart` sent since the last call (each byte is returned once)."""
    with _lock:
        line = _uart.get(_bus(uart))
        if line is None:
            return b""
        data = bytes(line.sent)
        line.sent.clear()
        return data


def bitstreams(pin: Any) -> list[bytes]:
    with _lock:
        return list(_bitstreams.get(pin_key(pin), []))


def pixels(pin: Any, bpp: int = 3) -> list[tuple[int, ...]]:
    """The last frame `neopixel.NeoPixel` wrote to `pin`, as (r, g, b[, w]) tuples (the wire
    order is g, r, b, w)."""
    sent = bitstreams(pin)
    if not sent:
        return []
    frame = sent[-1]
    order = (1, 0, 2, 3)  # neopixel.NeoPixel.ORDER: where r, g, b, w go on the wire
    return [
        tuple(frame[i + order[b]] for b in range(bpp)) for i in range(0, len(frame) - bpp + 1, bpp)
    ]


def reset() -> None:
    """An empty board: nothing attached, nothing driven, nothing recorded."""
    with _lock:
        for state in _pins.values():
            state.listener = None
        for table in (_pins, _analog, _pwm, _i2c, _spi, _uart, _bitstreams):
            table.clear()
        _changed.notify_all()


def load(spec: dict[str, Any] | str) -> None:
    """Apply a spec in `AIOBLE_BOARD`'s format (a dict, or its JSON text)."""
    if isinstance(spec, str):
        spec = json.loads(spec)
    if not isinstance(spec, dict):
        raise ValueError("expected a JSON object")
    unknown = set(spec) - {"pins", "adc", "i2c", "uart", "spi"}
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)}: use pins, adc, i2c, uart, spi")
    for name, value in _items(spec, "pins"):
        if value not in (0, 1, None) or isinstance(value, float):
            raise ValueError(f"pins: {name}: a level is 0, 1 or null, not {value!r}")
        set_input(name, value)
    for name, value in _items(spec, "adc"):
        if isinstance(value, dict) and set(value) == {"uv"}:
            set_adc(name, uv=_number(value["uv"], f"adc: {name}"))
        else:
            set_adc(name, _number(value, f"adc: {name}"))
    for bus, devices in _items(spec, "i2c"):
        if not isinstance(devices, dict):
            raise ValueError(f"i2c: {bus}: expected {{address: memory hex}}")
        for addr, memory in devices.items():
            attach_i2c(bus, int(addr, 0), bytearray(_hex(memory, f"i2c: {bus}: {addr}")))
    for uart, text in _items(spec, "uart"):
        if not isinstance(text, str):
            raise ValueError(f"uart: {uart}: expected text")
        uart_feed(uart, text)
    for bus, data in _items(spec, "spi"):
        spi_feed(bus, _hex(data, f"spi: {bus}"))


def load_env(environ: dict[str, str] | None = None) -> None:
    """Apply `AIOBLE_BOARD` if set; a bad value raises ValueError naming the variable."""
    text = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
    if not text:
        return
    try:
        load(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{ENV_VAR}={text!r}: {exc}") from None


def _items(spec: dict[str, Any], section: str) -> Iterable[tuple[str, Any]]:
    table = spec.get(section, {})
    if not isinstance(table, dict):
        raise ValueError(f"{section}: expected a JSON object")
    return table.items()


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, not {value!r}")
    return value


def _hex(value: Any, where: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: expected hex digits, not {value!r}") from None


# --- for the machine shim ------------------------------------------------------------------


def configure_pin(
    key: PinKey,
    *,
    mode: str | None = None,
    pull: str | None | type[Ellipsis] = ...,
    drive: int | None = None,
    latch: int | None = None,
) -> None:
    """Change a pin's settings (`...`/None: unchanged, except `pull=None`: no pull)."""
    with _lock:
        state = _pins.setdefault(key, _Pin())
        before = state.level()
        if mode is not None:
            state.mode = mode
        if pull is not ...:
            state.pull = pull  # type: ignore[assignment]
        if drive is not None:
            state.drive = drive
        if latch is not None:
            state.latch = latch
            if state.mode in OUTPUT_MODES:
                state.history.append(latch)
    _notify(key, before)


def write_pin(key: PinKey, value: int) -> bool:
    """The program sets the pin's output latch; True if the pin drives it (an output)."""
    with _lock:
        state = _pins.setdefault(key, _Pin())
        before = state.level()
        state.latch = value
        driven = state.mode in OUTPUT_MODES
        if driven:
            state.history.append(value)
    _notify(key, before)
    return driven


def read_pin(key: PinKey) -> int:
    with _lock:
        return _pins.get(key, _Pin()).level()


def pin_settings(key: PinKey) -> tuple[str | None, str | None, int, int]:
    """The pin's mode, pull, drive and output latch."""
    with _lock:
        state = _pins.get(key, _Pin())
        return state.mode, state.pull, state.drive, state.latch


def watch_pin(key: PinKey, listener: Callable[[int], None] | None) -> None:
    """`listener(new_level)` after each change of the pin's level (outside the board lock)."""
    with _lock:
        _pins.setdefault(key, _Pin()).listener = listener


def wait_pin(key: PinKey, level: int, timeout_s: float) -> bool:
    """Wait until the pin reads `level`; False on timeout."""
    with _lock:
        return _changed.wait_for(lambda: read_pin(key) == level, timeout_s)


def _notify(key: PinKey, before: int) -> None:
    with _lock:
        state = _pins[key]
        after = state.level()
        listener = state.listener
        if after != before:
            _changed.notify_all()
    if after != before and listener is not None:
        listener(after)


def read_adc(key: PinKey) -> float:
    """The reading as a u16 (a float: set in microvolts it reads back exactly)."""
    with _lock:
        if key in _analog:
            return _analog[key]
        if key == TEMP_CHANNEL:
            return TEMP_U16_AT_27C
        state = _pins.get(key)
        # a pin driven from outside (or by the program) reads as that rail
        return 65535.0 if state is not None and state.level() else 0.0


def set_pwm(key: PinKey, settings: dict[str, Any] | None) -> None:
    with _lock:
        if settings is None:
            _pwm.pop(key, None)
        else:
            _pwm[key] = dict(settings)


def i2c_device(bus: BusKey, addr: int) -> I2CDevice | None:
    with _lock:
        return _i2c.get(bus, {}).get(addr)


def i2c_addresses(bus: BusKey) -> list[int]:
    with _lock:
        return sorted(_i2c.get(bus, {}))


def spi_transfer(bus: BusKey, out: bytes, reading: bool = True) -> bytes:
    """Clock `out` onto MOSI; returns MISO: queued bytes, then `out`'s own (a loopback).
    A plain write (`reading=False`) leaves the queue alone: a test queues what the program
    reads, as a device answers after the command."""
    with _lock:
        line = _spi.setdefault(bus, _Line())
        line.sent += out
        n = min(len(out), len(line.rx)) if reading else 0
        back = bytes(line.rx[:n]) + out[n:]
        del line.rx[:n]
        return back


def uart_write(uart: BusKey, data: bytes) -> None:
    with _lock:
        line = _uart.setdefault(uart, _Line())
        line.sent += data
        if len(line.sent) > UART_SENT_MAX:
            del line.sent[: len(line.sent) - UART_SENT_MAX]


def uart_any(uart: BusKey) -> int:
    with _lock:
        line = _uart.get(uart)
        return len(line.rx) if line is not None else 0


def uart_take(uart: BusKey, n: int, timeout_s: float) -> bytes:
    """Up to `n` received bytes, waiting up to `timeout_s` for the first."""
    with _lock:
        line = _uart.setdefault(uart, _Line())
        _changed.wait_for(lambda: len(line.rx) > 0, timeout_s)
        data = bytes(line.rx[:n])
        del line.rx[:n]
        return data


def uart_peek(uart: BusKey) -> bytes:
    with _lock:
        line = _uart.get(uart)
        return bytes(line.rx) if line is not None else b""


def uart_wait_more(uart: BusKey, have: int, timeout_s: float) -> bool:
    """Wait until more than `have` bytes are queued; False on timeout."""
    with _lock:
        line = _uart.setdefault(uart, _Line())
        return _changed.wait_for(lambda: len(line.rx) > have, timeout_s)


def watch_uart(uart: BusKey, listener: Callable[[], None] | None) -> None:
    with _lock:
        _uart.setdefault(uart, _Line()).listener = listener


def record_bitstream(key: PinKey, data: bytes) -> None:
    with _lock:
        streams = _bitstreams.setdefault(key, [])
        streams.append(bytes(data))
        del streams[:-HISTORY]

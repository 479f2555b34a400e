"""`machine`'s virtual peripherals (`mpemu.shims.machine`) and the board API behind them
(`mpemu.board`): what a board program relies on, driven as a test or a tool drives it.

Most tests import the shims in this process (the `machine` fixture puts the shims folder on
`sys.path` for the test only); the last ones run programs through `aioble-python`.
"""

from __future__ import annotations

import errno
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from interpreter_run import aioble_python

from mpemu import board
from mpemu.environment import SHIMS_DIR

SHIM_MODULES = ("micropython", "machine", "network", "espnow", "esp", "esp32", "rp2", "neopixel")


def _is_shim(name: str) -> bool:
    return name.split(".")[0] in SHIM_MODULES


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The `machine` shim, imported fresh for this test, on an empty board."""
    for name in [n for n in sys.modules if _is_shim(n)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(SHIMS_DIR)
    for key in ("RTC_OFFSET", "RTC_MEMORY"):  # (restored after the test, as all of these)
        monkeypatch.delenv("_AIOBLE_KEEP_" + key, raising=False)
    board.reset()
    import machine

    yield machine
    board.reset()
    for name in [n for n in sys.modules if _is_shim(n)]:
        del sys.modules[name]


# --- Pin -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pin_id", "key"),
    [(25, 25), ("GP25", 25), ("GPIO25", 25), ("P0_13", 13), ("P1_02", 34), ("LED", "LED")],
)
def test_pin_ids(machine: ModuleType, pin_id: Any, key: Any) -> None:
    pin = machine.Pin(pin_id, machine.Pin.OUT)
    pin.on()
    assert board.output(key) == 1
    assert machine.Pin(key).value() == 1  # the same pin, whatever it is called


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((-1,), ValueError, "invalid pin"),
        ((48,), ValueError, "invalid pin"),
        (("A-1",), ValueError, 'unknown named pin "A-1"'),
        ((1.5,), TypeError, "can't convert float to int"),
        ((2, 99), ValueError, "invalid pin mode: 99"),
        ((2, "OUT"), TypeError, "can't convert str to int"),
        ((2, 0, 7), ValueError, "invalid pull: 7"),
    ],
)
def test_pin_validation(
    machine: ModuleType, args: tuple[Any, ...], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        machine.Pin(*args)


IN, OUT, OPEN_DRAIN = 0, 1, 2
PULL_UP, PULL_DOWN = 1, 2


@pytest.mark.parametrize(
    ("mode", "pull", "outside", "written", "reads", "output"),
    [
        (IN, None, None, None, 0, None),  # floating: reads 0
        (IN, PULL_UP, None, None, 1, None),
        (IN, PULL_UP, 0, None, 0, None),  # a button to ground
        (IN, PULL_DOWN, 1, None, 1, None),
        (IN, None, 1, 0, 1, None),  # a write to an input only sets its latch
        (OUT, None, 0, 1, 1, 1),  # an output reads what it drives
        (OPEN_DRAIN, None, None, 1, 1, 1),  # released: the line is pulled up
        (OPEN_DRAIN, None, 0, 1, 0, 1),  # released, another device pulls it low
        (OPEN_DRAIN, None, 1, 0, 0, 0),
    ],
)
def test_pin_levels(
    machine: ModuleType,
    mode: int,
    pull: int | None,
    outside: int | None,
    written: int | None,
    reads: int,
    output: int | None,
) -> None:
    board.set_input(5, outside)
    pin = machine.Pin(5, mode, pull)
    if written is not None:
        pin.value(written)
    assert pin.value() == reads == pin()
    assert board.output(5) == output
    assert (pin.mode(), pin.pull()) == (mode, pull)


def test_pin_outputs_and_history(machine: ModuleType) -> None:
    Pin = machine.Pin
    pin = Pin(25, Pin.OUT, value=1)  # value is set before the mode: no glitch to 0
    pin.off()
    pin.toggle()
    pin.low()
    pin.high()
    pin(0)
    pin.value(True)
    assert board.history(25) == [1, 0, 1, 0, 1, 0, 1]
    assert board.mode(25) == "OUT" and board.output(25) == 1
    assert repr(pin) == "Pin(GPIO25, mode=OUT)"
    pin.init(Pin.IN, Pin.PULL_UP)  # init changes only what it is given
    assert (board.mode(25), board.pull(25)) == ("IN", "PULL_UP")
    pin.init(pull=None)
    assert (board.mode(25), board.pull(25)) == ("IN", None)
    assert Pin.board.LED.board_key == "LED" and Pin.cpu.GPIO3.board_key == 3


@pytest.mark.parametrize(
    ("trigger", "levels", "flags"),
    [
        (8, [1, 0, 1, 1], [8, 8]),  # IRQ_RISING: each rising edge once
        (4, [1, 0, 1, 0], [4, 4]),  # IRQ_FALLING
        (12, [1, 0], [8, 4]),  # both edges
        (1, [1, 0, 1, 0], [1, 1]),  # IRQ_LOW_LEVEL: on entering the low level
        (2, [0, 1], [2]),  # IRQ_HIGH_LEVEL
    ],
)
def test_pin_hard_irq(
    machine: ModuleType, trigger: int, levels: list[int], flags: list[int]
) -> None:
    seen: list[int] = []
    pin = machine.Pin(15, machine.Pin.IN)
    irq = pin.irq(lambda p: seen.append(p.irq().flags()), trigger, hard=True)
    for level in levels:
        board.set_input(15, level)  # a hard handler runs at once, on this thread
    assert seen == flags
    assert irq.trigger() == trigger and pin.irq() is irq


def test_pin_soft_irq_runs_through_schedule(machine: ModuleType) -> None:
    fired = threading.Event()
    got: list[Any] = []
    pin = machine.Pin("GP14", machine.Pin.IN, machine.Pin.PULL_UP)

    def handler(p: Any) -> None:
        got.append((p.board_key, p.value(), threading.current_thread().name))
        fired.set()

    pin.irq(handler, machine.Pin.IRQ_FALLING)
    board.set_input(14, 0)  # a button press
    assert fired.wait(10)
    assert got == [(14, 0, "micropython.schedule")]
    pin.irq(None)
    fired.clear()
    board.set_input(14, 1)
    board.set_input(14, 0)
    assert board.level(14) == 0 and len(got) == 1  # disabled: nothing more scheduled


def test_signal_inverts(machine: ModuleType) -> None:
    led = machine.Signal(machine.Pin(2, machine.Pin.OUT), invert=True)
    led.on()
    assert board.output(2) == 0 and led.value() == 1
    led.off()
    assert board.output(2) == 1 and led() == 0
    button = machine.Signal(3, machine.Pin.IN, invert=True)  # Pin's arguments
    board.set_input(3, 0)
    assert button.value() == 1


def test_time_pulse_us_times_out_without_a_pulse(machine: ModuleType) -> None:
    pin = machine.Pin(6, machine.Pin.IN)
    assert machine.time_pulse_us(pin, 1, 1000) == -2  # the pulse never starts
    assert machine.time_pulse_us(pin, 0, 1000) == -1  # already low: it never ends


# --- ADC -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "set_as", "reading", "u16", "uv"),
    [
        (0, 26, {"u16": 30000}, 30000, round(30000 * 3_300_000 / 65535)),  # channel 0 is GP26
        (26, "GP26", {"u16": 65535}, 65535, 3_300_000),
        ("GP27", 1, {"uv": 1_650_000}, 32768, 1_650_000),
        (32, 32, {"u16": 0}, 0, 0),  # esp32: ADC(Pin(32))
    ],
)
def test_adc_readings(
    machine: ModuleType, source: Any, set_as: Any, reading: dict[str, int], u16: int, uv: int
) -> None:
    board.set_adc(set_as, **reading)
    for adc in (machine.ADC(source), machine.ADC(machine.Pin(board.adc_key(source)))):
        assert (adc.read_u16(), adc.read_uv()) == (u16, uv)
    assert board.mode(board.adc_key(source)) == "ANALOG"


def test_adc_temperature_sensor_reads_about_27_degrees(machine: ModuleType) -> None:
    sensor = machine.ADC(4)
    volts = sensor.read_u16() * 3.3 / 65535
    celsius = 27 - (volts - 0.706) / 0.001721  # the RP2040 datasheet's formula
    assert 26.5 < celsius < 27.5


def test_adc_esp32_read_width_and_atten(machine: ModuleType) -> None:
    ADC = machine.ADC
    adc = ADC(machine.Pin(34), atten=ADC.ATTN_11DB)
    board.set_adc(34, 65535)
    assert adc.read() == 4095  # 12 bits by default
    adc.width(ADC.WIDTH_10BIT)
    assert adc.read() == 1023
    with pytest.raises(ValueError):
        adc.atten(7)
    assert machine.ADCBlock(1, bits=12).connect(34).read_u16() == 65535


# --- PWM -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"freq": 1}, "freq too small"),
        ({"freq": 10**9}, "freq too large"),
        ({"freq": 1000, "duty_u16": 65536}, "duty_u16 must be from 0 to 65535"),
        ({"freq": 1000, "duty_u16": -1}, "duty_u16 must be from 0 to 65535"),
        ({"freq": 1000, "duty_ns": 2_000_000}, "duty_ns must be from 0 to 1000000"),
    ],
)
def test_pwm_validation(machine: ModuleType, kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        machine.PWM(machine.Pin(15), **kwargs)


def test_pwm_settings(machine: ModuleType) -> None:
    pwm = machine.PWM(machine.Pin(15), freq=1000, duty_u16=32768)
    assert board.pwm(15) == {"freq": 1000, "duty_u16": 32768, "invert": False}
    assert board.mode(15) == "ALT"
    pwm.duty_ns(250_000)  # a quarter of the 1 ms period
    assert pwm.duty_u16() == round(65535 / 4) and pwm.duty_ns() == 250_000
    pwm.freq(2000)
    assert board.pwm(15)["freq"] == 2000
    pwm.deinit()
    assert board.pwm(15) is None


# --- I2C -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", ["I2C", "SoftI2C"])
def test_i2c_absent_device(machine: ModuleType, make: str) -> None:
    Pin = machine.Pin
    if make == "I2C":
        i2c = machine.I2C(0, scl=Pin(1), sda=Pin(0))
    else:
        i2c = machine.SoftI2C(scl=Pin(1), sda=Pin(0))
    assert i2c.scan() == []
    for call in (
        lambda: i2c.writeto(0x3C, b"\x00"),
        lambda: i2c.readfrom(0x3C, 1),
        lambda: i2c.readfrom_mem(0x3C, 0, 1),
    ):
        with pytest.raises(OSError) as caught:
            call()
        assert caught.value.errno == errno.ENODEV


def test_i2c_attached_memory(machine: ModuleType) -> None:
    Pin = machine.Pin
    device = board.attach_i2c(1, 0x76, bytearray(b"\x00" * 0xD0 + b"\x60" + b"\x00" * 47))
    i2c = machine.I2C(1, scl=Pin(3), sda=Pin(2), freq=100_000)
    assert i2c.scan() == [0x76]
    assert machine.I2C(0).scan() == []  # attached to bus 1 only
    assert i2c.readfrom_mem(0x76, 0xD0, 1) == b"\x60"  # a BME280's chip id
    i2c.writeto_mem(0x76, 0xF4, b"\x27")
    assert device.mem[0xF4] == 0x27
    assert i2c.writeto(0x76, b"\xf4") == 1 and i2c.readfrom(0x76, 1) == b"\x27"
    buf = bytearray(2)
    i2c.readfrom_mem_into(0x76, 0xD0, buf)
    assert buf == b"\x60\x00"
    with pytest.raises(ValueError, match="I2C\\(2\\) doesn't exist"):
        machine.I2C(2)


def test_softi2c_primitives(machine: ModuleType) -> None:
    device = board.attach_i2c("soft", 0x50, bytearray(16))
    i2c = machine.SoftI2C(scl=machine.Pin(5), sda=machine.Pin(4))
    i2c.start()
    assert i2c.write(bytes([0x50 << 1, 0x02, 0xAB, 0xCD])) == 4  # address, pointer, data
    i2c.stop()
    assert device.mem[2:4] == b"\xab\xcd"
    i2c.start()
    assert i2c.write(bytes([0x51 << 1])) == 0  # nobody at 0x51: NACK
    i2c.stop()


# --- SPI -----------------------------------------------------------------------------------


def test_spi_reads_what_was_queued_then_echoes(machine: ModuleType) -> None:
    spi = machine.SPI(1, baudrate=8_000_000, polarity=0, phase=0)
    board.spi_feed(1, b"\xef\x40")
    spi.write(b"\x9f")  # (a write leaves the queue to the reads)
    assert spi.read(3, 0xFF) == b"\xef\x40\xff"  # then MISO echoes the write byte
    buf = bytearray(2)
    spi.write_readinto(b"\x01\x02", buf)
    assert buf == b"\x01\x02"
    assert board.spi_sent(1) == b"\x9f\xff\xff\xff\x01\x02"
    with pytest.raises(ValueError, match="buffers must be the same length"):
        spi.write_readinto(b"\x01", bytearray(2))
    with pytest.raises(ValueError):
        machine.SPI(0, polarity=2)
    soft = machine.SoftSPI(baudrate=100_000, sck=machine.Pin(6), mosi=7, miso=8)
    soft.write(b"x")
    assert board.spi_sent("soft") == b"x"


# --- UART ----------------------------------------------------------------------------------


def test_uart_loopback_through_the_board(machine: ModuleType) -> None:
    uart = machine.UART(0, baudrate=9600, tx=machine.Pin(0), rx=machine.Pin(1))
    assert uart.read() is None and uart.any() == 0  # nothing received (timeout 0)
    assert uart.write(b"AT\r\n") == 4
    assert board.uart_sent(0) == b"AT\r\n" and board.uart_sent(0) == b""
    board.uart_feed(0, b"OK\r\n+CSQ: 20\r\npartial")
    assert uart.any() == 21
    assert uart.readline() == b"OK\r\n"
    assert uart.read(5) == b"+CSQ:"
    assert uart.readline() == b" 20\r\n"
    buf = bytearray(10)
    assert uart.readinto(buf) == 7 and buf[:7] == b"partial"


def test_uart_read_waits_for_bytes_sent_later(machine: ModuleType) -> None:
    uart = machine.UART(1, 115200, timeout=10_000)
    sender = threading.Thread(target=board.uart_feed, args=(1, "hello\n"))
    sender.start()
    assert uart.readline() == b"hello\n"  # whether the bytes came before or during the wait
    sender.join()


def test_uart_irq_fires_when_bytes_arrive(machine: ModuleType) -> None:
    uart = machine.UART(2)
    got = threading.Event()
    uart.irq(lambda u: got.set() if u.any() else None, machine.UART.IRQ_RXIDLE)
    board.uart_feed(2, b"x")
    assert got.wait(10)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((3,), {}, "UART\\(3\\) doesn't exist"),
        ((0,), {"bits": 9}, "invalid data bits"),
        ((0,), {"parity": 2}, "invalid parity"),
        ((0,), {"stop": 3}, "invalid stop bits"),
        ((0, 0), {}, "invalid baudrate"),
    ],
)
def test_uart_validation(
    machine: ModuleType, args: tuple[int, ...], kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        machine.UART(*args, **kwargs)


# --- RTC, bitstream, neopixel, and what is not emulated -------------------------------------


def test_rtc_datetime_set_and_get(machine: ModuleType) -> None:
    rtc = machine.RTC()
    rtc.datetime((2024, 1, 2, 6, 3, 4, 5, 0))  # the weekday given is ignored
    year, month, day, weekday, hour, minute, _, _ = rtc.datetime()
    assert (year, month, day, weekday, hour, minute) == (2024, 1, 2, 1, 3, 4)  # a Tuesday
    with pytest.raises(ValueError, match="requested length 8 but object has length 3"):
        rtc.datetime((2024, 1, 2))
    with pytest.raises(OSError):
        rtc.datetime((2024, 13, 2, 0, 0, 0, 0, 0))
    rtc.memory(b"kept")
    assert rtc.memory() == b"kept"


def test_neopixel_frames_are_recorded(machine: ModuleType) -> None:
    import neopixel

    strip = neopixel.NeoPixel(machine.Pin(16), 3)
    strip[0] = (255, 0, 0)
    strip.fill((0, 0, 9))
    strip[1] = (1, 2, 3)
    strip.write()
    assert board.pixels(16) == [(0, 0, 9), (1, 2, 3), (0, 0, 9)]
    assert board.bitstreams(16) == [bytes([0, 0, 9, 2, 1, 3, 0, 0, 9])]  # g, r, b on the wire
    with pytest.raises(ValueError):
        machine.bitstream(machine.Pin(16), 0, (1, 2, 3), b"")


@pytest.mark.parametrize(
    ("use", "api"),
    [
        (lambda m: m.bootloader(), "machine.bootloader"),
        (lambda m: m.mem32[0x40000000], "machine.mem32"),
        (lambda m: m.mem8.__setitem__(0, 1), "machine.mem8"),
        (lambda m: m.SDCard(slot=2), "machine.SDCard"),
        (lambda m: m.SD(), "machine.SD"),
    ],
)
def test_not_emulated(machine: ModuleType, use: Any, api: str) -> None:
    with pytest.raises(NotImplementedError, match=f"^{api} is not emulated by aioble-python"):
        use(machine)


def test_system_functions(machine: ModuleType) -> None:
    assert machine.reset_cause() == machine.PWRON_RESET and machine.wake_reason() == 0
    machine.freq(125_000_000)
    assert machine.freq() == 125_000_000
    with pytest.raises(ValueError):
        machine.freq(0)
    assert machine.enable_irq(machine.disable_irq()) is None


# --- the board API -------------------------------------------------------------------------


def test_board_spec_presets_inputs(machine: ModuleType) -> None:
    board.load(
        {
            "pins": {"GP15": 0, "LED": None},
            "adc": {"26": 30000, "4": {"uv": 706000}},
            "i2c": {"0": {"0x3c": "00ff"}},
            "uart": {"1": "hi\n"},
            "spi": {"0": "9f"},
        }
    )
    assert machine.Pin(15, machine.Pin.IN, machine.Pin.PULL_UP).value() == 0
    assert machine.ADC(0).read_u16() == 30000 and machine.ADC(4).read_uv() == 706000
    assert machine.I2C(0).readfrom(0x3C, 2) == b"\x00\xff"
    assert machine.UART(1).readline() == b"hi\n"
    assert machine.SPI(0).read(1) == b"\x9f"


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '["pins"]',
        '{"pin": {}}',
        '{"pins": {"GP15": 2}}',
        '{"pins": {"GP99": 1}}',
        '{"adc": {"26": "high"}}',
        '{"adc": {"26": 70000}}',
        '{"i2c": {"0": {"0x3c": "zz"}}}',
    ],
)
def test_board_env_errors_name_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="^AIOBLE_BOARD="):
        board.load_env({"AIOBLE_BOARD": value})
    board.reset()


# --- through aioble-python -----------------------------------------------------------------

BLINK = """
import machine, time
led = machine.Pin("LED", machine.Pin.OUT)
for _ in range(4):
    led.toggle()
    time.sleep_ms(1)
print("done")
"""


def test_blink_is_logged_with_aioble_log_debug() -> None:
    result = aioble_python("-c", BLINK, AIOBLE_LOG="DEBUG")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    lines = [line for line in result.stderr.splitlines() if "Pin(LED) =" in line]
    assert lines == [f"mpemu.machine.pin: Pin(LED) = {v}" for v in (1, 0, 1, 0)]


def test_aioble_board_presets_inputs() -> None:
    code = (
        "from machine import Pin, ADC\n"
        "print(Pin(15, Pin.IN, Pin.PULL_UP).value(), ADC(Pin(26)).read_u16())\n"
    )
    spec = json.dumps({"pins": {"GP15": 0}, "adc": {"26": 30000}})
    result = aioble_python("-c", code, AIOBLE_BOARD=spec)
    assert (result.returncode, result.stdout) == (0, "0 30000\n"), result.stderr


def test_a_bad_aioble_board_stops_the_program() -> None:
    result = aioble_python("-c", "print('ran')", AIOBLE_BOARD='{"pins": {"GP15": 5}}')
    assert result.returncode == 1 and result.stdout == ""
    assert "AIOBLE_BOARD=" in result.stderr and "GP15" in result.stderr


def test_an_unfed_watchdog_resets_the_board(tmp_path: Path) -> None:
    program = tmp_path / "wdt.py"
    program.write_text(
        "import machine, time\n"
        "if machine.reset_cause() == machine.WDT_RESET:\n"
        "    print('reset by the watchdog')\n"
        "else:\n"
        "    wdt = machine.WDT(timeout=100)\n"
        "    for _ in range(3):\n"
        "        wdt.feed()\n"
        "    print('started')\n"
        "    while True:\n"
        "        time.sleep_ms(10)\n"
    )
    result = aioble_python(str(program))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "started\nreset by the watchdog\n"
    assert "watchdog not fed for 100 ms" in result.stderr

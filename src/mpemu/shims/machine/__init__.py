"""MicroPython's `machine` module on a virtual board (`mpemu.board`): every peripheral
call a board accepts, with the state and validation a board has, and no real hardware.

| module | what |
|---|---|
| `system` | idle, reset, soft_reset, deepsleep, lightsleep, reset_cause, wake_reason, unique_id, freq, disable_irq/enable_irq, bootloader, mem8/16/32, SD/SDCard/I2S (not emulated) |
| `pin` | Pin, Signal, time_pulse_us, bitstream |
| `adc` | ADC, ADCBlock |
| `pwm` | PWM |
| `i2c` | I2C, SoftI2C |
| `spi` | SPI, SoftSPI |
| `uart` | UART |
| `rtc` | RTC |
| `wdt` | WDT |
| `timer` | Timer |

Output changes and peripheral writes are logged at DEBUG to "mpemu.machine.*" (one line
each, e.g. `mpemu.machine.pin: Pin(GPIO25) = 1`): `AIOBLE_LOG=DEBUG aioble-python prog.py`
shows them. Tests set inputs and read outputs through `mpemu.board`.
"""

from .adc import ADC, ADCBlock
from .i2c import I2C, SoftI2C
from .pin import Pin, Signal, bitstream, time_pulse_us
from .pwm import PWM
from .rtc import RTC
from .spi import SPI, SoftSPI
from .system import (
    DEEPSLEEP,
    DEEPSLEEP_RESET,
    EXT0_WAKE,
    EXT1_WAKE,
    HARD_RESET,
    I2S,
    IDLE,
    PIN_WAKE,
    PWRON_RESET,
    SD,
    SLEEP,
    SOFT_RESET,
    TIMER_WAKE,
    TOUCHPAD_WAKE,
    ULP_WAKE,
    WDT_RESET,
    SDCard,
    bootloader,
    deepsleep,
    disable_irq,
    enable_irq,
    freq,
    idle,
    lightsleep,
    mem8,
    mem16,
    mem32,
    reset,
    reset_cause,
    soft_reset,
    unique_id,
    wake_reason,
)
from .timer import Timer
from .uart import UART
from .wdt import WDT

__all__ = [
    "ADC",
    "ADCBlock",
    "DEEPSLEEP",
    "DEEPSLEEP_RESET",
    "EXT0_WAKE",
    "EXT1_WAKE",
    "HARD_RESET",
    "I2C",
    "I2S",
    "IDLE",
    "PIN_WAKE",
    "PWM",
    "PWRON_RESET",
    "RTC",
    "SD",
    "SDCard",
    "SLEEP",
    "SOFT_RESET",
    "SPI",
    "Pin",
    "Signal",
    "SoftI2C",
    "SoftSPI",
    "TIMER_WAKE",
    "TOUCHPAD_WAKE",
    "Timer",
    "UART",
    "ULP_WAKE",
    "WDT",
    "WDT_RESET",
    "bitstream",
    "bootloader",
    "deepsleep",
    "disable_irq",
    "enable_irq",
    "freq",
    "idle",
    "lightsleep",
    "mem8",
    "mem16",
    "mem32",
    "reset",
    "reset_cause",
    "soft_reset",
    "time_pulse_us",
    "unique_id",
    "wake_reason",
]

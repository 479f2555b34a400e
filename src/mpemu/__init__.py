"""MicroPython's language and platform on CPython: the `aioble-python` interpreter.

A board program runs here unmodified. Its own code (the main file and the modules imported
from its folder and from `lib/` beside it) is compiled in MicroPython's dialect
(`mpemu.dialect`); the process gets MicroPython's modules and extras (`mpemu.environment`,
`mpemu.shims`): `micropython`, `machine` with virtual peripherals, `time.ticks_*`,
`asyncio.ThreadSafeFlag`, ...

| module | job |
|---|---|
| `interpreter` | `aioble-python`: arguments, running a file / `-c` / `-m` / stdin, exit status |
| `environment` | `install()`: `sys.path`, patched stdlib modules, `u`-aliases, `print` |
| `asyncio_extras` | MicroPython's asyncio: `sleep_ms`, `ThreadSafeFlag`, `Event.set()` from IRQs, tasks before `run()` |
| `logs` | `AIOBLE_LOG`: which log records reach stderr |
| `dialect` | MicroPython's semantics for the program's own code (an import hook and a transform) |
| `ticks` | `time.ticks_*`, `sleep_ms`, `sleep_us` |
| `threadsafeflag` | `asyncio.ThreadSafeFlag` |
| `scheduler` | `micropython.schedule` |
| `restart` | `machine.reset()`, `deepsleep()`: the program again from the top |
| `platform` | `gc` and `os` extras; the board's preset inputs from `AIOBLE_BOARD` |
| `board` | the virtual board's state, and the API tests and tools drive it with |
| `shims/` | modules only `aioble-python` can import: `micropython`, `machine` (virtual peripherals), `network`, `esp32`, `rp2`, `neopixel`, ... |

Nothing here imports `aioble`, so a program that vendors its own aioble gets that one.
"""

"""Modules that only `aioble-python` can import: MicroPython's `micropython`, `machine`
(a package: one module per peripheral family, over the virtual board `mpemu.board`),
`neopixel`, and the port modules `network`, `espnow`, `esp`, `esp32`, `rp2`, whose APIs
needing real hardware (Wi-Fi, PIO, flash...) raise NotImplementedError naming the API when
used (`_unemulated`), so importing them works as on a board.
`aioble-python` puts this folder on `sys.path` after the program's own folder (so a
program's own `network.py` wins); plain `python` never does, so nothing here leaks into
ordinary CPython programs.

Import them by their top-level names inside `aioble-python`, never as `mpemu.shims.*`
(that would be a second copy with its own state). `_unemulated` and `_persist` hold no
state and are imported as `mpemu.shims._unemulated`/`mpemu.shims._persist`.
"""

"""Running board programs together: `aioble run`, `aioble multitest`, `aioble radio`.

Each program runs in its own process under `aioble-python` (the MicroPython emulation,
package `mpemu`); this package starts, feeds, reads and stops those processes.

The command line (`blerun.cli`) is a thin layer over library functions:

- `mpemu.interpreter.main`: the `aioble-python` interpreter (MicroPython's environment).
- `blerun.run.run_programs`: several programs, one process each, on one private radio.
- `blerun.multitest.run_tests`: MicroPython multitest files, one process per instance.
- `blerun.protocol`: the multitest line protocol, pure functions.
"""

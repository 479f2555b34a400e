"""Running MicroPython programs on CPython: `aioble-python`, `aioble run`, `aioble multitest`,
`aioble radio`.

The command line (`blerun.cli`) is a thin layer over library functions:

- `blerun.interpreter.main`: the `aioble-python` interpreter (MicroPython's environment).
- `blerun.run.run_programs`: several programs, one process each, on one private radio.
- `blerun.multitest.run_tests`: MicroPython multitest files, one process per instance.
- `blerun.protocol`: the multitest line protocol, pure functions.
"""

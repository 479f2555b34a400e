"""Modules that only `aioble-python` can import: `micropython` and `machine`.
`aioble-python` puts this folder on `sys.path`; plain `python` never does, so nothing here
leaks into ordinary CPython programs.

Import them by their top-level names inside `aioble-python`, never as `mpemu.shims.*`
(that would be a second copy with its own state).
"""

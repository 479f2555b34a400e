from aioble_support import pair  # noqa: F401  (the fixture)

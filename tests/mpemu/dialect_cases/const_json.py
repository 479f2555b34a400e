# const() without an import (the compiler knows it), and json of bytes.
import json

import ujson

_IRQ_SCAN_RESULT = const(5)
_FLAG_READ = const(0x0002)
_FLAGS = const(_FLAG_READ | 0x0010)
print(_IRQ_SCAN_RESULT, _FLAG_READ, _FLAGS)


class Cfg:
    INTERVAL = const(250)


print(Cfg.INTERVAL)
print(json.dumps(b"x"), json.dumps({"a": b"xy", "b": [1, 2]}), ujson.dumps([b"z", 1]))
print(json.loads('{"k": [1, 2.5, "s"]}'))

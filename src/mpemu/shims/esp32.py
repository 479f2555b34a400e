"""MicroPython's `esp32` under `aioble-python`.

`NVS` is emulated: namespaces of i32 and blob values, with ESP-IDF's errors
(`OSError(-4354, 'ESP_ERR_NVS_NOT_FOUND')`); what is committed survives
`machine.reset()`/`deepsleep()` (not a new run: the virtual flash is erased each time).
The rest (partitions and OTA, RMT, ULP, sensors, wake sources, IDF heaps) needs the chip,
and raises NotImplementedError naming the API when used.
"""

from __future__ import annotations

from typing import Any

from mpemu.shims import _persist, _unemulated

_NO_CHIP = "the virtual board is no ESP32"

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True
HEAP_DATA = 4
HEAP_EXEC = 1

Partition = _unemulated.cls("esp32.Partition", _NO_CHIP)
RMT = _unemulated.cls("esp32.RMT", _NO_CHIP)
ULP = _unemulated.cls("esp32.ULP", _NO_CHIP)
raw_temperature = _unemulated.function("esp32.raw_temperature", _NO_CHIP)
mcu_temperature = _unemulated.function("esp32.mcu_temperature", _NO_CHIP)
hall_sensor = _unemulated.function("esp32.hall_sensor", _NO_CHIP)
idf_heap_info = _unemulated.function("esp32.idf_heap_info", _NO_CHIP)
wake_on_touch = _unemulated.function("esp32.wake_on_touch", _NO_CHIP)
wake_on_ulp = _unemulated.function("esp32.wake_on_ulp", _NO_CHIP)
wake_on_ext0 = _unemulated.function("esp32.wake_on_ext0", _NO_CHIP)
wake_on_ext1 = _unemulated.function("esp32.wake_on_ext1", _NO_CHIP)
wake_on_gpio = _unemulated.function("esp32.wake_on_gpio", _NO_CHIP)
gpio_deep_sleep_hold = _unemulated.function("esp32.gpio_deep_sleep_hold", _NO_CHIP)

# ESP-IDF's error codes, as MicroPython raises them: OSError(code, name).
_NOT_FOUND = (-0x1102, "ESP_ERR_NVS_NOT_FOUND")
_KEY_TOO_LONG = (-0x1109, "ESP_ERR_NVS_KEY_TOO_LONG")
_INVALID_LENGTH = (-0x110C, "ESP_ERR_NVS_INVALID_LENGTH")
_KEY_MAX = 15
_STORE = "ESP32_NVS"  # {namespace: {key: ["i32", int] | ["blob", hex]}}
_live: dict[str, dict[str, list[Any]]] = _persist.load(_STORE, {})


class NVS:
    def __init__(self, namespace: str) -> None:
        self._namespace = str(namespace)
        self._values = _live.setdefault(self._namespace, {})

    def _get(self, key: str, kind: str) -> Any:
        entry = self._values.get(key)
        if entry is None or entry[0] != kind:
            raise OSError(*_NOT_FOUND)
        return entry[1]

    def _set(self, key: str, kind: str, value: Any) -> None:
        if len(key) > _KEY_MAX:
            raise OSError(*_KEY_TOO_LONG)
        self._values[key] = [kind, value]

    def set_i32(self, key: str, value: int) -> None:
        value = int(value) & 0xFFFFFFFF
        self._set(key, "i32", value - (1 << 32) if value & 0x80000000 else value)

    def get_i32(self, key: str) -> int:
        return self._get(key, "i32")

    def set_blob(self, key: str, value: Any) -> None:
        self._set(key, "blob", bytes(value).hex())

    def get_blob(self, key: str, buffer: Any) -> int:
        data = bytes.fromhex(self._get(key, "blob"))
        if len(buffer) < len(data):
            raise OSError(*_INVALID_LENGTH)
        memoryview(buffer)[: len(data)] = data
        return len(data)

    def erase_key(self, key: str) -> None:
        if self._values.pop(key, None) is None:
            raise OSError(*_NOT_FOUND)

    def commit(self) -> None:
        _persist.save(_STORE, _live)

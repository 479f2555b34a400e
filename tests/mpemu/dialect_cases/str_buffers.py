# A str is a buffer where bytes are expected (the usual advertising helpers rely on it).
import struct

print(b"\x02\x01" + "name")
print(bytearray(b"ab") + "cd")
print(type(b"a" + "b").__name__, type(bytearray(b"a") + "b").__name__)
print(b"caf" + "\u00e9")

payload = bytearray()
payload += "name"
payload += b"\x01"
print(payload)


def advertising_payload(name):
    payload = bytearray()

    def _append(adv_type, value):
        nonlocal payload
        payload += struct.pack("BB", len(value) + 1, adv_type) + value

    _append(0x01, struct.pack("B", 0x06))
    _append(0x09, name)
    return payload


print(advertising_payload("sensor"))


class Builder:
    def __init__(self):
        self.buf = bytearray()

    def add(self, part):
        self.buf += part
        return self


print(Builder().add("hi").add(b"!").buf)
parts = [b"a"]
parts[0] += "b"
print(parts)
m = memoryview("abc")
print(m[0], len(m), bytes(m), isinstance(m, memoryview))
print("b" in b"abc", "z" not in b"abc", "OK" in bytearray(b"+OK\r\n"))
print(b"abc".startswith("a"), b"abc".endswith("bc"), bytearray(b"AT+X").startswith("AT"))
e = bytearray()
e.extend("cd")
print(e)
print("ab" + "cd", [1] + [2], (1,) + (2,), 1 + 2, 1.5 + 1)


def fails(expression):
    try:
        eval(expression)
    except TypeError:
        return "TypeError"
    return "no error"


# Where MicroPython is strict too.
print(fails('"ab" + b"cd"'), fails('bytearray("abc")'), fails('b"abc".find("b")'))
print(fails('bytes("abc")'), fails('b"a" + 1'), fails('b"a,b".split(",")'))
try:
    s = "ab"
    s += b"c"
except TypeError:
    print("str += bytes: TypeError")

# Valid CPython code: its output is the same with and without the dialect, and on MicroPython.
import struct


def fib(n):
    a, b = 0, 1
    out = []
    for _ in range(n):
        out.append(a)
        a, b = b, a + b
    return out


print(fib(12))
words = ["ble", "sensor", "camera"]
print("-".join(w + "!" for w in words), sum(len(w) for w in words))
buf = bytearray(8)
for i in range(8):
    buf[i] = (i * 37) & 0xFF
print(buf, bytes(buf[2:5]), buf[-1])
total = 0
for i in range(100):
    total += i * i
print(total, total // 7, total % 7, -total // 7)
data = {"t": 21, "h": 40}
data["t"] += 1
print(sorted(data.items()))
print(struct.pack("<hHb", -2, 513, 3), struct.unpack("<hHb", b"\xfe\xff\x01\x02\x03"))
s = "abc"
s += "def"
print(s, s[1:4], s.upper(), "%d-%s" % (3, "x"), "{}:{}".format(1, 2))
t = (1, 2)
t += (3,)
print(t, [x * 2 for x in t], {x: x + 1 for x in t})
try:
    (1, [2])[1] += [3]
except TypeError:
    print("tuple item += : TypeError")
lst = [[0]]
tup = (lst,)
try:
    tup[0] += [1]
except TypeError:
    print(tup, "(the list grew once)")
print(b"ab" + b"cd", bytearray(b"x") + b"y", b"ab" * 2, b"abc".find(b"b"))

# struct truncates, pads and ignores on MicroPython.
import struct
import ustruct

print(struct.pack("B", 256), struct.pack("<h", 40000), struct.pack("B", -1))
print(struct.pack("<b", 200), struct.pack("<I", -1), struct.pack("<Q", -1))
print(struct.pack("BB", 1), struct.pack("B", 1, 2), struct.pack("<HB", 70000))
print(struct.pack("s", "ab"), struct.pack("2s", "ab"), struct.pack("<f", 1e40))
print(ustruct.pack("<H", 65537))
print(struct.unpack("<h", b"\x01\x02\x03"), struct.unpack("<B", bytearray(b"\x07\x08")))
buf = bytearray(4)
struct.pack_into("<H", buf, 0, 70000)
print(buf)
print(struct.unpack_from("<B", b"\x01\x02", 1), struct.calcsize("<HB"))
print(struct.pack("<hhl", 1, 2, 3), struct.unpack("<hhl", struct.pack("<hhl", -1, -2, -3)))
from struct import pack

print(pack(">H", -1))
try:
    struct.unpack("<hh", b"\x01\x02")
except ValueError:
    print("short buffer: ValueError")

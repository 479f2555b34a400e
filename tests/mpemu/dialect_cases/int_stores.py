# Integer stores into fixed-width buffers keep the element's low bits.
import array

b = bytearray(3)
b[0] = 256
b[1] = -1
b[2] = 300
print(b)
b[0] += 300
b[1] |= 0x100
b[2] -= 300
print(b)
m = memoryview(b)
m[0] = 0x1FF
print(b)
a = array.array("h", [0, 0])
a[0] = 40000
a[1] = -40000
print(a)
a = array.array("B", [0])
a[0] = 300
print(a)
a = array.array("I", [0])
a[0] = -1
print(a)
c = bytearray()
c.append(300)
c.append(-2)
print(c)


def checksum(data):
    out = bytearray(len(data))
    for i in range(len(data)):
        out[i] = data[i] * 7
    return out


print(checksum(b"\x01\x80\xff"))
x = [0, 0]
x[0] = 256
x[1] += 1000
print(x)
d = {}
d["k"] = 1
d["k"] += 2
print(d)
print(bytes(bytearray([1, 2])))


def fails(statement):
    try:
        exec(statement)
    except (ValueError, TypeError):
        return "error"
    return "no error"


# Construction is checked on MicroPython too.
print(fails("bytes([256])"), fails("bytearray(b'x')[0] = 1.5"))

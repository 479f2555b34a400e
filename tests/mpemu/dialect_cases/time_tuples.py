# Dates are 8-tuples on MicroPython (board programs unpack them into eight names).
import time

import utime

t = time.gmtime(0)
print(len(t), t)
y, mo, d, h, mi, s, wd, yd = time.gmtime(86400 * 365 + 3661)
print(y, mo, d, h, mi, s, wd, yd)
print(time.mktime((2024, 1, 2, 3, 4, 5, 0, 0)), utime.gmtime(1)[:6])
print(time.localtime(0)[:3])

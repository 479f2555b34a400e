# A small baseline JPEG encoder in pure Python (no libraries), standing in for a camera's
# hardware encoder (on an OpenMV cam: sensor.snapshot().compress()). It writes a real JFIF
# file that any viewer opens: YCbCr with no chroma subsampling, the quantization tables of
# the JPEG standard (Annex K) scaled by `quality`, and Huffman tables with the standard
# code lengths.
import math

# Annex K.1 / K.2 quantization tables, in row order.
_LUMA_Q = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA_Q = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32  # fmt: skip

# Zigzag order: the index in row order of the n-th coefficient sent (anti-diagonals,
# alternately walked down and up).
_ZIGZAG = sorted(
    range(64),
    key=lambda i: (i // 8 + i % 8, (i // 8) if (i // 8 + i % 8) % 2 else (i % 8)),
)

# Huffman code lengths of Annex K.3 (how many codes of 1..16 bits). DC: the 12 sizes.
# AC: the 162 (run, size) symbols; EOB (0x00) and ZRL (0xF0) among the shortest.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_SYMBOLS = tuple(range(12))
_AC_BITS = (0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D)
_AC_FIRST = (
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51,
    0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1,
    0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82,
)  # fmt: skip
_AC_SYMBOLS = _AC_FIRST + tuple(
    sorted(r << 4 | s for r in range(16) for s in range(1, 11) if r << 4 | s not in _AC_FIRST)
)

_COS = [[math.cos((2 * x + 1) * u * math.pi / 16) for x in range(8)] for u in range(8)]
_C = [math.sqrt(0.5) if u == 0 else 1.0 for u in range(8)]


def _scaled(table, quality):
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (q * scale + 50) // 100)) for q in table]


def _codes(bits, symbols):
    # Canonical Huffman codes (Annex C): symbol -> (code, length).
    codes = {}
    code = 0
    k = 0
    for length in range(1, 17):
        for _ in range(bits[length - 1]):
            codes[symbols[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


_DC_CODES = _codes(_DC_BITS, _DC_SYMBOLS)
_AC_CODES = _codes(_AC_BITS, _AC_SYMBOLS)


class _Bits:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def put(self, value, length):
        self.acc = (self.acc << length) | (value & ((1 << length) - 1))
        self.n += length
        while self.n >= 8:
            self.n -= 8
            byte = (self.acc >> self.n) & 0xFF
            self.out.append(byte)
            if byte == 0xFF:
                self.out.append(0)  # byte stuffing
        self.acc &= (1 << self.n) - 1

    def flush(self):
        if self.n:
            self.put(0x7F, 8 - self.n)  # pad with 1 bits


def _fdct(block):
    # Separable 8x8 forward DCT (level-shifted input), row order out.
    rows = [
        [sum(block[y * 8 + x] * _COS[u][x] for x in range(8)) for u in range(8)] for y in range(8)
    ]
    return [
        0.25 * _C[u] * _C[v] * sum(rows[y][u] * _COS[v][y] for y in range(8))
        for v in range(8)
        for u in range(8)
    ]


def _category(value):
    value = abs(value)
    n = 0
    while value:
        n += 1
        value >>= 1
    return n


def _encode_block(bits, block, quant, previous_dc):
    coefficients = _fdct(block)
    zz = [int(round(coefficients[i] / quant[i])) for i in _ZIGZAG]
    diff = zz[0] - previous_dc
    size = _category(diff)
    bits.put(*_DC_CODES[size])
    if size:
        bits.put(diff if diff > 0 else diff - 1, size)
    run = 0
    for value in zz[1:]:
        if value == 0:
            run += 1
            continue
        while run > 15:
            bits.put(*_AC_CODES[0xF0])
            run -= 16
        size = _category(value)
        bits.put(*_AC_CODES[run << 4 | size])
        bits.put(value if value > 0 else value - 1, size)
        run = 0
    if run:
        bits.put(*_AC_CODES[0x00])
    return zz[0]


def _segment(marker, payload):
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def encode(width, height, pixel, quality=85):
    """A JFIF file of a `width` x `height` image; `pixel(x, y)` gives (r, g, b) in 0..255."""
    luma_q = _scaled(_LUMA_Q, quality)
    chroma_q = _scaled(_CHROMA_Q, quality)
    bits = _Bits()
    dc = [0, 0, 0]
    for by in range(0, height, 8):
        for bx in range(0, width, 8):
            planes = ([], [], [])
            for y in range(by, by + 8):
                for x in range(bx, bx + 8):
                    r, g, b = pixel(min(x, width - 1), min(y, height - 1))
                    planes[0].append(0.299 * r + 0.587 * g + 0.114 * b - 128)
                    planes[1].append(-0.168736 * r - 0.331264 * g + 0.5 * b)
                    planes[2].append(0.5 * r - 0.418688 * g - 0.081312 * b)
            for c in range(3):
                dc[c] = _encode_block(bits, planes[c], luma_q if c == 0 else chroma_q, dc[c])
    bits.flush()
    dqt = bytes([0]) + bytes(luma_q[i] for i in _ZIGZAG)
    dqt += bytes([1]) + bytes(chroma_q[i] for i in _ZIGZAG)
    sof = bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes([3])
    sof += bytes([1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1])
    dht = bytes([0x00]) + bytes(_DC_BITS) + bytes(_DC_SYMBOLS)
    dht += bytes([0x10]) + bytes(_AC_BITS) + bytes(_AC_SYMBOLS)
    sos = bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0])
    return b"".join(
        (
            b"\xff\xd8",
            _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            _segment(0xDB, dqt),
            _segment(0xC0, sof),
            _segment(0xC4, dht),
            _segment(0xDA, sos),
            bytes(bits.out),
            b"\xff\xd9",
        )
    )

"""Fast QR code matrices, bit-for-bit identical to the ``qrcode`` library's.

Pure-Python ``qrcode`` spends most of its time building and scoring the eight masked symbols
module by module. This module keeps ``qrcode``'s behaviour (its data segmentation, version
choice and mask choice are the reference; the tests compare matrices) and does the heavy work
differently:

* data segmentation comes from ``qrcode.util.optimal_data_chunks`` (as ``QRCode.add_data``
  does, with ``minimum=20``), the bit stream is built as one Python integer;
* Reed-Solomon error correction uses a per-generator lookup table (one XOR of Python integers
  per data byte);
* function patterns, the data-module placement order and the eight mask patterns are computed
  once per version and cached;
* the eight candidate symbols are built and scored together with numpy.

Mask choice follows ``qrcode``: each candidate is scored with the ISO/IEC 18004 penalty rules
N1-N4 while the format and version information areas (and the fixed dark module) are still
light, and the lowest score wins, the lowest mask number on a tie.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from qrcode import base as _qr_base
from qrcode import util as _qr_util

__all__ = ["EC_LEVELS", "QRError", "encode_codewords", "qr_matrix", "qr_version"]

# Format-information bit values of the EC levels (qrcode's ERROR_CORRECT_* constants).
EC_LEVELS = {"L": 1, "M": 0, "Q": 3, "H": 2}
_OPTIMIZE_MINIMUM = 20  # qrcode.QRCode.add_data's default ``optimize``
_ALNUM_INDEX = {c: i for i, c in enumerate(_qr_util.ALPHA_NUM)}
_MODE_NUMBER = _qr_util.MODE_NUMBER
_MODE_ALNUM = _qr_util.MODE_ALPHA_NUM


class QRError(ValueError):
    """The data cannot be encoded with the requested parameters."""


# --------------------------------------------------------------------------------------------
# Reed-Solomon over GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
del _x, _i


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


@cache
def _rs_table(ec_count: int) -> tuple[int, ...]:
    """For each feedback byte f, the generator coefficients times f packed into one integer."""
    gen = [1]  # highest degree first; monic
    for i in range(ec_count):
        nxt = [0] * (len(gen) + 1)
        for j, coef in enumerate(gen):
            nxt[j] ^= coef
            nxt[j + 1] ^= _gf_mul(coef, _EXP[i])
        gen = nxt
    tail = gen[1:]  # ec_count coefficients below the leading 1
    return tuple(int.from_bytes(bytes(_gf_mul(f, c) for c in tail), "big") for f in range(256))


def _rs_remainder(block: bytes, ec_count: int) -> bytes:
    table = _rs_table(ec_count)
    shift = 8 * (ec_count - 1)
    keep = (1 << shift) - 1
    rem = 0
    for byte in block:
        rem = ((rem & keep) << 8) ^ table[byte ^ (rem >> shift)]
    return rem.to_bytes(ec_count, "big")


# --------------------------------------------------------------------------------------------
# Data encoding


def _segments(data: str | bytes) -> list[tuple[int, bytes]]:
    return [
        (chunk.mode, chunk.data)
        for chunk in _qr_util.optimal_data_chunks(data, minimum=_OPTIMIZE_MINIMUM)
    ]


def _segment_bits(segments: list[tuple[int, bytes]], version: int) -> tuple[int, int]:
    """Return ``(value, bit_count)`` of the mode/length/data bit stream."""
    sizes = _qr_util.mode_sizes_for_version(version)
    acc = 0
    nbits = 0
    for mode, chunk in segments:
        length_bits = sizes[mode]
        acc = (((acc << 4) | mode) << length_bits) | len(chunk)
        nbits += 4 + length_bits
        if mode == _MODE_NUMBER:
            for i in range(0, len(chunk), 3):
                part = chunk[i : i + 3]
                width = (4, 7, 10)[len(part) - 1]
                acc = (acc << width) | int(part)
                nbits += width
        elif mode == _MODE_ALNUM:
            idx = _ALNUM_INDEX
            n = len(chunk)
            for i in range(0, n - 1, 2):
                acc = (acc << 11) | (idx[chunk[i]] * 45 + idx[chunk[i + 1]])
            nbits += 11 * (n // 2)
            if n % 2:
                acc = (acc << 6) | idx[chunk[-1]]
                nbits += 6
        else:
            acc = (acc << (8 * len(chunk))) | int.from_bytes(chunk, "big")
            nbits += 8 * len(chunk)
    return acc, nbits


@cache
def _blocks(version: int, ec_bits: int) -> tuple[tuple[int, int], ...]:
    """``(data_count, ec_count)`` per RS block."""
    return tuple(
        (b.data_count, b.total_count - b.data_count) for b in _qr_base.rs_blocks(version, ec_bits)
    )


def _capacity_bits(version: int, ec_bits: int) -> int:
    limit: int = _qr_util.BIT_LIMIT_TABLE[ec_bits][version]
    return limit


def _ec_bits(ec: str) -> int:
    try:
        return EC_LEVELS[ec.upper()]
    except (KeyError, AttributeError):
        raise QRError(f"unknown error correction level {ec!r} (use L, M, Q or H)") from None


def _choose_version(segments: list[tuple[int, bytes]], ec_bits: int) -> int:
    """The smallest version that holds the data (``qrcode.QRCode.best_fit``)."""
    stream: tuple[int, int] | None = None
    sizes = None
    for version in range(1, 41):
        vs = _qr_util.mode_sizes_for_version(version)
        if vs is not sizes:
            sizes = vs
            stream = _segment_bits(segments, version)
        assert stream is not None
        if stream[1] <= _capacity_bits(version, ec_bits):
            return version
    raise QRError("data too long for a QR code")


def qr_version(data: str | bytes, ec: str = "M") -> int:
    """The QR version ``qr_matrix`` would choose for ``data`` at error correction ``ec``."""
    return _choose_version(_segments(data), _ec_bits(ec))


def encode_codewords(data: str | bytes, ec: str = "M", version: int | None = None) -> bytes:
    """Final interleaved codewords (data then EC), as ``qrcode.util.create_data`` returns."""
    ec_bits = _ec_bits(ec)
    segments = _segments(data)
    if version is None:
        version = _choose_version(segments, ec_bits)
    return _codewords(segments, version, ec_bits)


def _codewords(segments: list[tuple[int, bytes]], version: int, ec_bits: int) -> bytes:
    acc, nbits = _segment_bits(segments, version)
    limit = _capacity_bits(version, ec_bits)
    if nbits > limit:
        raise QRError(f"data does not fit QR version {version}: {nbits} bits > {limit}")
    term = min(limit - nbits, 4)
    nbits += term
    pad = -nbits % 8
    acc <<= term + pad
    nbits += pad
    fill = (limit - nbits) // 8
    stream = acc.to_bytes(nbits // 8, "big") + (b"\xec\x11" * ((fill + 1) // 2))[:fill]

    blocks = _blocks(version, ec_bits)
    data_blocks = []
    ec_blocks = []
    offset = 0
    for data_count, ec_count in blocks:
        chunk = stream[offset : offset + data_count]
        offset += data_count
        data_blocks.append(chunk)
        ec_blocks.append(_rs_remainder(chunk, ec_count))
    if len(blocks) == 1:
        return data_blocks[0] + ec_blocks[0]
    return _interleave(data_blocks) + _interleave(ec_blocks)


def _interleave(blocks: list[bytes]) -> bytes:
    """Byte i of every block, then byte i + 1, ...; QR blocks differ in length by at most one."""
    count = len(blocks)
    short = min(len(b) for b in blocks)
    out = bytearray(sum(len(b) for b in blocks))
    stop = count * short
    for i, block in enumerate(blocks):
        out[i:stop:count] = block[:short]
    pos = stop
    for block in blocks:
        for byte in block[short:]:
            out[pos] = byte
            pos += 1
    return bytes(out)


# --------------------------------------------------------------------------------------------
# Symbol layout, cached per version


@dataclass(frozen=True)
class _Layout:
    size: int
    template: np.ndarray  # bool (n, n): function patterns; format/version areas light
    positions: np.ndarray  # flat indices of data modules, in placement order
    masks: np.ndarray  # bool (8, len(positions)): mask value at each data module
    format_v: np.ndarray  # flat indices of the 15 "vertical" format bits
    format_h: np.ndarray  # flat indices of the 15 "horizontal" format bits
    dark_module: int
    version_idx: np.ndarray  # flat indices of the 36 version bits (empty below version 7)
    version_bits: np.ndarray  # bool (36,)


@cache
def _layout(version: int) -> _Layout:
    n = version * 4 + 17
    val = np.zeros((n, n), dtype=bool)
    fixed = np.zeros((n, n), dtype=bool)

    for row, col in ((0, 0), (n - 7, 0), (0, n - 7)):
        for r in range(-1, 8):
            if not 0 <= row + r < n:
                continue
            for c in range(-1, 8):
                if not 0 <= col + c < n:
                    continue
                dark = (
                    (0 <= r <= 6 and c in (0, 6))
                    or (0 <= c <= 6 and r in (0, 6))
                    or (2 <= r <= 4 and 2 <= c <= 4)
                )
                val[row + r, col + c] = dark
                fixed[row + r, col + c] = True

    pos = _qr_util.pattern_position(version)
    for row in pos:
        for col in pos:
            if fixed[row, col]:
                continue
            for r in range(-2, 3):
                for c in range(-2, 3):
                    val[row + r, col + c] = r in (-2, 2) or c in (-2, 2) or (r == 0 and c == 0)
                    fixed[row + r, col + c] = True

    for i in range(8, n - 8):
        if not fixed[i, 6]:
            val[i, 6] = i % 2 == 0
            fixed[i, 6] = True
        if not fixed[6, i]:
            val[6, i] = i % 2 == 0
            fixed[6, i] = True

    fv, fh = [], []
    for i in range(15):
        if i < 6:
            fv.append((i, 8))
        elif i < 8:
            fv.append((i + 1, 8))
        else:
            fv.append((n - 15 + i, 8))
        if i < 8:
            fh.append((8, n - i - 1))
        elif i < 9:
            fh.append((8, 15 - i))
        else:
            fh.append((8, 15 - i - 1))
    for r, c in (*fv, *fh, (n - 8, 8)):
        fixed[r, c] = True

    vidx: list[tuple[int, int]] = []
    vbits: list[bool] = []
    if version >= 7:
        bits = _qr_util.BCH_type_number(version)
        for i in range(18):
            vidx.append((i // 3, i % 3 + n - 11))
            vbits.append(bool((bits >> i) & 1))
        for i in range(18):
            vidx.append((i % 3 + n - 11, i // 3))
            vbits.append(bool((bits >> i) & 1))
        for r, c in vidx:
            fixed[r, c] = True

    # Data placement order: two-module columns, right to left, zigzagging up and down.
    order: list[int] = []
    row, inc = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if not fixed[row, c]:
                    order.append(row * n + c)
            row += inc
            if row < 0 or row >= n:
                row -= inc
                inc = -inc
                break
    positions = np.array(order, dtype=np.intp)
    rows, cols = np.divmod(positions, n)
    masks = np.empty((8, len(order)), dtype=bool)
    for m in range(8):
        fn = _qr_util.mask_func(m)
        masks[m] = [fn(int(r), int(c)) for r, c in zip(rows, cols, strict=True)]

    def flat(cells: list[tuple[int, int]]) -> np.ndarray:
        return np.array([r * n + c for r, c in cells], dtype=np.intp)

    for arr in (val, masks, positions):
        arr.setflags(write=False)
    return _Layout(
        size=n,
        template=val,
        positions=positions,
        masks=masks,
        format_v=flat(fv),
        format_h=flat(fh),
        dark_module=(n - 8) * n + 8,
        version_idx=flat(vidx),
        version_bits=np.array(vbits, dtype=bool),
    )


@cache
def _format_bits(ec_bits: int, mask: int) -> np.ndarray:
    bits = _qr_util.BCH_type_info((ec_bits << 3) | mask)
    return np.array([(bits >> i) & 1 for i in range(15)], dtype=bool)


# --------------------------------------------------------------------------------------------
# Penalty scoring of the eight candidates at once


def _penalties(cands: np.ndarray) -> list[int]:
    """ISO/IEC 18004 penalty N1+N2+N3+N4 of each ``(8, n, n)`` candidate, as ``qrcode`` scores."""
    k, n, _ = cands.shape
    # Rows and columns side by side: (8, 2n, n).
    lines = np.concatenate((cands, cands.transpose(0, 2, 1)), axis=1)

    # N1: each run of >= 5 same-coloured modules scores (length - 2).
    bounds = np.ones((k, 2 * n, n + 1), dtype=bool)
    np.not_equal(lines[:, :, 1:], lines[:, :, :-1], out=bounds[:, :, 1:-1])
    starts = np.flatnonzero(bounds)
    runs = np.diff(starts)
    long_runs = runs >= 5
    n1 = np.bincount(
        starts[:-1][long_runs] // (2 * n * (n + 1)), weights=runs[long_runs] - 2, minlength=k
    )

    # N2: each 2x2 block of one colour scores 3.
    a = cands[:, :-1, :-1]
    same = (a == cands[:, 1:, :-1]) & (a == cands[:, :-1, 1:]) & (a == cands[:, 1:, 1:])
    n2 = same.sum(axis=(1, 2)) * 3

    # N3: 1011101 with four light modules before or after, in any row or column: 40 each.
    w = lines.astype(np.int16)
    width = n - 10
    window = w[:, :, 0:width] << 10
    for j in range(1, 11):
        window |= w[:, :, j : j + width] << (10 - j)
    n3 = ((window == 0b10111010000) | (window == 0b00001011101)).sum(axis=(1, 2)) * 40

    # N4: 10 points per full 5 % the dark share departs from 50 %.
    dark = cands.sum(axis=(1, 2))
    total = n * n
    scores = []
    for m in range(k):
        n4 = int(abs(float(dark[m]) / total * 100 - 50) / 5) * 10
        scores.append(int(n1[m]) + int(n2[m]) + int(n3[m]) + n4)
    return scores


def _pack_lines(cands: np.ndarray) -> np.ndarray:
    """Rows then columns of each candidate as uint64 bit sets (bit j = module j), (8, 2n)."""
    k, n, _ = cands.shape
    lines = np.concatenate((cands, cands.transpose(0, 2, 1)), axis=1)
    packed = np.zeros((k, 2 * n, 8), dtype=np.uint8)
    packed[:, :, : (n + 7) // 8] = np.packbits(lines, axis=2, bitorder="little")
    return packed.view("<u8")[:, :, 0]


def _penalties_packed(cands: np.ndarray) -> list[int]:
    """Same scores as :func:`_penalties` with each row/column packed into one uint64 (n <= 64)."""
    k, n, _ = cands.shape
    d = _pack_lines(cands)
    light = ~d & np.uint64((1 << n) - 1)
    s = [np.uint64(i) for i in range(11)]

    def win(x: np.ndarray, length: int) -> np.ndarray:
        out = x.copy()
        for i in range(1, length):
            out &= x >> s[i]
        return out

    # N1: a run of length L >= 5 holds L - 4 five-module windows and scores L - 2.
    w5d, w5l = win(d, 5), win(light, 5)
    run_starts = (w5d & ~(d << s[1])) | (w5l & ~(light << s[1]))
    n1 = np.bitwise_count(w5d | w5l).sum(axis=1) + 2 * np.bitwise_count(run_starts).sum(axis=1)

    # N2: 2x2 blocks of one colour (rows only).
    rd, rl = d[:, :n], light[:, :n]
    pd = rd & (rd >> s[1])
    pl = rl & (rl >> s[1])
    n2 = 3 * np.bitwise_count((pd[:, :-1] & pd[:, 1:]) | (pl[:, :-1] & pl[:, 1:])).sum(axis=1)

    # N3: 1011101 with four light modules before (00001011101) or after (10111010000).
    core = (light >> s[1]) & (d >> s[4]) & (light >> s[5]) & (d >> s[6]) & (light >> s[9])
    p_after = core & d & (d >> s[2]) & (d >> s[3]) & (light >> s[7]) & (light >> s[8])
    p_after &= light >> s[10]
    p_before = core & light & (light >> s[2]) & (light >> s[3]) & (d >> s[7]) & (d >> s[8])
    p_before &= d >> s[10]
    n3 = 40 * (np.bitwise_count(p_after).sum(axis=1) + np.bitwise_count(p_before).sum(axis=1))

    dark = np.bitwise_count(rd).sum(axis=1)
    total = n * n
    scores = []
    for m in range(k):
        n4 = int(abs(float(dark[m]) / total * 100 - 50) / 5) * 10
        scores.append(int(n1[m]) + int(n2[m]) + int(n3[m]) + n4)
    return scores


def qr_matrix(
    data: str | bytes,
    ec: str = "M",
    *,
    version: int | None = None,
    mask: int | None = None,
) -> np.ndarray:
    """Return the QR symbol for ``data`` as a bool array (True = dark), without quiet zone.

    ``version`` None picks the smallest version that holds the data; an explicit version that
    is too small raises :class:`QRError`. ``mask`` None picks the mask with the lowest penalty.
    """
    ec_bits = _ec_bits(ec)
    segments = _segments(data)
    if version is None:
        version = _choose_version(segments, ec_bits)
    elif not 1 <= version <= 40:
        raise QRError(f"invalid QR version {version} (1 to 40)")
    if mask is not None and mask not in range(8):
        raise QRError(f"invalid mask {mask} (0 to 7)")
    codewords = _codewords(segments, version, ec_bits)

    lay = _layout(version)
    n = lay.size
    bits = np.zeros(len(lay.positions), dtype=bool)
    nb = len(codewords) * 8
    bits[:nb] = np.unpackbits(np.frombuffer(codewords, dtype=np.uint8)).view(bool)

    if mask is None:
        cands = np.empty((8, n * n), dtype=bool)
        cands[:] = lay.template.reshape(-1)
        cands[:, lay.positions] = bits ^ lay.masks
        masked = cands.reshape(8, n, n)
        scores = _penalties_packed(masked) if n <= 64 else _penalties(masked)
        mask = scores.index(min(scores))
        flat = masked[mask].reshape(-1).copy()
    else:
        flat = lay.template.reshape(-1).copy()
        flat[lay.positions] = bits ^ lay.masks[mask]

    fmt = _format_bits(ec_bits, mask)
    flat[lay.format_v] = fmt
    flat[lay.format_h] = fmt
    flat[lay.dark_module] = True
    if len(lay.version_idx):
        flat[lay.version_idx] = lay.version_bits
    matrix: np.ndarray = flat.reshape(n, n)
    return matrix

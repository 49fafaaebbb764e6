"""A zlib stream for mostly-zero chunks, made in time proportional to their non-zeros.

Four-warm encodings are 40 kB per sample with ~40 non-zero floats. zlib's deflate
scans every byte (~60 µs a chunk, a sixth of the time it takes to simulate the
sample); this encoder skips zero words and writes each zero run as one literal plus
distance-1 copies, in a single fixed-Huffman block (RFC 1950/1951). The output is
an ordinary zlib stream: HDF5's gzip filter — in h5py, h5dump, HDFView, netCDF —
inflates it like any other. Chunks go to disk with ``write_direct_chunk``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_ADLER_MOD = 65521
# length codes 257…285 (RFC 1951 §3.2.5): base length and extra bits
_LENGTH_BASE = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51,
                         59, 67, 83, 99, 115, 131, 163, 195, 227, 258], np.int64)
_LENGTH_EXTRA = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4,
                          4, 5, 5, 5, 5, 0], np.int64)


@njit(cache=True)
def _put(out, state, value, n_bits):
    """Append ``n_bits`` of ``value``, least significant first.

    ``state``: byte position, bit buffer, bits in the buffer.
    """
    state[1] |= value << state[2]
    state[2] += n_bits
    while state[2] >= 8:
        out[state[0]] = state[1] & 0xFF
        state[0] += 1
        state[1] >>= 8
        state[2] -= 8


@njit(cache=True)
def _put_code(out, state, code, n_bits):
    """Append a Huffman code, most significant bit first."""
    reversed_code = 0
    for _ in range(n_bits):
        reversed_code = (reversed_code << 1) | (code & 1)
        code >>= 1
    _put(out, state, reversed_code, n_bits)


@njit(cache=True)
def _literal_or_length(out, state, symbol):
    """Fixed Huffman code of literal/length symbol 0…287."""
    if symbol < 144:
        _put_code(out, state, 0x30 + symbol, 8)
    elif symbol < 256:
        _put_code(out, state, 0x190 + symbol - 144, 9)
    elif symbol < 280:
        _put_code(out, state, symbol - 256, 7)
    else:
        _put_code(out, state, 0xC0 + symbol - 280, 8)


@njit(cache=True)
def _copy_previous(out, state, length):
    """A match of ``length`` (3…258) at distance 1: repeat the previous byte."""
    code = 0
    while code < 28 and _LENGTH_BASE[code + 1] <= length:
        code += 1
    _literal_or_length(out, state, 257 + code)
    if _LENGTH_EXTRA[code]:
        _put(out, state, length - _LENGTH_BASE[code], _LENGTH_EXTRA[code])
    _put_code(out, state, 0, 5)  # distance code 0 = distance 1


@njit(cache=True)
def _zero_run(out, state, length):
    _literal_or_length(out, state, 0)
    remaining = length - 1
    while remaining >= 3:
        step = min(remaining, 258)
        if 0 < remaining - step < 3:
            step = remaining - 3  # leave a copyable remainder
        _copy_previous(out, state, step)
        remaining -= step
    for _ in range(remaining):
        _literal_or_length(out, state, 0)


@njit(cache=True)
def sparse_zlib(data):
    """zlib-compress a uint8 array quickly when most of it is zero. Returns uint8 array."""
    out = np.empty(data.shape[0] + data.shape[0] // 4 + 64, np.uint8)  # worst: 9 bits a byte
    return out[:_sparse_zlib_into(out, data)].copy()


@njit(cache=True)
def sparse_zlib_rows(rows):
    """:func:`sparse_zlib` of each row of a 2-D uint8 array, in one call.

    Returns (all streams concatenated, offsets): stream k is out[offsets[k]:offsets[k+1]].
    """
    n_rows, n = rows.shape
    bound = n + n // 4 + 64
    out = np.empty(n_rows * bound, np.uint8)
    offsets = np.zeros(n_rows + 1, np.int64)
    for k in range(n_rows):
        used = _sparse_zlib_into(out[offsets[k]:offsets[k] + bound], rows[k])
        offsets[k + 1] = offsets[k] + used
    return out[:offsets[n_rows]], offsets


@njit(cache=True)
def _sparse_zlib_into(out, data):
    """Write the zlib stream of ``data`` into ``out``; return its length in bytes."""
    n = data.shape[0]
    out[0], out[1] = 0x78, 0x01  # zlib header: deflate, 32 kB window, fastest
    state = np.zeros(3, np.int64)
    state[0] = 2
    _put(out, state, 1, 1)  # BFINAL
    _put(out, state, 1, 2)  # BTYPE = fixed Huffman
    a, b = 1, 0  # Adler-32 over non-zero bytes only; zeros' share is added in closed form
    words = data[: n - n % 8].view(np.uint64)
    run, w, n_words = 0, 0, words.shape[0]
    while w <= n_words:
        if w + 4 <= n_words and (words[w] | words[w + 1] | words[w + 2] | words[w + 3]) == 0:
            run += 32  # four zero words at once: most of a four-warm encoding
            w += 4
            continue
        if w < n_words and words[w] == 0:
            run += 8
            w += 1
            continue
        for i in range(8 * w, min(8 * w + 8, n)):  # a non-zero word, or the tail
            byte = data[i]
            if byte == 0:
                run += 1
                continue
            if run:
                _zero_run(out, state, run)
                run = 0
            _literal_or_length(out, state, byte)
            a = (a + byte) % _ADLER_MOD
            b = (b + np.int64(byte) * (n - i)) % _ADLER_MOD
        w += 1
    if run:
        _zero_run(out, state, run)
    _literal_or_length(out, state, 256)  # end of block
    if state[2]:
        _put(out, state, 0, 8 - state[2])
    b = (b + n) % _ADLER_MOD  # B = n + Σ (n − i)·byte_i
    adler = (b << 16) | a
    for k in range(4):
        out[state[0] + k] = (adler >> (24 - 8 * k)) & 0xFF
    return state[0] + 4

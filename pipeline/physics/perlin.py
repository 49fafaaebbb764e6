"""Perlin noise identical to the ``noise`` package's ``pnoise2``, a whole grid per call.

Same lattice, permutation table, gradient table, fade curve, octave sum and
``repeat``/``base`` handling as ``noise/_perlin.c`` (Casey Duncan, 2008), but in
float64: the C library works in float32, which is the whole of the difference
(tested to 1e-4 against ``noise.pnoise2``).

Why a grid kernel: the report called ``pnoise2`` once per pixel from Python,
~65,000 calls per octave sum. On a regular grid every pixel of one lattice cell
shares its four corner gradients, and the bilinear blend factorises into a per-row
part and a per-column part, so the per-pixel work is a fused multiply-add chain
over contiguous memory that the compiler turns into SIMD.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# noise/_noise.h: PERM (first 256 of its 512 entries; the rest repeat them).
_PERM_256 = np.array(
    [151, 160, 137, 91, 90, 15, 131, 13, 201, 95, 96, 53, 194, 233, 7, 225, 140,
     36, 103, 30, 69, 142, 8, 99, 37, 240, 21, 10, 23, 190, 6, 148, 247, 120,
     234, 75, 0, 26, 197, 62, 94, 252, 219, 203, 117, 35, 11, 32, 57, 177, 33,
     88, 237, 149, 56, 87, 174, 20, 125, 136, 171, 168, 68, 175, 74, 165, 71,
     134, 139, 48, 27, 166, 77, 146, 158, 231, 83, 111, 229, 122, 60, 211, 133,
     230, 220, 105, 92, 41, 55, 46, 245, 40, 244, 102, 143, 54, 65, 25, 63, 161,
     1, 216, 80, 73, 209, 76, 132, 187, 208, 89, 18, 169, 200, 196, 135, 130,
     116, 188, 159, 86, 164, 100, 109, 198, 173, 186, 3, 64, 52, 217, 226, 250,
     124, 123, 5, 202, 38, 147, 118, 126, 255, 82, 85, 212, 207, 206, 59, 227,
     47, 16, 58, 17, 182, 189, 28, 42, 223, 183, 170, 213, 119, 248, 152, 2, 44,
     154, 163, 70, 221, 153, 101, 155, 167, 43, 172, 9, 129, 22, 39, 253, 19, 98,
     108, 110, 79, 113, 224, 232, 178, 185, 112, 104, 218, 246, 97, 228, 251, 34,
     242, 193, 238, 210, 144, 12, 191, 179, 162, 241, 81, 51, 145, 235, 249, 14,
     239, 107, 49, 192, 214, 31, 181, 199, 106, 157, 184, 84, 204, 176, 115, 121,
     50, 45, 127, 4, 150, 254, 138, 236, 205, 93, 222, 114, 67, 29, 24, 72, 243,
     141, 128, 195, 78, 66, 215, 61, 156, 180],
    dtype=np.int64,
)
# The C table is this one twice; indices up to 1023 cover every in-bounds C access
# for any base in 0…255 and keep ours in bounds where C's would not be.
PERM = np.tile(_PERM_256, 4)

# noise/_noise.h: GRAD3, x and y components (grad2 uses only these two).
GRAD_X = np.array([1, -1, 1, -1, 1, -1, 1, -1, 0, 0, 0, 0, 1, -1, 0, 0], dtype=np.float64)
GRAD_Y = np.array([1, 1, -1, -1, 0, 0, 0, 0, 1, -1, 1, -1, 0, 0, -1, 1], dtype=np.float64)


@njit(cache=True)
def _fade(t):
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


@njit(cache=True)
def _axis_lattice(coords, repeat, base, perm):
    """Per coordinate: hashed lower/upper lattice index, fractional part, fade.

    Mirrors noise2's ``i = floor(fmod(x, repeat)); ii = fmod(i + 1, repeat)``.
    """
    n = coords.shape[0]
    lower = np.empty(n, np.int64)
    upper = np.empty(n, np.int64)
    frac = np.empty(n, np.float64)
    fade = np.empty(n, np.float64)
    for k in range(n):
        c = coords[k]
        i = int(np.floor(np.fmod(c, repeat)))
        ii = int(np.fmod(i + 1, repeat))
        lower[k] = (i & 255) + base
        upper[k] = (ii & 255) + base
        frac[k] = c - np.floor(c)
        fade[k] = _fade(frac[k])
    return lower, upper, frac, fade


@njit(cache=True)
def _lattices(coords, octaves, lacunarity, repeat, base, perm):
    """Per octave and coordinate: hashed lattice indices, fraction, fade (octaves × n each)."""
    n = coords.shape[0]
    lower = np.empty((octaves, n), np.int64)
    upper = np.empty((octaves, n), np.int64)
    frac = np.empty((octaves, n), np.float64)
    fade = np.empty((octaves, n), np.float64)
    frequency = 1.0
    for o in range(octaves):
        lower[o], upper[o], frac[o], fade[o] = _axis_lattice(coords * frequency,
                                                            repeat * frequency, base, perm)
        frequency *= lacunarity
    return lower, upper, frac, fade


@njit(cache=True)
def _runs(lower, upper):
    """Per octave: where each run of columns sharing one lattice cell starts (−1 padded)."""
    octaves, n = lower.shape
    starts = np.full((octaves, n + 2), -1, np.int64)
    for o in range(octaves):
        count = 0
        for j in range(n):
            if j == 0 or lower[o, j] != lower[o, j - 1] or upper[o, j] != upper[o, j - 1]:
                starts[o, count] = j
                count += 1
        starts[o, count] = n
    return starts


@njit(cache=True)
def perlin_grid(xs, ys, octaves, persistence, lacunarity, repeat, base):
    """pnoise2(xs[i], ys[j], octaves, persistence, lacunarity, repeat, repeat, base) on a grid.

    ``xs`` (first array axis) and ``ys`` (second) are noise coordinates, float64.
    Returns an array of shape (len(xs), len(ys)).
    """
    out = np.empty((xs.shape[0], ys.shape[0]), np.float64)
    perlin_grid_into(out, xs, ys, octaves, persistence, lacunarity, repeat, base)
    return out


@njit(cache=True)
def perlin_grid_into(out, xs, ys, octaves, persistence, lacunarity, repeat, base):
    """:func:`perlin_grid` into a caller's array, one row at a time through every octave.

    Row-major over all octaves keeps the row in L1 cache (octave-major streamed the
    whole field through memory once per octave). Writing into a caller's buffer avoids
    a large allocation per field: Dask workers set MALLOC_TRIM_THRESHOLD_, which turns
    every large temporary into an mmap/munmap pair and page faults.
    """
    perm, grad_x, grad_y = PERM, GRAD_X, GRAD_Y
    x_lo, x_hi, u, fu = _lattices(xs, octaves, lacunarity, repeat, base, perm)
    y_lo, y_hi, v, fv = _lattices(ys, octaves, lacunarity, repeat, base, perm)
    v_minus = v - 1.0
    starts = _runs(y_lo, y_hi)
    amplitudes = np.empty(octaves, np.float64)
    amplitude = 1.0
    for o in range(octaves):
        amplitudes[o] = amplitude
        amplitude *= persistence
    scale = 1.0 / amplitudes.sum()
    for i in range(xs.shape[0]):
        row = out[i]
        row[:] = 0.0
        for o in range(octaves):
            a = perm[x_lo[o, i]]
            b = perm[x_hi[o, i]]
            ui = u[o, i]
            fi = fu[o, i]
            amp = amplitudes[o]
            v_o, v_minus_o, fv_o = v[o], v_minus[o], fv[o]
            r = 0
            while starts[o, r + 1] >= 0:
                start, stop = starts[o, r], starts[o, r + 1]
                r += 1
                j_lo, j_hi = y_lo[o, start], y_hi[o, start]
                h_aa = perm[perm[a + j_lo]] & 15
                h_ba = perm[perm[b + j_lo]] & 15
                h_ab = perm[perm[a + j_hi]] & 15
                h_bb = perm[perm[b + j_hi]] & 15
                # lerp(fu, g_aa·(u, v), g_ba·(u-1, v)) = p0 + v·q0; likewise the upper row
                p0 = grad_x[h_aa] * ui + fi * (grad_x[h_ba] * (ui - 1.0) - grad_x[h_aa] * ui)
                q0 = grad_y[h_aa] + fi * (grad_y[h_ba] - grad_y[h_aa])
                p1 = grad_x[h_ab] * ui + fi * (grad_x[h_bb] * (ui - 1.0) - grad_x[h_ab] * ui)
                q1 = grad_y[h_ab] + fi * (grad_y[h_bb] - grad_y[h_ab])
                # slices indexed from 0: numba then drops its negative-index checks and
                # LLVM vectorises this loop (4× faster than range(start, stop))
                run, v_run = row[start:stop], v_o[start:stop]
                v_minus_run, fv_run = v_minus_o[start:stop], fv_o[start:stop]
                for j in range(stop - start):
                    n0 = p0 + v_run[j] * q0
                    n1 = p1 + v_minus_run[j] * q1
                    run[j] += amp * (n0 + fv_run[j] * (n1 - n0))
        for j in range(row.shape[0]):
            row[j] *= scale


@njit(cache=True)
def perlin_points(xs, ys, octaves, persistence, lacunarity, repeat, base):
    """pnoise2 at scattered points (xs[k], ys[k]): the reference path, for tests and checks."""
    n = xs.shape[0]
    out = np.empty(n, np.float64)
    one = np.empty(1, np.float64)
    other = np.empty(1, np.float64)
    for k in range(n):
        one[0] = xs[k]
        other[0] = ys[k]
        out[k] = perlin_grid(one, other, octaves, persistence, lacunarity, repeat, base)[0, 0]
    return out

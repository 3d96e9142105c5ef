"""numba kernels that fill arrays allocated by the public functions that call them."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def rasterise_segments(out, r0s, c0s, r1s, c1s, rad0s, rad1s):  # pragma: no cover - compiled
    """Set ``out`` True at every pixel centre within the (linearly tapering) radius of a segment.

    Equivalent to rendering the tube with exact anti-aliased coverage and keeping the
    pixels whose centre lies inside it (coverage >= 0.5 on a straight edge).
    """
    h, w = out.shape
    for k in range(r0s.shape[0]):
        r0, c0, r1, c1 = r0s[k], c0s[k], r1s[k], c1s[k]
        ra, rb = rad0s[k], rad1s[k]
        rmax = max(ra, rb)
        lo_r = max(int(np.floor(min(r0, r1) - rmax)), 0)
        hi_r = min(int(np.ceil(max(r0, r1) + rmax)), h - 1)
        lo_c = max(int(np.floor(min(c0, c1) - rmax)), 0)
        hi_c = min(int(np.ceil(max(c0, c1) + rmax)), w - 1)
        dr, dc = r1 - r0, c1 - c0
        seg2 = dr * dr + dc * dc
        for i in range(lo_r, hi_r + 1):
            for j in range(lo_c, hi_c + 1):
                if seg2 > 0:
                    t = ((i - r0) * dr + (j - c0) * dc) / seg2
                    t = min(max(t, 0.0), 1.0)
                else:
                    t = 0.0
                pr = r0 + t * dr - i
                pc = c0 + t * dc - j
                rad = ra + t * (rb - ra)
                if pr * pr + pc * pc <= rad * rad:
                    out[i, j] = True


@numba.njit(cache=True, nogil=True)
def stamp(out, shape_mask, rows, cols):  # pragma: no cover - compiled
    """OR a small boolean stamp into ``out`` centred at each (row, col), clipped at the borders."""
    h, w = out.shape
    sh, sw = shape_mask.shape
    for k in range(rows.shape[0]):
        top = rows[k] - sh // 2
        left = cols[k] - sw // 2
        for i in range(sh):
            y = top + i
            if y < 0 or y >= h:
                continue
            for j in range(sw):
                x = left + j
                if 0 <= x < w and shape_mask[i, j]:
                    out[y, x] = True

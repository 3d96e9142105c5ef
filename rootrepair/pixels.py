"""8-neighbourhoods and skeletons of pixels, shared by the decoder, the baselines and trait measurement."""
from __future__ import annotations

import numpy as np

OFFSETS8 = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)


def neighbour_counts(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(K,) int: how many of each pixel's 8 neighbours are set in ``mask``; ``pts`` is (K, 2) (row, col).

    Asked at the given pixels only (a skeleton's are far fewer than the image's); pixels
    beyond the edge count as unset.
    """
    padded = np.pad(np.asarray(mask, bool), 1)
    return sum(padded[pts[:, 0] + 1 + dr, pts[:, 1] + 1 + dc].astype(np.int8) for dr, dc in OFFSETS8)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """``skimage.morphology.skeletonize`` of ``mask``, taken on the box around its foreground.

    The same pixels (thinning looks at 3 x 3 neighbourhoods, and the box keeps a 1-px
    background margin wherever the image has one), in the time of the box: a root mask's
    foreground often spans half the image or less.
    """
    from skimage.morphology import skeletonize

    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows):
        r0, r1 = max(rows[0] - 1, 0), rows[-1] + 2
        c0, c1 = max(cols[0] - 1, 0), cols[-1] + 2
        out[r0:r1, c0:c1] = skeletonize(mask[r0:r1, c0:c1])
    return out

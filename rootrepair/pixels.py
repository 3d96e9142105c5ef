"""8-neighbourhoods of pixels, shared by the decoder and trait measurement (numpy only)."""
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

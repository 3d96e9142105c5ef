"""Tiling as pure numpy helpers, kept apart from the network (after cellpose's transforms).

An image is covered by square tiles on a grid of stride ``tile - overlap``; each tile's
output is weighted by a taper window (flat in the middle, a raised-cosine ramp over the
overlap) and the weighted outputs are averaged, so there are no seams. Tiles are laid
out in bands of rows so a caller can finish and hand back one band at a time: memory
stays bounded by a band, not by the image.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def taper_window(tile: int, overlap: int) -> np.ndarray:
    """(tile, tile) float32 weights: 1 in the middle, a raised-cosine ramp over ``overlap`` at each edge.

    The ramp never reaches 0 so every pixel of an image covered by tiles has weight > 0.
    """
    ramp = np.ones(tile, dtype=np.float32)
    if overlap > 0:
        t = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        r = 0.5 - 0.5 * np.cos(np.pi * t)
        ramp[:overlap] = r
        ramp[-overlap:] = r[::-1]
    return np.outer(ramp, ramp)


def grid(length: int, tile: int, stride: int) -> list[int]:
    """Tile starts covering ``[0, length)``; the last tile may run past the end (it is padded)."""
    if length <= tile:
        return [0]
    n = int(np.ceil((length - tile) / stride)) + 1
    return [i * stride for i in range(n)]


def bands(shape: tuple[int, int], tile: int, overlap: int) -> Iterator[tuple[int, list[tuple[int, int]]]]:
    """Yield ``(row_start, [(row, col), ...])``: the tile origins of each band of tiles, top to bottom.

    Origins are relative to an image padded by ``overlap`` on every side (so border
    pixels get full-weight coverage from a tile's middle).
    """
    stride = tile - overlap
    h, w = shape[0] + 2 * overlap, shape[1] + 2 * overlap
    cols = grid(w, tile, stride)
    for r in grid(h, tile, stride):
        yield r, [(r, c) for c in cols]


def padded(image: np.ndarray, tile: int, overlap: int) -> np.ndarray:
    """The image padded with zeros by ``overlap`` on each side and up to the tile grid."""
    stride = tile - overlap
    h, w = image.shape[0] + 2 * overlap, image.shape[1] + 2 * overlap
    rows, cols = grid(h, tile, stride), grid(w, tile, stride)
    H, W = rows[-1] + tile, cols[-1] + tile
    out = np.zeros((H, W), dtype=image.dtype)
    out[overlap : overlap + image.shape[0], overlap : overlap + image.shape[1]] = image
    return out

"""Artificial gaps in masks: square, brush, blob, mix (paper section IV-A) and occlusion.

Every generator is pure numpy, takes a ``np.random.Generator`` (no global state) and
returns ``(corrupted, gaps)``: the mask with the gap pixels set to background, and the
gap shapes themselves (the region removed, foreground or not). Coordinates are always
(row, col); a gap is centred on a foreground pixel so it cuts the structure.

The number of gaps scales with the image area: ``per_patch`` gives the count for a
256 x 256 patch, and an image of k times that area gets k times as many. The defaults
remove about a third of a root patch's foreground with ``mix``, as in the paper.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage as ndi

from rootrepair.errors import RootRepairError

PATCH_AREA = 256 * 256
GAP_KINDS = ("square", "brush", "blob", "mix", "occlusion")


@dataclasses.dataclass(frozen=True)
class GapConfig:
    """Ranges of every gap generator (pixels; counts per 256 x 256 of image)."""

    square_per_patch: tuple[int, int] = (4, 10)
    square_size: tuple[int, int] = (10, 36)
    brush_per_patch: tuple[int, int] = (3, 7)
    brush_vertices: tuple[int, int] = (2, 5)
    brush_step: tuple[float, float] = (10.0, 30.0)
    brush_width: tuple[float, float] = (6.0, 16.0)
    blob_per_patch: tuple[int, int] = (5, 12)
    blob_size: tuple[int, int] = (16, 40)
    clod_per_patch: tuple[int, int] = (2, 4)
    clod_size: tuple[int, int] = (8, 24)
    shadow_bands: tuple[int, int] = (0, 2)  # per image, not per patch
    shadow_width: tuple[int, int] = (4, 12)
    shadow_length: tuple[int, int] = (40, 200)
    fade_per_patch: tuple[int, int] = (1, 3)
    fade_length: tuple[int, int] = (4, 12)
    fade_max_diameter: float = 3.0  # short cuts only where roots are this thin (px)


def _count(rng: np.random.Generator, per_patch: tuple[int, int], shape: tuple[int, int]) -> int:
    scale = shape[0] * shape[1] / PATCH_AREA
    lo, hi = per_patch
    expected = rng.uniform(lo, hi) * scale
    if scale > 4:
        return int(rng.poisson(expected))
    whole = math.floor(expected)  # small images: round up with the probability of the fraction
    return int(whole + (rng.random() < expected - whole))


def _centres(rng: np.random.Generator, mask: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) (row, col) of foreground pixels drawn uniformly; empty when no foreground."""
    fg = np.flatnonzero(mask.ravel())
    if n <= 0 or fg.size == 0:
        return np.empty((0, 2), dtype=int)
    idx = fg[rng.integers(0, fg.size, n)]
    return np.stack(np.unravel_index(idx, mask.shape), axis=1)


def _apply(mask: np.ndarray, gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return mask & ~gaps, gaps


def square_gaps(mask: np.ndarray, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """Axis-aligned squares centred on foreground pixels."""
    mask = _check(mask)
    gaps = np.zeros_like(mask)
    for r, c in _centres(rng, mask, _count(rng, cfg.square_per_patch, mask.shape)):
        s = int(rng.integers(cfg.square_size[0], cfg.square_size[1] + 1))
        top, left = r - s // 2, c - s // 2
        gaps[max(top, 0) : max(top + s, 0), max(left, 0) : max(left + s, 0)] = True
    return _apply(mask, gaps)


def brush_gaps(mask: np.ndarray, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """Free-form brush strokes (after Yu et al.'s free-form masks), starting on the structure.

    Each stroke is a polyline of a few vertices with random angle and step, drawn with a
    round brush of random width.
    """
    from rootrepair._kernels import rasterise_segments

    mask = _check(mask)
    gaps = np.zeros_like(mask)
    segs = []
    for r, c in _centres(rng, mask, _count(rng, cfg.brush_per_patch, mask.shape)):
        width = rng.uniform(*cfg.brush_width)
        pr, pc = float(r), float(c)
        for _ in range(int(rng.integers(cfg.brush_vertices[0], cfg.brush_vertices[1] + 1))):
            ang = rng.uniform(0, 2 * math.pi)
            step = rng.uniform(*cfg.brush_step)
            nr, nc = pr + step * math.sin(ang), pc + step * math.cos(ang)  # row = y = sin
            segs.append((pr, pc, nr, nc, width / 2))
            pr, pc = nr, nc
    if segs:
        a = np.array(segs)
        rasterise_segments(gaps, a[:, 0].copy(), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy(), a[:, 4].copy(), a[:, 4].copy())
    return _apply(mask, gaps)


_BLOB_LIBRARY: list[np.ndarray] | None = None


def blob_library(n: int = 64, size: int = 32, seed: int = 12345) -> list[np.ndarray]:
    """A fixed library of irregular 32 x 32 blobs: smoothed noise, thresholded, largest component."""
    global _BLOB_LIBRARY
    if _BLOB_LIBRARY is not None and len(_BLOB_LIBRARY) == n and _BLOB_LIBRARY[0].shape == (size, size):
        return _BLOB_LIBRARY
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centre = (size - 1) / 2
    radial = np.hypot(yy - centre, xx - centre) / (size / 2)
    blobs = []
    while len(blobs) < n:
        noise = ndi.gaussian_filter(rng.normal(size=(size, size)), sigma=rng.uniform(2.0, 4.0))
        noise = noise / (noise.std() + 1e-9) - 1.8 * radial**2
        blob = noise > np.quantile(noise, rng.uniform(0.55, 0.8))
        labels, k = ndi.label(blob)
        if k == 0:
            continue
        blob = labels == (np.argmax(np.bincount(labels.ravel())[1:]) + 1)
        blobs.append(ndi.binary_fill_holes(blob))
    _BLOB_LIBRARY = blobs
    return blobs


def _rotated_blob(rng: np.random.Generator, size: int) -> np.ndarray:
    lib = blob_library()
    blob = ndi.rotate(lib[int(rng.integers(0, len(lib)))].astype(np.float32), rng.uniform(0, 360), order=1)
    zoom = (size / blob.shape[0], size / blob.shape[1])
    return ndi.zoom(blob, zoom, order=1) > 0.5


def blob_gaps(mask: np.ndarray, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """Irregular blobs from a fixed library, resized and rotated, centred on the structure."""
    from rootrepair._kernels import stamp

    mask = _check(mask)
    gaps = np.zeros_like(mask)
    for r, c in _centres(rng, mask, _count(rng, cfg.blob_per_patch, mask.shape)):
        shape = _rotated_blob(rng, int(rng.integers(cfg.blob_size[0], cfg.blob_size[1] + 1)))
        stamp(gaps, shape, np.array([r]), np.array([c]))
    return _apply(mask, gaps)


def mix_gaps(mask: np.ndarray, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """The union of square, brush and blob gaps, each at 75% of its own rate (about a third of a root patch's foreground removed)."""
    mask = _check(mask)
    share = dataclasses.replace(
        cfg,
        square_per_patch=_share(cfg.square_per_patch),
        brush_per_patch=_share(cfg.brush_per_patch),
        blob_per_patch=_share(cfg.blob_per_patch),
    )
    gaps = np.zeros_like(mask)
    for fn in (square_gaps, brush_gaps, blob_gaps):
        gaps |= fn(mask, rng, share)[1]
    return _apply(mask, gaps)


def _share(r: tuple[int, int]) -> tuple[float, float]:
    return (r[0] * 0.75, r[1] * 0.75)


def occlusion_gaps(mask: np.ndarray, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """Gaps as real rhizotron masks have them.

    - soil clods: irregular blobs over a root,
    - shadow bands: a long thin band at a random angle across the structure,
    - fades: short cuts across thin roots, where a thin root fades into the soil.
    """
    from rootrepair._kernels import rasterise_segments, stamp

    mask = _check(mask)
    gaps = np.zeros_like(mask)
    for r, c in _centres(rng, mask, _count(rng, cfg.clod_per_patch, mask.shape)):
        shape = _rotated_blob(rng, int(rng.integers(cfg.clod_size[0], cfg.clod_size[1] + 1)))
        stamp(gaps, shape, np.array([r]), np.array([c]))
    n_bands = int(rng.integers(cfg.shadow_bands[0], cfg.shadow_bands[1] + 1))
    for r, c in _centres(rng, mask, n_bands):
        ang = rng.uniform(0, math.pi)
        half = rng.uniform(*cfg.shadow_length) / 2
        dr, dc = half * math.sin(ang), half * math.cos(ang)
        w = rng.uniform(*cfg.shadow_width) / 2
        rasterise_segments(gaps, np.array([r - dr]), np.array([c - dc]), np.array([r + dr]), np.array([c + dc]), np.array([w]), np.array([w]))
    thin = mask & (ndi.distance_transform_edt(mask) * 2 - 1 <= cfg.fade_max_diameter)
    thin &= ~ndi.binary_erosion(mask, iterations=2)
    for r, c in _centres(rng, thin, _count(rng, cfg.fade_per_patch, mask.shape)):
        s = int(rng.integers(cfg.fade_length[0], cfg.fade_length[1] + 1))
        disk = np.hypot(*np.mgrid[-s // 2 : s - s // 2, -s // 2 : s - s // 2]) <= s / 2
        stamp(gaps, disk, np.array([r]), np.array([c]))
    return _apply(mask, gaps)


GENERATORS = {
    "square": square_gaps,
    "brush": brush_gaps,
    "blob": blob_gaps,
    "mix": mix_gaps,
    "occlusion": occlusion_gaps,
}


def make_gaps(mask: np.ndarray, kind: str, rng: np.random.Generator, cfg: GapConfig = GapConfig()):
    """Apply the gap generator called ``kind``; see ``GAP_KINDS``."""
    if kind not in GENERATORS:
        raise RootRepairError(f"unknown gap kind {kind!r}; choose one of {', '.join(GAP_KINDS)}")
    return GENERATORS[kind](mask, rng, cfg)


def coverage(mask: np.ndarray, gaps: np.ndarray) -> dict[str, float]:
    """How much a set of gaps removes.

    Returns
    -------
    dict with ``area_share`` (gap pixels / all pixels) and ``foreground_share``
    (foreground pixels inside gaps / foreground pixels; 0 for an empty mask).
    """
    mask, gaps = np.asarray(mask, bool), np.asarray(gaps, bool)
    fg = mask.sum()
    return {
        "area_share": float(gaps.mean()),
        "foreground_share": float((mask & gaps).sum() / fg) if fg else 0.0,
    }


def _check(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise RootRepairError(f"mask must be 2-D, got shape {mask.shape}")
    return mask.astype(bool, copy=False)

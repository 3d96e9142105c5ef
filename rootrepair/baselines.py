"""Classical repairs to compare the networks with: morphological closing and end-point linking."""
from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from rootrepair.errors import RootRepairError


def closing_repair(mask: np.ndarray, *, radius: int = 3) -> np.ndarray:
    """Morphological closing with a disk of ``radius`` px (the input's pixels are all kept)."""
    from skimage.morphology import disk

    if radius < 1:
        raise RootRepairError(f"closing radius must be >= 1, got {radius}")
    mask = np.asarray(mask, bool)
    pad = radius + 1  # closing must not be cut by the image border
    closed = ndi.binary_closing(np.pad(mask, pad), structure=disk(radius))[pad:-pad, pad:-pad]
    return closed | mask


def _end_points(skel: np.ndarray) -> np.ndarray:
    nb = ndi.convolve(skel.astype(np.uint8), np.ones((3, 3), np.uint8), mode="constant") - 1
    return np.argwhere(skel & (nb == 1))


def link_repair(
    mask: np.ndarray,
    *,
    max_distance: float = 30.0,
    max_angle_deg: float = 35.0,
    direction_px: int = 8,
) -> np.ndarray:
    """Connect skeleton end points to nearby structure along their direction.

    For each end point, the direction is the mean step from its own skeleton pixels
    within ``direction_px`` toward the end point. The nearest foreground pixel of *another*
    component within ``max_distance`` px and ``max_angle_deg`` of that direction is linked
    to it by a straight segment drawn with the local root width (twice the distance
    transform at the end point). No candidate: nothing is drawn.
    """
    from skimage.draw import disk, line
    from skimage.morphology import skeletonize

    mask = np.asarray(mask, bool)
    out = mask.copy()
    if not mask.any():
        return out
    labels, _ = ndi.label(mask, structure=np.ones((3, 3), bool))
    skel = skeletonize(mask)
    edt = ndi.distance_transform_edt(mask)
    cos_max = math.cos(math.radians(max_angle_deg))
    h, w = mask.shape
    for r, c in _end_points(skel):
        lab = labels[r, c]
        r0, r1 = max(r - direction_px, 0), min(r + direction_px + 1, h)
        c0, c1 = max(c - direction_px, 0), min(c + direction_px + 1, w)
        local = np.argwhere(skel[r0:r1, c0:c1] & (labels[r0:r1, c0:c1] == lab)) + (r0, c0)
        if len(local) < 2:
            continue
        d = np.array([r, c], float) - local.mean(axis=0)
        norm = np.hypot(*d)
        if norm == 0:
            continue
        d /= norm
        # candidates in a box around the end point
        R0, R1 = max(r - int(max_distance), 0), min(r + int(max_distance) + 1, h)
        C0, C1 = max(c - int(max_distance), 0), min(c + int(max_distance) + 1, w)
        sub = mask[R0:R1, C0:C1] & (labels[R0:R1, C0:C1] != lab)
        cand = np.argwhere(sub) + (R0, C0)
        if not len(cand):
            continue
        v = cand - (r, c)
        dist = np.hypot(v[:, 0], v[:, 1])
        ok = (dist <= max_distance) & (dist > 0)
        ok &= (v @ d) >= cos_max * dist
        if not ok.any():
            continue
        tr, tc = cand[ok][np.argmin(dist[ok])]
        radius = max(edt[r, c] - 0.5, 0.5)
        rr, cc = line(int(r), int(c), int(tr), int(tc))
        for y, x in zip(rr, cc):
            dr, dc = disk((y, x), radius + 0.5, shape=mask.shape)
            out[dr, dc] = True
    return out


BASELINES = {"none": lambda m: np.asarray(m, bool).copy(), "closing": closing_repair, "link": link_repair}

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
    to it by a straight segment drawn with the local root width. No candidate: nothing is
    drawn. The network decoder (``rootrepair.decode``) links along the network's
    probability instead of a straight line, with the same end points, directions and widths.
    """
    from skimage.draw import line

    from rootrepair.decode import draw_path, end_directions, end_points, local_radius
    from rootrepair.pixels import argwhere, skeleton

    mask = np.asarray(mask, bool)
    out = mask.copy()
    if not mask.any():
        return out
    labels, _ = ndi.label(mask, structure=np.ones((3, 3), bool))
    skel = skeleton(mask)
    cos_max = math.cos(math.radians(max_angle_deg))
    h, w = mask.shape
    R = int(max_distance)
    ends = end_points(skel)
    for (r, c), d in zip(ends, end_directions(ends, skel, labels, direction_px)):
        lab = labels[r, c]
        if d is None:
            continue
        R0, R1, C0, C1 = max(r - R, 0), min(r + R + 1, h), max(c - R, 0), min(c + R + 1, w)
        cand = argwhere(mask[R0:R1, C0:C1] & (labels[R0:R1, C0:C1] != lab)) + (R0, C0)
        if not len(cand):
            continue
        v = cand - (r, c)
        dist = np.hypot(v[:, 0], v[:, 1])
        ok = (dist <= max_distance) & (dist > 0) & ((v @ d) >= cos_max * dist)
        if not ok.any():
            continue
        tr, tc = cand[ok][np.argmin(dist[ok])]
        rr, cc = line(int(r), int(c), int(tr), int(tc))
        draw_path(out, rr, cc, local_radius(mask, skel, labels, (r, c), direction_px))
    return out


BASELINES = {"none": lambda m: np.asarray(m, bool).copy(), "closing": closing_repair, "link": link_repair}

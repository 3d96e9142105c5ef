"""QC pictures: what the trait measurement saw, so a person can check it by eye.

White background, the mask in light grey, the skeleton coloured by component (dilated
by one pixel so it shows), tips as red dots, branch points as blue dots, the convex hull
outlined in green.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from rootrepair.traits.measure import SkeletonAnalysis

PALETTE = np.array(
    [
        [31, 119, 180], [255, 127, 14], [44, 160, 44], [148, 103, 189], [140, 86, 75],
        [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207], [174, 199, 232],
        [255, 187, 120], [152, 223, 138], [197, 176, 213], [196, 156, 148], [247, 182, 210],
    ],
    dtype=np.uint8,
)
TIP = (220, 20, 20)
BRANCH = (20, 40, 230)
HULL = (0, 170, 60)


def component_colours(labels: np.ndarray) -> np.ndarray:
    """(M, N, 3) uint8: each component label in its own colour, background white."""
    out = np.full(labels.shape + (3,), 255, np.uint8)
    fg = labels > 0
    out[fg] = PALETTE[(labels[fg] - 1) % len(PALETTE)]
    return out


def _dots(img: np.ndarray, points: np.ndarray, colour, radius: int) -> None:
    from skimage.draw import disk

    for r, c in points:
        rr, cc = disk((r, c), radius, shape=img.shape[:2])
        img[rr, cc] = colour


def draw_qc(a: SkeletonAnalysis) -> np.ndarray:
    """Render a QC picture of one analysed mask.

    Parameters
    ----------
    a : SkeletonAnalysis
        From ``analyse_skeleton``.

    Returns
    -------
    rgb : (M, N, 3) ndarray of uint8
    """
    from skimage.draw import polygon_perimeter

    img = np.full(a.mask.shape + (3,), 255, np.uint8)
    img[a.mask] = (215, 215, 215)
    thick = ndi.binary_dilation(a.skeleton, structure=np.ones((3, 3), bool))
    skel_labels = np.where(thick, ndi.grey_dilation(a.labels * a.skeleton, size=(3, 3)), 0)
    on = skel_labels > 0
    img[on] = PALETTE[(skel_labels[on] - 1) % len(PALETTE)]
    if len(a.hull) >= 3:
        rr, cc = polygon_perimeter(a.hull[:, 0], a.hull[:, 1], shape=img.shape[:2], clip=True)
        img[rr, cc] = HULL
    radius = max(2, int(round(min(a.mask.shape) / 250)))
    _dots(img, a.branch_points, BRANCH, radius)
    _dots(img, a.tips, TIP, radius)
    return img

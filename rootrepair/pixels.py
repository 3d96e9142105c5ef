"""8-neighbourhoods and skeletons of pixels, shared by the decoder, the baselines and trait measurement."""
from __future__ import annotations

import numpy as np

OFFSETS8 = tuple((dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc)


def nonzero(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D array: (rows, cols) of its non-zero pixels, in the same order.

    numpy's 2-D ``nonzero`` is about ten times slower than finding the flat indices and
    dividing by the width (11 ms against 1 ms on a 2500 x 1000 mask here).
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a 2-D array is needed, got shape {mask.shape}")
    flat = np.flatnonzero(mask)
    return np.divmod(flat, max(mask.shape[1], 1))


def argwhere(mask: np.ndarray) -> np.ndarray:
    """``np.argwhere`` of a 2-D array, (K, 2) (row, col), by ``nonzero``'s faster route."""
    rows, cols = nonzero(mask)
    return np.stack([rows, cols], axis=1)


LABEL_SPARSE_MAX_SHARE = 0.01  # label_sparse groups the set pixels themselves up to this share of the image (faster there), else scans it


def point_groups(points: np.ndarray, eight: bool = True) -> tuple[np.ndarray, int]:
    """The connected groups of ``points`` ((K, 2) pixels in row-major order), 8-connected
    (4-connected with ``eight=False``): each point's group, numbered as ``ndi.label`` numbers
    them (by each group's first pixel in row-major order), and their number; from the
    points' own neighbour pairs, not a labelling of the whole image."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    k = len(points)
    if not k:
        return np.zeros(0, np.int64), 0
    w = int(points[:, 1].max()) + 2  # a column of slack: no step wraps round to the next row
    flat = points[:, 0].astype(np.int64) * w + points[:, 1]
    pairs = []
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)) if eight else ((0, 1), (1, 0)):
        target = flat + dr * w + dc
        at = np.minimum(np.searchsorted(flat, target), k - 1)
        hit = flat[at] == target
        pairs.append(np.stack([np.flatnonzero(hit), at[hit]], axis=1))
    a, b = np.concatenate(pairs).T
    n, group = connected_components(coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(k, k)), directed=False)
    return group.astype(np.int64), int(n)


def label_sparse(mask: np.ndarray, structure: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """``scipy.ndimage.label`` of a sparse 2-D mask, the same labels and numbering, faster.

    Where at most ``LABEL_SPARSE_MAX_SHARE`` of the pixels are set, their components are
    found from the set pixels' own neighbour pairs (``point_groups``), not a scan of the
    image: on the decoder's candidate and added pixels (0.1-0.3% of the image) it took
    about 45% of scipy's time; above that share scipy labels the mask. ``structure``: None
    (4-connected, scipy's default) or a 3 x 3 block of ones (8-connected).
    """
    from scipy import ndimage as ndi

    mask = np.asarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"a 2-D array is needed, got shape {mask.shape}")
    eight = structure is not None
    if eight and not np.array_equal(np.asarray(structure, bool), np.ones((3, 3), bool)):
        raise ValueError("structure must be None (4-connected) or a 3 x 3 block of ones (8-connected)")
    flat = np.flatnonzero(mask)
    if len(flat) > LABEL_SPARSE_MAX_SHARE * mask.size:
        return ndi.label(mask, structure=structure)
    group, n = point_groups(np.stack(np.divmod(flat, mask.shape[1]), axis=1), eight)
    labels = np.zeros(mask.shape, np.int32)
    labels.ravel()[flat] = group + 1
    return labels, n


def neighbour_values(image: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(8, K): the values of each pixel's 8 neighbours in ``image``; ``pts`` is (K, 2) (row, col).

    Asked at the given pixels only (a skeleton's or a region's are far fewer than the
    image's); pixels beyond the edge read as 0.
    """
    image = np.asarray(image)
    w = image.shape[1] + 2
    padded = np.zeros((image.shape[0] + 2, w), image.dtype)  # np.pad costs more on small windows
    padded[1:-1, 1:-1] = image
    flat = padded.ravel()
    at = (np.asarray(pts[:, 0], np.intp) + 1) * w + np.asarray(pts[:, 1], np.intp) + 1
    out = np.empty((8, len(pts)), image.dtype)
    for k, (dr, dc) in enumerate(OFFSETS8):
        out[k] = flat.take(at + (dr * w + dc))  # a 1-D take: several times faster than 2-D indexing
    return out


def neighbour_counts(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(K,) int: how many of each pixel's 8 neighbours are set in ``mask``; ``pts`` is (K, 2) (row, col)."""
    return neighbour_values(np.asarray(mask, bool), pts).sum(axis=0, dtype=np.int8)


def grown8(mask: np.ndarray) -> np.ndarray:
    """``mask`` dilated by a 3 x 3 square (each pixel and its 8 neighbours), by shifted ORs:
    a row step, then a column step. Several times faster than ``binary_dilation`` on small windows."""
    mask = np.asarray(mask, bool)
    grown = mask.copy()
    grown[1:] |= mask[:-1]
    grown[:-1] |= mask[1:]
    rows = grown.copy()
    grown[:, 1:] |= rows[:, :-1]
    grown[:, :-1] |= rows[:, 1:]
    return grown


def enclosed(labels: np.ndarray, n: int) -> np.ndarray:
    """Per label 0..n of a labelled background, whether its region reaches no edge of the
    array (a hole); label 0 never."""
    inside = np.ones(n + 1, bool)
    inside[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False
    inside[0] = False
    return inside


# Zhang and Suen's thinning as scikit-image's ``skeletonize`` does it: a pixel's 8 neighbours
# (north-west 1, north 2, north-east 4, east 8, south-east 16, south 32, south-west 64,
# west 128) give a code; the pixel goes in the first sub-iteration where the table says 1
# or 3, in the second where it says 2 or 3 (scikit-image's table, checked pixel for pixel
# against its output in the tests)
_THIN_TABLE = np.zeros(256, np.uint8)
_THIN_TABLE[[3, 6, 11, 12, 14, 131, 134, 143, 159, 161, 194, 198, 207, 227, 231, 243]] = 1
_THIN_TABLE[[24, 26, 56, 62, 63, 96, 104, 108, 126, 176, 192, 224, 248, 249, 252]] = 2
_THIN_TABLE[[7, 10, 15, 28, 30, 31, 40, 60, 112, 120, 124, 130, 135, 160, 193, 195, 199, 225, 240, 241]] = 3
_THIN_GOES = (np.isin(_THIN_TABLE, (1, 3)), np.isin(_THIN_TABLE, (2, 3)))
THIN_OWN_MIN_PX = 2**17  # about 360 x 360: below, scikit-image's thinning is faster (the crossover on root windows here)
THIN_OWN_MAX_SHARE = 0.05  # ... and above this share of foreground (1-4% on root masks' boxes; from about 5% it was no faster on real masks and blobs)


def thin(mask: np.ndarray) -> np.ndarray:
    """``skimage.morphology.skeletonize(mask)`` (Zhang and Suen's thinning): the same pixels, faster on large masks.

    scikit-image scans every pixel of the image in each of the two sub-iterations until
    nothing changes. A pixel can only go when its neighbourhood has changed since it was
    last looked at, so after the first scan ``_thin_border`` looks again only at the
    pixels beside those that just went (2-4x faster on the box of a 2500 x 1000 root mask,
    which thins for many rounds while its border is a small share of it). Below
    ``THIN_OWN_MIN_PX`` pixels scikit-image's scan costs less than that bookkeeping
    (0.04 against 0.6 ms on a 40 x 40 window) and is used (``benchmarks/results/thin_speed.md``);
    so it is where more than ``THIN_OWN_MAX_SHARE`` of the pixels are foreground: most of
    them change in every round, and looking at each one costs as much as scanning all, or
    more (2.6-3.9x on blobs covering 20%, two runs), and about 30 bytes each against
    scikit-image's 2 a pixel.
    """
    mask = np.asarray(mask, bool)
    if mask.ndim != 2:
        raise ValueError(f"a 2-D array is needed, got shape {mask.shape}")
    if not _thins_by_border(mask):
        from skimage.morphology import skeletonize

        return skeletonize(mask) if mask.size else mask.copy()
    return _thin_border(mask)


def _thins_by_border(mask: np.ndarray) -> bool:
    """Whether ``thin`` takes its own way on ``mask``: at least ``THIN_OWN_MIN_PX`` pixels,
    at most ``THIN_OWN_MAX_SHARE`` of them foreground."""
    return mask.size >= THIN_OWN_MIN_PX and np.count_nonzero(mask) <= THIN_OWN_MAX_SHARE * mask.size


def thin_again(skeleton: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``thin(skeleton)`` where ``skeleton`` is ``thin``'s output less the pixels at
    (``rows``, ``cols``): thinning stopped where no pixel could go, so only the neighbours
    of those pixels can go now, and only they are looked at (not the whole skeleton)."""
    skeleton = np.asarray(skeleton, bool)
    if not len(rows) or not _thins_by_border(skeleton):
        return thin(skeleton)
    return _thin_border(skeleton, (np.asarray(rows, np.intp), np.asarray(cols, np.intp)))


def _thin_border(mask: np.ndarray, changed: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """``thin`` of a 2-D bool mask by looking again only at the pixels beside those that went;
    with ``changed`` (rows, cols), first only at those pixels' neighbours (``thin_again``)."""
    h, w = mask.shape
    if not mask.any():
        return np.zeros((h, w), bool)
    W = w + 2
    img = np.zeros((h + 2) * W, np.uint8)  # a 1-px frame of background: no edge cases
    img.reshape(h + 2, W)[1:-1, 1:-1] = mask
    steps = np.array([-W - 1, -W, -W + 1, 1, W + 1, W, W - 1, -1], np.intp)  # in the code's bit order
    if changed is None:
        look = np.flatnonzero(img)
    else:
        at = (changed[0] + 1) * W + changed[1] + 1
        look = np.unique((at[:, None] + steps[None, :]).ravel())
        look = look[img[look] == 1]
    which, idle = 0, 0
    while idle < 2 and len(look):  # two sub-iterations in a row removed nothing: done
        code = img[look + steps[0]].copy()
        for bit in range(1, 8):
            code |= img[look + steps[bit]] << bit
        goes = _THIN_GOES[which][code]
        which ^= 1
        movable = _THIN_TABLE[code] != 0  # 0: stays whatever the sub-iteration, until a neighbour goes
        if not goes.any():
            idle += 1
            look = look[movable]
            continue
        idle = 0
        gone = look[goes]
        img[gone] = 0
        kept = look[movable & ~goes]
        beside = (gone[:, None] + steps[None, :]).ravel()
        beside = beside[img[beside] == 1]
        img[kept] = 2  # marked: a pixel beside one that went and kept anyway is looked at once
        beside = np.unique(beside[img[beside] == 1])  # sorting only the new ones, a few per pixel gone
        img[kept] = 1
        look = np.concatenate([kept, beside])
    return img.reshape(h + 2, W)[1:-1, 1:-1].astype(bool)


def skeleton(mask: np.ndarray) -> np.ndarray:
    """``thin`` (``skimage.morphology.skeletonize``) of ``mask``, taken on the box around its foreground.

    The same pixels (thinning looks at 3 x 3 neighbourhoods, and the box keeps a 1-px
    background margin wherever the image has one), in the time of the box: a root mask's
    foreground often spans half the image or less.
    """
    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, bool)
    box = foreground_box(mask, 1)
    if box is not None:
        out[box] = thin(mask[box])
    return out


def foreground_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, slice] | None:
    """The box around the mask's set pixels widened by ``margin`` px (within the image); None when none is set."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    h, w = mask.shape
    return (slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)),
            slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)))

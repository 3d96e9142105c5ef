"""Turning the network's foreground probability into a repaired mask.

The network says where gaps probably are; this module decides what a repair may add.
Pure numpy / scipy / scikit-image: no torch, so it can be tested and reused on its own.

Two decoders:

- ``threshold`` (the paper's rule): foreground wherever the probability exceeds
  ``threshold``. Kept for reproducing the paper; on real masks it extends nearly every
  root tip and leaves specks beside roots, each a new component.
- ``topology`` (the default): an addition must join pieces of the input.

  1. *Bridges, with hysteresis.* Candidate pixels are those outside the input with
     probability above ``low``; a connected region of candidates is kept only if it
     holds a seed pixel above ``high`` and touches two or more input components of at
     least ``min_piece_px`` pixels (smaller pieces are specks, and a repair must not
     join specks to roots; in a mask drawn as 1-2 px lines, where under 5% of the
     pixels have all four 4-neighbours in the mask, a smaller component that is a line
     at least ``LINE_PIECE_PX`` long is a piece too: a stretch of a 1-px root left between
     two gaps). A smaller piece inside the region is part of it (a fragment
     left in the gap), so it neither splits the region nor blocks the path. The path is
     drawn at the joined roots' width, and never covers more than their width times its
     length. ``bridge_fill_level`` (off by default) instead adds the region's pixels above
     it to the path. Measured at 0.7 against the band (n = 20 per setting, 8 settings):
     it beat ``link`` on all five measures at once in 6 settings instead of 4, with fewer
     false-positive pixels per gap pixel in all 8 and fewer truth pieces left split, and
     in 9 of 12 settings of masks unlike the training data instead of 7; but where the
     network is confident beside the roots, the whole region is filled and the roots are
     thickened along it (a stand-in network sure of every pixel within 2 px of a 1-px line:
     382 pixels added to bridge a 2-px cut, where the band adds 2), and on
     31 real switchgrass masks the length error rose (0.170 -> 0.193), so the band stays
     the default. What the fill gained was mostly joins of fragments in the region, which
     ``bridge_fragment_level`` (0.5, the threshold) makes without the fill: a fragment
     in a drawn region that the bridge does not touch (a piece of a lateral, or of the
     root, left beside the path) joins it along a 1-px least-cost path through the
     region's pixels above that level. Measured against the band alone (n = 20 per setting,
     8 settings): component improvement up in 6 settings (clean fibrous occlusion 0.966
     -> 0.977, Betti-0 3.85 -> 2.55; noisy fibrous mix 0.961 -> 0.985), false positives per
     gap pixel within 0.003, and it beat ``link`` on all five measures at once in 6
     settings instead of 4; but 0.4-0.9 more false joins per noisy mask, and on noisy
     occlusion gaps, where the repair already joins some truth-separate pieces, its
     component count falls further below the truth's (improvement 0.978 -> 0.971 and
     0.970 -> 0.940, still far above ``link``'s 0.73 and 0.59).
  2. *Probability-guided linking.* Every remaining skeleton end point of a piece of at
     least ``min_piece_px`` pixels looks for another such piece within ``link_radius``
     px; so does the end of a fragment of at least ``link_fragment_px`` pixels that
     continues a root's line (a piece's end within ``link_radius`` px points at it and it
     runs the same way, within ``link_angle_deg``: a speck beside a root does not). The
     least-cost path through ``-log p`` (``skimage.graph.MCP_Geometric``) runs from
     the end to any pixel of another piece. The path is accepted when the geometric mean
     probability of the pixels it adds is at least ``link_min_prob`` and the target lies
     within ``link_angle_deg`` of the end's direction; a fragment or speck (a piece under
     ``min_piece_px``) is a target only within ``link_fragment_deg`` (the network often
     draws a faint, curved trail from a root's end to a speck in the soil: on noisy masks
     a 45-degree cone joined about 13 truth-separate pieces per fibrous mask, 20 degrees
     about 9.5, at little cost on clean ones). Each accepted link joins two
     pieces that were not yet joined (so it lowers the component count by one), and is
     drawn with the root's local width at the end, never wider than the target's.
  3. *Facing ends* (``link_facing``, on by default because the evaluation says it helps
     on clean and noisy masks): two end points of pieces not yet joined that lie within
     ``link_radius`` px and each within ``link_angle_deg`` of the other's direction are
     joined by a straight segment at the narrower root's width, nearest pairs first. This
     is classical gap closing for gaps where the network has no opinion. Two such ends of
     pieces that are already joined, farther off through other roots (a cut in a root of
     a dense, crossing system), are joined too when they lie within ``link_loop_px`` px
     and are separate pieces within ``BRIDGE_REACH_PX`` px of them: at most 3 px apart
     whatever the probability, farther only where the geometric mean probability of the
     added pixels is at least ``link_min_prob``; each end once. Such a cut changes no
     component count, but leaves two false tips and a missing stretch of length.
     (An end's direction comes from the skeleton pixels joined to it within
     ``direction_px`` px, not every pixel of its component there: the other side of such
     a cut would turn it.) Measured on development seeds (n = 8 per setting, base-32
     default): tips error on masks drawn from traces 1 px wide with occlusion gaps 0.222 ->
     0.123 (fibrous) and 0.051 -> 0.021 (chickpea); on the usual synthetic masks, fibrous
     occlusion 0.091 -> 0.051, noisy 0.052 -> 0.024, but noisy chickpea occlusion 0.031
     -> 0.039 (two joins there, one false); false positives per gap pixel within +0.006,
     components unchanged; on 31 real switchgrass masks (3 changed) false positives 0.283
     -> 0.286, length error 0.104 -> 0.108.
  4. *Pointing ends* (``link_pointing_px``, ``link_pointing_deg``): an end joined
     straight to the side of another piece just ahead of it (a lateral cut off near its
     parent).
  5. *The rest of a tip* (``link_fragment_near_px``): a root's end joined to the nearest
     fragment within that many px, whatever its direction, when the geometric mean
     probability of the pixels between them is above ``threshold``: a tip's last pixels
     beyond a short gap are too small to have a direction, and were the largest share of
     the components left on clean fibrous masks with occlusion gaps.
  6. *Notches* (``notch_px``, ``notch_level``): where an occluder bit into a root's side
     without cutting it, pixels the network is confident about (above ``notch_level``)
     inside the mask's closing with a disc of ``notch_px`` px fill the notch, provided
     each group touches one root only (``notches``). On clean occlusion gaps (n = 20 per
     preset) this raised gap recall from 0.63 to 0.71 (chickpea) and 0.57 to 0.64
     (fibrous) for 0.005-0.012 more false-positive pixels per gap pixel, and lowered the
     tips error (0.034 -> 0.030, 0.105 -> 0.093); on 31 real switchgrass masks with
     occlusion gaps, gap recall 0.25 -> 0.36, tips error 0.28 -> 0.23, length error
     0.21 -> 0.19. Components are never changed by it. In the region of a gap that a
     bridge joined, pixels above ``notch_gap_level`` (0.6) count as sure too: the bridge is
     drawn at the width of the roots it joins, and where a thin occluder cut a lump or a
     thick, uneven root, the rest of the cut stays as slits beside the bridge, loops in the
     skeleton (31 real switchgrass masks with occlusion gaps: length error 0.186 -> 0.170,
     tips error 0.227 -> 0.202; synthetic masks: gap recall up in all 8 settings, false
     positives per gap pixel up 0.004-0.05). A root under 1.5 px wide gets no notch fill
     (any bite cuts it; on masks traced 1 px wide the fill only thickened the roots at
     their bends and junctions: with occlusion gaps, n = 8 per preset, false
     positives per gap pixel 0.465 -> 0.269 (chickpea) and 0.831 -> 0.289 (fibrous, above
     ``link``'s 0.750 before), gap recall 0.713 -> 0.679 and 0.601 -> 0.530, components
     and length unchanged, tips error 0.022 -> 0.023 and 0.087 -> 0.107; on the usual
     synthetic masks, where some laterals are 1 px wide, false positives fell by
     0.001-0.005 and recall by at most 0.005, n = 20 per setting).
  7. *Holes* (``hole_px``): a hole left inside one root (an occluder smaller than a thick
     root's width punches one; a notch fill that takes only a hole's confident pixels
     leaves a smaller one) is a loop in the skeleton, length and tips the root does not
     have. It is filled whole where it lies wholly inside the mask's closing with a disc of
     ``hole_px`` px, the root around it is at least 1.5 px wide, and either its mean
     probability is above ``threshold`` or it is a puncture of 3 px or more: filled, the
     root is no wider there than 1.1 times its width a little farther off (``root_holes``).
     A loop between crossing roots is wider than that closing, or drawn by 1-px roots, or,
     filled, wider than the roots by its own width; the 1-2 px holes a trace leaves where
     two traced roots cross are left to the network. On 31 real switchgrass masks with
     occlusion gaps: length error 0.169 -> 0.147, tips error 0.201 -> 0.192, false positives
     per gap pixel 0.209 -> 0.210 (the probability alone: 0.160 and 0.185; punctures of any
     size: 0.143, but on 4 fibrous masks traced 5 px wide 536 holes of the trace filled,
     not 27; any hole inside the closing, whatever its shape: 0.093, but false positives on
     clean fibrous occlusion 0.123 -> 1.613, true loops filled); on synthetic masks (8
     settings, n = 6 each) components and length unchanged, false positives up 0-0.010
     (most on noisy fibrous occlusion, whose truth keeps the noise's holes), tips error
     within 0.002 (scratch A/Bs on the same probabilities).
  8. Added regions that touch no input pixel are dropped: never an isolated speck.

With ``mode="add"`` every input pixel is kept; ``mode="replace"`` also drops input
pixels whose probability is below ``threshold`` (the network's own clean-up).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import ndimage as ndi

from rootrepair.errors import RootRepairError
from rootrepair.pixels import OFFSETS8, argwhere, enclosed, foreground_box, grown8, label_sparse, neighbour_counts, nonzero, skeleton, thin

EIGHT = np.ones((3, 3), bool)
DECODERS = ("topology", "threshold")
LOOP_SURE_PX = 4.0  # px between facing ends of pieces joined elsewhere (a cut of up to 3 px): joined whatever the probability
FRAGMENT_REACH_PX = 4.0  # an end is joined to a fragment straight ahead across at most this gap
BRIDGE_REACH_PX = 10  # a bridge judges the pieces it joins within this many px of its region
MAX_ITEMS_PER_MP = 5000  # candidate bridges, root ends, notch candidates or holes per megapixel, at most
MIN_ITEMS_LIMIT = 2000  # ... and never fewer than this on a small image
NOTCH_MIN_WIDTH = 1.5  # px: a notch is filled only in a root at least this wide (area per skeleton pixel)
WIDEN_PAD_PX = 0.25  # a bridge widens up to the joined roots' half width plus this, within their area


class TooMuchToRepair(RootRepairError):
    """The mask has far more pieces, ends or holes than a mask of roots (a mask of noise, a
    checkerboard): each is looked at on its own, so decoding it would take hours.

    Root masks have at most several hundred of each per megapixel: on 64 synthetic
    development masks (both presets, occlusion and mixed gaps, with and without segmentation
    noise) and 31 real annotated ones, notch candidates up to 665, holes 381, root ends 251,
    candidate bridges 249. A limit of ``MAX_ITEMS_PER_MP`` per megapixel (``MIN_ITEMS_LIMIT``
    at least) leaves them far below it.
    """


def _at_most(count: int, what: str, shape: tuple[int, int]) -> None:
    """Raise ``TooMuchToRepair`` when ``count`` items of kind ``what`` exceed the limit for an image of ``shape``."""
    limit = max(MIN_ITEMS_LIMIT, int(MAX_ITEMS_PER_MP * shape[0] * shape[1] / 1e6))
    if count > limit:
        raise TooMuchToRepair(f"{count:,} {what}, more than a mask of roots has (at most {limit:,} here, "
                              f"{MAX_ITEMS_PER_MP:,} per megapixel). Is it a mask of roots?")


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
    """How a probability becomes a mask; recorded in the manifest and the model card."""

    decoder: str = "topology"  # topology (joins pieces only) or threshold (the paper's rule)
    threshold: float = 0.5  # threshold decoder's level; the seed level of a bridge
    low: float = 0.3  # a bridge continues through pixels above this (hysteresis)
    min_piece_px: int = 10  # input components smaller than this are specks: never joined
    link_radius: float = 40.0  # px searched from an end point for another piece
    link_min_prob: float = 0.2  # geometric mean probability along the pixels a link adds
    link_angle_deg: float = 45.0  # target within this angle of the end's direction
    link_facing: bool = True  # also join two end points that face each other, whatever the probability
    link_loop_px: float = 15.0  # facing ends of pieces already joined elsewhere are joined too within this many px (0: off)
    link_pointing_px: float = 20.0  # also join an end to another piece's side straight ahead within this many px (0: off)
    link_pointing_deg: float = 30.0  # ... within this angle of the end's direction
    link_small_pieces: bool = True  # pieces under min_piece_px may be link targets (fragments left inside a gap; also specks)
    link_fragment_px: int = 3  # a fragment of at least this many px that continues a root's line links onward too (0: off; needs link_small_pieces)
    link_past_specks: bool = True  # a link that would end in a piece under link_fragment_px goes on through it to a piece beyond, where one is ahead
    direction_px: int = 10  # skeleton px behind an end point that give its direction
    link_fragment_near_px: float = 10.0  # join a root's end to a fragment this close where the network calls the way root (0: off)
    link_fragment_deg: float = 20.0  # a fragment farther off is a link target only within this angle of the end's direction
    notch_px: int = 5  # fill notches: confident pixels inside the mask's closing with a disc of this radius (0: off)
    notch_level: float = 0.8  # ... where the probability exceeds this
    notch_gap_level: float = 0.6  # ... or this, in the region of a gap that a bridge joined (0: off)
    bridge_fill_level: float = 0.0  # > 0: a bridge takes its region's pixels above this instead of a band of the joined roots' width
    bridge_fragment_level: float = 0.5  # a fragment in a bridge's region joins the bridge through the region's pixels above this (0: off)
    hole_px: int = 5  # fill a hole left inside one root (within its closing with a disc of this radius) where its mean probability is above threshold or it is a puncture (0: off)

    def __post_init__(self):
        if self.decoder not in DECODERS:
            raise RootRepairError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if not 0.0 < self.threshold < 1.0:
            raise RootRepairError(f"threshold must be between 0 and 1, got {self.threshold}")
        if not 0.0 < self.low <= self.threshold:
            raise RootRepairError(f"low ({self.low}) must be above 0 and at most the threshold ({self.threshold})")
        if not 0.0 < self.link_min_prob < 1.0:
            raise RootRepairError(f"link_min_prob must be between 0 and 1, got {self.link_min_prob}")
        if self.min_piece_px < 1 or self.link_radius < 0 or self.direction_px < 2:
            raise RootRepairError("min_piece_px >= 1, link_radius >= 0 and direction_px >= 2 are needed")
        if self.link_fragment_px < 0:
            raise RootRepairError(f"link_fragment_px must be >= 0, got {self.link_fragment_px}")
        for name in ("link_angle_deg", "link_pointing_deg", "link_fragment_deg"):
            if not 0.0 < getattr(self, name) <= 90.0:
                raise RootRepairError(f"{name} must be in (0, 90], got {getattr(self, name)}")
        if self.link_pointing_px < 0 or self.link_fragment_near_px < 0 or self.link_loop_px < 0:
            raise RootRepairError("link_pointing_px, link_fragment_near_px and link_loop_px must be >= 0 (0: off)")
        if self.notch_px < 0 or not 0.0 < self.notch_level < 1.0:
            raise RootRepairError(f"notch_px must be >= 0 (0: off) and notch_level in (0, 1), got {self.notch_px}, {self.notch_level}")
        if not 0.0 <= self.bridge_fragment_level < 1.0:
            raise RootRepairError(f"bridge_fragment_level must be in [0, 1) (0: off), got {self.bridge_fragment_level}")
        if not 0.0 <= self.notch_gap_level < 1.0:
            raise RootRepairError(f"notch_gap_level must be in [0, 1) (0: off), got {self.notch_gap_level}")
        if self.hole_px < 0:
            raise RootRepairError(f"hole_px must be >= 0 (0: off), got {self.hole_px}")


def decode(mask: np.ndarray, prob: np.ndarray, settings: DecodeSettings = DecodeSettings(), *, mode: str = "add") -> np.ndarray:
    """The repaired mask from the input mask and the network's probability.

    Parameters
    ----------
    mask : (M, N) ndarray of bool
        The input mask.
    prob : (M, N) ndarray of float
        The network's foreground probability for ``mask``.
    settings : DecodeSettings
    mode : {"add", "replace"}
        ``add`` keeps every input pixel.

    Returns
    -------
    repaired : (M, N) ndarray of bool

    Raises
    ------
    TooMuchToRepair
        The topology decoder met far more pieces, ends or holes than a mask of roots has.
    """
    mask = np.asarray(mask, bool)
    prob = np.asarray(prob, np.float32)
    if mask.shape != prob.shape:
        raise RootRepairError(f"mask {mask.shape} and probability {prob.shape} differ in shape")
    if mode not in ("add", "replace"):
        raise RootRepairError(f"mode must be add or replace, got {mode!r}")
    if settings.decoder == "threshold":
        added = (prob > settings.threshold) & ~mask
    else:
        added = np.zeros(mask.shape, bool)
        box = _around_foreground(mask, settings)
        if box is not None:
            added[box] = _topology(mask[box], prob[box], settings)
    kept = mask if mode == "add" else mask & (prob > settings.threshold)
    return kept | added


def _topology(mask: np.ndarray, prob: np.ndarray, settings: DecodeSettings) -> np.ndarray:
    """The pixels the topology decoder adds: steps 1-8 of the module's description."""
    gap_level = settings.notch_gap_level if settings.notch_px and settings.notch_gap_level else None
    added, rest = _bridges(mask, prob, high=settings.threshold, low=settings.low, min_piece_px=settings.min_piece_px,
                           fragments=settings.link_small_pieces, rest_above=gap_level, fill_above=settings.bridge_fill_level,
                           fragment_above=settings.bridge_fragment_level)
    added |= link_ends(mask | added, prob, settings)
    if settings.notch_px:
        added |= notches(mask | added, prob, settings.notch_px, settings.notch_level, settings.min_piece_px, also=rest,
                         hole_level=settings.low)
    if settings.hole_px:
        added |= root_holes(mask | added, prob, settings.hole_px, settings.threshold)
    return _touching(added, mask)


def _around_foreground(mask: np.ndarray, settings: DecodeSettings) -> tuple[slice, slice] | None:
    """The box around the mask's foreground widened by as far as any step looks beyond a root
    (a link's search radius twice over, a bridge's and a notch's margins); None for an empty mask.

    Every addition touches the mask, and every step works in windows around roots, their
    ends and the regions that touch them, so decoding the box gives the whole image's
    result (a candidate region reaching farther than the margin is cut at it), in the box's time.
    """
    margin = 2 * int(math.ceil(max(settings.link_radius, settings.link_pointing_px))) + 4 * settings.notch_px + 32
    return foreground_box(mask, margin)


# --------------------------------------------------------------------- bridges


def _piece_labels(mask: np.ndarray, min_piece_px: int) -> tuple[np.ndarray, np.ndarray]:
    """8-connected labels of ``mask`` and, per label, whether it is a piece (not a speck).

    A component of ``min_piece_px`` or more pixels is a piece. In a mask drawn as lines
    (roots 1-2 px wide, as a trace drawn at one pixel gives) a smaller component is a piece
    too when it is a line at least ``LINE_PIECE_PX`` long: a 7-px stretch of a 1-px root left
    between two gaps is as much a root as a 10-px blob of a wide one.
    """
    mask = np.asarray(mask, bool)
    labels, n = ndi.label(mask, structure=EIGHT)
    area = np.bincount(labels[mask], minlength=n + 1)  # foreground only: a fraction of the pixels
    big = area >= min_piece_px
    if _drawn_as_lines(mask):
        big |= _line_like(labels, area, min_piece_px)
    big[0] = False
    return labels, big


LINE_PIECE_PX = 5  # px: the shortest line that is a piece in a mask drawn as lines
LINES_MAX_CORE = 0.05  # a mask is drawn as lines when under this share of its pixels has all 4 neighbours in it


def _drawn_as_lines(mask: np.ndarray) -> bool:
    """Whether the mask's roots are 1-2 px lines: almost none of its pixels is inside a root
    (has all four 4-neighbours in the mask). Synthetic masks with roots of 3 px and more have
    12-35% such pixels, the real switchgrass masks 50-86%, a trace drawn at 1 px none."""
    n = int(np.count_nonzero(mask))
    if not n:
        return False
    core = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    return int(np.count_nonzero(core)) < LINES_MAX_CORE * n


def _line_like(labels: np.ndarray, area: np.ndarray, min_piece_px: int) -> np.ndarray:
    """Per label: a component under ``min_piece_px`` px that is a line (at most 1.5 px per px
    of its longer side) at least ``LINE_PIECE_PX`` long."""
    out = np.zeros(len(area), bool)
    small = np.flatnonzero((area > 0) & (area < min_piece_px))  # area[0] is 0: labels of the foreground only
    if not len(small):
        return out
    slices = ndi.find_objects(labels, max_label=int(small.max()))
    for i in small:
        sl = slices[i - 1]
        extent = max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
        out[i] = extent >= LINE_PIECE_PX and area[i] <= 1.5 * extent
    return out


def _lookup(labels: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``np.isin(labels, wanted)`` for non-negative integer labels, by a table (several times faster)."""
    table = np.zeros(int(max(labels.max(initial=0), np.max(wanted, initial=0))) + 1, bool)
    table[wanted] = True
    return table[labels]


def _on_labels(labels: np.ndarray, table: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``table[labels]`` (bool, ``table[0]`` False) looked up on the pixels of ``where``
    (``labels > 0`` as a bool array) only: the same array, in a sixth of the time on a sparse mask."""
    flat = np.flatnonzero(where)
    out = np.zeros(labels.shape, bool)
    out.ravel()[flat] = table[labels.ravel()[flat]]
    return out


def _pixel_boxes(ids: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labels ``ids`` of the pixels at (``rows``, ``cols``), sorted and unique, and (K, 4)
    int the box of each one's pixels: (first row, last row + 1, first column, last column + 1),
    as ``ndi.find_objects`` gives them, from those pixels only, not a scan of the whole array."""
    if not len(ids):
        return ids[:0], np.zeros((0, 4), np.int64)
    order = np.argsort(ids, kind="stable")
    s, r, c = ids[order], rows[order], cols[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    return s[first], np.stack([np.minimum.reduceat(r, first), np.maximum.reduceat(r, first) + 1,
                               np.minimum.reduceat(c, first), np.maximum.reduceat(c, first) + 1], axis=1)


def _labels_beside(own: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The non-zero labels on ``own``'s pixels and their 8 neighbours (sorted, unique), i.e.
    ``labels`` under the 8-connected dilation of ``own``, gathered at its pixels only."""
    found = np.unique(labels[grown8(own)])
    return found[found > 0]


def _median(values: np.ndarray) -> float:
    """``np.median`` of a small 1-D array, without its overhead (the same value: the middle
    one, or the mean of the two middle ones)."""
    v = np.sort(values)
    n = len(v)
    return float(v[n // 2]) if n % 2 else float((v[n // 2 - 1] + v[n // 2]) / 2)


def _neighbour_pairs(region: np.ndarray, labels: np.ndarray, where: np.ndarray | None = None,
                     wanted: np.ndarray | None = None) -> np.ndarray:
    """(K, 2) unique (region id, label) pairs of 8-adjacent pixels, both non-zero.
    ``where``: ``region > 0`` as a bool array, when the caller has it (nonzero is faster on bools).
    ``wanted``: per label, whether it counts (False for 0); the others are taken as 0."""
    rr, cc = nonzero(region if where is None else where)
    ids = region[rr, cc]
    h, w = labels.shape
    pairs = []
    for dr, dc in OFFSETS8:
        r2, c2 = rr + dr, cc + dc
        ok = (r2 >= 0) & (r2 < h) & (c2 >= 0) & (c2 < w)
        lab = labels[r2[ok], c2[ok]]
        hit = lab > 0 if wanted is None else wanted[lab]
        pairs.append(np.stack([ids[ok][hit], lab[hit]], axis=1))
    if not pairs:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def bridges(mask: np.ndarray, prob: np.ndarray, *, high: float = 0.5, low: float = 0.3, min_piece_px: int = 10,
            reach: int = BRIDGE_REACH_PX, fragments: bool = True) -> np.ndarray:
    """(M, N) bool: the candidate regions that join two or more pieces of ``mask``, redrawn.

    A candidate region is a connected region of pixels outside ``mask`` with probability
    above ``low``; it is kept when its peak probability exceeds ``high`` and it touches at
    least two pieces of the input *near it*: the input components of ``min_piece_px``
    pixels or more, cut to the region's bounding box widened by ``reach`` + 2 px. Judging
    pieces locally matters where roots cross: the two sides of a gap are then often one
    component through another root, yet the region still joins them; a region that only
    lengthens a tip or hugs one root's edge touches one local piece and is dropped. Where
    the local pieces are one component (they meet elsewhere), a root must end at the
    region (a skeleton end point within 3 px), so a region between two roots passing
    each other is not taken for a gap. With ``fragments``, input components under
    ``min_piece_px`` count as part of the regions they touch, so a fragment left inside a
    gap does not cut the gap's region in two, and a path may run through it.
    """
    return _bridges(mask, prob, high=high, low=low, min_piece_px=min_piece_px, reach=reach, fragments=fragments)[0]


def _bridges(mask, prob, *, high, low, min_piece_px, fragments, reach: int = BRIDGE_REACH_PX, rest_above: float | None = None,
             fill_above: float = 0.0, fragment_above: float = 0.0):
    """``bridges`` and, with ``rest_above``, the pixels of the drawn regions (outside
    ``mask``) whose probability exceeds it: the rest of the gaps the bridges joined (else None).
    With ``fill_above`` > 0 a drawn region's pixels above it join its path instead of a band
    of the joined roots' width. With ``fragment_above`` > 0 the fragments in a drawn region
    are joined to it (``_join_fragments``)."""
    mask = np.asarray(mask, bool)
    labels, big = _piece_labels(mask, min_piece_px)
    pieces = _on_labels(labels, big, mask)
    fresh = (prob > low) & ~mask
    # fragments (input components under min_piece_px) belong to the regions they touch: a
    # fragment left inside a gap would otherwise cut the gap's region in two halves, each
    # touching one piece, and neither would be kept
    cand = fresh | (mask & ~pieces) if fragments else fresh
    region, n = label_sparse(cand, EIGHT)
    if not n:
        return np.zeros(mask.shape, bool), None if rest_above is None else np.zeros(mask.shape, bool)
    touched = np.bincount(_neighbour_pairs(region, labels, cand, wanted=big)[:, 0], minlength=n + 1)  # pieces per region
    rows, cols = nonzero(cand)  # the regions' pixels: a small share of the image
    at_region, at_prob = region[rows, cols], prob[rows, cols]
    keep = np.zeros(n + 1, bool)
    keep[np.unique(at_region[~mask[rows, cols] & (at_prob > high)])] = True  # seeded by the network, never by a fragment
    keep &= touched >= 1
    keep[0] = False
    ids = np.flatnonzero(keep)
    _at_most(len(ids), "candidate bridges", mask.shape)
    # the most probable region first: where a second region joins the same pieces near it,
    # it would close a small loop (a ladder's second rung) and is left out
    if len(ids):
        sums = np.bincount(at_region, at_prob.astype(np.float64), minlength=n + 1)
        ids = ids[np.argsort(-sums[ids] / np.bincount(at_region, minlength=n + 1)[ids], kind="stable")]
    return _bridge_paths(mask, pieces, prob, region, ids, touched >= 2, reach, high, rest_above, fill_above, fragment_above)


def _bridge_paths(mask, pieces, prob, region, ids, joins_components, reach: int = BRIDGE_REACH_PX, high: float = 0.5,
                  rest_above: float | None = None, fill_above: float = 0.0, fragment_above: float = 0.0) -> tuple[np.ndarray, np.ndarray | None]:
    """Each region that joins local pieces, redrawn as its most probable paths between them.

    The network's probability is often wider than the root across a gap, and a repair
    must not be: from the first piece a region touches, the least-cost path through
    ``-log p`` inside the region to each other piece is drawn at the width of the
    pieces it joins within ``reach`` px (the median distance transform on their skeleton),
    widened where the probability exceeds ``high`` to at most their width (area / length).

    What a region would draw depends on its own window only, so the paths of a batch of
    regions (windows of up to ``CANVAS_MAX_PX`` px in all) are found first, in one
    least-cost search over all their windows (``_least_costs``); the regions then draw in
    order, most probable first, each unless a more probable one already joined the same
    pieces right there.
    """
    out = np.zeros(mask.shape, bool)
    rest = None if rest_above is None else np.zeros(mask.shape, bool)
    h, w = mask.shape
    slices = ndi.find_objects(region)
    batch, area = [], 0  # regions that join two pieces or more near them: window, region, the pieces' labels there
    for i in ids:
        sl = slices[i - 1]
        r0, r1 = max(sl[0].start - reach - 2, 0), min(sl[0].stop + reach + 2, h)
        c0, c1 = max(sl[1].start - reach - 2, 0), min(sl[1].stop + reach + 2, w)
        own = region[r0:r1, c0:c1] == i
        lab, _ = ndi.label(pieces[r0:r1, c0:c1], structure=EIGHT)
        joined = _labels_beside(own, lab)
        if len(joined) < 2:
            continue
        batch.append((i, (r0, r1, c0, c1), own, lab, joined))
        area += (r1 - r0 + 1) * (c1 - c0 + 1)
        if area >= CANVAS_MAX_PX:  # memory stays bounded on any mask
            _draw_bridges(batch, out, rest, mask, pieces, prob, joins_components, reach, high, rest_above, fill_above, fragment_above)
            batch, area = [], 0
    if batch:
        _draw_bridges(batch, out, rest, mask, pieces, prob, joins_components, reach, high, rest_above, fill_above, fragment_above)
    return out, rest


def _draw_bridges(batch, out, rest, mask, pieces, prob, joins_components, reach, high, rest_above, fill_above, fragment_above) -> None:
    """``_bridge_paths`` for a batch of regions, in order: their paths in one search, then each drawn into ``out`` (and ``rest``)."""
    # the distance transforms of the windows of the mask, background beyond each: on one canvas
    windows = [mask[r0:r1, c0:c1] for _, (r0, r1, c0, c1), _, _, _ in batch]
    canvas = _Canvas([m.shape for m in windows])
    edts = ndi.distance_transform_edt(canvas.lay(windows, False))
    found = []  # per region that is a gap: what its path search and drawing need
    for k, ((i, (r0, r1, c0, c1), own, lab, joined), m) in enumerate(zip(batch, windows)):
        skel = thin(m)
        edt = canvas.crop(edts, k)
        # a root's end is looked for in the region's window, then (a thick root is followed
        # for 4 x its diameter) in the window widened by 4 x its largest half width
        if not joins_components[i] and not (
            _a_root_ends_at(own, skel, edt)
            or _a_root_ends_at(*_widened(mask, own, (r0, r1, c0, c1), min(int(math.ceil(4 * edt.max())) + 4, 40)))
        ):
            # the pieces meet elsewhere and no root ends here (a bump on a rough edge
            # is no root's end): a region between two roots that pass by, not a gap
            continue
        sk = argwhere(skel)
        on = lab[sk[:, 0], sk[:, 1]]
        ends = [sk[on == p] for p in joined]
        if any(len(e) == 0 for e in ends):
            continue
        in_joined = _lookup(lab, joined)
        inside = own | in_joined
        # paths run from skeleton to skeleton, down the middle of the roots and of the region
        middle = ndi.distance_transform_edt(inside)
        cost = np.where(inside, 0.01 + 0.2 / np.maximum(middle, 1.0), -1.0)
        gap = own & ~m  # a fragment inside the region costs as little as a piece
        cost[gap] += -np.log(np.clip(prob[r0:r1, c0:c1][gap], 1e-4, 1.0))
        found.append(((r0, r1, c0, c1), own, lab, joined, m, skel, edt, in_joined, cost, ends))
    if not found:
        return
    windows = _least_costs([f[8] for f in found], [f[9][0] for f in found])
    for ((r0, r1, c0, c1), own, lab, joined, m, skel, edt, in_joined, _, ends), (cum, traceback) in zip(found, windows):
        if out[r0:r1, c0:c1].any():  # already joined right here by a more probable bridge?
            near, _ = ndi.label(pieces[r0:r1, c0:c1] | out[r0:r1, c0:c1], structure=EIGHT)
            if len({int(near[lab == p][0]) for p in joined}) == 1:
                continue
        path_px = []
        for pts in ends[1:]:
            reachable = np.isfinite(cum[pts[:, 0], pts[:, 1]])
            if not reachable.any():
                continue
            goal = pts[reachable][np.argmin(cum[pts[reachable, 0], pts[reachable, 1]])]
            path_px.append(traceback(goal))
        if not path_px:
            continue
        path = np.concatenate(path_px)
        path = path[own[path[:, 0], path[:, 1]]]
        # the joined roots near the region: within reach steps of 4-connected dilation, i.e.
        # a city-block distance (one distance transform instead of reach dilations)
        zone = (ndi.distance_transform_cdt(~own, metric="taxicab") <= reach) & in_joined
        near = zone & skel
        radius = _median(edt[near]) if near.any() else 1.0
        width = (zone & m).sum() / max(near.sum(), 1)  # the joined roots' area per skeleton pixel
        # one distance transform from the path serves drawing it (as draw_path) and its band
        dist = _distance_to(path, own.shape, max(_drawn_radius(radius), width / 2 + WIDEN_PAD_PX))
        # drawn at the joined roots' width, but never where the network calls the pixel
        # background (outside the region, below ``low``): beside a gap's mouth that would
        # widen the root that is there
        sub = (dist < _drawn_radius(radius)) & (own | m)
        p_win = prob[r0:r1, c0:c1]
        if fill_above > 0:
            # the region's confident pixels: the gap's shape as the network sees it
            sub |= own & (p_win > fill_above)
        else:
            sub.flat[_band(sub, own, p_win, path, dist, width, high)] = True
        if fragment_above > 0:
            _join_fragments(sub, own, m, in_joined, p_win, fragment_above)
        out[r0:r1, c0:c1] |= sub & ~m
        if rest is not None:
            rest[r0:r1, c0:c1] |= own & ~m & ~sub & (p_win > rest_above)


def _distance_to(path: np.ndarray, shape: tuple[int, int], within: float) -> np.ndarray:
    """Each pixel's distance to the nearest of the (K, 2) ``path`` pixels, on an array of
    ``shape``: exact up to ``within`` px beyond the path's box and inf farther off (the
    distance transform of that box only; also inf everywhere without a path)."""
    dist = np.full(shape, np.inf)
    if not len(path):
        return dist
    k = int(math.ceil(within)) + 1
    r0, r1 = max(int(path[:, 0].min()) - k, 0), min(int(path[:, 0].max()) + k + 1, shape[0])
    c0, c1 = max(int(path[:, 1].min()) - k, 0), min(int(path[:, 1].max()) + k + 1, shape[1])
    seed = np.ones((r1 - r0, c1 - c0), bool)
    seed[path[:, 0] - r0, path[:, 1] - c0] = False
    dist[r0:r1, c0:c1] = ndi.distance_transform_edt(seed)
    return dist


EIGHT_STEPS = np.array(OFFSETS8, np.int8)  # the steps MCP makes fully connected, in its own order


def _least_cost(cost: np.ndarray):
    """``skimage.graph.MCP_Geometric(cost, fully_connected=True)``, given its 8 steps rather
    than having it build them (the same paths, in about a tenth less time on a bridge's small window)."""
    from skimage.graph import MCP_Geometric

    return MCP_Geometric(cost, offsets=EIGHT_STEPS)


class _Canvas:
    """Many small windows laid side by side on one canvas, a row and a column apart and
    framed by one, so that one call of a function on the canvas does the work of a call per
    window (where each window's result depends on that window alone: a distance transform
    with background beyond the window, a least-cost search through impassable pixels).
    The windows go in shelves, tallest first, each shelf as wide as the widest window or
    the square root of the total area, whichever is more."""

    def __init__(self, shapes: list[tuple[int, int]]):
        order = sorted(range(len(shapes)), key=lambda k: -shapes[k][0])
        width = max(max(sh[1] for sh in shapes), int(math.sqrt(sum((sh[0] + 1) * (sh[1] + 1) for sh in shapes))))
        self.at, self.shapes = [None] * len(shapes), shapes
        row, col, shelf = 1, 1, 0
        for k in order:
            hk, wk = shapes[k]
            if col > 1 and col + wk > width + 1:
                row, col, shelf = row + shelf + 1, 1, 0
            self.at[k] = (row, col)
            col, shelf = col + wk + 1, max(shelf, hk)
        self.shape = (row + shelf + 1, width + 2)

    def lay(self, windows: list[np.ndarray], fill) -> np.ndarray:
        """The canvas with ``windows`` (in the order of the shapes) in place, ``fill`` between them."""
        canvas = np.full(self.shape, fill, windows[0].dtype)
        for (r, c), win in zip(self.at, windows):
            canvas[r : r + win.shape[0], c : c + win.shape[1]] = win
        return canvas

    def crop(self, canvas: np.ndarray, k: int) -> np.ndarray:
        """Window ``k``'s part of ``canvas``."""
        (r, c), (hk, wk) = self.at[k], self.shapes[k]
        return canvas[r : r + hk, c : c + wk]


CANVAS_MAX_PX = 2**21  # windows laid on one canvas at most (their area): a canvas's least-cost search holds some 40 bytes a pixel


def _least_costs(costs: list[np.ndarray], starts: list[np.ndarray]):
    """Least-cost searches on many small windows at once: per window, its cumulative cost
    from its ``starts`` and a function tracing the path back from a pixel ((K, 2) pixels).

    The windows are laid on one ``_Canvas``, impassable between them, and searched by one
    ``MCP_Geometric``: no path leaves its window, so each window's costs are its own
    search's, and a search's fixed cost is paid once instead of once per window (on a
    decoder's windows it cost more than the search). The caller bounds the windows' total
    area (``_bridge_paths``: ``CANVAS_MAX_PX``).
    """
    canvas = _Canvas([c.shape for c in costs])
    mcp = _least_cost(canvas.lay(costs, -1.0))
    cum, _ = mcp.find_costs(np.concatenate([s + np.array(a) for s, a in zip(starts, canvas.at)]))

    def window(k):
        offset = np.array(canvas.at[k])
        return canvas.crop(cum, k), lambda goal: np.asarray(mcp.traceback(tuple(goal + offset))) - offset

    return [window(k) for k in range(len(costs))]


def _join_fragments(sub, own, m, in_joined, p_win, level):
    """Join the fragments inside a bridge's region to its drawn path or the roots it joins,
    along a 1-px least-cost path through the region's pixels above ``level``."""
    frag = own & m
    if not frag.any():
        return
    joined = sub | in_joined
    flab, nf = ndi.label(frag, structure=EIGHT)
    done = np.zeros(nf + 1, bool)
    done[_labels_beside(joined, flab)] = True  # touching the bridge or its roots already
    if done[1:].all():
        return
    walk = (own & ((p_win > level) | m)) | joined
    cost = np.where(walk, 0.1 - np.log(np.clip(p_win, 1e-4, 1.0)), -1.0)
    cost[joined] = 0.1
    mcp = _least_cost(cost)
    cum, _ = mcp.find_costs(argwhere(joined))
    for j in np.flatnonzero(~done[1:]) + 1:
        pts = argwhere(flab == j)
        c = cum[pts[:, 0], pts[:, 1]]
        if not np.isfinite(c).any():
            continue
        path = np.asarray(mcp.traceback(tuple(pts[np.argmin(c)])))
        sub[path[:, 0], path[:, 1]] = True


def _band(sub, own, p_win, path, dist, width, high) -> np.ndarray:
    """Flat indices that widen a drawn path where the network is confident (above ``high``),
    up to ``width``, the width of the roots it joins (their area per skeleton pixel: the
    distance transform on a skeleton cannot tell a 2-px root from a 1-px one). ``dist``: each
    pixel's distance to the path, exact up to ``width / 2 + WIDEN_PAD_PX`` at least."""
    more = np.flatnonzero(own & ~sub & (p_win > high) & (dist < width / 2 + WIDEN_PAD_PX))
    # never more area than the joined roots' width times the path's length: a band of
    # whole pixels around a path is wider than an even-width root, so the network's
    # most probable pixels decide which side gets the extra row
    room = max(int(round(width * len(path))) - int((sub & own).sum()), 0)
    if len(more) > room:
        key = p_win.ravel()[more] - 0.01 * dist.ravel()[more]
        more = more[np.argsort(-key, kind="stable")[:room]]
    return more


# --------------------------------------------------------------------- end points


def _widened(mask: np.ndarray, own: np.ndarray, window: tuple[int, int, int, int], margin: int):
    """The region ``own`` (a crop of ``mask`` at ``window``) with the skeleton and distance
    transform of the window widened by ``margin`` px: (region, skeleton, edt) on the widened window."""
    r0, r1, c0, c1 = window
    h, w = mask.shape
    R0, R1, C0, C1 = max(r0 - margin, 0), min(r1 + margin, h), max(c0 - margin, 0), min(c1 + margin, w)
    m = mask[R0:R1, C0:C1]
    region = np.zeros(m.shape, bool)
    region[r0 - R0 : r1 - R0, c0 - C0 : c1 - C0] = own
    return region, thin(m), ndi.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]


def _a_root_ends_at(region: np.ndarray, skel: np.ndarray, edt: np.ndarray) -> bool:
    """Whether a root ends at ``region``: a skeleton end point within 3 px of it passes
    ``_ends_a_root``, followed away from the region (all three arrays on one window)."""
    ends = end_points(skel)
    ends = ends[ndi.binary_dilation(region, iterations=3)[ends[:, 0], ends[:, 1]]]
    if not len(ends):
        return False
    pts = argwhere(region)
    for e in ends:
        # the way back along the root: from the region's pixels near the end to the end
        near = pts[np.hypot(*(pts - e).T) <= 20]
        away = e - (near if len(near) else pts).mean(axis=0)
        norm = math.hypot(*away)
        if norm > 0 and _ends_a_root(skel, edt, e, away / norm):
            return True
    return False


def _ends_a_root(skel: np.ndarray, edt: np.ndarray, end, away, min_px: float = 6.0, cos_min: float = 0.85) -> bool:
    """Whether the skeleton from ``end`` is a root's end, not a spur of a rough edge.

    The skeleton is followed from ``end`` for ``max(min_px, 4 x the root's diameter)``
    px. It is a root's end when it is that long without a junction (as in trait
    measurement's spur pruning), or when it runs straight on through its first junction:
    the way from the junction on stays within acos(``cos_min``) (about 32 degrees) of the
    way from the end to the junction (of ``away``, a unit (row, col) vector from the
    region the end faces back along the root, where the junction is at the end). At a
    junction the walk takes the straightest continuation. A spur of a rough edge turns
    along its root at its junction; a root cut by a gap just past a lateral's junction
    runs straight on through it, as wide as it is past it (a spike or hair half as wide as
    the root it meets is not that root's end). Stopping at the first junction, as before,
    missed such gaps (on 4 fibrous masks with occlusion gaps, 22 regions on true gaps were
    refused).
    """
    h, w = skel.shape
    r0, c0 = int(end[0]), int(end[1])
    cur = (r0, c0)
    seen = {cur}
    length, need = 0.0, max(min_px, 4.0 * edt[cur])
    junction, way = None, None  # the first junction, and the way from the end to it
    widths: tuple[list, list] = ([edt[cur]], [])  # half widths before and past the junction
    while length < need:
        nxt = [(cur[0] + dr, cur[1] + dc) for dr, dc in OFFSETS8
               if 0 <= cur[0] + dr < h and 0 <= cur[1] + dc < w and skel[cur[0] + dr, cur[1] + dc]
               and (cur[0] + dr, cur[1] + dc) not in seen]
        if not nxt:
            return False
        if junction is None and len(nxt) > 1 and length > 0:  # (an end pixel may touch two pixels of a diagonal)
            junction = cur
            d = (cur[0] - r0, cur[1] - c0)
            n = math.hypot(*d)
            way = (d[0] / n, d[1] / n) if n >= 2 else (float(away[0]), float(away[1]))
        u = way or (float(away[0]), float(away[1]))
        best = max(nxt, key=lambda p: (p[0] - cur[0]) * u[0] + (p[1] - cur[1]) * u[1])
        seen.update(nxt)  # the other neighbours of a step are not branches to come back to
        length += math.hypot(best[0] - cur[0], best[1] - cur[1])
        cur = best
        widths[junction is not None].append(edt[cur])
        need = max(need, 4.0 * edt[cur])
    if junction is None:
        return True
    if max(widths[0]) < 0.5 * float(np.median(widths[1] or [0.0])):
        return False  # a thin spike or hair on a thicker root, not the same root running on
    d = (cur[0] - junction[0], cur[1] - junction[1])
    return d[0] * way[0] + d[1] * way[1] >= cos_min * math.hypot(*d)


def end_points(skeleton: np.ndarray) -> np.ndarray:
    """(K, 2) int: skeleton pixels with exactly one 8-neighbour, in row-major order."""
    skeleton = np.asarray(skeleton, bool)
    pts = argwhere(skeleton)
    return pts[neighbour_counts(skeleton, pts) == 1]


def end_direction(end: np.ndarray, skeleton: np.ndarray, labels: np.ndarray, reach: int) -> np.ndarray | None:
    """Unit (row, col) vector pointing out of the root at ``end``, or None when undefined.

    The mean of the skeleton pixels within ``reach`` px that are joined to the end inside
    that box lies behind the end; the direction points from that mean to the end. (Not
    every skeleton pixel of the component: where a gap cut a root whose two sides meet
    farther off, through other roots, the other side is close by and would turn the
    direction towards itself.)
    """
    return end_directions(np.asarray(end).reshape(1, 2), skeleton, labels, reach)[0]


PLANE8 = np.zeros((3, 3, 3), bool)  # 8-connected within each plane of a stack, never across planes
PLANE8[1] = True


def end_directions(ends: np.ndarray, skeleton: np.ndarray, labels: np.ndarray, reach: int) -> list[np.ndarray | None]:
    """``end_direction`` of each of the (K, 2) ``ends``, all at once: their boxes stacked as
    the planes of one array and labelled together (the same values)."""
    ends = np.asarray(ends, np.int64).reshape(-1, 2)
    if not len(ends):
        return []
    h, w = skeleton.shape
    r, c = ends[:, 0], ends[:, 1]
    steps = np.arange(-reach, reach + 1)
    rows, cols = r[:, None] + steps, c[:, None] + steps  # (K, 2 reach + 1) each: the boxes, beyond the image too
    in_image = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    at = np.clip(rows, 0, h - 1)[:, :, None], np.clip(cols, 0, w - 1)[:, None, :]
    pixels = skeleton[at] & (labels[at] == labels[r, c][:, None, None]) & in_image
    joined, n = ndi.label(pixels, structure=PLANE8)
    own = joined[:, reach, reach]
    # an end that is not one of its box's pixels takes them all (as _joined_to)
    group = np.where(own[:, None, None] > 0, joined, n + 1 + np.arange(len(ends))[:, None, None])
    key = np.where(own > 0, own, n + 1 + np.arange(len(ends)))
    taken = pixels & (group == key[:, None, None])
    g = group[taken]
    # box coordinates from the box's corner inside the image, as a crop would give them
    r0, c0 = np.maximum(r - reach, 0), np.maximum(c - reach, 0)
    local_r = np.broadcast_to((rows - r0[:, None])[:, :, None], pixels.shape)[taken]
    local_c = np.broadcast_to((cols - c0[:, None])[:, None, :], pixels.shape)[taken]
    count = np.bincount(g, minlength=n + 2 + len(ends))[key]
    sum_r = np.bincount(g, local_r.astype(np.float64), n + 2 + len(ends))[key]
    sum_c = np.bincount(g, local_c.astype(np.float64), n + 2 + len(ends))[key]
    out = []
    for k in range(len(ends)):
        if count[k] < 2:
            out.append(None)
            continue
        d = np.array([r[k] - r0[k], c[k] - c0[k]], float) - np.array([sum_r[k], sum_c[k]]) / count[k]
        norm = math.hypot(*d)
        out.append(d / norm if norm > 0 else None)
    return out


def local_radius(mask: np.ndarray, skeleton: np.ndarray, labels: np.ndarray, point, reach: int) -> float:
    """Half the root width near ``point``: the median distance transform on its skeleton within ``reach`` px.

    Computed on a crop, so it costs little on a large mask. A 1-px root gives 1, a
    5-px band 3 (the distance transform counts the centre pixel). Only the skeleton of
    ``point``'s own component counts, so a thicker root nearby does not widen it.
    """
    r, c = (int(v) for v in point)
    h, w = mask.shape
    pad = reach + 2
    r0, r1, c0, c1 = max(r - pad, 0), min(r + pad + 1, h), max(c - pad, 0), min(c + pad + 1, w)
    edt = ndi.distance_transform_edt(np.pad(mask[r0:r1, c0:c1], 1))[1:-1, 1:-1]
    y0, y1, x0, x1 = max(r - reach, 0) - r0, min(r + reach + 1, h) - r0, max(c - reach, 0) - c0, min(c + reach + 1, w) - c0
    on = skeleton[r0:r1, c0:c1] & _joined_to(labels[r0:r1, c0:c1] == labels[r, c], (r - r0, c - c0))
    vals = edt[y0:y1, x0:x1][on[y0:y1, x0:x1]]
    return float(np.median(vals)) if len(vals) else max(float(edt[r - r0, c - c0]), 1.0)


def _joined_to(pixels: np.ndarray, point: tuple[int, int]) -> np.ndarray:
    """The pixels 8-connected to ``point`` within ``pixels`` (all of them where ``point`` is not one)."""
    if not pixels[point]:
        return pixels
    lab, _ = ndi.label(pixels, structure=EIGHT)
    return lab == lab[point]


def _drawn_radius(edt_radius: float) -> float:
    """A drawn path covers the pixels closer than this to it: a root of half-width ``edt_radius``."""
    return max(edt_radius - 0.5, 0.5)


def draw_path(out: np.ndarray, rows: np.ndarray, cols: np.ndarray, edt_radius: float) -> None:
    """Set the pixels within a root of half-width ``edt_radius`` (as ``local_radius``) around a path.

    A path drawn with the radius measured on a root has that root's width: every pixel
    closer than ``edt_radius - 0.5`` to a path pixel is set.
    """
    if not len(rows):
        return
    rad = _drawn_radius(edt_radius)
    k = int(math.ceil(rad))
    h, w = out.shape
    r0, r1 = max(int(rows.min()) - k, 0), min(int(rows.max()) + k + 1, h)
    c0, c1 = max(int(cols.min()) - k, 0), min(int(cols.max()) + k + 1, w)
    seed = np.ones((r1 - r0, c1 - c0), bool)
    seed[rows - r0, cols - c0] = False
    out[r0:r1, c0:c1] |= ndi.distance_transform_edt(seed) < rad


# --------------------------------------------------------------------- linking


class _Sets:
    """Union-find over component labels: a link is drawn only between pieces not yet joined."""

    def __init__(self, n: int):
        self.parent = np.arange(n + 1)

    def find(self, a: int) -> int:
        while self.parent[a] != a:
            self.parent[a] = self.parent[self.parent[a]]
            a = self.parent[a]
        return int(a)

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[rb] = ra
        return True


def link_ends(mask: np.ndarray, prob: np.ndarray, settings: DecodeSettings = DecodeSettings()) -> np.ndarray:
    """(M, N) bool: pixels of the accepted links between end points and other pieces of ``mask``."""
    mask = np.asarray(mask, bool)
    added = np.zeros(mask.shape, bool)
    R = int(math.ceil(settings.link_radius))
    if R < 1 or not mask.any():
        return added
    labels, big = _piece_labels(mask, settings.min_piece_px)
    if not big.any() or (labels.max() < 2 and not (settings.link_facing and settings.link_loop_px > 0)):
        return added
    skel = skeleton(mask)
    ends = end_points(skel)
    cos_max = math.cos(math.radians(settings.link_angle_deg))
    cos_fragment = math.cos(math.radians(min(settings.link_angle_deg, settings.link_fragment_deg)))
    if len(ends):
        size = np.bincount(labels[mask], minlength=labels.max() + 1)
        frag = ~big & (size >= settings.link_fragment_px) if settings.link_fragment_px and settings.link_small_pieces else np.zeros_like(big)
        frag[0] = False
        on = labels[ends[:, 0], ends[:, 1]]
        ends = np.concatenate([ends[big[on]], ends[frag[on]]])  # roots' own ends first
    if not len(ends):
        return added
    _at_most(len(ends), "root ends to link", mask.shape)
    dirs = end_directions(ends, skel, labels, settings.direction_px)
    if frag.any():
        ends, dirs = _on_root_lines(ends, dirs, big[labels[ends[:, 0], ends[:, 1]]], settings.link_radius, cos_max)
    step_cost = -math.log(settings.link_min_prob)
    sets = _Sets(int(labels.max()))
    h, w = mask.shape
    ahead = _anything_ahead(mask, labels, ends, dirs, cos_max, settings.link_radius)
    for k, ((r, c), d) in enumerate(zip(ends, dirs)):
        if not ahead[k]:  # (also False for an end without a direction)
            continue  # most ends are root tips with nothing ahead: no window-wide work for them
        r, c = int(r), int(c)
        own = labels[r, c]
        r0, r1, c0, c1 = max(r - R, 0), min(r + R + 1, h), max(c - R, 0), min(c + R + 1, w)
        lab = labels[r0:r1, c0:c1]
        small = (lab > 0) & ~big[lab] & (lab != own) if settings.link_small_pieces else np.zeros(lab.shape, bool)
        # first a big piece as the goal, passing through fragments left in the gap (they
        # join too); only when none is reachable, a fragment itself. Most ends are root
        # tips with nothing ahead: the goals are found before any distance transform.
        # own is a piece, never small; a fragment (or a speck) only nearly straight ahead
        targets = [(t, g) for t, cm in ((big[lab] & (lab != own), cos_max), (small, cos_fragment))
                   if (g := _goals_ahead(t, lab, own, sets, d, (r, c), (r0, c0), cm, settings.link_radius)) is not None]
        if not targets:
            continue
        radius = local_radius(mask, skel, labels, (r, c), settings.direction_px)
        # paths keep to the middle of the probable region (as bridges do), not its edge
        middle = ndi.distance_transform_edt((prob[r0:r1, c0:c1] >= settings.link_min_prob) | mask[r0:r1, c0:c1])
        neglog = -np.log(np.clip(prob[r0:r1, c0:c1], 1e-4, 1.0)).astype(np.float64)
        base_cost = neglog + 0.2 / np.maximum(middle, 1.0)
        # a link leaves its own root at the end: the rest of the root is impassable
        yy, xx = np.ogrid[r0 - r : r1 - r, c0 - c : c1 - c]
        near_end = yy**2 + xx**2 <= (radius + 1) ** 2
        base_cost[(lab == own) & ~near_end] = -1.0
        base_cost[(lab == own) & near_end] = 0.01
        for target, goals in targets:
            found = _link_path(target, goals, base_cost, small, lab, (r - r0, c - c0))
            if found is None:
                continue
            new, goal, passed = found
            if settings.link_past_specks and not big[lab[goal]] and size[lab[goal]] < max(settings.link_fragment_px, 1):
                new, goal, passed = _past_a_speck(found, (r - r0, c - c0), target, goals, base_cost, small, lab, neglog, step_cost, mask[r0:r1, c0:c1])
            new = new[~mask[new[:, 0] + r0, new[:, 1] + c0]]
            if not len(new) or neglog[new[:, 0], new[:, 1]].mean() > step_cost:
                continue
            other = int(lab[goal])
            if not sets.union(own, other):
                continue
            for frag in passed:
                sets.union(own, int(frag))
            width = radius
            if big[other]:  # a speck's or fragment's width says little about the root's
                width = min(radius, local_radius(mask, skel, labels, (goal[0] + r0, goal[1] + c0), settings.direction_px))
            draw_path(added, new[:, 0] + r0, new[:, 1] + c0, width)
            break
    on_piece = big[labels[ends[:, 0], ends[:, 1]]]
    ends, dirs = ends[on_piece], [d for d, ok in zip(dirs, on_piece) if ok]
    if settings.link_facing:
        _link_facing(mask, prob, skel, labels, ends, dirs, sets, settings, added)
    if settings.link_pointing_px > 0:
        _link_pointing(mask, skel, labels, big, ends, dirs, sets, settings, added)
    if settings.link_fragment_near_px > 0 and settings.link_small_pieces:
        _link_near_fragments(mask, prob, skel, labels, big, ends, dirs, sets, settings, added)
    return added & ~mask


def _link_near_fragments(mask, prob, skel, labels, big, ends, dirs, sets, settings, added) -> None:
    """Join a root's end to the nearest fragment within ``link_fragment_near_px`` px when the
    network calls the way to it root (the geometric mean probability of the pixels between
    them is above ``threshold``): the rest of a root's tip, left beyond a short gap.

    Fragments are too small to have a direction of their own, so the other link rules
    leave most of them; a speck beside a root is not joined unless the network fills
    the way to it. The root at the end may be at most 2 px wider than the fragment (a
    thick root does not end in a speck: on real switchgrass masks, specks at the rough
    edges of thick roots were joined otherwise, drawn as blobs of the root's width), and
    the join is drawn no wider than the fragment.
    """
    from skimage.draw import line

    R = int(math.ceil(settings.link_fragment_near_px))
    h, w = mask.shape
    for e, d in zip(ends, dirs):
        if d is None:
            continue
        er, ec = int(e[0]), int(e[1])
        r0, r1, c0, c1 = max(er - R, 0), min(er + R + 1, h), max(ec - R, 0), min(ec + R + 1, w)
        lab = labels[r0:r1, c0:c1]
        frag = (lab > 0) & ~big[lab]
        if not frag.any():
            continue
        own = sets.find(int(labels[er, ec]))
        apart = [t for t in np.unique(lab[frag]) if sets.find(int(t)) != own]
        cand = argwhere(frag & np.isin(lab, apart)) + (r0, c0)
        if not len(cand):
            continue
        dist = np.hypot(cand[:, 0] - er, cand[:, 1] - ec)
        k = int(np.argmin(dist))
        if dist[k] > settings.link_fragment_near_px:
            continue
        t = cand[k]
        rr, cc = line(er, ec, int(t[0]), int(t[1]))
        if not _probable_line(mask, prob, rr, cc, settings.threshold):
            continue
        radius = local_radius(mask, skel, labels, e, settings.direction_px)
        frag_radius = _fragment_radius_if_ends(mask, skel, labels, radius, t, settings)
        if frag_radius is None:
            continue
        sets.union(int(labels[er, ec]), int(labels[t[0], t[1]]))
        draw_path(added, rr, cc, min(radius, frag_radius))


def _fragment_radius_if_ends(mask, skel, labels, radius, frag_px, settings) -> float | None:
    """The half width of the fragment at ``frag_px``, or None where a root of half width
    ``radius`` cannot end in it: a root more than 2 px wider than a fragment does not
    (a speck at a thick root's rough edge is no part of it)."""
    frag_radius = local_radius(mask, skel, labels, frag_px, settings.direction_px)
    return None if radius > frag_radius + 1.0 else frag_radius


def _on_root_lines(ends, dirs, on_piece, radius, cos_max):
    """The ends of pieces, and those ends of fragments that continue a root's line.

    A fragment's end counts when a piece's end within ``radius`` px points at it (within
    ``cos_max``) and the fragment runs the same way as that root: a piece of a root left
    inside a gap, not a speck beside one.
    """
    from scipy.spatial import cKDTree

    roots = np.flatnonzero(on_piece & np.array([d is not None for d in dirs], bool))
    keep = on_piece.copy()
    if len(roots):
        tree = cKDTree(ends[roots])
        for i in np.flatnonzero(~on_piece):
            d = dirs[i]
            if d is None:
                continue
            for j in tree.query_ball_point(ends[i], radius):
                b = roots[j]
                v = (ends[i] - ends[b]).astype(float)
                dist = math.hypot(*v)
                if dist > 0 and v @ dirs[b] >= cos_max * dist and d @ dirs[b] >= cos_max:
                    keep[i] = True
                    break
    return ends[keep], [d for d, k in zip(dirs, keep) if k]


AHEAD_MAX_PAIRS = 2**22  # (end, pixel) pairs _anything_ahead holds at once, at most: bounded memory on any mask


def _anything_ahead(mask, labels, ends, dirs, cos_max, radius) -> np.ndarray:
    """Per end: whether any pixel of another component than the end's lies within ``radius``
    px of it and ``cos_max`` of its direction (False where it has none). Needed for any goal
    of ``_goals_ahead``, whose cones are this one or narrower; worked out for all ends at
    once, each against the mask's pixels in its square of side 2 ``radius`` + 1 (in batches
    of at most ``AHEAD_MAX_PAIRS`` end-pixel pairs)."""
    h, w = mask.shape
    flat = np.flatnonzero(mask)  # row-major: the pixels of one row of an end's square are a run, found by bisection
    has = np.array([d is not None for d in dirs], bool)
    out = np.zeros(len(ends), bool)
    if not has.any() or not len(flat):
        return out
    their_labels = labels.ravel()[flat]
    e = np.asarray(ends)[has]
    d = np.array([d for d in dirs if d is not None])
    reach = int(math.floor(radius + 1e-9))  # no pixel farther off in a row or a column is within radius
    rows = e[:, :1] + np.arange(-reach, reach + 1)  # (E, 2 reach + 1): the rows of each end's square
    inside = (rows >= 0) & (rows < h)
    start = np.searchsorted(flat, rows * w + np.maximum(e[:, 1:] - reach, 0), side="left")
    stop = np.where(inside, np.searchsorted(flat, rows * w + np.minimum(e[:, 1:] + reach, w - 1), side="right"), start)
    per_end = (stop - start).sum(axis=1)
    batch_of = np.cumsum(per_end) // AHEAD_MAX_PAIRS
    for b in np.unique(batch_of):
        k = np.flatnonzero(batch_of == b)
        n = (stop[k] - start[k]).ravel()
        which = np.repeat(np.repeat(k, rows.shape[1]), n)  # (end, pixel) pairs, pixel by pixel of each end's runs
        px = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start[k].ravel(), n)
        other = their_labels[px] != labels[e[which, 0], e[which, 1]]
        which, px = which[other], flat[px[other]]
        vr, vc = (px // w - e[which, 0]).astype(float), (px % w - e[which, 1]).astype(float)
        dist = np.hypot(vr, vc)
        # a hair wider than the cone: rounding (a dot product may be summed otherwise) never drops a goal
        ok = (dist <= radius + 1e-9) & (vr * d[which, 0] + vc * d[which, 1] >= cos_max * dist - 1e-9)
        out[np.flatnonzero(has)[np.unique(which[ok])]] = True
    return out


def _goals_ahead(target, lab, own, sets, d, end, origin, cos_max, radius):
    """(K, 2) window coordinates of the ``target`` pixels an end at ``end`` may link to, or None.

    They lie within ``radius`` px and ``cos_max`` of direction ``d`` and belong to pieces
    not yet joined to ``own``.
    """
    if not target.any():
        return None
    r, c = end
    r0, c0 = origin
    tr, tc = nonzero(target)
    v = np.stack([tr + r0 - r, tc + c0 - c], axis=1).astype(float)
    dist = np.hypot(v[:, 0], v[:, 1])
    ok = (dist <= radius) & (v @ d >= cos_max * dist)
    if ok.any():  # pieces already joined to this one (by an earlier link) are no target
        cands = np.unique(lab[tr[ok], tc[ok]])
        joined = cands[[sets.find(int(t)) == sets.find(int(own)) for t in cands]]
        ok &= ~np.isin(lab[tr, tc], joined)
    if not ok.any():
        return None
    return np.stack([tr[ok], tc[ok]], axis=1)


def _link_path(target, goals, base_cost, small, lab, start):
    """The cheapest path from ``start`` to one of ``goals`` (pixels of ``target``), or None.

    Fragments (``small``) and the target are cheap to cross. Returns (path pixels in
    window coordinates, goal pixel, fragment labels the path crosses).
    """
    cost = base_cost.copy()
    cost[small | target] = 0.01
    mcp = _least_cost(cost)
    # Dijkstra stops at the first goal it settles: the cheapest one
    cum, _ = mcp.find_costs([start], ends=goals, find_all_ends=False)
    reach = cum[goals[:, 0], goals[:, 1]]
    if not np.isfinite(reach).any():
        return None
    best = int(np.argmin(reach))
    goal = (int(goals[best, 0]), int(goals[best, 1]))
    path = np.asarray(mcp.traceback(goal))
    passed = np.unique(lab[path[:, 0], path[:, 1]][small[path[:, 0], path[:, 1]]])
    return path, goal, passed


def _past_a_speck(found, start, target, goals, base_cost, small, lab, neglog, step_cost, mask_win):
    """The link ``found`` (from ``_link_path`` at ``start``) ends in a speck, which links nowhere itself:
    the path on through it to the nearest other goal, where that path is probable enough
    (the same rule as every link); else ``found``.

    The speck is often a crumb in the gap, and the rest of the root's tip lies beyond it in
    line (the goals are ahead of the end already).
    """
    goal = found[1]
    farther = goals[lab[goals[:, 0], goals[:, 1]] != lab[goal]]
    if not len(farther):
        return found
    again = _link_path(target, farther, base_cost, small, lab, start)
    if again is None:
        return found
    new = again[0][~mask_win[again[0][:, 0], again[0][:, 1]]]
    return again if len(new) and neglog[new[:, 0], new[:, 1]].mean() <= step_cost else found


def _link_facing(mask, prob, skel, labels, ends, dirs, sets, settings, added) -> None:
    """Join end points of different pieces that face each other, nearest pairs first.

    The geometric rule of classical gap closing, for gaps where the network has no
    opinion: both ends lie within ``link_angle_deg`` of the other's direction and within
    ``link_radius`` px; a straight segment at the narrower root's width joins them. Ends of
    pieces already joined elsewhere only across a cut (step 3 of the module's description).
    """
    from scipy.spatial import cKDTree
    from skimage.draw import line

    if len(ends) < 2:
        return
    pairs = cKDTree(ends).query_pairs(settings.link_radius, output_type="ndarray")
    if not len(pairs):
        return
    v = (ends[pairs[:, 1]] - ends[pairs[:, 0]]).astype(float)
    dist = np.hypot(v[:, 0], v[:, 1])
    order = np.argsort(dist)
    cos_max = math.cos(math.radians(settings.link_angle_deg))
    used: set[int] = set()
    for k in order:
        i, j = pairs[k]
        di, dj = dirs[i], dirs[j]
        if di is None or dj is None or dist[k] == 0:
            continue
        if v[k] @ di < cos_max * dist[k] or -v[k] @ dj < cos_max * dist[k]:
            continue
        a, b = ends[i], ends[j]
        la, lb = int(labels[a[0], a[1]]), int(labels[b[0], b[1]])
        loop = sets.find(la) == sets.find(lb)
        if loop and (dist[k] > settings.link_loop_px or i in used or j in used or not _apart_here(mask, added, a, b)):
            # already joined: only a short cut in a root whose sides meet elsewhere
            continue
        radius = min(local_radius(mask, skel, labels, a, settings.direction_px),
                     local_radius(mask, skel, labels, b, settings.direction_px))
        a, b = _centred(a, skel, labels, radius), _centred(b, skel, labels, radius)
        rr, cc = line(int(a[0]), int(a[1]), int(b[0]), int(b[1]))
        if loop and dist[k] > LOOP_SURE_PX and not _probable_line(mask, prob, rr, cc, settings.link_min_prob):
            continue
        used.update((i, j))
        sets.union(la, lb)
        draw_path(added, rr, cc, radius)


def _probable_line(mask: np.ndarray, prob: np.ndarray, rr: np.ndarray, cc: np.ndarray, level: float) -> bool:
    """Whether the geometric mean probability of a drawn line's pixels outside ``mask`` is
    at least ``level`` (True for a line that adds none)."""
    off = ~mask[rr, cc]
    return not off.any() or -np.log(np.clip(prob[rr[off], cc[off]], 1e-4, 1.0)).mean() <= -math.log(level)


def _apart_here(mask: np.ndarray, added: np.ndarray, a, b, margin: int = BRIDGE_REACH_PX) -> bool:
    """Whether end points ``a`` and ``b`` lie on different pieces of ``mask | added`` seen in
    the box around them widened by ``margin`` px: two sides of a cut that meet only farther off."""
    h, w = mask.shape
    r0, r1 = max(min(a[0], b[0]) - margin, 0), min(max(a[0], b[0]) + margin + 1, h)
    c0, c1 = max(min(a[1], b[1]) - margin, 0), min(max(a[1], b[1]) + margin + 1, w)
    lab, _ = ndi.label(mask[r0:r1, c0:c1] | added[r0:r1, c0:c1], structure=EIGHT)
    return lab[a[0] - r0, a[1] - c0] != lab[b[0] - r0, b[1] - c0]


def _link_pointing(mask, skel, labels, big, ends, dirs, sets, settings, added) -> None:
    """Join an end to the side of another piece straight ahead of it and close (a cut lateral)."""
    from skimage.draw import line

    R = int(math.ceil(settings.link_pointing_px))
    cos_max = math.cos(math.radians(min(settings.link_angle_deg, settings.link_pointing_deg)))
    h, w = mask.shape
    for e, d in zip(ends, dirs):
        if d is None:
            continue
        own = labels[int(e[0]), int(e[1])]
        er, ec = int(e[0]), int(e[1])
        near = np.unique(labels[max(er - R, 0) : er + R + 1, max(ec - R, 0) : ec + R + 1])
        root = sets.find(int(own))
        if all(sets.find(int(t)) == root for t in near if t):  # cheap test before the distance transforms
            continue  # nothing near, or only pieces already joined to this one
        radius = local_radius(mask, skel, labels, e, settings.direction_px)
        r, c = (int(v) for v in _centred(e, skel, labels, radius))  # aim from the root's middle, not its edge
        r0, r1, c0, c1 = max(r - R, 0), min(r + R + 1, h), max(c - R, 0), min(c + R + 1, w)
        lab = labels[r0:r1, c0:c1]
        cand = argwhere((lab > 0) & (lab != own)) + (r0, c0)
        if not len(cand):
            continue
        v = (cand - (r, c)).astype(float)
        dist = np.hypot(v[:, 0], v[:, 1])
        # a fragment is a target only right ahead: the end of a root cut off by a short gap
        reach = np.where(big[labels[cand[:, 0], cand[:, 1]]], settings.link_pointing_px, min(settings.link_pointing_px, FRAGMENT_REACH_PX + radius))
        ok = (dist <= reach) & (v @ d >= cos_max * dist)
        if not ok.any():
            continue
        t = cand[ok][np.argmin(dist[ok])]
        if not big[labels[t[0], t[1]]] and _fragment_radius_if_ends(mask, skel, labels, radius, t, settings) is None:
            continue
        if not sets.union(int(own), int(labels[t[0], t[1]])):
            continue
        rr, cc = line(r, c, int(t[0]), int(t[1]))
        draw_path(added, rr, cc, radius)


def _centred(end, skel, labels, radius: float) -> np.ndarray:
    """The skeleton pixel of ``end``'s root nearest to it among those on the root's middle.

    A skeleton ends in a corner of a cut root; a straight link drawn from there would
    run along one edge. Pixels within ``radius + 1`` px of the end whose distance to the
    root's edge is largest are its middle.
    """
    r, c = (int(v) for v in end)
    k = int(math.ceil(radius)) + 1
    h, w = skel.shape
    r0, c0 = max(r - k, 0), max(c - k, 0)
    on = skel[r0 : r + k + 1, c0 : c + k + 1] & (labels[r0 : r + k + 1, c0 : c + k + 1] == labels[r, c])
    edt = ndi.distance_transform_edt(np.pad(labels[r0 : r + k + 1, c0 : c + k + 1] == labels[r, c], 1))[1:-1, 1:-1]
    pts = argwhere(on)
    depth = edt[pts[:, 0], pts[:, 1]]
    pts = pts[depth == depth.max()]
    near = pts[np.argmin(np.hypot(pts[:, 0] + r0 - r, pts[:, 1] + c0 - c))]
    return near + (r0, c0)


def notches(mask: np.ndarray, prob: np.ndarray, radius: int = 5, level: float = 0.8, min_piece_px: int = 10,
            also: np.ndarray | None = None, hole_level: float = 0.3) -> np.ndarray:
    """(M, N) bool: the pixels that fill notches in the roots of ``mask`` where the network is confident.

    An occluder that bites into a root's side without cutting it leaves a notch: no piece is
    joined by filling it, so bridges and links leave it, and its pixels stay missing (on
    clean occlusion gaps about a third of the missing pixels were such). A pixel fills a
    notch when the network's probability there exceeds ``level`` and it lies inside the
    closing of the mask's roots (pieces of ``min_piece_px`` or more) with a disc of
    ``radius`` px (a concavity of the outline no wider than the disc, not a bump beyond
    it); each connected group of such pixels must touch exactly one piece of the mask near
    it, and that a root: two roots running side by side are never joined across the space
    between them, even where they meet far away, and no speck is joined. The root must be
    at least ``NOTCH_MIN_WIDTH`` (1.5) px wide near the group (its area per skeleton pixel
    there): a 1-px root has no notch, since any bite cuts it, and the closing only rounds
    its bends and junctions, where a fill would thicken it. Where the fill closes a notch's mouth but not
    its bottom, the hole it makes (lying inside the closing) is filled too: it would be a
    loop in the skeleton; unless (of ``PUNCTURE_MIN_PX`` or more) its mean probability is
    ``hole_level`` or less and it is no puncture (``root_holes``): filled, it would widen
    its root, so it is the space between crossing roots that the fill closed off. A hole
    the mask had before gets only its confident pixels, as any notch. Worked out on windows
    around groups of candidate pixels, so it costs little on a large mask. ``also``: more candidate pixels, whatever their probability
    (the decoder passes the rest of the gaps its bridges joined above ``notch_gap_level``).
    """
    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, bool)
    sure = prob > level if also is None else (prob > level) | also
    candidates = sure & ~mask
    region, n = label_sparse(candidates, EIGHT)
    if not n:
        return out
    _at_most(n, "notch candidates", mask.shape)
    labels, big = _piece_labels(mask, min_piece_px)
    roots = _on_labels(labels, big, mask)  # the closing is of roots: a speck beside a root makes no notch
    was_hole = _holes(mask)
    reach = 2 * radius + 1  # the closing at a pixel depends on the mask within 2 x radius of it
    h, w = mask.shape
    rows, cols = nonzero(candidates)
    _, boxes = _pixel_boxes(region[rows, cols], rows, cols)  # labels 1..n, each with pixels
    boxes += np.array([-reach, reach, -reach, reach])
    for ids in _overlapping_groups(boxes, reach):
        r0, r1 = max(int(boxes[ids, 0].min()), 0), min(int(boxes[ids, 1].max()), h)
        c0, c1 = max(int(boxes[ids, 2].min()), 0), min(int(boxes[ids, 3].max()), w)
        m, rm = mask[r0:r1, c0:c1], roots[r0:r1, c0:c1]
        closed = _closed(rm, radius)
        own = _lookup(region[r0:r1, c0:c1], ids + 1) & closed
        if not own.any():
            continue
        pieces, _ = ndi.label(own, structure=EIGHT)
        add = np.zeros(m.shape, bool)
        for j, sl in enumerate(ndi.find_objects(pieces), start=1):
            # a notch is in one root: the group touches one piece of the mask near it (two
            # roots side by side are two pieces there even where they meet far away) and
            # that piece is a root, not a speck
            a0, a1 = max(sl[0].start - reach, 0), min(sl[0].stop + reach, m.shape[0])
            b0, b1 = max(sl[1].start - reach, 0), min(sl[1].stop + reach, m.shape[1])
            piece = pieces[a0:a1, b0:b1] == j
            root = _the_root_beside(m[a0:a1, b0:b1], piece)
            # a root that is a speck has no notch, nor has a 1-px root: any bite cuts it, and
            # filling beside it only thickens it (its area per skeleton pixel, near the group)
            if root is not None and rm[a0:a1, b0:b1][root].any() and _wide_enough(root):
                add[a0:a1, b0:b1] |= piece
        if not add.any():
            continue
        # holes the fill made: background regions now enclosed (not reaching the window's
        # edge) that were not holes of the mask before, each wholly inside the closing
        bg, nw = ndi.label(~(m | add))
        made = enclosed(bg, nw)
        made[np.unique(bg[was_hole[r0:r1, c0:c1] & (bg > 0)])] = False
        made[np.unique(bg[(bg > 0) & ~closed])] = False
        # ... but not one the network calls background that, filled, would be wider than
        # its root: the space between roots that the fill closed off (a triangle of crossing
        # roots), not a notch's bottom
        for k in np.flatnonzero(made):
            hole = bg == k
            if hole.sum() >= PUNCTURE_MIN_PX and prob[r0:r1, c0:c1][hole].mean() <= hole_level:
                made[k] = _a_puncture_here(mask, add, hole, (r0, c0))
        out[r0:r1, c0:c1] |= add | made[bg]
    return out


def root_holes(mask: np.ndarray, prob: np.ndarray, radius: int = 5, level: float = 0.5) -> np.ndarray:
    """(M, N) bool: the holes of ``mask`` that lie inside one root: punctures, not loops between roots.

    An occluder smaller than a thick root's width punches a hole in it, and a notch fill
    that takes only a hole's confident pixels leaves a smaller one: each is a loop in the
    skeleton, length and tips that the root does not have. A hole is filled whole where it
    lies wholly inside the closing of the mask with a disc of ``radius`` px (so it is no
    wider than about twice that), the root around it is at least ``NOTCH_MIN_WIDTH`` px
    wide (its area per skeleton pixel: a loop drawn by 1-px roots is never filled), and
    either the network calls it root (mean probability above ``level``) or it is a
    puncture of at least ``PUNCTURE_MIN_PX`` px: filled, the root is no wider there than ``PUNCTURE_WIDTH_RATIO`` times its
    width around it (the largest distance to the background inside the filled hole against
    the median on the root's skeleton a little farther off). A small loop between crossing
    roots, filled, is wider than the roots by the loop's own width.
    """
    mask = np.asarray(mask, bool)
    out = np.zeros(mask.shape, bool)
    box = foreground_box(mask, 1)
    if box is None:
        return out
    # the background on the box around the foreground: a region reaching none of the box's
    # edges is a hole; its size and mean probability from its own pixels only (the holes
    # are few and small beside the background)
    background, n = ndi.label(~mask[box])
    inside = enclosed(background, n)
    rows, cols = nonzero(_inside(background, inside))
    if not len(rows):
        return out
    ids = background[rows, cols]
    area = np.bincount(ids, minlength=n + 1)
    sure = np.bincount(ids, prob[box][rows, cols], n + 1) > level * np.maximum(area, 1)
    # a puncture is compact: no more area than a disc twice the closing's radius
    candidates = np.flatnonzero(inside & (sure | (area <= math.pi * (2 * radius) ** 2)))
    if not len(candidates):
        return out
    _at_most(len(candidates), "holes", mask.shape)
    holes, boxes = _pixel_boxes(ids, rows, cols)
    boxes = boxes[np.searchsorted(holes, candidates)]
    reach = 2 * radius + 2  # the closing at a pixel depends on the mask within 2 x radius of it
    sub, sub_out = mask[box], out[box]
    h, w = sub.shape
    for k, (a0, a1, b0, b1) in zip(candidates, boxes):
        sl = (slice(int(a0), int(a1)), slice(int(b0), int(b1)))
        r0, r1 = max(sl[0].start - reach, 0), min(sl[0].stop + reach, h)
        c0, c1 = max(sl[1].start - reach, 0), min(sl[1].stop + reach, w)
        m = sub[r0:r1, c0:c1]
        hole = background[r0:r1, c0:c1] == k
        if not _closed(m, radius)[hole].all():
            continue
        root = _the_root_beside(m, hole)
        if root is None or not _wide_enough(root):
            continue
        if sure[k] or (area[k] >= PUNCTURE_MIN_PX and _a_puncture(sub, background, k, sl)):
            sub_out[r0:r1, c0:c1] |= hole
    return out


PUNCTURE_WIDTH_RATIO = 1.1  # a hole is a puncture where, filled, its root is at most this much wider than around it
PUNCTURE_MIN_PX = 3  # smaller holes only where the network calls them root: a trace's crossing leaves 1-2 px holes
PUNCTURE_REACH_PX = 40  # px around a hole in which its root's width is measured, at most


def _a_puncture(mask: np.ndarray, holes: np.ndarray, k: int, sl: tuple[slice, slice]) -> bool:
    """Whether hole ``k`` of ``holes`` (its box ``sl``) is a puncture in one root of ``mask``:
    the largest half width of the root with the hole filled, inside the hole, is at most
    ``PUNCTURE_WIDTH_RATIO`` times the root's median half width on its skeleton between
    that half width + 2 and 3 times it + 6 px away from the hole."""
    h, w = mask.shape
    reach = 12  # first a window just wide enough for a thin root's ring, widened for a thick one
    while True:
        r0, r1 = max(sl[0].start - reach, 0), min(sl[0].stop + reach, h)
        c0, c1 = max(sl[1].start - reach, 0), min(sl[1].stop + reach, w)
        m = mask[r0:r1, c0:c1]
        hole = holes[r0:r1, c0:c1] == k
        root = _the_root_beside(m, hole)  # one, as in the narrower window root_holes checked: a wider one only merges
        filled = np.zeros((m.shape[0] + 2, m.shape[1] + 2), bool)  # background beyond the window
        filled[1:-1, 1:-1] = root | hole
        widest = ndi.distance_transform_edt(filled)[1:-1, 1:-1][hole].max()
        need = min(int(math.ceil(3 * widest)) + 8, PUNCTURE_REACH_PX)
        if need <= reach:
            break
        reach = need
    away = ndi.distance_transform_edt(~hole)
    ring = thin(root) & (away >= widest + 2) & (away <= 3 * widest + 6)
    if not ring.any():
        return False
    filled[1:-1, 1:-1] = root
    return bool(widest <= PUNCTURE_WIDTH_RATIO * _median(ndi.distance_transform_edt(filled)[1:-1, 1:-1][ring]))


def _a_puncture_here(mask: np.ndarray, add: np.ndarray, hole: np.ndarray, origin: tuple[int, int]) -> bool:
    """``_a_puncture`` for a hole that ``add`` made: both (bool) on a window of ``mask`` at ``origin``.
    Judged on ``mask`` with ``add``, in the window widened to as far around the hole as
    ``_a_puncture`` looks (the window's own edges would cut the roots and their widths)."""
    r0, c0 = origin
    rows, cols = np.nonzero(hole)
    a0, a1, b0, b1 = r0 + int(rows.min()), r0 + int(rows.max()) + 1, c0 + int(cols.min()), c0 + int(cols.max()) + 1
    pad = PUNCTURE_REACH_PX + 2
    h, w = mask.shape
    R0, R1 = max(min(a0 - pad, r0), 0), min(max(a1 + pad, r0 + add.shape[0]), h)
    C0, C1 = max(min(b0 - pad, c0), 0), min(max(b1 + pad, c0 + add.shape[1]), w)
    m = mask[R0:R1, C0:C1].copy()
    window = (slice(r0 - R0, r0 - R0 + add.shape[0]), slice(c0 - C0, c0 - C0 + add.shape[1]))
    m[window] |= add
    holes = np.zeros(m.shape, np.int8)
    holes[window][hole] = 1
    return _a_puncture(m, holes, 1, (slice(a0 - R0, a1 - R0), slice(b0 - C0, b1 - C0)))


def _holes(mask: np.ndarray) -> np.ndarray:
    """(M, N) bool: the mask's holes (background 4-connected regions that reach no edge of the image).

    Labelled on the box around the foreground with a 1-px margin: a background region
    inside the box that reaches none of its edges reaches none of the image's.
    """
    out = np.zeros(mask.shape, bool)
    box = foreground_box(mask, 1)
    if box is not None:
        background, n = ndi.label(~mask[box])  # 4-connected, as holes are
        out[box] = _inside(background, enclosed(background, n))
    return out


def _inside(background: np.ndarray, is_hole: np.ndarray) -> np.ndarray:
    """(M, N) bool: the pixels of the labelled regions that reach no edge of the array
    (``is_hole``, per label, from ``pixels.enclosed``). Compared with the few labels that reach an
    edge (a lookup of every pixel costs more)."""
    holes = background > 0
    for outer in np.flatnonzero(~is_hole[1:]) + 1:
        holes &= background != outer
    return holes


def _closed(m: np.ndarray, radius: int) -> np.ndarray:
    """``m``'s closing with a disc of ``radius`` px (``skimage.morphology.disk``), background
    beyond the window: ``ndi.binary_closing`` of ``m`` padded by ``radius``, cropped back.

    By two distance transforms instead of a dilation and an erosion with the disc's pi r^2
    or so offsets (the same pixels; about 1.35 times faster on a decoder's window at radius 5):
    a pixel is in the dilation where its distance to ``m`` is at most ``radius``, and in the
    closing where its distance to the dilation's background, which includes everything
    beyond the padded window (the erosion's border), is more than ``radius``.
    """
    if not m.any():
        return np.zeros(m.shape, bool)
    grown = np.zeros((m.shape[0] + 2 * radius + 2, m.shape[1] + 2 * radius + 2), bool)  # a ring of background beyond the padding
    inner = grown[1:-1, 1:-1]
    inner[radius : radius + m.shape[0], radius : radius + m.shape[1]] = m
    inner[...] = ndi.distance_transform_edt(~inner) <= radius
    return ndi.distance_transform_edt(grown)[radius + 1 : radius + 1 + m.shape[0], radius + 1 : radius + 1 + m.shape[1]] > radius


def _the_root_beside(m: np.ndarray, region: np.ndarray) -> np.ndarray | None:
    """The one 8-connected component of ``m`` beside ``region`` (both on one window), or None
    where there is none or more than one."""
    near, _ = ndi.label(m, structure=EIGHT)
    touched = _labels_beside(region, near)
    return near == touched[0] if len(touched) == 1 else None


def _wide_enough(root: np.ndarray) -> bool:
    """Whether ``root`` is at least ``NOTCH_MIN_WIDTH`` px wide (its area per skeleton pixel):
    a 1-px root is not."""
    return bool(root.sum() >= NOTCH_MIN_WIDTH * thin(root).sum())


def _overlapping_groups(boxes: np.ndarray, cell: int) -> list[np.ndarray]:
    """Indices of boxes (r0, r1, c0, c1) grouped where they overlap, directly or through
    others, on a grid of ``cell`` px (boxes sharing a cell count as overlapping)."""
    lo = np.maximum(boxes, 0) // cell
    hi = (np.maximum(boxes, 1) - 1) // cell
    grid = np.zeros((int(hi[:, 1].max()) + 1, int(hi[:, 3].max()) + 1), bool)
    for (a, _, c, _), (_, b, _, d) in zip(lo, hi):
        grid[a : b + 1, c : d + 1] = True
    cells, _ = ndi.label(grid)
    group = cells[lo[:, 0], lo[:, 2]]
    order = np.argsort(group, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(group[order])) + 1)


def _touching(added: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``added`` less its connected regions that touch no input pixel."""
    region, n = label_sparse(added, EIGHT)
    if not n:
        return added
    pairs = _neighbour_pairs(region, mask.view(np.uint8), added)
    keep = np.zeros(n + 1, bool)
    keep[pairs[:, 0]] = True
    return _on_labels(region, keep, added)

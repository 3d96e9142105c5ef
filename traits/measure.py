"""Root traits of one binary mask, RIA-J / RhizoVision-Explorer style.

Pure functions on numpy arrays: a boolean mask in, numbers out. No file I/O, no torch.

How each trait is measured (units: pixels unless ``px_size_mm`` is given):

- ``components``: 8-connected foreground components, ignoring those smaller than
  ``min_component_px`` pixels (also ignored by every other trait).
- With ``fill_holes_px`` > 0, holes (enclosed background, 4-connected) of at most that
  many pixels are filled before anything is measured: a segmentation's pits inside a
  thick root otherwise become loops of the skeleton, adding length and branch points
  (a 24-px root with pitted edges measured 1.97 times the length of the same root with
  smooth edges, and 0.90 times with holes up to 16 px filled). Off by default: crossing
  roots enclose small pockets too, and filling them merges the two roots' skeletons (on
  fibrous systems the length error against the truth went from -6.4% to -7.2% with holes
  up to 4 px filled; ``python benchmarks/bench_traits_truth.py``).
- The skeleton (Zhang and Suen's thinning, scikit-image's ``skeletonize`` pixel for
  pixel, ``rootrepair.pixels.thin``) is turned into a pixel graph (``_graph.py``: skan's
  decomposition in scipy alone, so a new process spends no time compiling or loading numba).
  Spurs — branches from a junction to an end point shorter than ``spur_factor`` times
  the root diameter at the junction (and never shorter than ``min_spur_px``) — are
  pruned, up to three rounds, because a wide root's skeleton sprouts short spurs at
  its edges that are not roots. A piece whose skeleton is one branch shorter than
  ``min_spur_px`` or than the piece is wide (a speck, a blob) keeps its pixels and its
  component but has no length and no tips: on real masks such specks added two tips each.
- ``total_length``: sum over skeleton branches of the length of each branch's pixel
  path after a 5-pixel moving average (end points fixed). A raw 8-connected chain
  (steps of 1 and sqrt 2) overestimates curves by up to 8% (at 22.5 degrees); the
  smoothing removes that staircase while straight and diagonal lines keep their exact
  length (a 101-px line measures 100). Per-pixel lengths (for the diameter classes and
  the depth share) are the chain's steps scaled by the same overall factor.
- ``tip_count``: skeleton pixels with one neighbour. ``branch_point_count``: groups of
  8-connected skeleton pixels with three or more neighbours (a junction cluster counts once).
- ``network_area``: foreground pixels. ``perimeter``: length of the outlines (holes
  too) traced by marching squares through the pixel-edge midpoints (holds at every angle).
  ``convex_hull_area``: area of the convex hull of the foreground's pixel squares, so
  ``solidity`` <= 1.
  ``solidity`` = network_area / convex_hull_area.
- ``depth`` / ``width``: vertical / horizontal extent of the foreground (pixel count
  from the first to the last row/column). ``centroid_depth``: mean row of the
  foreground below the first root row.
- Diameter at a skeleton pixel: foreground area per unit skeleton length within a
  7-px window, each foreground pixel counted for its nearest skeleton pixel (a 2-px
  root reads 2, a 45-degree 7-px root 7); mean and median are weighted by the skeleton
  length each pixel stands for. Spur pruning uses ``2 * edt - 1`` at the junction.
- ``volume`` and ``surface_area``: the skeleton as a chain of cylinders,
  sum(l * pi * d^2 / 4) and sum(l * pi * d).
- ``length_diam_*``: skeleton length whose diameter falls in each class.
- ``branching_frequency`` = branch points per unit length.
- ``median_root_count`` / ``max_root_count``: number of foreground runs crossing each
  image row, over the rows from the first to the last root row.
- ``lower_length_share``: share of the skeleton length in the lower two thirds of the depth.
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import warnings

import numpy as np
from scipy import ndimage as ndi

from rootrepair.errors import RootRepairError
from rootrepair.pixels import argwhere, enclosed, foreground_box, grown8, neighbour_counts, nonzero, point_groups, thin, thin_again

EIGHT = np.ones((3, 3), dtype=bool)


class EmptyMaskWarning(UserWarning):
    """A mask has no foreground: every trait is zero."""


@dataclasses.dataclass(frozen=True)
class TraitSettings:
    """How traits are measured. Saved in the ``settings`` sheet of every spreadsheet."""

    px_size_mm: float | None = None  # mm per pixel; None reports pixels
    min_component_px: int = 0  # components smaller than this (pixels) are ignored
    fill_holes_px: int = 0  # holes (enclosed background) of at most this many pixels are filled first
    spur_factor: float = 2.0  # prune end branches shorter than this x the local diameter
    min_spur_px: float = 6.0  # ... and never keep end branches shorter than this (pixels)
    diameter_edges: tuple[float, ...] | None = None  # class edges in output units; None: defaults

    def __post_init__(self):
        if self.px_size_mm is not None and not (math.isfinite(self.px_size_mm) and 1e-6 <= self.px_size_mm <= 1e3):
            raise RootRepairError(f"--px-size-mm must be a number from 0.000001 to 1000, got {self.px_size_mm}")
        if self.min_component_px < 0:
            raise RootRepairError(f"min_component_px must be >= 0, got {self.min_component_px}")
        if self.fill_holes_px < 0:
            raise RootRepairError(f"--fill-holes must be >= 0, got {self.fill_holes_px}")
        if not (math.isfinite(self.spur_factor) and math.isfinite(self.min_spur_px)) or self.spur_factor < 0 or self.min_spur_px < 0:
            raise RootRepairError(f"--spur-factor and --min-spur-px must be numbers >= 0, got {self.spur_factor} and {self.min_spur_px}")
        if self.diameter_edges is not None and list(self.diameter_edges) != sorted(set(self.diameter_edges)):
            raise RootRepairError(f"diameter_edges must increase strictly, got {self.diameter_edges}")

    @property
    def unit(self) -> str:
        return "px" if self.px_size_mm is None else "mm"

    @property
    def scale(self) -> float:
        return 1.0 if self.px_size_mm is None else float(self.px_size_mm)

    @property
    def edges(self) -> tuple[float, ...]:
        if self.diameter_edges is not None:
            return tuple(self.diameter_edges)
        return (3.0, 6.0, 12.0) if self.px_size_mm is None else (0.5, 1.0, 2.0)


def dpi_to_mm(dpi: float) -> float:
    """Pixel size in mm for a scan resolution in dots per inch."""
    if not (math.isfinite(dpi) and 1.0 <= dpi <= 1e6):
        raise RootRepairError(f"--dpi must be a number from 1 to 1,000,000, got {dpi}")
    return 25.4 / dpi


@dataclasses.dataclass
class SkeletonAnalysis:
    """Everything measured on the way, for traits and for QC pictures."""

    mask: np.ndarray  # (M, N) bool, specks removed
    labels: np.ndarray  # (M, N) int, 8-connected component labels of mask
    n_components: int
    skeleton: np.ndarray  # (M, N) bool, pruned
    coords: np.ndarray  # (K, 2) int, skeleton pixel (row, col)
    pixel_length: np.ndarray  # (K,) float, skeleton length each pixel stands for
    diameter: np.ndarray  # (K,) float, root diameter at each skeleton pixel (px)
    tips: np.ndarray  # (T, 2) int
    branch_points: np.ndarray  # (B, 2) int, one per junction cluster
    hull: np.ndarray  # (H, 2) float, hull polygon vertices (row, col), may be empty
    hull_area: float


def _holes_filled(mask: np.ndarray, max_px: int) -> np.ndarray:
    """``mask`` with its holes of at most ``max_px`` pixels filled: 4-connected background
    regions that reach no edge of the array (``mask`` is the box around the foreground
    with a 1-px margin, so none reaches the image's edge either)."""
    if max_px < 1:
        return mask
    background, n = ndi.label(~mask)
    small = enclosed(background, n) & (np.bincount(background.ravel(), minlength=n + 1) <= max_px)
    return mask | small[background] if small.any() else mask


def _remove_specks(mask: np.ndarray, min_px: int) -> tuple[np.ndarray, np.ndarray, int]:
    labels, n = ndi.label(mask, structure=EIGHT)
    if min_px > 1 and n:
        sizes = np.bincount(labels.ravel())
        small = sizes < min_px
        small[0] = False
        if small.any():
            mask = mask & ~small[labels]
            labels, n = ndi.label(mask, structure=EIGHT)
    return mask, labels, int(n)


def _pixel_graph(skeleton: np.ndarray):
    from rootrepair.traits._graph import PixelGraph

    return PixelGraph(skeleton)


def _linked(skeleton: np.ndarray) -> np.ndarray:
    """The skeleton less its isolated pixels: a dot has no length, no tip and no branch."""
    pts = argwhere(skeleton)
    out = np.zeros_like(skeleton, dtype=bool)
    keep = pts[neighbour_counts(skeleton, pts) > 0]
    out[keep[:, 0], keep[:, 1]] = True
    return out


def _inscribed_diameter(mask: np.ndarray):
    """A function of (K, 2) pixel coordinates: 2 * their distance to the background - 1, at least 0.

    The distance transform's value (to the nearest background pixel of the array), asked
    only where it is needed: the nearest background pixel of a foreground pixel always
    touches the foreground (one step from it toward the pixel would be nearer), so a k-d
    tree over that outline gives the same distances as ``distance_transform_edt`` over
    the whole box at a tenth of the cost.
    """
    from scipy.spatial import cKDTree

    # background pixels 8-adjacent to the foreground
    outline = argwhere(grown8(mask) & ~mask)
    # unbalanced: the same (exact) distances, built in 60% of the time
    tree = cKDTree(outline, balanced_tree=False) if len(outline) else None

    def at(points: np.ndarray) -> np.ndarray:
        points = np.asarray(points).reshape(-1, 2)
        if not len(points):
            return np.zeros(0)
        if tree is None:  # no background in the box at all: the image's edge bounds the root
            edt = ndi.distance_transform_edt(np.pad(mask, 1))
            return np.maximum(2.0 * edt[points[:, 0] + 1, points[:, 1] + 1] - 1.0, 0.0)
        d, _ = tree.query(points)
        return np.maximum(2.0 * d - 1.0, 0.0)

    return at


def _prune_spurs(skeleton: np.ndarray, diameter_at, settings: TraitSettings):
    """The pruned skeleton, and its pixel graph when the last round pruned nothing (else None)."""
    skeleton = skeleton.copy()
    for _ in range(3):
        linked = _linked(skeleton)
        if linked.sum() < 3:
            break
        skel = _pixel_graph(linked)
        table = skel.branches()
        spur = table["kind"] == 1
        lone = table["kind"] == 0
        if not (spur.any() or lone.any()):
            return skeleton, skel
        # the junction end of a junction-to-tip branch is the node of degree > 1
        src, dst = table["src"], table["dst"]
        junction = np.where(skel.degrees[src] > 1, src, dst)
        jr, jc = skel.coordinates[junction].astype(int).T
        limit = np.maximum(settings.min_spur_px, settings.spur_factor * diameter_at(np.stack([jr, jc], axis=1)))
        short = spur & (table["length"] < limit)
        # a piece that is all one branch, no longer than min_spur_px or than it is wide, is a
        # speck or a blob, not a root: it has no length and no tips (its pixels still count)
        # (all such branches at once: a mask of noise has a hundred thousand)
        lone_ids = np.flatnonzero(lone)
        if len(lone_ids):
            pixels, starts = skel.gather(lone_ids)
            widest = np.maximum.reduceat(diameter_at(skel.coordinates[pixels].astype(int)), starts)
            short[lone_ids] = table["length"][lone_ids] < np.maximum(settings.min_spur_px, widest)
        if not short.any():
            return skeleton, skel
        pixels, _ = skel.gather(np.flatnonzero(short))
        pixels = pixels[skel.degrees[pixels] <= 2]  # the whole spur goes, the junction itself stays
        r, c = skel.coordinates[pixels].astype(int).T
        skeleton[r, c] = False
        # a pruned junction may leave a 2-px stub; thin again so the graph stays clean
        skeleton = thin_again(skeleton, r, c)
    return skeleton, None


SMOOTHING_PX = 5


def _smoothed_length(skel) -> float:
    """Total length of the branches, each smoothed by a running mean of SMOOTHING_PX pixels.

    The running mean repeats a branch's first and last pixel beyond its ends and keeps
    the ends where they are; all branches go through one filter call, each padded by half
    a window of its own end pixels so that no window reaches into another branch.
    """
    from scipy.ndimage import uniform_filter1d

    if not skel.n_paths:
        return 0.0
    c, first, last = skel.chained()
    n = last - first + 1
    half = SMOOTHING_PX // 2
    span = n + 2 * half
    at = np.repeat(first - half, span) + np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
    lo, hi = np.repeat(first, span), np.repeat(last, span)
    smooth = uniform_filter1d(c[np.clip(at, lo, hi)], size=SMOOTHING_PX, axis=0)[(at >= lo) & (at <= hi)]
    short = np.repeat(n <= 2, n)  # a branch of one or two pixels is not smoothed
    smooth[short] = c[short]
    smooth[first], smooth[last] = c[first], c[last]
    step = np.linalg.norm(np.diff(smooth, axis=0), axis=1)
    step[last[:-1]] = 0.0  # from one branch's last pixel to the next branch's first: no step
    return float(step.sum())


def _convex_hull(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Hull of the foreground's pixel squares (their corners), so that area / hull <= 1.

    Only each row's first and last foreground pixel can be on the hull, and only their
    squares' corners can be its corners.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return np.empty((0, 2)), 0.0
    from scipy.spatial import ConvexHull

    box = mask[rows]
    first = box.argmax(axis=1)
    last = box.shape[1] - 1 - box[:, ::-1].argmax(axis=1)
    centres = np.concatenate([np.stack([rows, first], axis=1), np.stack([rows, last], axis=1)]).astype(float)
    corners = (centres[:, None, :] + np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])).reshape(-1, 2)
    hull = ConvexHull(corners)
    return corners[hull.vertices], float(hull.volume)


DIAMETER_WINDOW = 7  # px: area and length are pooled over this window along the skeleton


def _diameters(mask: np.ndarray, coords: np.ndarray, pixel_length: np.ndarray, tip: np.ndarray) -> np.ndarray:
    """Root diameter at each skeleton pixel: foreground area per unit skeleton length, locally.

    Every foreground pixel belongs to its nearest skeleton pixel; the diameter at a
    skeleton pixel is the area over the length of the skeleton within a
    ``DIAMETER_WINDOW`` box around it. Unlike ``2 * EDT - 1`` this holds for even
    widths (a 2-px root reads 2, not 1) and at every angle. The pixels nearest to a tip
    (``tip``, (K,) bool) are its cap, beyond the skeleton's end: they are left out, or a
    thick root's ends would read too wide.
    """
    if not len(coords):
        return np.zeros(0)
    from scipy.spatial import cKDTree

    # nearest skeleton pixel of each foreground pixel: a k-d tree over the skeleton asks
    # only about the foreground (a feature transform of the whole box cost 15x more)
    fr, fc = nonzero(mask)
    _, nearest = cKDTree(coords).query(np.stack([fr, fc], axis=1))
    area = np.bincount(nearest, minlength=len(coords)).astype(np.float64)
    length = np.asarray(pixel_length, np.float64).copy()
    area[tip] = 0.0
    length[tip] = 0.0
    # window sums at the skeleton pixels only (two whole-image filters cost several times
    # more): one gather per window offset from the skeleton's bounding box, flattened
    # (np.take on a 1-D array is several times faster than indexing a 2-D one)
    k = DIAMETER_WINDOW // 2
    low = coords.min(axis=0) - k
    r, c = (coords - low).T
    w = int(coords[:, 1].max() - low[1] + k + 1)
    at = r * w + c
    size = int(coords[:, 0].max() - low[0] + k + 1) * w
    area_grid, length_grid = np.zeros(size), np.zeros(size)
    area_grid[at], length_grid[at] = area, length
    a, ln = np.zeros(len(coords)), np.zeros(len(coords))
    for dr in range(-k, k + 1):
        for offset in range(dr * w - k, dr * w + k + 1):
            a += area_grid.take(at + offset)
            ln += length_grid.take(at + offset)
    return np.maximum(np.divide(a, ln, out=np.ones_like(a), where=ln > 1e-9), 1.0)


def analyse_skeleton(mask: np.ndarray, settings: TraitSettings = TraitSettings()) -> SkeletonAnalysis:
    """Skeletonise, build the graph, prune spurs; the shared first step of every trait.

    Parameters
    ----------
    mask : (M, N) array-like of bool
    settings : TraitSettings
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise RootRepairError(f"mask must be 2-D, got shape {mask.shape}")
    full_shape = mask.shape
    mask = mask.astype(bool)
    # work inside the bounding box (plus a 1-px frame): root masks are mostly empty
    # nothing to measure: a 1-px box, not every step over the whole image (a 20000^2 scan took 170 s)
    box = foreground_box(mask, 1) or np.s_[:1, :1]
    r0, c0 = box[0].start or 0, box[1].start or 0
    mask = mask[box]
    mask, labels, n = _remove_specks(_holes_filled(mask, settings.fill_holes_px), settings.min_component_px)
    diameter_at = _inscribed_diameter(mask)
    skeleton = thin(mask)
    skeleton, skel = _prune_spurs(skeleton, diameter_at, settings)
    empty2 = np.empty((0, 2), dtype=int)
    linked = _linked(skeleton)
    if linked.sum() >= 2:
        skel = skel if skel is not None else _pixel_graph(linked)
        coords = skel.coordinates.astype(int)
        pixel_length = np.asarray(skel.graph.sum(axis=1)).ravel() / 2.0
        chain = pixel_length.sum()
        if chain > 0:
            pixel_length *= _smoothed_length(skel) / chain
        degrees = skel.degrees
        tips = coords[degrees == 1]
        # one point per junction cluster: the cluster pixel nearest its mean position
        jcoords = coords[degrees >= 3]
        cluster, nj = point_groups(jcoords)
        counts = np.bincount(cluster, minlength=nj)
        mean_r = np.bincount(cluster, jcoords[:, 0], minlength=nj) / np.maximum(counts, 1)
        mean_c = np.bincount(cluster, jcoords[:, 1], minlength=nj) / np.maximum(counts, 1)
        dist = (jcoords[:, 0] - mean_r[cluster]) ** 2 + (jcoords[:, 1] - mean_c[cluster]) ** 2
        order = np.lexsort((dist, cluster))
        first = order[np.r_[True, cluster[order][1:] != cluster[order][:-1]]] if len(order) else order
        branch_points = jcoords[first] if nj else empty2
    else:
        coords = argwhere(skeleton)
        pixel_length = np.zeros(len(coords))
        tips, branch_points = empty2, empty2
    hull, hull_area = _convex_hull(mask)
    if pixel_length.sum() > 0:
        diameter = _diameters(mask, coords, pixel_length, skel.degrees == 1)
    else:
        diameter = diameter_at(coords)
    offset = np.array([r0, c0])

    def _full(a: np.ndarray) -> np.ndarray:
        out = np.zeros(full_shape, dtype=a.dtype)
        out[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]] = a
        return out

    return SkeletonAnalysis(
        mask=_full(mask),
        labels=_full(labels),
        n_components=n,
        skeleton=_full(skeleton),
        coords=coords + offset,
        pixel_length=pixel_length,
        diameter=diameter,
        tips=tips + offset,
        branch_points=branch_points + offset,
        hull=hull + offset if len(hull) else hull,
        hull_area=hull_area,
    )


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, cum[-1] / 2.0)])


def _row_runs(mask: np.ndarray) -> np.ndarray:
    """Number of foreground runs in each row."""
    starts = mask[:, 1:] & ~mask[:, :-1]
    return starts.sum(axis=1) + mask[:, 0]


def trait_names(settings: TraitSettings = TraitSettings()) -> list[str]:
    """Column names, with units, in the order ``measure_traits`` returns them."""
    return list(measure_traits(np.zeros((1, 1), bool), settings, _quiet=True))


def measure_traits(mask: np.ndarray, settings: TraitSettings = TraitSettings(), *, _quiet: bool = False) -> dict[str, float]:
    """Measure root traits of one mask.

    Parameters
    ----------
    mask : (M, N) array-like of bool
        Foreground (root) pixels are True.
    settings : TraitSettings
        Units, speck size, spur pruning, diameter classes.

    Returns
    -------
    traits : dict of str to float
        Names carry their unit (``total_length_mm``). An empty mask gives zeros and an
        ``EmptyMaskWarning``.

    Examples
    --------
    >>> m = np.zeros((3, 103), bool); m[1, 1:102] = True
    >>> measure_traits(m)["total_length_px"]
    100.0
    """
    a = analyse_skeleton(mask, settings)
    return traits_from_analysis(a, settings, _quiet=_quiet)


def traits_from_analysis(a: SkeletonAnalysis, settings: TraitSettings, *, _quiet: bool = False) -> dict[str, float]:
    u, s = settings.unit, settings.scale
    mask = a.mask
    per_row = mask.sum(axis=1)
    area_px = float(per_row.sum())
    if area_px == 0 and not _quiet:
        warnings.warn("mask has no foreground: every trait is 0", EmptyMaskWarning, stacklevel=3)
    length_px = float(a.pixel_length.sum())
    rows = np.flatnonzero(per_row)
    cols = np.flatnonzero(mask.any(axis=0))
    depth_px = float(rows[-1] - rows[0] + 1) if len(rows) else 0.0
    width_px = float(cols[-1] - cols[0] + 1) if len(cols) else 0.0
    top = rows[0] if len(rows) else 0
    centroid_px = float(int(np.arange(len(per_row)) @ per_row) / area_px - top) if area_px else 0.0
    w, d = a.pixel_length, a.diameter
    has_len = length_px > 0
    mean_d = float((w * d).sum() / length_px) if has_len else 0.0
    median_d = _weighted_median(d, w) if has_len else 0.0
    max_d = float(d.max()) if len(d) else 0.0
    volume_px = float((w * math.pi * d**2 / 4).sum())
    surface_px = float((w * math.pi * d).sum())
    runs = _row_runs(mask)[rows[0] : rows[-1] + 1] if len(rows) else np.zeros(1)
    lower = a.coords[:, 0] >= top + depth_px / 3.0 if len(a.coords) else np.zeros(0, bool)
    lower_share = float(w[lower].sum() / length_px) if has_len else 0.0

    out: dict[str, float] = {
        "components": float(a.n_components),
        f"total_length_{u}": length_px * s,
        "tip_count": float(len(a.tips)),
        "branch_point_count": float(len(a.branch_points)),
        f"branching_frequency_per_{u}": (len(a.branch_points) / (length_px * s)) if has_len else 0.0,
        f"network_area_{u}2": area_px * s * s,
        f"convex_hull_area_{u}2": a.hull_area * s * s,
        "solidity": area_px / a.hull_area if a.hull_area > 0 else 0.0,
        f"perimeter_{u}": _perimeter(mask) * s,
        f"depth_{u}": depth_px * s,
        f"width_{u}": width_px * s,
        "width_depth_ratio": width_px / depth_px if depth_px else 0.0,
        f"centroid_depth_{u}": centroid_px * s,
        f"mean_diameter_{u}": mean_d * s,
        f"median_diameter_{u}": median_d * s,
        f"max_diameter_{u}": max_d * s,
        f"volume_{u}3": volume_px * s**3,
        f"surface_area_{u}2": surface_px * s**2,
        "median_root_count": float(np.median(runs)),
        "max_root_count": float(runs.max()),
        "lower_length_share": lower_share,
    }
    edges = settings.edges
    d_out = d * s
    bounds = (0.0, *edges, math.inf)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        name = f"length_diam_{_num(lo)}_{_num(hi)}_{u}" if hi != math.inf else f"length_diam_over_{_num(lo)}_{u}"
        sel = (d_out >= lo) & (d_out < hi)
        out[name] = float(w[sel].sum()) * s
    return out


def _num(x: float) -> str:
    return f"{x:g}".replace(".", "p")


def _crossed_sides() -> np.ndarray:
    """(16, 2): the two sides (0 top, 1 bottom, 2 left, 3 right) of a cell crossed on two,
    by the code sum(2**side): a lookup instead of sorting every cell's four flags."""
    table = np.zeros((16, 2), np.intp)
    for i, j in itertools.combinations(range(4), 2):
        table[(1 << i) | (1 << j)] = i, j
    return table


_CROSSED_SIDES = _crossed_sides()


def _perimeter(mask: np.ndarray) -> float:
    """Length of the foreground's outlines (holes too), traced through the pixel-edge midpoints.

    Marching squares at level 0.5 follows an oblique edge instead of its staircase, so a
    root's perimeter holds at every angle (scikit-image's ``perimeter`` was -98% to +39%
    on oblique thin roots). Each outline is then smoothed like the skeleton: every vertex
    becomes the mean of itself and the two vertices on each side along the outline.

    The same numbers as ``skimage.measure.find_contours(padded, 0.5)`` with each closed
    contour smoothed by a wrapping running mean of ``SMOOTHING_PX`` (outlines of fewer
    vertices kept as they are), without ordering the contours: the outline's vertices are
    the midpoints between 4-adjacent pixels that differ, each joined to exactly two others
    by the 2 x 2 cells beside it, so a vertex's neighbours and their neighbours are all
    that smoothing needs (3-4x faster than tracing).
    """
    box = foreground_box(mask)
    if box is None:
        return 0.0
    b = np.pad(mask[box], 1)  # closed outlines: background all round
    h, w = b.shape
    hx = b[:, :-1] != b[:, 1:]  # vertex (r, c + 0.5), id r * (w - 1) + c
    vx = b[:-1, :] != b[1:, :]  # vertex (r + 0.5, c), id nh + r * w + c
    nh = h * (w - 1)
    top, bottom, left, right = hx[:-1], hx[1:], vx[:, :-1], vx[:, 1:]  # the four sides of cell (r, c)
    cr, cc = nonzero(top | bottom | left | right)  # cells the outline crosses, on 2 sides or 4
    t, lv = cr * (w - 1) + cc, nh + cr * w + cc
    side = np.stack([t, t + (w - 1), lv, lv + 1], axis=1)  # ids of top, bottom, left, right
    crossed = np.stack([top[cr, cc], bottom[cr, cc], left[cr, cc], right[cr, cc]], axis=1)
    four = crossed.all(axis=1)
    # two sides crossed: they are joined
    two = ~four
    first_two = _CROSSED_SIDES[(crossed[two] * np.array([1, 2, 4, 8], np.uint8)).sum(axis=1)]
    joined = [np.take_along_axis(side[two], first_two, axis=1)]
    # four (a diagonal pair of foreground pixels): each foreground corner is cut off on its
    # own, as find_contours does by default (the background is the fully connected phase)
    s4, tl = side[four], b[cr[four], cc[four]][:, None]  # tl: top-left and bottom-right are foreground
    joined += [np.where(tl, s4[:, [0, 2]], s4[:, [0, 3]]), np.where(tl, s4[:, [1, 3]], s4[:, [2, 1]])]
    u, v = np.concatenate(joined).T
    ends, others = np.concatenate([u, v]), np.concatenate([v, u])
    order = np.argsort(ends, kind="stable")
    ids = ends[order[0::2]]  # every vertex ends exactly two joins
    n1, n2 = np.searchsorted(ids, others[order[0::2]]), np.searchsorted(ids, others[order[1::2]])
    horiz = ids < nh
    rest = ids - nh
    p = np.stack([np.where(horiz, ids // (w - 1), rest // w + 0.5), np.where(horiz, ids % (w - 1) + 0.5, rest % w)], axis=1)
    idx = np.arange(len(ids))
    a2 = np.where(n1[n1] == idx, n2[n1], n1[n1])  # two steps one way round
    b2 = np.where(n1[n2] == idx, n2[n2], n1[n2])  # and the other
    smooth = (p[a2] + p[n1] + p + p[n2] + p[b2]) / SMOOTHING_PX
    # an outline is a closed lattice path, so its length is even; at most SMOOTHING_PX
    # vertices means 4 (one pixel, or a one-pixel hole), where both ways meet in two steps
    tiny = a2 == b2
    smooth[tiny] = p[tiny]
    steps = np.linalg.norm(smooth - smooth[n1], axis=1) + np.linalg.norm(smooth - smooth[n2], axis=1)
    return float(0.5 * steps.sum())  # each step counted from both of its ends

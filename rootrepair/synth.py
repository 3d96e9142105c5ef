"""Procedural root systems with known ground truth.

A root is grown as a polyline in small steps. Its heading follows a damped random
process (angular velocity ``omega <- damping * omega + tortuosity * noise``) plus a pull
toward its preferred angle (straight down for the taproot, a plagiotropic angle for
laterals: gravitropism). Laterals are inserted along each parent outside its basal and
apical unbranched zones, at roughly regular spacing, alternating sides, at an insertion
angle; they are shorter toward the parent's tip, thinner than their parent, and branch
again up to ``max_order``. Roots that reach a rhizotron wall bend along it.

The mask is the union of tubes around the polylines (tapering radius), rasterised by
keeping the pixels whose centre lies inside the tube: the anti-aliased coverage
thresholded at one half. Ground truth is the polylines themselves: the true total length
and the number of apices (one per root).

Everything is seeded: ``generate_root_system(cfg, seed)`` gives the same roots for the
same seed and config.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from rootrepair.errors import RootRepairError


@dataclasses.dataclass(frozen=True)
class RootConfig:
    """Parameters of the root-system generator. Lengths are in pixels."""

    height: int = 2500  # rhizotron mask height (px)
    width: int = 1000  # rhizotron mask width (px)
    px_size_mm: float = 0.1  # recorded in the ground truth
    n_primary: tuple[int, int] = (1, 1)  # taproot(s) / seminal roots, inclusive range
    primary_spread_deg: float = 0.0  # initial heading spread of the primaries around vertical
    primary_length: tuple[float, float] = (0.55, 0.92)  # share of the height
    primary_radius: tuple[float, float] = (2.5, 4.0)  # at the base
    taper: float = 0.55  # radius at the apex = (1 - taper) * base radius
    step: float = 4.0  # growth step
    tortuosity_deg: float = 1.2  # sd of the angular noise per step
    damping: float = 0.6  # memory of the angular velocity
    gravitropism: float = 0.06  # pull of the heading toward the preferred angle, per step
    max_order: int = 3  # 1: no laterals; 2: laterals; 3: laterals of laterals
    branch_spacing: tuple[float, float] = (45.0, 70.0)  # mean inter-branch distance, per order 2 / 3
    basal_zone: float = 0.04  # unbranched share at the base of a parent
    apical_zone: float = 0.15  # unbranched share at the tip of a parent
    insertion_deg: tuple[float, float] = (45.0, 80.0)
    lateral_length: tuple[float, float] = (0.08, 0.3)  # order-2 length as share of height, at the base
    lateral_length_decay: float = 0.7  # laterals near the parent's tip are this much shorter
    order3_length: tuple[float, float] = (0.01, 0.04)  # order-3 length as share of height
    plagiotropic_deg: float = 65.0  # preferred angle of laterals from vertical
    lateral_gravitropism: float = 0.015
    radius_ratio: tuple[float, float] = (0.35, 0.55)  # lateral radius / parent radius there
    min_radius: float = 0.7
    wall_margin: int = 6
    top_margin: tuple[int, int] = (20, 80)  # where the seed sits (rows from the top)
    root_hairs: bool = False  # 1-px hairs near the tips of thin roots
    jitter: float = 0.0  # probability of flipping each boundary pixel (segmentation noise)
    specks: int = 0  # number of small foreground specks (segmentation noise)
    noise: float = 0.0  # strength of segmentation-like noise (0: none, 1: typical); see add_segmentation_noise

    def __post_init__(self):
        if self.height < 32 or self.width < 32:
            raise RootRepairError(f"mask must be at least 32 x 32 px, got {self.height} x {self.width}")
        if not 0.0 <= self.noise <= 3.0:
            raise RootRepairError(f"noise must be between 0 and 3, got {self.noise}")
        if not 1 <= self.max_order <= 3:
            raise RootRepairError(f"max_order must be 1, 2 or 3, got {self.max_order}")


PRESETS: dict[str, RootConfig] = {
    "chickpea": RootConfig(),
    "fibrous": RootConfig(
        n_primary=(3, 6),
        primary_spread_deg=35.0,
        primary_length=(0.45, 0.9),
        primary_radius=(1.8, 2.8),
        max_order=2,
        branch_spacing=(30.0, 60.0),
        lateral_length=(0.03, 0.12),
        plagiotropic_deg=55.0,
        tortuosity_deg=1.5,
        gravitropism=0.04,
    ),
}


def get_preset(name: str, **overrides) -> RootConfig:
    """A preset config by name, with keyword overrides."""
    if name not in PRESETS:
        raise RootRepairError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dataclasses.replace(PRESETS[name], **overrides)


@dataclasses.dataclass
class Root:
    points: np.ndarray  # (K, 2) float (row, col)
    radii: np.ndarray  # (K,) float
    order: int
    parent: int  # index into the root list, -1 for a primary

    @property
    def length(self) -> float:
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum()) if len(self.points) > 1 else 0.0


@dataclasses.dataclass
class RootSystem:
    config: RootConfig
    seed: int
    roots: list[Root]
    mask: np.ndarray  # (H, W) bool

    @property
    def total_length(self) -> float:
        return float(sum(r.length for r in self.roots))

    @property
    def apex_count(self) -> int:
        return len(self.roots)

    @property
    def end_count(self) -> int:
        """End points a skeleton of the mask should have: every apex, and the base of each primary root."""
        return len(self.roots) + sum(r.order == 1 for r in self.roots)

    def truth(self) -> dict:
        """Ground truth as JSON-ready data (pixel units; ``px_size_mm`` given)."""
        return {
            "seed": self.seed,
            "height": self.config.height,
            "width": self.config.width,
            "px_size_mm": self.config.px_size_mm,
            "total_length_px": self.total_length,
            "apex_count": self.apex_count,
            "end_count": self.end_count,
            "roots": [
                {
                    "order": r.order,
                    "parent": r.parent,
                    "points": np.round(r.points, 2).tolist(),
                    "radii": np.round(r.radii, 3).tolist(),
                }
                for r in self.roots
            ],
        }


def _grow(
    rng: np.random.Generator,
    cfg: RootConfig,
    start: tuple[float, float],
    heading: float,
    length: float,
    radius0: float,
    preferred: float,
    gravi: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Grow one polyline. ``heading`` in radians, 0 = straight down, positive toward +col."""
    h, w, m = cfg.height, cfg.width, cfg.wall_margin
    n = max(2, int(length / cfg.step) + 1)
    noise = rng.normal(0.0, math.radians(cfg.tortuosity_deg), n)
    pts = np.empty((n, 2))
    r, c = start
    omega = 0.0
    pts[0] = (r, c)
    k = 1
    while k < n:
        omega = cfg.damping * omega + noise[k]
        diff = math.atan2(math.sin(preferred - heading), math.cos(preferred - heading))
        heading += omega + gravi * diff
        nr = r + cfg.step * math.cos(heading)
        nc = c + cfg.step * math.sin(heading)
        if nc < m or nc > w - 1 - m:  # a wall: bend along it, downward
            nc = min(max(nc, m), w - 1 - m)
            heading = 0.15 * (1 if nc < w / 2 else -1)
            omega = 0.0
        if nr > h - 1 - m:  # the bottom: run along it
            nr = h - 1 - m
            heading = math.copysign(math.pi / 2, heading if heading != 0 else 1.0)
            omega = 0.0
        if nr < m:
            nr = m
            heading = 0.0
        r, c = nr, nc
        pts[k] = (r, c)
        k += 1
    t = np.linspace(0.0, 1.0, n)
    radii = np.maximum(radius0 * (1.0 - cfg.taper * t), cfg.min_radius)
    return pts, radii


def _laterals(rng, cfg: RootConfig, roots: list[Root], parent_idx: int) -> None:
    parent = roots[parent_idx]
    order = parent.order + 1
    if order > cfg.max_order or len(parent.points) < 4:
        return
    seg = np.linalg.norm(np.diff(parent.points, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    total = s[-1]
    spacing = cfg.branch_spacing[0] if order == 2 else cfg.branch_spacing[1]
    pos = total * cfg.basal_zone + rng.exponential(spacing * 0.5)
    end = total * (1.0 - cfg.apical_zone)
    side = 1 if rng.random() < 0.5 else -1
    while pos < end:
        i = int(np.searchsorted(s, pos))
        i = min(max(i, 1), len(parent.points) - 1)
        d = parent.points[i] - parent.points[i - 1]
        p_heading = math.atan2(d[1], d[0])
        frac = pos / total
        side = -side if rng.random() < 0.8 else side
        heading = p_heading + side * math.radians(rng.uniform(*cfg.insertion_deg))
        if order == 2:
            lo, hi = cfg.lateral_length
            length = cfg.height * rng.uniform(lo, hi) * (1.0 - cfg.lateral_length_decay * frac)
        else:
            length = cfg.height * rng.uniform(*cfg.order3_length) * (1.0 - 0.5 * frac)
        radius0 = max(parent.radii[i] * rng.uniform(*cfg.radius_ratio), cfg.min_radius)
        preferred = math.copysign(math.radians(cfg.plagiotropic_deg), math.sin(heading) or side)
        pts, radii = _grow(rng, cfg, tuple(parent.points[i]), heading, length, radius0, preferred, cfg.lateral_gravitropism)
        roots.append(Root(pts, radii, order, parent_idx))
        _laterals(rng, cfg, roots, len(roots) - 1)
        pos += spacing * rng.uniform(0.5, 1.5)


def rasterise(roots: list[Root], shape: tuple[int, int]) -> np.ndarray:
    """The union of the tubes around the polylines, as a boolean mask."""
    from rootrepair._kernels import rasterise_segments

    out = np.zeros(shape, dtype=bool)
    segs = [(r.points[:-1], r.points[1:], r.radii[:-1], r.radii[1:]) for r in roots if len(r.points) > 1]
    if not segs:
        return out
    p0 = np.concatenate([s[0] for s in segs])
    p1 = np.concatenate([s[1] for s in segs])
    rad0 = np.concatenate([s[2] for s in segs])
    rad1 = np.concatenate([s[3] for s in segs])
    rasterise_segments(out, p0[:, 0].copy(), p0[:, 1].copy(), p1[:, 0].copy(), p1[:, 1].copy(), rad0, rad1)
    return out


def _realism(rng, cfg: RootConfig, roots: list[Root], mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage as ndi

    if cfg.root_hairs:
        hairs = []
        for r in roots:
            if r.radii[-1] > 1.5 or len(r.points) < 6:
                continue
            tip_zone = r.points[-min(len(r.points) - 1, 12) :]
            for p in tip_zone[rng.random(len(tip_zone)) < 0.6]:
                ang = rng.uniform(0, 2 * math.pi)
                ln = rng.uniform(3, 8)
                q = p + ln * np.array([math.cos(ang), math.sin(ang)])
                hairs.append(Root(np.stack([p, q]), np.array([0.5, 0.5]), 9, -1))
        if hairs:
            mask = mask | rasterise(hairs, mask.shape)
    if cfg.jitter > 0:
        edge = mask ^ ndi.binary_erosion(mask)
        outer = ndi.binary_dilation(mask) & ~mask
        flip = rng.random(mask.shape) < cfg.jitter
        mask = (mask & ~(edge & flip)) | (outer & flip)
    if cfg.specks > 0:
        rows = rng.integers(0, mask.shape[0], cfg.specks)
        cols = rng.integers(0, mask.shape[1], cfg.specks)
        for rr, cc in zip(rows, cols):
            s = int(rng.integers(1, 4))
            mask[rr : rr + s, cc : cc + s] = True
    if cfg.noise > 0:
        mask = add_segmentation_noise(mask, rng, cfg.noise)
    return mask


def add_segmentation_noise(mask: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A clean mask made to look like a segmenter's output; its topology is kept.

    At ``strength`` 1 (values scale counts and sizes):

    - rough, lumpy edges: the signed distance to the edge plus a smooth random field
      (sd 0.7 px, correlation about 2 px), thresholded at 0;
    - blobs: about 12 per megapixel, discs of radius 2-5 px stuck to a root's edge;
    - holes in thick roots: about 15 per megapixel, 1-4 px, where the root is wider than 7 px;
    - root hairs: about 60 per megapixel, 1-px lines of 3-8 px leaving an edge outwards;
    - specks: about 40 per megapixel, 1-10 px, half within 15 px of a root (not on its
      line), half anywhere.

    The clean mask's skeleton is always kept, so no root is broken by the noise: a
    repair evaluated on a noisy mask is judged on gaps that were made on purpose.

    Parameters
    ----------
    mask : (M, N) ndarray of bool
    rng : numpy.random.Generator
    strength : float
        0 returns the mask unchanged.
    """
    from scipy import ndimage as ndi
    from skimage.draw import disk, line

    from rootrepair.pixels import thin

    mask = np.asarray(mask, bool)
    if strength <= 0 or not mask.any():
        return mask.copy()
    h, w = mask.shape
    mp = h * w / 1e6

    def count(per_mp: float) -> int:
        return int(rng.poisson(per_mp * mp * strength))

    inside = ndi.distance_transform_edt(mask)
    outside = ndi.distance_transform_edt(~mask)
    signed = np.where(mask, inside - 0.5, 0.5 - outside)
    field = ndi.gaussian_filter(rng.standard_normal(mask.shape).astype(np.float32), 2.0)
    field *= 0.7 * strength / max(float(field.std()), 1e-6)
    out = (signed + field > 0) | thin(mask)
    edge = np.argwhere(mask & (inside <= 1.0))
    if len(edge):
        for r, c in edge[rng.integers(len(edge), size=count(12))]:
            out[disk((r, c), rng.uniform(2, 5) * min(strength, 1.5), shape=mask.shape)] = True
        # hairs leave along the outward normal (the gradient of the outside distance)
        gy, gx = np.gradient(ndi.gaussian_filter(mask.astype(np.float32), 1.5))
        for r, c in edge[rng.integers(len(edge), size=count(60))]:
            n = -np.array([gy[r, c], gx[r, c]])
            norm = float(np.hypot(*n))
            if norm < 1e-6:
                continue
            n = n / norm + rng.normal(0, 0.3, 2)
            ln = rng.uniform(3, 8)
            rr, cc = line(int(r), int(c), int(round(r + ln * n[0])), int(round(c + ln * n[1])))
            ok = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
            out[rr[ok], cc[ok]] = True
    thick = np.argwhere(inside > 4.0)
    if len(thick):
        for r, c in thick[rng.integers(len(thick), size=count(15))]:
            out[disk((r, c), rng.uniform(0.6, 2.0), shape=mask.shape)] = False
    near = np.argwhere((outside > 4) & (outside < 15))
    for k in range(count(40)):
        if k % 2 == 0 and len(near):
            r, c = near[rng.integers(len(near))]
        else:
            r, c = rng.integers(h), rng.integers(w)
        size = int(rng.integers(1, 11))
        pts = [(int(r), int(c))]
        while len(pts) < size:  # a random 8-connected cluster
            pr, pc = pts[int(rng.integers(len(pts)))]
            pts.append((int(np.clip(pr + rng.integers(-1, 2), 0, h - 1)), int(np.clip(pc + rng.integers(-1, 2), 0, w - 1))))
        pr, pc = np.array(pts).T
        out[pr, pc] = True
    return out


def generate_root_system(cfg: RootConfig = RootConfig(), seed: int = 0) -> RootSystem:
    """Grow and rasterise one root system.

    Parameters
    ----------
    cfg : RootConfig
        Use ``get_preset("chickpea")`` or ``get_preset("fibrous")`` for the presets.
    seed : int
        The same seed and config give the same roots and mask.
    """
    rng = np.random.default_rng(seed)
    roots: list[Root] = []
    n_primary = int(rng.integers(cfg.n_primary[0], cfg.n_primary[1] + 1))
    top = rng.uniform(*cfg.top_margin)
    centre = cfg.width / 2 + rng.uniform(-0.15, 0.15) * cfg.width
    for k in range(n_primary):
        spread = math.radians(cfg.primary_spread_deg)
        heading = rng.uniform(-spread, spread) if n_primary > 1 else rng.normal(0, math.radians(5))
        length = cfg.height * rng.uniform(*cfg.primary_length)
        radius0 = rng.uniform(*cfg.primary_radius)
        pts, radii = _grow(rng, cfg, (top, centre), heading, length, radius0, heading * 0.3, cfg.gravitropism)
        roots.append(Root(pts, radii, 1, -1))
        _laterals(rng, cfg, roots, len(roots) - 1)
    mask = rasterise(roots, (cfg.height, cfg.width))
    mask = _realism(rng, cfg, roots, mask)
    return RootSystem(cfg, seed, roots, mask)


def write_truth(path: str | Path, system: RootSystem) -> Path:
    from rootrepair.io import atomic_write

    data = json.dumps(system.truth())
    return atomic_write(path, lambda tmp: Path(tmp).write_text(data))


def write_dataset(
    out: str | Path,
    n: int,
    *,
    cfg: RootConfig = RootConfig(),
    seed: int = 0,
    gaps: str | None = "mix",
    on_image=None,
    overwrite: bool = False,
) -> Path:
    """Write ``n`` synthetic root systems: ``clean/``, ``gappy/``, ``gapmask/``, ``truth/`` and ``truth.csv``.

    Image ``i`` uses seed ``seed + i`` for the roots and for its gaps, so any one image can be
    regenerated alone. ``gaps=None`` writes ``clean/`` and the truth only.
    """
    import pandas as pd

    from rootrepair import io as rio
    from rootrepair.gaps import coverage, make_gaps

    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RootRepairError(f"{out} exists and is not empty; choose a new folder or pass --force")
    rows = []
    for i in range(n):
        s = seed + i
        system = generate_root_system(cfg, s)
        name = f"root_{s:05d}"
        rio.write_mask(out / "clean" / f"{name}.png", system.mask)
        write_truth(out / "truth" / f"{name}.json", system)
        row = {
            "image": name,
            "seed": s,
            "px_size_mm": cfg.px_size_mm,
            "true_length_px": system.total_length,
            "apex_count": system.apex_count,
            "end_count": system.end_count,
            "foreground_px": int(system.mask.sum()),
        }
        if gaps:
            gappy, gapmask = make_gaps(system.mask, gaps, np.random.default_rng([s, 1]))
            rio.write_mask(out / "gappy" / f"{name}.png", gappy)
            rio.write_mask(out / "gapmask" / f"{name}.png", gapmask)
            cov = coverage(system.mask, gapmask)
            row.update(gaps=gaps, gap_area_share=cov["area_share"], gap_foreground_share=cov["foreground_share"])
        rows.append(row)
        if on_image:
            on_image(name)
    rio.write_csv(out / "truth.csv", pd.DataFrame(rows))
    return out

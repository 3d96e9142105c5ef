"""Root systems from a second, independent architecture model, for generalisation checks only.

The project's network learned on `rootrepair.synth`'s systems (2-D growth). Masks from other
root-architecture simulators (CRootBox / CPlantBox, OpenSimRoot, ArchiSimple and the like)
differ: they grow roots in 3-D and project them onto the image, so roots cross one another and
laterals leave their parent at every azimuth, foreshortened; widths taper along each root. This
module is a small model of that kind, written apart from `rootrepair.synth` (no code or
parameter shared) so that a benchmark can ask how the repair does on systems it never saw:

- ``"taproot"``: one primary root (radius 3-6 px at the base) with first-order laterals at
  60-85 degrees to it, each with a few short second-order laterals;
- ``"fibrous"``: 4-7 seminal roots from one point at up to 35 degrees from the vertical, the
  same laterals: a dense system whose projection is full of crossings.

Each root is a 3-D random walk (a unit step direction perturbed by Gaussian noise and pulled
down by gravitropism), drawn as tapering tubes of the projected path (row, column; the
third coordinate is dropped). Not part of the package: benchmarks only.
"""
from __future__ import annotations

import numpy as np

from rootrepair._kernels import rasterise_segments

KINDS = ("taproot", "fibrous")


def _walk(rng, start, direction, length, r_base, r_tip, step, tortuosity, gravity):
    """(K, 3) points of a random walk from ``start`` and (K,) radii tapering from ``r_base`` to ``r_tip``."""
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    pts = [np.asarray(start, float)]
    for _ in range(max(int(length / step), 2)):
        d = d + rng.normal(0.0, tortuosity, 3) + np.array([gravity, 0.0, 0.0])
        d /= np.linalg.norm(d)
        pts.append(pts[-1] + d * step)
    pts = np.array(pts)
    return pts, np.linspace(r_base, r_tip, len(pts))


def _branch_direction(rng, axis, angle):
    """A unit vector at ``angle`` (radians) from ``axis``, at a random azimuth around it."""
    axis = axis / np.linalg.norm(axis)
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    phi = rng.uniform(0.0, 2 * np.pi)
    return np.cos(angle) * axis + np.sin(angle) * (np.cos(phi) * u + np.sin(phi) * v)


def _roots(seed: int, kind: str, shape: tuple[int, int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every root of one system: (K, 3) points and (K,) radii each."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    rng = np.random.default_rng(seed)
    roots = []
    origin = np.array([30.0, shape[1] / 2, 0.0])
    n_axes = 1 if kind == "taproot" else int(rng.integers(4, 8))
    for _ in range(n_axes):
        tilt = 0.0 if kind == "taproot" else rng.uniform(-0.6, 0.6)
        pts, rad = _walk(rng, origin, [np.cos(tilt), np.sin(tilt), rng.normal(0, 0.2)],
                         rng.uniform(1200, 1900), rng.uniform(3, 6), 1.2, 6.0, 0.05, 0.02)
        roots.append((pts, rad))
        for j in range(4, len(pts) - 10, int(rng.integers(3, 7))):
            if rng.random() < 0.35:
                continue
            axis = pts[j + 1] - pts[j]
            length = rng.uniform(40, 400) * (1 - j / len(pts)) + 20
            lat, lrad = _walk(rng, pts[j], _branch_direction(rng, axis, rng.uniform(1.05, 1.5)), length,
                              max(rad[j] * 0.45, 1.0), 0.7, 5.0, 0.12, 0.005)
            roots.append((lat, lrad))
            for q in range(3, len(lat) - 4, int(rng.integers(4, 9))):
                if rng.random() < 0.6:
                    continue
                sub, srad = _walk(rng, lat[q], _branch_direction(rng, lat[q + 1] - lat[q], rng.uniform(0.6, 1.4)),
                                  rng.uniform(10, 60), 0.8, 0.6, 4.0, 0.15, 0.0)
                roots.append((sub, srad))
    return roots


def _draw(roots, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, bool)
    for pts, rad in roots:
        rasterise_segments(out, pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1], rad[:-1], rad[1:])
    return out


def root_system(seed: int, kind: str = "taproot", shape: tuple[int, int] = (2000, 1000)) -> np.ndarray:
    """A (rows, cols) bool mask of one projected root system (every root starts on its parent's path)."""
    return _draw(_roots(seed, kind, shape), shape)


def root_system_truth(seed: int, kind: str = "taproot", shape: tuple[int, int] = (2000, 1000)) -> tuple[np.ndarray, float, int]:
    """``root_system``'s mask with its truth: the total length of the roots' projected paths
    (px) and the ends a skeleton of it would have without overlaps (every root's apex and
    the one point all axes start from). Roots run on beyond the image's edge only rarely;
    their length is counted there too."""
    roots = _roots(seed, kind, shape)
    length = float(sum(np.hypot(*np.diff(pts[:, :2], axis=0).T).sum() for pts, _ in roots))
    return _draw(roots, shape), length, len(roots) + 1

"""Blind metrics of a repair: computed on the whole output, never only inside the true gaps.

Notation: ``Y`` the complete mask, ``X`` the gappy input, ``R`` the repaired binary mask,
``P`` the repaired probability (``R`` itself for methods without one). C(.) counts
8-connected components.

- ``mse``               = mean over all pixels of (P - Y)^2
- ``mse_gaps``          = mean over the gap-shape pixels of (P - Y)^2
- ``rel_pixel_diff``    = (|X != Y| - |R != Y|) / |X != Y|
- ``rel_comp_diff``     = (|C(X) - C(Y)| - |C(R) - C(Y)|) / |C(X) - C(Y)|
  (both: 1 = perfect repair, 0 = no change, negative = worse than no repair;
  the paper's |before - after| / before would score a repair that makes things worse as
  an improvement, so the sign is kept here)
- ``gap_recall``        = |R & Y & ~X| / |Y & ~X|: share of the removed foreground restored
- ``false_positive_px`` = |R & ~Y|: foreground added where there is none, anywhere
- ``fp_per_gap_px``     = false_positive_px / |Y & ~X|
- ``fp_apart_per_gap_px`` = |R & ~Y & ~N(Y)| / |Y & ~X|, N(Y) the 8 neighbours of Y's pixels: the
  false positives that do not touch the truth (a spurious join, a blob, a lengthened tip),
  without those on a root's outline (a repair drawn a pixel wider than the root, or a pixel
  to one side), which are most of ``fp_per_gap_px`` on thin roots
- ``betti0_error``      = |C(R) - C(Y)|
- ``false_joins``       = sum over components of R of (number of components of Y it holds pixels of - 1)^+:
  pieces of the truth that a repair wrongly joined (a speck joined to a root, two roots
  joined across soil). Betti-0 alone would reward such a join when gaps are left open.
- ``cldice``            = 2 Tp Ts / (Tp + Ts), Tp = |S(R) & Y| / |S(R)|, Ts = |S(Y) & R| / |S(Y)|
- ``length_err`` / ``tips_err`` / ``hull_err``: |trait(R) - trait(Y)| / trait(Y), from the traits module
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage as ndi

from rootrepair.pixels import foreground_box, grown8, thin

EIGHT = np.ones((3, 3), bool)


def components(mask: np.ndarray) -> int:
    """8-connected components of ``mask`` (counted on the box around its foreground)."""
    mask = np.asarray(mask, bool)
    box = foreground_box(mask)
    return 0 if box is None else int(ndi.label(mask[box], structure=EIGHT)[1])


def _safe_ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def cldice(pred: np.ndarray, truth: np.ndarray) -> float:
    sp, st = thin(pred), thin(truth)
    tp = _safe_ratio((sp & truth).sum(), sp.sum())
    ts = _safe_ratio((st & pred).sum(), st.sum())
    if not (tp + ts) or np.isnan(tp) or np.isnan(ts):
        return float("nan")
    return 2 * tp * ts / (tp + ts)


def false_joins(truth: np.ndarray, repaired: np.ndarray) -> int:
    """How many components of ``truth`` the components of ``repaired`` join beyond one each."""
    lr, _ = ndi.label(repaired, structure=EIGHT)
    ly, _ = ndi.label(truth, structure=EIGHT)
    both = (lr > 0) & (ly > 0)
    pairs = np.unique(np.stack([lr[both], ly[both]]), axis=1)
    if not pairs.size:
        return 0
    per_r = np.bincount(pairs[0])
    return int(np.maximum(per_r - 1, 0).sum())


def repair_metrics(
    truth: np.ndarray,
    gappy: np.ndarray,
    repaired: np.ndarray,
    gaps: np.ndarray,
    prob: np.ndarray | None = None,
    *,
    traits: bool = True,
) -> dict[str, float]:
    """Every metric of the module docstring for one sample.

    Parameters
    ----------
    truth, gappy, repaired, gaps : (M, N) ndarray of bool
    prob : (M, N) ndarray of float, optional
        The method's foreground probability; MSE uses ``repaired`` when absent.
    traits : bool
        Also compute the trait errors (slower: skeleton graphs).
    """
    Y, X, R, G = (np.asarray(a, bool) for a in (truth, gappy, repaired, gaps))
    P = R.astype(np.float32) if prob is None else np.asarray(prob, np.float32)
    err = (P - Y) ** 2
    missing = Y & ~X
    c_y, c_x, c_r = components(Y), components(X), components(R)
    fp = int((R & ~Y).sum())
    out = {
        "mse": float(err.mean()),
        "mse_gaps": float(err[G].mean()) if G.any() else float("nan"),
        "rel_pixel_diff": _safe_ratio((X != Y).sum() - (R != Y).sum(), (X != Y).sum()),
        "rel_comp_diff": _safe_ratio(abs(c_x - c_y) - abs(c_r - c_y), abs(c_x - c_y)),
        "gap_recall": _safe_ratio((R & missing).sum(), missing.sum()),
        "false_positive_px": float(fp),
        "fp_per_gap_px": _safe_ratio(fp, missing.sum()),
        "fp_apart_per_gap_px": _safe_ratio(int((R & ~grown8(Y)).sum()), missing.sum()),
        "betti0_error": float(abs(c_r - c_y)),
        "false_joins": float(false_joins(Y, R)),
        "cldice": cldice(R, Y),
    }
    if traits:
        from rootrepair.traits import measure_traits

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ty, tr = measure_traits(Y), measure_traits(R)
        for name, key in (("length_err", "total_length_px"), ("tips_err", "tip_count"), ("hull_err", "convex_hull_area_px2")):
            out[name] = _safe_ratio(abs(tr[key] - ty[key]), ty[key])
    return out


# metrics where smaller is better (for choosing the best method and the tests' direction)
LOWER_IS_BETTER = {"mse", "mse_gaps", "false_positive_px", "fp_per_gap_px", "fp_apart_per_gap_px", "betti0_error", "false_joins", "length_err", "tips_err", "hull_err"}

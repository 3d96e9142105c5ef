"""Compare traits before repair, after repair and by an expert (the paper's Table IV).

Pure functions on DataFrames. Formulas (also written into the spreadsheet's notes sheet):

- ``change_after_pct``  = 100 * (after - before) / before
- ``change_expert_pct`` = 100 * (expert - before) / before
- ``error_before_pct``  = 100 * |before - expert| / expert
- ``error_after_pct``   = 100 * |after - expert| / expert
- ``closer`` = error_after_pct < error_before_pct (the repair moved the trait toward the expert)

A ratio whose denominator is 0 is left empty (NaN), never infinite.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

FORMULAS = {
    "change_after_pct": "100 * (after - before) / before",
    "change_expert_pct": "100 * (expert - before) / before",
    "error_before_pct": "100 * |before - expert| / expert",
    "error_after_pct": "100 * |after - expert| / expert",
    "closer": "error_after_pct < error_before_pct",
    "paired tests": "paired t-test and Wilcoxon signed-rank test of error_before_pct vs error_after_pct, per trait",
}


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype(float)
    return 100.0 * num.astype(float) / den.where(den != 0)


def compare_traits(
    after: pd.DataFrame,
    *,
    before: pd.DataFrame | None = None,
    expert: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (image, trait) with the values and the relative changes / errors.

    Parameters
    ----------
    after : DataFrame
        Index: image key; columns: traits. The repaired masks (or the only set).
    before, expert : DataFrame, optional
        Same layout. Only images present in ``after`` and in each given table are kept.

    Returns
    -------
    DataFrame with columns ``image, trait, before, after, expert`` and whichever of
    the formulas above the given tables allow.
    """
    keys = after.index
    for other in (before, expert):
        if other is not None:
            keys = keys.intersection(other.index)
    keys = keys.sort_values()
    trait_cols = list(after.columns)
    long = after.loc[keys, trait_cols].stack(future_stack=True).rename("after").to_frame()
    if before is not None:
        long["before"] = before.loc[keys, trait_cols].stack(future_stack=True)
    if expert is not None:
        long["expert"] = expert.loc[keys, trait_cols].stack(future_stack=True)
    long.index.names = ["image", "trait"]
    long = long.reset_index()
    if before is not None:
        long["change_after_pct"] = _ratio(long["after"] - long["before"], long["before"])
    if expert is not None and before is not None:
        long["change_expert_pct"] = _ratio(long["expert"] - long["before"], long["before"])
        long["error_before_pct"] = _ratio((long["before"] - long["expert"]).abs(), long["expert"])
    if expert is not None:
        long["error_after_pct"] = _ratio((long["after"] - long["expert"]).abs(), long["expert"])
    if expert is not None and before is not None:
        both = long["error_before_pct"].notna() & long["error_after_pct"].notna()
        long["closer"] = (long["error_after_pct"] < long["error_before_pct"]).where(both)
    cols = ["image", "trait"] + [c for c in ("before", "after", "expert") if c in long] + [
        c for c in FORMULAS if c in long
    ]
    return long[cols]


def _paired_tests(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    from scipy import stats

    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if len(a) < 2 or np.allclose(a, b):
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        # differences that are all (nearly) the same, e.g. every image 1 tip closer, make scipy
        # warn of precision loss on the terminal; the p-value it gives (near 0) stands
        warnings.simplefilter("ignore", RuntimeWarning)
        t_p = float(stats.ttest_rel(a, b).pvalue)
        try:
            w_p = float(stats.wilcoxon(a, b).pvalue)
        except ValueError:
            w_p = float("nan")
    return t_p, w_p


def summarise_comparison(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per trait: n, mean and sd of each value and formula, share closer, paired tests.

    The tests compare ``error_before_pct`` with ``error_after_pct`` over images
    (paired t-test and Wilcoxon signed-rank); NaN when fewer than 2 pairs or no difference.
    """
    rows = []
    value_cols = [c for c in comparison.columns if c not in ("image", "trait", "closer")]
    for trait, g in comparison.groupby("trait", sort=False):
        row = {"trait": trait, "n": int(len(g))}
        for c in value_cols:
            row[f"{c}_mean"] = float(g[c].mean())
            row[f"{c}_sd"] = float(g[c].std(ddof=1)) if len(g) > 1 else float("nan")
        if "closer" in g:
            row["closer_share"] = float(g["closer"].dropna().astype(float).mean()) if g["closer"].notna().any() else float("nan")
        if "error_before_pct" in g and "error_after_pct" in g:
            t_p, w_p = _paired_tests(g["error_before_pct"].to_numpy(float), g["error_after_pct"].to_numpy(float))
            row["ttest_p"] = t_p
            row["wilcoxon_p"] = w_p
        rows.append(row)
    return pd.DataFrame(rows)

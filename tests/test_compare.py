import numpy as np
import pandas as pd
from numpy.testing import assert_almost_equal

from rootrepair.traits.compare import compare_traits, summarise_comparison


def _frames():
    idx = pd.Index(["a", "b", "c"], name="image")
    before = pd.DataFrame({"total_length_px": [80.0, 50.0, 90.0], "tip_count": [6.0, 4.0, 0.0]}, index=idx)
    after = pd.DataFrame({"total_length_px": [95.0, 60.0, 100.0], "tip_count": [4.0, 2.0, 2.0]}, index=idx)
    expert = pd.DataFrame({"total_length_px": [100.0, 70.0, 100.0], "tip_count": [2.0, 2.0, 2.0]}, index=idx)
    return before, after, expert


def test_formulas_by_hand():
    before, after, expert = _frames()
    c = compare_traits(after, before=before, expert=expert).set_index(["image", "trait"])
    row = c.loc[("a", "total_length_px")]
    assert_almost_equal(row["change_after_pct"], 100 * 15 / 80)
    assert_almost_equal(row["change_expert_pct"], 100 * 20 / 80)
    assert_almost_equal(row["error_before_pct"], 20.0)
    assert_almost_equal(row["error_after_pct"], 5.0)
    assert bool(row["closer"])
    # a zero denominator gives an empty cell, not infinity
    assert np.isnan(c.loc[("c", "tip_count"), "change_after_pct"])


def test_summary_tests_and_closer_share():
    before, after, expert = _frames()
    s = summarise_comparison(compare_traits(after, before=before, expert=expert)).set_index("trait")
    length = s.loc["total_length_px"]
    assert length["n"] == 3
    assert_almost_equal(length["error_before_pct_mean"], (20 + 100 * 20 / 70 + 10) / 3)
    assert length["closer_share"] == 1.0
    assert 0 < length["ttest_p"] < 1


def test_unmatched_images_are_left_out_of_the_comparison():
    before, after, expert = _frames()
    c = compare_traits(after, expert=expert.drop(index="b"))
    assert sorted(c["image"].unique()) == ["a", "c"]
    assert "change_after_pct" not in c and "error_after_pct" in c


def test_the_same_improvement_on_every_image_prints_no_warning():
    """Errors 10 -> 5 % on each of four images: the differences do not vary, which makes
    scipy's t-test warn of precision loss; a user's terminal must not show that."""
    import warnings

    idx = pd.Index(["a", "b", "c", "d"], name="image")
    expert = pd.DataFrame({"total_length_px": [100.0, 200.0, 300.0, 400.0]}, index=idx)
    before = expert * 0.9
    after = expert * 0.95
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = summarise_comparison(compare_traits(after, before=before, expert=expert)).set_index("trait")
    row = s.loc["total_length_px"]
    assert_almost_equal(row["error_before_pct_mean"], 10.0)
    assert_almost_equal(row["error_after_pct_mean"], 5.0)
    assert row["closer_share"] == 1.0

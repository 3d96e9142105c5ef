import numpy as np
import pytest

from rootrepair.errors import RootRepairError
from rootrepair.gaps import GAP_KINDS, GapConfig, blob_library, coverage, make_gaps, square_gaps
from rootrepair.synth import generate_root_system, get_preset


@pytest.fixture(scope="module")
def patches():
    """Foreground-rich 256 x 256 patches of synthetic roots."""
    out = []
    rng = np.random.default_rng(0)
    for seed in range(3):
        m = generate_root_system(get_preset("chickpea", height=1200, width=600), seed).mask
        for _ in range(40):
            r, c = rng.integers(0, m.shape[0] - 256), rng.integers(0, m.shape[1] - 256)
            p = m[r : r + 256, c : c + 256]
            if p.mean() > 0.01:
                out.append(p)
    return out


@pytest.mark.parametrize("kind", GAP_KINDS)
def test_gaps_remove_only_foreground_and_are_deterministic(kind, patches):
    p = patches[0]
    x1, g1 = make_gaps(p, kind, np.random.default_rng(5))
    x2, g2 = make_gaps(p, kind, np.random.default_rng(5))
    assert np.array_equal(x1, x2) and np.array_equal(g1, g2)
    assert np.array_equal(x1, p & ~g1)  # corrupted = mask minus the gaps, nothing added
    assert (p & g1).any()  # gaps sit on the structure


def test_square_gap_keeps_row_column_order():
    # a single foreground pixel in a wide, short image: the gap must be centred on it
    m = np.zeros((200, 400), bool)
    m[10, 350] = True
    cfg = GapConfig(square_per_patch=(1, 1), square_size=(5, 5))
    _, g = square_gaps(m, np.random.default_rng(0), cfg)
    rows, cols = np.nonzero(g)
    assert rows.min() == 8 and rows.max() == 12
    assert cols.min() == 348 and cols.max() == 352


def test_mix_coverage_is_about_a_third_of_the_foreground(patches):
    rng = np.random.default_rng(1)
    shares = [coverage(p, make_gaps(p, "mix", rng)[1])["foreground_share"] for p in patches]
    assert 0.2 <= np.mean(shares) <= 0.45


def test_coverage_by_hand():
    m = np.zeros((10, 10), bool)
    m[5, :] = True
    g = np.zeros_like(m)
    g[4:7, 0:3] = True
    c = coverage(m, g)
    assert c["area_share"] == pytest.approx(9 / 100)
    assert c["foreground_share"] == pytest.approx(3 / 10)
    assert coverage(np.zeros_like(m), g)["foreground_share"] == 0.0


def test_empty_mask_gets_no_gaps():
    m = np.zeros((64, 64), bool)
    for kind in GAP_KINDS:
        x, g = make_gaps(m, kind, np.random.default_rng(0))
        assert not x.any()


def test_blob_library_is_fixed_and_varied():
    lib = blob_library()
    assert len(lib) == 64 and lib[0].shape == (32, 32)
    assert len({b.sum() for b in lib}) > 10


def test_unknown_kind():
    with pytest.raises(RootRepairError, match="mix"):
        make_gaps(np.zeros((8, 8), bool), "holes", np.random.default_rng(0))

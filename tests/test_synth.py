import numpy as np
import pytest

from rootrepair.errors import RootRepairError
from rootrepair.synth import Root, generate_root_system, get_preset, rasterise, write_dataset
from rootrepair.traits import measure_traits


def small(**kw):
    return get_preset("chickpea", height=600, width=300, **kw)


def test_same_seed_same_roots():
    a = generate_root_system(small(), 7)
    b = generate_root_system(small(), 7)
    c = generate_root_system(small(), 8)
    assert np.array_equal(a.mask, b.mask)
    assert a.total_length == b.total_length
    assert not np.array_equal(a.mask, c.mask)


def test_ground_truth_is_consistent():
    s = generate_root_system(small(), 3)
    assert s.apex_count == len(s.roots) > 1
    orders = {r.order for r in s.roots}
    assert orders <= {1, 2, 3} and 1 in orders and 2 in orders
    assert all(r.parent < i for i, r in enumerate(s.roots))
    assert s.mask.shape == (600, 300) and s.mask.any()
    truth = s.truth()
    assert truth["apex_count"] == s.apex_count and len(truth["roots"]) == s.apex_count


def test_presets_and_errors():
    f = generate_root_system(get_preset("fibrous", height=600, width=300), 1)
    assert sum(r.order == 1 for r in f.roots) >= 3
    with pytest.raises(RootRepairError, match="chickpea"):
        get_preset("maize")


def test_rasterised_tube_has_the_radius():
    root = Root(np.array([[10.0, 10.0], [10.0, 90.0]]), np.array([2.0, 2.0]), 1, -1)
    m = rasterise([root], (21, 101))
    assert m[:, 50].sum() == 5  # pixel centres within 2 px of the axis: rows 8..12


def test_measured_length_matches_truth_without_crossings():
    """Unbranched roots never cross: the skeleton length is the polyline length within 3%."""
    for seed in range(5):
        s = generate_root_system(small(max_order=1), seed)
        t = measure_traits(s.mask)
        assert t["total_length_px"] == pytest.approx(s.total_length, rel=0.03)
        assert t["tip_count"] == s.end_count == 2  # the apex and the base


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_measured_tips_match_apices_on_a_branched_root_without_crossings(seed):
    s = generate_root_system(small(max_order=2, branch_spacing=(120.0, 200.0), lateral_length=(0.04, 0.06)), seed)
    t = measure_traits(s.mask)
    assert t["total_length_px"] == pytest.approx(s.total_length, rel=0.03)
    assert t["tip_count"] == s.end_count == s.apex_count + 1  # every apex, and the taproot's base


def test_synth_cli_writes_dataset_with_truth(tmp_path):
    import pandas as pd
    from typer.testing import CliRunner

    from rootrepair.cli import app
    from rootrepair.io import read_mask

    out = tmp_path / "syn"
    r = CliRunner().invoke(app, ["synth", str(out), "-n", "2", "--seed", "5", "--height", "300", "--width", "200", "--gaps", "mix"])
    assert r.exit_code == 0, r.output
    truth = pd.read_csv(out / "truth.csv")
    assert list(truth["seed"]) == [5, 6]
    for name in truth["image"]:
        clean, _ = read_mask(out / "clean" / f"{name}.png")
        gappy, _ = read_mask(out / "gappy" / f"{name}.png")
        gaps, _ = read_mask(out / "gapmask" / f"{name}.png", foreground="white")
        assert np.array_equal(gappy, clean & ~gaps)
        assert (out / "truth" / f"{name}.json").exists()
    assert (truth["gap_foreground_share"] > 0).all()
    # the same seed gives the same files; a non-empty folder is refused without --force
    r = CliRunner().invoke(app, ["synth", str(out), "-n", "1"])
    assert r.exit_code == 1 and "--force" in r.output
    again = write_dataset(tmp_path / "again", 1, cfg=get_preset("chickpea", height=300, width=200), seed=5, gaps="mix")
    assert np.array_equal(read_mask(again / "gappy" / "root_00005.png")[0], read_mask(out / "gappy" / "root_00005.png")[0])


def test_segmentation_noise_keeps_every_root_whole():
    from skimage.morphology import skeletonize

    from rootrepair.synth import add_segmentation_noise

    m = np.zeros((300, 300), bool)
    m[20:280, 148:153] = True  # a 5-px root
    m[150:152, 20:148] = True  # a 2-px lateral
    noisy = add_segmentation_noise(m, np.random.default_rng(3), 1.0)
    assert (noisy[skeletonize(m)]).all()  # no root is broken
    assert (noisy != m).sum() > 50  # but the edges, hairs and specks changed
    same = add_segmentation_noise(m, np.random.default_rng(3), 1.0)
    assert (same == noisy).all()
    assert (add_segmentation_noise(m, np.random.default_rng(3), 0.0) == m).all()


@pytest.mark.parametrize("n", ["0", "-3"])
def test_synth_needs_at_least_one_system(tmp_path, n):
    from typer.testing import CliRunner

    from rootrepair.cli import app

    r = CliRunner().invoke(app, ["synth", str(tmp_path / "syn"), "-n", n])
    assert r.exit_code == 1 and "-n must be at least 1" in r.output and not (tmp_path / "syn").exists()

import numpy as np
import pytest
from scipy import ndimage as ndi

from rootrepair import pixels
from rootrepair.pixels import argwhere, nonzero, thin


def test_nonzero_gives_rows_and_columns_in_row_major_order():
    m = np.zeros((3, 4), bool)
    m[2, 3] = m[0, 1] = m[2, 0] = True
    rows, cols = nonzero(m)
    assert rows.tolist() == [0, 2, 2] and cols.tolist() == [1, 0, 3]
    assert argwhere(m).tolist() == [[0, 1], [2, 0], [2, 3]]
    labels = np.array([[0, 5], [7, 0]], np.int32)  # any dtype: non-zero values, not only True
    assert [a.tolist() for a in nonzero(labels)] == [[0, 1], [1, 0]]


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (1, 1), (7, 3), (64, 65)])
def test_nonzero_and_argwhere_match_numpy(shape):
    rng = np.random.default_rng(0)
    for share in (0.0, 0.3, 1.0):
        m = rng.random(shape) < share
        for ours, theirs in zip(nonzero(m), np.nonzero(m)):
            assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)
        assert argwhere(m).shape == np.argwhere(m).shape and np.array_equal(argwhere(m), np.argwhere(m))


def test_nonzero_refuses_other_than_two_dimensions():
    with pytest.raises(ValueError):
        nonzero(np.ones(3, bool))


def test_thin_keeps_what_is_already_thin_and_takes_nothing_from_nothing():
    line = np.zeros((5, 9), bool)
    line[2, 1:8] = True  # a 1-px line: every pixel is needed
    assert np.array_equal(thin(line), line)
    diagonal = np.eye(6, dtype=bool)
    assert np.array_equal(thin(diagonal), diagonal)
    dot = np.zeros((3, 3), bool)
    dot[1, 1] = True
    assert np.array_equal(thin(dot), dot)
    assert not thin(np.zeros((4, 4), bool)).any()
    assert thin(np.zeros((0, 5), bool)).shape == (0, 5)
    assert np.array_equal(pixels._thin_border(line), line) and not pixels._thin_border(np.zeros((4, 4), bool)).any()
    with pytest.raises(ValueError):
        thin(np.ones((2, 2, 2), bool))


def test_thin_takes_a_thick_bar_down_to_one_pixel_rows_middle():
    bar = np.zeros((9, 20), bool)
    bar[3:6, 2:18] = True  # 3 rows: the middle row (4) is the skeleton away from the ends
    for skel in (thin(bar), pixels._thin_border(bar)):
        assert skel[4, 5:15].all() and not skel[3, 5:15].any() and not skel[5, 5:15].any()
        assert not (skel & ~bar).any()


@pytest.mark.parametrize("route", ["as chosen", "own", "scikit-image's above the foreground share"])
def test_thin_is_scikit_images_skeletonize_pixel_for_pixel(monkeypatch, route):
    from skimage.morphology import skeletonize

    from rootrepair.synth import add_segmentation_noise, generate_root_system, get_preset

    if route == "own":  # the border-following thinning even on small or dense masks
        monkeypatch.setattr(pixels, "THIN_OWN_MIN_PX", 0)
        monkeypatch.setattr(pixels, "THIN_OWN_MAX_SHARE", 1.0)
    if route.startswith("scikit"):
        monkeypatch.setattr(pixels, "THIN_OWN_MAX_SHARE", 0.0)
    rng = np.random.default_rng(7)
    masks = [rng.random(tuple(rng.integers(1, 40, 2))) < rng.uniform(0.05, 0.97) for _ in range(300)]
    root = generate_root_system(get_preset("fibrous"), 11).mask[:600, :500]
    masks += [root, add_segmentation_noise(root, np.random.default_rng(3)), ~root[:200, :200]]
    if route == "as chosen":  # which takes its own way on the root mask
        assert root.size >= pixels.THIN_OWN_MIN_PX and root.sum() <= pixels.THIN_OWN_MAX_SHARE * root.size
    for m in masks:
        assert np.array_equal(thin(m), skeletonize(m))


@pytest.mark.parametrize("own_route", [False, True])
def test_thin_again_after_removing_pixels_is_thin_of_what_is_left(monkeypatch, own_route):
    from skimage.morphology import skeletonize

    if own_route:
        monkeypatch.setattr(pixels, "THIN_OWN_MIN_PX", 0)
        monkeypatch.setattr(pixels, "THIN_OWN_MAX_SHARE", 1.0)
    rng = np.random.default_rng(5)
    for _ in range(300):
        m = rng.random(tuple(rng.integers(2, 40, 2))) < rng.uniform(0.05, 0.95)
        skel = thin(m)
        pts = np.argwhere(skel)
        gone = pts[rng.random(len(pts)) < rng.uniform(0.02, 0.5)]
        skel[gone[:, 0], gone[:, 1]] = False
        assert np.array_equal(pixels.thin_again(skel, gone[:, 0], gone[:, 1]), skeletonize(skel))


def test_thin_again_leaves_a_cut_line_as_two_lines():
    line = np.zeros((5, 12), bool)
    line[2, 1:11] = True  # 1 px wide: every pixel needed, before and after the cut
    line[2, 5] = False
    out = pixels.thin_again(line, np.array([2]), np.array([5]))
    assert out[2, 1:5].all() and out[2, 6:11].all() and out.sum() == 9


@pytest.mark.parametrize("share", [None, 1.0])
def test_label_sparse_is_ndimage_label(monkeypatch, share):
    """The same labels and numbering as scipy's label, on random masks of any density, with
    4- and 8-connectivity (also with every mask grouped by its pixels, share 1.0); by hand:
    pixels far apart stay apart, diagonal ones join only under 8-connectivity, and an empty
    mask has none."""
    from rootrepair.pixels import label_sparse

    if share is not None:
        monkeypatch.setattr(pixels, "LABEL_SPARSE_MAX_SHARE", share)

    rng = np.random.default_rng(21)
    for _ in range(300):
        m = rng.random(tuple(rng.integers(1, 70, 2))) < rng.random() ** 2
        for structure in (None, np.ones((3, 3), bool)):
            expected, n = ndi.label(m, structure=structure)
            got, k = label_sparse(m, structure)
            assert k == n and (got == expected).all()
    m = np.zeros((40, 40), bool)
    m[0, 0] = m[1, 1] = True  # diagonal neighbours
    m[30, 0] = True  # far below, across empty rows
    m[0, 30] = True  # far right, across empty columns
    labels, n = label_sparse(m)
    assert n == 4 and labels[0, 0] != labels[1, 1]
    labels, n = label_sparse(m, np.ones((3, 3), bool))
    assert n == 3 and labels[0, 0] == labels[1, 1] == 1 and labels[0, 30] == 2 and labels[30, 0] == 3
    assert label_sparse(np.zeros((5, 5), bool))[1] == 0
    with pytest.raises(ValueError):
        label_sparse(np.zeros((2, 2, 2), bool))
    with pytest.raises(ValueError, match="structure"):
        label_sparse(m, np.ones((5, 5), bool))


def test_point_groups_are_the_8_connected_groups_numbered_as_ndimage_labels():
    """Junction clusters in traits, and label_sparse, take their groups from here."""
    from rootrepair.pixels import point_groups

    pts = np.array([[0, 0], [0, 5], [1, 1], [3, 3]])  # (0,0)-(1,1) touch diagonally
    group, n = point_groups(pts)
    assert n == 3 and group.tolist() == [0, 1, 0, 2]
    assert point_groups(np.zeros((0, 2), int))[1] == 0
    rng = np.random.default_rng(0)
    for _ in range(200):
        m = rng.random(tuple(rng.integers(1, 30, 2))) < rng.uniform(0.02, 0.6)
        labels, count = ndi.label(m, structure=np.ones((3, 3)))
        pts = np.argwhere(m)
        group, n = point_groups(pts)
        assert n == count and np.array_equal(group, labels[pts[:, 0], pts[:, 1]] - 1)

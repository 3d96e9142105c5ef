import math

import numpy as np
import pytest
from numpy.testing import assert_almost_equal
from skimage.draw import circle_perimeter

from rootrepair.traits import EmptyMaskWarning, TraitSettings, dpi_to_mm, measure_traits, trait_names


def test_horizontal_line_length(line_mask):
    t = measure_traits(line_mask)
    assert_almost_equal(t["total_length_px"], 100)
    assert t["tip_count"] == 2 and t["branch_point_count"] == 0 and t["components"] == 1
    assert t["network_area_px2"] == 101
    assert t["width_px"] == 101 and t["depth_px"] == 1
    assert t["median_root_count"] == 1


def test_diagonal_line_length():
    m = np.zeros((110, 110), bool)
    idx = np.arange(101)
    m[idx + 3, idx + 3] = True
    assert_almost_equal(measure_traits(m)["total_length_px"], 100 * math.sqrt(2))


def test_y_has_three_tips_and_one_branch_point(y_mask):
    t = measure_traits(y_mask)
    assert t["tip_count"] == 3
    assert t["branch_point_count"] == 1
    assert_almost_equal(t["total_length_px"], 19 + 1 + 2 * 14 * math.sqrt(2), decimal=0)


def test_wide_root_does_not_sprout_fake_tips():
    m = np.zeros((120, 40), bool)
    m[10:110, 17:23] = True  # a 6-px wide root
    t = measure_traits(m)
    assert t["tip_count"] == 2
    assert t["branch_point_count"] == 0


def test_ring_has_no_tips():
    m = np.zeros((60, 60), bool)
    rr, cc = circle_perimeter(30, 30, 20)
    m[rr, cc] = True
    t = measure_traits(m)
    assert t["tip_count"] == 0 and t["components"] == 1


def test_two_lines_are_two_components():
    m = np.zeros((20, 50), bool)
    m[5, 2:40] = True
    m[15, 2:40] = True
    t = measure_traits(m)
    assert t["components"] == 2 and t["tip_count"] == 4
    assert t["median_root_count"] == 0 and t["max_root_count"] == 1  # rows between them are empty


def test_min_component_px_ignores_specks():
    m = np.zeros((20, 50), bool)
    m[5, 2:40] = True
    m[15, 10:12] = True
    assert measure_traits(m, TraitSettings(min_component_px=5))["components"] == 1


def test_l_shape_convex_hull_area():
    m = np.zeros((20, 20), bool)
    m[2:12, 2] = True  # vertical arm, pixel centres rows 2..11
    m[11, 2:12] = True  # horizontal arm, cols 2..11
    t = measure_traits(m)
    # hull of the pixel squares: the 10 x 10 box of rows/cols 1.5..11.5 less the triangle
    # above the line from the corner (1.5, 2.5) to (10.5, 11.5): 100 - 9 * 9 / 2
    assert_almost_equal(t["convex_hull_area_px2"], 59.5)
    assert_almost_equal(t["solidity"], 19 / 59.5)


def test_diameter_of_a_band():
    m = np.zeros((40, 200), bool)
    m[10:15, 5:195] = True  # 5 px wide
    t = measure_traits(m)
    assert t["median_diameter_px"] == pytest.approx(5, abs=0.05)
    assert t["max_diameter_px"] == pytest.approx(5, abs=0.5)
    # cylinders of diameter 5 along the skeleton
    assert t["volume_px3"] == pytest.approx(t["total_length_px"] * math.pi * 25 / 4, rel=0.02)
    assert t["length_diam_3_6_px"] == pytest.approx(t["total_length_px"])


def test_dpi_conversion(line_mask):
    px = 25.4 / 254  # 254 dpi: 0.1 mm per pixel
    assert_almost_equal(dpi_to_mm(254), px)
    t = measure_traits(line_mask, TraitSettings(px_size_mm=px))
    assert_almost_equal(t["total_length_mm"], 10.0)
    assert_almost_equal(t["network_area_mm2"], 101 * 0.01)
    assert "total_length_px" not in t


def test_lower_length_share():
    m = np.zeros((100, 20), bool)
    m[0:99, 10] = True  # vertical root, depth 99: the lower two thirds start at row 33
    t = measure_traits(m)
    assert_almost_equal(t["lower_length_share"], 65 / 98, decimal=2)


def test_empty_mask_gives_zeros_and_warns():
    with pytest.warns(EmptyMaskWarning):
        t = measure_traits(np.zeros((10, 10), bool))
    assert all(v == 0 for v in t.values())
    assert list(t) == trait_names()


def test_bad_settings_say_what_is_wrong():
    with pytest.raises(Exception, match="px-size-mm"):
        TraitSettings(px_size_mm=-1)


def test_isolated_pixels_do_not_crash_and_have_no_length():
    m = np.zeros((20, 20), bool)
    m[3, 3] = m[15, 12] = True  # two 1-px dots: a skeleton of isolated pixels
    t = measure_traits(m)
    assert t["components"] == 2 and t["total_length_px"] == 0 and t["tip_count"] == 0
    m[10, 2:12:2] = True  # a dotted line
    assert measure_traits(m)["total_length_px"] == 0


def test_specks_and_blobs_have_no_tips_but_count_as_components():
    m = np.zeros((60, 120), bool)
    m[10, 10:60] = True  # a 1-px root, 50 px: 2 tips, length 49
    m[30:32, 10:14] = True  # a 2 x 4 speck: its skeleton is a 2-3 px line, shorter than min_spur_px
    m[40:49, 40:49] = True  # a 9 x 9 blob: its skeleton is shorter than the blob is wide
    m[30:32, 80:100] = True  # a 2 x 20 piece of root: a root, 2 tips
    t = measure_traits(m)
    assert t["components"] == 4
    assert t["tip_count"] == 4
    assert t["network_area_px2"] == 50 + 8 + 81 + 40
    assert_almost_equal(t["total_length_px"], 49 + 19, decimal=0)


def test_rough_thick_root_has_two_tips():
    m = np.zeros((60, 240), bool)
    m[22:37, 20:220] = True  # a 15-px root, 200 px long
    for k, col in enumerate(range(30, 210, 7)):  # 26 bumps of 3 x 3 px on both edges
        row = 19 if k % 2 else 37
        m[row : row + 3, col : col + 3] = True
    t = measure_traits(m)
    assert t["tip_count"] == 2
    m2 = np.zeros((60, 240), bool)
    m2[22:37, 20:220] = True
    m2[19:22, 100:103] = True  # one 3-px bump
    assert measure_traits(m2)["tip_count"] == 2


def test_fill_holes_closes_pits_up_to_its_size():
    bar = np.zeros((60, 240), bool)
    bar[20:41, 20:220] = True  # a 21-px root, 200 px long: 4200 px
    pitted = bar.copy()
    for col in (60, 100, 140):
        pitted[23, col] = pitted[37, col + 20] = False  # six 1-px pits near its edges
    pitted[28:33, 180:185] = False  # and one 5 x 5 hole
    # each hole is a loop of the skeleton around it: the loops meet the rest at junctions
    assert measure_traits(pitted)["branch_point_count"] >= 1
    small = measure_traits(pitted, TraitSettings(fill_holes_px=1))  # the pits filled, the 25-px hole kept
    assert small["network_area_px2"] == 4200 - 25 and small["branch_point_count"] >= 1
    t = measure_traits(pitted, TraitSettings(fill_holes_px=25))  # every hole filled: the plain bar
    assert t["network_area_px2"] == 4200 and t["branch_point_count"] == 0 and t["tip_count"] == 2
    assert t == measure_traits(bar)
    with pytest.raises(Exception, match="fill-holes"):
        TraitSettings(fill_holes_px=-1)


def _oblique_root(width: float, angle_deg: float, length: float = 160.0, size: int = 240) -> np.ndarray:
    """Pixels whose centre lies inside a width x length rectangle centred in the image, at an angle."""
    # centred on a pixel centre for odd widths, between two for even ones: then an
    # axis-aligned root is exactly ``width`` pixels wide
    centre = size // 2 + (0.5 if width % 2 == 0 else 0.0)
    rr, cc = np.mgrid[0:size, 0:size].astype(float) - centre
    a = math.radians(angle_deg)
    along = cc * math.cos(a) - rr * math.sin(a)
    across = cc * math.sin(a) + rr * math.cos(a)
    return (np.abs(along) < length / 2) & (np.abs(across) < width / 2)


@pytest.mark.parametrize("width", [3, 4, 7, 12])
@pytest.mark.parametrize("angle", [0, 15, 30, 45, 60, 75, 90])
def test_perimeter_and_diameter_hold_at_every_angle(width, angle):
    m = _oblique_root(width, angle)
    t = measure_traits(m)
    # the rectangle's own perimeter, by hand: 2 (160 + w)
    assert t["perimeter_px"] == pytest.approx(2 * (160 + width), rel=0.05)
    # its width as drawn: pixels per unit length (= w, except that at 45 degrees the
    # pixel lattice puts 5 rows of centres, 0.707 px apart, inside a 3-px band: 3.54)
    drawn = m.sum() / 160
    assert drawn == pytest.approx(width, rel=0.2)
    assert t["median_diameter_px"] == pytest.approx(drawn, rel=0.05)
    assert t["mean_diameter_px"] == pytest.approx(drawn, rel=0.05)


def test_even_widths_keep_their_width():
    m = np.zeros((40, 140), bool)
    m[10:12, 20:120] = True  # 2 px wide
    m[20:24, 20:120] = True  # 4 px wide
    two = measure_traits(m[5:15])
    four = measure_traits(m[15:30])
    assert two["median_diameter_px"] == pytest.approx(2.0, abs=0.1)
    assert four["median_diameter_px"] == pytest.approx(4.0, abs=0.1)


def test_solidity_never_exceeds_one():
    band = np.zeros((10, 60), bool)
    band[4:7, 5:55] = True  # a 3 x 50 band: hull of its pixel squares is the band itself
    t = measure_traits(band)
    assert t["solidity"] == pytest.approx(1.0)
    assert t["convex_hull_area_px2"] == pytest.approx(150.0)
    block = np.zeros((6, 6), bool)
    block[2:4, 2:4] = True
    assert measure_traits(block)["solidity"] == pytest.approx(1.0)
    for m in (_oblique_root(3, 30), _oblique_root(7, 60)):
        assert measure_traits(m)["solidity"] <= 1.0


def test_inscribed_diameter_by_hand():
    from rootrepair.traits.measure import _inscribed_diameter

    m = np.zeros((20, 30), bool)
    m[5:10, 2:28] = True  # a 5-px band: its middle row is 3 px from the background
    m[15, 2:28] = True  # a 1-px line
    at = _inscribed_diameter(m)
    assert at(np.array([[7, 15], [5, 15], [15, 10]])).tolist() == [5.0, 1.0, 1.0]
    assert at(np.array([[6, 2]])).tolist() == [1.0]  # the band's corner column touches the background on its left
    full = np.ones((5, 5), bool)  # no background in the array: its edge bounds the root, 3 px from the middle
    assert _inscribed_diameter(full)(np.array([[2, 2], [0, 0]])).tolist() == [5.0, 1.0]


R2 = math.sqrt(2)


@pytest.mark.parametrize(
    "pixels, expected",
    [
        # one pixel: a diamond through its four edge midpoints, too short to smooth
        ([[1]], 4 * R2 / 2),
        # a diagonal pair, either way: two diamonds (pixels touching at a corner are two outlines)
        ([[1, 0], [0, 1]], 2 * 4 * R2 / 2),
        ([[0, 1], [1, 0]], 2 * 4 * R2 / 2),
        # two pixels side by side: a hexagon of 2 straight and 4 diagonal half-steps; the
        # 5-vertex running mean over its 6 vertices is (sum - opposite vertex) / 5, the
        # hexagon turned half round and shrunk to a fifth
        ([[1, 1]], (2 + 4 * R2 / 2) / 5),
        # a ring round a one-pixel hole: the hole is a diamond (not smoothed); the outside a
        # 12-vertex outline (3 straight half-steps per side between corner cuts), worked out
        # by hand below
        ([[1, 1, 1], [1, 0, 1], [1, 1, 1]], None),
    ],
)
def test_perimeter_of_tiny_outlines_by_hand(pixels, expected):
    from rootrepair.traits.measure import _perimeter

    m = np.pad(np.array(pixels, bool), 2)
    if expected is None:
        # outer outline of the 3 x 3 square (pixel centres 0..2): midpoints at -0.5 / 2.5
        # on each side, going round: per side (-0.5, 0), (-0.5, 1), (-0.5, 2), and so on
        square = [(-0.5, 0), (-0.5, 1), (-0.5, 2), (0, 2.5), (1, 2.5), (2, 2.5),
                  (2.5, 2), (2.5, 1), (2.5, 0), (2, -0.5), (1, -0.5), (0, -0.5)]
        p = np.array(square, float)
        s = sum(np.roll(p, k, axis=0) for k in (-2, -1, 0, 1, 2)) / 5
        outer = np.linalg.norm(s - np.roll(s, 1, axis=0), axis=1).sum()
        expected = outer + 4 * R2 / 2
    assert _perimeter(m) == pytest.approx(expected, abs=1e-9)


def test_perimeter_matches_traced_contours_on_random_masks():
    """The same outline length as tracing each contour with scikit-image and smoothing it."""
    from scipy.ndimage import uniform_filter1d
    from skimage.measure import find_contours

    from rootrepair.traits.measure import _perimeter

    rng = np.random.default_rng(3)
    for _ in range(60):
        m = rng.random((rng.integers(1, 30), rng.integers(1, 30))) < rng.random()
        want = 0.0
        if m.any():
            for c in find_contours(np.pad(m, 1).astype(float), 0.5):
                if len(c) > 6:  # closed (last == first); 5 distinct vertices or more
                    c = uniform_filter1d(c[:-1], size=5, axis=0, mode="wrap")
                    c = np.vstack([c, c[:1]])
                want += np.linalg.norm(np.diff(c, axis=0), axis=1).sum()
        assert _perimeter(m) == pytest.approx(want, abs=1e-9)


def _skeleton_of(pixels, shape=(8, 8)):
    s = np.zeros(shape, bool)
    for r, c in pixels:
        s[r, c] = True
    return s


def _paths(g):
    """Each branch's pixel indices, one list per branch."""
    pixels, starts = g.gather(np.arange(g.n_paths))
    return [list(p) for p in np.split(pixels, starts[1:])]


def test_pixel_graph_branches_of_a_y_a_cycle_and_a_segment():
    """Branches worked out by hand; pixel indices are in row-major order."""
    from rootrepair.traits._graph import PixelGraph

    # a Y with a one-pixel junction: (1,3)=0 (2,3)=1 (3,3)=2 (4,2)=3 (4,4)=4 (5,1)=5 (5,5)=6
    g = PixelGraph(_skeleton_of([(1, 3), (2, 3), (3, 3), (4, 2), (4, 4), (5, 1), (5, 5)]))
    assert g.n_paths == 3
    assert _paths(g) == [[0, 1, 2], [2, 3, 5], [2, 4, 6]]
    b = g.branches()
    assert list(b["src"]) == [0, 2, 2] and list(b["dst"]) == [2, 5, 6]
    assert list(b["kind"]) == [1, 1, 1]  # junction to end point
    assert_almost_equal(b["length"], [2, 2 * math.sqrt(2), 2 * math.sqrt(2)])
    pixels, starts = g.gather([2, 0])
    assert list(pixels) == [2, 4, 6, 0, 1, 2] and list(starts) == [0, 3]
    # a diamond: (1,2)=0 (2,1)=1 (2,3)=2 (3,2)=3, each pixel with two diagonal neighbours
    g = PixelGraph(_skeleton_of([(1, 2), (2, 1), (2, 3), (3, 2)]))
    assert g.n_paths == 1 and _paths(g) == [[0, 1, 3, 2, 0]]  # from the lowest pixel to its lower neighbour
    b = g.branches()
    assert list(b["kind"]) == [3]
    assert_almost_equal(b["length"], [4 * math.sqrt(2)])
    # two pixels side by side: end point to end point, no pixel between
    g = PixelGraph(_skeleton_of([(4, 4), (4, 5)]))
    assert _paths(g) == [[0, 1]] and list(g.branches()["kind"]) == [0]
    # a line with a lone pixel beside it: the lone pixel is no branch
    g = PixelGraph(_skeleton_of([(1, 1), (1, 2), (1, 3), (1, 4), (6, 6)]))
    assert g.n_paths == 1 and _paths(g) == [[0, 1, 2, 3]]
    assert PixelGraph(np.zeros((4, 4), bool)).n_paths == 0

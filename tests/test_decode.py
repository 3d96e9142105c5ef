"""The decoders on hand-made masks and probabilities whose right answer is known."""
import math
import dataclasses

import numpy as np
import pytest
from scipy import ndimage as ndi

from rootrepair.decode import DecodeSettings, bridges, decode, draw_path, end_direction, end_directions, end_points, link_ends, notches, root_holes
from rootrepair.errors import RootRepairError

EIGHT = np.ones((3, 3), bool)


def n_components(m):
    return ndi.label(m, structure=EIGHT)[1]


BAND = DecodeSettings(bridge_fill_level=0)  # bridges as a band of the joined roots' width (the default)


def band_with_gap(width=3, gap=(40, 52), length=100):
    """A horizontal root ``width`` px wide over columns 10..length+10, cut at columns ``gap``."""
    m = np.zeros((40, length + 20), bool)
    top = 20 - width // 2
    m[top : top + width, 10 : length + 10] = True
    m[:, gap[0] : gap[1]] = False
    return m, top


def test_two_collinear_pieces_are_joined_at_the_root_width():
    m, top = band_with_gap(width=3)
    prob = m.astype(np.float32) * 0.95
    prob[12:28, 40:52] = 0.6  # the network thinks there is root in the gap, 16 px wide, but is not sure
    out = decode(m, prob, dataclasses.replace(BAND, bridge_fill_level=0.7))
    assert n_components(out) == 1
    added = out & ~m
    assert added[:, 40:52].any()
    rows = np.flatnonzero(added.any(axis=1))
    # drawn with the root's own width (rows 19..21), never the network's 16 px
    assert rows.min() >= top and rows.max() <= top + 2
    # so is the band (the default), even where the network is sure
    prob[12:28, 40:52] = 0.9
    added = decode(m, prob, BAND) & ~m
    rows = np.flatnonzero(added.any(axis=1))
    assert added[:, 40:52].any() and rows.min() >= top and rows.max() <= top + 2


def test_a_lone_tip_is_not_extended():
    m = np.zeros((40, 80), bool)
    m[19:22, 5:40] = True
    prob = m.astype(np.float32)
    prob[17:24, 40:60] = 0.9  # the network extends the tip by 20 px: nothing to join
    assert (decode(m, prob) == m).all()


def test_a_blob_touching_one_component_is_dropped_and_isolated_blobs_too():
    m = np.zeros((60, 60), bool)
    m[10:13, 5:55] = True
    prob = m.astype(np.float32)
    prob[13:20, 20:30] = 0.99  # stuck to the root
    prob[40:50, 40:50] = 0.99  # alone in the soil
    assert (decode(m, prob) == m).all()


def test_a_speck_off_the_roots_line_is_not_joined():
    m = np.zeros((50, 80), bool)
    m[24:27, 5:60] = True  # a root ending at column 59
    m[33:35, 30:32] = True  # a 4-px speck beside it (not on its line)
    prob = m.astype(np.float32)
    prob[26:34, 29:33] = 0.9  # probability joins root and speck
    out = decode(m, prob)
    assert n_components(out) == 2
    assert (out == m).all()


def test_a_speck_ahead_on_the_roots_line_is_joined():
    m, _ = band_with_gap(width=3, gap=(40, 60))
    m[19:21, 48:50] = True  # a 4-px fragment of the root left inside the gap
    prob = m.astype(np.float32)
    prob[19:22, 40:60] = 0.4  # below the bridge seed level: only the linker can use it
    out = decode(m, prob)
    assert n_components(out) == 1


def test_linking_follows_moderate_probability_and_refuses_none():
    m, top = band_with_gap(width=3)
    prob = m.astype(np.float32)
    prob[top : top + 3, 40:52] = 0.35  # under the seed level 0.5: no bridge, but a probable link
    linked = decode(m, prob)
    assert n_components(linked) == 1
    assert not (linked & ~m)[: top].any() and not (linked & ~m)[top + 3 :].any()
    prob[top : top + 3, 40:52] = 0.01  # the network sees no root there: no link (unless the ends face)
    assert n_components(decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))) == 2


def test_link_needs_the_target_ahead_of_the_end():
    m = np.zeros((60, 60), bool)
    m[30:33, 5:30] = True  # a root pointing right, end at column 29
    m[22:25, 10:28] = True  # a parallel root 6 px above it: beside the ends, not ahead of them
    prob = np.maximum(m.astype(np.float32), 0.5)  # probability everywhere
    assert not link_ends(m, prob, DecodeSettings(link_angle_deg=30)).any()


def test_add_mode_never_removes_input_pixels_and_replace_may():
    rng = np.random.default_rng(0)
    m = rng.random((64, 64)) < 0.2
    prob = rng.random((64, 64)).astype(np.float32)
    for settings in (DecodeSettings(), DecodeSettings(decoder="threshold")):
        assert (decode(m, prob, settings) >= m).all()
    replaced = decode(m, prob, DecodeSettings(decoder="threshold"), mode="replace")
    assert (replaced == (prob > 0.5)).all()


def test_threshold_decoder_is_the_papers_rule():
    m = np.zeros((10, 10), bool)
    m[5, 5] = True
    prob = np.zeros((10, 10), np.float32)
    prob[0, 0] = 0.7
    prob[9, 9] = 0.4
    out = decode(m, prob, DecodeSettings(decoder="threshold"))
    assert out[0, 0] and out[5, 5] and not out[9, 9] and out.sum() == 2


def test_bridges_need_a_seed_above_the_high_level():
    m, top = band_with_gap(width=3)
    prob = m.astype(np.float32)
    prob[top : top + 3, 40:52] = 0.45
    assert not bridges(m, prob, high=0.5, low=0.3).any()
    prob[top + 1, 45] = 0.6
    assert bridges(m, prob, high=0.5, low=0.3)[:, 40:52].any()


def test_end_points_and_direction_on_a_line():
    skel = np.zeros((5, 20), bool)
    skel[2, 3:15] = True
    ends = end_points(skel)
    assert ends.tolist() == [[2, 3], [2, 14]]
    labels = skel.astype(int)
    d = end_direction((2, 14), skel, labels, 8)
    assert d == pytest.approx([0.0, 1.0])



def test_end_directions_of_many_ends_at_once():
    """A cross's four arms point out along themselves (the cross's centre pulls the mean
    behind each end); a lone pixel has no direction; an end on the image's edge, whose box
    is cut by it, points out of the image; a second root in an end's box does not count."""
    skel = np.zeros((40, 40), bool)
    skel[20, 10:31] = True
    skel[10:31, 20] = True
    skel[0, 0:6] = True  # a root along the top edge, ending in the corner
    skel[37, 37] = True  # a lone pixel
    skel[26:29, 33] = True  # another root within reach of the right arm's end
    labels, _ = ndi.label(skel, structure=np.ones((3, 3), bool))
    ends = np.array([[20, 10], [20, 30], [10, 20], [30, 20], [0, 0], [37, 37]])
    dirs = end_directions(ends, skel, labels, 12)
    assert dirs[0] == pytest.approx([0.0, -1.0])
    assert dirs[1] == pytest.approx([0.0, 1.0])
    assert dirs[2] == pytest.approx([-1.0, 0.0])
    assert dirs[3] == pytest.approx([1.0, 0.0])
    assert dirs[4] == pytest.approx([0.0, -1.0])
    assert dirs[5] is None
    assert end_directions(np.empty((0, 2), int), skel, labels, 12) == []


def loop_with_cut(cut=(30, 33), width=1):
    """A 1-px (or ``width``-px) ring: rows 10 and 30 joined at columns 10 and 60, with the
    bottom row cut at columns ``cut``: the two sides of the cut meet far away, round the ring."""
    m = np.zeros((45, 75), bool)
    for r in (10, 30):
        m[r : r + width, 10:61] = True
    for c in (10, 60):
        m[10 : 30 + width, c : c + width] = True
    m[30 : 30 + width, cut[0] : cut[1]] = False
    return m


def test_an_ends_direction_ignores_the_other_side_of_a_cut_in_the_same_component():
    # a root along row 30 ends at (30, 29); beyond a cut, a root runs off diagonally from
    # (31, 31); the two meet far away, round a loop, so they are one component
    m = np.zeros((50, 60), bool)
    m[30, 10:30] = True
    for k in range(10):
        m[31 + k, 31 + k] = True
    m[5:31, 10] = True
    m[5, 10:51] = True
    m[5:41, 50] = True
    m[40, 40:51] = True
    labels = m.astype(int)
    # all of the component's skeleton within 8 px would pull the direction towards the
    # diagonal (about (-1, 0), up); only the pixels joined to the end inside the box count
    assert end_direction((30, 29), m, labels, 8) == pytest.approx([0.0, 1.0])
    assert end_direction((31, 31), m, labels, 8) == pytest.approx([-(0.5**0.5), -(0.5**0.5)])


def test_a_short_cut_whose_sides_meet_elsewhere_is_closed_and_a_long_one_is_not():
    m = loop_with_cut((30, 33))  # a 3-px cut in a 1-px root: the network has no opinion
    out = decode(m, m.astype(np.float32))
    assert (out & ~m).sum() == 3 and out[30, 30:33].all()  # closed, 1 px wide
    assert (decode(m, m.astype(np.float32), DecodeSettings(link_loop_px=0)) == m).all()  # off
    far = loop_with_cut((25, 45))  # 20 px apart: more than link_loop_px
    assert (decode(far, far.astype(np.float32)) == far).all()
    # 8 px apart: closed only where the network calls the way root
    mid = loop_with_cut((28, 36))
    assert (decode(mid, mid.astype(np.float32)) == mid).all()
    prob = mid.astype(np.float32)
    prob[30, 28:36] = 0.6
    assert decode(mid, prob)[30, 28:36].all()


def test_ends_of_one_piece_that_do_not_face_each_other_are_not_closed():
    # a hairpin: two parallel 1-px roots 4 px apart joined at their left ends; their right
    # ends lie side by side, 4 px apart, both pointing right
    m = np.zeros((30, 60), bool)
    m[10, 10:40] = True
    m[14, 10:40] = True
    m[10:15, 10] = True
    assert (decode(m, m.astype(np.float32)) == m).all()


def test_draw_path_has_the_width_the_radius_measures():
    out = np.zeros((20, 20), bool)
    draw_path(out, np.array([10] * 11), np.arange(5, 16), 3.0)  # distance transform 3: a 5-px root
    assert out.any(axis=1).sum() == 5


def test_settings_are_validated():
    with pytest.raises(RootRepairError, match="decoder"):
        DecodeSettings(decoder="magic")
    with pytest.raises(RootRepairError, match="low"):
        DecodeSettings(low=0.7, threshold=0.5)
    with pytest.raises(RootRepairError, match="bridge_fragment_level"):
        DecodeSettings(bridge_fragment_level=1.0)
    with pytest.raises(RootRepairError, match="shape"):
        decode(np.zeros((4, 4), bool), np.zeros((4, 5), np.float32))


def test_facing_ends_are_joined_only_when_asked_and_only_when_they_face():
    m, top = band_with_gap(width=3, gap=(40, 60))
    prob = m.astype(np.float32)  # the network has no opinion about the gap
    assert n_components(decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))) == 2
    facing = DecodeSettings()
    out = decode(m, prob, facing)
    assert n_components(out) == 1
    assert not (out & ~m)[:top].any() and not (out & ~m)[top + 3 :].any()  # at the root's width
    # two roots side by side, ends not facing each other: left alone
    side = np.zeros((40, 100), bool)
    side[10:13, 10:50] = True
    side[25:28, 55:95] = True
    assert (decode(side, side.astype(np.float32), facing) == side).all()


def test_an_end_pointing_at_a_roots_side_close_by_is_joined():
    m = np.zeros((60, 80), bool)
    m[10:50, 60:65] = True  # a 5-px root, vertical
    m[29:32, 5:50] = True  # a lateral pointing at its side, ending 10 px before it
    prob = m.astype(np.float32)  # no opinion from the network
    off = DecodeSettings(link_facing=False, link_pointing_px=0)
    assert n_components(decode(m, prob, off)) == 2
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=20))
    assert n_components(out) == 1
    added = out & ~m
    assert added.any(axis=1)[:29].sum() == 0 and added.any(axis=1)[32:].sum() == 0  # at the lateral's 3-px width
    assert n_components(decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=8))) == 2  # too far


def test_without_fragments_no_small_piece_is_ever_a_link_target():
    m, _ = band_with_gap(width=3, gap=(40, 80))
    m[19:21, 48:50] = True  # a 4-px piece 8 px ahead of the end; the far piece is 40 px away
    prob = m.astype(np.float32)
    prob[19:22, 40:48] = 0.4  # probable root only up to the small piece
    assert (decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0)) & ~m)[:, 40:48].any()
    strict = DecodeSettings(link_small_pieces=False, link_facing=False, link_pointing_px=0)
    assert (decode(m, prob, strict) == m).all()  # the end never reaches for the small piece


def ring_with_gap():
    """A square ring of 3-px roots, its top side cut at columns 45..54: still one component."""
    m = np.zeros((100, 100), bool)
    m[10:13, 10:91] = True
    m[88:91, 10:91] = True
    m[10:91, 10:13] = True
    m[10:91, 88:91] = True
    m[:14, 45:55] = False
    return m


def test_a_gap_is_bridged_even_where_its_sides_meet_elsewhere():
    # roots cross in real masks: both sides of a gap are then one component through another
    # root, yet the gap is a gap
    m = ring_with_gap()
    assert n_components(m) == 1
    prob = m.astype(np.float32) * 0.95
    prob[9:14, 44:56] = 0.9
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0, bridge_fill_level=0))
    assert out[10:13, 45:55].all()  # the whole cut, at the root's 3 px width
    assert not (out & ~m)[:10].any() and not (out & ~m)[13:].any()


def test_a_region_between_two_roots_passing_by_is_not_a_bridge():
    m = np.zeros((100, 100), bool)
    m[30:33, 5:95] = True
    m[42:45, 5:95] = True  # a parallel root 9 px below
    m[30:45, 5:8] = True  # they meet far to the left: one component
    prob = m.astype(np.float32) * 0.95
    prob[33:42, 60:64] = 0.9  # the network sees root between them, where no root ends
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))
    assert (out == m).all()


def test_a_bridge_band_takes_the_networks_width_up_to_the_roots():
    m, top = band_with_gap(width=7)  # rows 17..23
    prob = m.astype(np.float32) * 0.95
    prob[17:24, 40:52] = 0.9  # the network fills the cut at the root's full width
    out = decode(m, prob, BAND)
    assert out[17:24, 41:51].all()
    m, top = band_with_gap(width=3)  # rows 19..21
    prob = m.astype(np.float32) * 0.95
    prob[10:31, 40:52] = 0.9  # 21 px of probability across a 3 px root
    added = decode(m, prob, BAND) & ~m
    rows = np.flatnonzero(added.any(axis=1))
    assert added[19:22, 41:51].all() and rows.min() >= 18 and rows.max() <= 22  # at most 1 px wider


def test_a_link_passes_through_a_fragment_left_in_the_gap_to_the_root_beyond():
    m = np.zeros((60, 80), bool)
    m[29:32, 5:40] = True  # a lateral, cut at columns 40..59 near its parent
    m[29:32, 49:51] = True  # a 6-px fragment of it inside the cut
    m[5:55, 60:63] = True  # the parent root it grew from: no end faces the lateral
    prob = m.astype(np.float32)
    prob[29:32, 40:60] = np.maximum(prob[29:32, 40:60], 0.5)  # the network: moderately sure
    only_links = DecodeSettings(link_facing=False, link_pointing_px=0)
    out = m | link_ends(m, prob, only_links)
    assert n_components(m) == 3 and n_components(out) == 1  # lateral, fragment and parent: one


def test_the_cut_off_end_of_a_root_right_ahead_is_joined_without_the_network():
    m = np.zeros((40, 80), bool)
    m[19:22, 5:50] = True  # a root ending at column 49
    m[19:22, 53:55] = True  # its last 6 px, cut off by a 3-px gap
    prob = np.where(m, 0.95, 0.01).astype(np.float32)  # the network sees nothing in the gap
    out = decode(m, prob)
    assert n_components(out) == 1 and out[19:22, 50:53].all()
    m[19:22, 53:55] = False
    m[19:22, 62:64] = True  # 12 px ahead: too far to be the same root's end without evidence
    assert n_components(decode(m, prob)) == 2


def test_a_bump_on_a_rough_edge_is_no_roots_end():
    m = np.zeros((100, 100), bool)
    m[30:35, 5:95] = True
    m[42:47, 5:95] = True  # a parallel root 7 px below
    m[30:47, 5:8] = True  # they meet far to the left: one component
    m[35:38, 60:63] = True  # a 3-px bump on the upper root's edge, towards the lower one
    prob = m.astype(np.float32) * 0.95
    prob[35:42, 59:64] = np.maximum(prob[35:42, 59:64], 0.9)  # the network joins them there
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))
    assert (out == m).all()


def test_a_thick_root_cut_just_past_a_laterals_junction_is_bridged():
    # the root's skeleton end is 2-3 px from the lateral's junction on each side, and the
    # sides meet far away: only a walk straight on through the junction finds the root's end
    m = np.zeros((90, 170), bool)
    m[37:44, 5:61] = True  # a 7-px root, cut at columns 61..75
    m[37:44, 76:150] = True
    m[5:37, 54:57] = True  # a lateral leaving it just before the cut, upwards
    m[44:85, 80:83] = True  # another just after the cut, downwards
    m[5:8, 54:150] = True  # the two sides meet far away through another root
    m[5:37, 147:150] = True
    assert n_components(m) == 1
    prob = m.astype(np.float32) * 0.95
    prob[37:44, 61:76] = 0.9
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))
    cut = np.zeros(m.shape, bool)
    cut[37:44, 61:76] = True
    lab, _ = ndi.label(m[37:44] | out[37:44] & cut[37:44], structure=EIGHT)
    assert lab[3, 60] == lab[3, 76] != 0  # the root is whole again along its own rows
    assert not (out & ~m & ~cut).any()


@pytest.mark.parametrize("width", [3, 5, 7, 9])
@pytest.mark.parametrize("bump", [2, 3, 4])
def test_a_bump_is_no_roots_end_whatever_the_roots_width(width, bump):
    # its skeleton spur turns along the root at the junction: not straight on
    m = np.zeros((140, 140), bool)
    a, b = 30, 30 + width + 5
    m[a : a + width, 5:135] = True
    m[b : b + width, 5:135] = True  # a parallel root 5 px below
    m[a : b + width, 5 : 5 + width] = True  # they meet far to the left
    m[a + width : a + width + bump, 60 : 61 + bump] = True  # a bump on the upper root, towards the lower
    prob = m.astype(np.float32) * 0.95
    prob[a + width : b, 59 : 62 + bump] = np.maximum(prob[a + width : b, 59 : 62 + bump], 0.9)
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))
    assert (out == m).all()


def test_a_fragment_inside_a_gap_does_not_split_the_bridge():
    m, _ = band_with_gap(width=3, gap=(40, 60))  # rows 19..21
    m[19:22, 49:51] = True  # a 6-px piece of the root left in the middle of the gap
    prob = m.astype(np.float32) * 0.95
    prob[19:22, 40:60] = 0.9  # the network sees root across the whole gap, fragment included
    bridges_only = dict(link_radius=0, link_facing=False, link_pointing_px=0)
    out = decode(m, prob, DecodeSettings(**bridges_only))
    assert n_components(out) == 1  # both pieces and the fragment, one root
    assert out[19:22, 40:60].all() and not (out & ~m)[:19].any() and not (out & ~m)[22:].any()
    # without fragments the fragment cuts the region in two halves touching one piece each
    strict = decode(m, prob, DecodeSettings(link_small_pieces=False, **bridges_only))
    assert (strict == m).all()


def fragment_case(speck_rows):
    """Root A (columns 10..39), a 2 x 4 px piece at ``speck_rows``, columns 45..48, and a
    vertical root B at columns 60..62 (no end of B points at the piece)."""
    m = np.zeros((50, 120), bool)
    m[19:22, 10:40] = True
    m[5:45, 60:63] = True
    m[speck_rows, 45:49] = True
    prob = m.astype(np.float32)
    prob[19:34, 49:60] = 0.6  # probable root from the small piece to B; none between A and it
    return m, prob


def test_a_fragment_on_a_roots_line_links_onward_and_a_speck_beside_it_does_not():
    settings = DecodeSettings(link_facing=False, link_pointing_px=0)
    m, prob = fragment_case(slice(20, 22))  # in line with A's end, running A's way
    assert n_components(m) == 3
    out = decode(m, prob, settings)
    assert n_components(out) == 2  # the fragment joins B; A stays apart (no probability there)
    assert (out & ~m)[19:22, 49:60].any() and not (out & ~m)[:, :45].any()
    off = DecodeSettings(link_facing=False, link_pointing_px=0, link_fragment_px=0)
    assert (decode(m, prob, off) == m).all()
    m, prob = fragment_case(slice(32, 34))  # 54 degrees off A's direction: a speck beside the root
    assert (decode(m, prob, settings) == m).all()


def test_a_bridge_is_not_drawn_where_the_network_calls_the_pixels_background():
    m, top = band_with_gap(width=7)  # rows 17..23, cut at columns 40..51
    prob = m.astype(np.float32) * 0.95
    prob[19:22, 40:52] = 0.9  # the network sees a 3-px root across the cut, background beside it
    added = decode(m, prob, BAND) & ~m
    assert n_components(m | added) == 1
    # the 7-px root's width would draw rows 17..23; rows 17, 18, 22 and 23 have probability 0
    assert added[19:22, 40:52].all() and added.sum() == 3 * 12


def test_a_bridge_band_is_never_wider_than_the_roots_it_joins():
    # a 2-px root: every band of whole pixels around a one-pixel path is 1 or 3 px wide;
    # the area cap leaves 2 rows' worth, on the side where the network is surer
    m = np.zeros((40, 120), bool)
    m[19:21, 10:110] = True  # rows 19, 20
    m[:, 50:62] = False
    prob = m.astype(np.float32) * 0.95
    prob[18:22, 50:62] = 0.8
    prob[19:21, 50:62] = 0.9
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0, bridge_fill_level=0))
    added = out & ~m
    assert n_components(out) == 1
    assert added.sum() <= 2 * 12 + 2  # the joined roots' area per skeleton pixel times the path
    assert added[19:21, 50:62].all()  # the two rows the network is surest of


def test_a_second_bridge_beside_the_first_between_the_same_pieces_is_not_drawn():
    # a ladder's second rung would close a small loop: only the more probable region is kept
    m = np.zeros((50, 60), bool)
    m[10:13, 10:50] = True
    m[30:33, 10:50] = True
    prob = m.astype(np.float32)
    prob[13:30, 24:27] = 0.9
    prob[13:30, 32:35] = 0.8  # 5 px beside the first
    out = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0))
    added = out & ~m
    assert n_components(out) == 1
    assert added[13:30, 24:27].all() and not added[:, 30:].any()


def test_the_rest_of_a_tip_beyond_a_short_gap_is_joined_where_the_network_calls_the_way_root():
    from skimage.draw import line

    m = np.zeros((40, 80), bool)
    m[20, 5:50] = True  # a 1-px root ending at column 49
    m[25, 53] = True  # the last pixel of its tip, bent off: 51 degrees off the root's line, 6.4 px away
    settings = DecodeSettings()  # link_fragment_near_px = 10
    way = line(20, 49, 25, 53)
    prob = np.where(m, 0.95, 0.01).astype(np.float32)
    prob[way] = 0.8  # the network calls the way root (a bridge region needs two roots: it has one)
    prob[m] = 0.95
    out = decode(m, prob, settings)
    assert n_components(out) == 1
    assert (out & ~m).sum() == 4 and out[way].all()  # the 4 px of the line between, at the root's 1-px width
    # off (the setting's 0), no other rule joins it: it is not ahead within 45 degrees
    assert n_components(decode(m, prob, dataclasses.replace(settings, link_fragment_near_px=0.0))) == 2
    # without the network's support, nothing joins it
    prob[way] = 0.1
    prob[m] = 0.95
    assert n_components(decode(m, prob, settings)) == 2


def test_a_speck_near_a_roots_end_is_not_joined_without_the_network():
    m = np.zeros((40, 80), bool)
    m[18:23, 5:50] = True  # a 5-px root ending at column 49
    m[27, 53] = True  # a speck 6 px from its end, off to the side
    prob = np.where(m, 0.95, 0.05).astype(np.float32)
    out = decode(m, prob)
    assert (out == m).all()


def test_a_far_speck_is_linked_only_nearly_straight_ahead():
    """The network often draws a faint trail from a root's end to a speck in the soil; a
    speck far off is a target only within link_fragment_deg (20) of the root's line."""
    from skimage.draw import line

    def case(row):
        m = np.zeros((80, 100), bool)
        m[40, 5:40] = True  # a 1-px root ending at column 39, pointing right
        m[row, 64] = True  # a 1-px speck 25 columns on
        prob = np.where(m, 0.95, 0.01).astype(np.float32)
        prob[line(40, 39, row, 64)] = 0.4  # a faint trail to it: enough for a link (0.2), not for a bridge
        prob[m] = 0.95
        return m, prob

    m, prob = case(40 + 12)  # 26 degrees off the root's line
    assert (decode(m, prob) == m).all()
    m, prob = case(40 + 5)  # 11 degrees off
    assert n_components(decode(m, prob)) == 1


def test_a_thick_root_does_not_end_in_a_speck():
    from skimage.draw import line

    def case(rows):
        m = np.zeros((60, 100), bool)
        m[rows, 5:60] = True  # a root ending at column 59
        m[35, 61] = True  # a 1-px speck beyond its end, off to the side (not a link target ahead)
        prob = np.where(m, 0.95, 0.01).astype(np.float32)
        for r, c in np.argwhere(m[:, 50:60]) + (0, 50):  # the network calls the way root from anywhere near the end
            rr, cc = line(int(r), int(c), 35, 61)
            prob[rr, cc] = np.maximum(prob[rr, cc], 0.9)
        prob[m] = 0.95
        return m, decode(m, prob)

    m, out = case(slice(25, 34))  # 9 px wide: the speck is no part of it
    assert (out == m).all()
    m, out = case(slice(32, 33))  # 1 px wide, 3 rows above the speck: the rest of its tip
    assert n_components(out) == 1


def _bitten_band():
    """An 11-px root (rows 15..25) with a notch 5 wide and 5 deep bitten into its top (rows 15..19, cols 40..44)."""
    m = np.zeros((40, 100), bool)
    m[15:26, 5:95] = True
    m[15:20, 40:45] = False
    return m


def test_a_notch_in_a_roots_side_is_filled_where_the_network_is_sure():
    m = _bitten_band()
    prob = m.astype(np.float32)
    prob[15:20, 40:45] = 0.95
    added = decode(m, prob) & ~m
    # a disc of radius 5 reaches into a 5-px-wide notch only with its last pixel (one row
    # under a 7-px row): the closing holds rows 16..19 of the notch, not its mouth row 15
    expected = np.zeros_like(m)
    expected[16:20, 40:45] = True
    assert (added == expected).all()
    # not where the network is unsure (below notch_level 0.8), and not with the step off
    prob[15:20, 40:45] = 0.7
    assert (decode(m, prob) == m).all()
    prob[15:20, 40:45] = 0.95
    assert (decode(m, prob, DecodeSettings(notch_px=0)) == m).all()


def test_a_notch_fill_never_joins_two_roots_side_by_side():
    m = np.zeros((40, 100), bool)
    m[10:15, 5:95] = True
    m[18:23, 5:95] = True  # a second root 3 px below
    prob = m.astype(np.float32)
    prob[15:18, 30:60] = 0.95  # inside the closing of the two, and the network is sure
    assert not notches(m, prob).any()


def test_a_hole_left_behind_a_filled_mouth_is_filled_too():
    m = np.zeros((40, 100), bool)
    m[15:30, 5:95] = True
    m[18:23, 40:47] = False  # a cavity inside the root ...
    m[15:18, 42:45] = False  # ... open to the top through a 3-px mouth
    prob = m.astype(np.float32)
    prob[15:18, 42:45] = 0.95  # the network is sure of the mouth only
    added = notches(m, prob)
    expected = np.zeros_like(m)
    expected[16:18, 42:45] = True  # the mouth below its top row (the disc's last pixel reaches row 15)
    expected[18:23, 40:47] = True  # the cavity it closed off: a hole inside the closing
    assert (added == expected).all()


def test_the_space_between_roots_behind_a_filled_mouth_stays_open():
    m = np.zeros((40, 100), bool)
    m[18:23, 5:95] = True  # a 5-px root
    m[10:12, 40:56] = True  # a 2-px strand above it ...
    m[10:18, 40:42] = True
    m[10:18, 54:56] = True  # ... on two legs: a loop around rows 12..17, columns 42..53
    m[10:12, 46:49] = False  # its top cut by a 3-px gap
    prob = np.where(m, 1.0, 0.02).astype(np.float32)  # the network: background in the loop ...
    prob[10:12, 46:49] = 0.95  # ... and root in the cut
    added = notches(m, prob)
    assert added[10:12, 46:49].any()  # the cut is filled (where the closing reaches) ...
    assert not added[12:18, 42:54].any()  # ... but filling the loop would widen the roots 2.5 times
    assert not (added & ~m)[:, :46].any() and not (added & ~m)[:, 49:].any()


def test_a_mask_far_out_in_a_large_image_is_repaired_as_in_a_small_one():
    """The decoder works on the box around the foreground: the same repair wherever the roots lie,
    at the image's edge or 500 px from it, with a faint probability trail reaching far beyond."""
    m, top = band_with_gap(width=3)
    m[5:8, 60:62] = True  # a speck
    prob = m.astype(np.float32) * 0.95
    prob[12:28, 40:52] = 0.9
    prob[30:40, :] = 0.35  # faint network response along the bottom edge
    small = decode(m, prob)
    assert n_components(small) == 2  # the gap bridged, the speck left alone
    for r, c in ((0, 0), (500, 700), (1160, 1380)):
        big_m = np.zeros((1200, 1500), bool)
        big_p = np.zeros((1200, 1500), np.float32)
        big_m[r : r + 40, c : c + 120] = m
        big_p[r : r + 40, c : c + 120] = prob
        out = decode(big_m, big_p)
        assert (out[r : r + 40, c : c + 120] == small).all()
        assert out.sum() == small.sum()
    assert (decode(np.zeros((50, 50), bool), np.full((50, 50), 0.9, np.float32)) == 0).all()


def test_holes_of_a_mask_are_found_wherever_it_lies():
    from rootrepair.decode import _holes

    m = np.zeros((30, 30), bool)
    m[0:5, 0:5] = True
    m[1:4, 1:4] = False  # a ring at the image's corner: its 9 px inside are a hole
    m[10:20, 10:13] = True  # a C, open to the right: no hole
    m[10:13, 10:20] = True
    m[17:20, 10:20] = True
    holes = _holes(m)
    expected = np.zeros_like(m)
    expected[1:4, 1:4] = True
    assert (holes == expected).all()
    m[10:20, 17:20] = True  # close the C: its 4 x 4 inside (rows 13..16, cols 13..16) becomes a hole
    expected[13:17, 13:17] = True
    assert (_holes(m) == expected).all()
    assert not _holes(np.zeros((5, 5), bool)).any()


def test_skeleton_on_the_foregrounds_box_is_skimages():
    from skimage.morphology import skeletonize

    from rootrepair.pixels import skeleton

    rng = np.random.default_rng(3)
    for shape, box in (((80, 90), np.s_[0:30, 0:90]), ((80, 90), np.s_[40:70, 20:50]), ((80, 90), np.s_[50:80, 60:90])):
        m = np.zeros(shape, bool)
        m[box] = ndi.binary_opening(rng.random(m[box].shape) < 0.6)
        assert (skeleton(m) == skeletonize(m)).all()
    assert not skeleton(np.zeros((4, 4), bool)).any()


def _cut_lump():
    """A 7-px root (rows 17..23) with a lump (rows 10..30, cols 40..60), cut through by a 3-px stripe (cols 49..51)."""
    truth = np.zeros((40, 100), bool)
    truth[17:24, 5:95] = True
    truth[10:31, 40:61] = True
    m = truth.copy()
    m[:, 49:52] = False
    return truth, m


def test_the_rest_of_a_bridged_gap_fills_like_a_notch_at_the_gap_level():
    truth, m = _cut_lump()
    prob = m.astype(np.float32)
    prob[10:31, 49:52] = 0.65  # the network: probably root all along the cut, not sure enough for a notch
    added = decode(m, prob) & ~m
    # the bridge runs at the thin root's width (rows 17..23 and a little); the rest of the cut
    # inside the lump is a slit on each side, inside the closing: filled at notch_gap_level 0.6,
    # all but the slits' mouth rows 10 and 30, which a disc of 5 px does not reach
    expected = np.zeros_like(m)
    expected[11:30, 49:52] = True
    assert (added == expected).all()
    # with the gap level off only the bridge is drawn (the thin root's rows 17..23, widened
    # a little where the network is sure): the slits stay open, rows 11..14 empty
    added = decode(m, prob, DecodeSettings(notch_gap_level=0.0)) & ~m
    assert not added[11:15, 49:52].any() and added[17:24, 49:52].all()
    # below the gap level nothing beyond the bridge is filled either
    prob[10:17, 49:52] = 0.55
    assert not (decode(m, prob) & ~m)[11:15, 49:52].any()


def test_a_bridge_takes_the_pixels_the_network_is_sure_of_in_its_region():
    # a 3-px root (rows 19..21) cut at columns 40..51; the network is sure the root runs one
    # row lower in the cut's right half, and unsure (0.5) of a row on either side
    m, top = band_with_gap(width=3)
    prob = m.astype(np.float32) * 0.95
    prob[18:24, 40:52] = 0.5
    sure = np.zeros(m.shape, bool)
    sure[19:22, 40:46] = True
    sure[20:23, 46:52] = True
    prob[sure] = 0.9
    added = decode(m, prob, DecodeSettings(link_facing=False, link_pointing_px=0, bridge_fill_level=0.7)) & ~m
    assert added[sure].all()  # all of the sure pixels
    assert not added[18].any() and not added[23].any()  # none of the unsure rows beyond them
    assert n_components(m | added) == 1
    # the band (the default) draws the root's 3 rows where the path runs: not the lower row in full
    band = decode(m, prob, dataclasses.replace(BAND, link_facing=False, link_pointing_px=0)) & ~m
    assert not band[sure].all()


def test_a_fragment_in_a_bridges_region_joins_the_bridge_through_probable_pixels_only():
    # a 3-px root (rows 19..21) cut at columns 40..51, bridged; below the cut a 3-px piece of
    # a lateral (rows 26..28, column 46) that the network joins to the cut through column 46
    m, _ = band_with_gap(width=3)
    m[26:29, 46] = True
    bridges_only = dict(link_radius=0, link_facing=False, link_pointing_px=0, link_fragment_near_px=0)
    for stem, joined in ((0.6, True), (0.4, False)):  # above / below the threshold (0.5); both above low (0.3)
        prob = m.astype(np.float32) * 0.95
        prob[19:22, 40:52] = 0.9
        prob[22:26, 46] = stem
        out = decode(m, prob, DecodeSettings(**bridges_only))
        added = out & ~m
        assert added[19:22, 40:52].all()  # the bridge
        outside = added.copy()
        outside[19:22, 40:52] = False
        if joined:  # a 1-px path up the lateral's stem, nothing else
            assert n_components(out) == 1 and outside[22:26, 46].all() and outside.sum() == 4
        else:
            assert n_components(out) == 2 and not outside.any()
    # off: the fragment stays apart even where the network calls the way root
    prob[22:26, 46] = 0.6
    out = decode(m, prob, DecodeSettings(bridge_fragment_level=0, **bridges_only))
    assert n_components(out) == 2


def t_junction(width):
    """A horizontal root (row 20) and a vertical one (column 35) meeting in a T, ``width`` px wide;
    the network sure (0.9) of every pixel within 3 px of them."""
    m = np.zeros((70, 70), bool)
    h = width // 2
    m[20 - h : 21 + h, 5:65] = True
    m[20 - h : 65, 35 - h : 36 + h] = True
    prob = np.where(ndi.distance_transform_edt(~m) <= 3, 0.9, 0.01).astype(np.float32)
    return m, prob


def test_a_one_pixel_root_has_no_notches_to_fill():
    # the closing rounds the T's inner corners; in a 1-px root that is thickening, not a notch
    m, prob = t_junction(1)
    assert not notches(m, prob).any()
    # a 3-px root keeps its fill there: the same few pixels in both corners, below the
    # horizontal root (rows 19..21) and beside the vertical one (columns 34..36)
    m, prob = t_junction(3)
    added = notches(m, prob)
    rows, cols = np.nonzero(added)
    assert len(rows) > 0 and rows.min() >= 22 and rows.max() <= 27
    assert ((cols >= 28) & (cols <= 42)).all() and (cols < 34).sum() == (cols > 36).sum()


def short_line_root(thick_root_elsewhere: bool):
    """A short 1-px root cut in two by a 4-px gap: two 7-px line pieces in a row (columns
    10..16 and 21..27 of row 30), the network confident along the whole root. Optionally a
    5-px-wide root far below, so that the mask is not one drawn as lines."""
    m = np.zeros((80, 60), bool)
    m[30, 10:17] = True
    m[30, 21:28] = True
    prob = np.zeros(m.shape, np.float32)
    prob[29:32, 10:28] = 0.3
    prob[30, 10:28] = 0.9
    if thick_root_elsewhere:
        m[60:65, 5:55] = True
    return m, prob


def test_in_a_mask_drawn_as_lines_short_line_pieces_are_pieces_and_are_joined():
    m, prob = short_line_root(thick_root_elsewhere=False)
    out = decode(m, prob)
    assert ndi.label(out, structure=np.ones((3, 3)))[1] == 1
    # the 4 gap pixels (columns 17..20 of row 30), nothing else
    assert sorted(map(tuple, np.argwhere(out & ~m))) == [(30, 17), (30, 18), (30, 19), (30, 20)]


def test_beside_wide_roots_short_pieces_stay_specks():
    # the same 7-px pieces in a mask with a 5-px-wide root: there they are under
    # min_piece_px (10) and never a bridge's ends, as specks on a segmentation must be
    m, prob = short_line_root(thick_root_elsewhere=True)
    out = decode(m, prob)
    assert not (out & ~m)[25:35].any()


def test_which_masks_are_drawn_as_lines_and_which_small_components_are_pieces():
    from rootrepair.decode import _drawn_as_lines, _piece_labels

    m = np.zeros((40, 60), bool)
    m[5, 5:45] = True  # a 1-px root, 40 px
    m[20, 10:17] = True  # a 7-px line
    m[30:33, 10:13] = True  # a 3 x 3 blob less 2 px: 7 px, compact
    m[30, 10] = m[32, 12] = False
    assert _drawn_as_lines(m)  # no pixel has all 4 neighbours but the blob's centre: 1 of 54
    labels, big = _piece_labels(m, 10)
    assert big[labels[5, 5]] and big[labels[20, 10]] and not big[labels[31, 11]]
    wide = m.copy()
    wide[10:13, 5:45] = True  # a 3-px-wide root: 38 of its 120 px have all 4 neighbours
    assert not _drawn_as_lines(wide)
    labels, big = _piece_labels(wide, 10)
    assert not big[labels[20, 10]] and not big[labels[31, 11]]


def _holed_band():
    """A 12-px root (rows 14..25) with a 3 x 3 hole punched in its middle (rows 19..21, cols 49..51)."""
    m = np.zeros((40, 100), bool)
    m[14:26, 5:95] = True
    m[19:22, 49:52] = False
    return m


def test_a_hole_inside_a_root_is_filled_whatever_the_network_says():
    m = _holed_band()
    prob = m.astype(np.float32)
    expected = np.zeros_like(m)
    expected[19:22, 49:52] = True  # the hole's 9 pixels, whole
    prob[19:22, 49:52] = 0.6  # root (above the threshold 0.5), but below notch_level (0.8)
    assert ((decode(m, prob) & ~m) == expected).all()
    assert (decode(m, prob, DecodeSettings(hole_px=0)) == m).all()  # the step off: no notch fill at 0.6 either
    # the network calls it background, but it is a puncture: filled, the root is 6 px in
    # half width there (rows 14..25 around row 20), as it is everywhere else
    prob[19:22, 49:52] = 0.1
    assert ((decode(m, prob) & ~m) == expected).all()
    # a 2-px hole is left to the network: a trace's crossing leaves such holes
    m[19:22, 49:52] = True
    m[20, 50:52] = False
    prob[20, 50:52] = 0.1
    assert (root_holes(m, prob) == 0).all()
    prob[20, 50:52] = 0.9
    assert root_holes(m, prob).sum() == 2


def _ladder():
    """Two 4-px roots (rows 10..13 and 17..20) joined by two 4-px rungs (cols 26..29 and
    33..36): a 3 x 3 hole between them (rows 14..16, cols 30..32), a loop between roots."""
    m = np.zeros((31, 64), bool)
    m[10:14, 2:62] = m[17:21, 2:62] = True
    m[10:21, 26:30] = m[10:21, 33:37] = True
    return m


def test_a_small_loop_between_roots_is_filled_only_where_the_network_calls_it_root():
    m = _ladder()
    prob = m.astype(np.float32)
    prob[14:17, 30:33] = 0.1
    # inside the closing and between roots 4 px wide, but no puncture: filled, the block is
    # 6 px in half width (11 x 11 around the hole) against the roots' 2
    assert not root_holes(m, prob).any()
    prob[14:17, 30:33] = 0.9
    expected = np.zeros_like(m)
    expected[14:17, 30:33] = True
    assert (root_holes(m, prob) == expected).all()


def test_a_loop_between_roots_and_a_loop_of_one_pixel_roots_are_not_filled():
    # two 4-px roots crossing two others: the square between them (20 x 20) is a hole,
    # wider than the closing with a disc of 5 px, so it stays whatever the network says
    m = np.zeros((60, 60), bool)
    m[10:14, 5:55] = m[34:38, 5:55] = True
    m[5:55, 10:14] = m[5:55, 34:38] = True
    prob = np.where(m, 1.0, 0.9).astype(np.float32)
    assert not root_holes(m, prob).any()
    # a 1-px square loop of 5 x 5 inside (3 x 3 hole): inside the closing, but drawn by a
    # 1-px root (one pixel of area per skeleton pixel), so a crossing of thin roots, not a hole
    t = np.zeros((30, 30), bool)
    t[10, 5:25] = t[14, 5:25] = True
    t[5:25, 10] = t[5:25, 14] = True
    assert not root_holes(t, np.full(t.shape, 0.9, np.float32)).any()
    # the same hole inside a 12-px root is filled: 9 pixels
    h = _holed_band()
    assert root_holes(h, np.full(h.shape, 0.9, np.float32)).sum() == 9


def test_the_closing_by_distance_transforms_is_the_closing_with_a_disc():
    from skimage.morphology import disk

    from rootrepair.decode import _closed

    rng = np.random.default_rng(3)
    for _ in range(200):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        r = int(rng.integers(1, 7))
        m = rng.random((h, w)) < rng.uniform(0.0, 0.4)
        # scipy's closing with scikit-image's disc, the window padded by r (background beyond it)
        expected = ndi.binary_closing(np.pad(m, r), structure=disk(r).astype(bool))[r:-r, r:-r]
        assert (_closed(m, r) == expected).all()
    # a root 9 px wide (rows 5-13) cut across: a 1-px cut is closed by a disc of 1 px (a plus)
    # except its two end pixels, where the disc fits from outside the root; a 3-px cut is not
    m = np.zeros((20, 30), bool)
    m[5:14, :] = True
    one, three = m.copy(), m.copy()
    one[5:14, 15] = False
    three[5:14, 14:17] = False
    assert _closed(one, 1)[6:13, 15].all() and not _closed(one, 1)[[5, 13], 15].any()
    assert not _closed(three, 1)[5:14, 14:17].any()


def test_a_link_that_ends_in_a_speck_goes_on_to_the_rest_of_the_tip_beyond_it():
    """A 3-px root's end, a 2-px speck 5 px on in the gap and the last 9 px (3 x 3) of the
    root's tip 8 px beyond the speck, all on one line, with the network calling the way root
    (0.4: enough for a link, not for a bridge). Both are fragments (under min_piece_px, 10),
    and the speck is under link_fragment_px (3), so it links nowhere itself: the link must
    go through it to the tip, which joins all three."""
    m = np.zeros((30, 100), bool)
    m[14:17, 5:40] = True  # a 3-px root ending at column 39, pointing right
    m[15, 45:47] = True  # a 2-px speck in the gap
    m[14:17, 55:58] = True  # the rest of the tip
    prob = np.where(m, 0.95, 0.01).astype(np.float32)
    prob[14:17, 40:55] = np.maximum(prob[14:17, 40:55], 0.4)
    settings = DecodeSettings(link_facing=False, link_pointing_px=0, link_fragment_near_px=0)
    assert n_components(m) == 3
    added = link_ends(m, prob, settings)
    assert n_components(m | added) == 1
    assert added[15, 40:45].all() and added[15, 47:55].all()  # the two stretches of the gap
    assert not added[:14].any() and not added[17:].any()  # no wider than the root
    # off, the link stops at the speck: the tip stays apart
    alone = link_ends(m, prob, dataclasses.replace(settings, link_past_specks=False))
    assert n_components(m | alone) == 2 and not alone[:, 47:].any()
    # with nothing beyond the speck to go on to, the link to the speck stays as before
    m2 = m.copy()
    m2[14:17, 55:58] = False
    added2 = link_ends(m2, prob, settings)
    assert n_components(m2 | added2) == 1 and not added2[:, 47:].any()


def _sieve(holes_per_side=50):
    """A 200 x 200 block of root with 1-px holes 4 px apart: ``holes_per_side`` ** 2 holes."""
    m = np.ones((4 * holes_per_side, 4 * holes_per_side), bool)
    m[2::4, 2::4] = False
    return np.pad(m, 2)


def test_a_mask_with_far_more_holes_than_roots_have_is_refused_with_the_count():
    from rootrepair.decode import TooMuchToRepair

    m = _sieve(50)  # 2,500 holes on 0.04 MP: the limit is the floor, 2,000
    with pytest.raises(TooMuchToRepair, match="2,500 holes"):
        decode(m, np.zeros(m.shape, np.float32))
    m = _sieve(40)  # 1,600 holes: under the floor, decoded (the network's zeros fill none of them)
    assert not (decode(m, np.zeros(m.shape, np.float32)) & ~m).any()
    assert issubclass(TooMuchToRepair, RootRepairError)


def test_least_cost_steps_are_the_ones_mcp_builds_itself():
    from skimage.graph import MCP_Geometric

    from rootrepair.decode import EIGHT_STEPS

    built = np.asarray(MCP_Geometric(np.ones((3, 3)), fully_connected=True).offsets)
    assert built.tolist() == [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 1], [1, -1], [1, 0], [1, 1]]
    assert np.array_equal(built, EIGHT_STEPS)


def test_least_costs_on_packed_windows_are_each_windows_own():
    """Many windows searched at once give each window the costs of a search on it alone
    (scikit-image's MCP_Geometric, window by window), and paths that stay in their window."""
    from skimage.graph import MCP_Geometric

    from rootrepair.decode import _least_costs

    rng = np.random.default_rng(3)
    costs, starts = [], []
    for _ in range(12):
        c = rng.random((int(rng.integers(3, 40)), int(rng.integers(3, 40)))) + 0.05
        c[rng.random(c.shape) < 0.3] = -1.0  # impassable
        free = np.argwhere(c >= 0)
        costs.append(c)
        starts.append(free[rng.choice(len(free), size=min(2, len(free)), replace=False)])
    for c, s, (cum, traceback) in zip(costs, starts, _least_costs(costs, starts)):
        alone, _ = MCP_Geometric(c, fully_connected=True).find_costs(s)
        assert cum.shape == c.shape
        np.testing.assert_allclose(cum, alone)
        goal = np.argwhere(np.isfinite(alone))[-1]
        path = traceback(goal)
        assert tuple(path[-1]) == tuple(goal) and any((path[0] == x).all() for x in s)
        assert (path >= 0).all() and (path < c.shape).all() and (c[path[:, 0], path[:, 1]] >= 0).all()
        assert (np.abs(np.diff(path, axis=0)).max(initial=1) <= 1)


def test_least_costs_by_hand():
    """Each step costs the mean of its two pixels' costs times its length (MCP_Geometric)."""
    from rootrepair.decode import _least_costs

    line = np.array([[1.0, 1.0, 3.0]])
    square = np.array([[1.0, -1.0], [-1.0, 1.0]])
    (cum_line, _), (cum_sq, back) = _least_costs([line, square], [np.array([[0, 0]]), np.array([[0, 0]])])
    np.testing.assert_allclose(cum_line, [[0.0, 1.0, 3.0]])
    assert cum_sq[1, 1] == pytest.approx(math.sqrt(2)) and np.isinf(cum_sq[0, 1]) and np.isinf(cum_sq[1, 0])
    assert back(np.array([1, 1])).tolist() == [[0, 0], [1, 1]]


def test_anything_ahead_looks_for_other_components_in_the_ends_cone():
    """An end at (20, 20) pointing along +columns: another component's pixel 15 px straight
    ahead counts; one behind, one 63 degrees off, one 45 px ahead (beyond the 40-px radius)
    and its own component's pixels ahead do not; an end without a direction has nothing ahead."""
    from rootrepair.decode import _anything_ahead

    def ahead(*pixels, own_ahead=False):
        m = np.zeros((80, 80), bool)
        m[20, 10:21] = True  # the end's root, ending at (20, 20)
        if own_ahead:
            m[20, 21:40] = True
        for p in pixels:
            m[p] = True
        labels, _ = ndi.label(m, structure=np.ones((3, 3), bool))
        ends = np.array([[20, 20], [20, 10]])
        return _anything_ahead(m, labels, ends, [np.array([0.0, 1.0]), None], math.cos(math.radians(45)), 40.0).tolist()

    assert ahead((20, 35)) == [True, False]
    assert ahead((20, 2)) == [False, False]
    assert ahead((30, 25)) == [False, False]
    assert ahead((20, 65)) == [False, False]
    assert ahead(own_ahead=True) == [False, False]
    assert ahead((40, 40)) == [True, False]  # 45 degrees off, on the cone's edge, 28 px away


def test_anything_ahead_in_small_batches_and_at_the_image_edges(monkeypatch):
    """Ends near every edge of a wide image, each with a pixel of another root placed by hand
    ahead of it or not; the answers hold with the (end, pixel) pairs cut into batches of one
    end (a limit of 1 pair) as with all ends at once. A pixel in the end's rows but 300 px
    off to the side is not ahead."""
    import rootrepair.decode as dec

    m = np.zeros((30, 400), bool)
    m[0, 0:6] = True  # root A along the top edge, ending at (0, 5), pointing +columns
    m[0, 20] = True  # another root 15 px ahead of A: ahead
    m[29, 390:400] = True  # root B along the bottom edge, ending at (29, 390), pointing -columns
    m[29, 380] = True  # 10 px ahead of B: ahead
    m[15, 200:206] = True  # root C in the middle, ending at (15, 205), pointing +rows: nothing below it
    m[15, 5] = True  # in C's row, 200 px off to the side: not ahead
    labels, _ = ndi.label(m, structure=np.ones((3, 3), bool))
    ends = np.array([[0, 5], [29, 390], [15, 205]])
    dirs = [np.array([0.0, 1.0]), np.array([0.0, -1.0]), np.array([1.0, 0.0])]
    cos45 = math.cos(math.radians(45))
    assert dec._anything_ahead(m, labels, ends, dirs, cos45, 40.0).tolist() == [True, True, False]
    monkeypatch.setattr(dec, "AHEAD_MAX_PAIRS", 1)
    assert dec._anything_ahead(m, labels, ends, dirs, cos45, 40.0).tolist() == [True, True, False]


def test_least_costs_on_separate_canvases_give_the_same_costs():
    """Windows searched in batches (as _bridge_paths bounds them), on canvases of their own,
    get the same costs as all on one canvas."""
    from rootrepair.decode import _least_costs

    rng = np.random.default_rng(5)
    costs = [rng.random((int(rng.integers(3, 30)), int(rng.integers(3, 30)))) + 0.1 for _ in range(8)]
    starts = [np.array([[0, 0]]) for _ in costs]
    together = _least_costs(costs, starts)
    apart = [w for k in range(0, 8, 3) for w in _least_costs(costs[k : k + 3], starts[k : k + 3])]
    for (a, back_a), (b, back_b), c in zip(together, apart, costs):
        np.testing.assert_allclose(a, b)
        goal = np.array(c.shape) - 1
        assert back_a(goal)[-1].tolist() == back_b(goal)[-1].tolist() == goal.tolist()


def test_bridges_drawn_batch_by_batch_are_the_same(monkeypatch):
    """Five cuts in three parallel roots, each bridged where the network fills it: one
    component per root after the repair (counted by hand), whether the regions' paths are
    searched all at once or one region per batch."""
    import rootrepair.decode as decode_module

    m = np.zeros((90, 200), bool)
    prob = np.full(m.shape, 0.02, np.float32)
    for row in (20, 45, 70):
        m[row - 1 : row + 2, 10:190] = True
        prob[row - 1 : row + 2, 10:190] = 0.95
    cuts = [(20, 50), (20, 120), (45, 80), (70, 40), (70, 150)]
    for row, col in cuts:
        m[row - 1 : row + 2, col : col + 8] = False
    assert n_components(m) == 3 + len(cuts)
    together = decode(m, prob)
    monkeypatch.setattr(decode_module, "CANVAS_MAX_PX", 1)
    apart = decode(m, prob)
    assert n_components(together) == 3
    assert (together == apart).all() and (together >= m).all()


def test_label_lookups_and_boxes_from_the_labelled_pixels_only():
    """_on_labels is table[labels]; _pixel_boxes gives ndi.find_objects' boxes; a hand case."""
    from rootrepair.decode import _on_labels, _pixel_boxes
    from rootrepair.pixels import nonzero

    def label_boxes(labels, m):
        rows, cols = nonzero(m)
        present, boxes = _pixel_boxes(labels[rows, cols], rows, cols)
        assert present.tolist() == list(range(1, labels.max() + 1))
        return boxes

    rng = np.random.default_rng(11)
    for density in (0.01, 0.1, 0.4):
        m = rng.random((60, 90)) < density
        labels, n = ndi.label(m, structure=EIGHT)
        table = rng.random(n + 1) < 0.5
        table[0] = False
        assert (_on_labels(labels, table, m) == table[labels]).all()
        expected = [[sl[0].start, sl[0].stop, sl[1].start, sl[1].stop] for sl in ndi.find_objects(labels)]
        assert label_boxes(labels, m).tolist() == expected
    m = np.zeros((6, 8), bool)
    m[1, 2:5] = True  # label 1: rows 1..1, columns 2..4
    m[3:6, 7] = True  # label 2: rows 3..5, column 7
    m[4, 0] = True  # label 3
    labels, _ = ndi.label(m, structure=EIGHT)
    assert label_boxes(labels, m).tolist() == [[1, 2, 2, 5], [3, 6, 7, 8], [4, 5, 0, 1]]
    present, boxes = _pixel_boxes(np.array([7, 3, 7]), np.array([0, 4, 2]), np.array([5, 1, 9]))  # any labels, any order
    assert present.tolist() == [3, 7] and boxes.tolist() == [[4, 5, 1, 2], [0, 3, 5, 10]]
    assert _pixel_boxes(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))[1].shape == (0, 4)

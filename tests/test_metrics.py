import numpy as np
import pytest

from rootrepair.baselines import closing_repair, link_repair
from rootrepair.errors import RootRepairError
from rootrepair.evaluate import EvalConfig, evaluate, make_samples
from rootrepair.metrics import cldice, repair_metrics


def _case():
    y = np.zeros((40, 60), bool)
    y[20, 5:55] = True
    x = y.copy()
    x[20, 25:30] = False  # a 5-px gap
    g = np.zeros_like(y)
    g[18:23, 25:30] = True
    return y, x, g


def test_perfect_repair_scores_one():
    y, x, g = _case()
    m = repair_metrics(y, x, y, g, traits=False)
    assert m["rel_pixel_diff"] == 1 and m["rel_comp_diff"] == 1 and m["gap_recall"] == 1
    assert m["mse"] == 0 and m["false_positive_px"] == 0 and m["betti0_error"] == 0
    assert m["cldice"] == pytest.approx(1)


def test_no_repair_scores_zero():
    y, x, g = _case()
    m = repair_metrics(y, x, x, g, traits=False)
    assert m["rel_pixel_diff"] == 0 and m["rel_comp_diff"] == 0 and m["gap_recall"] == 0
    assert m["mse"] == pytest.approx(5 / (40 * 60))
    assert m["mse_gaps"] == pytest.approx(5 / 25)
    assert m["betti0_error"] == 1


def test_blobs_are_penalised_everywhere():
    y, x, g = _case()
    r = y.copy()
    r[2:8, 2:8] = True  # fills the gap, but adds a 36-px blob far from it
    m = repair_metrics(y, x, r, g, traits=False)
    assert m["gap_recall"] == 1
    assert m["false_positive_px"] == 36
    assert m["rel_pixel_diff"] == pytest.approx((5 - 36) / 5)  # worse than no repair
    assert m["rel_comp_diff"] == 0  # one extra component: |2 - 1| before, |2 - 1| after
    assert m["fp_per_gap_px"] == pytest.approx(36 / 5)
    assert m["fp_apart_per_gap_px"] == pytest.approx(36 / 5)  # the blob touches no root


def test_false_positives_on_the_outline_are_told_apart():
    y, x, g = _case()
    r = y.copy()
    r[21, 25:30] = True  # the gap filled two rows wide: 5 px beside the root, touching it
    r[23, 40] = True  # a pixel two rows below the root: apart from it
    r[19, 4] = True  # diagonal to the root's end (20, 5): touching it
    m = repair_metrics(y, x, r, g, traits=False)
    assert m["false_positive_px"] == 7
    assert m["fp_per_gap_px"] == pytest.approx(7 / 5)
    assert m["fp_apart_per_gap_px"] == pytest.approx(1 / 5)


def test_trait_errors():
    y, x, g = _case()
    m = repair_metrics(y, x, x, g)
    # skeleton: 49 px long complete; the gappy one has pieces of 20 and 25 px: 19 + 24
    assert m["length_err"] == pytest.approx(6 / 49, abs=0.01)
    assert m["tips_err"] == pytest.approx(1.0)


def test_cldice_by_hand():
    a = np.zeros((10, 10), bool)
    a[5, 0:10] = True
    assert cldice(a, a) == pytest.approx(1)
    b = np.zeros_like(a)
    b[5, 0:5] = True
    # S(b) is in a (Tp = 1); S(a) has 10 px of which 5 lie in b (Ts = 0.5)
    assert cldice(b, a) == pytest.approx(2 * 0.5 / 1.5)


def test_closing_and_link_bridge_a_gap():
    y, x, _ = _case()
    wide = np.zeros((40, 60), bool)
    wide[18:23, 5:55] = True
    wide[:, 27:29] = False  # a 2-px gap across a 5-px wide root: inside a radius-3 closing's reach
    assert closing_repair(wide, radius=3)[19:22, 27:29].all()  # the core; round corners stay open
    assert not closing_repair(x, radius=1)[20, 25:30].any()  # a 5-px gap is out of radius 1's
    linked = link_repair(x)
    assert linked[20, 25:30].all() and (linked >= x).all()
    # a gap longer than the link distance stays open
    far = np.zeros((20, 200), bool)
    far[10, 5:50] = True
    far[10, 150:195] = True
    assert not link_repair(far, max_distance=30)[10, 50:150].any()


def test_evaluation_is_deterministic():
    cfg = EvalConfig(methods=("none", "closing"), levels=("patch",), n=3)
    a, _ = evaluate(cfg)
    b, _ = evaluate(cfg)
    assert a.equals(b)
    s = make_samples(cfg, "patch")
    assert len(s) == 3 and all((x.truth & ~x.gappy).any() for x in s)


def test_false_joins_count_truth_pieces_a_repair_merged():
    from rootrepair.metrics import false_joins

    y = np.zeros((20, 40), bool)
    y[5, 2:30] = True  # a root
    y[9, 10:12] = True  # a speck below it
    y[15, 2:30] = True  # another root
    assert false_joins(y, y) == 0
    r = y.copy()
    r[6:9, 10] = True  # joins the speck to the first root
    assert false_joins(y, r) == 1
    r[10:15, 11] = True  # and the speck to the second root: three truth pieces in one
    assert false_joins(y, r) == 2
    assert repair_metrics(y, y, r, np.zeros_like(y), traits=False)["false_joins"] == 2


def test_noisy_samples_keep_their_noise_in_the_truth():
    clean = make_samples(EvalConfig(levels=("image",), n=1, gaps="occlusion"), "image")[0]
    noisy = make_samples(EvalConfig(levels=("image",), n=1, gaps="occlusion", noise=1.0), "image")[0]
    assert noisy.truth.sum() != clean.truth.sum()
    assert not (noisy.gappy & ~noisy.truth).any()  # gaps only remove pixels


def test_a_folder_of_masks_is_read_as_needed_bad_files_named_and_left_out(tmp_path):
    from PIL import Image

    for i, col in enumerate((10, 30)):
        m = np.zeros((64, 64), np.uint8)
        m[5:60, col:col + 3] = 255
        Image.fromarray(m).save(tmp_path / f"m{i}.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    cfg = EvalConfig(data=str(tmp_path), gaps="square", levels=("image",), n=3, device="cpu")
    with pytest.warns(UserWarning, match="broken.png.*left out of the evaluation"):
        samples = make_samples(cfg, "image")
    # two readable masks, three samples: the folder is gone round again, in order
    assert [s.name for s in samples] == ["m0", "m1", "m0"]
    assert [int(np.flatnonzero(s.truth.any(axis=0))[0]) for s in samples] == [10, 30, 10]
    (tmp_path / "m0.png").unlink()
    (tmp_path / "m1.png").unlink()
    with pytest.raises(RootRepairError, match="no readable masks"), pytest.warns(UserWarning, match="broken.png"):
        make_samples(cfg, "image")


def test_decoder_variants_share_the_network_and_decode_with_their_own_settings(monkeypatch):
    import rootrepair.inpaint as inpaint
    from rootrepair.decode import DecodeSettings

    calls = []

    def fake_probability(model, mask, settings=None, *, device=None):
        calls.append(mask)
        # the network calls every pixel within 3 px of a root's pixel fairly likely root
        from scipy import ndimage as ndi

        return np.where(ndi.binary_dilation(mask, iterations=3), 0.6, 0.01).astype(np.float32)

    monkeypatch.setattr(inpaint, "predict_probability", fake_probability)
    net = "rootrepair-unet-base32+threshold"
    cfg = EvalConfig(methods=("none", net), levels=("patch",), n=2, device="cpu")
    variant = DecodeSettings(decoder="threshold", threshold=0.9)  # nothing is above 0.9: nothing added
    df, _ = evaluate(cfg, variants={"strict": (net, variant)})
    assert len(calls) == 2  # once per sample, for both decodings
    assert list(df.method.unique()) == ["none", net, "strict"]
    strict, none, loose = (df[df.method == m].reset_index(drop=True) for m in ("strict", "none", net))
    assert (strict.gap_recall == 0).all() and (strict.false_positive_px == 0).all()
    on_masks = ["rel_comp_diff", "betti0_error", "cldice", "length_err", "tips_err"]  # mse uses the probability
    assert strict[on_masks].equals(none[on_masks])  # the input, unchanged
    assert (loose.false_positive_px > 0).all()  # the default settings (0.5) add the dilation

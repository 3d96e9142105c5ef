import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from rootrepair.errors import RootRepairError
from rootrepair.train import (
    VARIANTS,
    TrainConfig,
    build_networks,
    cross_entropy,
    generator_losses,
    make_batch,
    paste,
    train,
)

TINY = dict(base=4, batch=2, patch=128, large=(256, 256), pool=2, val_patches=2, reinforce_samples=2)


def _batch(cfg, seed=0):
    rng = np.random.default_rng(seed)
    Y = np.zeros((256, 256), bool)
    Y[10:250, 60:63] = True
    Y[120:123, 5:250] = True
    return make_batch(Y, Y.T.copy(), cfg, rng, torch.device("cpu"))


def test_masked_ce_ignores_unmasked_pixels():
    logits = torch.randn(1, 2, 8, 8)
    target = torch.zeros(1, 1, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:4, 2:4] = 1
    other = logits.clone()
    other[:, 1, 5:, 5:] += 100  # the foreground logit, only where the mask is 0
    assert torch.allclose(cross_entropy(logits, target, mask), cross_entropy(other, target, mask))
    assert not torch.allclose(cross_entropy(logits, target), cross_entropy(other, target))


def test_paste_puts_patches_back_row_column():
    X = torch.zeros(1, 1, 128, 128)
    patches = torch.ones(2, 1, 64, 64)
    out = paste(X, patches, [(0, 64), (64, 0)])
    assert out[0, 0, :64, 64:].all() and out[0, 0, 64:, :64].all()
    assert not out[0, 0, :64, :64].any() and not X.any()


@pytest.mark.parametrize("term", ["ce", "local", "global"])
def test_generator_gets_gradient_from_each_term(term):
    torch.manual_seed(0)
    cfg = TrainConfig(variant="gan-gl", **TINY)
    G, d_local, d_global = build_networks(cfg, torch.device("cpu"))
    batch = _batch(cfg)
    for _ in range(20):  # a reward that differs between samples needs a D_G that is not flat
        _, terms, _, _ = generator_losses(G, batch, cfg, d_local, d_global)
        if term != "global" or abs(float(terms["global"].detach())) > 0:
            break
    G.zero_grad()
    terms[term].backward()
    grads = [p.grad.abs().sum() for p in G.parameters() if p.grad is not None]
    assert grads and float(sum(grads)) > 0


def test_local_term_sees_soft_probabilities():
    """D_L must get G's probabilities, not a thresholded copy: otherwise no gradient reaches G."""
    cfg = TrainConfig(variant="gan-l", **TINY)
    G, d_local, _ = build_networks(cfg, torch.device("cpu"))
    _, terms, _, prob = generator_losses(G, _batch(cfg), cfg, d_local, None)
    assert prob.requires_grad and terms["local"].requires_grad
    assert "global" not in terms


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_step_of_every_variant(variant, tmp_path):
    real = tmp_path / "real"
    if variant == "gan-gl-m":
        from rootrepair.io import write_mask

        m = np.zeros((300, 300), bool)
        m[10:290, 80:83] = True
        m[70:75, 80:83] = False  # an inherent gap
        write_mask(real / "r.png", m)
    cfg = TrainConfig(variant=variant, out=str(tmp_path / "run"), steps=2, real=str(real) if variant == "gan-gl-m" else None,
                      val_every=2, checkpoint_every=2, log_every=1, **TINY)
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in build_networks(cfg, torch.device("cpu"))[0].state_dict().items()}
    path = train(cfg)
    card = json.loads(path.read_text())
    assert card["variant"] == variant and card["steps_done"] == 2
    logs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    for entry in logs:
        assert all(np.isfinite(v) for k, v in entry.items() if isinstance(v, float))
    if variant == "gan-gl-m":
        assert {e["batch"] for e in logs} == {"synthetic", "real"}
    from rootrepair.models.checkpoint import load_generator

    G, _ = load_generator(path)
    after = G.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].dtype.is_floating_point)
    assert (tmp_path / "run" / "previews" / "step_000002.png").exists()


def test_resume_continues_from_the_checkpoint(tmp_path):
    cfg = TrainConfig(variant="unet", out=str(tmp_path / "run"), steps=2, checkpoint_every=1, val_every=100, **TINY)
    train(cfg)
    with pytest.raises(RootRepairError, match="--resume"):
        train(cfg)
    path = train(dataclasses.replace(cfg, steps=3), resume=True)
    assert json.loads(path.read_text())["steps_done"] == 3


def test_config_checks():
    with pytest.raises(RootRepairError, match="gan-gl"):
        TrainConfig(variant="gan")
    with pytest.raises(RootRepairError, match="--real"):
        TrainConfig(variant="gan-gl-m")


def test_training_masks_can_carry_segmentation_noise():
    from scipy import ndimage as ndi

    from rootrepair.train import LargeMaskSource, TrainConfig

    clean = LargeMaskSource(TrainConfig(pool=1, variant="unet"), np.random.default_rng(5)).pool[0]
    noisy = max((LargeMaskSource(TrainConfig(pool=1, variant="unet", noise=1.0), np.random.default_rng(s)).pool[0] for s in range(4)), key=lambda m: ndi.label(m, structure=np.ones((3, 3)))[1])
    n = lambda m: ndi.label(m, structure=np.ones((3, 3)))[1]  # noqa: E731
    assert n(noisy) > n(clean) + 10  # specks are separate pieces: noise is in the complete mask


# ---------------------------------------------------------------- ablation options


def test_skeleton_recall_counts_the_skeleton_pixels_predicted():
    from rootrepair.train import skeleton_recall_loss

    skel = torch.zeros(1, 1, 6, 6)
    skel[0, 0, 2, :] = 1  # 6 skeleton pixels
    prob = torch.zeros(1, 1, 6, 6)
    assert float(skeleton_recall_loss(prob, skel)) == pytest.approx(1.0)
    prob[0, 0, 2, :3] = 1.0  # 3 of 6 found
    prob[0, 0, 4, :] = 1.0  # foreground off the skeleton changes nothing
    assert float(skeleton_recall_loss(prob, skel)) == pytest.approx(0.5)
    prob[0, 0, 2, 3:] = 0.5  # the other 3 at one half: recall (3 + 1.5) / 6
    assert float(skeleton_recall_loss(prob, skel)) == pytest.approx(1 - 4.5 / 6)


def test_straight_through_is_binary_forward_and_identity_backward():
    from rootrepair.train import straight_through

    prob = torch.tensor([0.2, 0.5, 0.51, 0.9], requires_grad=True)
    hard = straight_through(prob)
    assert hard.tolist() == [0.0, 0.0, 1.0, 1.0]
    (hard * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert prob.grad.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_straight_through_local_term_still_reaches_g():
    cfg = TrainConfig(variant="gan-l", local_input="straight-through", **TINY)
    G, d_local, _ = build_networks(cfg, torch.device("cpu"))
    seen = []
    d_local.register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    _, terms, _, _ = generator_losses(G, _batch(cfg), cfg, d_local, None)
    assert set(torch.unique(seen[0]).tolist()) <= {0.0, 1.0}  # D_L sees a binary mask
    G.zero_grad()
    terms["local"].backward()
    assert float(sum(p.grad.abs().sum() for p in G.parameters() if p.grad is not None)) > 0


def test_topology_term_is_weighted_into_the_total():
    torch.manual_seed(0)
    cfg = TrainConfig(variant="unet", topology_loss="skeleton-recall", lambda_topology=7.0, **TINY)
    G, _, _ = build_networks(cfg, torch.device("cpu"))
    batch = _batch(cfg)
    assert batch.skeleton is not None and batch.skeleton.shape == batch.y.shape
    assert bool((batch.skeleton <= batch.y + (batch.skeleton > 0).float()).all())
    total, terms, _, _ = generator_losses(G, batch, cfg)
    expected = cfg.lambda_ce * terms["ce"] + 7.0 * terms["topology"]
    assert float(total.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert 0.0 < float(terms["topology"].detach()) < 1.0


def test_gap_term_is_the_cross_entropy_at_the_gap_pixels_only():
    from rootrepair.train import Batch

    # two pixels: a gap pixel of root predicted at 3/4, a background pixel outside the gap at 1/2
    logits = torch.tensor([[[[0.0, 0.0]], [[math.log(3.0), 0.0]]]])  # (1, 2, 1, 2): background, root
    y = torch.tensor([[[[1.0, 0.0]]]])
    gap = torch.tensor([[[[1.0, 0.0]]]])
    batch = Batch(x=torch.zeros_like(y), y=y, gap=gap, y2=None, X=None, Y=None, origins=[(0, 0)])
    cfg = TrainConfig(variant="unet", lambda_ce=10.0, lambda_gap=4.0, **TINY)
    total, terms, _, _ = generator_losses(lambda x: logits, batch, cfg)
    ce_gap = -math.log(0.75)
    ce_all = (-math.log(0.75) - math.log(0.5)) / 2
    assert float(terms["gap"]) == pytest.approx(ce_gap, rel=1e-5)
    assert float(total) == pytest.approx(10.0 * ce_all + 4.0 * ce_gap, rel=1e-5)
    off = TrainConfig(variant="unet", lambda_ce=10.0, **TINY)
    assert "gap" not in generator_losses(lambda x: logits, batch, off)[1]
    with pytest.raises(RootRepairError):
        TrainConfig(lambda_gap=-1.0)


def test_apex_gaps_are_undone_down_to_the_rate():
    from rootrepair.train import limit_apex_gaps

    Y = np.zeros((120, 40), bool)
    Y[10:110, 19:22] = True  # one root: two apices, rows ~10 and ~109
    gap = np.zeros_like(Y)
    gap[95:115, 10:30] = True  # swallows the lower apex
    gap[40:50, 10:30] = True  # cuts the middle
    X = Y & ~gap
    X2, gap2, share = limit_apex_gaps(Y, X, gap, 0.0, np.random.default_rng(0))
    assert share == pytest.approx(0.5)
    assert X2[95:115].sum() == Y[95:115].sum() and not gap2[95:115].any()  # the apex gap is undone
    assert not X2[40:50].any() and gap2[40:50, 10:30].all()  # the middle gap stays
    X3, gap3, _ = limit_apex_gaps(Y, X, gap, 0.5, np.random.default_rng(0))
    assert np.array_equal(X3, X) and np.array_equal(gap3, gap)  # already at the rate: unchanged


def test_scaled_crop_widens_roots_by_the_factor():
    from rootrepair.train import scaled_crop

    full = np.zeros((200, 200), bool)
    full[:, 98:101] = True  # 3 px wide, crossing the whole mask
    crop = scaled_crop(full, (100, 100), (2.0, 2.0), np.random.default_rng(1))
    widths = crop.sum(axis=1)
    assert crop.shape == (100, 100) and np.all((widths >= 5) & (widths <= 7))  # 3 px x 2
    same = scaled_crop(full, (100, 100), (1.0, 1.0), np.random.default_rng(1))
    assert np.all(same.sum(axis=1) == 3)


def test_init_loads_weights_and_refuses_another_architecture(tmp_path):
    from rootrepair.models.checkpoint import save_generator
    from rootrepair.train import init_generator

    cfg = TrainConfig(variant="unet", **TINY)
    src, _, _ = build_networks(cfg, torch.device("cpu"))
    path = save_generator(tmp_path / "g", src, {"arch": "unet", "base": 4}, dtype="float16")
    from safetensors.torch import load_file

    assert {v.dtype for v in load_file(str(tmp_path / "g.safetensors")).values() if v.is_floating_point()} == {torch.float16}
    G, _, _ = build_networks(cfg, torch.device("cpu"))
    init_generator(G, dataclasses.replace(cfg, init=str(path)))
    for k, v in src.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(G.state_dict()[k], v, atol=1e-3, rtol=1e-3)
    with pytest.raises(RootRepairError, match="base 8 or wider"):
        init_generator(build_networks(TrainConfig(variant="unet", **{**TINY, "base": 8}), torch.device("cpu"))[0],
                       TrainConfig(variant="unet", init=str(path), **{**TINY, "base": 8}))
    # a narrower G starts from the wider one's strongest channels
    narrow_cfg = TrainConfig(variant="unet", init=str(path), **{**TINY, "base": 2})
    narrow = build_networks(narrow_cfg, torch.device("cpu"))[0]
    init_generator(narrow, narrow_cfg)
    keep = torch.sort(torch.argsort(src.stem[0][1].weight.detach().abs(), descending=True)[:2]).values
    assert torch.allclose(narrow.stem[0][0].weight, src.stem[0][0].weight[keep], atol=1e-3, rtol=1e-3)


def test_new_options_are_checked():
    with pytest.raises(RootRepairError, match="topology loss"):
        TrainConfig(topology_loss="dice")
    with pytest.raises(RootRepairError, match="local input"):
        TrainConfig(local_input="hard")
    with pytest.raises(RootRepairError, match="'holes'"):
        TrainConfig(gaps="mix,holes")
    with pytest.raises(RootRepairError, match="preset"):
        TrainConfig(preset="chickpea,maize")
    with pytest.raises(RootRepairError, match="scale"):
        TrainConfig(scale=(2.0, 1.0))
    assert TrainConfig(gaps="mix, occlusion", preset="chickpea,fibrous").gap_kinds == ["mix", "occlusion"]


def test_train_cli_refuses_bad_options_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from rootrepair.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["train", "--scale", "2", "--out", str(tmp_path / "run")])
    assert r.exit_code == 1 and "--scale must look like 1,2" in r.output
    r = runner.invoke(app, ["train", "--topology-loss", "cldice", "--out", str(tmp_path / "run")])
    assert r.exit_code == 1 and "skeleton-recall" in r.output
    assert not (tmp_path / "run").exists()


def test_teacher_term_is_the_cross_entropy_against_the_teachers_probability():
    from rootrepair.train import Batch, soft_cross_entropy

    # one pixel, G says 3/4 foreground
    logits = torch.tensor([[[[0.0]], [[math.log(3.0)]]]])  # (1, 2, 1, 1): background, root
    assert float(soft_cross_entropy(logits, torch.ones(1, 1, 1, 1))) == pytest.approx(-math.log(0.75), rel=1e-5)
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert float(soft_cross_entropy(logits, torch.full((1, 1, 1, 1), 0.75))) == pytest.approx(entropy, rel=1e-5)
    # at the teacher's probability the term is at its minimum: no gradient
    leaf = logits.clone().requires_grad_(True)
    soft_cross_entropy(leaf, torch.full((1, 1, 1, 1), 0.75)).backward()
    assert float(leaf.grad.abs().max()) < 1e-6
    y = torch.ones(1, 1, 1, 1)
    batch = Batch(x=torch.zeros_like(y), y=y, gap=torch.zeros_like(y), y2=None, X=None, Y=None, origins=[(0, 0)])
    cfg = TrainConfig(variant="unet", lambda_ce=10.0, lambda_teacher=4.0, **TINY)
    total, terms, _, _ = generator_losses(lambda x: logits, batch, cfg, teacher_prob=torch.zeros_like(y))
    assert float(terms["teacher"]) == pytest.approx(-math.log(0.25), rel=1e-5)
    assert float(total) == pytest.approx(10.0 * -math.log(0.75) + 4.0 * -math.log(0.25), rel=1e-5)
    assert "teacher" not in generator_losses(lambda x: logits, batch, cfg)[1]
    with pytest.raises(RootRepairError, match="teacher"):
        TrainConfig(lambda_teacher=-1.0)


def test_a_smaller_generator_learns_from_a_teacher(tmp_path):
    from rootrepair.models.checkpoint import load_generator, save_generator

    torch.manual_seed(0)
    big = build_networks(TrainConfig(variant="unet", **{**TINY, "base": 8}), torch.device("cpu"))[0]
    teacher = save_generator(tmp_path / "teacher", big.eval(), {"arch": "unet", "base": 8})
    cfg = TrainConfig(variant="unet", out=str(tmp_path / "run"), steps=2, teacher=str(teacher), cpu_bf16=True,
                      val_every=2, checkpoint_every=2, log_every=1, **TINY)
    path = train(cfg)
    card = json.loads(path.read_text())
    assert card["base"] == 4 and card["teacher"] == str(teacher) and card["cpu_bf16"] is True
    logs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(np.isfinite(e["teacher"]) and e["teacher"] > 0 for e in logs if e.get("batch") == "synthetic")
    assert load_generator(path)[1]["base"] == 4


class _CountingSource:
    """Stands in for LargeMaskSource: hands out numbered masks and counts the draws."""

    def __init__(self):
        self.draws = 0

    def draw(self):
        self.draws += 1
        Y = np.zeros((256, 256), bool)
        Y[10:250, 60:63] = True
        return Y


def test_a_batch_can_come_from_several_large_masks():
    from rootrepair.train import synthetic_batch

    cfg = TrainConfig(variant="unet", **{**TINY, "batch": 6, "patches_per_mask": 2, "large": (256, 384)})
    source = _CountingSource()
    b = synthetic_batch(source, cfg, np.random.default_rng(0), torch.device("cpu"))
    # 6 patches, 2 from each of 3 masks; each pair is 2 different tiles of its own mask
    assert source.draws == 3
    assert tuple(b.x.shape) == tuple(b.y.shape) == tuple(b.gap.shape) == (6, 1, 128, 128)
    assert all(b.origins[i] != b.origins[i + 1] for i in (0, 2, 4))
    one = TrainConfig(variant="unet", **TINY)  # the paper's way: the whole batch from one mask
    source = _CountingSource()
    synthetic_batch(source, one, np.random.default_rng(0), torch.device("cpu"))
    assert source.draws == 1


def test_batch_and_patches_per_mask_are_checked():
    with pytest.raises(RootRepairError, match="multiple"):
        TrainConfig(variant="unet", **{**TINY, "batch": 3, "patches_per_mask": 2})
    with pytest.raises(RootRepairError, match="one large mask"):
        TrainConfig(variant="gan-gl", **{**TINY, "batch": 4, "patches_per_mask": 2})
    with pytest.raises(RootRepairError, match="refresh"):
        TrainConfig(variant="unet", refresh_every=0)


def test_the_pool_is_refreshed_every_n_draws():
    from rootrepair.train import LargeMaskSource

    cfg = TrainConfig(variant="unet", **{**TINY, "pool": 3, "refresh_every": 3})
    source = LargeMaskSource(cfg, np.random.default_rng(0))
    before = list(source.pool)  # held, so that no new mask can take a freed one's id
    for _ in range(6):
        source.draw()
    # draws 3 and 6 each replaced one entry (possibly the same one): one or two new masks
    assert 1 <= sum(all(m is not b for b in before) for m in source.pool) <= 2


def test_workers_make_the_data_and_a_stretch_stops_at_its_time(tmp_path):
    cfg = TrainConfig(variant="unet", out=str(tmp_path / "run"), steps=50, checkpoint_every=100, val_every=100, workers=2,
                      max_minutes=1e-9, **TINY)
    path = train(cfg)
    # the first step already outlasts the stretch: one step done, checkpointed for --resume
    assert json.loads(path.read_text())["steps_done"] == 1
    assert json.loads((tmp_path / "run" / "checkpoint.json").read_text())["step"] == 1
    path = train(dataclasses.replace(cfg, max_minutes=0.0, steps=2), resume=True)
    assert json.loads(path.read_text())["steps_done"] == 2


def test_cosine_schedule_falls_by_steps_or_by_the_stretchs_minutes(tmp_path):
    from rootrepair.train import lr_factor

    cfg = TrainConfig(variant="unet", steps=5, lr_schedule="cosine", **TINY)
    assert lr_factor(dataclasses.replace(cfg, lr_schedule="constant"), 4, 99.0) == 1.0
    assert lr_factor(cfg, 1, 0.0) == pytest.approx(1.0)
    assert lr_factor(cfg, 3, 0.0) == pytest.approx(0.5 * (1 + math.cos(0.4 * math.pi)))  # 0.6545
    # 45 s into a 1-minute stretch is further on than step 1 of 5: f = 0.75
    assert lr_factor(dataclasses.replace(cfg, max_minutes=1.0), 1, 45.0) == pytest.approx((1 - math.sqrt(0.5)) / 2)
    assert lr_factor(dataclasses.replace(cfg, max_minutes=1.0), 1, 600.0) == pytest.approx(0.0)
    run = dataclasses.replace(cfg, out=str(tmp_path / "run"), steps=3, lr_g=1e-3, val_every=100, checkpoint_every=100, log_every=1)
    train(run)
    logged = [json.loads(line)["lr_g"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert logged == pytest.approx([1e-3, 0.75e-3, 0.25e-3])  # cos(0), cos(pi/3), cos(2 pi/3)
    with pytest.raises(RootRepairError, match="lr schedule"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(RootRepairError, match="ema"):
        TrainConfig(ema=1.0)


def test_ema_averages_the_weights_across_a_resume_and_is_exported(tmp_path):
    from safetensors.torch import load_file

    from rootrepair.models.checkpoint import load_generator
    from rootrepair.train import export_generator

    cfg = TrainConfig(variant="unet", out=str(tmp_path / "run"), steps=1, ema=0.25, val_every=1, checkpoint_every=1, **TINY)
    train(cfg)
    first = load_file(str(tmp_path / "run" / "checkpoint.safetensors"))
    names = [k[2:] for k, v in first.items() if k.startswith("G/") and v.is_floating_point()]
    for k in names:  # the average's first update copies G
        assert torch.equal(first["G_ema/" + k], first["G/" + k])
    train(dataclasses.replace(cfg, steps=2), resume=True)
    second = load_file(str(tmp_path / "run" / "checkpoint.safetensors"))
    moved = 0
    for k in names:  # after the resume: 0.25 x the average + 0.75 x the new weights
        want = 0.25 * first["G_ema/" + k] + 0.75 * second["G/" + k]
        assert torch.allclose(second["G_ema/" + k], want, atol=1e-6), k
        moved += not torch.equal(second["G/" + k], first["G/" + k])
    assert moved > len(names) // 2
    k = next(n for n in names if n.endswith("weight") and second["G/" + n].dim() == 4)
    for weights, key in (("ema", "G_ema/"), ("last", "G/")):
        G, meta = load_generator(str(export_generator(tmp_path / "run", tmp_path / weights, dtype="float32", weights=weights)))
        assert meta["exported_weights"] == ("ema" if weights == "ema" else "last")
        assert torch.equal(G.state_dict()[k].float(), second[key + k])
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("ema_val_gap_recall" in m for m in metrics)

import dataclasses
import json

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
    noisy = LargeMaskSource(TrainConfig(pool=1, variant="unet", noise=1.0), np.random.default_rng(5)).pool[0]
    n = lambda m: ndi.label(m, structure=np.ones((3, 3)))[1]  # noqa: E731
    assert n(noisy) > n(clean) + 10  # specks are separate pieces: noise is in the complete mask

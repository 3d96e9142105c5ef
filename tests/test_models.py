import pytest
import torch

from rootrepair.errors import RootRepairError
from rootrepair.models.checkpoint import load_generator, load_training_state, save_generator, save_training_state
from rootrepair.models.networks import (
    GlobalDiscriminator,
    LocalDiscriminator,
    SasakiCNN,
    UNetGenerator,
    build_model,
    foreground_probability,
)


def test_generator_any_size_and_two_classes():
    g = UNetGenerator(base=4).eval()
    for h, w in [(64, 64), (37, 90)]:
        out = g(torch.zeros(2, 1, h, w))
        assert out.shape == (2, 2, h, w)
    with torch.no_grad():
        p = foreground_probability(g(torch.zeros(1, 1, 32, 32)))
    assert p.shape == (1, 1, 32, 32) and float(p.max()) < 0.5  # starts at the foreground prior


def test_cnn_has_no_skip_connections():
    cnn, unet = SasakiCNN(base=4), UNetGenerator(base=4)
    assert not cnn.skip and unet.skip
    assert sum(p.numel() for p in cnn.parameters()) < sum(p.numel() for p in unet.parameters())


def test_local_discriminator_scores_128_regions():
    d = LocalDiscriminator(base=4)
    assert d(torch.rand(3, 1, 256, 256)).shape == (3, 1, 2, 2)


def test_global_discriminator_is_a_similarity_of_any_size():
    d = GlobalDiscriminator(base=4, dim=32).eval()  # eval: spectral norm stops its power iteration
    a, b = torch.rand(1, 1, 300, 170), torch.rand(1, 1, 300, 170)
    s = d(a, b)
    assert s.shape == (1,) and 0 < float(s.detach()) < 1
    assert torch.allclose(d(a, b), d(b, a))
    assert d.features(torch.rand(2, 1, 64, 64)).shape == (2, 32)


def test_registry_lists_names():
    with pytest.raises(RootRepairError, match="unet"):
        build_model("resnet")


def test_generator_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(0)
    g = UNetGenerator(base=4)
    g.train()
    g(torch.rand(4, 1, 32, 32))  # move the BN running stats
    g.eval()
    x = (torch.rand(1, 1, 48, 48) > 0.8).float()
    path = save_generator(tmp_path / "m", g, {"arch": "unet", "base": 4, "variant": "unet"})
    loaded, card = load_generator(path)
    assert card["sha256"] and card["id"] == "m"
    assert torch.equal(loaded(x), g(x))
    # a damaged weights file is refused, not loaded
    w = tmp_path / "m.safetensors"
    w.write_bytes(w.read_bytes()[:-4] + b"abcd")
    with pytest.raises(RootRepairError, match="sha256"):
        load_generator(path)


def test_missing_model_names_the_choices(tmp_path):
    with pytest.raises(RootRepairError, match="shipped name"):
        load_generator(tmp_path / "nothing.json")


def test_training_state_roundtrip(tmp_path):
    g = UNetGenerator(base=4)
    opt = torch.optim.Adam(g.parameters(), lr=1e-3)
    loss = foreground_probability(g(torch.rand(2, 1, 32, 32))).mean()
    loss.backward()
    opt.step()
    save_training_state(tmp_path / "ck", {"G": g}, {"G": opt}, {"step": 1})
    g2 = UNetGenerator(base=4)
    opt2 = torch.optim.Adam(g2.parameters(), lr=1e-3)
    meta = load_training_state(tmp_path / "ck", {"G": g2}, {"G": opt2})
    assert meta["step"] == 1
    for a, b in zip(g.state_dict().values(), g2.state_dict().values()):
        assert torch.equal(a, b)
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and float(s1["step"]) == float(s2["step"])

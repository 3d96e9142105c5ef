import pytest
import torch

from rootrepair.errors import RootRepairError
from rootrepair.models.checkpoint import load_generator, load_training_state, quantize_int8, save_generator, save_training_state
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


def test_int8_quantisation_by_hand():
    w = torch.tensor([[1.0, -0.5, 0.25], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.0]]).reshape(3, 3, 1, 1)
    q, scale = quantize_int8(w)
    assert q.dtype == torch.int8 and scale.shape == (3, 1, 1, 1)
    # row 0: max 1.0 -> scale 1/127; -0.5 * 127 = -63.5 rounds half to even: -64; 0.25 * 127 = 31.75 -> 32
    assert q[0].flatten().tolist() == [127, -64, 32]
    assert q[1].flatten().tolist() == [0, 0, 0] and scale[1].item() == 1.0  # an all-zero channel
    assert q[2].flatten().tolist() == [-127, 64, 0]  # 1.0 / (2 / 127) = 63.5 -> 64
    assert scale[2].item() == pytest.approx(2 / 127)


def test_int8_checkpoint_stores_a_quarter_and_loads_close(tmp_path):
    from safetensors.torch import load_file

    torch.manual_seed(0)
    g = UNetGenerator(base=8).eval()
    path = save_generator(tmp_path / "q", g, {"arch": "unet", "base": 8, "variant": "unet"}, dtype="int8")
    stored = load_file(str(tmp_path / "q.safetensors"))
    convs = [k for k, v in g.state_dict().items() if v.dim() >= 2]
    assert convs and all(stored[k].dtype == torch.int8 for k in convs)
    assert {stored[k].dtype for k, v in g.state_dict().items() if v.is_floating_point() and v.dim() < 2} == {torch.float16}
    loaded, card = load_generator(path)
    assert card["dtype"] == "int8"
    for k in convs:  # within half a quantisation step of the original
        step = g.state_dict()[k].abs().amax(dim=tuple(range(1, g.state_dict()[k].dim())), keepdim=True) / 127
        assert torch.all((loaded.state_dict()[k] - g.state_dict()[k]).abs() <= step / 2 + 1e-7)
    with pytest.raises(ValueError, match="int8"):
        save_generator(tmp_path / "x", g, {}, dtype="int4")


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


def test_slimming_to_the_same_width_is_the_same_network():
    from rootrepair.models.networks import slim_generator

    torch.manual_seed(0)
    src = UNetGenerator(base=4)
    for m in src.modules():  # BN statistics other than the defaults, as after training
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(-2, 2)
            m.running_mean.data.uniform_(-1, 1)
            m.running_var.data.uniform_(0.5, 2)
    src.eval()
    x = (torch.rand(1, 1, 48, 48) > 0.8).float()
    with torch.no_grad():
        assert torch.allclose(slim_generator(src, 4).eval()(x), src(x), atol=1e-5)


def test_slimming_keeps_the_channels_with_the_largest_batch_norm_scale():
    from rootrepair.models.networks import slim_generator

    torch.manual_seed(0)
    src = UNetGenerator(base=2)  # widths 2, 4, 8, 16, 16
    src.stem[0][1].weight.data = torch.tensor([0.1, -5.0])  # the stem's first layer keeps channel 1
    src.stem[1][1].weight.data = torch.tensor([3.0, 0.2])  # its second keeps channel 0
    src.up_conv[3][1].weight.data = torch.tensor([0.5, 1.0])  # the top level's upsampling conv keeps 1
    src.merge[3][1].weight.data = torch.tensor([2.0, -1.0])  # the top merge keeps 0
    dst = slim_generator(src, 1)
    assert dst.stem[0][0].weight.shape == (1, 1, 3, 3)
    assert torch.equal(dst.stem[0][0].weight, src.stem[0][0].weight[1:2])
    assert torch.equal(dst.stem[0][1].weight, torch.tensor([-5.0]))
    assert torch.equal(dst.stem[1][0].weight, src.stem[1][0].weight[0:1, 1:2])  # reads the kept channel 1
    # the top merge reads cat(upsampled (2 ch), skip (2 ch)): kept upsampled channel 1 -> input 1,
    # kept skip channel 0 (the stem's second layer) -> input 2 + 0
    assert torch.equal(dst.merge[3][0].weight, src.merge[3][0].weight[0:1][:, [1, 2]])
    assert torch.equal(dst.head.weight, src.head.weight[:, 0:1])
    with pytest.raises(ValueError, match="wider"):
        slim_generator(src, 4)


@pytest.mark.parametrize("skip", [True, False])
def test_inference_form_gives_the_same_logits(skip):
    from rootrepair.models.networks import InferenceUNet

    torch.manual_seed(1)
    src = UNetGenerator(base=4, skip=skip)
    for m in src.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(-2, 2)
            m.bias.data.uniform_(-1, 1)
            m.running_mean.data.uniform_(-1, 1)
            m.running_var.data.uniform_(0.5, 2)
    src.eval()
    fast = InferenceUNet(src)
    assert all(u[0].out_channels == 4 * s[0].out_channels for u, s in zip(fast.up_conv, src.up_conv))
    for shape in ((2, 1, 64, 64), (1, 1, 37, 50)):  # one not a multiple of 16: padded and cropped alike
        x = (torch.rand(shape) > 0.7).float()
        with torch.no_grad():
            a, b = src(x), fast(x)
        assert a.shape == b.shape
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)


def test_subpixel_conv_equals_conv_after_nearest_upsampling():
    from rootrepair.models.networks import _subpixel

    torch.manual_seed(2)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    x = torch.randn(1, 3, 6, 7)
    with torch.no_grad():
        ref = conv(torch.nn.functional.interpolate(x, scale_factor=2.0, mode="nearest"))
        got = torch.nn.functional.pixel_shuffle(_subpixel(conv)(x), 2)
    assert torch.allclose(ref, got, atol=1e-5)

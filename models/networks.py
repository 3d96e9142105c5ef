"""The networks of the paper (supplementary section I), readable in one file.

- ``UNetGenerator``: G. 4 stride-2 downsamplings, nearest-neighbour upsampling + conv,
  skip connections, BN + ReLU, 2-class output (softmax -> foreground probability).
- ``SasakiCNN``: the CNN baseline after Sasaki et al. 2017, the same encoder/decoder
  idea without skip connections.
- ``LocalDiscriminator``: D_L, 5 blocks of (conv k3 s2, spectral norm, BN, LeakyReLU) and
  a last conv (k4) + sigmoid; on a 256 x 256 patch it gives 2 x 2 scores, one per
  128 x 128 region.
- ``GlobalDiscriminator``: D_G, a feature extractor f (conv k5 s2, spectral norm,
  LeakyReLU) with adaptive average pooling to a 512-d vector; similarity
  ``sigmoid(scale * f(a) . f(b) + bias)`` with a learned scale and bias.

Models are plain ``nn.Module``s without device or file logic. ``build_model`` is the registry.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


WIDTHS = (1, 2, 4, 8, 8)  # a U-Net level's channels in units of ``base``, top level to bottleneck
BN_TENSORS = ("weight", "bias", "running_mean", "running_var")  # what a batch norm holds per channel


def _pad_to(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph))  # zeros: background
    return x, h, w


class UNetGenerator(nn.Module):
    """G: blind inpainting U-Net. Input (B, 1, H, W) in {0, 1}; output logits (B, 2, H, W).

    ``base`` sets the width: channels are base x (1, 2, 4, 8, 8) from the top level to the
    bottleneck (base 64 is the paper-size network, base 16 the compact default).
    Any H, W: the input is zero-padded to a multiple of 16 and the output cropped back.
    """

    def __init__(self, base: int = 16, skip: bool = True):
        super().__init__()
        ch = [base * m for m in WIDTHS]
        self.skip = skip
        self.stem = nn.Sequential(conv_bn_relu(1, ch[0]), conv_bn_relu(ch[0], ch[0]))
        # encoder: a stride-2 conv per level, then a conv
        self.down = nn.ModuleList(
            nn.Sequential(conv_bn_relu(ch[i], ch[i + 1], stride=2), conv_bn_relu(ch[i + 1], ch[i + 1])) for i in range(4)
        )
        # decoder: nearest-neighbour x2, conv to the lower level's width, concat the skip, conv
        self.up_conv = nn.ModuleList(conv_bn_relu(ch[i + 1], ch[i]) for i in reversed(range(4)))
        self.merge = nn.ModuleList(
            conv_bn_relu(ch[i] * (2 if skip else 1), ch[i]) for i in reversed(range(4))
        )
        self.head = nn.Conv2d(ch[0], 2, 1)
        # start at the foreground prior (~3% of a root patch) instead of 50/50: with Adam at
        # lr 2e-4 the bias alone would otherwise need thousands of steps to get there
        with torch.no_grad():
            self.head.bias.copy_(torch.tensor([0.0, math.log(0.03 / 0.97)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _unet_forward(self, x, lambda up, y: up(F.interpolate(y, scale_factor=2.0, mode="nearest")))


def _unet_forward(net: nn.Module, x: torch.Tensor, upsample: Callable) -> torch.Tensor:
    """The U-Net's pass, shared by ``UNetGenerator`` and ``InferenceUNet``; ``upsample(up, y)``
    runs a decoder level's ``up_conv`` module on ``y`` at twice its resolution."""
    x, h, w = _pad_to(x, 16)
    return unet_body(net, x, upsample)[..., :h, :w]  # (B, 2, H, W)


def unet_body(net: nn.Module, x: torch.Tensor, upsample: Callable) -> torch.Tensor:
    """``_unet_forward`` on ``x`` whose sides are multiples of 16, without padding or cropping
    (no branch on the input's size, so ``torch.fx`` can trace it)."""
    feats = [net.stem(x)]  # (B, c0, H, W)
    for down in net.down:
        feats.append(down(feats[-1]))  # (B, c_{i+1}, H / 2^(i+1), W / 2^(i+1))
    y = feats[-1]
    for k, (up, merge) in enumerate(zip(net.up_conv, net.merge)):
        y = upsample(up, y)
        if net.skip:
            y = torch.cat([y, feats[-2 - k]], dim=1)
        y = merge(y)
    return net.head(y)


class SasakiCNN(UNetGenerator):
    """CNN baseline (Sasaki et al. 2017): the same encoder-decoder, no skip connections."""

    def __init__(self, base: int = 16):
        super().__init__(base=base, skip=False)


def _repeated(bn: nn.BatchNorm2d, times: int) -> nn.BatchNorm2d:
    """An eval-mode BN whose channel c * times + k has channel c's statistics and affine."""
    out = nn.BatchNorm2d(bn.num_features * times, eps=bn.eps)
    for name in BN_TENSORS:
        getattr(out, name).data = getattr(bn, name).data.repeat_interleave(times)
    return out.eval()


def _subpixel(conv: nn.Conv2d) -> nn.Conv2d:
    """A 3x3 conv (padding 1) of a nearest-x2-upsampled input, as a conv of the input itself.

    Output row 2i + a of the upsampled conv reads upsampled rows 2i + a - 1 .. 2i + a + 1,
    which are input rows i - 1, i, i (a = 0) or i, i, i + 1 (a = 1); so its taps on input
    rows i - 1, i, i + 1 are (w0, w1 + w2, 0) or (0, w0 + w1, w2), and likewise for
    columns. The four (a, b) parities become 4x the output channels, put back in place by
    ``pixel_shuffle``; the zero padding maps onto itself, so the result is the same.
    """
    w = conv.weight.data  # (O, I, 3, 3)
    out_ch, in_ch = w.shape[:2]

    def taps(k: torch.Tensor, axis: int) -> tuple[torch.Tensor, torch.Tensor]:
        k0, k1, k2 = k.unbind(axis)
        zero = torch.zeros_like(k0)
        return torch.stack([k0, k1 + k2, zero], axis), torch.stack([zero, k0 + k1, k2], axis)

    weight = torch.empty(out_ch, 4, in_ch, 3, 3, dtype=w.dtype)
    for a, rows in enumerate(taps(w, 2)):
        for b, both in enumerate(taps(rows, 3)):
            weight[:, 2 * a + b] = both
    new = nn.Conv2d(in_ch, 4 * out_ch, 3, padding=1, bias=conv.bias is not None)
    new.weight.data = weight.reshape(4 * out_ch, in_ch, 3, 3)  # channel 4o + 2a + b: pixel_shuffle's order
    if conv.bias is not None:
        new.bias.data = conv.bias.data.repeat_interleave(4)
    return new


class InferenceUNet(nn.Module):
    """A trained ``UNetGenerator`` rewritten for inference, with the same outputs (to rounding).

    Each decoder level's nearest-neighbour upsampling followed by a conv becomes one conv
    at the lower resolution plus a pixel shuffle (``_subpixel``), so no upsampled copy is
    made. On a 2-core CPU under bf16 it is 18% faster, and its repaired masks are as close
    to fp32's as the original's; in fp32 the masks are the same but it was 9% slower, so
    the CPU runtime uses it under bf16 only. Batch norm is deliberately not folded into the
    convolutions: folded, bf16 rounding moved 3.4x more repaired pixels away from the fp32
    result and added 5% fewer pixels on 32 masks (``benchmarks/results/inference_form_cpu.md``).
    Not for training.
    """

    def __init__(self, src: UNetGenerator):
        super().__init__()
        self.skip = src.skip
        self.stem, self.down, self.merge, self.head = src.stem, src.down, src.merge, src.head
        # conv + BN, both per output channel: the 4 sub-pixel copies of a channel share its BN
        self.up_conv = nn.ModuleList(nn.Sequential(_subpixel(u[0]), _repeated(u[1], 4)) for u in src.up_conv)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _unet_forward(self, x, lambda up, y: F.pixel_shuffle(F.relu(up(y)), 2))


def _strongest(bn: nn.BatchNorm2d, n: int) -> torch.Tensor:
    """Indices (ascending) of the ``n`` channels whose BN scale is largest in magnitude."""
    return torch.sort(torch.argsort(bn.weight.detach().abs(), descending=True)[:n]).values


def _copy_conv_bn(dst: nn.Sequential, src: nn.Sequential, out_idx: torch.Tensor, in_idx: torch.Tensor) -> None:
    dst[0].weight.data.copy_(src[0].weight.data[out_idx][:, in_idx])
    for name in BN_TENSORS:
        getattr(dst[1], name).data.copy_(getattr(src[1], name).data[out_idx])


@torch.no_grad()
def slim_generator(src: UNetGenerator, base: int) -> UNetGenerator:
    """A narrower copy of a trained U-Net: each layer keeps its ``base``-scaled share of channels.

    Network slimming (Liu et al., ICCV 2017): a layer keeps the channels whose batch-norm
    scale is largest in magnitude, and the next layer keeps the weights that read them. The
    result is a start for training a smaller, faster generator (its outputs differ until it
    is trained); at the same width it is the same network.
    """
    src_base = src.stem[0][0].out_channels
    if base > src_base:
        raise ValueError(f"cannot slim a base-{src_base} generator to the wider base {base}")
    dst = UNetGenerator(base, skip=src.skip)
    src_ch = [src_base * m for m in WIDTHS]
    dst_ch = [base * m for m in WIDTHS]
    kept = torch.arange(1)  # the input's one channel
    feats = []  # the kept channels of each level's encoder output (the skips)

    def take(d: nn.Sequential, s: nn.Sequential, width: int) -> torch.Tensor:
        out = _strongest(s[1], width)
        _copy_conv_bn(d, s, out, kept)
        return out

    for d, s in zip(dst.stem, src.stem):
        kept = take(d, s, dst_ch[0])
    feats.append(kept)
    for level, (dd, ss) in enumerate(zip(dst.down, src.down)):
        for d, s in zip(dd, ss):
            kept = take(d, s, dst_ch[level + 1])
        feats.append(kept)
    for k, (du, su, dm, sm) in enumerate(zip(dst.up_conv, src.up_conv, dst.merge, src.merge)):
        level = 3 - k
        kept = take(du, su, dst_ch[level])
        if src.skip:  # the merge reads cat(upsampled, skip): the skip's channels come after the upsampled ones
            kept = torch.cat([kept, src_ch[level] + feats[-2 - k]])
        kept = take(dm, sm, dst_ch[level])
    dst.head.weight.data.copy_(src.head.weight.data[:, kept])
    dst.head.bias.data.copy_(src.head.bias.data)
    return dst


def foreground_probability(logits: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) logits -> (B, 1, H, W) softmax probability of the foreground class."""
    return torch.softmax(logits.float(), dim=1)[:, 1:2]


def sn_conv(c_in: int, c_out: int, k: int, stride: int, padding: int) -> nn.Module:
    return spectral_norm(nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding))


class LocalDiscriminator(nn.Module):
    """D_L: PatchGAN-style. (B, 1, 256, 256) probabilities -> (B, 1, 2, 2) scores in (0, 1)."""

    def __init__(self, base: int = 16):
        super().__init__()
        ch = [1, base, base * 2, base * 4, base * 8, base * 8]
        blocks = []
        for i in range(5):
            blocks += [sn_conv(ch[i], ch[i + 1], 3, 2, 1), nn.BatchNorm2d(ch[i + 1]), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*blocks)  # (B, 8b, H/32, W/32)
        self.score = spectral_norm(nn.Conv2d(ch[-1], 1, 4, stride=4))  # 8x8 -> 2x2 on a 256 patch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.score(self.features(x)))


class GlobalDiscriminator(nn.Module):
    """D_G: similarity of two masks of any size, ``sigmoid(scale * f(a) . f(b) + bias)``.

    The paper's similarity is the sigmoid of the plain dot product (scale 1, bias 0).
    With spectral-normalised layers and sparse masks, f's features start tiny (norm ~0.3
    here), the dot product ~0.1, the similarity stuck at 0.5 and its gradient vanishing:
    D_G's loss stayed at 2 log 2 for the first 150 steps of a run. A learned scale
    (initialised at 10) and bias let it leave that plateau; they change nothing else.
    No batch norm: D_G is trained on batches of patches but scores single whole images,
    whose batch statistics differ.
    """

    def __init__(self, base: int = 16, dim: int = 512):
        super().__init__()
        ch = [1, base, base * 2, base * 4, base * 8, base * 8]
        layers = []
        for i in range(5):
            layers += [sn_conv(ch[i], ch[i + 1], 5, 2, 2), nn.LeakyReLU(0.2, inplace=True)]
        layers += [sn_conv(ch[-1], dim, 5, 2, 2)]
        self.f = nn.Sequential(*layers)
        self.dim = dim
        self.log_scale = nn.Parameter(torch.tensor(math.log(10.0)))
        self.bias = nn.Parameter(torch.tensor(0.0))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(self.f(x), 1).flatten(1)  # (B, dim)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        fa, fb = self.features(a), self.features(b)
        return torch.sigmoid(self.log_scale.exp() * (fa * fb).sum(dim=1) + self.bias)  # (B,)


MODELS = {
    "unet": UNetGenerator,
    "cnn": SasakiCNN,
    "local-discriminator": LocalDiscriminator,
    "global-discriminator": GlobalDiscriminator,
}

# which generator architecture each training variant uses
VARIANT_ARCH = {
    "cnn": "cnn",
    "unet": "unet",
    "gan-l": "unet",
    "gan-g": "unet",
    "gan-gl": "unet",
    "gan-gl-m": "unet",
}


def build_model(name: str, **config) -> nn.Module:
    """Build a network by registry name (``unet``, ``cnn``, ``local-discriminator``, ``global-discriminator``)."""
    if name not in MODELS:
        from rootrepair.errors import RootRepairError

        raise RootRepairError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](**config)

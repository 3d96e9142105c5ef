"""int8 on a CPU without native bf16: is post-training quantisation of the default network worth it?

On an AVX2-only CPU the default model runs in fp32 (bf16 is emulated there and slower). This
quantises its U-Net with PyTorch's post-training static quantisation (``torch.ao``, FX graph
mode, the x86 engine: int8 weights per output channel, uint8 activations), calibrates the
activations on gappy synthetic tiles, and compares it with fp32 on other gappy tiles:

- speed: the network alone over 8 tiles of 256 x 256, channels-last fp32 against int8;
- agreement: probability differences, and gap recall at 0.5 (the share of the missing root
  pixels the network calls root), which decides what the decoder can bridge;
- the repair: the default decoder on whole 2500 x 1000 masks, with fp32's probability, the
  engine's default int8's and that of the int8 variant closest to fp32 at the gaps.

Calibration tiles: seeds from 1,500,000; validation tiles and masks: from 1,600,000 (neither
training, nor the evaluation's, nor the development seeds). Not a test: run by hand.

    python benchmarks/bench_int8.py            # -> results/int8_cpu.md
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import best_time, matmul_seconds, write  # noqa: E402

CAL_SEED, VAL_SEED = 1_500_000, 1_600_000
SETTINGS = [(noise, preset, gaps) for noise in (0.0, 1.0) for preset in ("chickpea", "fibrous") for gaps in ("occlusion", "mix")]


def _core(net):
    """The U-Net's pass without padding or cropping (``unet_body``: tiles are multiples of 16),
    as a module of its own so that FX can trace it."""
    import torch
    import torch.nn.functional as F

    from rootrepair.models.networks import unet_body

    class Core(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.skip, self.stem, self.down, self.up_conv, self.merge, self.head = (
                net.skip, net.stem, net.down, net.up_conv, net.merge, net.head)

        def forward(self, x):
            return unet_body(self, x, lambda up, y: up(F.interpolate(y, scale_factor=2.0, mode="nearest")))

    return Core().eval()


def _samples(seed0: int, per_setting: int):
    from rootrepair.evaluate import EvalConfig, make_samples

    out = []
    for k, (noise, preset, gaps) in enumerate(SETTINGS):
        cfg = EvalConfig(preset=preset, gaps=gaps, levels=("image",), n=per_setting, noise=noise, seed=seed0 + 1000 * k)
        out += [((noise, preset, gaps), s) for s in make_samples(cfg, "image")]
    return out


def _tiles(samples, per_mask: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Random 256 x 256 tiles holding foreground: (gappy tiles, missing-root tiles)."""
    xs, ms = [], []
    for _, s in samples:
        k = 0
        while k < per_mask:
            r, c = rng.integers(0, s.gappy.shape[0] - 256), rng.integers(0, s.gappy.shape[1] - 256)
            if s.gappy[r:r + 256, c:c + 256].mean() > 0.005:
                xs.append(s.gappy[r:r + 256, c:c + 256])
                ms.append((s.truth & ~s.gappy)[r:r + 256, c:c + 256])
                k += 1
    return np.stack(xs), np.stack(ms)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--masks", type=int, default=1, help="whole masks per setting for the repair comparison")
    ap.add_argument("--out", default="int8_cpu.md")
    args = ap.parse_args()
    warnings.simplefilter("ignore")  # torch.ao's deprecation notices

    import torch
    from torch.ao.quantization import QConfig, QConfigMapping, get_default_qconfig_mapping
    from torch.ao.quantization.observer import HistogramObserver, MinMaxObserver, default_per_channel_weight_observer
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, predict_probability
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.networks import _pad_to

    torch.set_num_threads(2)
    torch.backends.quantized.engine = "x86"
    net, _ = load_generator(None)
    core = _core(net.float().eval())
    rng = np.random.default_rng(0)
    xc, _ = _tiles(_samples(CAL_SEED, 1), 4, rng)
    val = _samples(VAL_SEED, args.masks)
    xv, missing = _tiles(val[:: args.masks], 2, rng)
    Xc = torch.from_numpy(xc.astype(np.float32)[:, None])
    Xv = torch.from_numpy(xv.astype(np.float32)[:, None])
    with torch.inference_mode():
        ref = torch.softmax(core(Xv), 1)[:, 1].numpy()
    cl = copy.deepcopy(core).to(memory_format=torch.channels_last)
    x8 = Xv[:8].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        t32 = best_time(lambda: cl(x8), 3)

    W = default_per_channel_weight_observer
    variants = {
        "histogram, 7-bit (x86 default)": get_default_qconfig_mapping("x86"),
        "histogram, 8-bit": QConfigMapping().set_global(QConfig(activation=HistogramObserver.with_args(reduce_range=False), weight=W)),
        "min-max, 7-bit": QConfigMapping().set_global(QConfig(activation=MinMaxObserver.with_args(reduce_range=True), weight=W)),
        "min-max, 7-bit, first and last layers fp32": QConfigMapping().set_global(
            QConfig(activation=MinMaxObserver.with_args(reduce_range=True), weight=W)).set_module_name("stem", None).set_module_name("head", None),
        "histogram, 8-bit, first and last layers fp32": QConfigMapping().set_global(
            QConfig(activation=HistogramObserver.with_args(reduce_range=False), weight=W)).set_module_name("stem", None).set_module_name("head", None),
    }
    rows, models, speed, recall = [], {}, {}, {}
    for name, mapping in variants.items():
        prep = prepare_fx(copy.deepcopy(core), mapping, example_inputs=(Xc[:1],))
        with torch.inference_mode():
            for i in range(0, len(Xc), 8):
                prep(Xc[i:i + 8])
        q = convert_fx(prep)
        models[name] = q
        with torch.inference_mode():
            p = torch.softmax(q(Xv), 1)[:, 1].numpy()
            t8 = best_time(lambda: q(x8), 3)
        d = np.abs(p - ref)
        speed[name], recall[name] = t32 / t8, float((p[missing] > 0.5).mean())
        rows.append(f"| {name} | {t8:.2f} ({t32 / t8:.1f}x) | {d.mean():.4f} | {d.max():.2f} | {d[missing].mean():.3f} "
                    f"| {(p[missing] > 0.5).mean():.3f} |")
        print(rows[-1], flush=True)

    # the repair: the variant closest to fp32 at the gaps, on whole masks, against fp32
    class Padded(torch.nn.Module):
        def __init__(self, q):
            super().__init__()
            self.q = q

        def forward(self, x):
            x, h, w = _pad_to(x, 16)
            return self.q(x.contiguous())[..., :h, :w]

    settings = InpaintSettings(device="cpu", precision="fp32", runtime="torch")
    default = next(iter(variants))
    chosen = max(recall, key=recall.get)
    runs = {"fp32": cl, default: Padded(models[default]).eval(), chosen: Padded(models[chosen]).eval()}
    cols = ["rel_comp_diff", "betti0_error", "fp_per_gap_px", "gap_recall", "length_err", "tips_err"]
    per: dict[tuple, list] = {}
    seconds = dict.fromkeys(runs, 0.0)
    for key, s in val:
        for label, model in runs.items():
            t = time.perf_counter()
            prob = predict_probability(model, s.gappy, settings, device=torch.device("cpu"))
            seconds[label] += time.perf_counter() - t
            m = repair_metrics(s.truth, s.gappy, decode(s.gappy, prob), s.gaps)
            per.setdefault((key, label), []).append([m[c] for c in cols])
    table = []
    for key in SETTINGS:
        name = f"{key[1]}, {key[2]}" + (", noisy" if key[0] else "")
        for label in runs:
            table.append(f"| {name} | {label} | " + " | ".join(f"{x:.3f}" for x in np.mean(per[(key, label)], axis=0)) + " |")

    body = (
        f"The default model, `{net.__class__.__name__}` as shipped, on a CPU with 2 threads. 2048^3 float32 matmul: "
        f"{matmul_seconds(3):.3f} s. Calibration: {len(Xc)} gappy tiles (seeds from {CAL_SEED:,}); validation: "
        f"{len(Xv)} other gappy tiles, {int(missing.sum())} missing root pixels (seeds from {VAL_SEED:,}). "
        f"fp32 (channels-last): {t32:.2f} s per 8 tiles; its gap recall at 0.5 on these tiles: {(ref[missing] > 0.5).mean():.3f}.\n\n"
        "## 1. The network over tiles\n\n"
        "| int8 variant (activations) | seconds per 8 tiles (speed-up) | mean abs. prob. difference | largest | "
        "mean abs. difference at missing root pixels | gap recall at 0.5 |\n|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\n## 2. The repair (default decoder): fp32, the engine's default int8, the int8 closest to fp32 at the gaps\n\n"
        f"{args.masks} whole 2500 x 1000 mask(s) per setting; the network's seconds over all of them: "
        + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
        + ".\n\n| setting | network | " + " | ".join(cols) + " |\n|---|---|" + "---|" * len(cols) + "\n"
        + "\n".join(table)
        + f"\n\nOn the missing root pixels fp32's gap recall at 0.5 is {(ref[missing] > 0.5).mean():.3f}; the engine's default "
        f"int8 ({speed[default]:.1f}x as fast) gives {recall[default]:.3f}, the closest variant "
        f"({chosen}, {speed[chosen]:.1f}x as fast) {recall[chosen]:.3f}."
    )
    write(args.out, "int8 post-training quantisation on a CPU", "python benchmarks/bench_int8.py"
          + (f" --masks {args.masks}" if args.masks != 1 else "") + (f" --out {args.out}" if args.out != "int8_cpu.md" else ""), body)


if __name__ == "__main__":
    main()

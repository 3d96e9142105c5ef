"""The network on a CPU: which runtime, precision and tile size is fastest, and does it give the same mask?

    pip install onnxruntime onnx openvino   # peers for comparison only, never a requirement
    python benchmarks/bench_backends.py [--repeats 3] [--skip-compile]

One 2500 x 1000 chickpea mask with occlusion gaps (the held-out seed of bench_pipeline).
Part 1: the shipped generator over the mask's tiles that hold foreground (256 x 256,
overlap 64, batches of 8, as `rootrepair inpaint` runs them): eager PyTorch fp32 and bf16
autocast (channels-last), torch.compile, ONNX Runtime and OpenVINO (fp32, and OpenVINO's
bf16 inference hint), each against eager fp32: the largest probability difference and
the share of pixels whose side of 0.5 changes. Part 2: the whole tiled prediction at
other tile sizes and overlaps, with the repaired pixels that change after decoding.
A 2048^3 float32 matmul in the same run is the machine's arithmetic reference.
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import best_time, held_out_mask, matmul_seconds, write


def _tiles(mask, tile=256, overlap=64):
    from rootrepair.tiling import bands, padded

    src = padded(mask, tile, overlap)
    return np.stack([src[r : r + tile, c : c + tile] for _, origins in bands(mask.shape, tile, overlap)
                     for r, c in origins if src[r : r + tile, c : c + tile].any()]).astype(np.float32)


def _batches(tiles, batch=8):
    return [tiles[i : i + batch][:, None] for i in range(0, len(tiles), batch)]


def _folded(form):
    """The inference form with batch norm folded into the convolutions (the variant left out)."""
    import copy

    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    f = copy.deepcopy(form)
    fold = lambda seq: nn.Sequential(fuse_conv_bn_eval(seq[0], seq[1]), *seq[2:])  # noqa: E731
    f.stem = nn.Sequential(*(fold(b) for b in f.stem))
    f.down = nn.ModuleList(nn.Sequential(*(fold(b) for b in d)) for d in f.down)
    f.merge = nn.ModuleList(fold(m) for m in f.merge)
    f.up_conv = nn.ModuleList(fold(u) for u in f.up_conv)
    return f.eval()


def _forms(mask, batches, args) -> list[str]:
    """The U-Net as trained against its inference form (and with BN folded), fp32 and bf16."""
    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, predict_probability
    from rootrepair.io import list_images, read_mask
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.networks import InferenceUNet

    trained = load_generator()[0].float().eval().to(memory_format=torch.channels_last)
    form = InferenceUNet(load_generator()[0].float().eval()).to(memory_format=torch.channels_last)
    forms = {"as trained": trained, "inference form (shipped)": form, "inference form, BN folded": _folded(form).to(memory_format=torch.channels_last)}
    masks = [mask] + ([read_mask(p)[0] for p in list_images(args.real)[0]] if args.real else [])
    dev = torch.device("cpu")
    s32, s16 = InpaintSettings(device="cpu", precision="fp32"), InpaintSettings(device="cpu", precision="bf16")
    refs = [decode(m, predict_probability(trained, m, s32, device=dev)) for m in masks]
    lines = ["", f"The inference form replaces each nearest-neighbour upsampling + conv by a sub-pixel conv. {len(masks)} masks"
             + (f": the held-out mask and {len(masks) - 1} of {args.real.name}" if args.real else ": the held-out mask"), "",
             "Repaired masks decoded with the default decoder, compared with the as-trained network in fp32. "
             "Seconds: the network alone over the 2500 x 1000 held-out mask's tiles of 256 x 256 that hold foreground, in batches of 8.", "",
             "| network | precision | seconds (best of %d) | repaired pixels differing from as-trained fp32 | pixels added (as-trained fp32: %d) |" % (args.repeats, sum(int((r & ~m).sum()) for r, m in zip(refs, masks))),
             "|---|---|---|---|---|"]
    for name, net in forms.items():
        for prec, st in (("fp32", s32), ("bf16", s16)):
            def run(net=net, bf16=prec == "bf16"):
                with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    for b in batches:
                        net(torch.from_numpy(b).contiguous(memory_format=torch.channels_last))
            t = best_time(run, args.repeats)
            reps = [decode(m, predict_probability(net, m, st, device=dev)) for m in masks]
            diff = sum(int((r ^ ref).sum()) for r, ref in zip(reps, refs))
            added = sum(int((r & ~m).sum()) for r, m in zip(reps, masks))
            lines.append(f"| {name} | {prec} | {t:.3f} | {diff} | {added} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-compile", action="store_true", help="leave out torch.compile (its first call compiles for minutes)")
    ap.add_argument("--real", type=Path, default=None, help="also compare the U-Net's forms on the masks of this folder")
    ap.add_argument("--forms-only", action="store_true", help="only compare the U-Net as trained with its inference form (-> inference_form_cpu.md)")
    args = ap.parse_args()
    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, predict_probability, prepare_model
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.networks import foreground_probability
    from rootrepair.models.openvino_runtime import foreground_from_logits

    mask = held_out_mask()
    mp = mask.size / 1e6
    matmul = matmul_seconds(args.repeats)
    model, _ = load_generator()
    model, device = prepare_model(model, InpaintSettings(device="cpu"))
    tiles = _tiles(mask)
    batches = _batches(tiles)
    if args.forms_only:
        write("inference_form_cpu.md", "The U-Net as trained and in its inference form",
              "python benchmarks/bench_backends.py --forms-only" + (f" --real {args.real}" if args.real else ""),
              f"CPU, {torch.get_num_threads()} threads. 2048^3 float32 matmul: {matmul:.3f} s.\n" + "\n".join(_forms(mask, batches, args)))
        return

    def eager(bf16):
        @torch.inference_mode()
        def run():
            out = []
            for b in batches:
                x = torch.from_numpy(b).contiguous(memory_format=torch.channels_last)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    out.append(foreground_probability(model(x))[:, 0].float().numpy())
            return np.concatenate(out)
        return run

    runners = {"eager PyTorch fp32": eager(False), "eager PyTorch bf16 autocast": eager(True)}
    notes = []
    if not args.skip_compile:
        try:
            compiled = torch.compile(model)

            @torch.inference_mode()
            def run_compiled():
                return np.concatenate([foreground_probability(compiled(torch.from_numpy(b).contiguous(memory_format=torch.channels_last)))[:, 0].float().numpy() for b in batches])

            t = time.perf_counter()
            run_compiled()
            notes.append(f"torch.compile: first call (compilation) {time.perf_counter() - t:.1f} s")
            runners["torch.compile (inductor) fp32"] = run_compiled
        except Exception as exc:  # noqa: BLE001 - a peer that fails is reported, not fatal
            notes.append(f"torch.compile failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = Path(tmp) / "g.onnx"
        try:
            torch.onnx.export(model.float().to(memory_format=torch.contiguous_format), torch.zeros(8, 1, 256, 256), onnx_path,
                              input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}},
                              opset_version=17, dynamo=False)
            model.to(memory_format=torch.channels_last)
        except Exception as exc:  # noqa: BLE001
            notes.append(f"ONNX export failed: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
            onnx_path = None
        if onnx_path is not None:
            try:
                import onnxruntime as ort

                sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
                runners[f"ONNX Runtime {ort.__version__} fp32"] = lambda: np.concatenate(
                    [foreground_from_logits(sess.run(None, {"x": b})[0]) for b in batches])
            except ImportError:
                notes.append("ONNX Runtime not installed (pip install onnxruntime)")
            try:
                import openvino as ov

                core = ov.Core()
                ov_model = core.read_model(str(onnx_path))
                for hint in ("f32", "bf16"):
                    cm = core.compile_model(ov_model, "CPU", {"INFERENCE_PRECISION_HINT": hint})
                    runners[f"OpenVINO {ov.__version__.split('-')[0]} {hint}"] = (
                        lambda cm=cm: np.concatenate([foreground_from_logits(cm(b)[0]) for b in batches]))
            except ImportError:
                notes.append("OpenVINO not installed (pip install openvino)")
        probs, rows = {}, []
        for name, fn in runners.items():
            t = best_time(lambda: probs.__setitem__(name, fn()), args.repeats)
            rows.append((name, t))
    ref = probs["eager PyTorch fp32"]
    px = tiles.size / 1e6
    lines = [
        f"Image: 2500 x 1000 ({mp:.1f} MP); {len(tiles)} tiles of 256 x 256 hold foreground ({px:.1f} MP of tile input, "
        f"batches of 8); CPU, {torch.get_num_threads()} threads. 2048^3 float32 matmul: {matmul:.3f} s.",
        "",
        "## 1. The network alone over those tiles",
        "",
        "| runtime | seconds (best of %d) | MP of image per s | x matmul | largest prob. difference to eager fp32 | pixels changing side of 0.5 |" % args.repeats,
        "|---|---|---|---|---|---|",
    ]
    for name, t in rows:
        d = np.abs(probs[name] - ref)
        flip = np.mean((probs[name] > 0.5) != (ref > 0.5))
        lines.append(f"| {name} | {t:.3f} | {mp / t:.2f} | {t / matmul:.1f} | {d.max():.4f} | {flip:.2e} |")
    lines += [""] + [f"- {n}" for n in notes]

    # part 2: tile size and overlap, the whole tiled + blended prediction, and what decoding makes of it
    lines += ["", "## 2. Tile size and overlap (whole prediction, the default precision)", "",
              "| tile | overlap | seconds | repaired pixels that differ from 256/64 after decoding |", "|---|---|---|---|"]
    s0 = InpaintSettings(device="cpu")
    rep0 = decode(mask, predict_probability(model, mask, s0, device=device))
    for tile, overlap in ((256, 64), (256, 32), (384, 64), (512, 64), (512, 32)):
        s = InpaintSettings(device="cpu", tile=tile, overlap=overlap)
        holder = {}
        t = best_time(lambda: holder.__setitem__("p", predict_probability(model, mask, s, device=device)), args.repeats)
        diff = int((decode(mask, holder["p"]) ^ rep0).sum())
        lines.append(f"| {tile} | {overlap} | {t:.3f} | {diff} of {int(rep0.sum() - mask.sum())} added |")
    write("backends_cpu.md", "The network on a CPU: runtimes, precision, tiles",
          "python benchmarks/bench_backends.py", "\n".join(lines))


if __name__ == "__main__":
    main()

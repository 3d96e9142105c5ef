"""The whole repair on a GPU: where the time of one mask goes when the network runs there.

    python benchmarks/bench_gpu_pipeline.py [--device cuda] [--repeats 3] [--model NAME]

The speed benchmarks' mask (2500 x 1000 chickpea, occlusion gaps, held-out seed), warm,
in-process: the network tiled and blended on the device (fp32 and the default autocast,
8 and 32 tiles a batch, 256 and 512 px tiles), the decoder (on the CPU, always), writing
the mask and the overlay, and a folder of 10 such masks through ``repair_folder`` (the
model loaded once, decoding and writing overlapping the next mask's network).
Results: benchmarks/results/gpu_pipeline.md.
"""
import argparse
import tempfile
import time
from pathlib import Path

import torch

from _common import best_time, held_out_folder, held_out_mask, write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="shipped model name or generator .json (default: the default model)")
    ap.add_argument("--out", default="gpu_pipeline.md")
    args = ap.parse_args()
    from rootrepair import io as rio
    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, overlay, predict_probability, prepare_model, repair_folder
    from rootrepair.models.checkpoint import load_generator, resolve_model

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    mask = held_out_mask()
    mp = mask.size / 1e6
    rows, probs = [], {}
    for tile, overlap in ((256, 64), (512, 64)):
        for batch in (8, 32):
            for precision in ("fp32", "auto"):
                s = InpaintSettings(device=args.device, precision=precision, tile=tile, overlap=overlap, batch=batch)
                model, device = prepare_model(load_generator(args.model)[0], s)

                def run():
                    probs[tile, batch, precision] = predict_probability(model, mask, s, device=device)
                    sync()

                rows.append((f"network, tiled + blended: {tile} px tiles, {batch} a batch, {precision}", best_time(run, args.repeats)))
                print(rows[-1], flush=True)
    prob = probs[256, 8, "auto"]  # the default settings
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rows.append(("decode (topology, CPU)", best_time(lambda: decode(mask, prob), args.repeats)))
        rep = decode(mask, prob)
        rows.append(("write repaired PNG", best_time(lambda: rio.write_mask(tmp / "out.png", rep), args.repeats)))
        rows.append(("overlay: draw + write PNG", best_time(lambda: rio.write_image(tmp / "ov.png", overlay(mask, rep)), args.repeats)))
        season = tmp / "folder"
        season.mkdir()
        held_out_folder(season, mask)
        folder = {}
        for batch in (8, 32):
            t = time.perf_counter()
            repair_folder(season, tmp / f"out-{batch}", model_name=args.model, settings=InpaintSettings(device=args.device, batch=batch))
            folder[batch] = (time.perf_counter() - t) / 10
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else args.device
    lines = [f"Model: {resolve_model(args.model).stem}. Device: {gpu}; the decoder runs on the CPU "
             f"({torch.get_num_threads()} threads).", "",
             f"Image: 2500 x 1000 ({mp:.1f} MP), {100 * mask.mean():.1f}% foreground, occlusion gaps. "
             "`auto` precision is bf16 autocast on a GPU (the default).", "",
             f"| stage | seconds (best of {args.repeats}) |", "|---|---|"]
    lines += [f"| {name} | {t:.3f} |" for name, t in rows]
    lines += ["", "A folder of 10 such masks (`repair_folder`, default settings, model loaded once, "
              "decoding and writing overlapping the next mask's network), seconds per mask: "
              + ", ".join(f"{folder[b]:.3f} with {b} tiles a batch" for b in folder) + "."]
    write(args.out, "The whole repair with the network on a GPU", "python benchmarks/bench_gpu_pipeline.py"
          + (f" --device {args.device}" if args.device != "cuda" else ""), "\n".join(lines))


if __name__ == "__main__":
    main()

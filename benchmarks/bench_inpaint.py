"""Speed of the whole repair pipeline on a 2500 x 1000 chickpea mask, and of the paper-size U-Net untiled.

    python benchmarks/bench_inpaint.py [--device cpu|cuda] [--threads N]

Pipeline, in-process and warm: read the PNG, tile + run G + blend, composite, write the
repaired PNG and the overlay. Reference: the paper-size U-Net (base 64) on the same
image in one untiled pass (its weights do not matter for speed).
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from rootrepair import io as rio
    from rootrepair.inpaint import InpaintSettings, overlay, prepare_model, repair_mask
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.networks import UNetGenerator
    from rootrepair.synth import generate_root_system, get_preset

    mask = generate_root_system(get_preset("chickpea"), 8_000_000).mask
    mp = mask.size / 1e6
    lines = [f"Image: 2500 x 1000 ({mp:.1f} MP), {100 * mask.mean():.1f}% foreground; device {args.device}, "
             f"{torch.get_num_threads()} threads.", "", "| what | seconds (best of %d) | MP/s |" % args.repeats, "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.png"
        rio.write_mask(src, mask)
        model, card = load_generator()
        for tile, overlap in ((256, 64), (512, 64)):
            settings = InpaintSettings(device=args.device, tile=tile, overlap=overlap)
            m, device = prepare_model(model, settings)

            def pipeline():
                got, info = rio.read_mask(src)
                rep = repair_mask(m, got, settings, device=device)
                rio.write_mask(Path(tmp) / "out.png", rep, info)
                rio.write_image(Path(tmp) / "ov.png", overlay(got, rep))

            pipeline()
            best = min(_timed(pipeline) for _ in range(args.repeats))
            lines.append(f"| shipped `{card['id']}` (base {card['base']}), tile {tile} overlap {overlap}, whole pipeline | {best:.2f} | {mp / best:.2f} |")
        ref = UNetGenerator(base=64).eval().to(args.device)
        x = torch.from_numpy(mask.astype(np.float32))[None, None].to(args.device)

        def untiled():
            with torch.inference_mode():
                ref(x)
            if args.device == "cuda":
                torch.cuda.synchronize()

        untiled()
        best = _timed(untiled)  # one timed pass after the warm-up: it takes ~40 s on 2 CPU cores
        lines.append(f"| paper-size U-Net (base 64), untiled, network only (1 timed run) | {best:.2f} | {mp / best:.2f} |")
    lines += ["", "Aim: a 2500 x 1000 mask in under 2 s on a 2-core CPU."]
    write(f"inpaint_speed_{args.device}.md", "Repair speed", f"python benchmarks/bench_inpaint.py --device {args.device}", "\n".join(lines))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()

"""The network alone on a GPU: megapixels per second by model, precision, tile and batch.

    python benchmarks/bench_gpu.py [--extra runs/gpu-base64/generator.json ...] [--device cuda]

Tiles are cut from a synthetic 2500 x 1000 chickpea mask (all tiles, empty ones too,
so the figure is per image pixel). Each row: the best of 5 timed passes over the tiles
after 2 warm-ups, with the device synchronised; the input is already on the device.
Models: the shipped default, and any generator .json given with --extra (paper size:
base 64). fp16 and bf16 are autocast. Results: benchmarks/results/gpu_speed.md.
"""
import argparse
import time

import numpy as np
import torch

from _common import write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--extra", nargs="*", default=[])
    ap.add_argument("--out", default="gpu_speed.md")
    args = ap.parse_args()
    dev = torch.device(args.device)

    from rootrepair.models.checkpoint import load_generator
    from rootrepair.synth import generate_root_system, get_preset

    mask = generate_root_system(get_preset("chickpea"), 8_000_000).mask
    rows = ["| model | base | precision | tile | batch | MP/s | s per 2.5 MP mask |", "|---|---|---|---|---|---|---|"]
    for name in ["rootrepair-unet-gap2-compact", *args.extra]:
        G, card = load_generator(name)
        G = G.float().to(dev).eval()
        for tile in (256, 512):
            h, w = (mask.shape[0] // tile) * tile, (mask.shape[1] // tile) * tile
            tiles = mask[:h, :w].reshape(h // tile, tile, w // tile, tile).swapaxes(1, 2).reshape(-1, 1, tile, tile)
            x_all = torch.from_numpy(np.ascontiguousarray(tiles, dtype=np.float32)).to(dev)
            mp = x_all.numel() / 1e6
            for batch in (8, 32):
                for prec, dtype in (("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)):
                    if dev.type == "cpu" and prec == "fp16":
                        continue
                    best = float("inf")
                    for i in range(7):
                        if dev.type == "cuda":
                            torch.cuda.synchronize()
                        t = time.perf_counter()
                        with torch.inference_mode(), torch.autocast(dev.type, dtype=dtype or torch.float32, enabled=dtype is not None):
                            for j in range(0, len(x_all), batch):
                                G(x_all[j : j + batch])
                        if dev.type == "cuda":
                            torch.cuda.synchronize()
                        if i >= 2:
                            best = min(best, time.perf_counter() - t)
                    rows.append(f"| {card.get('weights', name)} | {card.get('base', '?')} | {prec} | {tile} | {batch} | {mp / best:.1f} | {2.5 / (mp / best):.4f} |")
                    print(rows[-1], flush=True)
    write(args.out, "The network alone on a GPU", "python benchmarks/bench_gpu.py" + (" --extra " + " ".join(args.extra) if args.extra else ""), "\n".join(rows))


if __name__ == "__main__":
    main()

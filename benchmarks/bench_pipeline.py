"""Where the time of one repair goes, stage by stage, and how long a fresh process takes.

    python benchmarks/bench_pipeline.py [--repeats 3] [--model NAME --out pipeline_speed_cpu_NAME.md]

One 2500 x 1000 chickpea mask with occlusion gaps (a held-out seed), warm, in-process:
read, network (torch fp32 and bf16 autocast; OpenVINO fp32 and bf16 when installed), decode (topology), write the mask, draw and write
the overlay, count components for the manifest. A folder of 10 such masks: serial, pipelined (the
default), and in 2 worker processes (``--workers 2``) with each runtime. Reference: a 2048^3 float32 matmul in the
same run (the machine's arithmetic speed). Start-up: `rootrepair inpaint` and
`rootrepair traits` on that one mask in fresh processes (wall time of the whole command).
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _common import best_time, held_out_folder, held_out_mask, matmul_seconds, network_runtime, write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=None, help="shipped model name or generator .json (default: the default model)")
    ap.add_argument("--out", default="pipeline_speed_cpu.md")
    args = ap.parse_args()
    from rootrepair import io as rio
    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, overlay, predict_probability, prepare_model, repair_folder
    from rootrepair.metrics import components
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.openvino_runtime import openvino_available

    mask = held_out_mask()
    mp = mask.size / 1e6
    matmul = matmul_seconds(args.repeats)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = tmp / "season" / "plant.png"
        rio.write_mask(src, mask)
        rows.append(("read PNG", best_time(lambda: rio.read_mask(src), args.repeats)))
        probs = {}
        runtimes = [("torch", "fp32"), ("torch", "bf16")] + ([("openvino", "fp32"), ("openvino", "bf16")] if openvino_available() else [])
        for runtime, precision in runtimes:
            s = InpaintSettings(device="cpu", precision=precision, runtime=runtime)
            model, device = prepare_model(load_generator(args.model)[0], s)
            t = best_time(lambda: probs.__setitem__((runtime, precision), predict_probability(model, mask, s, device=device)), args.repeats)
            rows.append((f"network, tiled + blended ({runtime} {precision})", t))
        default = tuple(network_runtime().split())  # (runtime, precision) of the default settings here
        prob = probs[default]
        rows.append(("decode (topology)", best_time(lambda: decode(mask, prob), args.repeats)))
        rep = decode(mask, prob)
        rows.append(("write repaired PNG", best_time(lambda: rio.write_mask(tmp / "out.png", rep), args.repeats)))
        rows.append(("overlay: draw + write PNG", best_time(lambda: rio.write_image(tmp / "ov.png", overlay(mask, rep)), args.repeats)))
        rows.append(("manifest: components before and after", best_time(lambda: (components(mask), components(rep)), args.repeats)))
        total = sum(t for name, t in rows if "network" not in name or f"({default[0]} {default[1]})" in name)
        # a folder: decoding and writing one mask while the next is in the network
        season = tmp / "folder"
        season.mkdir()
        held_out_folder(season, mask)
        folder = {}
        for pipeline in (False, True):
            t = time.perf_counter()
            repair_folder(season, tmp / f"folder-out-{pipeline}", model_name=args.model, settings=InpaintSettings(device="cpu"), pipeline=pipeline)
            folder[pipeline] = (time.perf_counter() - t) / 10
        # worker processes (--workers): the same folder, each runtime, 1 process x all threads vs 2 x half
        by_workers = {}
        for runtime in ["torch"] + (["openvino"] if openvino_available() else []):
            for workers in (1, 2):
                t = time.perf_counter()
                repair_folder(season, tmp / f"folder-out-{runtime}-{workers}", model_name=args.model,
                              settings=InpaintSettings(device="cpu", runtime=runtime), workers=workers)
                by_workers[runtime, workers] = (time.perf_counter() - t) / 10
        fresh = {}
        for cmd, name in (
            ([sys.executable, "-m", "rootrepair", "inpaint", str(src), "-o", str(tmp / "rep")] + (["--model", args.model] if args.model else []), "inpaint"),
            ([sys.executable, "-m", "rootrepair", "traits", str(src), "-o", str(tmp / "t.xlsx")], "traits"),
        ):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            fresh[name] = time.perf_counter() - t
    from rootrepair.models.checkpoint import resolve_model

    lines = [f"Model: {resolve_model(args.model).stem}.", "", f"Image: 2500 x 1000 ({mp:.1f} MP), {100 * mask.mean():.1f}% foreground, occlusion gaps; CPU, "
             f"{torch.get_num_threads()} threads; default runtime and precision here: {default[0]} {default[1]}"
             f"{'' if openvino_available() else ' (OpenVINO not installed)'}.", "",
             "| stage | seconds (best of %d) |" % args.repeats, "|---|---|"]
    lines += [f"| {name} | {t:.3f} |" for name, t in rows]
    lines += [f"| **whole repair, default settings** | **{total:.3f}** ({mp / total:.2f} MP/s) |", "",
              f"2048^3 float32 matmul in the same run: {matmul:.3f} s; whole repair = {total / matmul:.1f} matmuls.", "",
              f"A folder of 10 such masks (`repair_folder`, model loaded once): {folder[False]:.3f} s per mask serial, "
              f"{folder[True]:.3f} s per mask with decoding and writing overlapping the next mask's network "
              "(the default; byte-identical outputs, `tests/test_inpaint.py`).", "",
              "The same folder in worker processes (`--workers 2`: two processes, each with half the threads and "
              "its own start-up, counted here), seconds per mask: "
              + "; ".join(f"{rt}: {by_workers[rt, 1]:.3f} with 1 worker, {by_workers[rt, 2]:.3f} with 2"
                          for rt in dict.fromkeys(r for r, _ in by_workers)) + ".", "",
              "Fresh processes, one mask, the whole command (start-up, imports, first call):", "",
              f"- `rootrepair inpaint plant.png`: {fresh['inpaint']:.2f} s (aim <= 2 s)",
              f"- `rootrepair traits plant.png`: {fresh['traits']:.2f} s (aim <= 1.5 s)",
              "", "Aim: the whole repair <= 0.5 s per 2500 x 1000 mask, warm."]
    command = "python benchmarks/bench_pipeline.py" + (f" --model {args.model}" if args.model else "") + (
        f" --out {args.out}" if args.out != "pipeline_speed_cpu.md" else "")
    write(args.out, "Where the time of one repair goes", command, "\n".join(lines))


if __name__ == "__main__":
    main()

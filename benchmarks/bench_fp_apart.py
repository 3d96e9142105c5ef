"""Where the default repair's false positives lie: on the roots' outline, or apart from them.

    python benchmarks/bench_fp_apart.py [-n 10] [--real FOLDER]

``fp_per_gap_px`` counts every added pixel outside the complete mask. On roots 1-4 px wide
a repair drawn half a pixel too wide, or one row to the side, adds a false positive per
pixel of its length, though it joins the right pieces at about the right width. This
benchmark splits the false positives of the default network with the default (topology)
decoder, and of the ``link`` baseline, into those touching the complete mask (8
neighbours of its pixels: the outline) and those apart from it (``fp_apart_per_gap_px``:
spurious joins, blobs, lengthened tips), at image level on the eight settings of the
decoder table (held-out evaluation seeds) and, with ``--real``, on complete masks drawn
by people with occlusion gaps.
"""
import argparse
import time
from pathlib import Path

import pandas as pd

from _common import chosen_settings, network_runtime, write

SHOWN = ("fp_per_gap_px", "fp_apart_per_gap_px", "outline_share", "gap_recall", "rel_comp_diff")


def main() -> None:
    from rootrepair.evaluate import EvalConfig, evaluate
    from rootrepair.io import list_images
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--settings", default="", help="only these settings, e.g. fibrous:occlusion (default: all eight)")
    ap.add_argument("--real", type=Path, help="folder of real complete masks: one more setting (occlusion gaps)")
    ap.add_argument("--out", default="fp_apart.md")
    args = ap.parse_args()
    net = f"{DEFAULT_MODEL}+topology"
    runs = [(f"{p}, {g}" + (", noisy" if noise else ""), dict(preset=p, gaps=g, noise=noise, n=args.n))
            for p, g, noise in chosen_settings(args.settings)]
    if args.real is not None:
        n_real = len(list_images(args.real)[0])
        runs.append((f"real ({args.real.name}, n = {n_real}), occlusion", dict(data=str(args.real), gaps="occlusion", n=n_real)))
    rows = []
    for name, kw in runs:
        t0 = time.perf_counter()
        df, _ = evaluate(EvalConfig(methods=("link", net), levels=("image",), device="cpu", **kw))
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
        for method, g in df.groupby("method", sort=False):
            fp, apart = g.fp_per_gap_px.mean(), g.fp_apart_per_gap_px.mean()
            rows.append({"setting": name, "method": "default" if method == net else method, "fp_per_gap_px": fp,
                         "fp_apart_per_gap_px": apart, "outline_share": 1 - apart / fp if fp else float("nan"),
                         "gap_recall": g.gap_recall.mean(), "rel_comp_diff": g.rel_comp_diff.mean()})
    table = pd.DataFrame(rows)
    lines = [
        f"Image level, n = {args.n} per synthetic setting (held-out evaluation seeds); `default` is {DEFAULT_MODEL} "
        f"with the topology decoder, the network on {network_runtime()}. `outline_share`: the share of the false "
        "positives that touch the complete mask (1 - fp_apart / fp, of the means).",
        "",
        "| setting | method | " + " | ".join(SHOWN) + " |",
        "|---" * (len(SHOWN) + 2) + "|",
        *(f"| {r.setting} | {r.method} | " + " | ".join(f"{r[k]:.3f}" for k in SHOWN) + " |" for _, r in table.iterrows()),
    ]
    command = f"python benchmarks/bench_fp_apart.py -n {args.n}" + (f" --settings {args.settings}" if args.settings else "") \
        + (f" --real {args.real}" if args.real is not None else "") + (f" --out {args.out}" if args.out != "fp_apart.md" else "")
    print(write(args.out, "False positives: on the outline or apart", command, "\n".join(lines)))


if __name__ == "__main__":
    main()

"""How much tile overlap the blending needs: the default repair's quality and the network's time per overlap.

    python benchmarks/bench_overlap.py [-n 8] [--overlaps 64,48,32] [--runtime torch] [--out overlap_quality.md]

An overlap written ``64s32`` also skips the tiles whose foreground lies only within 32 px
of their edge (``InpaintSettings.skip_margin``); a plain ``64`` skips only tiles without
foreground (``skip_margin=0``).

Tiles of 256 px, the shipped model and the default topology decoder; image level on both
presets x occlusion and mix gaps, clean and with segmentation-like noise (``noise 1``),
held-out evaluation seeds offset by 500 from the ones the decoder's settings were chosen
on. Per overlap: the mean of each metric over the 8 settings, a paired t-test against the
default overlap (64) over all samples, and the network's total seconds (tiling and
blending included) on the same masks in the same process.
"""
import argparse
import time
import warnings

import pandas as pd
from scipy import stats

from _common import write

METRICS = ["rel_comp_diff", "betti0_error", "fp_per_gap_px", "gap_recall", "length_err", "tips_err"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=8, help="masks per setting")
    ap.add_argument("--overlaps", default="64,48,32")
    ap.add_argument("--runtime", default="torch", help="torch or openvino (the same for every overlap)")
    ap.add_argument("--out", default="overlap_quality.md")
    args = ap.parse_args()
    from rootrepair.decode import decode
    from rootrepair.evaluate import EVAL_SEED, EvalConfig, make_samples
    from rootrepair.inpaint import InpaintSettings, predict_probability, prepare_model
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import load_generator

    warnings.simplefilter("ignore")
    overlaps = [v.strip() for v in args.overlaps.split(",")]
    models = {}
    for ov in overlaps:
        o, _, m = ov.partition("s")
        s = InpaintSettings(device="cpu", overlap=int(o), skip_margin=int(m or 0), runtime=args.runtime)  # "64": no skipping
        models[ov] = (s, *prepare_model(load_generator()[0], s))
    rows, seconds = [], dict.fromkeys(overlaps, 0.0)
    for noise in (0.0, 1.0):
        for preset in ("chickpea", "fibrous"):
            for gaps in ("occlusion", "mix"):
                setting = f"{preset}, {gaps}, {'noisy' if noise else 'clean'}"
                cfg = EvalConfig(preset=preset, gaps=gaps, levels=("image",), n=args.n, noise=noise, device="cpu", seed=EVAL_SEED + 500)
                for i, smp in enumerate(make_samples(cfg, "image")):
                    for ov, (s, model, device) in models.items():
                        t = time.perf_counter()
                        prob = predict_probability(model, smp.gappy, s, device=device)
                        seconds[ov] += time.perf_counter() - t
                        m = repair_metrics(smp.truth, smp.gappy, decode(smp.gappy, prob), smp.gaps)
                        rows.append({"setting": setting, "i": i, "overlap": ov, **{k: m[k] for k in METRICS}})
                print(setting, flush=True)
    df = pd.DataFrame(rows)
    ref = overlaps[0]
    lines = [f"Tiles of 256 px, {args.runtime} at its default precision, the shipped model, the default decoder; "
             f"n = {args.n} masks per setting, 8 settings ({len(df) // len(overlaps)} masks per overlap). "
             f"Higher is better for rel_comp_diff and gap_recall, lower for the rest. p: paired t-test against overlap {ref} "
             "over all masks.", "",
             "| overlap | network seconds (all masks) | " + " | ".join(METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    base = df[df.overlap == ref].sort_values(["setting", "i"])
    for ov in overlaps:
        d = df[df.overlap == ov].sort_values(["setting", "i"])
        cells = []
        for k in METRICS:
            mean = d[k].mean()
            if ov == ref:
                cells.append(f"{mean:.4f}")
            else:
                p = stats.ttest_rel(d[k].to_numpy(), base[k].to_numpy(), nan_policy="omit").pvalue
                cells.append(f"{mean:.4f} (p {p:.2f})")
        lines.append(f"| {ov} | {seconds[ov]:.1f} ({seconds[ov] / seconds[ref]:.2f}x) | " + " | ".join(cells) + " |")
    lines += ["", "Per setting (means):", "", "| setting | overlap | " + " | ".join(METRICS) + " |", "|---|---|" + "---|" * len(METRICS)]
    for (setting, ov), g in df.groupby(["setting", "overlap"], sort=False):
        lines.append(f"| {setting} | {ov} | " + " | ".join(f"{g[k].mean():.4f}" for k in METRICS) + " |")
    write(args.out, "Tile overlap: the network's time against the repair's quality",
          f"python benchmarks/bench_overlap.py -n {args.n} --overlaps {args.overlaps} --runtime {args.runtime} --out {args.out}",
          "\n".join(lines))


if __name__ == "__main__":
    main()

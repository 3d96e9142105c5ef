"""Does averaging the network over flips of the mask place its bridges better?

    python benchmarks/bench_flips.py [-n 10] [--out flips.md]

Most false-positive pixels of the default repair on clean fibrous masks with occlusion gaps
lie within 1 px of the true root: a bridge drawn a row beside the hidden root. If that
offset comes from the network's own asymmetries, the mean of its probabilities over
mirrored copies of the mask (each run mirrored, its output mirrored back) should sit closer
to the root. Compared here on the same held-out masks with the default decoder: one pass
(what `rootrepair inpaint` does), 2 passes (the mask and its left-right mirror) and 4
(also upside down, and both). Each pass costs one more network run per mask.

Image level, occlusion gaps, chickpea and fibrous, clean and noisy, held-out seeds (from
2,000,000, as `rootrepair evaluate`), the default model on the CPU.
"""
import argparse
import time
import warnings

import numpy as np

from _common import cpu_probability, mean_rows, metric_table, network_runtime, write

SHOWN = ("rel_comp_diff", "betti0_error", "false_joins", "fp_per_gap_px", "gap_recall", "length_err", "tips_err")
FLIPS = ((False, False), (False, True), (True, False), (True, True))  # (upside down, left-right)


def _flip(a: np.ndarray, ud: bool, lr: bool) -> np.ndarray:
    return np.ascontiguousarray(a[::-1 if ud else 1, ::-1 if lr else 1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--out", default="flips.md")
    args = ap.parse_args()
    from rootrepair.decode import decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    warnings.simplefilter("ignore")
    probability = cpu_probability()
    passes = (1, 2, 4)
    rows, seconds = [], []
    for noise in (0.0, 1.0):
        for preset in ("chickpea", "fibrous"):
            name = f"{preset}, occlusion{', noisy' if noise else ''}"
            cfg = EvalConfig(preset=preset, gaps="occlusion", levels=("image",), n=args.n, noise=noise)
            per = {k: [] for k in passes}
            for s in make_samples(cfg, "image"):
                t0 = time.perf_counter()
                probs = [_flip(probability(_flip(s.gappy, ud, lr)), ud, lr) for ud, lr in FLIPS]
                seconds.append((time.perf_counter() - t0) / len(FLIPS))
                for k in passes:
                    prob = np.mean(probs[:k], axis=0)
                    per[k].append(repair_metrics(s.truth, s.gappy, decode(s.gappy, prob), s.gaps))
            rows += mean_rows(name, per, SHOWN)
            print(name, flush=True)
    body = [
        f"Model: {DEFAULT_MODEL}, network on {network_runtime()}, {np.mean(seconds):.2f} s per pass per 2500 x 1000 mask here; "
        f"n = {args.n} masks per setting, occlusion gaps, the default decoder on the mean probability of 1, 2 or 4 passes "
        "(the mask as it is; its left-right mirror; upside down; both). Lower is better except rel_comp_diff and gap_recall.", "",
        *metric_table("passes", rows, SHOWN),
    ]
    command = f"python benchmarks/bench_flips.py -n {args.n}" + (f" --out {args.out}" if args.out != "flips.md" else "")
    write(args.out, "The network averaged over flips of the mask", command, "\n".join(body))


if __name__ == "__main__":
    main()

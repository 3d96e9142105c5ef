"""Where the default repair's pixel errors are: beside the gaps it joined, or elsewhere.

    python benchmarks/bench_gap_errors.py [-n 6] [--model NAME]

Image level, held-out evaluation seeds (as `rootrepair evaluate`), occlusion gaps, chickpea
and fibrous, clean and noisy, the default model and decoder in `add` mode. Per gap pixel:

- false positives within 3 px of a true gap pixel (a bridge drawn off the root's line or
  wider than it), within 3 px of a true root away from the gaps, and farther (false joins,
  invented extensions);
- missed gap pixels inside gaps whose pieces the repair joined, and inside gaps it left open
  or that reach one piece only (a gap over a root's end: the decoder never extends an end).
  Pieces are told apart within 10 px of the gap, as the decoder sees them.

Results: benchmarks/results/gap_errors.md.
"""
import argparse

import numpy as np
from scipy import ndimage as ndi

from _common import cpu_probability, write

EIGHT = np.ones((3, 3), bool)
NEAR_PX = 3
WINDOW_PX = 10  # px around a gap in which its pieces are told apart


def gap_errors(truth: np.ndarray, gappy: np.ndarray, repaired: np.ndarray) -> dict[str, float]:
    """Counts of one sample (pixels, and gaps by kind)."""
    gap = truth & ~gappy
    fp = repaired & ~gappy & ~truth
    d_gap = ndi.distance_transform_edt(~gap)
    d_truth = ndi.distance_transform_edt(~truth)
    out = {
        "gap_px": int(gap.sum()),
        "found_px": int((repaired & gap).sum()),
        "fp_beside_gap": int((fp & (d_gap <= NEAR_PX)).sum()),
        "fp_beside_root": int((fp & (d_gap > NEAR_PX) & (d_truth <= NEAR_PX)).sum()),
        "fp_far": int((fp & (d_truth > NEAR_PX)).sum()),
        "missed_in_joined": 0, "missed_in_open": 0, "gaps_joined": 0, "gaps_open": 0, "gaps_one_piece": 0,
    }
    gaps, _ = ndi.label(gap, structure=EIGHT)
    for i, sl in enumerate(ndi.find_objects(gaps), 1):
        # pieces as seen around the gap (as the decoder sees them): two sides of a root that
        # join far away, through other roots, are still two pieces here
        win = tuple(slice(max(s.start - WINDOW_PX, 0), s.stop + WINDOW_PX) for s in sl)
        g = gaps[win] == i
        p, _ = ndi.label(gappy[win], structure=EIGHT)
        after, _ = ndi.label(repaired[win], structure=EIGHT)
        touched = np.unique(p[ndi.binary_dilation(g, EIGHT) & (p > 0)])
        missed = int((g & ~repaired[win]).sum())
        if len(touched) < 2:
            out["gaps_one_piece"] += 1
            out["missed_in_open"] += missed
            continue
        joined = len({int(after[p == t].flat[0]) for t in touched}) == 1
        out["gaps_joined" if joined else "gaps_open"] += 1
        out["missed_in_joined" if joined else "missed_in_open"] += missed
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=6)
    ap.add_argument("--model", default=None)
    args = ap.parse_args()
    from rootrepair.decode import decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.models.checkpoint import resolve_model

    probability = cpu_probability(args.model)
    rows = ["| setting | gap recall | FP beside gaps | FP beside roots | FP far | missed in joined gaps | missed in open gaps | gaps joined / open / one piece |",
            "|---|---|---|---|---|---|---|---|"]
    for noise in (0.0, 1.0):
        for preset in ("chickpea", "fibrous"):
            cfg = EvalConfig(preset=preset, gaps="occlusion", levels=("image",), n=args.n, noise=noise)
            tot: dict[str, int] = {}
            for s in make_samples(cfg, "image"):
                prob = probability(s.gappy)
                for k, v in gap_errors(s.truth, s.gappy, decode(s.gappy, prob)).items():
                    tot[k] = tot.get(k, 0) + v
            g = tot["gap_px"]
            rows.append(f"| {preset}, occlusion{', noisy' if noise else ''} | {tot['found_px'] / g:.3f} | {tot['fp_beside_gap'] / g:.3f} | "
                        f"{tot['fp_beside_root'] / g:.3f} | {tot['fp_far'] / g:.3f} | {tot['missed_in_joined'] / g:.3f} | "
                        f"{tot['missed_in_open'] / g:.3f} | {tot['gaps_joined']} / {tot['gaps_open']} / {tot['gaps_one_piece']} |")
            print(rows[-1], flush=True)
    body = "\n".join([
        f"Model: {resolve_model(args.model).stem}, default topology decoder, `add` mode. Image level, n = {args.n} per "
        f"setting (held-out seeds). Pixel columns are per true gap pixel (summed over the samples); "
        f"'beside' is within {NEAR_PX} px. Recall + missed in joined + missed in open = 1.", "", *rows])
    write("gap_errors.md", "Where the repair's pixel errors are", "python benchmarks/bench_gap_errors.py" + (f" -n {args.n}" if args.n != 6 else ""), body)


if __name__ == "__main__":
    main()

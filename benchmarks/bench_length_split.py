"""Where a repair's length comes from: recovered in the gaps, or drawn where no root is.

    python benchmarks/bench_length_split.py [-n 10]

The length error (|length(R) - length(Y)| / length(Y)) rewards any added skeleton, on a
root or not: where a repair leaves big gaps open, lines drawn between roots that are not
joined in the truth make up part of the missing length. This splits the skeleton that each
repair adds (its skeleton pixels that the input's skeleton does not have within 1 px) into
pixels within 2 px of a truth pixel the gaps removed (recovered), within 2 px of the rest
of the truth (along roots the input already has), and farther from any truth pixel (drawn
where no root is), each as a share of the truth's skeleton pixels. Image level, mix gaps,
held-out seeds (as `rootrepair evaluate`), clean and noisy fibrous masks, and clean
chickpea ones; methods `link` and the default model with the default decoder (one network
pass per mask).

Results: benchmarks/results/length_split.md.
"""
import argparse
import warnings

import numpy as np

from _common import cpu_probability, network_runtime, write


def split(truth: np.ndarray, gappy: np.ndarray, repaired: np.ndarray) -> dict[str, float]:
    """Shares of the truth's skeleton pixels: what the repair's added skeleton recovers, runs beside, or invents."""
    from scipy import ndimage as ndi

    from rootrepair.pixels import skeleton

    sy, sx, sr = skeleton(truth), skeleton(gappy), skeleton(repaired)
    added = sr & ~ndi.binary_dilation(sx, np.ones((3, 3), bool))
    to_gap = ndi.distance_transform_edt(~(truth & ~gappy))
    to_truth = ndi.distance_transform_edt(~truth)
    n = max(int(sy.sum()), 1)
    recovered = added & (to_gap <= 2)
    beside = added & ~recovered & (to_truth <= 2)
    invented = added & (to_truth > 2)
    return {"recovered": recovered.sum() / n, "beside_roots": beside.sum() / n, "invented": invented.sum() / n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    args = ap.parse_args()
    from rootrepair.baselines import link_repair
    from rootrepair.decode import decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import DEFAULT_MODEL
    from rootrepair.traits import measure_traits

    warnings.simplefilter("ignore")
    probability = cpu_probability()
    lines = ["| setting | method | length_err | length, signed | skeleton recovered in the gaps | beside roots | drawn where no root is | false_joins |",
             "|---|---|---|---|---|---|---|---|"]
    for preset, noise in (("fibrous", 1.0), ("fibrous", 0.0), ("chickpea", 0.0)):
        cfg = EvalConfig(preset=preset, gaps="mix", levels=("image",), n=args.n, noise=noise)
        per = {"link": [], "default": []}
        for s in make_samples(cfg, "image"):
            prob = probability(s.gappy)
            truth_len = measure_traits(s.truth)["total_length_px"]
            for label, r in (("link", link_repair(s.gappy)), ("default", decode(s.gappy, prob))):
                m = repair_metrics(s.truth, s.gappy, r, s.gaps)
                signed = measure_traits(r)["total_length_px"] / truth_len - 1
                per[label].append([m["length_err"], signed, *split(s.truth, s.gappy, r).values(), m["false_joins"]])
        setting = f"{preset}, mix" + (", noisy" if noise else "")
        for label, rows in per.items():
            v = np.mean(rows, axis=0)
            lines.append(f"| {setting} | {label} | {v[0]:.3f} | {v[1]:+.3f} | {v[2]:.3f} | {v[3]:.3f} | {v[4]:.3f} | {v[5]:.1f} |")
        print(lines[-2], lines[-1], sep="\n", flush=True)
    body = (
        f"Image level, mix gaps, n = {args.n} per setting (held-out seeds), `add` mode; `default` is {DEFAULT_MODEL} with the "
        f"default decoder, the network on {network_runtime()}. The skeleton columns are shares of the truth's skeleton pixels: "
        "the repair's new skeleton (not within 1 px of the input's) within 2 px of the removed pixels, within 2 px of the "
        "rest of the truth, and farther than 2 px from any truth pixel.\n\n" + "\n".join(lines)
    )
    write("length_split.md", "Where a repair's length comes from", f"python benchmarks/bench_length_split.py -n {args.n}", body)


if __name__ == "__main__":
    main()

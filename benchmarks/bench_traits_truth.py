"""Trait module against ground truth: measured length and tips vs the generator's polylines.

    python benchmarks/bench_traits_truth.py

Without crossings (unbranched roots, and sparse laterals) the length should be within 3%
and the tips equal the skeleton end points the truth predicts (every apex + each primary
root's base). On full root systems crossings and overlaps merge roots in the projection:
the table reports by how much.
"""
import numpy as np

from _common import write


def main(n: int = 20) -> None:
    from rootrepair.synth import generate_root_system, get_preset
    from rootrepair.traits import TraitSettings, measure_traits

    cases = {
        "unbranched (no crossings)": get_preset("chickpea", height=1200, width=500, max_order=1),
        "sparse laterals": get_preset("chickpea", height=1200, width=500, max_order=2, branch_spacing=(150.0, 200.0), lateral_length=(0.03, 0.05)),
        "chickpea, full": get_preset("chickpea"),
        "fibrous, full": get_preset("fibrous"),
        "chickpea, full, segmentation noise": get_preset("chickpea", noise=1.0),
        "fibrous, full, segmentation noise": get_preset("fibrous", noise=1.0),
    }
    lines = ["| roots | n | length error % mean (sd) | length error % range | tips measured / true ends, mean | share with tips exact |", "|---|---|---|---|---|---|"]
    for label, cfg in cases.items():
        len_err, tip_ratio, exact = [], [], []
        for seed in range(n):
            s = generate_root_system(cfg, 6_000_000 + seed)
            # default settings, as a user runs it: specks are not filtered by size first
            t = measure_traits(s.mask, TraitSettings())
            len_err.append(100 * (t["total_length_px"] - s.total_length) / s.total_length)
            tip_ratio.append(t["tip_count"] / s.end_count)
            exact.append(t["tip_count"] == s.end_count)
        e = np.array(len_err)
        lines.append(
            f"| {label} | {n} | {e.mean():+.2f} ({e.std(ddof=1):.2f}) | {e.min():+.2f} .. {e.max():+.2f} | "
            f"{np.mean(tip_ratio):.3f} | {np.mean(exact):.2f} |"
        )
    body = "\n".join(lines) + (
        "\n\nNegative length errors on full systems: where roots cross or run side by side, the "
        "projected mask merges them and the skeleton takes one path for two roots. Tips: a "
        "crossing can hide an apex inside another root, and laterals shorter than their "
        "parent's width are pruned as spurs. Segmentation noise (`--noise 1`: rough edges, "
        "blobs, holes, 1-px hairs, specks) adds tips where hairs of 6-8 px outlast the spur pruning "
        "(a hair that long on a 1-2 px root is, to the skeleton, a short lateral); specks and "
        "blobs no longer than they are wide add none (default settings, no size filter)."
    )
    write("traits_vs_truth.md", "Traits against the generator's ground truth", "python benchmarks/bench_traits_truth.py", body)


if __name__ == "__main__":
    main()

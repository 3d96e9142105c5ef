"""Trait module against ground truth: measured length and tips vs the generator's polylines.

    python benchmarks/bench_traits_truth.py

Without crossings (unbranched roots, and sparse laterals) the length should be within 3%
and the tips equal the skeleton end points the truth predicts (every apex + each primary
root's base). On full root systems crossings and overlaps merge roots in the projection:
the table reports by how much, also for systems of a second architecture model
(`benchmarks/_other_simulator.py`).
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
    from _other_simulator import root_system_truth

    def systems(label):  # (mask, true length, true end count) of n systems
        if label.startswith("another simulator"):
            return (root_system_truth(5_000_000 + seed, label.split(", ")[1]) for seed in range(n))
        return ((s.mask, s.total_length, s.end_count) for s in (generate_root_system(cases[label], 6_000_000 + seed) for seed in range(n)))

    lines = ["| roots | n | length error % mean (sd) | length error % range | tips measured / true ends, mean | share with tips exact |", "|---|---|---|---|---|---|"]
    for label in [*cases, "another simulator, taproot", "another simulator, fibrous"]:
        len_err, tip_ratio, exact = [], [], []
        for mask, length, ends in systems(label):
            # default settings, as a user runs it: specks are not filtered by size first
            t = measure_traits(mask, TraitSettings())
            len_err.append(100 * (t["total_length_px"] - length) / length)
            tip_ratio.append(t["tip_count"] / ends)
            exact.append(t["tip_count"] == ends)
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
        "\n\n*Another simulator*: systems of `benchmarks/_other_simulator.py` (a second root-architecture "
        "model: 3-D roots projected onto the image, laterals leaving at every azimuth, so they cross their "
        "parents and each other), seeds from 5,000,000; truth: the projected paths' length and every apex plus "
        "the common base. Measured one root at a time, the same systems' length is 0.8-2.7% short of the truth "
        "(5 systems of each kind, a scratch check): the rest of the shortfall is where roots overlap in the "
        "projection (a lateral that leaves its parent towards or away from the camera runs inside it for a "
        "while; roots cross), which no measurement of the 2-D mask can recover."
    )
    body += "\n\n" + _filled_holes(cases, n)
    write("traits_vs_truth.md", "Traits against the generator's ground truth", "python benchmarks/bench_traits_truth.py", body)


FILLS = (0, 4, 16, 64)  # --fill-holes settings compared


def _filled_holes(cases: dict, n: int) -> str:
    """``--fill-holes``: on the full systems against the truth, and on one thick root whose
    edges are pitted by pixel noise against the same root with smooth edges."""
    from scipy import ndimage as ndi

    from rootrepair.synth import generate_root_system
    from rootrepair.traits import TraitSettings, measure_traits

    lines = ["`--fill-holes PX` (holes of at most PX pixels filled before measuring): length error % against the truth (mean), "
             "branch points per system (mean).", "",
             "| roots | n | " + " | ".join(f"fill {f}: length % / branch points" for f in FILLS) + " |",
             "|---|---|" + "---|" * len(FILLS)]
    for label, cfg in cases.items():
        if "full" not in label:
            continue
        systems = [generate_root_system(cfg, 6_000_000 + seed) for seed in range(n)]
        cells = []
        for f in FILLS:
            t = [measure_traits(s.mask, TraitSettings(fill_holes_px=f)) for s in systems]
            err = np.mean([100 * (x["total_length_px"] - s.total_length) / s.total_length for x, s in zip(t, systems)])
            cells.append(f"{err:+.2f} / {np.mean([x['branch_point_count'] for x in t]):.0f}")
        lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "One root (a sine-curved band, 400 x 200 px) with pitted edges: its outline moved by Gaussian pixel noise "
              "(sd 2 px, smoothed over 1 px), which leaves holes of a few pixels inside its edges; length measured "
              "against the same root with smooth edges (ratio, mean of 5), and branch points (mean; 0 for the smooth root).", "",
              "| root width px | " + " | ".join(f"fill {f}: length ratio / branch points" for f in FILLS) + " |",
              "|---|" + "---|" * len(FILLS)]
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:400, :200]
    off = np.abs(xx - 100 - 20 * np.sin(yy / 60.0))
    inside = (yy > 20) & (yy < 380)
    for width in (12, 24, 40):
        smooth = measure_traits((off < width / 2) & inside)["total_length_px"]
        pitted = []
        for _ in range(5):
            noise = ndi.gaussian_filter(rng.standard_normal(off.shape), 1.0)
            pitted.append((off + 2.0 * noise / noise.std() < width / 2) & inside)
        cells = []
        for f in FILLS:
            t = [measure_traits(m, TraitSettings(fill_holes_px=f)) for m in pitted]
            cells.append(f"{np.mean([x['total_length_px'] for x in t]) / smooth:.2f} / {np.mean([x['branch_point_count'] for x in t]):.1f}")
        lines.append(f"| {width} | " + " | ".join(cells) + " |")
    lines += ["", "Filling holes is off by default: crossing roots enclose small pockets as well, and filling them merges the "
              "two roots' skeletons into one path (the full systems' length error grows with the fill). For masks of thick "
              "roots from a segmentation with pitted edges, `--fill-holes 16` or more removes the skeleton's loops around the pits."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Speed of the synthetic root generator and the gap generators.

    python benchmarks/bench_synth.py
"""
import time

import numpy as np

from _common import write


def main() -> None:
    from rootrepair.gaps import GAP_KINDS, coverage, make_gaps
    from rootrepair.synth import generate_root_system, get_preset

    generate_root_system(get_preset("chickpea"), 0)  # compile / load the numba kernel
    lines = ["| preset | masks | seconds per mask (mean) | max | roots per mask | foreground % |", "|---|---|---|---|---|---|"]
    masks = []
    for preset in ("chickpea", "fibrous"):
        times, roots, fg = [], [], []
        for seed in range(20):
            t = time.perf_counter()
            s = generate_root_system(get_preset(preset), 7_000_000 + seed)
            times.append(time.perf_counter() - t)
            roots.append(len(s.roots))
            fg.append(100 * s.mask.mean())
            if preset == "chickpea":
                masks.append(s.mask)
        lines.append(f"| {preset} 2500 x 1000 | 20 | {np.mean(times):.3f} | {np.max(times):.3f} | {np.mean(roots):.0f} | {np.mean(fg):.2f} |")
    lines += ["", "| gaps | on | seconds (mean) | foreground removed % mean (sd) |", "|---|---|---|---|"]
    rng = np.random.default_rng(0)
    patches = []
    for m in masks:
        fgc = np.argwhere(m)
        for _ in range(10):
            r, c = fgc[rng.integers(len(fgc))]
            r, c = min(max(r - 128, 0), m.shape[0] - 256), min(max(c - 128, 0), m.shape[1] - 256)
            patches.append(m[r : r + 256, c : c + 256])
    for kind in GAP_KINDS:
        for label, items in (("256 x 256 patches", patches), ("whole 2500 x 1000 masks", masks[:5])):
            times, share = [], []
            for p in items:
                t = time.perf_counter()
                _, g = make_gaps(p, kind, rng)
                times.append(time.perf_counter() - t)
                share.append(100 * coverage(p, g)["foreground_share"])
            lines.append(f"| {kind} | {label} | {np.mean(times):.4f} | {np.mean(share):.1f} ({np.std(share, ddof=1):.1f}) |")
    write("synth_speed.md", "Synthetic roots and gaps: speed and coverage", "python benchmarks/bench_synth.py", "\n".join(lines))


if __name__ == "__main__":
    main()

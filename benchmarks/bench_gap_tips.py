"""How often a training gap removes a root's end (and so teaches the network to extend tips).

    python benchmarks/bench_gap_tips.py [-n 10]

For each gap kind on synthetic root systems (both presets): the share of root apices
(the truth polylines' last points) that fall inside a gap, and the share of gaps (connected
gap regions that remove foreground) that hold an apex. A gap over an apex makes the
target longer than the input ends: the network learns to grow tips, which real
occlusion does only as often as it covers a tip.
"""
import argparse

import numpy as np
from scipy import ndimage as ndi

from _common import write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10)
    args = ap.parse_args()
    from rootrepair.gaps import GAP_KINDS, make_gaps
    from rootrepair.synth import generate_root_system, get_preset

    lines = ["| preset | gaps | apices inside a gap | gaps holding an apex | gaps per image |", "|---|---|---|---|---|"]
    for preset in ("chickpea", "fibrous"):
        systems = [generate_root_system(get_preset(preset), 7_000_000 + s) for s in range(args.n)]
        for kind in GAP_KINDS:
            covered = apices = holding = gaps_n = 0
            for k, s in enumerate(systems):
                _, gaps = make_gaps(s.mask, kind, np.random.default_rng([k, 3]))
                h, w = s.mask.shape
                tips = np.array([np.clip(np.round(r.points[-1]).astype(int), 0, [h - 1, w - 1]) for r in s.roots if len(r.points) > 1])
                inside = gaps[tips[:, 0], tips[:, 1]]
                covered += int(inside.sum())
                apices += len(tips)
                lab, n = ndi.label(gaps & s.mask, structure=np.ones((3, 3), bool))
                gaps_n += n
                held = np.unique(lab[tips[inside, 0], tips[inside, 1]])
                holding += int((held > 0).sum())
            lines.append(f"| {preset} | {kind} | {100 * covered / apices:.1f}% | {100 * holding / max(gaps_n, 1):.1f}% | {gaps_n / args.n:.0f} |")
    write("gap_tips.md", "How often a gap removes a root's end", f"python benchmarks/bench_gap_tips.py -n {args.n}", "\n".join(lines))


if __name__ == "__main__":
    main()

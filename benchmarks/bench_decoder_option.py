"""Closing cuts in roots whose two sides meet elsewhere (``link_loop_px``): on or off.

    python benchmarks/bench_cut_closing.py [-n 6]

In a dense, crossing root system a gap often cuts a root whose two sides still meet
farther off, through other roots: one component, so joining them changes no component
count, but an open cut leaves two false tips and a missing stretch of length. The
default decoder joins two such ends that face each other within ``link_loop_px`` px.
This compares it with ``link_loop_px=0`` on the same probabilities (one network pass per
mask, the default model), image level, occlusion gaps, held-out seeds (synthetic systems
from 2,000,000 as `rootrepair evaluate`; the masks drawn from traces from 3,000,000 as
`bench_decode_other_masks.py`): clean and noisy synthetic masks of both presets, and both
presets drawn as 1-px traces (the skeleton of the system).

Results: benchmarks/results/cut_closing.md.
"""
import argparse
import dataclasses
import tempfile
import warnings
from pathlib import Path

import numpy as np

from _common import cpu_probability, network_runtime, write
from bench_decode_other_masks import make_folders

SHOWN = ("rel_comp_diff", "betti0_error", "false_joins", "fp_per_gap_px", "gap_recall", "length_err", "tips_err")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=6)
    args = ap.parse_args()
    from rootrepair.decode import DecodeSettings, decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    warnings.simplefilter("ignore")
    probability = cpu_probability()
    default = DecodeSettings()
    off = dataclasses.replace(default, link_loop_px=0.0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        configs = {
            f"{preset}{', noisy' if noise else ''}": EvalConfig(preset=preset, gaps="occlusion", levels=("image",), n=args.n, noise=noise)
            for noise in (0.0, 1.0) for preset in ("chickpea", "fibrous")
        }
        folders = make_folders(Path(tmp), args.n)  # the masks of bench_decode_other_masks.py
        for preset in ("chickpea", "fibrous"):
            configs[f"{preset}, traced 1 px"] = EvalConfig(data=str(folders[f"{preset}, traced, 1 px"]), gaps="occlusion",
                                                           levels=("image",), n=args.n)
        for name, cfg in configs.items():
            per = {"off": [], "on (default)": []}
            for s in make_samples(cfg, "image"):
                prob = probability(s.gappy)
                for label, ds in (("off", off), ("on (default)", default)):
                    per[label].append(repair_metrics(s.truth, s.gappy, decode(s.gappy, prob, ds), s.gaps))
            for label, ms in per.items():
                rows.append((name, label, {k: float(np.mean([m[k] for m in ms])) for k in SHOWN}))
            print(name, flush=True)
    body = [
        f"Model: {DEFAULT_MODEL}, network on {network_runtime()}; n = {args.n} masks per setting, occlusion gaps, "
        f"the default decoder with `link_loop_px={default.link_loop_px:g}` (on) and `0` (off), the same probabilities. "
        "Lower is better except rel_comp_diff and gap_recall.", "",
        "| setting | cut closing | " + " | ".join(SHOWN) + " |", "|---" * (len(SHOWN) + 2) + "|",
        *(f"| {name} | {label} | " + " | ".join(f"{v[k]:.3f}" for k in SHOWN) + " |" for name, label, v in rows),
    ]
    write("cut_closing.md", "Closing cuts whose sides meet elsewhere: on and off", f"python benchmarks/bench_cut_closing.py -n {args.n}",
          "\n".join(body))


if __name__ == "__main__":
    main()

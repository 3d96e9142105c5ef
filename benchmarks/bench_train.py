"""A short CPU run of every variant from the CLI: seconds per step and where validation got to.

    python benchmarks/bench_train.py [--steps 20] [--device cpu]

Runs `rootrepair train --variant V` for each variant in a temporary folder with the
compact settings used for the shipped CPU model (base 16, 128-px patches, batch 8,
768 x 384 large masks). GAN-GL-M gets a folder of real-like gappy masks made with the
occlusion gap generator.
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import write

VARIANTS = ("cnn", "unet", "gan-l", "gan-g", "gan-gl", "gan-gl-m")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    lines = ["| variant | steps | seconds per step (median, after the first) | val CE at the end | val gap recall |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        real = Path(tmp) / "real"
        subprocess.run([sys.executable, "-m", "rootrepair", "synth", str(real), "-n", "4", "--gaps", "occlusion", "--seed", "9000000"], check=True, capture_output=True)
        for v in VARIANTS:
            out = Path(tmp) / v
            cmd = ["rootrepair", "train", "--variant", v, "--steps", str(args.steps), "--base", "16", "--patch", "128",
                   "--large", "768x384", "--batch", "8", "--out", str(out), "--val-every", str(args.steps), "--device", args.device]
            if v == "gan-gl-m":
                cmd += ["--real", str(real / "gappy")]
            subprocess.run(cmd, check=True, capture_output=True)
            logs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
            sps = [x["s_per_step"] for x in logs if x["step"] > 1]
            last = logs[-1]
            lines.append(f"| {v} | {args.steps} | {np.median(sps):.2f} | {last.get('val_ce', float('nan')):.4f} | {last.get('val_gap_recall', float('nan')):.3f} |")
    write(f"train_speed_{args.device}.md", "Training: a short run of every variant", f"python benchmarks/bench_train.py --steps {args.steps} --device {args.device}", "\n".join(lines))


if __name__ == "__main__":
    main()

"""Threshold trade-off of the shipped model: connections vs false positives.

    python benchmarks/bench_threshold.py [-n 4]

On tuning seeds (3,500,000 and up: neither training, validation nor the model card's
evaluation seeds), whole chickpea masks with occlusion gaps, for several `--threshold`s of the
paper's threshold decoder (`--decode threshold`); the default decoder is compared in
`bench_decode.py`.
"""
import argparse

from _common import write


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=4)
    args = ap.parse_args()
    from rootrepair.decode import DecodeSettings
    from rootrepair.evaluate import EvalConfig, evaluate
    from rootrepair.models.checkpoint import DEFAULT_MODEL, resolve_model

    path = str(resolve_model(DEFAULT_MODEL))
    lines = ["| threshold | rel. comp. improvement | false-positive px per gap px | gap recall | rel. pixel improvement |", "|---|---|---|---|---|"]
    for th in (0.5, 0.35, 0.2, 0.1):
        cfg = EvalConfig(methods=(f"{path}+threshold",), gaps="occlusion", levels=("image",), n=args.n, seed=3_500_000,
                         decode=DecodeSettings(decoder="threshold", threshold=th))
        df, _ = evaluate(cfg)
        m = df[["rel_comp_diff", "fp_per_gap_px", "gap_recall", "rel_pixel_diff"]].mean()
        lines.append(f"| {th} | {m.rel_comp_diff:.3f} | {m.fp_per_gap_px:.3f} | {m.gap_recall:.3f} | {m.rel_pixel_diff:.3f} |")
    write("threshold_sweep.md", f"Threshold trade-off of {DEFAULT_MODEL}", f"python benchmarks/bench_threshold.py -n {args.n}", "\n".join(lines))


if __name__ == "__main__":
    main()

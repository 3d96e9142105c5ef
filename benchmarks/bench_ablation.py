"""What training actually helps: the ablation of the model issue, at equal budget.

    python benchmarks/bench_ablation.py runs/ablation/unet runs/ablation/unet-sr \
        runs/ablation/gan-gl runs/ablation/gan-gl-sr [-n 8] [--out ablation.md]

Each run folder is a `rootrepair train` run (same steps, data and width; see each run's
``config.json``). Its latest checkpoint's generator is exported (float16) and evaluated
at image level, held-out seeds, with the default topology decoder, on chickpea and
fibrous masks with occlusion and mix gaps, clean and with segmentation-like noise.
The shipped model and the ``link`` baseline are evaluated on the same samples. With
``--real FOLDER`` (masks drawn by people, e.g. hand-annotated minirhizotron masks; not part
of the repository), the same gaps are cut into those masks too: they are the truth, so the
score says how a repair does on roots no simulator drew.

The training logs are summarised beside the scores: how the local discriminator's loss
ended (near 0: it wins on a trivial cue), how often the global discriminator sat at
chance (2 log 2) or saturated, the rewards' spread (0: REINFORCE has no signal) and each
loss term's gradient at G's output layer.
"""
import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from _common import RESULTS, chosen_settings, metric_table, training_log, write

SHOWN = ("rel_comp_diff", "betti0_error", "fp_per_gap_px", "gap_recall", "cldice", "length_err", "tips_err")


def training_summary(run: Path) -> dict:
    """``run``: a run folder, or an exported generator ``NAME.json`` with its log beside it as ``NAME.metrics.jsonl``
    (without one, only the variant and steps)."""
    cfg = json.loads((run if run.suffix == ".json" else run / "config.json").read_text())
    try:
        logs = training_log(run)
    except FileNotFoundError:  # a generator without its log (e.g. a shipped model's .json): scores only
        return {"variant": cfg["variant"], "steps": cfg.get("steps_done", math.nan)}
    last = [e for e in logs if e["step"] > max(e["step"] for e in logs) * 0.5]  # the second half
    out = {"variant": cfg["variant"], "steps": max(e["step"] for e in logs), "train_s": sum(e.get("s_per_step", 0) for e in logs) * cfg["log_every"]}

    def median(key, rows=last):
        vals = [e[key] for e in rows if key in e]
        return float(np.median(vals)) if vals else math.nan

    out["D_L loss (2nd half, median)"] = median("loss_d_local")
    dg = [e["loss_d_global"] for e in logs if "loss_d_global" in e]
    if dg:
        out["D_G at chance (|loss - 2 log 2| < 0.05)"] = float(np.mean([abs(v - 2 * math.log(2)) < 0.05 for v in dg]))
        out["D_G saturated (loss > 10)"] = float(np.mean([v > 10 for v in dg]))
    out["reward sd (median)"] = median("reward_sd", logs)
    for term in ("ce", "topology", "local", "global"):
        out[f"grad {term} (median)"] = median(f"grad_{term}", logs)
    vals = [e for e in logs if "val_gap_recall" in e]
    if vals:
        out["val gap recall (last)"] = vals[-1]["val_gap_recall"]
        out["val FP per gap px (last)"] = vals[-1]["val_false_positive_per_gap_px"]
    return out


def main() -> None:
    from rootrepair.evaluate import EvalConfig, evaluate
    from rootrepair.train import export_generator

    from rootrepair.models.checkpoint import DEFAULT_MODEL

    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", type=Path, help="run folders, or exported generator .json files")
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--out", default="ablation.md")
    ap.add_argument("--real", type=Path, help="folder of real complete masks: two more settings (occlusion, mix)")
    ap.add_argument("--real-n", type=int, default=31)
    ap.add_argument("--settings", default="", help="only these settings, e.g. fibrous:occlusion,fibrous:mix:noisy (default: all eight)")
    ap.add_argument("--device", default="cpu", help="where the networks run (cpu or cuda)")
    ap.add_argument("--shipped", default=DEFAULT_MODEL, help="shipped model evaluated beside the runs (default: the default model; '' for none)")
    args = ap.parse_args()

    names, methods = [], ["link"]
    if args.shipped:
        methods.append(f"{args.shipped}+topology")
        names.append(("shipped: " + args.shipped, methods[-1]))
    summaries = []
    for run in args.runs:
        # a run folder is exported from its latest checkpoint; a generator .json (e.g. brought back from a GPU machine) is used as it is
        exported = run if run.suffix == ".json" else export_generator(run, run / "export")
        methods.append(f"{exported}+topology")
        names.append((run.stem, methods[-1]))
        summaries.append({"run": run.stem, **training_summary(run)})
    label = {m: n for n, m in names}
    rows, per = [], []
    settings = chosen_settings(args.settings) + ([("real", g, 0.0) for g in ("occlusion", "mix")] if args.real else [])
    for preset, gaps, noise in settings:
        t0 = time.perf_counter()
        if preset == "real":
            cfg = EvalConfig(methods=tuple(methods), data=str(args.real), gaps=gaps, levels=("image",), n=args.real_n, device=args.device)
        else:
            cfg = EvalConfig(methods=tuple(methods), preset=preset, gaps=gaps, levels=("image",), n=args.n, noise=noise, device=args.device)
        df, _ = evaluate(cfg)
        setting = f"{preset}, {gaps}" + (", noisy" if noise else "")
        if preset == "real":
            setting = f"real ({args.real.name}, n = {args.real_n}), {gaps}"
        df["method"] = df["method"].map(lambda m: label.get(m, m))
        df.insert(0, "setting", setting)
        per.append(df)
        for m, g in df.groupby("method", sort=False):
            rows.append({"setting": setting, "method": m, **{k: g[k].mean() for k in SHOWN}})
        print(f"{setting}: {time.perf_counter() - t0:.0f} s", flush=True)
    table = pd.DataFrame(rows)
    pd.concat(per).to_csv(RESULTS / args.out.replace(".md", "_per_sample.csv"), index=False)

    lines = metric_table("model (+topology decoder)", [(r["setting"], r["method"], r) for r in rows], SHOWN)
    mean = table.groupby("method", sort=False)[list(SHOWN)].mean()
    lines += ["", "Mean over the settings:", "", "| model | " + " | ".join(SHOWN) + " |", "|---" * (len(SHOWN) + 1) + "|"]
    for m, r in mean.iterrows():
        lines.append(f"| {m} | " + " | ".join(f"{r[k]:.3f}" for k in SHOWN) + " |")
    s = pd.DataFrame(summaries)
    lines += ["", "Training logs (`metrics.jsonl` of each run):", "", "| " + " | ".join(s.columns) + " |", "|---" * len(s.columns) + "|"]
    for _, r in s.iterrows():
        lines.append("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in r.values) + " |")
    body = (
        f"Image level, n = {args.n} per setting (held-out evaluation seeds), every model decoded with the default "
        "topology decoder in `add` mode. Higher is better for rel_comp_diff, gap_recall, cldice; lower for the rest. "
        f"Per-sample values: `{args.out.replace('.md', '_per_sample.csv')}`.\n\n" + "\n".join(lines)
    )
    command = "python benchmarks/bench_ablation.py " + " ".join(str(r) for r in args.runs) + f" -n {args.n}"
    if args.real:
        command += f" --real {args.real} --real-n {args.real_n}"
    if args.settings:
        command += f" --settings {args.settings}"
    if args.device != "cpu":
        command += f" --device {args.device}"
    write(args.out, "Models compared at the default decoder", command + (f" --out {args.out}" if args.out != "ablation.md" else ""), body)


if __name__ == "__main__":
    main()

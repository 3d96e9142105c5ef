"""Export a model from a training run into the package and write its model card.

    python benchmarks/ship_model.py runs/unet-sr-long --name rootrepair-unet-sr-compact \
        --evaluation benchmarks/results/final_model.md --ablation benchmarks/results/ablation.md \
        --notes notes.md [--history "..."]

1. the run's latest checkpoint -> models/shipped/NAME.(safetensors|json), float16 weights
   (``--dtype int8`` for a large generator: convolution weights quantised per channel);
2. the card models/shipped/NAME.md: what was trained on what (from the run's config and
   log), the training history, the ablation table, the evaluation at the default decoder
   (both tables are the benchmark's own output files, embedded as they are) and a check
   of the model issue's bar on the evaluation's per-sample file.

The evaluation is `benchmarks/bench_ablation.py RUN -n N --out final_model.md`: the run,
the previous default model and `link` on the same held-out samples.
"""
import argparse
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from _common import training_log

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("rel_comp_diff", "betti0_error", "fp_per_gap_px", "gap_recall", "cldice", "length_err", "tips_err")
HIGHER = {"rel_comp_diff", "gap_recall", "cldice"}


def section(md: Path, start: str) -> str:
    """The part of a benchmark's markdown from the line starting with ``start`` to the end."""
    text = md.read_text()
    i = text.find(start)
    return text[i:] if i >= 0 else text


def bar_check(per_sample: pd.DataFrame, model: str, previous: str) -> list[str]:
    """The model issue's bar, on clean occlusion gaps of both presets, and 'better than before'."""
    lines = []
    for setting in ("chickpea, occlusion", "fibrous, occlusion"):
        g = per_sample[(per_sample.setting == setting) & (per_sample.method == model)]
        rec, fp, rc = g.gap_recall.mean(), g.fp_per_gap_px.mean(), g.rel_comp_diff.mean()
        ok = rec >= 0.7 and fp <= 0.1 and rc >= 0.97
        lines.append(f"- {'met' if ok else 'NOT met'} ({setting}): gap recall {rec:.3f} (>= 0.7), "
                     f"false positives per gap px {fp:.3f} (<= 0.1), rel. component improvement {rc:.3f} (>= 0.97)")
    if previous:
        # each setting weighs the same (the real settings have 31 samples, the synthetic 6)
        means = per_sample.groupby(["method", "setting"])[list(SHOWN)].mean().groupby("method").mean()
        worse = [k for k in SHOWN if (means.loc[model, k] < means.loc[previous, k]) == (k in HIGHER) and
                 not math.isclose(means.loc[model, k], means.loc[previous, k])]
        lines.append(f"- {'met' if not worse else 'NOT met'}: better than {previous} on every metric (mean over the settings)"
                     + (f"; worse on {', '.join(worse)}" if worse else ""))
    return lines


def main() -> None:
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path, help="a run folder, or an exported generator .json (its log beside it as NAME.metrics.jsonl)")
    ap.add_argument("--name", required=True)
    ap.add_argument("--evaluation", type=Path, required=True, help="bench_ablation.py output for this run")
    ap.add_argument("--ablation", type=Path, help="bench_ablation.py output of the equal-budget ablation")
    ap.add_argument("--notes", type=Path, help="markdown: what helped and why (written by the people who trained it)")
    ap.add_argument("--history", default="", help="how the run started (e.g. from which weights)")
    ap.add_argument("--previous", default=DEFAULT_MODEL, help="the model this one replaces (default: the current default model)")
    ap.add_argument("--previous-label", help="that model's label in the evaluation (default: 'shipped: PREVIOUS')")
    ap.add_argument("--device-note", default="CPU, 2 cores (this project's development machine)")
    ap.add_argument("--dtype", default="float16", choices=("float16", "int8"), help="how the weights are stored")
    ap.add_argument("--role", default="The default model of `rootrepair inpaint`.", help="the card's first line: what the model is for")
    args = ap.parse_args()
    for key in ("evaluation", "ablation", "notes"):
        if getattr(args, key) is not None:
            setattr(args, key, getattr(args, key).resolve())

    from rootrepair.decode import DecodeSettings
    from rootrepair.models.checkpoint import SHIPPED_DIR
    from rootrepair.train import export_generator

    stem = SHIPPED_DIR / args.name
    if args.run.suffix == ".json":
        # a generator exported elsewhere (a GPU machine): its weights are copied as they are (float16),
        # or quantised (int8; an int8 export is quantised again to the same values)
        from rootrepair.models.checkpoint import load_generator, save_generator

        G, card = load_generator(args.run)
        card.update(device=args.device_note, history=args.history)
        for key in ("weights", "dtype", "sha256", "path", "id"):
            card.pop(key, None)
        cfg_path = save_generator(stem, G.eval(), card, dtype=args.dtype)
    else:
        cfg_path = export_generator(args.run, stem, dtype=args.dtype, device=args.device_note, history=args.history)
    card = json.loads(cfg_path.read_text())
    logs = training_log(args.run)
    last = [x for x in logs if "val_ce" in x][-1]
    per_sample = pd.read_csv(args.evaluation.with_name(args.evaluation.stem + "_per_sample.csv"))
    model_label = args.run.stem
    previous_label = args.previous_label or ("shipped: " + args.previous if args.previous else "")
    losses = f"lambda1 = {card['lambda_ce']:g} (CE)"
    if card.get("lambda_gap", 0) > 0:
        losses += f", {card['lambda_gap']:g} (CE at the gap pixels only, --lambda-gap)"
    if card.get("topology_loss", "none") != "none":
        losses += f", {card['lambda_topology']:g} ({card['topology_loss']})"
    if card.get("teacher"):
        losses += f", {card['lambda_teacher']:g} (soft cross-entropy to the probabilities of the teacher `{card['teacher']}`, --teacher)"
    if card["variant"] in ("gan-l", "gan-gl", "gan-gl-m"):
        losses += f", lambda2 = {card['lambda_local']:g} (local LSGAN, D_L input: {card.get('local_input', 'soft')})"
    if card["variant"] in ("gan-g", "gan-gl", "gan-gl-m"):
        losses += f", lambda3 = {card['lambda_global']:g} (global REINFORCE, K = {card['reinforce_samples']})"
    decode_settings = ", ".join(f"`{k}={v}`" for k, v in dataclasses.asdict(DecodeSettings()).items())
    text = f"""# Model card: {args.name}

{args.role}

| | |
|---|---|
| variant | `{card['variant']}`, topology loss `{card.get('topology_loss', 'none')}` |
| architecture | U-Net generator, base width {card['base']} (paper size: 64), 2-class softmax output |
| weights | `{args.name}.safetensors` ({card['dtype']}{', convolution weights per output channel, biases and batch norms float16' if card['dtype'] == 'int8' else ''}), sha256 `{card['sha256']}` |
| training data | synthetic `{card['preset']}` root systems drawn on the fly (seeds < 1,000,000), enlarged x{card['scale'][0]:g}-{card['scale'][1]:g} (root widths about 1-16 px), segmentation-like noise at a level drawn from 0 to {card['noise']:g} per mask, fresh augmentation every step |
| gaps | `{card['gaps']}`, one kind per step; at most {100 * card['apex_gap_rate']:.0f}% of root apices inside a gap (the rest of such gaps undone) |
| patches | {card['batch']} patches of {card['patch']} x {card['patch']} per step, {card.get('patches_per_mask') or card['batch']} from each {card['large'][0]} x {card['large'][1]} large mask |
| losses | {losses} |
| optimiser | Adam{tuple(card['betas'])}, lr G {card['lr_g']:g} |
| history | {args.history or 'trained from random weights'} |
| steps (this run) | {card['steps_done']} |
| training time (this run) | {card['train_seconds'] / 60:.0f} min |
| device | {card['device']} |
| software | {card['software']}, torch {card['torch']} |
| last validation (fixed seeded clean patches, threshold 0.5) | CE {last['val_ce']:.4f}, gap recall {last['val_gap_recall']:.3f}, false positives per gap px {last['val_false_positive_per_gap_px']:.3f} |

{"No GPU was available to this run; every step ran on a 2-core CPU." if "cuda" not in str(card['device']).lower() and "nvidia" not in str(card['device']).lower() else "This run's steps ran on a GPU (see device); its evaluation below ran on a 2-core CPU."}

## What training helps: the ablation

""" + (args.notes.read_text().strip() + "\n\n" if args.notes else "") + (
        f"From `{args.ablation.relative_to(ROOT)}`:\n\n" + section(args.ablation, "Mean over") + "\n" if args.ablation else ""
    ) + f"""
## Evaluation at the default decoder

Held-out whole masks (2500 x 1000 px, seeds from 2,000,000), image level, the topology decoder
with its defaults ({decode_settings}); this model beside the one it replaces and the
classical `link` baseline, on the same samples. From `{args.evaluation.relative_to(ROOT)}`:

""" + section(args.evaluation, "| setting") + """

The model issue's bar (clean occlusion gaps, both presets):

""" + "\n".join(bar_check(per_sample, model_label, previous_label)) + f"""

## Limits

- Trained on synthetic roots only (with synthetic segmentation noise): check the overlays
  on your own masks.
- Gaps wider than about the patch context it was trained with ({card['patch']} px) are not bridged.
- `--mode add` (the default) never deletes a pixel of the input.
"""
    stem.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

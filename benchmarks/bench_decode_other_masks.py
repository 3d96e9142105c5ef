"""Does the default repair generalise to masks unlike the ones it was trained on?

    python benchmarks/bench_decode_other_masks.py [-n 8]

The network learned on the synthetic generator's masks. Masks elsewhere look different;
two kinds this benchmark makes from held-out synthetic systems (seeds from 3,000,000, an
unused range), so that the complete mask is known:

- *drawn from traces*: an expert's root trace (a polyline) drawn at a constant width,
  as tracing tools export masks: the system's skeleton drawn 1 px (the skeleton itself),
  3 px and 5 px wide (no taper, no width change at branches);
- *seen closer*: the system's upper-left quarter enlarged 2x (nearest neighbour), as a
  camera closer to the roots or a finer scan would give: roots twice as wide, gaps
  twice as long.

and a third from elsewhere:

- *another simulator*: systems of `benchmarks/_other_simulator.py`, a second architecture
  model written apart from the project's generator (3-D random-walk roots projected onto the
  image, so roots cross; a tap root with laterals, and a dense fibrous system of 4-7 seminal
  roots), seeds from 5,000,000.

``--kinds traced,closer,simulator`` picks which (all by default).

Methods: none, link (the classical baseline) and the default network with the default
(topology) decoder, at image level, occlusion and mix gaps, chickpea and fibrous.

``--real FOLDER``: two more settings (occlusion, mix) on complete masks drawn by people,
e.g. hand-annotated minirhizotron masks (the project develops on 31 such switchgrass
masks that may not enter the repository; their numbers may).
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import beats, metric_table, network_runtime, write

SHOWN = ("rel_comp_diff", "betti0_error", "false_joins", "fp_per_gap_px", "fp_apart_per_gap_px", "gap_recall", "length_err", "tips_err")


KINDS = ("traced", "closer", "simulator")


def make_folders(root: Path, n: int, wanted: tuple[str, ...] = KINDS) -> dict[str, Path]:
    from scipy import ndimage as ndi
    from skimage.morphology import disk, skeletonize

    from _other_simulator import root_system
    from rootrepair import io as rio
    from rootrepair.synth import generate_root_system, get_preset

    folders = {}
    for preset in ("chickpea", "fibrous") if {"traced", "closer"} & set(wanted) else ():
        kinds = {}
        if "traced" in wanted:
            kinds.update({"traced, 1 px": [], "traced, 3 px": [], "traced, 5 px": []})
        if "closer" in wanted:
            kinds["seen closer (2x)"] = []
        for i in range(n):
            mask = generate_root_system(get_preset(preset), 3_000_000 + i).mask
            if "traced" in wanted:
                skel = skeletonize(mask)
                kinds["traced, 1 px"].append(skel)
                kinds["traced, 3 px"].append(ndi.binary_dilation(skel, structure=disk(1)))
                kinds["traced, 5 px"].append(ndi.binary_dilation(skel, structure=disk(2)))
            if "closer" in wanted:
                h, w = mask.shape
                kinds["seen closer (2x)"].append(np.kron(mask[: h // 2, : w // 2], np.ones((2, 2), bool)))
        for kind, masks in kinds.items():
            folder = root / f"{preset}-{kind.split(',')[0].split(' ')[0]}-{len(folders)}"
            folder.mkdir(parents=True)
            for i, m in enumerate(masks):
                rio.write_mask(folder / f"m{i:02d}.png", m)
            folders[f"{preset}, {kind}"] = folder
    if "simulator" in wanted:
        for kind in ("taproot", "fibrous"):
            folder = root / f"simulator-{kind}"
            folder.mkdir(parents=True)
            for i in range(n):
                rio.write_mask(folder / f"m{i:02d}.png", root_system(5_000_000 + i, kind))
            folders[f"another simulator, {kind}"] = folder
    return folders


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=8)
    ap.add_argument("--real", type=Path, help="folder of real complete masks: two more settings (occlusion, mix)")
    ap.add_argument("--real-n", type=int, default=31)
    ap.add_argument("--model", help="a shipped model name or a generator .json instead of the default model")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"which kinds of masks, comma-separated: {', '.join(KINDS)}")
    ap.add_argument("--out", default="decoders_other_masks.md")
    args = ap.parse_args()
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    if not kinds or set(kinds) - set(KINDS):
        ap.error(f"--kinds: choose from {', '.join(KINDS)}")
    from rootrepair.evaluate import EvalConfig, evaluate
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    model = args.model or DEFAULT_MODEL
    label = "default" if model == DEFAULT_MODEL else Path(model).stem  # the model's name in the table
    net = f"{model}+topology"
    rows, wins = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: (folder, args.n) for name, folder in make_folders(Path(tmp), args.n, kinds).items()}
        if args.real is not None:
            folders[f"real ({args.real.name}, n = {args.real_n})"] = (args.real, args.real_n)
        for name, (folder, n) in folders.items():
            for gaps in ("occlusion", "mix"):
                t0 = time.perf_counter()
                cfg = EvalConfig(methods=("none", "link", net), data=str(folder), gaps=gaps, levels=("image",), n=n, device="cpu")
                df, _ = evaluate(cfg)
                setting = f"{name}, {gaps}"
                print(f"{setting}: {time.perf_counter() - t0:.0f} s", flush=True)
                for m, g in df.groupby("method", sort=False):
                    rows.append({"setting": setting, "method": m.replace(model, label), **{k: g[k].mean() for k in SHOWN}})
                topo, link = (df[df.method == m].set_index("sample") for m in (net, "link"))
                wins.append(f"- {setting}: " + "; ".join(beats(topo, link)))
    body = [
        f"Image level, n = {args.n} masks per synthetic setting (held-out synthetic systems, seeds from 3,000,000; "
        "the other simulator's from 5,000,000), "
        f"methods in `add` mode; {'`default` is the shipped default model' if model == DEFAULT_MODEL else f'`{label}` is the model `{model}`'} with the default (topology) decoder, "
        f"the network on {network_runtime()} (the default here). "
        "Lower is better except rel_comp_diff and gap_recall.", "",
        *metric_table("method", [(r["setting"], r["method"], r) for r in rows], SHOWN), "",
        f"Does {'the default' if model == DEFAULT_MODEL else label} beat link (means; paired t-test p)?", "", *wins, "",
        f"It beats link on all five at once in {sum('NO' not in w for w in wins)} of {len(wins)} settings.",
    ]
    command = f"python benchmarks/bench_decode_other_masks.py -n {args.n}"
    if args.real is not None:
        command += f" --real {args.real} --real-n {args.real_n}"
    if args.model:
        command += f" --model {args.model}"
    if kinds != KINDS:
        command += f" --kinds {','.join(kinds)}"
    if args.out != "decoders_other_masks.md":
        command += f" --out {args.out}"
    write(args.out, "The default repair on masks unlike its training data", command, "\n".join(body))


if __name__ == "__main__":
    main()

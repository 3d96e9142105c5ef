"""One option of the default decoder against another value of it, on the same probabilities.

    python benchmarks/bench_decoder_option.py [-n 6] [--option link_loop_px=0 --out cut_closing.md --title ...]

The default decoder (on) against the decoder with ``--option NAME=VALUE`` (off). Written first
for closing cuts in roots whose two sides meet elsewhere (``link_loop_px``, the default
option): in a dense, crossing root system a gap often cuts a root whose two sides still meet
farther off, through other roots: one component, so joining them changes no component
count, but an open cut leaves two false tips and a missing stretch of length. The
default decoder joins two such ends that face each other within ``link_loop_px`` px.
``link_loop_px=0`` turns that off. Compared on the same probabilities (one network pass per
mask, the default model), image level, the gap kinds of ``--gaps`` (occlusion unless told), held-out seeds (synthetic systems
from 2,000,000 as `rootrepair evaluate`; the masks drawn from traces from 3,000,000 as
`bench_decode_other_masks.py`): clean and noisy synthetic masks of both presets, and both
presets drawn as 1-px traces (the skeleton of the system).

Results: benchmarks/results/cut_closing.md (``link_loop_px``), speck_chain.md (``link_past_specks``:
``--gaps occlusion,mix --option link_past_specks=false --out speck_chain.md --title "Links going on past a speck: on and off"``).
"""
import argparse
import dataclasses
import tempfile
import warnings
from pathlib import Path

from _common import cpu_probability, mean_rows, metric_table, network_runtime, write
from bench_decode_other_masks import make_folders

SHOWN = ("rel_comp_diff", "betti0_error", "false_joins", "fp_per_gap_px", "gap_recall", "length_err", "tips_err")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=6)
    ap.add_argument("--option", default="link_loop_px=0", help="NAME=VALUE of a DecodeSettings field: the 'off' decoder")
    ap.add_argument("--out", default="cut_closing.md")
    ap.add_argument("--gaps", default="occlusion", help="gap kinds, comma-separated (each its settings)")
    ap.add_argument("--title", default="Closing cuts whose sides meet elsewhere: on and off")
    args = ap.parse_args()
    from rootrepair.decode import DecodeSettings, decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.metrics import repair_metrics
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    warnings.simplefilter("ignore")
    probability = cpu_probability()
    default = DecodeSettings()
    option, value = args.option.split("=", 1)
    now = getattr(default, option)  # an unknown name stops here
    value = value.strip().lower() in ("1", "true", "yes", "on") if isinstance(now, bool) else type(now)(value)
    off = dataclasses.replace(default, **{option: value})
    labels = (f"{value:g}" if isinstance(value, float) else f"{value}", f"{now:g} (default)" if isinstance(now, float) else f"{now} (default)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        kinds = args.gaps.split(",")
        configs = {
            f"{preset}{'' if kind == 'occlusion' else ', ' + kind}{', noisy' if noise else ''}": EvalConfig(
                preset=preset, gaps=kind, levels=("image",), n=args.n, noise=noise)
            for kind in kinds for noise in (0.0, 1.0) for preset in ("chickpea", "fibrous")
        }
        folders = make_folders(Path(tmp), args.n)  # the masks of bench_decode_other_masks.py
        for kind in kinds:
            for preset in ("chickpea", "fibrous"):
                configs[f"{preset}{'' if kind == 'occlusion' else ', ' + kind}, traced 1 px"] = EvalConfig(
                    data=str(folders[f"{preset}, traced, 1 px"]), gaps=kind, levels=("image",), n=args.n)
        for name, cfg in configs.items():
            per = {label: [] for label in labels}
            for s in make_samples(cfg, "image"):
                prob = probability(s.gappy)
                for label, ds in zip(labels, (off, default)):
                    per[label].append(repair_metrics(s.truth, s.gappy, decode(s.gappy, prob, ds), s.gaps))
            rows += mean_rows(name, per, SHOWN)
            print(name, flush=True)
    body = [
        f"Model: {DEFAULT_MODEL}, network on {network_runtime()}; n = {args.n} masks per setting, {args.gaps.replace(',', ' and ')} gaps, "
        f"the default decoder with `{option}={now}` and with `{value}`, the same probabilities. "
        "Lower is better except rel_comp_diff and gap_recall.", "",
        *metric_table(option, rows, SHOWN),
    ]
    command = f"python benchmarks/bench_decoder_option.py -n {args.n}"
    if args.gaps != "occlusion":
        command += f" --gaps {args.gaps}"
    if args.out != "cut_closing.md":
        command += f' --option {args.option} --out {args.out} --title "{args.title}"'
    write(args.out, args.title, command, "\n".join(body))


if __name__ == "__main__":
    main()

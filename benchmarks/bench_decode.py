"""Which decoder turns the network's probability into the best repair, and how fast.

    python benchmarks/bench_decode.py [-n 20] [--speed-only] [--settings fibrous:occlusion,fibrous:mix:noisy --out NAME.md]

Quality: image level (whole masks), held-out evaluation seeds, every setting the default
must win in: chickpea and fibrous presets x occlusion and mix gaps, and the same with
segmentation-like noise (``--noise 1``: rough edges, blobs, holes, hairs, specks on the
complete mask before the gaps). Methods: none, closing, link, the default shipped network
with the paper's threshold, and with the topology decoder. Per setting: the means, and a paired
t-test of topology vs link on the metrics the default must win on at once.

Speed: the topology decoder alone on a 2500 x 1000 chickpea mask with its probability
(best of 7), warm; and on that mask tiled into images of up to 80 megapixels (time and
peak memory per copy: does decoding scale linearly?).
"""
import argparse
import time

import pandas as pd

from _common import RESULTS, beats, best_time, chosen_settings, held_out_mask, matmul_seconds, network_runtime, write

SHOWN = ("rel_comp_diff", "betti0_error", "false_joins", "fp_per_gap_px", "fp_apart_per_gap_px", "gap_recall", "cldice", "length_err", "tips_err")


def speed() -> str:
    from rootrepair.decode import decode
    from rootrepair.inpaint import InpaintSettings, predict_probability, prepare_model
    from rootrepair.models.checkpoint import load_generator

    gappy = held_out_mask()
    model, _ = load_generator(None)
    model, device = prepare_model(model, InpaintSettings(device="cpu"))
    prob = predict_probability(model, gappy, InpaintSettings(device="cpu"), device=device)
    t = best_time(lambda: decode(gappy, prob), 7)
    matmul = matmul_seconds(7)
    return (f"Topology decoding of a 2500 x 1000 chickpea mask with occlusion gaps: **{t:.3f} s** (best of 7; aim <= 0.3 s). "
            f"A 2048^3 float32 matmul in the same run: {matmul:.3f} s, so decoding took {t / matmul:.1f} matmuls; "
            "on the EPYC of the first speed runs (matmul 0.093 s) the aim is 3.2 matmuls.\n\n" + large(gappy, prob))


def large(gappy, prob) -> str:
    """Decoding time and memory on the same mask tiled into larger images: linear in the area?"""
    import tracemalloc

    import numpy as np

    from rootrepair.decode import decode

    lines = ["Larger images: the same mask and probability tiled (rows x columns of copies); seconds (best of 3, "
             "of 1 from 16 copies on) and the largest memory the decoding held at once (numpy's allocations, "
             "traced in a second run).", "",
             "| copies | image | megapixels | seconds | seconds per copy | peak memory, MB | MB per copy |", "|---|---|---|---|---|---|---|"]
    for r, c in ((1, 1), (2, 2), (4, 4), (4, 8)):
        g, p = np.tile(gappy, (r, c)), np.tile(prob, (r, c))
        t = best_time(lambda: decode(g, p), 3 if r * c < 16 else 1)
        tracemalloc.start()
        decode(g, p)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        k = r * c
        lines.append(f"| {r} x {c} | {g.shape[0]} x {g.shape[1]} | {g.size / 1e6:.1f} | {t:.2f} | {t / k:.3f} | {peak:.0f} | {peak / k:.0f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def quality(n: int, settings: list[tuple[str, str, float]]) -> tuple[str, pd.DataFrame]:
    from rootrepair.decode import DecodeSettings
    from rootrepair.evaluate import EvalConfig, evaluate
    from rootrepair.models.checkpoint import DEFAULT_MODEL

    net = DEFAULT_MODEL
    methods = ("none", "closing", "link", f"{net}+threshold", f"{net}+topology")
    rows, per = [], []
    for preset, gaps, noise in settings:
        cfg = EvalConfig(methods=methods, preset=preset, gaps=gaps, levels=("image",), n=n, noise=noise, device="cpu")
        t0 = time.perf_counter()
        # the same probability decoded once more without fragments as link targets
        df, _ = evaluate(cfg, variants={f"{net}+topology --no-fragments": (f"{net}+topology", DecodeSettings(link_small_pieces=False))})
        setting = f"{preset}, {gaps}" + (", noisy" if noise else "")
        print(f"{setting}: {time.perf_counter() - t0:.0f} s", flush=True)
        df.insert(0, "setting", setting)
        per.append(df)
        topo = df[df.method == f"{net}+topology"].set_index("sample")
        link = df[df.method == "link"].set_index("sample")
        for m in (*methods, f"{net}+topology --no-fragments"):
            g = df[df.method == m]
            row = {"setting": setting, "method": m, **{k: g[k].mean() for k in SHOWN}}
            rows.append(row)
        rows.append({"setting": setting, "method": "topology beats link?", "note": "; ".join(beats(topo, link))})
    table = pd.DataFrame(rows)
    lines = ["| setting | method | " + " | ".join(SHOWN) + " |", "|---" * (len(SHOWN) + 2) + "|"]
    for _, r in table.iterrows():
        if isinstance(r.get("note"), str):
            lines.append(f"| {r.setting} | *{r.method}* | {r.note} |" + " |" * (len(SHOWN) - 1))
        else:
            lines.append(f"| {r.setting} | {r.method} | " + " | ".join(f"{r[k]:.3f}" for k in SHOWN) + " |")
    return "\n".join(lines), pd.concat(per)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--settings", default="", help="only these settings, e.g. fibrous:occlusion,fibrous:mix:noisy (default: all eight)")
    ap.add_argument("--out", default="", help="results file (default decoders.md, or decode_speed.md with --speed-only)")
    args = ap.parse_args()
    settings = chosen_settings(args.settings)
    out = args.out or ("decode_speed.md" if args.speed_only else "decoders.md")
    body = speed()
    if not args.speed_only:
        table, per = quality(args.n, settings)
        csv = out.replace(".md", "_per_sample.csv")
        per.to_csv(RESULTS / csv, index=False)
        body += (
            f"\n\nImage level, n = {args.n} per setting (held-out evaluation seeds), methods run in `add` mode; "
            f"the network ran on {network_runtime()} (the default here). "
            "Lower is better for betti0_error, false_joins, fp_per_gap_px, fp_apart_per_gap_px, length_err, tips_err. Per-sample values: "
            f"`{csv}`.\n\n" + table
        )
    command = "python benchmarks/bench_decode.py" + (f" -n {args.n}" if not args.speed_only else " --speed-only")
    command += (f" --settings {args.settings}" if args.settings else "") + (f" --out {args.out}" if args.out else "")
    write(out, "Decoders: threshold vs topology vs the baselines", command, body)


if __name__ == "__main__":
    main()

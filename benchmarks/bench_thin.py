"""The project's thinning (``rootrepair.pixels.thin``) against scikit-image's ``skeletonize``,
which it replaces pixel for pixel: the thinning alone on root masks and on windows of
several sizes, then trait measurement and topology decoding with each, side by side.

Interleaved rounds (one with each, again and again), because these cloud machines' speed
drifts within minutes; minimum and median per mask over the rounds.

    python benchmarks/bench_thin.py [--rounds 8]
"""
import argparse
import statistics
import time

from _common import cpu_probability, held_out_mask, matmul_seconds, write


def _masks():
    import numpy as np

    from rootrepair.synth import add_segmentation_noise, generate_root_system, get_preset

    def system(preset, seed):
        return generate_root_system(get_preset(preset), 5_000_000 + seed).mask

    return {
        "chickpea (5)": [system("chickpea", i) for i in range(5)],
        "fibrous (5)": [system("fibrous", i) for i in range(5)],
        "noisy, both presets (6)": [add_segmentation_noise(system(p, i), np.random.default_rng(i), 1.0)
                                    for p in ("chickpea", "fibrous") for i in range(3)],
    }


def _rounds(fns: dict, rounds: int) -> dict:
    """Seconds of each of ``fns`` (name -> zero-argument call), interleaved, after a warm-up."""
    out = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            out[name].append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=8)
    args = ap.parse_args()

    import numpy as np
    from skimage.morphology import skeletonize

    import rootrepair.decode as dec
    import rootrepair.pixels as pix
    import rootrepair.traits.measure as meas
    from rootrepair.pixels import foreground_box

    ours, ours_again = pix.thin, pix.thin_again

    def use(fn):  # every module that thins looks the function up at call time
        pix.thin = dec.thin = meas.thin = fn
        # after pruning, ours looks only beside the pruned pixels; scikit-image thins it all again
        meas.thin_again = ours_again if fn is ours else (lambda skel, rows, cols: fn(skel))

    sets = _masks()
    boxes = {k: [m[foreground_box(m, 1)] for m in ms] for k, ms in sets.items()}
    for ms in boxes.values():
        assert all(np.array_equal(ours(m), skeletonize(m)) for m in ms)
    body = ["Both give the same pixels on every mask here (checked before timing; "
            "`tests/test_pixels.py` checks 300 random masks and root masks too).", "",
            "## Thinning alone, on the foreground's box (ms per mask)", "",
            "| masks | skimage min | ours min | skimage median | ours median |", "|---|---|---|---|---|"]
    for name, ms in boxes.items():
        t = _rounds({"skimage": lambda: [skeletonize(m) for m in ms], "ours": lambda: [pix._thin_border(m) for m in ms]},
                    args.rounds)
        body.append(f"| {name} | " + " | ".join(f"{f(t[k]) / len(ms) * 1e3:.1f}" for f in (min, statistics.median)
                                                 for k in ("skimage", "ours")) + " |")
    # a large mask: 3 x 6 copies of a fibrous system, 7500 x 6000 px, with noise
    from rootrepair.synth import add_segmentation_noise, generate_root_system, get_preset

    large = add_segmentation_noise(np.tile(generate_root_system(get_preset("fibrous"), 5).mask, (3, 6)),
                                   np.random.default_rng(0), 1.0)
    assert np.array_equal(ours(large), skeletonize(large))
    t = _rounds({"skimage": lambda: skeletonize(large), "ours": lambda: ours(large)}, 2)
    body.append(f"| one noisy fibrous mosaic, {large.shape[0]} x {large.shape[1]} (2 rounds) | "
                + " | ".join(f"{f(t[k]) * 1e3:.0f}" for f in (min, statistics.median) for k in ("skimage", "ours")) + " |")
    # windows of the decoder's kind: crops around root pixels of the held-out mask
    gappy = held_out_mask()
    rows, cols = np.nonzero(gappy)
    rng = np.random.default_rng(0)
    body += ["", "Windows around root pixels of the held-out mask (30 each, ms per window; "
             f"`thin` uses scikit-image's below {pix.THIN_OWN_MIN_PX} px):", "",
             "| window | skimage median | ours median |", "|---|---|---|"]
    for size in (40, 100, 256, 400):
        picks = rng.integers(len(rows), size=30)
        wins = [gappy[max(rows[k] - size // 2, 0):max(rows[k] - size // 2, 0) + size,
                      max(cols[k] - size // 2, 0):max(cols[k] - size // 2, 0) + size] for k in picks]
        t = _rounds({"skimage": lambda: [skeletonize(w) for w in wins], "ours": lambda: [pix._thin_border(w) for w in wins]},
                    args.rounds)
        body.append(f"| {size} x {size} | {statistics.median(t['skimage']) / 30 * 1e3:.3f} | "
                    f"{statistics.median(t['ours']) / 30 * 1e3:.3f} |")

    # denser masks, where looking at each changed pixel costs more than scanning them all
    from scipy import ndimage as ndi

    body += ["", f"Denser 2000 x 2000 masks (ms, best of 3; `thin` uses scikit-image's above {pix.THIN_OWN_MAX_SHARE:.0%} "
             "foreground): random pixels, and blobs (smoothed noise above a level):", "",
             "| foreground | noise: skimage | noise: ours | blobs: skimage | blobs: ours |", "|---|---|---|---|---|"]
    for share in (0.02, 0.05, 0.1, 0.2):
        noise = rng.random((2000, 2000)) < share
        smooth = ndi.gaussian_filter(rng.random((2000, 2000)), 6)
        blobs = smooth > np.quantile(smooth, 1 - share)
        cells = []
        for m in (noise, blobs):
            t = _rounds({"skimage": lambda: skeletonize(m), "ours": lambda: pix._thin_border(m)}, 3)
            cells += [f"{min(t['skimage']) * 1e3:.0f}", f"{min(t['ours']) * 1e3:.0f}"]
        body.append(f"| {share:.0%} | " + " | ".join(cells) + " |")

    body += ["", "## Trait measurement and decoding with each (ms per mask)", "",
             "| work | skimage min | ours min | skimage median | ours median |", "|---|---|---|---|---|"]

    def each(work):  # the same work with each thinning, for _rounds
        return {"skimage": lambda: (use(skeletonize), work())[1], "ours": lambda: (use(ours), work())[1]}

    for name, ms in sets.items():
        t = _rounds(each(lambda: [meas.measure_traits(m) for m in ms]), args.rounds)
        body.append(f"| `measure_traits`, {name} | " + " | ".join(
            f"{f(t[k]) / len(ms) * 1e3:.0f}" for f in (min, statistics.median) for k in ("skimage", "ours")) + " |")
    prob = cpu_probability()(gappy)
    runs = each(lambda: dec.decode(gappy, prob))
    assert np.array_equal(runs["skimage"](), runs["ours"]())
    t = _rounds(runs, 3 * args.rounds)  # the difference is a tenth of the time: more rounds
    body.append(f"| `decode`, the held-out 2500 x 1000 mask (same output; {3 * args.rounds} rounds) | " + " | ".join(
        f"{f(t[k]) * 1e3:.0f}" for f in (min, statistics.median) for k in ("skimage", "ours")) + " |")
    body += ["", f"A 2048^3 float32 matmul in the same run: {matmul_seconds(5):.3f} s."]
    write("thin_speed.md", "Thinning: scikit-image's against the project's", "python benchmarks/bench_thin.py",
          "\n".join(body))


if __name__ == "__main__":
    main()

"""rootrepair's traits side by side with PlantCV's, on shapes whose answers are known.

    pip install plantcv==4.11      # a benchmark-only dependency, never a runtime one
    python benchmarks/bench_traits_peer.py

Shapes (drawn here, answers by construction): clean oblique roots of widths 3, 7 and 12 px
at 0-75 degrees; rough thick roots (15 px, 26 edge bumps); thin 2-px roots with edge noise;
two roots crossing; two roots touching side by side for part of their length; a Y of 3-px
roots. Answers: length of the drawn centre lines, tips (free ends), width, perimeter of
the drawn rectangles (clean ones only). PlantCV: skeletonize -> prune(size=10) ->
find_tips / find_branch_pts / segment_skeleton -> segment_path_length, segment_width;
analyze.size for the perimeter. rootrepair: `measure_traits` with its defaults.
"""
import math
import warnings

import numpy as np
import pandas as pd

from _common import RESULTS, write

L = 160.0


def _rect(shape, centre, angle_deg, length, width):
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    rr -= centre[0]
    cc -= centre[1]
    a = math.radians(angle_deg)
    along = cc * math.cos(a) - rr * math.sin(a)
    across = cc * math.sin(a) + rr * math.cos(a)
    return (np.abs(along) < length / 2) & (np.abs(across) < width / 2)


def shapes(rng):
    out = []
    for w in (3, 7, 12):
        for ang in (0, 15, 30, 45, 60, 75):
            c = 120 + (0.5 if w % 2 == 0 else 0.0)
            m = _rect((240, 240), (c, c), ang, L, w)
            out.append(("clean", f"{w} px at {ang} deg", m, dict(length=L, tips=2, width=m.sum() / L, perimeter=2 * (L + w))))
    for k in range(4):
        m = _rect((80, 260), (40, 130), 0, 200, 15)
        for j, col in enumerate(range(40, 220, 7)):  # bumps of 2-4 px stuck to both edges (rows 33..47)
            s = int(rng.integers(2, 5))
            row = 33 - s if j % 2 else 48
            m[row : row + s, col + int(rng.integers(0, 3)) : col + s + 2] = True
        out.append(("rough", f"15 px with bumps #{k}", m, dict(length=200, tips=2, width=15)))
    for k in range(4):
        m = np.zeros((200, 260), bool)
        for row in (40, 100, 160):
            m |= _rect((200, 260), (row, 130), 8 * (k - 1.5), 200, 2)
        edge = m ^ np.pad(m, 1)[2:, 1:-1] | m ^ np.pad(m, 1)[:-2, 1:-1]
        flip = rng.random(m.shape) < 0.05
        m = m | (edge & flip)
        m[rng.random(m.shape) < 0.02 * edge] = False
        m |= _rect((200, 260), (40, 130), 8 * (k - 1.5), 190, 1) | _rect((200, 260), (100, 130), 8 * (k - 1.5), 190, 1) | _rect((200, 260), (160, 130), 8 * (k - 1.5), 190, 1)
        out.append(("noisy thin", f"three 2-px roots, 5% edge noise #{k}", m, dict(length=3 * 200, tips=6, width=2)))
    for w in (3, 7):
        m = _rect((240, 240), (120, 120), 20, L, w) | _rect((240, 240), (120, 120), 110, L, w)
        out.append(("crossing", f"two {w}-px roots crossing", m, dict(length=2 * L, tips=4, width=w)))
        m = _rect((240, 240), (110, 120), 0, L, w) | _rect((240, 240), (110 + w, 150), 0, L, w)
        out.append(("touching", f"two {w}-px roots side by side for 130 px", m, dict(length=2 * L, tips=4, width=w)))
    m = _rect((240, 240), (120, 60), 0, 100, 3)
    m |= _rect((240, 240), (120 - 35 * math.sin(math.radians(40)), 110 + 35 * math.cos(math.radians(40))), 40, 70, 3)
    m |= _rect((240, 240), (120 + 35 * math.sin(math.radians(40)), 110 + 35 * math.cos(math.radians(40))), -40, 70, 3)
    out.append(("clean", "a Y of 3-px roots", m, dict(length=100 + 2 * 70, tips=3, width=m.sum() / 240)))
    return out


def rootrepair_traits(m):
    from rootrepair.traits import measure_traits

    t = measure_traits(m)
    return dict(length=t["total_length_px"], tips=t["tip_count"], width=t["median_diameter_px"], perimeter=t["perimeter_px"])


def plantcv_traits(m):
    from plantcv import plantcv as pcv

    pcv.outputs.clear()
    pcv.params.debug = None
    mask = (m * 255).astype(np.uint8)
    skel = pcv.morphology.skeletonize(mask=mask)
    pruned, seg_img, objects = pcv.morphology.prune(skel_img=skel, size=10, mask=mask)
    pcv.morphology.find_tips(skel_img=pruned, label="s")
    pcv.morphology.segment_path_length(segmented_img=seg_img, objects=objects, label="s")
    labeled = (m > 0).astype(np.uint8)
    pcv.morphology.segment_width(segmented_img=seg_img, skel_img=pruned, labeled_mask=labeled, n_labels=1, label="s")
    pcv.analyze.size(img=np.dstack([mask] * 3), labeled_mask=labeled, n_labels=1, label="s")
    o = {}
    for key, values in pcv.outputs.observations.items():  # morphology under "s", size under "s_1"
        if key.startswith("s"):
            o.update(values)
    widths = [w for w in o.get("mean_segment_width", {}).get("value", []) if w == w]
    return dict(
        length=float(sum(o["segment_path_length"]["value"])),
        tips=float(len(o["tips"]["value"])),
        width=float(np.median(widths)) if widths else float("nan"),
        perimeter=float(o["perimeter"]["value"]),
    )


def main() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for kind, name, m, truth in shapes(rng):
        for tool, fn in (("rootrepair", rootrepair_traits), ("PlantCV 4.11", plantcv_traits)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    got = fn(m)
                except Exception as exc:  # a tool that fails on a shape: recorded, not hidden
                    got = {k: float("nan") for k in truth}
                    print(f"{tool} failed on {name}: {exc}")
            for trait, true in truth.items():
                rows.append(dict(kind=kind, shape=name, tool=tool, trait=trait, truth=true, measured=got[trait],
                                 abs_err_pct=100 * abs(got[trait] - true) / true))
    df = pd.DataFrame(rows)
    df.to_csv(RESULTS / "traits_peer.csv", index=False)
    table = df.pivot_table(index=["kind", "trait"], columns="tool", values="abs_err_pct", aggfunc="mean").round(2)
    exact = df[df.trait == "tips"].assign(ok=lambda d: d.measured == d.truth).pivot_table(
        index="kind", columns="tool", values="ok", aggfunc="mean").round(2)
    body = ("Mean absolute error (% of the true value) per kind of shape and trait; lower is better. "
            "Per shape: `traits_peer.csv`.\n\n" + table.to_markdown() +
            "\n\nShare of shapes with exactly the right number of tips:\n\n" + exact.to_markdown())
    write("traits_peer.md", "Traits against PlantCV on shapes with known answers", "python benchmarks/bench_traits_peer.py", body)


if __name__ == "__main__":
    main()

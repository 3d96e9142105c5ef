"""Speed of trait measurement on a 2500 x 1000 chickpea mask, the one-off start-up cost,
the whole `rootrepair traits` command on one mask in a fresh process, and how a folder's
time grows with its size (10, 50, 100 masks: linear means a flat s/mask).

    python benchmarks/bench_traits.py
"""
import statistics
import subprocess
import sys
import time

from _common import matmul_seconds, write

STARTUP = """
import time
t0 = time.perf_counter()
from rootrepair.traits import measure_traits
import numpy as np
t1 = time.perf_counter()
m = np.zeros((64, 64), bool); m[10:50, 30] = True; m[30, 10:50] = True
measure_traits(m)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def main() -> None:
    import numpy as np

    from rootrepair.synth import generate_root_system, get_preset
    from rootrepair.traits import measure_traits

    runs = [subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, check=True) for _ in range(3)]
    imports, first = zip(*(map(float, r.stdout.split()) for r in runs))
    command = whole_command(3)
    rows = []
    for seed in range(5):
        mask = generate_root_system(get_preset("chickpea"), 5_000_000 + seed).mask
        measure_traits(mask)  # warm
        times = []
        for _ in range(3):
            t = time.perf_counter()
            measure_traits(mask)
            times.append(time.perf_counter() - t)
        rows.append((seed, mask.shape, int(mask.sum()), min(times)))
    body = [
        f"Start-up (fresh process, median of 3): import {statistics.median(imports):.2f} s, "
        f"first call (the lazy imports of skimage and scipy's parts) {statistics.median(first):.2f} s.",
        "",
        f"The whole command in a fresh process, `rootrepair traits plant.png` on the 2500 x 1000 held-out mask "
        f"(reading, measuring, spreadsheet and CSV files), median of 3: {statistics.median(command):.2f} s "
        f"(aim <= 1.5 s). A 2048^3 float32 matmul in the same run: {matmul_seconds(5):.3f} s.",
        "",
        "| mask | shape | foreground px | seconds (warm, best of 3) |",
        "|---|---|---|---|",
    ]
    body += [f"| chickpea seed {5_000_000 + s} | {sh[0]} x {sh[1]} | {fg} | {t:.3f} |" for s, sh, fg, t in rows]
    body += ["", f"Mean: {np.mean([r[3] for r in rows]):.3f} s per mask (aim: under 0.2 s)."]
    body += ["", "A folder, the library's `measure_folder` (reading PNGs included), warm process:", "",
             "| masks | seconds | seconds per mask |", "|---|---|---|"]
    body += [f"| {n} | {t:.1f} | {t / n:.3f} |" for n, t in folder_scaling((10, 50, 100))]
    write("traits_speed.md", "Trait measurement speed", "python benchmarks/bench_traits.py", "\n".join(body))


def whole_command(repeats: int) -> list[float]:
    """Seconds of ``rootrepair traits`` on one mask in fresh processes, start-up included."""
    import tempfile
    from pathlib import Path

    from _common import held_out_mask

    from rootrepair import io as rio

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        src = rio.write_mask(Path(tmp) / "plant.png", held_out_mask())
        for i in range(repeats):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rootrepair", "traits", str(src), "-o", str(Path(tmp) / f"t{i}.xlsx")],
                           check=True, capture_output=True)
            out.append(time.perf_counter() - t)
    return out


def folder_scaling(sizes) -> list[tuple[int, float]]:
    import tempfile
    from pathlib import Path

    from rootrepair import io as rio
    from rootrepair.report import measure_folder
    from rootrepair.traits.measure import TraitSettings
    from rootrepair.synth import generate_root_system, get_preset

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        masks = [generate_root_system(get_preset(("chickpea", "fibrous")[k % 2]), 6_000_000 + k).mask for k in range(10)]
        for n in sizes:
            folder = Path(tmp) / f"n{n}"
            for k in range(n):  # ten distinct masks, repeated: the same work per mask at every size
                rio.write_mask(folder / f"plant_{k:03d}.png", masks[k % 10])
            t = time.perf_counter()
            measure_folder(folder, TraitSettings())
            out.append((n, time.perf_counter() - t))
    return out


if __name__ == "__main__":
    main()

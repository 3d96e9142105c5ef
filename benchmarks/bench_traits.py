"""Speed of trait measurement on a 2500 x 1000 chickpea mask, and the one-off start-up cost.

    python benchmarks/bench_traits.py
"""
import statistics
import subprocess
import sys
import time

from _common import write

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
        f"first call (numba compilation or cache load) {statistics.median(first):.2f} s.",
        "",
        "| mask | shape | foreground px | seconds (warm, best of 3) |",
        "|---|---|---|---|",
    ]
    body += [f"| chickpea seed {5_000_000 + s} | {sh[0]} x {sh[1]} | {fg} | {t:.3f} |" for s, sh, fg, t in rows]
    body += ["", f"Mean: {np.mean([r[3] for r in rows]):.3f} s per mask (aim: under 0.3 s)."]
    write("traits_speed.md", "Trait measurement speed", "python benchmarks/bench_traits.py", "\n".join(body))


if __name__ == "__main__":
    main()

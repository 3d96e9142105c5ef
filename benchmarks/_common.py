"""Shared helpers of the benchmarks: where results go and what machine they ran on."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    try:
        import torch
    except ImportError:  # the peer benchmark runs in an environment of its own
        torch = None

    cpu = platform.processor() or platform.machine()
    try:
        flags: set[str] = set()
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and cpu == (platform.processor() or platform.machine()):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
        # machines sold under one name differ: the widest vector unit says more of the speed
        simd = next((name for flag, name in (("avx512_bf16", "AVX-512 with bf16"), ("avx512f", "AVX-512"), ("avx2", "AVX2"))
                     if flag in flags), None)
        cpu = f"{cpu} ({simd})" if simd else cpu
    except OSError:
        pass
    if torch is None:
        return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def write(name: str, title: str, command: str, body: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(
        f"# {title}\n\nMeasured {_dt.datetime.now().isoformat(timespec='minutes')} on {machine()}.\n"
        f"Command: `{command}`\n\n{body}\n"
    )
    print(path.read_text())
    return path


def best_time(fn, repeats: int) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``fn``, after one warm-up call."""
    import time

    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def matmul_seconds(repeats: int) -> float:
    """Best of ``repeats`` 2048^3 float32 matmuls in torch: every speed result's yardstick for
    how fast the machine was while it ran (these cloud machines differ from session to session)."""
    import torch

    a = torch.randn(2048, 2048)
    return best_time(lambda: a @ a, repeats)


def held_out_mask():
    """The speed benchmarks' mask: a 2500 x 1000 chickpea system (held-out seed 8,000,000) with occlusion gaps."""
    import numpy as np

    from rootrepair.gaps import make_gaps
    from rootrepair.synth import generate_root_system, get_preset

    full = generate_root_system(get_preset("chickpea"), 8_000_000).mask
    mask, _ = make_gaps(full, "occlusion", np.random.default_rng(0))
    return mask



def held_out_folder(folder, mask, n: int = 10):
    """Write ``n`` masks into ``folder``: ``mask`` rolled sideways by 97 px more each time
    (the speed benchmarks' folder: same content, different files). Returns ``folder``."""
    import numpy as np

    from rootrepair import io as rio

    for i in range(n):
        rio.write_mask(folder / f"p{i:02d}.png", np.roll(mask, 97 * i, axis=1))
    return folder


def training_log(run):
    """A run's ``metrics.jsonl`` entries: ``run`` is a run folder, or an exported generator
    ``NAME.json`` with its log beside it as ``NAME.metrics.jsonl``."""
    import json

    log = run.with_suffix(".metrics.jsonl") if run.suffix == ".json" else run / "metrics.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

# the metrics the default repair must beat link on at once (issue 9); True: higher is better
WIN_ON = {"rel_comp_diff": True, "betti0_error": False, "fp_per_gap_px": False, "length_err": False, "tips_err": False}


def beats(a, b) -> list[str]:
    """Per metric of ``WIN_ON``: does ``a`` beat ``b`` by the means, with the paired t-test's p.

    ``a`` and ``b`` are per-sample tables indexed by sample (one method each).
    """
    import numpy as np
    from scipy import stats

    out = []
    for k, higher in WIN_ON.items():
        x, y = a[k].align(b[k], join="inner")
        better = x.mean() > y.mean() if higher else x.mean() < y.mean()
        p = stats.ttest_rel(x, y).pvalue if len(x) > 1 and not np.allclose(x, y) else float("nan")
        out.append(f"{k} {'yes' if better else 'NO'} (p={p:.2g})")
    return out


# the eight evaluation settings (preset, gaps, noise) of the decoder and model tables, in their order
SETTINGS = [(p, g, n) for n in (0.0, 1.0) for p in ("chickpea", "fibrous") for g in ("occlusion", "mix")]


def chosen_settings(spec: str) -> list[tuple[str, str, float]]:
    """The settings a ``--settings`` option names (``PRESET:GAPS`` or ``PRESET:GAPS:noisy``,
    comma-separated; empty: all eight), in the tables' order; a name that is none of them stops."""
    if not spec:
        return list(SETTINGS)
    wanted = {tuple(w.split(":")) for w in spec.split(",")}
    named = {(p, g) + (("noisy",) if n else ()): (p, g, n) for p, g, n in SETTINGS}
    if not wanted <= set(named):
        raise SystemExit(f"--settings: each is PRESET:GAPS or PRESET:GAPS:noisy, one of {[':'.join(k) for k in named]}")
    return [named[k] for k in named if k in wanted]


def cpu_probability(model: str | None = None):
    """``mask -> probability`` of generator ``model`` (None: the shipped default) on the CPU
    with the default inpaint settings: for benchmarks that decode one network pass several ways."""
    from rootrepair.inpaint import InpaintSettings, predict_probability, prepare_model
    from rootrepair.models.checkpoint import load_generator

    settings = InpaintSettings(device="cpu")
    net, device = prepare_model(load_generator(model)[0], settings)
    return lambda mask: predict_probability(net, mask, settings, device=device)


def network_runtime() -> str:
    """What runs the network by default here (runtime and precision), for results that depend on it."""
    import torch

    from rootrepair.inpaint import InpaintSettings, use_bf16
    from rootrepair.models.openvino_runtime import resolve_runtime

    s = InpaintSettings(device="cpu")
    device = torch.device("cpu")
    return f"{resolve_runtime(s.runtime, device)} {'bf16' if use_bf16(device, s.precision) else 'fp32'}"


def mean_rows(name: str, per: dict, shown) -> list[tuple]:
    """(setting, label, {metric: mean}) per label of ``per`` (label -> one metric dict per mask)."""
    return [(name, label, {k: float(np.mean([m[k] for m in ms])) for k in shown}) for label, ms in per.items()]


def metric_table(label: str, rows: list[tuple], shown) -> list[str]:
    """Markdown lines of ``rows`` ((setting, value of ``label``, {metric: mean})), ``shown`` metrics to 3 decimals."""
    return [f"| setting | {label} | " + " | ".join(shown) + " |", "|---" * (len(shown) + 2) + "|",
            *(f"| {name} | {value} | " + " | ".join(f"{v[k]:.3f}" for k in shown) + " |" for name, value, v in rows)]

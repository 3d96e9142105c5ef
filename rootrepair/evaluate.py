"""The paper's experiments, blind and reproducible: every method on the same gappy samples.

Samples come from the synthetic generator with held-out seeds (``EVAL_SEED`` and up; training
draws seeds below ``TRAIN_SEED_LIMIT``) or from a folder of complete masks. Gaps come from
this project's generators, seeded per sample. Two levels, as the paper's tables:

- ``patch``: 256 x 256 patches with foreground (Table I),
- ``image``: whole masks (Table II), networks run tiled.

Every metric is blind (``rootrepair.metrics``). The summary gives mean (sd) per method and
paired t-tests of the best network against each other method.
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage as ndi

from rootrepair import io as rio
from rootrepair.baselines import closing_repair, link_repair
from rootrepair.decode import DecodeSettings, decode
from rootrepair.errors import RootRepairError
from rootrepair.gaps import make_gaps
from rootrepair.metrics import LOWER_IS_BETTER, repair_metrics

EVAL_SEED = 2_000_000
LEVELS = ("patch", "image")
SUMMARY_METRICS = (
    "mse", "mse_gaps", "rel_pixel_diff", "rel_comp_diff", "gap_recall", "false_positive_px",
    "fp_per_gap_px", "fp_apart_per_gap_px", "betti0_error", "false_joins", "cldice", "length_err", "tips_err", "hull_err",
)


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    methods: tuple[str, ...] = ("none", "closing", "link")
    data: str = "synthetic"  # or a folder of complete masks
    preset: str = "chickpea"
    gaps: str = "mix"
    levels: tuple[str, ...] = ("patch", "image")
    n: int = 20  # samples per level
    seed: int = EVAL_SEED
    patch: int = 256
    closing_radius: int = 3
    device: str = "auto"
    noise: float = 0.0  # segmentation-like noise on the complete masks before gaps (synth.add_segmentation_noise)
    decode: DecodeSettings | None = None  # settings of the networks' decoders (None: defaults)


# ------------------------------------------------------------------------ samples


@dataclasses.dataclass
class Sample:
    name: str
    truth: np.ndarray
    gappy: np.ndarray
    gaps: np.ndarray


def _complete_masks(cfg: EvalConfig):
    """Yield (name, complete mask) without end: held-out synthetic seeds or a folder, cycling."""
    if cfg.data == "synthetic":
        from rootrepair.synth import generate_root_system, get_preset

        k = 0
        while True:
            s = cfg.seed + k
            yield f"root_{s}", generate_root_system(get_preset(cfg.preset), s).mask
            k += 1
    else:
        # read as they are needed (a folder of large masks need not fit in memory); more
        # samples than masks go round the folder again
        images, _ = rio.list_images(cfg.data)
        first = True
        while True:
            found = 0
            for p, m, _, err in rio.iter_masks(images):
                if err is not None:
                    if first:
                        warnings.warn(f"{err}; left out of the evaluation", stacklevel=2)
                    continue
                found += 1
                yield p.stem, m
            if not found:
                raise RootRepairError(f"{cfg.data}: no readable masks")
            first = False


def _noisy(cfg: EvalConfig, full: np.ndarray, k: int) -> np.ndarray:
    """The complete mask as a segmenter would give it (the truth of a noisy sample)."""
    if cfg.noise <= 0:
        return full
    from rootrepair.synth import add_segmentation_noise

    return add_segmentation_noise(full, np.random.default_rng([cfg.seed, 7, k]), cfg.noise)


def make_samples(cfg: EvalConfig, level: str) -> list[Sample]:
    """The gappy samples of one level, the same for every method and every run with this seed."""
    rng = np.random.default_rng([cfg.seed, LEVELS.index(level)])
    out: list[Sample] = []
    source = _complete_masks(cfg)
    k = 0
    while len(out) < cfg.n:
        name, full = next(source)
        full = _noisy(cfg, full, k)
        k += 1
        if level == "image":
            gappy, gaps = make_gaps(full, cfg.gaps, rng)
            out.append(Sample(name, full, gappy, gaps))
            continue
        fg = np.argwhere(full)
        if not len(fg):
            continue
        for _ in range(4):  # a few foreground-rich patches per mask
            r, c = fg[rng.integers(len(fg))]
            top = int(np.clip(r - cfg.patch // 2, 0, max(full.shape[0] - cfg.patch, 0)))
            left = int(np.clip(c - cfg.patch // 2, 0, max(full.shape[1] - cfg.patch, 0)))
            y = full[top : top + cfg.patch, left : left + cfg.patch]
            if y.shape != (cfg.patch, cfg.patch) or y.mean() < 0.005:
                continue
            x, g = make_gaps(y, cfg.gaps, rng)
            if (y & ~x).any():
                out.append(Sample(f"{name}@{top},{left}", y, x, g))
            if len(out) == cfg.n:
                break
    return out


# ------------------------------------------------------------------------ methods


Method = Callable[[Sample], tuple[np.ndarray, np.ndarray | None]]


def split_method(name: str) -> tuple[str, str | None]:
    """``"gan-gl+topology"`` -> ``("gan-gl", "topology")``; a name without ``+`` has no decoder."""
    from rootrepair.decode import DECODERS

    net, plus, decoder = name.partition("+")
    if plus and decoder not in DECODERS:
        raise RootRepairError(f"unknown decoder {decoder!r} in method {name!r}; choose one of {', '.join(DECODERS)}")
    return net, (decoder if plus else None)


def build_method(name: str, cfg: EvalConfig, cache: dict | None = None) -> Method:
    """A repair function ``sample -> (repaired, probability or None)`` for a method name.

    ``none``, ``closing``, ``link``, or a network with an optional decoder after ``+``
    (``gan-gl+threshold``, ``gan-gl+topology``; without one, the default decoder). A
    network is a shipped model name, a variant name (looked up as a shipped
    ``rootrepair-<variant>-*`` model) or a checkpoint .json path. Networks run tiled and
    decode in ``add`` mode (the input's pixels are kept), as ``inpaint`` does. Methods
    that share a network share its probability through ``cache`` (computed once per sample).
    """
    if name == "none":
        return lambda s: (s.gappy.copy(), None)
    if name == "closing":
        return lambda s: (closing_repair(s.gappy, radius=cfg.closing_radius), None)
    if name == "link":
        return lambda s: (link_repair(s.gappy), None)
    from rootrepair.inpaint import InpaintSettings, predict_probability, prepare_model
    from rootrepair.models.checkpoint import SHIPPED_DIR, load_generator

    net, decoder = split_method(name)
    target = net
    if not Path(net).suffix and not (SHIPPED_DIR / f"{net}.json").exists():
        matches = sorted(SHIPPED_DIR.glob(f"rootrepair-{net}-*.json"))
        if not matches:
            raise RootRepairError(
                f"no model for method {name!r}: use none, closing, link, a shipped model name, "
                "or a checkpoint .json path (train one with `rootrepair train --variant ...`), "
                "optionally with +topology or +threshold"
            )
        target = str(matches[0])
    cache = {} if cache is None else cache
    if ("model", target) not in cache:
        model, _ = load_generator(target)
        settings = InpaintSettings(device=cfg.device)
        cache[("model", target)] = (*prepare_model(model, settings), settings)
    model, device, settings = cache[("model", target)]
    base = cfg.decode or DecodeSettings()
    dsettings = dataclasses.replace(base, decoder=decoder) if decoder else base

    def run(s: Sample):
        hit = cache.get(("prob", target))  # methods run sample by sample: the last one is enough
        if hit is None or hit[0] is not s:
            hit = cache[("prob", target)] = (s, predict_probability(model, s.gappy, settings, device=device))
        prob = hit[1]
        repaired = decode(s.gappy, prob, dsettings, mode="add")
        return repaired, np.maximum(prob, s.gappy)

    return run


# ------------------------------------------------------------------------ running


def evaluate(cfg: EvalConfig, *, on_sample: Callable[[str], None] | None = None,
             variants: dict[str, tuple[str, DecodeSettings]] | None = None) -> tuple[pd.DataFrame, dict[str, dict[str, list]]]:
    """Run every method on every sample of every level.

    ``variants``: more methods, ``{label: (network method, decoder settings)}``, each a
    network of ``cfg.methods`` decoded with other settings; they share its probability (the
    network runs once per sample, not once per variant).

    Returns the per-sample table (level, sample, method, metrics...) and, for the figure,
    the first three samples' outputs per level: ``{level: {"samples": [...], method: [...]}}``.
    """
    cache: dict = {}
    methods = {m: build_method(m, cfg, cache) for m in cfg.methods}
    for label, (m, dsettings) in (variants or {}).items():
        methods[label] = build_method(m, dataclasses.replace(cfg, decode=dsettings), cache)
    rows, shown = [], {}
    for level in cfg.levels:
        samples = make_samples(cfg, level)
        shown[level] = {"samples": samples[:3], **{m: [] for m in methods}}
        for i, s in enumerate(samples):
            for mname, fn in methods.items():
                repaired, prob = fn(s)
                metrics = repair_metrics(s.truth, s.gappy, repaired, s.gaps, prob)
                rows.append({"level": level, "sample": s.name, "method": mname, **metrics})
                if i < 3:
                    shown[level][mname].append(repaired)
            if on_sample:
                on_sample(f"{level} {s.name}")
    return pd.DataFrame(rows), shown


def summarise(per_sample: pd.DataFrame, methods: tuple[str, ...]) -> pd.DataFrame:
    """mean (sd) per level and method, and paired t-tests of the best network vs each other method.

    The best network is the non-baseline method with the highest mean ``rel_comp_diff``
    (or the best method overall when no network was evaluated).
    """
    from scipy import stats

    out = []
    for level, g in per_sample.groupby("level", sort=False):
        nets = [m for m in methods if m not in ("none", "closing", "link")]
        pool = nets or list(methods)
        means = g.groupby("method")["rel_comp_diff"].mean()
        best = max(pool, key=lambda m: means.get(m, -np.inf) if np.isfinite(means.get(m, np.nan)) else -np.inf)
        for m in methods:
            gm = g[g["method"] == m].set_index("sample")
            row = {"level": level, "method": m, "n": len(gm), "best": m == best}
            for metric in SUMMARY_METRICS:
                row[f"{metric}_mean"] = float(gm[metric].mean())
                row[f"{metric}_sd"] = float(gm[metric].std(ddof=1)) if len(gm) > 1 else float("nan")
                if m != best:
                    gb = g[g["method"] == best].set_index("sample")[metric]
                    a, b = gb.align(gm[metric], join="inner")
                    ok = a.notna() & b.notna()
                    row[f"{metric}_p_vs_best"] = (
                        float(stats.ttest_rel(a[ok], b[ok]).pvalue) if ok.sum() > 1 and not np.allclose(a[ok], b[ok]) else float("nan")
                    )
            out.append(row)
    return pd.DataFrame(out)


def summary_markdown(summary: pd.DataFrame, cfg: EvalConfig) -> str:
    """Tables like the paper's: mean (sd) per method, '*' where the best network differs (p < 0.05)."""
    lines = [
        "# Evaluation",
        "",
        f"Data: {cfg.data} ({cfg.preset} preset, held-out seeds from {cfg.seed}), gaps: {cfg.gaps}, n = {cfg.n} per level.",
        "Metrics are blind (whole output); formulas in `rootrepair/metrics.py`. Lower is better for "
        + ", ".join(sorted(LOWER_IS_BETTER)) + "; higher for the rest.",
        "`*`: paired t-test of the best network against this method, p < 0.05.",
        "",
    ]
    cols = ("mse", "mse_gaps", "rel_pixel_diff", "rel_comp_diff", "gap_recall", "fp_per_gap_px", "fp_apart_per_gap_px", "betti0_error", "false_joins", "cldice", "length_err", "tips_err", "hull_err")
    for level, g in summary.groupby("level", sort=False):
        lines += [f"## {level} level", "", "| method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for _, r in g.iterrows():
            cells = []
            for c in cols:
                p = r.get(f"{c}_p_vs_best", np.nan)
                star = "*" if isinstance(p, float) and p < 0.05 else ""
                cells.append(f"{r[f'{c}_mean']:.4f} ({r[f'{c}_sd']:.4f}){star}")
            name = f"**{r['method']}**" if r["best"] else r["method"]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def figure_grid(shown: dict, level: str, methods: tuple[str, ...], *, crop: int = 384) -> np.ndarray:
    """(rows, cols, 3) uint8: per sample, input | each method | truth, coloured by component (paper Fig. 6).

    Columns are labelled with the method names, rows with the sample ids, and a legend
    says what the colours mean. Whole images are cropped to the ``crop`` x ``crop``
    window with the most gap pixels.
    """
    from PIL import Image, ImageDraw

    from rootrepair.traits.qc import component_colours

    data = shown[level]
    names = ["input (gappy)", *methods, "truth"]
    label_w, head_h, foot_h, sep = 180, 28, 26, 4
    rows, heights = [], []
    for k, s in enumerate(data["samples"]):
        window = _window(s.gaps & s.truth, crop)
        panels = [s.gappy] + [data[m][k] for m in methods] + [s.truth]
        tiles = []
        for p in panels:
            part = p[window]
            labels = ndi.label(part, structure=np.ones((3, 3), bool))[0]
            tiles.append(component_colours(labels))
            tiles.append(np.full((part.shape[0], sep, 3), 90, np.uint8))
        heights.append(tiles[0].shape[0])
        panel_w = tiles[0].shape[1]
        rows.append(np.concatenate(tiles[:-1], axis=1))
        rows.append(np.full((sep, rows[-1].shape[1], 3), 90, np.uint8))
    grid = np.concatenate(rows[:-1], axis=0)
    img = Image.new("RGB", (grid.shape[1] + label_w, grid.shape[0] + head_h + foot_h), (255, 255, 255))
    img.paste(Image.fromarray(grid), (label_w, head_h))
    draw = ImageDraw.Draw(img)
    for j, name in enumerate(names):
        draw.text((label_w + j * (panel_w + sep) + 4, 6), name, fill=(0, 0, 0), font_size=15)
    y = head_h
    for s, h in zip(data["samples"], heights):
        draw.text((4, y + 4), s.name, fill=(0, 0, 0), font_size=13)
        y += h + sep
    draw.text((label_w, grid.shape[0] + head_h + 5),
              f"{level} level: each connected component in its own colour (fewer colours = fewer pieces); "
              "soil white", fill=(60, 60, 60), font_size=13)
    return np.asarray(img)


def _window(weights: np.ndarray, crop: int) -> tuple[slice, slice]:
    h, w = weights.shape
    if h <= crop and w <= crop:
        return slice(0, h), slice(0, w)
    from scipy.ndimage import uniform_filter

    dens = uniform_filter(weights.astype(np.float32), size=min(crop, h, w), mode="constant")
    r, c = np.unravel_index(np.argmax(dens), dens.shape)
    top = int(np.clip(r - crop // 2, 0, max(h - crop, 0)))
    left = int(np.clip(c - crop // 2, 0, max(w - crop, 0)))
    return slice(top, top + crop), slice(left, left + crop)


def write_results(out_dir: Path, per_sample: pd.DataFrame, summary: pd.DataFrame, shown, cfg: EvalConfig) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        rio.write_csv(out_dir / "per_sample.csv", per_sample),
        rio.write_csv(out_dir / "summary.csv", summary),
        rio.atomic_write(out_dir / "summary.md", lambda tmp: tmp.write_text(summary_markdown(summary, cfg))),
    ]
    settings = pd.DataFrame({"setting": list(dataclasses.asdict(cfg)), "value": [str(v) for v in dataclasses.asdict(cfg).values()]})
    written.append(rio.write_excel(out_dir / "evaluation.xlsx", summary=summary, per_sample=per_sample, settings=settings))
    for level in shown:
        written.append(rio.write_image(out_dir / f"examples_{level}.png", figure_grid(shown, level, cfg.methods)))
    return written

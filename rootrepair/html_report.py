"""A season report people look at: one HTML page with plots and pictures, opened from disk.

``write_html_report`` writes ``NAME.html`` and a folder ``NAME-report/`` beside it with
the plots, per-image thumbnails and full-size pictures (linked, so a page for 200 images
stays small). No server, no network: the page uses no script or style from elsewhere.
Library code: no typer, no rich, no torch; matplotlib draws the plots (Agg backend).
"""
from __future__ import annotations

import datetime as _dt
import html
import math
import re
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from rootrepair import __version__
from rootrepair import io as rio
from rootrepair.pixels import foreground_box
from rootrepair.report import TraitReport

KEY_TRAITS = ("total_length", "tip_count", "components", "branch_point_count", "convex_hull_area", "network_area")
THUMB_PX = 220  # thumbnail width
FULL_MAX_PX = 1400  # the full picture's longest side


def _trait_column(columns, prefix: str) -> str | None:
    for c in columns:
        if c == prefix or c.startswith(prefix + "_"):
            return c
    return None


def _shrink(img: np.ndarray, longest: int) -> np.ndarray:
    """Down-sample by max-pooling, so a 1-px root stays visible in a thumbnail."""
    f = max(1, math.ceil(max(img.shape[:2]) / longest))
    if f == 1:
        return img
    h, w = img.shape[0] // f * f, img.shape[1] // f * f
    img = img[:h, :w]
    return img.reshape(h // f, f, w // f, f, *img.shape[2:]).max(axis=(1, 3))


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _rgb(mask: np.ndarray) -> np.ndarray:
    return np.where(mask[..., None], np.uint8(255), np.uint8(0)).repeat(3, axis=2)


def _overlay(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    img = _rgb(before)
    img[after & ~before] = (230, 25, 25)
    img[before & ~after] = (40, 120, 255)
    return img


def _plots(comp: pd.DataFrame, traits: list[str], has_expert: bool, out: Path) -> list[tuple[str, Path]]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for trait in traits:
        g = comp[comp["trait"] == trait]
        if not len(g):
            continue
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), dpi=90)
        ax, ba = axes
        if has_expert:
            ref = g["expert"].to_numpy(float)
            series = [("before", "#888888"), ("after", "#d62728")] if "before" in g else [("after", "#d62728")]
            for name, colour in series:
                v = g[name].to_numpy(float)
                ax.scatter(ref, v, s=18, c=colour, label=f"{name} repair", alpha=0.8)
                ba.scatter((v + ref) / 2, v - ref, s=18, c=colour, label=f"{name}: mean {np.nanmean(v - ref):+.3g}", alpha=0.8)
                ba.axhline(np.nanmean(v - ref), color=colour, lw=1, ls="--")
            ax.set_xlabel(f"expert {trait}")
            ax.set_ylabel(trait)
            ba.set_xlabel("mean of measured and expert")
            ba.set_ylabel("measured - expert")
            ba.set_title("Bland-Altman: error before and after")
        else:
            ref = g["before"].to_numpy(float)
            v = g["after"].to_numpy(float)
            ax.scatter(ref, v, s=18, c="#d62728")
            ax.set_xlabel(f"{trait} before repair")
            ax.set_ylabel(f"{trait} after repair")
            ba.scatter((v + ref) / 2, v - ref, s=18, c="#d62728", label=f"mean change {np.nanmean(v - ref):+.3g}")
            ba.axhline(np.nanmean(v - ref), color="#d62728", lw=1, ls="--")
            ba.set_xlabel("mean of before and after")
            ba.set_ylabel("after - before")
            ba.set_title("change made by the repair")
        lo = np.nanmin([np.nanmin(ref), np.nanmin(ax.collections[0].get_offsets()[:, 1])])
        hi = np.nanmax([np.nanmax(ref), np.nanmax(ax.collections[-1].get_offsets()[:, 1])])
        ax.plot([lo, hi], [lo, hi], color="black", lw=1, label="identity")
        ax.set_title(trait)
        ax.legend(fontsize=8)
        ba.axhline(0, color="black", lw=0.8)
        ba.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"plot_{trait}.png"
        rio.atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)
        written.append((trait, path))
    return written


def page_inputs(report: TraitReport, measured: dict, folder: str | Path) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The page's images (image key -> {source: mask file}) and its header.

    ``measured``: source name -> ``FolderTraits``. The header names the folders, and, where
    ``folder`` was written by ``rootrepair inpaint``, the model, its hash and the decoder.
    """
    import json

    from rootrepair.io import MANIFEST_JSON

    single = len(measured) == 1
    files: dict[str, dict[str, str]] = {}
    # from the report's table: its images are named as they were matched (case aside)
    for key, source, path in report.traits[["image", "source", "file"]].itertuples(index=False):
        files.setdefault(key, {})["measured" if single else source] = path
    if not single:  # only images measured in every set are compared and shown
        files = {k: v for k, v in files.items() if len(v) == len(measured)}
    header = {"measured folder": str(Path(folder).resolve())}
    for source, ft in measured.items():
        if source != "after":
            header[f"{source} folder"] = str(Path(ft.root).resolve())
    manifest = Path(folder) / MANIFEST_JSON
    if manifest.is_file():
        try:
            data = json.loads(manifest.read_text())
            decode = data.get("settings", {}).get("decode", {})
            header["model"] = f"{data.get('model')} (sha256 {str(data.get('model_sha256'))[:12]}...)"
            header["decoder"] = ", ".join(f"{k}={v}" for k, v in decode.items()) or "threshold (older manifest)"
            ran = ", ".join(str(data[k]) for k in ("runtime", "precision") if data.get(k))  # older manifests lack them
            header["repaired"] = (f"{data.get('started', '?')} with {data.get('software', '?')} on {data.get('device', '?')}"
                                  + (f" ({ran})" if ran else ""))
        except (ValueError, AttributeError):
            pass
    for _, row in report.settings.iterrows():
        if not str(row["setting"]).startswith("formula"):
            header.setdefault(str(row["setting"]), str(row["value"]))
    return files, header


def write_html_report(
    report: TraitReport,
    html_path: str | Path,
    *,
    files: dict[str, dict[str, str]],
    header: dict[str, str],
    qc_dir: str | Path | None = None,
    foreground: str = "auto",
) -> Path:
    """Write the season's HTML page and its pictures beside it.

    Parameters
    ----------
    report : TraitReport
        From ``rootrepair.report.build_report``.
    html_path : path
        ``NAME.html``; pictures go to ``NAME-report/``.
    files : dict
        image key -> {source ("before", "after", "expert", "measured"): mask file}.
    header : dict
        Folders, model, decoder, hashes, settings: shown at the top.
    qc_dir : path, optional
        Where ``--qc`` wrote its pictures; linked from each image.
    """
    html_path = Path(html_path)
    assets = html_path.with_name(f"{html_path.stem}-report")
    assets.mkdir(parents=True, exist_ok=True)
    comp = report.comparison
    has_expert = comp is not None and "expert" in comp
    has_before = comp is not None and "before" in comp
    summary = report.summary

    # ---- plots
    plot_html = []
    if comp is not None:
        traits = [t for t in (_trait_column(comp["trait"].unique(), k) for k in KEY_TRAITS) if t]
        for trait, path in _plots(comp, traits, has_expert, assets):
            row = summary[summary["trait"] == trait]
            nums = ""
            if len(row):
                r = row.iloc[0]
                bits = []
                for col, label in (("error_before_pct_mean", "mean error before"), ("error_after_pct_mean", "mean error after"),
                                   ("closer_share", "share closer"), ("ttest_p", "paired t-test p"), ("wilcoxon_p", "Wilcoxon p")):
                    if col in r and pd.notna(r[col]):
                        v = r[col]
                        bits.append(f"{label}: {v:.3g}" + ("%" if col.endswith("pct_mean") else ""))
                nums = " · ".join(bits)
            plot_html.append(f'<figure><img src="{assets.name}/{path.name}" alt="{html.escape(trait)}">'
                             f"<figcaption>{html.escape(nums)}</figcaption></figure>")

    # ---- per image, worst first
    length = _trait_column(report.traits.columns, "total_length")
    order = sorted(files)
    why = ""
    if comp is not None and length:
        g = comp[comp["trait"] == length].set_index("image")
        col = "error_after_pct" if has_expert else "change_after_pct" if has_before else None
        if col:
            score = g[col].abs().reindex(order).fillna(-1)
            order = list(score.sort_values(ascending=False).index)
            why = "largest error left by the repair first (total length vs the expert)" if has_expert else "largest change in total length first"
    cards = []
    for n, key in enumerate(order):
        src = files[key]
        # the pictures' own names: plain characters only (a name with '#', '?', '"' or bytes
        # that are not UTF-8 would break the page's links), numbered so two names never meet
        safe = f"{n:04d}_" + re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:60]
        masks = {}
        for name in ("before", "after", "expert", "measured"):
            if name in src:
                try:
                    masks[name] = rio.read_mask(src[name], foreground=foreground)[0]
                except Exception:  # a file that vanished since it was measured: the card says so
                    masks[name] = None
        panels, titles = [], []
        after = masks.get("after", masks.get("measured"))
        before = masks.get("before")
        if before is not None and after is not None and before.shape == after.shape:
            panels += [_rgb(before), _overlay(before, after)]
            titles += ["before", "after (added red)"]
        elif after is not None:
            panels.append(_rgb(after))
            titles.append("measured")
        if masks.get("expert") is not None:
            panels.append(_rgb(masks["expert"]))
            titles.append("expert")
        if not panels:
            continue
        # the roots, not the empty soil around them: crop every panel to their common box
        fg = np.zeros(panels[0].shape[:2], bool)
        for p in panels:
            if p.shape[:2] == fg.shape:
                fg |= p.any(axis=2)
        box = foreground_box(fg, 10)
        if box is not None and all(p.shape[:2] == fg.shape for p in panels):
            panels = [p[box] for p in panels]
        h = max(p.shape[0] for p in panels)
        full = np.concatenate([np.pad(p, ((0, h - p.shape[0]), (0, 8), (0, 0)), constant_values=90) for p in panels], axis=1)
        rio.write_image(assets / f"full_{safe}.png", _shrink(full, FULL_MAX_PX))
        thumbs = "".join(
            f'<div class="panel"><div class="t">{t}</div><img src="{assets.name}/thumb_{safe}_{i}.png" alt="{t}"></div>'
            for i, t in enumerate(titles)
        )
        for i, p in enumerate(panels):
            rio.write_image(assets / f"thumb_{safe}_{i}.png", _shrink(p, THUMB_PX * 2))
        facts = []
        if comp is not None:
            g = comp[comp["image"] == key]
            for k in KEY_TRAITS:
                t = _trait_column(g["trait"].unique(), k)
                if not t:
                    continue
                r = g[g["trait"] == t].iloc[0]
                vals = " → ".join(_num(r[c]) for c in ("before", "after") if c in r and pd.notna(r[c]))
                if "expert" in r and pd.notna(r["expert"]):
                    vals += f" (expert {_num(r['expert'])})"
                facts.append(f"<tr><td>{html.escape(t)}</td><td>{html.escape(vals)}</td></tr>")
        else:
            row = report.traits[report.traits["image"] == key]
            for k in KEY_TRAITS:
                t = _trait_column(row.columns, k)
                if t and len(row):
                    facts.append(f"<tr><td>{html.escape(t)}</td><td>{_num(row.iloc[0][t])}</td></tr>")
        qc = ""
        if qc_dir is not None:
            for sub in ("after", "measured", ""):
                p = Path(qc_dir) / sub / f"{key}.qc.png"
                if p.is_file():
                    href = quote(Path(_relative(p, html_path.parent)).as_posix(), errors="surrogateescape")
                    qc = f' · <a href="{html.escape(href)}" target="_blank">QC picture</a>'
                    break
        cards.append(
            f'<section class="card"><h3>{html.escape(key)}</h3>'
            f'<a href="{assets.name}/full_{safe}.png" target="_blank" title="open the full picture">{thumbs}</a>'
            f'<table>{"".join(facts)}</table><p class="links"><a href="{assets.name}/full_{safe}.png" target="_blank">full picture</a>{qc}</p></section>'
        )

    head_rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in header.items())
    page = _PAGE.format(
        title=html.escape(header.get("measured folder", "rootrepair report")),
        version=html.escape(__version__),
        date=_dt.datetime.now().isoformat(timespec="minutes"),
        header=head_rows,
        plots="".join(plot_html) or "<p>No comparison: run with --compare or on a folder written by rootrepair inpaint.</p>",
        why=html.escape(why or "in file order"),
        n=len(cards),
        cards="".join(cards),
    )
    return rio.atomic_write(html_path, lambda tmp: tmp.write_text(rio.storable(page), encoding="utf-8"))


def _relative(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(start).resolve())


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rootrepair report: {title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.5em; margin-bottom: 0.2em; }}
table.head th {{ text-align: left; padding-right: 1em; font-weight: 600; vertical-align: top; }}
table.head td {{ font-family: monospace; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ margin: 0; }} figure img {{ max-width: 810px; width: 100%; }}
figcaption {{ font-size: 0.9em; color: #444; }}
.cards {{ display: flex; flex-direction: column; gap: 1em; }}
.card {{ border: 1px solid #ccc; border-radius: 6px; padding: 0.6em 1em; }}
.card h3 {{ margin: 0.2em 0; font-size: 1.05em; }}
.card a {{ text-decoration: none; }}
.panel {{ display: inline-block; margin-right: 6px; vertical-align: top; }}
.panel img {{ width: {thumb}px; background: #000; image-rendering: pixelated; }}
.panel .t {{ font-size: 0.8em; color: #555; }}
.card table {{ font-size: 0.9em; margin-top: 0.4em; }} .card td {{ padding-right: 1.2em; }}
.links {{ font-size: 0.9em; margin: 0.3em 0; }}
</style></head>
<body data-images="0" data-failed="0" data-errors="0">
<h1>rootrepair report</h1>
<p>rootrepair {version}, written {date}.</p>
<table class="head">{header}</table>
<h2>Traits</h2>
<div class="plots">{plots}</div>
<h2>Images ({n}), {why}</h2>
<p>Click the pictures for the full size. Added pixels are red, pixels the repair removed (replace mode) blue.</p>
<div class="cards">{cards}</div>
<script>
// for the page's own test: how many pictures loaded, failed, and whether any script error happened
window.addEventListener("error", function () {{
  document.body.dataset.errors = String(Number(document.body.dataset.errors) + 1);
}});
window.addEventListener("load", function () {{
  var imgs = Array.prototype.slice.call(document.images);
  document.body.dataset.images = String(imgs.length);
  document.body.dataset.failed = String(imgs.filter(function (i) {{ return !(i.complete && i.naturalWidth > 0); }}).length);
}});
</script>
</body></html>
""".replace("{thumb}", str(THUMB_PX))

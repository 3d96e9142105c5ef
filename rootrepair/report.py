"""Measure traits over folders and assemble the breeders' spreadsheet.

The library half of ``rootrepair traits``: no typer, no rich, no torch. Progress is
reported through a callback so the CLI can draw a bar.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import platform
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rootrepair import __version__
from rootrepair import io as rio
from rootrepair.errors import MaskReadError, RootRepairError
from rootrepair.io import MANIFEST_JSON
from rootrepair.traits.compare import FORMULAS, compare_traits, summarise_comparison
from rootrepair.traits.measure import TraitSettings, analyse_skeleton, traits_from_analysis


Progress = Callable[[str], None]


@dataclasses.dataclass
class FolderTraits:
    """Traits of every readable mask in a folder, and what went wrong with the rest."""

    root: Path
    table: pd.DataFrame  # index: image key; columns: file + traits
    failures: list[tuple[str, str]]  # (path, reason)
    skipped: list[str]  # files that are not images
    shapes: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)  # image key -> (rows, cols)


def masks_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """Images under a folder; a repaired folder's overlays, QC pictures and report pictures are left out."""
    return rio.list_images(folder)


def measure_folder(
    folder: str | Path,
    settings: TraitSettings,
    *,
    foreground: str = "auto",
    max_pixels: int = rio.MAX_PIXELS,
    qc_dir: str | Path | None = None,
    on_image: Progress | None = None,
    on_start: Callable[[int], None] | None = None,
    only: list[str] | dict[str, str] | None = None,
    workers: int = 1,
) -> FolderTraits:
    """Measure the traits of every mask under ``folder`` (a folder or one file).

    A file that cannot be read is recorded in ``failures`` and the rest go on.
    ``only``: relative paths to measure (the others are left out), e.g. the inputs a
    manifest says were repaired; a dict also gives each the name it is matched by.
    ``qc_dir``: write one QC picture per mask there (mirroring sub-folders).
    ``workers`` > 1: that many processes measure masks side by side; the table, the
    failures and the warnings are the same, in the same order, as with one.
    """
    folder = Path(folder)
    rio.check_foreground(foreground)
    if workers < 1:
        raise RootRepairError(f"--workers must be >= 1, got {workers}")
    images, skipped = masks_in(folder)
    if only is not None:
        wanted = set(only)
        images = [p for p in images if p.relative_to(folder).as_posix() in wanted]
    if on_start:
        on_start(len(images))
    rows, keys, failures, shapes = [], [], [], {}
    key_of = rio.image_keys(list(images), folder)
    if isinstance(only, dict):
        key_of.update({p: only[p.relative_to(folder).as_posix()] for p in images})
    jobs = [(path, settings, foreground, max_pixels, None if qc_dir is None else Path(qc_dir) / f"{key_of[path]}.qc.png")
            for path in images]
    for path, (traits, shape, problems, shown) in zip(images, _each_measured(jobs, workers)):
        for category, message in shown:  # shown here, where the caller's warning display is
            warnings.warn(message, category, stacklevel=2)
        failures += [(str(path), reason) for reason in problems]
        if traits is not None:
            rows.append({"file": str(path), **traits})
            keys.append(key_of[path])
            shapes[key_of[path]] = shape
        if on_image:
            on_image(str(path))
    table = pd.DataFrame(rows, index=pd.Index(keys, name="image"))
    return FolderTraits(folder, table, failures, [str(p) for p in skipped], shapes)


def _each_measured(jobs: list[tuple], workers: int):
    """``_measure_one`` of each job, in the jobs' order: here, or in ``workers`` processes."""
    if workers == 1 or len(jobs) < 2:
        yield from (_measure_one(*job) for job in jobs)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    # spawn: the same start on every system, and never a fork of a process holding threads
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=mp.get_context("spawn")) as pool:
        try:
            yield from pool.map(_measure_one, *zip(*jobs))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: no more masks started
            raise


def _measure_one(path: Path, settings: TraitSettings, foreground: str, max_pixels: int, qc_file: Path | None):
    """One mask's traits (None when it failed), its shape, what went wrong (the reasons) and
    the warnings its reading gave ((category, message), for the caller to show)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            mask, _ = rio.read_mask(path, foreground=foreground, max_pixels=max_pixels)
        except MaskReadError as exc:
            return None, None, [str(exc)], _shown(caught)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty masks are reported in the table
            a = analyse_skeleton(mask, settings)
            traits = traits_from_analysis(a, settings, _quiet=True)
    except Exception as exc:  # noqa: BLE001 - one odd mask must not stop a folder
        return None, None, [f"{path}: cannot be measured ({type(exc).__name__}: {exc})"], _shown(caught)
    problems = []
    if qc_file is not None:
        from rootrepair.traits.qc import draw_qc

        try:
            rio.write_image(qc_file, draw_qc(a))
        except OSError as exc:  # its traits stand; the picture is reported missing
            problems.append(f"{path}: measured, but its QC picture cannot be written ({exc.strerror or exc})")
    return traits, tuple(mask.shape), problems, _shown(caught)


def _shown(caught) -> list[tuple[type, str]]:
    return [(w.category, str(w.message)) for w in caught]


def before_folder_from_manifest(folder: Path) -> tuple[Path, dict[str, str]] | None:
    """The input folder named by a ``rootrepair inpaint`` manifest, and the inputs it repaired,
    each with the name its repair goes by (``plant.jpg`` beside ``plant.png`` was written as
    ``plant_jpg.png``: its input is compared with that, not left unmatched)."""
    found = _manifests(folder)
    if not found:
        return None
    root, repaired = None, {}
    for manifest in found:
        try:
            data = json.loads(manifest.read_text())
            root = root or Path(data["input"])
            for e in data.get("files", []):
                if e.get("status") == "ok":
                    out = e.get("output") or e["input_rel"]
                    repaired[e["input_rel"]] = Path(out).with_suffix("").as_posix()
        except (ValueError, KeyError, TypeError) as exc:
            raise RootRepairError(f"{manifest}: not a rootrepair manifest ({exc})") from None
    return root, dict(sorted(repaired.items()))


def _manifests(folder: Path) -> list[Path]:
    """``manifest.json`` first, then shard manifests, of a folder written by ``rootrepair inpaint``."""
    main = folder / MANIFEST_JSON
    return ([main] if main.is_file() else []) + sorted(folder.glob("manifest-shard-*.json"))


@dataclasses.dataclass
class TraitReport:
    traits: pd.DataFrame  # long: image, source, file, traits...
    comparison: pd.DataFrame | None
    summary: pd.DataFrame
    settings: pd.DataFrame
    unmatched: dict[str, list[str]]  # source -> image keys without a partner
    size_mismatch: dict[str, str] = dataclasses.field(default_factory=dict)  # image key -> why it was not compared
    renamed: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)  # source -> {its name: the name matched}


def _trait_columns(t: FolderTraits) -> pd.DataFrame:
    return t.table.drop(columns=["file"])


def _named_as(after: FolderTraits, other: FolderTraits | None) -> tuple[FolderTraits | None, dict[str, str]]:
    """``other`` with each image that has no partner of its own name in ``after`` renamed to
    the one image there whose name differs from it only

    1. in case or in how its accents are encoded (``PLANT_01.TIF`` is matched with
       ``plant_01.png``, as on Windows and macOS; a name macOS wrote with decomposed accents
       with the same name composed), or else
    2. in its folders (an expert's flat ``plant_01.png`` with ``plot3/plant_01.png``);

    each only where the partner is the one such image on both sides; the rest are left as
    they are (and reported without a partner). Also returns the renaming."""
    import unicodedata

    if other is None:
        return None, {}

    def loose(name: str) -> str:
        return unicodedata.normalize("NFC", name).casefold()

    rename: dict[str, str] = {}
    free = set(after.table.index) - set(other.table.index)  # after's images still without a partner
    for key_of in (loose, lambda name: loose(name.rsplit("/", 1)[-1])):
        left = [k for k in other.table.index if k not in after.table.index and k not in rename]
        found = _unique_pairs(left, sorted(free), key_of)
        rename.update(found)
        free -= set(found.values())
    if not rename:
        return other, {}
    return dataclasses.replace(other, table=other.table.rename(index=rename),
                               shapes={rename.get(k, k): v for k, v in other.shapes.items()}), rename


def _unique_pairs(names: list[str], targets: list[str], key_of: Callable[[str], str]) -> dict[str, str]:
    """name -> target where the two share a key and no other name or target has it."""
    by_key: dict[str, tuple[list[str], list[str]]] = {}
    for n in names:
        by_key.setdefault(key_of(n), ([], []))[0].append(n)
    for t in targets:
        by_key.setdefault(key_of(t), ([], []))[1].append(t)
    return {ns[0]: ts[0] for ns, ts in by_key.values() if len(ns) == 1 and len(ts) == 1}


def build_report(
    after: FolderTraits,
    settings: TraitSettings,
    *,
    before: FolderTraits | None = None,
    expert: FolderTraits | None = None,
    extra_settings: dict[str, str] | None = None,
) -> TraitReport:
    """Assemble the tables of the spreadsheet from measured folders."""
    (before, before_renamed), (expert, expert_renamed) = (_named_as(after, ft) for ft in (before, expert))
    renamed = {name: r for name, r in (("before", before_renamed), ("expert", expert_renamed)) if r}
    sources = {"after": after, "before": before, "expert": expert}
    if before is None and expert is None:
        sources = {"measured": after}
    parts = []
    for name, ft in sources.items():
        if ft is not None and len(ft.table):
            parts.append(ft.table.assign(source=name).reset_index())
    traits = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["image", "source", "file"])
    traits = traits[["image", "source", "file"] + [c for c in traits.columns if c not in ("image", "source", "file")]]

    unmatched: dict[str, list[str]] = {}
    mismatch: dict[str, str] = {}
    comparison = None
    if before is not None or expert is not None:
        all_keys = set(after.table.index)
        for ft in (before, expert):
            if ft is not None:
                all_keys &= set(ft.table.index)
        # masks of different sizes are not the same plant at the same scale: never compared
        for name, ft in (("before", before), ("expert", expert)):
            for key in sorted(all_keys) if ft is not None else ():
                a, b = after.shapes.get(key), ft.shapes.get(key)
                if a is not None and b is not None and a != b:
                    mismatch[key] = f"{name} mask is {b[1]} x {b[0]} px, the measured one {a[1]} x {a[0]} px"
        all_keys -= set(mismatch)
        for name, ft in sources.items():
            if ft is not None:
                missing = sorted(set(ft.table.index) - all_keys)
                if missing:
                    unmatched[name] = missing
        comparison = compare_traits(
            _trait_columns(after).loc[[k for k in after.table.index if k in all_keys]],
            before=_trait_columns(before).loc[[k for k in before.table.index if k in all_keys]] if before is not None else None,
            expert=_trait_columns(expert).loc[[k for k in expert.table.index if k in all_keys]] if expert is not None else None,
        )
        summary = summarise_comparison(comparison)
    else:
        t = _trait_columns(after)
        summary = pd.DataFrame(
            {"trait": t.columns, "n": len(t), "mean": t.mean().to_numpy(), "sd": t.std(ddof=1).to_numpy()}
        )

    info = {
        "software": f"rootrepair {__version__}",
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "units": settings.unit + ("" if settings.px_size_mm is None else f" ({settings.px_size_mm:g} mm per pixel)"),
        "min_component_px": settings.min_component_px,
        "holes filled": f"up to {settings.fill_holes_px} px" if settings.fill_holes_px else "none",
        "spur pruning": f"end branches shorter than max({settings.min_spur_px:g} px, {settings.spur_factor:g} x local diameter) removed",
        "diameter class edges": ", ".join(f"{e:g}" for e in settings.edges) + f" {settings.unit}",
        "after (measured) folder": str(after.root),
    }
    if before is not None:
        info["before folder"] = str(before.root)
    if expert is not None:
        info["expert folder"] = str(expert.root)
    info.update(extra_settings or {})
    for k, v in FORMULAS.items():
        info[f"formula: {k}"] = v
    settings_df = pd.DataFrame({"setting": list(info), "value": list(info.values())})
    return TraitReport(traits, comparison, summary, settings_df, unmatched, mismatch, renamed)


def report_path(output: Path | None, folder: Path) -> Path:
    """Where the spreadsheet goes: ``<FOLDER>-traits.xlsx`` beside FOLDER by default (``<name>-traits.xlsx``
    for one file, without its image suffix), that name inside ``output`` when ``output`` is a folder (an
    existing one, or a name without a suffix), else ``output``."""
    folder = Path(folder).resolve()
    name = f"{folder.stem if folder.is_file() else folder.name}-traits.xlsx"
    if output is None:
        return folder.parent / name
    output = Path(output)
    if output.is_dir() or not output.suffix:
        return output / name
    return output


def check_report_targets(xlsx: Path, *, comparison: bool, overwrite: bool = False, html: bool = False) -> list[Path]:
    """The files ``write_report`` (and the HTML page) will write; refuses a name not ending in .xlsx and, unless
    ``overwrite``, a file that is there already. Called before measuring so that a long run never ends in a refusal."""
    xlsx = Path(xlsx)
    if xlsx.suffix.lower() != ".xlsx":
        raise RootRepairError(f"{xlsx}: the output must end in .xlsx (CSV files are written beside it)")
    names = ["traits"] + (["comparison"] if comparison else []) + ["summary"]
    targets = [xlsx] + [xlsx.with_name(f"{xlsx.stem}-{name}.csv") for name in names]
    existing = [p for p in targets + ([xlsx.with_suffix(".html")] if html else []) if p.exists()]
    if existing and not overwrite:
        raise RootRepairError(f"{existing[0]} exists; pass --force to replace it, or -o to write elsewhere")
    return targets


def write_report(report: TraitReport, xlsx: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the XLSX and one CSV per table beside it (``<stem>-<table>.csv``)."""
    xlsx = Path(xlsx)
    targets = check_report_targets(xlsx, comparison=report.comparison is not None, overwrite=overwrite)
    tables = {"traits": report.traits}
    if report.comparison is not None:
        tables["comparison"] = report.comparison
    tables["summary"] = report.summary
    tables["settings"] = report.settings
    xlsx.parent.mkdir(parents=True, exist_ok=True)
    rio.write_excel(xlsx, **tables)
    for name, frame in tables.items():
        if name != "settings":
            rio.write_csv(xlsx.with_name(f"{xlsx.stem}-{name}.csv"), frame)
    return targets

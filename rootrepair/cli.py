"""The ``rootrepair`` command line. Thin: parse options, call one library function, show progress.

Heavy imports (torch, pandas, numba) happen inside the commands, so ``rootrepair --help`` and
``rootrepair traits`` start fast; ``traits`` never imports torch or numba.
"""
from __future__ import annotations

import atexit
import gc
import time
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from rootrepair import __version__
from rootrepair.errors import RootRepairError
from rootrepair.io import MAX_PIXELS

app = typer.Typer(
    name="rootrepair",
    help="Repair gaps in root segmentation masks and measure root traits.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)
out = Console()
# Python's last garbage collection walks every object torch and scipy created: ~0.15 s of a
# 2.5 s one-mask run. Everything is written and closed by then, so skip the walk.
atexit.register(gc.freeze)


def _version(value: bool) -> None:
    if value:
        print(f"rootrepair {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Repair gaps in root segmentation masks and measure root traits."""


def _safe(text) -> str:
    """Text for the terminal: rich markup escaped, control characters (from file names) shown as \\xNN."""
    text = "".join(c if c.isprintable() or c == " " else f"\\x{ord(c):02x}" for c in str(text))
    return escape(text)


class _Terminated(KeyboardInterrupt):
    """SIGTERM (what SLURM sends at a time limit), handled like Ctrl-C."""


def _on_sigterm(signum, frame):
    raise _Terminated()


@contextmanager
def _errors():
    """Project errors become one red line and exit code 1; warnings become yellow lines.

    SIGTERM is handled like Ctrl-C: temporary files are removed, finished files kept.
    """
    import signal

    def _show(message, category, filename, lineno, file=None, line=None):
        console.print(f"[yellow]warning:[/] {_safe(message)}", highlight=False)

    old = warnings.showwarning
    warnings.showwarning = _show
    try:
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: leave signals alone
        old_term = None
    try:
        yield
    except RootRepairError as exc:
        console.print(f"[bold red]error:[/] {_safe(exc)}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:  # a folder that cannot be written, a disk that is full
        where = f"{exc.filename}: " if exc.filename else ""
        console.print(f"[bold red]error:[/] {_safe(where + (exc.strerror or str(exc)))}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        what = "terminated" if isinstance(exc, _Terminated) else "interrupted"
        console.print(f"[bold red]{what}[/]: finished files are kept, no half-written file is left")
        raise typer.Exit(143 if isinstance(exc, _Terminated) else 130) from None
    finally:
        warnings.showwarning = old
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


class _Bars(Progress):
    """A ``Progress`` that, when an error ends it, leaves out the bars that never started
    (an empty "0/?" line above a refusal of the options or the folder says nothing)."""

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            for t in self.tasks:
                if t.total is None and not t.completed:
                    self.update(t.id, visible=False)
            if not any(t.visible for t in self.tasks):
                self.live.transient = True  # not even an empty line
        return super().__exit__(exc_type, exc, tb)


def _progress() -> Progress:
    return _Bars(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )


def _report_failures(failures: list[tuple[str, str]], skipped: list[str]) -> None:
    for path in skipped:
        console.print(f"[dim]note: {_safe(path)}: not an image, skipped[/]", highlight=False)
    for _, reason in failures:
        console.print(f"[red]failed:[/] {_safe(reason)}", highlight=False)


def _pixel_size(dpi: Optional[float], px_size_mm: Optional[float]) -> Optional[float]:
    if dpi is not None and px_size_mm is not None:
        raise RootRepairError("give --dpi or --px-size-mm, not both")
    if dpi is not None:
        from rootrepair.traits import dpi_to_mm

        return dpi_to_mm(dpi)
    return px_size_mm


# ------------------------------------------------------------------------------ traits


@app.command("traits")
def traits_cli(
    folder: Path = typer.Argument(Path("."), help="Masks to measure (a folder, walked recursively, or one file)."),
    compare: Optional[Path] = typer.Option(None, "--compare", help="Expert-corrected masks, matched by relative path and file stem."),
    before: Optional[Path] = typer.Option(None, "--before", help="The masks before repair (read from the inpaint manifest when not given)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="XLSX to write (CSV files go beside it), or a folder to write <FOLDER>-traits.xlsx into. Default: <FOLDER>-traits.xlsx beside FOLDER"),
    qc: Optional[Path] = typer.Option(None, "--qc", help="Write one QC picture per mask to this folder."),
    dpi: Optional[float] = typer.Option(None, "--dpi", help="Scan resolution; reports mm instead of pixels."),
    px_size_mm: Optional[float] = typer.Option(None, "--px-size-mm", help="Pixel size in mm; reports mm instead of pixels."),
    min_component_px: int = typer.Option(0, "--min-component-px", help="Ignore specks smaller than this many pixels."),
    fill_holes: int = typer.Option(0, "--fill-holes", help="Fill holes of at most this many pixels before measuring (pits in thick roots of a segmentation; 0: off)."),
    spur_factor: float = typer.Option(2.0, "--spur-factor", help="Prune end branches shorter than this x the local root diameter."),
    min_spur_px: float = typer.Option(6.0, "--min-spur-px", help="... and always prune end branches shorter than this (px)."),
    foreground: str = typer.Option("auto", "--foreground", help="Which pixels are roots: white, black or auto (the minority class)."),
    max_pixels: int = typer.Option(MAX_PIXELS, "--max-pixels", help="Refuse images with more pixels than this (before decoding them)."),
    force: bool = typer.Option(False, "--force", help="Replace an existing output file."),
    html_report: bool = typer.Option(False, "--report", help="Also write an HTML page with plots and pictures beside the spreadsheet."),
    workers: int = typer.Option(1, "--workers", help="Processes measuring masks side by side (the same results). On 2 cores, 2 workers took 0.62x the time of one on a folder of 96 masks."),
) -> None:
    """Measure root traits of every mask in FOLDER; compare with masks before repair and with an expert.

    Example: rootrepair traits season2-repaired/ --compare expert/ -o season2.xlsx
    """
    with _errors():
        from rootrepair.report import (
            before_folder_from_manifest, build_report, check_report_targets, measure_folder, report_path, write_report,
        )
        from rootrepair.traits import TraitSettings

        settings = TraitSettings(
            px_size_mm=_pixel_size(dpi, px_size_mm), min_component_px=min_component_px, spur_factor=spur_factor,
            min_spur_px=min_spur_px, fill_holes_px=fill_holes,
        )
        if not folder.exists():
            raise RootRepairError(f"{folder}: no such file or folder")
        if max_pixels < 1:
            raise RootRepairError(f"--max-pixels must be >= 1, got {max_pixels}")
        before_only = None
        if before is None and folder.is_dir():
            found = before_folder_from_manifest(folder)
            if found is not None and not Path(found[0]).exists():
                console.print(f"[yellow]warning:[/] the masks before repair are not at {_safe(found[0])} (the manifest's "
                              "input folder; moved or copied elsewhere?): measuring without them; pass --before FOLDER "
                              "to compare with them", highlight=False)
            elif found is not None:
                before, before_only = found
                console.print(f"masks before repair (from the manifest): {before}", highlight=False)
        if qc is not None:
            for src in (folder, before, compare):
                if src is not None and Path(src).is_dir() and (qc.resolve() == Path(src).resolve() or Path(src).resolve() in qc.resolve().parents):
                    raise RootRepairError(f"--qc {qc} is inside the measured folder {src}: the next run would measure "
                                          "the QC pictures; choose a folder outside it")
        output = report_path(output, folder)
        check_report_targets(output, comparison=before is not None or compare is not None, overwrite=force,
                             html=html_report)
        failures: list[tuple[str, str]] = []
        measured = {}
        for name, path in (("after", folder), ("before", before), ("expert", compare)):
            if path is None:
                continue
            label = {"after": "measuring", "before": "before repair", "expert": "expert"}[name]
            with _progress() as bar:
                task = bar.add_task(label, total=None, rate="")
                ft = measure_folder(
                    path,
                    settings,
                    foreground=foreground,
                    max_pixels=max_pixels,
                    qc_dir=(qc / name if (before or compare) else qc) if qc is not None else None,
                    on_start=lambda n: bar.update(task, total=n),
                    on_image=lambda p: bar.advance(task),
                    only=before_only if name == "before" else None,
                    workers=workers,
                )
            _report_failures(ft.failures, ft.skipped)
            failures += ft.failures
            if not len(ft.table):
                raise RootRepairError(f"{path}: no readable masks (PNG, TIFF, JPEG, BMP, GIF or WebP) found")
            measured[name] = ft
        report = build_report(measured["after"], settings, before=measured.get("before"), expert=measured.get("expert"))
        for key, why in report.size_mismatch.items():
            console.print(f"[yellow]not compared:[/] {_safe(key)}: {_safe(why)}", highlight=False)
        for source, renamed in report.renamed.items():
            pairs = [f"{_safe(theirs)} = {_safe(ours)}" for theirs, ours in sorted(renamed.items())]
            console.print(f"[dim]note: {len(pairs)} {source} image(s) matched by a name that differs in case, accents or "
                          f"folders: {', '.join(pairs[:5])}{' ...' if len(pairs) > 5 else ''}[/]", highlight=False)
        for source, keys in report.unmatched.items():
            console.print(
                f"[yellow]unmatched ({source}):[/] {len(keys)} image(s) without a partner: {', '.join(keys[:10])}"
                + (" ..." if len(keys) > 10 else ""),
                highlight=False,
            )
        written = write_report(report, output, overwrite=force)
        if html_report:
            written.append(_write_html(report, measured, output, folder, qc, foreground, force))
        _print_summary(report)
        console.print(f"wrote {', '.join(str(p) for p in written)}", highlight=False)
        if qc is not None:
            console.print(f"QC pictures in {qc}", highlight=False)
        if failures:
            console.print(f"[bold red]{len(failures)} file(s) failed[/]")
            raise typer.Exit(1)


def _write_html(report, measured, output: Path, folder: Path, qc, foreground: str, force: bool) -> Path:
    from rootrepair.html_report import page_inputs, write_html_report

    html_path = output.with_suffix(".html")  # checked by check_report_targets before measuring
    files, header = page_inputs(report, measured, folder)
    return write_html_report(report, html_path, files=files, header=header, qc_dir=qc, foreground=foreground)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def _print_summary(report) -> None:
    s = report.summary
    n = int(s["n"].max()) if len(s) else 0
    compared = "error_after_pct_mean" in s or "error_before_pct_mean" in s
    table = Table(title=f"summary: means over {n} images ({'err%: error vs the expert; ' if compared else ''}all traits in the spreadsheet)")
    cols = [c for c in ("trait", "mean", "sd", "before_mean", "after_mean", "expert_mean", "error_before_pct_mean", "error_after_pct_mean", "closer_share") if c in s]
    names = {"before_mean": "before", "after_mean": "after", "expert_mean": "expert", "error_before_pct_mean": "err%bef",
             "error_after_pct_mean": "err%aft", "closer_share": "closer"}
    # numbers are never cut: on a narrow terminal the trait's name wraps at its words instead
    for c in cols:
        table.add_column(names.get(c, c), justify="left" if c == "trait" else "right", no_wrap=c != "trait", overflow="fold")
    keep = ("components", "total_length", "tip_count", "convex_hull_area", "network_area", "branch_point_count")
    for _, row in s.iterrows():
        if not str(row["trait"]).startswith(keep):
            continue
        table.add_row(*[str(row[c]).replace("_", " ") if c == "trait" else str(row[c]) if c == "n" else _num(row[c]) for c in cols])
    out.print(table)


# ----------------------------------------------------------------------------- inpaint


def _parse_shard(shard: Optional[str]):
    if shard is None:
        return None
    try:
        i, n = (int(v) for v in shard.split("/"))
    except ValueError:
        raise RootRepairError(f"--shard must look like i/n (e.g. 0/8), got {shard!r}") from None
    return i, n


@app.command("inpaint")
def inpaint_cli(
    input_path: Path = typer.Argument(..., help="A mask file or a folder of masks (walked recursively)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Output folder (default <INPUT>-repaired beside INPUT; for one file d/a.png, d-repaired/)."),
    model: Optional[str] = typer.Option(None, "--model", help="Shipped model name or checkpoint .json path (default: the shipped model)."),
    mode: str = typer.Option("add", "--mode", help="add: keep every input pixel, add repaired ones; replace: the network's mask as is."),
    decode: str = typer.Option("topology", "--decode", help="topology: add only what joins pieces of the mask (default); threshold: every pixel above --threshold (the paper's rule)."),
    threshold: float = typer.Option(0.5, "--threshold", help="threshold decoder: foreground above this; topology: the probability a bridge must reach."),
    fragments: bool = typer.Option(True, "--fragments/--no-fragments", help="Let links end on pieces under 10 px (fragments left inside a gap) and bridges take them in. --no-fragments for masks full of specks: no speck is ever joined, fewer gaps closed."),
    overlays: bool = typer.Option(True, "--overlays/--no-overlays", help="Write overlays: input in white, added pixels in red."),
    force: bool = typer.Option(False, "--force", help="Repair again files the manifest says are done; write into a folder holding other files or another folder's repairs."),
    shard: Optional[str] = typer.Option(None, "--shard", help="i/n: process every n-th file starting at i (0-based), for SLURM arrays."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    threads: int = typer.Option(0, "--threads", help="CPU threads for the network (0: the runtime's default)."),
    workers: int = typer.Option(1, "--workers", help="Processes repairing files side by side on a CPU, each with its share of the threads. On 2 cores with torch, 2 workers were 10-15% faster on a folder of 20 masks; with OpenVINO, slower."),
    precision: str = typer.Option("auto", "--precision", help="auto (bf16 on CUDA and on CPUs with native bf16, else fp32), fp32 or bf16."),
    runtime: str = typer.Option("auto", "--runtime", help="What runs the network: auto (OpenVINO on a CPU when installed, else torch), torch or openvino."),
    tile: int = typer.Option(256, "--tile", help="Tile side in px (multiple of 16)."),
    overlap: int = typer.Option(64, "--overlap", help="Tile overlap in px (multiple of 16)."),
    batch: int = typer.Option(8, "--batch", help="Tiles per forward pass."),
    foreground: str = typer.Option("auto", "--foreground", help="Which pixels are roots: white, black or auto."),
    max_pixels: int = typer.Option(MAX_PIXELS, "--max-pixels", help="Refuse images with more pixels than this (before decoding them)."),
) -> None:
    """Repair gaps in every mask of INPUT; write repaired masks, overlays and a manifest.

    Inputs are never modified. Re-running skips finished files.
    Example: rootrepair inpaint season2/   (writes season2-repaired/)
    """
    with _errors():
        from rootrepair.inpaint import NOT_REPAIRED, InpaintSettings, check_workers, default_output, repair_folder

        settings = InpaintSettings(tile=tile, overlap=overlap, batch=batch, decoder=decode, threshold=threshold, mode=mode, fragments=fragments,
                                   device=device, threads=threads, precision=precision, foreground=foreground, runtime=runtime,
                                   max_pixels=max_pixels)
        check_workers(workers)  # before the progress bar starts
        out_dir = output or default_output(input_path)
        t0 = time.perf_counter()
        with _progress() as bar:
            task = bar.add_task("repairing", total=None, rate="")
            state = {"n": 0}

            def on_image(entry):
                state["n"] += 1
                rate = state["n"] / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, advance=1, rate=f"{rate:.2f} img/s")
                if entry.get("status") == "failed":
                    bar.console.print(f"[red]failed:[/] {_safe(entry['error'])}", highlight=False)
                for note in entry.get("note", "").split("; "):
                    if note.startswith(NOT_REPAIRED):  # written unchanged (a mask of noise), and why
                        bar.console.print(f"[yellow]warning:[/] {_safe(entry['input_rel'])}: {_safe(note)}", highlight=False)

            result = repair_folder(input_path, out_dir, model_name=model, settings=settings, overlays=overlays,
                                   force=force, shard=_parse_shard(shard), workers=workers,
                                   on_start=lambda n: bar.update(task, total=n), on_image=on_image)
        table = Table(title=f"repaired into {out_dir}")
        for c in ("repaired", "skipped (done before)", "failed", "pixels added", "components before -> after"):
            table.add_column(c, justify="right")
        added = sum(e["pixels_added"] for e in result.done)
        before = sum(e["components_before"] for e in result.done)
        after = sum(e["components_after"] for e in result.done)
        table.add_row(str(len(result.done)), str(len(result.skipped)), str(len(result.failed)), str(added), f"{before} -> {after}")
        out.print(table)
        console.print(f"manifest: {_safe(result.manifest)}", highlight=False)
        _say_how_it_ran(result.manifest, (time.perf_counter() - t0) / len(result.done) if result.done else None)
        if result.not_images:
            console.print(f"[dim]note: {len(result.not_images)} file(s) are not images and were skipped "
                          f"(listed in the manifest), e.g. {_safe(result.not_images[0])}[/]", highlight=False)
        if result.failed:
            raise typer.Exit(1)


FAST_CPU_MODEL = "rootrepair-unet-gpu-compact"  # the smaller model the README's Speed section offers for CPUs
SLOW_PER_MASK_S = 5.0  # seconds per repaired mask from which a run on a CPU in fp32 gets the tip below


def _say_how_it_ran(manifest: Path, seconds_per_mask: float | None = None) -> None:
    """One dim line: the model, device, runtime and precision the manifest records (bf16 or fp32
    is chosen by the CPU under --precision auto, and decides much of the speed). When the
    default model ran on a CPU in fp32 at ``SLOW_PER_MASK_S`` or more per mask, a second line
    names the faster model (a CPU without bf16: 2 masks of 2500 x 1000 took 21 s with the
    default model and 7 s with it, on the AVX2-only EPYC of this project's benchmarks)."""
    import json

    from rootrepair.models.checkpoint import DEFAULT_MODEL

    try:
        m = json.loads(Path(manifest).read_text())
    except (OSError, ValueError):
        return
    console.print(f"[dim]model {_safe(m.get('model'))} on {_safe(m.get('device'))}: {_safe(m.get('runtime'))}, "
                  f"{_safe(m.get('precision', '?'))}[/]", highlight=False)
    if (seconds_per_mask is not None and seconds_per_mask >= SLOW_PER_MASK_S and m.get("model") == DEFAULT_MODEL
            and str(m.get("device", "")).startswith("cpu") and m.get("precision") == "fp32"):
        console.print(f"[dim]tip: {seconds_per_mask:.0f} s per mask; on a CPU without bf16, --model {FAST_CPU_MODEL} "
                      "repairs about 3 times faster, a little less accurately (README: Speed)[/]", highlight=False)


@app.command("models")
def models_cli() -> None:
    """List the shipped models with their cards."""
    with _errors():
        from rootrepair.models.checkpoint import DEFAULT_MODEL, SHIPPED_DIR, shipped_models

        table = Table(title=f"shipped models ({SHIPPED_DIR})", caption="steps: of the last training run; the card has the whole history")
        # what --model takes, and what tells the models apart; the rest is in the cards
        for c in ("name", "variant", "width", "steps", "default"):
            table.add_column(c, no_wrap=True)
        for m in shipped_models():
            table.add_row(m["id"], m.get("variant", "?"), str(m.get("base", "?")), str(m.get("steps_done", "?")),
                          "yes" if m["id"] == DEFAULT_MODEL else "")
        out.print(table)
        for card in sorted(SHIPPED_DIR.glob("*.md")):
            console.print(f"model card: {card}", highlight=False)


# ------------------------------------------------------------------------------- synth


@app.command("synth")
def synth_cli(
    out_dir: Path = typer.Argument(..., help="New folder to write clean/, gappy/, gapmask/, truth/ and truth.csv into."),
    n: int = typer.Option(10, "-n", help="Number of root systems."),
    seed: int = typer.Option(0, "--seed", help="Seed of the first image; image i uses seed + i."),
    preset: str = typer.Option("chickpea", "--preset", help="Root architecture: chickpea (taproot) or fibrous."),
    gaps: str = typer.Option("mix", "--gaps", help="square, brush, blob, mix, occlusion, or none."),
    height: Optional[int] = typer.Option(None, "--height", help="Mask height in px (preset default 2500)."),
    width: Optional[int] = typer.Option(None, "--width", help="Mask width in px (preset default 1000)."),
    root_hairs: bool = typer.Option(False, "--root-hairs", help="Add 1-px root hairs near the tips."),
    jitter: float = typer.Option(0.0, "--jitter", help="Segmentation noise: probability of flipping a boundary pixel."),
    noise: float = typer.Option(0.0, "--noise", help="Segmentation-like noise: rough edges, blobs, holes, hairs, specks (0 none, 1 typical)."),
    specks: int = typer.Option(0, "--specks", help="Segmentation noise: number of small specks."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
) -> None:
    """Make synthetic root masks with known ground truth (length, apices) and artificial gaps.

    Example: rootrepair synth synthetic/ -n 50 --gaps occlusion --seed 1000
    """
    with _errors():
        from rootrepair.gaps import GAP_KINDS
        from rootrepair.synth import get_preset, write_dataset

        if n < 1:
            raise RootRepairError(f"-n must be at least 1, got {n}")
        if gaps != "none" and gaps not in GAP_KINDS:
            raise RootRepairError(f"unknown --gaps {gaps!r}; choose one of {', '.join(GAP_KINDS)}, none")
        overrides = {k: v for k, v in dict(height=height, width=width).items() if v is not None}
        cfg = get_preset(preset, root_hairs=root_hairs, jitter=jitter, specks=specks, noise=noise, **overrides)
        with _progress() as bar:
            task = bar.add_task("synthesising", total=n, rate="")
            write_dataset(out_dir, n, cfg=cfg, seed=seed, gaps=None if gaps == "none" else gaps,
                          on_image=lambda _: bar.advance(task), overwrite=force)
        console.print(f"wrote {n} root systems to {out_dir}", highlight=False)


# ------------------------------------------------------------------------------- train


@app.command("train")
def train_cli(
    variant: str = typer.Option("gan-gl", "--variant", help="cnn, unet, gan-l, gan-g, gan-gl or gan-gl-m."),
    out_dir: Path = typer.Option(None, "--out", help="Run folder (default runs/<variant>)."),
    steps: int = typer.Option(2000, "--steps"),
    base: int = typer.Option(16, "--base", help="Network width: 16 compact (CPU), 64 paper size."),
    batch: int = typer.Option(8, "--batch", help="Patches per step."),
    patches_per_mask: int = typer.Option(0, "--patches-per-mask", help="Patches cut from each large mask (0: the whole batch from one)."),
    workers: int = typer.Option(0, "--workers", help="Processes making the training data (0: none; a GPU needs several)."),
    refresh_every: int = typer.Option(1, "--refresh-every", help="Draws between fresh root systems in the pool (1: every draw)."),
    max_minutes: float = typer.Option(0.0, "--max-minutes", help="Stop after this many minutes, checkpointed for --resume (0: run all steps)."),
    patch: int = typer.Option(256, "--patch", help="Patch side in px (paper: 256)."),
    large: str = typer.Option("1024x512", "--large", help="Large mask the patches are cut from, ROWSxCOLS."),
    gaps: str = typer.Option("mix", "--gaps", help="Gap kind for training: square, brush, blob, mix, occlusion; several comma-separated."),
    preset: str = typer.Option("chickpea", "--preset", help="Synthetic root preset; several comma-separated (e.g. chickpea,fibrous)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Folder of complete masks instead of synthetic roots."),
    noise: float = typer.Option(0.0, "--noise", help="Segmentation-like noise on the complete masks, each at a level drawn from 0 to this (0 none, 1 typical)."),
    real: Optional[Path] = typer.Option(None, "--real", help="Folder of real masks with inherent gaps (gan-gl-m)."),
    scale: str = typer.Option("1,1", "--scale", help="Enlarge the training masks by a factor drawn from LOW,HIGH (wider roots), e.g. 1,2."),
    apex_gap_rate: float = typer.Option(1.0, "--apex-gap-rate", help="At most this share of root apices inside a gap (real occlusion: about 0.03; 1: no limit)."),
    topology_loss: str = typer.Option("none", "--topology-loss", help="none or skeleton-recall (a loss that pays for thin roots' connectivity)."),
    lambda_topology: float = typer.Option(1000.0, "--lambda-topology"),
    lambda_gap: float = typer.Option(0.0, "--lambda-gap", help="Extra cross-entropy at the gap pixels only, on the scale of --lambda-ce (0: off); raises gap recall."),
    local_input: str = typer.Option("soft", "--local-input", help="What D_L sees of G's output: soft (probabilities) or straight-through (binarised)."),
    instance_noise: float = typer.Option(0.0, "--instance-noise", help="Noise sd on discriminator inputs, falling to 0 at the last step."),
    init: Optional[str] = typer.Option(None, "--init", help="Start the generator from these weights (shipped model name or generator .json)."),
    teacher: Optional[str] = typer.Option(None, "--teacher", help="Also learn this trained generator's probabilities (shipped model name or generator .json): distils it into a smaller --base."),
    lambda_teacher: float = typer.Option(1000.0, "--lambda-teacher", help="Weight of the teacher term, on the scale of --lambda-ce."),
    cpu_bf16: bool = typer.Option(False, "--cpu-bf16", help="bfloat16 autocast on a CPU (faster only on CPUs with bf16 instructions)."),
    lambda_ce: float = typer.Option(1000.0, "--lambda-ce"),
    lambda_local: float = typer.Option(1.0, "--lambda-local"),
    lambda_global: float = typer.Option(1.0, "--lambda-global"),
    lr_g: float = typer.Option(2e-4, "--lr-g"),
    lr_d: float = typer.Option(4e-4, "--lr-d"),
    lr_schedule: str = typer.Option("constant", "--lr-schedule", help="constant, or cosine: the learning rates fall to 0 by --steps or by --max-minutes, whichever comes first."),
    ema: float = typer.Option(0.0, "--ema", help="Keep a moving average of the generator's weights with this decay (e.g. 0.999; 0 none); it is what the run exports."),
    samples: int = typer.Option(4, "--samples", help="Bernoulli samples per step for REINFORCE (their mean is the baseline)."),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    threads: int = typer.Option(0, "--threads", help="CPU threads (0: torch default)."),
    checkpoint_every: int = typer.Option(100, "--checkpoint-every"),
    val_every: int = typer.Option(100, "--val-every"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
) -> None:
    """Train a gap-repair network (Algorithm 1 of the paper) on synthetic roots or your masks.

    Example: rootrepair train --variant gan-gl --steps 5000 --device cuda --out runs/gan-gl
    """
    with _errors():
        from rootrepair.train import TrainConfig, train

        try:
            rows, cols = (int(v) for v in large.lower().split("x"))
        except ValueError:
            raise RootRepairError(f"--large must look like 1024x512, got {large!r}") from None
        try:
            scale_range = tuple(float(v) for v in scale.split(","))
            if len(scale_range) != 2:
                raise ValueError
        except ValueError:
            raise RootRepairError(f"--scale must look like 1,2, got {scale!r}") from None
        cfg = TrainConfig(
            scale=scale_range, apex_gap_rate=apex_gap_rate, topology_loss=topology_loss, lambda_topology=lambda_topology, lambda_gap=lambda_gap,
            local_input=local_input, instance_noise=instance_noise, init=init,
            teacher=teacher, lambda_teacher=lambda_teacher, cpu_bf16=cpu_bf16,
            variant=variant, out=str(out_dir or Path("runs") / variant), steps=steps, base=base, batch=batch,
            patches_per_mask=patches_per_mask, workers=workers, refresh_every=refresh_every, max_minutes=max_minutes,
            patch=patch, large=(rows, cols), gaps=gaps, preset=preset, data=str(data) if data else None, noise=noise,
            real=str(real) if real else None, lambda_ce=lambda_ce, lambda_local=lambda_local,
            lambda_global=lambda_global, lr_g=lr_g, lr_d=lr_d, lr_schedule=lr_schedule, ema=ema, reinforce_samples=samples, seed=seed,
            device=device, threads=threads, checkpoint_every=checkpoint_every, val_every=val_every,
        )
        with _progress() as bar:
            task = bar.add_task(f"training {variant}", total=steps, rate="")

            def on_step(step, logs):
                shown = " ".join(f"{k}={logs[k]:.4g}" for k in ("ce", "teacher", "topology", "local", "global", "reward", "val_gap_recall") if k in logs)
                bar.update(task, completed=step, rate=f"{logs['s_per_step']:.2f}s/step {shown}")

            path = train(cfg, resume=resume, on_step=on_step)
        console.print(f"generator written to {path}", highlight=False)


# ---------------------------------------------------------------------------- evaluate


@app.command("evaluate")
def evaluate_cli(
    methods: str = typer.Option("none,closing,link,gan-gl+threshold,gan-gl+topology", "--methods", help="Comma-separated: none, closing, link, and networks (variant, shipped name or checkpoint .json), each optionally +topology or +threshold (the decoder)."),
    data: str = typer.Option("synthetic", "--data", help="'synthetic' (held-out seeds) or a folder of complete masks."),
    gaps: str = typer.Option("mix", "--gaps", help="square, brush, blob, mix or occlusion."),
    level: str = typer.Option("patch,image", "--level", help="patch, image, or both (comma-separated)."),
    n: int = typer.Option(20, "-n", help="Samples per level."),
    seed: int = typer.Option(2_000_000, "--seed", help="First seed (training never uses seeds >= 1,000,000)."),
    preset: str = typer.Option("chickpea", "--preset"),
    closing_radius: int = typer.Option(3, "--closing-radius"),
    noise: float = typer.Option(0.0, "--noise", help="Segmentation-like noise on the complete masks before gaps (0 none, 1 typical)."),
    device: str = typer.Option("auto", "--device"),
    output: Path = typer.Option(Path("evaluation"), "-o", "--output", help="Folder for the tables and figures."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that already holds results."),
) -> None:
    """Compare repair methods on gappy masks whose complete version is known; blind metrics.

    Example: rootrepair evaluate --methods none,closing,link,gan-gl -n 50 -o results/
    """
    with _errors():
        from rootrepair.evaluate import EvalConfig, evaluate, summarise, write_results

        if (output / "summary.md").exists() and not force:
            raise RootRepairError(f"{output} already holds results; pass --force or choose another -o")
        cfg = EvalConfig(methods=tuple(m.strip() for m in methods.split(",") if m.strip()), data=data, preset=preset,
                         gaps=gaps, levels=tuple(v.strip() for v in level.split(",")), n=n, seed=seed,
                         closing_radius=closing_radius, device=device, noise=noise)
        for lv in cfg.levels:
            if lv not in ("patch", "image"):
                raise RootRepairError(f"unknown --level {lv!r}; choose patch, image or both")
        with _progress() as bar:
            task = bar.add_task("evaluating", total=n * len(cfg.levels), rate="")
            per_sample, shown = evaluate(cfg, on_sample=lambda _: bar.advance(task))
        summary = summarise(per_sample, cfg.methods)
        written = write_results(output, per_sample, summary, shown, cfg)
        table = Table(title="mean over samples")
        for c in ("level", "method", "rel_comp_diff", "rel_pixel_diff", "gap_recall", "fp_per_gap_px", "mse"):
            table.add_column(c, justify="left" if c in ("level", "method") else "right")
        for _, r in summary.iterrows():
            table.add_row(r["level"], r["method"] + (" (best)" if r["best"] else ""),
                          *[f"{r[f'{c}_mean']:.4f}" for c in ("rel_comp_diff", "rel_pixel_diff", "gap_recall", "fp_per_gap_px", "mse")])
        out.print(table)
        console.print("wrote " + ", ".join(str(p) for p in written), highlight=False)

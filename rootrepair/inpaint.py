"""Whole-image inference: tiles -> G -> blend, and repairing a folder of masks safely.

Library code: no typer, no rich. Progress reaches the CLI through callbacks.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from rootrepair import __version__
from rootrepair import io as rio
from rootrepair.errors import RootRepairError
from rootrepair.decode import DECODERS, DecodeSettings, TooMuchToRepair, decode
from rootrepair.metrics import components
from rootrepair.models.device import resolve_device
from rootrepair.models.networks import InferenceUNet, UNetGenerator, foreground_probability
from rootrepair.models.openvino_runtime import RUNTIMES, OpenVinoGenerator, resolve_runtime
from rootrepair.tiling import bands, padded, taper_window

MODES = ("add", "replace")
PRECISIONS = ("auto", "fp32", "bf16")


def use_bf16(device: torch.device, precision: str) -> bool:
    """Whether the network runs in bfloat16: on CUDA by default, on a CPU only where it has native bf16.

    Measured on a 2-core CPU with AVX512-BF16/AMX: about 1.7x faster than fp32, with
    probabilities within 0.05 of fp32 (``tests/test_inpaint.py``); without native
    support bf16 is emulated and slower, so ``auto`` keeps fp32 there.
    """
    if precision != "auto":
        return precision == "bf16"
    if device.type == "cuda":
        return True
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


MAX_TILE = 2048  # px: the paper-size network's features of a 2048^2 tile take GBs


@dataclasses.dataclass(frozen=True)
class InpaintSettings:
    """How masks are repaired; recorded in the manifest."""

    tile: int = 256  # tile side (px), a multiple of 16
    overlap: int = 64  # overlap between tiles (px), a multiple of 16
    skip_margin: int | None = None  # a tile whose foreground lies only this close to its edge is not run (None: overlap / 2; 0: off)
    batch: int = 8  # tiles per forward pass
    decoder: str = "topology"  # topology: add only what joins pieces; threshold: the paper's rule
    threshold: float = 0.5  # threshold decoder: foreground above this; topology: a bridge's seed level
    mode: str = "add"  # add: keep every input pixel and add the repaired ones; replace: also drop pixels below threshold
    fragments: bool = True  # topology: links may end on pieces under 10 px (fragments inside a gap, but also specks)
    device: str = "auto"
    threads: int = 0  # CPU threads (0: torch default)
    precision: str = "auto"  # auto: bfloat16 on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX), else fp32; or fp32, bf16
    foreground: str = "auto"
    runtime: str = "auto"  # auto: OpenVINO on a CPU when installed (the [openvino] extra), else torch; or torch, openvino
    max_pixels: int = rio.MAX_PIXELS  # larger images are refused before decoding

    def __post_init__(self):
        if self.tile % 16 or self.overlap % 16 or not 0 <= self.overlap < self.tile // 2 + 1:
            raise RootRepairError(f"tile ({self.tile}) and overlap ({self.overlap}) must be multiples of 16, overlap <= tile / 2")
        if not 32 <= self.tile <= MAX_TILE:
            raise RootRepairError(f"--tile must be from 32 to {MAX_TILE} px, got {self.tile} (a tile is held in memory whole, "
                                  "with the network's features)")
        if self.skip_margin is not None and not 0 <= self.skip_margin <= self.overlap // 2:
            raise RootRepairError(f"skip_margin must be from 0 to half the overlap ({self.overlap // 2}), got {self.skip_margin}")
        if not 0.0 < self.threshold < 1.0:
            raise RootRepairError(f"threshold must be between 0 and 1, got {self.threshold}")
        if self.mode not in MODES:
            raise RootRepairError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.precision not in PRECISIONS:
            raise RootRepairError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.runtime not in RUNTIMES:
            raise RootRepairError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")
        if self.decoder not in DECODERS:
            raise RootRepairError(f"decoder must be one of {', '.join(DECODERS)}, got {self.decoder!r}")
        if self.batch < 1:
            raise RootRepairError(f"--batch must be >= 1, got {self.batch}")
        if self.threads < 0:
            raise RootRepairError(f"--threads must be >= 0 (0: torch's default), got {self.threads}")
        if self.max_pixels < 1:
            raise RootRepairError(f"--max-pixels must be >= 1, got {self.max_pixels}")

    @property
    def margin(self) -> int:
        """Tiles whose foreground lies only within this many px of their edge are not run.

        Such foreground lies in the inner part of a neighbouring tile (the margin is at
        most half the overlap), which sees it with more context. On 64 synthetic masks
        (both presets, occlusion and mix, clean and noisy) half the overlap saved 15% of
        the network's time for the same metrics; on 62 real masks 24%, 37 of 213,760
        repaired pixels differing (`benchmarks/results/tile_skip_quality.md`).
        """
        return self.overlap // 2 if self.skip_margin is None else self.skip_margin

    @property
    def decode(self) -> DecodeSettings:
        """The decoder's full settings (thresholds, radius, angle): recorded in the manifest."""
        low = min(DecodeSettings.low, self.threshold)
        return DecodeSettings(decoder=self.decoder, threshold=self.threshold, low=low, link_small_pieces=self.fragments)

    def record(self) -> dict:
        """Everything that decides a repaired mask, for the manifest (and for deciding a re-run)."""
        d = dataclasses.asdict(self)
        d["skip_margin"] = self.margin
        d["decode"] = dataclasses.asdict(self.decode)
        return d


def prepare_model(model: torch.nn.Module, settings: InpaintSettings, *, threads: int | None = None) -> tuple[torch.nn.Module, torch.device]:
    """The model ready to run on the settings' device and runtime; ``threads`` overrides ``settings.threads``
    (a worker process's share of the CPU, which is not part of the settings a manifest records)."""
    device = resolve_device(settings.device)
    threads = settings.threads if threads is None else threads
    if threads and device.type == "cpu":
        torch.set_num_threads(threads)
    if resolve_runtime(settings.runtime, device) == "openvino":
        # 1.7x faster than torch on a 2-core CPU (benchmarks/results/backends_cpu.md)
        return OpenVinoGenerator(model, bf16=use_bf16(device, settings.precision), threads=threads), device
    if isinstance(model, UNetGenerator) and device.type == "cpu" and use_bf16(device, settings.precision):
        # sub-pixel upsampling convs: 18% faster in bf16 on a CPU, as close to fp32 (in fp32: 9% slower, so not
        # there); benchmarks/results/inference_form_cpu.md
        model = InferenceUNet(model.float().eval())
    # channels-last is faster on both: measured 3.0 s -> 2.1 s per 2500 x 1000 mask on 2 CPU cores
    model = model.to(device).eval().to(memory_format=torch.channels_last)
    return model, device


def runtime_of(model) -> str:
    """What runs the network: torch or openvino (for the manifest)."""
    return "openvino" if isinstance(model, OpenVinoGenerator) else "torch"


@torch.inference_mode()
def _predict_tiles(model, tiles: np.ndarray, device, bf16: bool) -> np.ndarray:
    if isinstance(model, OpenVinoGenerator):
        return model(tiles)
    x = torch.from_numpy(tiles.astype(np.float32)[:, None]).to(device).contiguous(memory_format=torch.channels_last)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
        logits = model(x)
    return foreground_probability(logits)[:, 0].float().cpu().numpy()


def predict_rows(
    model: torch.nn.Module,
    mask: np.ndarray,
    settings: InpaintSettings = InpaintSettings(),
    *,
    device: torch.device | None = None,
    emit: Callable[[int, np.ndarray], None],
    on_tiles: Callable[[int], None] | None = None,
) -> None:
    """Run G over a mask of any size in overlapping tiles; hand back finished rows.

    ``emit(row, prob)`` receives consecutive blocks of rows of the foreground
    probability, (k, W) float32, top to bottom; only one band of tiles is held in
    memory. Tiles without foreground are not run (their probability is 0): a blind
    inpainting network has nothing to connect there.
    """
    if device is None:
        device = torch.device("cpu") if isinstance(model, OpenVinoGenerator) else next(model.parameters()).device
    tile, overlap = settings.tile, settings.overlap
    stride = tile - overlap
    src = padded(np.asarray(mask, bool), tile, overlap)
    W = src.shape[1]
    h, w = mask.shape
    window = taper_window(tile, overlap)
    acc = np.zeros((tile, W), np.float32)
    wsum = np.zeros((tile, W), np.float32)
    done = 0  # rows of the padded image already handed back
    band_list = list(bands(mask.shape, tile, overlap))
    bf16 = use_bf16(device, settings.precision)

    def _emit(rows_padded_end: int) -> None:
        nonlocal done
        lo, hi = max(done, overlap), min(rows_padded_end, overlap + h)
        if hi > lo:
            a = acc[lo - band_start : hi - band_start, overlap : overlap + w]
            s = wsum[lo - band_start : hi - band_start, overlap : overlap + w]
            emit(lo - overlap, np.divide(a, s, out=np.zeros_like(a), where=s > 0))
        done = rows_padded_end

    m = settings.margin
    for k, (band_start, origins) in enumerate(band_list):
        todo, weighed = [], []
        for r, c in origins:
            t = src[r : r + tile, c : c + tile]
            if not t.any():
                weighed.append(c)  # nothing to connect: its probability is 0, and it counts as such
            elif not m or t[m:-m, m:-m].any():
                todo.append((r, c))
                weighed.append(c)
            # else: its foreground lies within m px of its edge, i.e. in the inner part of a
            # neighbour (m <= overlap / 2), which sees it with more context; this tile neither
            # runs nor weighs in
        for c in weighed:
            wsum[:, c : c + tile] += window
        for i in range(0, len(todo), settings.batch):
            chunk = todo[i : i + settings.batch]
            probs = _predict_tiles(model, np.stack([src[r : r + tile, c : c + tile] for r, c in chunk]), device, bf16)
            for (_, c), p in zip(chunk, probs):
                acc[:, c : c + tile] += p * window
        if on_tiles:
            on_tiles(len(origins))
        last = k == len(band_list) - 1
        _emit(band_start + (tile if last else stride))
        if not last:
            # rows [stride, tile) of this band are the first rows of the next one
            acc[: tile - stride] = acc[stride:]
            wsum[: tile - stride] = wsum[stride:]
            acc[tile - stride :] = 0
            wsum[tile - stride :] = 0


def predict_probability(model, mask: np.ndarray, settings: InpaintSettings = InpaintSettings(), *, device=None) -> np.ndarray:
    """(M, N) float32 foreground probability of a whole mask, tiled and blended."""
    out = np.zeros(mask.shape, np.float32)

    def emit(row, block):
        out[row : row + len(block)] = block

    predict_rows(model, mask, settings, device=device, emit=emit)
    return out


def repair_mask(model, mask: np.ndarray, settings: InpaintSettings = InpaintSettings(), *, device=None) -> np.ndarray:
    """The repaired boolean mask: the network's probability decoded (``rootrepair.decode``).

    With ``mode="add"`` the input's foreground is never deleted.
    """
    mask = np.asarray(mask, bool)
    prob = predict_probability(model, mask, settings, device=device)
    return decode(mask, prob, settings.decode, mode=settings.mode)


def overlay(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """(M, N, 3) uint8: the input in white on black, pixels the repair added in red (paper Fig. 1)."""
    img = np.zeros(before.shape + (3,), np.uint8)
    img[before] = 255
    img[after & ~before] = (230, 25, 25)
    removed = before & ~after
    img[removed] = (40, 120, 255)  # only in replace mode: pixels the network dropped, in blue
    return img


# ------------------------------------------------------------------ folders


@dataclasses.dataclass
class FolderResult:
    done: list[dict]
    skipped: list[dict]
    failed: list[dict]
    manifest: Path
    not_images: list[str] = dataclasses.field(default_factory=list)  # files skipped because they are not images


def default_output(input_path: Path) -> Path:
    """``<folder>-repaired`` beside an input folder; for one file, beside the file's folder.

    A single file ``d/a.png`` is repaired into ``d-repaired/`` as a folder would be, so the
    output never lands inside the folder that a later ``rootrepair inpaint d/`` reads.
    """
    folder = Path(input_path).resolve()
    if folder.is_file():
        folder = folder.parent
    return folder.parent / f"{folder.name}-repaired"


def output_names(rels: list[str]) -> dict[str, str]:
    """The output path (no suffix) of each input: its own, unless another input shares it.

    ``plant.png`` and ``plant.jpg`` would both become ``plant.png``; inputs whose paths
    differ only in the suffix keep it in the name instead (``plant_png``, ``plant_jpg``).
    """
    stems: dict[str, list[str]] = {}
    for rel in rels:
        stems.setdefault(Path(rel).with_suffix("").as_posix().lower(), []).append(rel)
    out = {}
    for group in stems.values():
        for rel in group:
            p = Path(rel)
            out[rel] = p.with_suffix("").as_posix() if len(group) == 1 else (p.parent / f"{p.stem}_{p.suffix[1:]}").as_posix()
    return out


class FolderLock:
    """A lock file in the output folder: two runs writing one manifest would lose entries.

    A lock left by a run that died (its process is gone on this host) is taken over.
    """

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import os
        import socket

        me = f"{os.getpid()} {socket.gethostname()}"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    pid, host = self.path.read_text().split()[:2]
                except (OSError, ValueError):
                    pid, host = "0", ""
                if host == socket.gethostname() and not _alive(int(pid)):
                    self.path.unlink(missing_ok=True)
                    continue
                raise RootRepairError(
                    f"another rootrepair run (process {pid} on {host or '?'}) is writing into {self.path.parent}; "
                    f"wait for it, use another -o, or delete {self.path.name} if no run is going on"
                ) from None
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            return self
        raise RootRepairError(f"cannot lock {self.path}")

    def __exit__(self, *exc):
        self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    import os

    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def select_shard(paths: list, shard: tuple[int, int] | None) -> list:
    """Every n-th file starting at i (0-based), for ``--shard i/n``."""
    if shard is None:
        return paths
    i, n = shard
    if not (n >= 1 and 0 <= i < n):
        raise RootRepairError(f"--shard i/n needs 0 <= i < n, got {i}/{n}")
    return paths[i::n]


def _manifest_name(shard) -> str:
    return rio.MANIFEST_JSON if shard is None else f"manifest-shard-{shard[0]}-of-{shard[1]}.json"


def _worker_manifest_name(shard, k: int, n: int) -> str:
    """A worker process's own manifest while a folder is repaired by ``n`` processes (removed at the end)."""
    return f"{Path(_manifest_name(shard)).stem}-worker-{k}-of-{n}.json"


def _check_output_is_ours(out_dir: Path, in_root: Path) -> None:
    """Refuse an output folder whose files a run could overwrite: one holding another input
    folder's repairs (per its manifests), or files but no rootrepair manifest at all."""
    if not out_dir.is_dir():
        return
    manifests = sorted(out_dir.glob("manifest*.json"))
    if not manifests:
        if any(not p.name.startswith(".") for p in out_dir.iterdir()):
            raise RootRepairError(f"output {out_dir} is not empty and holds no rootrepair manifest: files of the same name "
                                  "would be replaced; choose a new folder with -o, or pass --force")
        return
    others = set()
    for p in manifests:
        try:
            others.add(str(json.loads(p.read_text()).get("input")))
        except (ValueError, AttributeError, OSError):
            continue
    others.discard(str(in_root))
    if others:
        raise RootRepairError(f"output {out_dir} holds the repairs of another folder ({sorted(others)[0]}): files of the "
                              "same name would be replaced; choose another folder with -o, or pass --force")


def read_manifest_entries(out_dir: Path) -> dict[str, dict]:
    """Entries of the folder's manifest and of any shard manifests, by input relative path."""
    entries: dict[str, dict] = {}
    for p in sorted(out_dir.glob("manifest*.json")):
        try:
            for e in json.loads(p.read_text()).get("files", []):
                if e.get("status") == "ok":
                    entries[e["input_rel"]] = e
        except (ValueError, KeyError, TypeError):
            continue
    return entries


def write_manifest(out_dir: Path, name: str, header: dict, entries: list[dict]) -> Path:
    data = dict(header, files=entries)
    path = rio.atomic_write(out_dir / name, lambda tmp: tmp.write_text(json.dumps(data, indent=2)))
    rio.write_records_csv(path.with_suffix(".csv"), entries)
    return path


def _import_decoder() -> None:
    import skimage.draw  # noqa: F401
    import skimage.graph  # noqa: F401


def repair_folder(
    input_path: str | Path,
    output: str | Path | None = None,
    *,
    model_name: str | None = None,
    settings: InpaintSettings = InpaintSettings(),
    overlays: bool = True,
    force: bool = False,
    shard: tuple[int, int] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_image: Callable[[dict], None] | None = None,
    pipeline: bool = True,
    workers: int = 1,
) -> FolderResult:
    """Repair every mask under ``input_path`` into ``output`` (default ``<INPUT>-repaired``).

    Inputs are never modified; sub-folders are mirrored; each file is written atomically;
    a file already repaired with the same input and model (per the manifest) is skipped
    unless ``force``; a bad file is recorded and the rest go on. The manifest
    (JSON + CSV) is rewritten as files finish (at most every ``MANIFEST_EVERY_S`` seconds,
    and always at the end or on an interrupt), so an interrupted run loses nothing.

    ``workers`` > 1 repairs the files in that many processes side by side (CPU only), each
    with its share of the CPU's threads (unless ``settings.threads`` says otherwise); the
    files and the manifest are those of one process.
    """
    from rootrepair.models.checkpoint import load_generator

    input_path = Path(input_path)
    rio.check_foreground(settings.foreground)
    if not input_path.exists():
        raise RootRepairError(f"{input_path}: no such file or folder")
    out_dir = Path(output) if output is not None else default_output(input_path)
    if out_dir.exists() and not out_dir.is_dir():
        raise RootRepairError(f"output {out_dir} is a file; -o needs a folder")
    in_root = input_path.resolve() if input_path.is_dir() else input_path.resolve().parent
    out_res = out_dir.resolve()
    if out_res == in_root or (input_path.is_dir() and (in_root in out_res.parents or out_res in in_root.parents)):
        raise RootRepairError(f"output {out_dir} must be outside the input folder {input_path} (and not contain it)")
    if not force:
        _check_output_is_ours(out_dir, in_root)
    images, skipped_files = rio.list_images(input_path, skip_repaired=True)
    if not images:
        raise RootRepairError(f"{input_path}: no masks (PNG, TIFF, JPEG, BMP, GIF or WebP) found")
    base = input_path if input_path.is_dir() else input_path.parent
    # paths relative to the folder as walked: a link to a file elsewhere keeps its own name
    rels = [p.relative_to(base).as_posix() for p in images]
    names = output_names(rels)
    chosen = select_shard(list(zip(images, rels)), shard)
    workers = min(check_workers(workers), len(chosen))
    if workers > 1:
        if resolve_device(settings.device).type != "cpu":
            raise RootRepairError("--workers is for CPUs: on a GPU one process keeps it busy (use --workers 1)")

        def run() -> FolderResult:
            return _repair_in_processes(chosen, names, out_dir, mname, in_root, model_name, settings, overlays, force,
                                        shard, skipped_files, on_start, on_image, workers)
    else:
        if settings.decoder == "topology":
            # the decoder's scikit-image modules load while the first mask goes through the
            # network (torch's kernels release the GIL): ~0.1 s off a fresh one-mask run
            threading.Thread(target=_import_decoder, daemon=True).start()
        model, card = load_generator(model_name)
        model, device = prepare_model(model, settings)

        def run() -> FolderResult:
            return _repair_all(chosen, names, out_dir, mname, in_root, model, card, device, settings, overlays, force,
                               shard, skipped_files, on_start, on_image, pipeline)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RootRepairError(f"output {out_dir}: cannot be created ({exc.strerror})") from None
    mname = _manifest_name(shard)
    with FolderLock(out_dir / f".{Path(mname).stem}.lock"):
        return run()


def check_workers(workers: int) -> int:
    """``workers`` when it is a valid number of worker processes (>= 1); else a one-line error."""
    if workers < 1:
        raise RootRepairError(f"--workers must be >= 1, got {workers}")
    return workers


NOT_REPAIRED = "not repaired: "  # how a manifest note that a file was written unchanged begins


def _finish(mask, info, prob, sha, path, rel, out_rel, names, out_dir, card, settings, settings_key, overlays) -> tuple[dict, float]:
    """Decode one file's probability, write its repaired mask and overlay; its manifest fields and seconds."""
    t0 = time.perf_counter()
    notes = []
    try:
        repaired = decode(mask, prob, settings.decode, mode=settings.mode)
    except TooMuchToRepair as exc:  # a mask of noise: written unchanged, with the reason (the CLI shows it), and the batch goes on
        repaired = mask.copy()
        notes.append(f"{NOT_REPAIRED}{exc}")
    try:
        rio.write_mask(out_dir / out_rel, repaired, info)
        if overlays:
            rio.write_image(out_dir / rio.OVERLAY_DIR / Path(names[rel] + ".png"), overlay(mask, repaired))
    except OSError as exc:
        raise RootRepairError(f"{out_dir / out_rel}: cannot be written ({exc.strerror or exc})") from None
    if out_rel.suffix != path.suffix:
        notes.append(f"{path.suffix.lstrip('.').upper()} input written as PNG (lossless)")
    if Path(names[rel]).name != Path(rel).stem:
        notes.append(f"another input has the same name; written as {out_rel.name}")
    fields = dict(
        status="ok",
        input_sha256=sha,
        model=card["id"],
        model_sha256=card.get("sha256"),
        settings=settings_key,
        foreground=info.foreground,
        height=info.shape[0],
        width=info.shape[1],
        pixels_added=int((repaired & ~mask).sum()),
        pixels_removed=int((mask & ~repaired).sum()),
        components_before=components(mask),
        components_after=components(repaired),
        seconds=0.0,  # set by the caller: the network's time and this
        note="; ".join(notes),
    )
    return fields, time.perf_counter() - t0


MANIFEST_EVERY_S = 2.0  # the manifest is rewritten at most this often during a run (and at its end)


def _unforeseen(path, exc: Exception) -> RootRepairError:
    """A one-line failure for an error nobody foresaw (a bug, or memory running out on one huge file)."""
    return RootRepairError(f"{path}: could not be repaired ({type(exc).__name__}: {exc}); please report this")


def _manifest_header(in_root, out_dir, card, settings, device, runtime: str, shard) -> dict:
    return {
        "software": f"rootrepair {__version__}",
        "input": str(in_root),
        "output": str(out_dir.resolve()),
        "model": card["id"],
        "model_sha256": card.get("sha256"),
        "settings": settings.record(),
        "device": str(device),
        "runtime": runtime,
        # what --precision auto chose on this machine: bf16 and fp32 repairs differ in a few pixels
        "precision": "bf16" if use_bf16(torch.device(str(device)), settings.precision) else "fp32",
        "shard": list(shard) if shard else None,
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def _close_manifest(out_dir, mname, header, own: dict, failed: list, skipped_files, shard) -> None:
    """The last write of a run's manifest; a whole-folder run folds in the manifests of earlier shard runs."""
    if shard is None:
        own = {**read_manifest_entries(out_dir), **own}
    header["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
    header["skipped_not_images"] = [str(p) for p in skipped_files]
    write_manifest(out_dir, mname, header, list(own.values()) + failed)


def _repair_all(chosen, names, out_dir, mname, in_root, model, card, device, settings, overlays, force, shard,
                skipped_files, on_start, on_image, pipeline: bool = True, *, worker: bool = False) -> FolderResult:
    previous = {} if force else read_manifest_entries(out_dir)
    header = _manifest_header(in_root, out_dir, card, settings, device, runtime_of(model), shard)
    settings_key = json.dumps(header["settings"], sort_keys=True)  # a file is done only with the same settings
    own = {e["input_rel"]: e for e in previous.values()} if shard is None and not worker else {}
    result = FolderResult([], [], [], out_dir / mname, [str(p) for p in skipped_files])
    if on_start:
        on_start(len(chosen))
    pending: list = []  # the file whose decoding and writing runs while the next one is in the network
    saved = [time.monotonic(), True]  # when the manifest was last written; whether it holds every file recorded

    def save(now: bool = False) -> None:
        # at most every MANIFEST_EVERY_S seconds: rewriting a manifest of 10,000 entries after
        # each file took 0.4 s a file; a run stopped hard between two writes repairs those
        # few files again on resume, and loses none (every file is whole on disk)
        if now or time.monotonic() - saved[0] >= MANIFEST_EVERY_S:
            write_manifest(out_dir, mname, header, list(own.values()) + result.failed)
            saved[:] = [time.monotonic(), True]
        else:
            saved[1] = False

    def record(entry: dict, error: RootRepairError | None = None) -> None:
        """One file done or failed: into the result, the progress callback and the manifest."""
        if error is None:
            result.done.append(entry)
            own[entry["input_rel"]] = entry
        else:
            entry.update(status="failed", error=str(error))
            result.failed.append(entry)
        if on_image:
            on_image(entry)
        save()

    def collect() -> None:
        if not pending:
            return
        entry, future, net_seconds = pending.pop()
        try:
            finished, finish_seconds = future.result()
        except RootRepairError as exc:
            record(entry, exc)
            return
        except Exception as exc:  # noqa: BLE001 - an unforeseen error with one file must not stop the folder
            record(entry, _unforeseen(entry["input"], exc))
            return
        entry.update(finished)
        entry["seconds"] = round(net_seconds + finish_seconds, 3)
        record(entry)

    # one worker thread: decoding (mostly Python) and writing overlap the next file's
    # network pass (torch and OpenVINO release the GIL); outputs are those of a serial run
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rootrepair-finish") as pool:
        try:
            for path, rel in chosen:
                out_rel = Path(names[rel] + rio.output_suffix(path))
                entry = {"input_rel": rel, "input": str(Path(path).absolute()), "output": out_rel.as_posix()}
                t0 = time.perf_counter()
                try:
                    rio.check_file(Path(path))  # a broken link: say so, as traits does
                    try:
                        sha = rio.sha256_file(path)
                    except OSError as exc:
                        raise RootRepairError(f"{path}: cannot be read ({exc.strerror or exc})") from None
                    prev = previous.get(rel)
                    if (
                        prev
                        and prev.get("input_sha256") == sha
                        and prev.get("model_sha256") == card.get("sha256")
                        and prev.get("settings") == settings_key
                        and (out_dir / out_rel).is_file()
                    ):
                        collect()
                        result.skipped.append(prev)
                        own[rel] = prev
                        if on_image:
                            on_image(dict(prev, status="skipped"))
                        continue
                    mask, info = rio.read_mask(path, foreground=settings.foreground, max_pixels=settings.max_pixels)
                    prob = predict_probability(model, mask, settings, device=device)
                except RootRepairError as exc:
                    collect()
                    record(entry, exc)
                    continue
                except Exception as exc:  # noqa: BLE001 - an unforeseen error with one file must not stop the folder
                    collect()
                    record(entry, _unforeseen(path, exc))
                    continue
                net_seconds = time.perf_counter() - t0
                collect()  # the previous file, finished while this one was in the network
                future = pool.submit(_finish, mask, info, prob, sha, path, rel, out_rel, names, out_dir, card, settings, settings_key, overlays)
                pending.append((entry, future, net_seconds))
                if not pipeline:
                    collect()
        finally:
            collect()  # even when interrupted: the file being written is finished and recorded
            if not saved[1]:
                save(now=True)
    if not worker:
        _close_manifest(out_dir, mname, header, own, result.failed, skipped_files, shard)
    return result


# ------------------------------------------------------------------ worker processes

_QUEUE = None  # a worker process's way to report each file to the parent


def _worker_init(queue) -> None:
    global _QUEUE
    _QUEUE = queue

    def to_parent(message, category, filename, lineno, file=None, line=None):
        # a warning (a polarity guess) goes to the parent, which shows it as it shows its own
        queue.put({"warning": str(message), "category": category})

    warnings.showwarning = to_parent


def _worker_run(k, n, part, names, out_dir, in_root, model_name, settings, overlays, force, shard, threads) -> FolderResult:
    """One worker process: its files, its own manifest, each file reported as it is done."""
    from rootrepair.models.checkpoint import load_generator

    model, card = load_generator(model_name)
    model, device = prepare_model(model, settings, threads=threads)
    return _repair_all(part, names, out_dir, _worker_manifest_name(shard, k, n), in_root, model, card, device, settings,
                       overlays, force, shard, [], None, _QUEUE.put, worker=True)


def _repair_in_processes(chosen, names, out_dir, mname, in_root, model_name, settings, overlays, force, shard,
                         skipped_files, on_start, on_image, workers: int) -> FolderResult:
    """``_repair_all`` over ``workers`` processes, each taking every ``workers``-th file.

    Each worker writes its own manifest as it goes (an interrupted run loses nothing: the
    next run reads them); at the end their entries go into the one manifest, in the
    files' order, and the workers' manifests are removed.
    """
    import multiprocessing as mp
    import os
    import queue as queue_mod
    from concurrent.futures import ProcessPoolExecutor

    from rootrepair.models.checkpoint import load_generator

    _, card = load_generator(model_name)  # the card for the manifest; a bad name fails here, before any process starts
    threads = settings.threads or max(1, (os.cpu_count() or 1) // workers)
    header = _manifest_header(in_root, out_dir, card, settings, "cpu", resolve_runtime(settings.runtime, torch.device("cpu")), shard)
    header["workers"] = workers
    previous = {} if force else read_manifest_entries(out_dir)
    if on_start:
        on_start(len(chosen))
    ctx = mp.get_context("spawn")  # never fork a process that holds torch's threads
    reports = ctx.Queue()

    def drain(block: bool) -> None:
        while True:
            try:
                entry = reports.get(timeout=0.1) if block else reports.get_nowait()
            except queue_mod.Empty:
                return
            if "warning" in entry:
                warnings.warn(entry["warning"], entry["category"], stacklevel=2)
            elif on_image:
                on_image(entry)

    results: list[FolderResult] = []
    errors: list[BaseException] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init, initargs=(reports,)) as pool:
        futures = [pool.submit(_worker_run, k, workers, chosen[k::workers], names, out_dir, in_root, model_name,
                               settings, overlays, force, shard, threads) for k in range(workers)]
        while not all(f.done() for f in futures):
            drain(block=True)
        for f in futures:
            try:
                results.append(f.result())
            except BaseException as exc:  # noqa: BLE001 - reported after the other workers' files are recorded
                errors.append(exc)
    drain(block=False)
    done = {e["input_rel"]: e for r in results for e in r.done + r.skipped}
    failed = {e["input_rel"]: e for r in results for e in r.failed}
    own = {e["input_rel"]: e for e in previous.values()} if shard is None else {}
    for _, rel in chosen:
        if rel in done:
            own[rel] = done[rel]
    result = FolderResult([e for r in results for e in r.done], [e for r in results for e in r.skipped],
                          [failed[rel] for _, rel in chosen if rel in failed], out_dir / mname, [str(p) for p in skipped_files])
    if errors:
        # the files the workers finished stay listed in their own manifests; the next run skips them
        raise RootRepairError(f"a worker process stopped: {errors[0]!r}; files it finished are kept, run again to go on")
    write_manifest(out_dir, mname, header, list(own.values()) + result.failed)  # before the workers' manifests go
    for k in range(workers):
        worker_manifest = out_dir / _worker_manifest_name(shard, k, workers)
        worker_manifest.unlink(missing_ok=True)
        worker_manifest.with_suffix(".csv").unlink(missing_ok=True)
    _close_manifest(out_dir, mname, header, own, result.failed, skipped_files, shard)
    return result

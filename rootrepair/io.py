"""Reading and writing masks, walking folders, and writing tables (CSV + XLSX).

All file I/O of the project lives here. Nothing in this module imports torch.

Binarisation rule (documented for users in the README):
    A mask is first turned into one grey channel (RGB/RGBA/palette images by their
    luminance; an alpha channel is ignored). It is then thresholded at half of its own
    value range, ``(min + max) / 2``: so 0/1, 0/255 and 0/65535 masks and JPEG
    masks with compression artefacts all binarise as expected, whatever the bit depth.
    A mask with a single value is empty (or full) and is reported as such.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from rootrepair.errors import MaskReadError, RootRepairError

_UMASK = os.umask(0)
os.umask(_UMASK)

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
WRITTEN_AS_PNG = (".jpg", ".jpeg", ".gif", ".webp")  # lossy, or palette formats PNG holds exactly
FOREGROUND_CHOICES = ("auto", "white", "black")
MAX_PIXELS = 400_000_000  # larger images are refused before decoding (--max-pixels): a 60000^2 TIFF asks 27 GiB


@dataclasses.dataclass(frozen=True)
class MaskInfo:
    """What is needed to write a mask back in the form it was read."""

    path: str
    shape: tuple[int, int]
    dtype: str  # numpy dtype of the stored image, e.g. "uint8"
    channels: int  # 1 grey, 3 RGB, 4 RGBA
    foreground: str  # "white" or "black": the polarity that was used
    guessed: bool  # True when --foreground auto had to decide the polarity
    white_value: int = 0  # the grey value of white in the input (1 for a 0/1 mask); 0: the dtype's maximum


class PolarityWarning(UserWarning):
    """Auto polarity had to guess which class is the foreground."""


class LabelImageWarning(UserWarning):
    """An integer image of a few small values was read as labels: every non-zero pixel is a root."""


class NotAMaskWarning(UserWarning):
    """Much of the image is mid-grey: a photograph or a probability map, not a mask."""


MID_GREY_SHARE = 0.2  # more of an image than this neither dark nor light (the middle half of its range): not a mask


def _mid_grey_share(grey: np.ndarray) -> float:
    """The share of pixels in the middle half of the image's value range (NaN left out).
    A mask has none, or a few along its edges (antialiasing, JPEG); a photograph most."""
    if grey.dtype == bool or grey.dtype.kind not in "uif":
        return 0.0
    finite = grey[np.isfinite(grey)] if grey.dtype.kind == "f" else grey
    if not finite.size:
        return 0.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        return 0.0
    q = (hi - lo) / 4.0
    return float(((finite > lo + q) & (finite < hi - q)).mean())


def _label_like(grey: np.ndarray) -> int:
    """The number of distinct non-zero values if ``grey`` looks like a label image, else 0.

    A label image (classes 0/1/2, or one number per root as ``skimage.measure.label``
    writes) is an integer image with background 0, more than one non-zero value, and
    values that stay in the lower half of its type's range: a grey mask, a JPEG's mask
    or a probability map spans up to the top of the range (255, 65535). Halfway
    thresholding would drop the roots with the smaller labels.
    """
    if grey.dtype.kind not in "ui" or grey.size == 0:
        return 0
    lo, hi = int(grey.min()), int(grey.max())
    if lo != 0 or hi < 2 or hi > np.iinfo(grey.dtype).max // 2 or hi > 65535:
        return 0
    counts = np.bincount(grey.ravel(), minlength=hi + 1)
    return int(np.count_nonzero(counts[1:]))


# ---------------------------------------------------------------------------- reading


def _too_large(path: Path, h: int, w: int, max_pixels: int) -> None:
    if h * w > max_pixels:
        raise MaskReadError(
            f"{path}: {w} x {h} px is over the limit of {max_pixels:,} pixels; "
            "pass --max-pixels to raise it if the image is real"
        )


def _tiff_header(path: Path) -> bool:
    """Does the file start like a TIFF (or BigTIFF)? A PNG saved under a .tif name goes to PIL, which reads it."""
    with open(path, "rb") as fh:
        return fh.read(4) in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


def _load_pixels(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff") and _tiff_header(path):
        import logging

        import tifffile

        # tifffile logs what it finds wrong with a corrupt file to stderr, beside our own
        # one-line error; the error says it
        logging.getLogger("tifffile").setLevel(logging.CRITICAL)
        with tifffile.TiffFile(path) as tif:
            if not len(tif.pages):
                raise MaskReadError(f"{path}: not a readable TIFF (it holds no image)")
            if len(tif.series) > 1 or len(tif.pages) > 1:
                raise MaskReadError(
                    f"{path}: multi-page TIFF ({len(tif.pages)} pages); save each page as "
                    "its own file (e.g. Fiji: Image > Stacks > Stack to Images)"
                )
            shape = tif.pages[0].shape
            _too_large(path, int(shape[0]), int(shape[1]) if len(shape) > 1 else 1, max_pixels)
            try:
                return tif.asarray()
            except ValueError as exc:
                if "imagecodecs" not in str(exc):
                    raise
                # LZW, JPEG or CCITT compression (GIMP, Photoshop and scanners write LZW):
                # tifffile needs an extra package for them, PIL's libtiff reads them
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # the limit is checked here, before decoding, with the file's name
    with Image.open(path) as im:
        _too_large(path, im.size[1], im.size[0], max_pixels)
        if getattr(im, "n_frames", 1) > 1:
            raise MaskReadError(f"{path}: animated/multi-frame image; save one frame per file")
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA" if im.mode == "PA" or "transparency" in im.info else "RGB")
        elif im.mode == "La":  # premultiplied: the grey level of a transparent pixel is lost
            im = im.convert("LA")
        elif im.mode == "CMYK":
            im = im.convert("RGB")
        elif im.mode == "1":  # 1-bit: PIL's bool view of packed bits crashed skeleton code (exit 139)
            im = im.convert("L")
        return np.array(im)


def _to_grey(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.dtype.kind not in "biuf":
        raise MaskReadError(f"{path}: {pixels.dtype} pixel values are not a mask; expected grey or RGB (8/16-bit, or float)")
    while pixels.ndim > 2 and pixels.shape[0] == 1:  # (1, H, W): one image with a leading axis (a 1-slice stack)
        pixels = pixels[0]
    if pixels.ndim == 3 and pixels.shape[0] in (3, 4) and pixels.shape[2] > 4:  # planar RGB(A), channels first
        pixels = np.moveaxis(pixels, 0, -1)
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim == 3 and pixels.shape[2] in (2, 4):  # grey or RGB, and alpha
        colour, alpha = pixels[..., :-1], pixels[..., -1]
        if (colour == colour[0, 0]).all() and not (alpha == alpha.flat[0]).all():
            return alpha  # one colour painted through a transparency mask: the mask is the alpha channel
        if pixels.shape[2] == 2:
            return colour[..., 0]  # grey with alpha: the grey decides, as in an opaque image
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        rgb = pixels[..., :3].astype(np.float64)
        return rgb @ np.array([0.299, 0.587, 0.114])
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return pixels[..., 0]
    raise MaskReadError(f"{path}: unsupported image shape {pixels.shape}; expected a 2-D grey or RGB image")


def binarise(grey: np.ndarray) -> np.ndarray:
    """Threshold a grey image at half of its own value range.

    Parameters
    ----------
    grey : (M, N) ndarray
        Any numeric dtype.

    Returns
    -------
    white : (M, N) ndarray of bool
        True where the pixel is in the upper half of the value range. An image of a
        single value is all white when that value is in the upper half of its type's
        range (255 of 8 bits, 1.0 of floats), else all black.
    """
    grey = np.asarray(grey)
    if grey.dtype == bool:
        return grey.copy()
    if grey.dtype.kind == "f" and not np.isfinite(grey).all():
        # NaN is "no data": background. Infinities rank beyond the finite values.
        v = np.where(np.isnan(grey), -np.inf, grey.astype(np.float64))
        finite = v[np.isfinite(v)]
        lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 0.0)
        grey = np.clip(v, lo - 1.0, hi + 1.0)
        if grey.min() == grey.max():  # nothing but NaN, or nothing but one infinity
            return np.isposinf(v)
    lo, hi = grey.min(), grey.max()
    if lo == hi:
        top = np.iinfo(grey.dtype).max if grey.dtype.kind in "ui" else 1.0
        return np.full(grey.shape, float(lo) > top / 2.0, dtype=bool)
    return grey > (float(lo) + float(hi)) / 2.0


def check_foreground(foreground: str) -> None:
    """Refuse a --foreground value other than auto, white or black (before any file is read)."""
    if foreground not in FOREGROUND_CHOICES:
        raise RootRepairError(f"--foreground must be one of {', '.join(FOREGROUND_CHOICES)}, got {foreground!r}")


def check_file(path: Path) -> None:
    """Raise ``MaskReadError`` with a one-line reason where ``path`` is a broken link, no file, or
    not a regular file (a named pipe would block reading forever)."""
    if path.is_symlink() and not path.exists():
        raise MaskReadError(f"{path}: broken link (it points to {os.readlink(path)}, which does not exist)")
    if not path.exists():
        raise MaskReadError(f"{path}: no such file")
    if path.is_dir():
        raise MaskReadError(f"{path}: a folder, not an image file")
    if not path.is_file():
        raise MaskReadError(f"{path}: not a regular file (a pipe, socket or device)")


def read_mask(path: str | os.PathLike, *, foreground: str = "auto", max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, MaskInfo]:
    """Read an image file as a boolean foreground mask.

    Parameters
    ----------
    path : path-like
        PNG, TIFF (single page, 8/16-bit), JPEG, BMP, GIF or WebP (one frame); grey, RGB, RGBA or palette.
    foreground : {"auto", "white", "black"}
        Which class is the root. ``auto`` takes the minority class and warns
        (``PolarityWarning``) when that means black roots on white, or when the
        classes are nearly balanced.
    max_pixels : int
        Larger images are refused before they are decoded.

    Returns
    -------
    mask : (M, N) ndarray of bool
    info : MaskInfo

    Raises
    ------
    MaskReadError
        The file is missing, unreadable, not an image, or not 2-D.
    """
    check_foreground(foreground)
    path = Path(path)
    check_file(path)
    try:
        if path.stat().st_size == 0:
            raise MaskReadError(f"{path}: file is empty (0 bytes)")
        pixels = _load_pixels(path, max_pixels)
    except MaskReadError:
        raise
    except OSError as exc:
        raise MaskReadError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # PIL/tifffile raise many types for corrupt files
        raise MaskReadError(f"{path}: cannot be read as an image ({type(exc).__name__}: {exc})") from None
    if pixels.size == 0:
        raise MaskReadError(f"{path}: image has no pixels")
    channels = 1 if pixels.ndim == 2 else int(pixels.shape[2])
    grey = _to_grey(pixels, path)
    labels = _label_like(grey)
    if labels > 1:
        white = grey != 0
        warnings.warn(
            f"{path}: read as a label image ({labels} values from 1 to {int(grey.max())}): every non-zero pixel is a root",
            LabelImageWarning,
            stacklevel=2,
        )
    else:
        white = binarise(grey)
        mid = _mid_grey_share(grey)
        if mid > MID_GREY_SHARE:
            warnings.warn(
                f"{path}: not a binary mask ({100 * mid:.0f}% of it is mid-grey), read by thresholding halfway; "
                "a photograph or a probability map? rootrepair repairs and measures masks: segment images first",
                NotAMaskWarning,
                stacklevel=2,
            )
    lo, hi = grey.min(), grey.max()
    two_valued = pixels.ndim == 2 and pixels.dtype.kind in "ui" and lo != hi and bool(((grey == lo) | (grey == hi)).all())
    white_value = int(hi) if two_valued else 0
    guessed = False
    if foreground == "white":
        mask = white
    elif foreground == "black":
        mask = ~white
    else:
        share_white = float(white.mean())
        if share_white == 0.0:
            mask, foreground = white, "white"  # a blank image: empty, not full
        elif share_white <= 0.5:
            mask, foreground = white, "white"
        else:
            mask, foreground = ~white, "black"
        if foreground == "black" or 0.4 < share_white < 0.6:
            guessed = True
            warnings.warn(
                f"{path}: guessed that the {foreground} pixels are roots "
                f"({100 * min(share_white, 1 - share_white):.1f}% of the image); "
                "pass --foreground white|black to say so",
                PolarityWarning,
                stacklevel=2,
            )
    info = MaskInfo(
        path=str(path),
        shape=(int(mask.shape[0]), int(mask.shape[1])),
        dtype=str(pixels.dtype),
        channels=channels,
        foreground=foreground,
        guessed=guessed,
        white_value=white_value,
    )
    return mask, info


def _written_by_us(dirpath: str, filenames: list[str]) -> bool:
    """Does this folder hold a manifest written by ``rootrepair inpaint`` (i.e. is it a repair's output)?"""
    for name in filenames:
        if name.startswith("manifest") and name.endswith(".json"):
            try:
                with open(Path(dirpath) / name, encoding="utf-8") as fh:
                    head = fh.read(200)
            except OSError:
                continue
            if '"software": "rootrepair' in head:
                return True
    return False


def list_images(root: str | os.PathLike, *, skip_repaired: bool = False) -> tuple[list[Path], list[Path]]:
    """Walk a folder recursively (or take one file).

    The project's own pictures are never taken for masks: the overlays of a repaired folder,
    QC pictures (``*.qc.png``) and the pictures of an HTML report (``<name>-report`` beside
    ``<name>.html``). With ``skip_repaired``, folders below ``root`` that a repair wrote
    (they hold its manifest) are left out too, with a warning: ``inpaint .`` in a season's
    parent folder repairs the season, not last run's repairs.

    Returns
    -------
    images : list of Path
        Files with an image suffix, sorted.
    skipped : list of Path
        Other files, which the caller reports and skips. Hidden files are ignored.
    """
    root = Path(root)
    if root.is_file():
        return ([root], []) if root.suffix.lower() in IMAGE_SUFFIXES else ([], [root])
    if not root.is_dir():
        raise RootRepairError(f"{root}: no such file or folder")
    images, skipped = [], []

    def unreadable(err: OSError) -> None:
        warnings.warn(f"{err.filename}: folder cannot be read ({err.strerror}); skipped", stacklevel=3)

    # links to files are followed (a folder of links is normal on clusters); links to
    # folders are not, so a link loop cannot trap the walk
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        ours = _written_by_us(dirpath, filenames)
        if ours and skip_repaired and Path(dirpath) != root:
            warnings.warn(f"{dirpath}: written by rootrepair inpaint (it holds its manifest); not repaired again", stacklevel=3)
            dirnames[:] = []
            continue
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".")
            and not (ours and d == OVERLAY_DIR)
            and not (d.endswith("-report") and (Path(dirpath) / f"{d[: -len('-report')]}.html").is_file())
        )
        for name in sorted(filenames):
            if name.startswith(".") or name.endswith(".qc.png"):
                continue
            p = Path(dirpath) / name
            if ours and name.startswith("manifest") and name.endswith((".json", ".csv")):
                continue  # a repair's own record, not a stray file to report
            (images if p.suffix.lower() in IMAGE_SUFFIXES else skipped).append(p)
    return sorted(images), sorted(skipped)


def image_key(path: Path, root: Path) -> str:
    """The name by which images in different folders are matched: relative path, no suffix."""
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    return rel.with_suffix("").as_posix()


def image_keys(paths: list[Path], root: Path) -> dict[Path, str]:
    """``image_key`` of each path; where two files would share one (``plant.png`` and
    ``plant.tif``), each keeps its suffix instead (``plant.png``, ``plant.tif``), so no
    image stands for another and neither is matched by a guess."""
    keys = {p: image_key(p, root) for p in paths}
    seen: dict[str, int] = {}
    for k in keys.values():
        seen[k] = seen.get(k, 0) + 1
    for p, k in keys.items():
        if seen[k] > 1:
            keys[p] = (p.relative_to(root) if root.is_dir() else Path(p.name)).as_posix()
    return keys


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------------------- writing


def atomic_write(path: str | os.PathLike, write_fn) -> Path:
    """Call ``write_fn(tmp_path)`` then rename into place, so no half-written file is left.

    The temporary file sits in the destination folder (same file system) and keeps the
    destination's suffix, so writers that pick a format from the suffix work.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a short temporary name: the destination's may be near the file system's 255-byte limit
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:40]}.", suffix=f".part{path.suffix[:10]}", dir=path.parent)
    os.close(fd)
    try:
        write_fn(Path(tmp))
        # mkstemp makes 0600, and some writers (safetensors) make a fresh file: outputs get
        # the usual permissions either way
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def mask_to_pixels(mask: np.ndarray, info: MaskInfo | None = None) -> np.ndarray:
    """A boolean mask as stored pixels: same bit depth and polarity as ``info`` (grey)."""
    dtype = np.dtype(info.dtype) if info is not None else np.dtype(np.uint8)
    if dtype == bool or dtype.kind not in "ui":
        dtype = np.dtype(np.uint8)
    if dtype.itemsize > 2:
        dtype = np.dtype(np.uint16)
    top = np.iinfo(dtype).max
    if info is not None and 0 < info.white_value <= top:
        top = info.white_value  # a 0/1 mask stays 0/1
    white = mask if (info is None or info.foreground == "white") else ~mask
    return white.astype(dtype) * dtype.type(top)  # in the output's dtype throughout (np.where made int64 first)


def output_suffix(path: Path) -> str:
    """JPEG (and lossy WebP) would blur a mask: repaired JPEG, WebP and GIF masks are written as PNG."""
    return ".png" if path.suffix.lower() in WRITTEN_AS_PNG else path.suffix


_PIL_FORMATS = {".png": "PNG", ".bmp": "BMP", ".jpg": "JPEG", ".jpeg": "JPEG"}


def write_image(path: str | os.PathLike, pixels: np.ndarray) -> Path:
    """Write pixels (grey or RGB) atomically; the format follows the suffix."""
    path = Path(path)

    def _write(tmp: Path) -> None:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(tmp, pixels, compression="zlib")
        else:  # PIL directly: imageio's first write spent ~60 ms finding its plugins
            from PIL import Image

            Image.fromarray(pixels).save(tmp, format=_PIL_FORMATS.get(path.suffix.lower(), "PNG"))

    return atomic_write(path, _write)


def write_mask(path: str | os.PathLike, mask: np.ndarray, info: MaskInfo | None = None) -> Path:
    """Write a boolean mask in the bit depth and polarity it was read with."""
    return write_image(path, mask_to_pixels(mask, info))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MANIFEST_JSON = "manifest.json"  # what `inpaint` writes into its output folder
OVERLAY_DIR = "overlays"


def _is_formula_like(v) -> bool:
    return isinstance(v, str) and v.startswith(_FORMULA_START)


def storable(v):
    """Text that UTF-8 files can hold: a file name's bytes that are not UTF-8 (Python keeps
    them as lone surrogates) are written as ``\\xNN``, as the terminal shows them; other values as they are."""
    if not isinstance(v, str):
        return v
    try:
        v.encode("utf-8")
        return v
    except UnicodeEncodeError:
        try:
            return v.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:
            return v.encode("utf-8", "backslashreplace").decode("utf-8")


def _cell_text(v):
    """A text cell as files may hold it (``storable``) that no spreadsheet runs as a formula."""
    v = storable(v)
    return "'" + v if _is_formula_like(v) else v


def _text_safe(frame):
    """A copy whose text cells cannot run as spreadsheet formulas: ``=cmd()`` becomes ``'=cmd()``.

    A file named ``=HYPERLINK(...).png`` must reach Excel as text, not as a live formula.
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(_cell_text)
    return out


def write_csv(path: str | os.PathLike, frame) -> Path:
    """CSV with text made formula-safe and floats to 6 significant digits (no 17-digit noise)."""
    return atomic_write(path, lambda tmp: _text_safe(frame).to_csv(tmp, index=False, float_format="%.6g"))


def write_records_csv(path: str | os.PathLike, rows: list[dict]) -> Path:
    """``write_csv`` for a list of dicts, without pandas (the repair path stays light to start).

    Columns in first-seen order; text made formula-safe; floats to 6 significant digits;
    None as an empty cell.
    """
    import csv

    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))

    def cell(v):
        if v is None:
            return ""
        if isinstance(v, float):
            return "" if v != v else f"{v:.6g}"
        return _cell_text(v)

    def write(tmp):
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for row in rows:
                w.writerow([cell(row.get(c)) for c in columns])

    return atomic_write(path, write)


def number_format(name: str, values) -> str:
    """The Excel number format of a column: counts as integers, p-values in scientific notation."""
    import pandas as pd

    v = pd.to_numeric(values, errors="coerce").dropna()
    low = str(name).lower()
    if low.endswith(("_p", "pvalue", "p_value")) or "_p_" in low or low.startswith("p_"):
        return "0.00E+00"
    if len(v) and (v == v.round()).all() and v.abs().max() < 1e15:
        return "0"
    big = v.abs().max() if len(v) else 0
    return "0.0" if big >= 1000 else "0.00" if big >= 10 else "0.000" if big >= 0.1 else "0.0000"


def write_excel(path: str | os.PathLike, notes: dict[str, str] | None = None, **sheets) -> Path:
    """Write DataFrames as sheets of one XLSX, formatted for people who open it in Excel.

    Frozen header row, bold headers, column widths that fit, a number format per column
    (``number_format``); text that looks like a formula is stored as text, never run.
    ``notes`` maps a sheet name to a line: it goes into a ``notes`` sheet (formulas
    used, units), so the data sheets stay plain tables.
    """
    import pandas as pd
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def _printable(v):  # control characters (from file names) cannot be stored in XLSX
        return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", storable(v)) if isinstance(v, str) else v

    def _write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, frame in sheets.items():
                frame = frame.copy()
                for col in frame.columns:
                    if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                        frame[col] = frame[col].map(_printable)
                frame.to_excel(xw, sheet_name=name[:31], index=False)
                ws = xw.sheets[name[:31]]
                ws.freeze_panes = "A2"
                for cell in ws[1]:
                    cell.font = Font(bold=True)
                for j, col in enumerate(frame.columns, start=1):
                    values = frame[col]
                    width = max([len(str(col))] + [len(str(v)) if not isinstance(v, float) else 10 for v in values.head(200)])
                    ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
                    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                        fmt = number_format(col, values)
                        for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            row[0].number_format = fmt
                    elif values.dtype == object or pd.api.types.is_string_dtype(values):
                        for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            cell = row[0]
                            if _is_formula_like(cell.value) or cell.data_type == "f":
                                cell.data_type = "s"  # stored as text: Excel shows it, never runs it
                                cell.quotePrefix = True
            if notes:
                frame = pd.DataFrame({"sheet": list(notes), "note": list(notes.values())})
                frame.to_excel(xw, sheet_name="notes", index=False)
                ws = xw.sheets["notes"]
                ws.column_dimensions["A"].width = 14
                ws.column_dimensions["B"].width = 120
                for cell in ws[1]:
                    cell.font = Font(bold=True)

    return atomic_write(path, _write)


def iter_masks(
    paths: list[Path], *, foreground: str = "auto", max_pixels: int = MAX_PIXELS
) -> Iterator[tuple[Path, np.ndarray | None, MaskInfo | None, str | None]]:
    """Read masks one by one; a bad file yields ``(path, None, None, reason)`` instead of raising."""
    for p in paths:
        try:
            mask, info = read_mask(p, foreground=foreground, max_pixels=max_pixels)
        except MaskReadError as exc:
            yield p, None, None, str(exc)
            continue
        yield p, mask, info, None

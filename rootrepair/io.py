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

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
FOREGROUND_CHOICES = ("auto", "white", "black")


@dataclasses.dataclass(frozen=True)
class MaskInfo:
    """What is needed to write a mask back in the form it was read."""

    path: str
    shape: tuple[int, int]
    dtype: str  # numpy dtype of the stored image, e.g. "uint8"
    channels: int  # 1 grey, 3 RGB, 4 RGBA
    foreground: str  # "white" or "black": the polarity that was used
    guessed: bool  # True when --foreground auto had to decide the polarity


class PolarityWarning(UserWarning):
    """Auto polarity had to guess which class is the foreground."""


# ---------------------------------------------------------------------------- reading


def _load_pixels(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            if len(tif.series) > 1 or len(tif.pages) > 1:
                raise MaskReadError(
                    f"{path}: multi-page TIFF ({len(tif.pages)} pages); save each page as "
                    "its own file (e.g. Fiji: Image > Stacks > Stack to Images)"
                )
            return tif.asarray()
    from PIL import Image

    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            raise MaskReadError(f"{path}: animated/multi-frame image; save one frame per file")
        if im.mode in ("P", "PA"):
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode in ("LA",):
            im = im.convert("L")
        elif im.mode == "CMYK":
            im = im.convert("RGB")
        elif im.mode == "1":  # 1-bit: PIL's bool view of packed bits crashed skeleton code (exit 139)
            im = im.convert("L")
        return np.array(im)


def _to_grey(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.ndim == 2:
        return pixels
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        rgb = pixels[..., :3].astype(np.float64)
        return rgb @ np.array([0.299, 0.587, 0.114])
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        return pixels[..., 0]
    if pixels.ndim == 3 and pixels.shape[0] in (3, 4) and pixels.shape[2] > 4:
        raise MaskReadError(f"{path}: channels-first image of shape {pixels.shape}; expected (H, W) or (H, W, 3)")
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
        True where the pixel is in the upper half of the value range. All False when
        the image holds a single value.
    """
    grey = np.asarray(grey)
    if grey.dtype == bool:
        return grey.copy()
    lo, hi = grey.min(), grey.max()
    if lo == hi:
        return np.zeros(grey.shape, dtype=bool)
    return grey > (float(lo) + float(hi)) / 2.0


def read_mask(path: str | os.PathLike, *, foreground: str = "auto") -> tuple[np.ndarray, MaskInfo]:
    """Read an image file as a boolean foreground mask.

    Parameters
    ----------
    path : path-like
        PNG, TIFF (single page, 8/16-bit), JPEG or BMP; grey, RGB, RGBA or palette.
    foreground : {"auto", "white", "black"}
        Which class is the root. ``auto`` takes the minority class and warns
        (``PolarityWarning``) when that means black roots on white, or when the
        classes are nearly balanced.

    Returns
    -------
    mask : (M, N) ndarray of bool
    info : MaskInfo

    Raises
    ------
    MaskReadError
        The file is missing, unreadable, not an image, or not 2-D.
    """
    if foreground not in FOREGROUND_CHOICES:
        raise RootRepairError(f"foreground must be one of {FOREGROUND_CHOICES}, got {foreground!r}")
    path = Path(path)
    if not path.is_file():
        raise MaskReadError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise MaskReadError(f"{path}: file is empty (0 bytes)")
    try:
        pixels = _load_pixels(path)
    except MaskReadError:
        raise
    except Exception as exc:  # PIL/tifffile raise many types for corrupt files
        raise MaskReadError(f"{path}: cannot be read as an image ({type(exc).__name__}: {exc})") from None
    if pixels.size == 0:
        raise MaskReadError(f"{path}: image has no pixels")
    channels = 1 if pixels.ndim == 2 else int(pixels.shape[2])
    grey = _to_grey(pixels, path)
    white = binarise(grey)
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
    )
    return mask, info


def list_images(root: str | os.PathLike) -> tuple[list[Path], list[Path]]:
    """Walk a folder recursively (or take one file).

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
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            (images if p.suffix.lower() in IMAGE_SUFFIXES else skipped).append(p)
    return sorted(images), sorted(skipped)


def image_key(path: Path, root: Path) -> str:
    """The name by which images in different folders are matched: relative path, no suffix."""
    rel = path.relative_to(root) if root.is_dir() else Path(path.name)
    return rel.with_suffix("").as_posix()


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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".part{path.suffix}", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        write_fn(Path(tmp))
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
    white = mask if (info is None or info.foreground == "white") else ~mask
    return np.where(white, top, 0).astype(dtype)


def output_suffix(path: Path) -> str:
    """JPEG is lossy and would blur a mask: repaired JPEG masks are written as PNG."""
    return ".png" if path.suffix.lower() in (".jpg", ".jpeg") else path.suffix


def write_image(path: str | os.PathLike, pixels: np.ndarray) -> Path:
    """Write pixels (grey or RGB) atomically; the format follows the suffix."""
    path = Path(path)

    def _write(tmp: Path) -> None:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            tifffile.imwrite(tmp, pixels, compression="zlib")
        else:
            import imageio.v3 as iio

            iio.imwrite(tmp, pixels, extension=path.suffix.lower())

    return atomic_write(path, _write)


def write_mask(path: str | os.PathLike, mask: np.ndarray, info: MaskInfo | None = None) -> Path:
    """Write a boolean mask in the bit depth and polarity it was read with."""
    return write_image(path, mask_to_pixels(mask, info))


def write_csv(path: str | os.PathLike, frame) -> Path:
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_excel(path: str | os.PathLike, notes: dict[str, str] | None = None, **sheets) -> Path:
    """Write DataFrames as sheets of one XLSX, formatted for people who open it in Excel.

    Frozen header row, bold headers, column widths that fit, 4 significant decimals for
    floats. ``notes`` maps a sheet name to a line written above nothing: it goes into
    a ``notes`` sheet (formulas used, units), so the data sheets stay plain tables.
    """
    import pandas as pd
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def _write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, frame in sheets.items():
                frame.to_excel(xw, sheet_name=name[:31], index=False)
                ws = xw.sheets[name[:31]]
                ws.freeze_panes = "A2"
                for cell in ws[1]:
                    cell.font = Font(bold=True)
                for j, col in enumerate(frame.columns, start=1):
                    values = frame[col]
                    width = max([len(str(col))] + [len(_fmt(v)) for v in values.head(200)])
                    ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 60)
                    if pd.api.types.is_float_dtype(values):
                        for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                            row[0].number_format = "0.0000"
            if notes:
                frame = pd.DataFrame({"sheet": list(notes), "note": list(notes.values())})
                frame.to_excel(xw, sheet_name="notes", index=False)
                ws = xw.sheets["notes"]
                ws.column_dimensions["A"].width = 14
                ws.column_dimensions["B"].width = 120
                for cell in ws[1]:
                    cell.font = Font(bold=True)

    return atomic_write(path, _write)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def iter_masks(paths: list[Path], *, foreground: str = "auto") -> Iterator[tuple[Path, np.ndarray | None, MaskInfo | None, str | None]]:
    """Read masks one by one; a bad file yields ``(path, None, None, reason)`` instead of raising."""
    for p in paths:
        try:
            mask, info = read_mask(p, foreground=foreground)
        except MaskReadError as exc:
            yield p, None, None, str(exc)
            continue
        yield p, mask, info, None

"""Make the README's pictures from the example season (run the README's main command first).

    python docs/make_pictures.py
"""
from pathlib import Path

import imageio.v3 as iio
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _densest(weights: np.ndarray, size: int) -> tuple[slice, slice]:
    from scipy.ndimage import uniform_filter

    dens = uniform_filter(weights.astype(np.float32), size=size, mode="constant")
    r, c = np.unravel_index(np.argmax(dens), dens.shape)
    top = int(np.clip(r - size // 2, 0, weights.shape[0] - size))
    left = int(np.clip(c - size // 2, 0, weights.shape[1] - size))
    return slice(top, top + size), slice(left, left + size)


def main() -> None:
    overlay = iio.imread(ROOT / "examples" / "season-repaired" / "overlays" / "plant_01.png")
    added = (overlay[..., 0] == 230) & (overlay[..., 1] == 25)
    window = _densest(added, 600)
    iio.imwrite(ROOT / "docs" / "overlay_example.png", overlay[window])
    qc = iio.imread(ROOT / "examples" / "qc" / "after" / "plant_01.qc.png")
    rows, cols = np.nonzero((qc < 250).any(axis=2))  # the drawn part, without the empty soil below
    qc = qc[max(rows.min() - 10, 0) : rows.max() + 10, max(cols.min() - 10, 0) : cols.max() + 10]
    iio.imwrite(ROOT / "docs" / "qc_example.png", qc[::2, ::2])


if __name__ == "__main__":
    main()

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


def decoders_picture() -> None:
    """Input | the paper's threshold | the topology decoder | truth, on a held-out noisy mask."""
    from rootrepair.decode import DecodeSettings, decode
    from rootrepair.evaluate import EvalConfig, make_samples
    from rootrepair.inpaint import InpaintSettings, overlay, predict_probability, prepare_model
    from rootrepair.models.checkpoint import load_generator

    s = make_samples(EvalConfig(preset="fibrous", gaps="occlusion", levels=("image",), n=1, noise=1.0), "image")[0]
    model, device = prepare_model(load_generator()[0], InpaintSettings(device="cpu"))
    prob = predict_probability(model, s.gappy, InpaintSettings(device="cpu"), device=device)
    thr = decode(s.gappy, prob, DecodeSettings(decoder="threshold"))
    topo = decode(s.gappy, prob)
    window = _densest(thr & ~s.gappy, 300)
    sep = np.full((300, 6, 3), 90, np.uint8)
    panels = [overlay(s.gappy, s.gappy), overlay(s.gappy, thr), overlay(s.gappy, topo), overlay(s.gappy, s.truth)]
    row = np.concatenate([x for p in panels for x in (p[window], sep)][:-1], axis=1)
    big = np.kron(row, np.ones((2, 2, 1), np.uint8))
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (big.shape[1], big.shape[0] + 36), (255, 255, 255))
    img.paste(Image.fromarray(big), (0, 36))
    draw = ImageDraw.Draw(img)
    names = ("input (gaps, noisy mask)", "--decode threshold (the paper)", "--decode topology (default)", "truth: the gaps in red")
    for k, name in enumerate(names):
        draw.text((k * (600 + 12) + 8, 8), name, fill=(0, 0, 0), font_size=20)
    img.save(ROOT / "docs" / "decoders.png")


def main() -> None:
    overlay = iio.imread(ROOT / "examples" / "season-repaired" / "overlays" / "plant_01.png")
    added = (overlay[..., 0] == 230) & (overlay[..., 1] == 25)
    window = _densest(added, 600)
    iio.imwrite(ROOT / "docs" / "overlay_example.png", overlay[window])
    qc = iio.imread(ROOT / "examples" / "qc" / "after" / "plant_01.qc.png")
    rows, cols = np.nonzero((qc < 250).any(axis=2))  # the drawn part, without the empty soil below
    qc = qc[max(rows.min() - 10, 0) : rows.max() + 10, max(cols.min() - 10, 0) : cols.max() + 10]
    iio.imwrite(ROOT / "docs" / "qc_example.png", qc[::2, ::2])
    decoders_picture()


if __name__ == "__main__":
    main()

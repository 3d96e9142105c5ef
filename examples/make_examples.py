"""Regenerate the example season: python examples/make_examples.py

8 synthetic chickpea root systems (seeds 4000000-4000007, never used for training or
evaluation), with occlusion gaps (soil clods, shadow bands, fading thin roots) as users'
masks have them. season/ holds the gappy masks, expert/ the complete ones.
"""
from pathlib import Path

import numpy as np

from rootrepair import io as rio
from rootrepair.gaps import make_gaps
from rootrepair.synth import generate_root_system, get_preset

HERE = Path(__file__).parent
SEED = 4_000_000


def main(n: int = 8) -> None:
    for i in range(n):
        system = generate_root_system(get_preset("chickpea"), SEED + i)
        gappy, _ = make_gaps(system.mask, "occlusion", np.random.default_rng([SEED + i, 1]))
        name = f"plant_{i + 1:02d}.png"
        rio.write_mask(HERE / "season" / name, gappy)
        rio.write_mask(HERE / "expert" / name, system.mask)


if __name__ == "__main__":
    main()

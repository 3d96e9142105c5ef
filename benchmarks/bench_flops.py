"""The network's arithmetic per shipped model, and the least time it can take on this CPU.

    python benchmarks/bench_flops.py

Per model: floating-point operations of one 256 x 256 tile (``torch.utils.flop_counter``,
a multiply-add counted as 2), per tile pixel, and on the speed benchmarks' 2500 x 1000 mask
(``_common.held_out_mask``) the tiles the default settings run (empty tiles and tiles with
roots only in their outer margin are skipped) times that. Divided by the rate of a 2048^3
float32 matmul timed in the same run (the fastest dense arithmetic torch does here), it
gives a floor for the network's seconds per mask on this machine, which no runtime or
precision at the same arithmetic rate can beat; the measured seconds are in
``pipeline_speed_cpu*.md``.
"""
from _common import held_out_mask, matmul_seconds, write


def main() -> None:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import rootrepair.inpaint as inp
    from rootrepair.models.checkpoint import load_generator, shipped_models

    settings = inp.InpaintSettings(device="cpu")
    mask = held_out_mask()
    matmul = matmul_seconds(7)
    rate = 2 * 2048**3 / matmul
    lines = [f"2048^3 float32 matmul: {matmul:.3f} s, {rate / 1e9:.0f} GFLOP/s. Mask: 2500 x 1000, default tiles "
             f"({settings.tile} px, overlap {settings.overlap}).", "",
             "| model | GFLOP per 256 x 256 tile | kFLOP per tile pixel | tiles run on the mask | GFLOP per mask | floor at matmul speed, s per mask |",
             "|---|---|---|---|---|---|"]
    for card in shipped_models():
        name = card["id"]
        model, _ = load_generator(name)
        model.eval()
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            model(torch.zeros(1, 1, 256, 256))
        per_tile = counter.get_total_flops()
        tiles = 0
        run = inp._predict_tiles

        def counting(m, batch, *a, **k):
            nonlocal tiles
            tiles += len(batch)
            return run(m, batch, *a, **k)

        inp._predict_tiles = counting
        try:
            prepared, device = inp.prepare_model(model, settings)
            inp.predict_probability(prepared, mask, settings, device=device)
        finally:
            inp._predict_tiles = run
        total = per_tile * tiles
        lines.append(f"| {name} | {per_tile / 1e9:.2f} | {per_tile / 65536 / 1e3:.0f} | {tiles} | {total / 1e9:.0f} | {total / rate:.2f} |")
        print(lines[-1], flush=True)
    write("model_flops.md", "The network's arithmetic, and its floor on this CPU", "python benchmarks/bench_flops.py", "\n".join(lines))


if __name__ == "__main__":
    main()

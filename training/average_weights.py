"""Average the weights of generators trained further from one starting point ("model soup").

    python training/average_weights.py OUT.json A.json B.json [C.json ...]

Each input is a generator .json with its .safetensors beside it (a shipped model's card or an
export of `rootrepair train`); all must have the same architecture. Floating-point tensors
(weights and batch-norm statistics) are averaged; the rest are taken from the last input, as is
the configuration. OUT.json records the inputs under ``averaged_from``. Tried once, 2026-11-26
(`benchmarks/results/final_model_soup.md`): no better than the shipped default.
"""
import json
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from rootrepair.io import sha256_file
from rootrepair.models.checkpoint import _loaded, _stored  # int8 weights times their scales, and back


def main(out: Path, inputs: list[Path]) -> None:
    states = [_loaded(load_file(str(p.with_name(json.loads(p.read_text())["weights"])))) for p in inputs]
    if any(s.keys() != states[0].keys() for s in states):
        sys.exit("the generators differ in architecture")
    avg = {}
    for k, t in states[0].items():
        avg[k] = sum(s[k].float() for s in states) / len(states) if t.is_floating_point() else states[-1][k]
    cfg = json.loads(inputs[-1].read_text())
    weights = out.with_suffix(".safetensors")
    save_file(_stored(avg, cfg.get("dtype", "float32")), str(weights))  # stored as the last input is
    cfg.update(weights=weights.name, sha256=sha256_file(weights), averaged_from=[str(p) for p in inputs])
    out.write_text(json.dumps(cfg, indent=1))
    log = inputs[-1].with_suffix(".metrics.jsonl")  # bench_ablation.py summarises the log beside the .json
    if log.exists():
        out.with_suffix(".metrics.jsonl").write_text(log.read_text())
    print(f"{out}: the average of {len(inputs)} generators")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])

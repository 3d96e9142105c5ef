"""The generator run by OpenVINO on a CPU: an optional speed-up, never a requirement.

Measured on a 2-core Xeon with AVX512-BF16 (``benchmarks/results/backends_cpu.md``): over
the 40 tiles of a 2500 x 1000 mask, OpenVINO with its bf16 inference hint takes 0.24 s
against eager PyTorch's 0.40 s with bf16 autocast (fp32: 0.81 s against 1.30 s), and
changes 4 in a million pixels' side of 0.5. Install it with ``pip install 'rootrepair[openvino]'``;
``--runtime auto`` then uses it on the CPU.

The network is converted from the torch module once per set of weights and cached as
OpenVINO IR under ``$ROOTREPAIR_CACHE`` (default ``~/.cache/rootrepair``); a cache that
cannot be written only costs the conversion (~3 s) on every run.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from rootrepair.errors import RootRepairError

RUNTIMES = ("auto", "torch", "openvino")


def openvino_available() -> bool:
    return importlib.util.find_spec("openvino") is not None


def resolve_runtime(name: str, device: torch.device) -> str:
    """``torch`` or ``openvino``. ``auto``: OpenVINO on a CPU when it is installed, else torch."""
    if name not in RUNTIMES:
        raise RootRepairError(f"--runtime must be one of {', '.join(RUNTIMES)}, got {name!r}")
    if name == "openvino":
        if device.type != "cpu":
            raise RootRepairError("--runtime openvino runs on the CPU; use --device cpu, or --runtime torch on a GPU")
        if not openvino_available():
            raise RootRepairError("--runtime openvino: OpenVINO is not installed; pip install 'rootrepair[openvino]'")
        return "openvino"
    if name == "auto" and device.type == "cpu" and openvino_available():
        return "openvino"
    return "torch"


def cache_dir() -> Path:
    env = os.environ.get("ROOTREPAIR_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rootrepair"


def weights_digest(model: torch.nn.Module) -> str:
    """A short hash of the weights (and their names): the converted network's cache key."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:20]


class OpenVinoGenerator:
    """The generator compiled by OpenVINO for this CPU.

    Called on (B, H, W) tiles (any numeric type; H, W multiples of 16), it returns their
    (B, H, W) float32 foreground probability, as the torch generator's softmax would.
    """

    def __init__(self, model: torch.nn.Module, *, bf16: bool, threads: int = 0, cache: Path | None = None):
        import openvino as ov

        core = ov.Core()
        model = model.float().eval().to(memory_format=torch.contiguous_format)
        cache = cache_dir() if cache is None else Path(cache)
        name = f"generator-{weights_digest(model)}"
        xml = cache / f"{name}.xml"
        if not (xml.exists() and xml.with_suffix(".bin").exists()):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the tracer's notes on the odd-size padding branch, never taken
                converted = ov.convert_model(model, example_input=torch.zeros(1, 1, 256, 256))
            xml = self._save(ov, converted, cache, name)
        self.precision = "bf16" if bf16 else "f32"
        config = {"INFERENCE_PRECISION_HINT": self.precision}
        if threads:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        self.compiled = core.compile_model(core.read_model(str(xml)), "CPU", config)

    @staticmethod
    def _save(ov, converted, cache: Path, name: str) -> Path:
        """Write the IR into the cache (atomically: a half-written pair is never read), or a temp folder."""
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=cache, prefix=".convert-"))
            ov.save_model(converted, str(tmp / f"{name}.xml"), compress_to_fp16=False)
            os.replace(tmp / f"{name}.bin", cache / f"{name}.bin")
            os.replace(tmp / f"{name}.xml", cache / f"{name}.xml")
            for p in tmp.iterdir():
                p.unlink()
            tmp.rmdir()
            return cache / f"{name}.xml"
        except OSError:
            tmp = Path(tempfile.mkdtemp(prefix="rootrepair-ov-"))
            ov.save_model(converted, str(tmp / f"{name}.xml"), compress_to_fp16=False)
            return tmp / f"{name}.xml"

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(tiles, dtype=np.float32)[:, None]
        return foreground_from_logits(self.compiled(x)[0])


def foreground_from_logits(logits: np.ndarray) -> np.ndarray:
    """(B, H, W) float32 foreground probability from (B, 2, H, W) logits of a runtime other than torch.

    The softmax over two classes is the logistic of their difference (``networks.foreground_probability``).
    """
    return (1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))).astype(np.float32)

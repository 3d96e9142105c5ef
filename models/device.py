"""Choosing the torch device: here, not in training, so that repairing never imports the trainer."""
from __future__ import annotations

import torch

from rootrepair.errors import RootRepairError


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RootRepairError("--device cuda: this torch has no CUDA device; use --device cpu or auto")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise RootRepairError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return torch.device(name)

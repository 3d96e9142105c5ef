"""Shared helpers of the benchmarks: where results go and what machine they ran on."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    try:
        import torch
    except ImportError:  # the peer benchmark runs in an environment of its own
        torch = None

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if torch is None:
        return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def write(name: str, title: str, command: str, body: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    path.write_text(
        f"# {title}\n\nMeasured {_dt.datetime.now().isoformat(timespec='minutes')} on {machine()}.\n"
        f"Command: `{command}`\n\n{body}\n"
    )
    print(path.read_text())
    return path

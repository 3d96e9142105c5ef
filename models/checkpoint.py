"""Self-describing checkpoints: weights in safetensors plus a JSON config. Never unpickled.

A generator checkpoint is two files with one stem:

- ``NAME.safetensors``: the generator's state dict,
- ``NAME.json``: ``{"arch": "unet", "base": 16, "variant": "gan-gl", ..., "sha256": ...}``;
  ``build_generator`` rebuilds the network from it alone.

Training checkpoints (to resume) hold every network and optimiser the same way: the
optimiser tensors flattened into the safetensors file, the rest in the JSON.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rootrepair.errors import RootRepairError
from rootrepair.io import atomic_write, sha256_file
from rootrepair.models.networks import build_model

SHIPPED_DIR = Path(__file__).parent / "shipped"
DEFAULT_MODEL = "rootrepair-unet-base32-v2"


SCALE_SUFFIX = ".int8_scale"  # the per-channel scales of an int8 tensor, stored beside it


def quantize_int8(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-output-channel int8: ``w ~ q * scale`` with ``q`` in [-127, 127] and
    ``scale`` (float32, one per channel, shaped to broadcast) = the channel's max |w| / 127."""
    w = w.detach().float()
    scale = w.abs().amax(dim=tuple(range(1, w.dim())), keepdim=True) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    return torch.round(w / scale).clamp(-127, 127).to(torch.int8), scale


def _stored(state: dict[str, torch.Tensor], dtype: str) -> dict[str, torch.Tensor]:
    """The tensors as written for ``dtype`` (float32, float16 or int8)."""
    if dtype == "float32":
        return state
    out = {}
    for k, v in state.items():
        if dtype == "int8" and v.is_floating_point() and v.dim() >= 2:  # conv weights; biases and norms stay float16
            out[k], out[k + SCALE_SUFFIX] = quantize_int8(v)
        else:
            out[k] = v.half() if v.is_floating_point() else v
    return out


def _loaded(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A state dict from stored tensors: int8 tensors times their scales; the rest as stored
    (``load_state_dict`` casts float16 to the network's float32)."""
    out = {}
    for k, v in tensors.items():
        if k.endswith(SCALE_SUFFIX):
            continue
        scale = tensors.get(k + SCALE_SUFFIX)
        out[k] = v.float() * scale.float() if scale is not None else v
    return out


def save_generator(stem: str | Path, model: torch.nn.Module, config: dict, *, dtype: str = "float32") -> Path:
    """Write ``stem.safetensors`` and ``stem.json``; returns the JSON path.

    ``dtype``: ``float32``, ``float16`` (half the bytes, for shipping) or ``int8`` (a quarter:
    convolution weights quantised per output channel, see ``quantize_int8``; for large
    generators kept in the repository). Loading turns every tensor back into the network's
    float32.
    """
    if dtype not in ("float32", "float16", "int8"):
        raise ValueError(f"dtype must be float32, float16 or int8, not {dtype!r}")
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    weights = stem.with_suffix(".safetensors")
    state = _stored({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, dtype)
    atomic_write(weights, lambda tmp: save_file(state, str(tmp)))
    meta = dict(config)
    meta["weights"] = weights.name
    meta["dtype"] = dtype
    meta["sha256"] = sha256_file(weights)
    atomic_write(stem.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(meta, indent=2)))
    return stem.with_suffix(".json")


def resolve_model(name_or_path: str | Path | None) -> Path:
    """The JSON config of a shipped model (by bare name) or of a checkpoint (by path).

    A bare name resolves to the shipped files only, never to a file of that name in
    the current folder; anything with a folder or a suffix is a path.
    """
    if name_or_path is None:
        name_or_path = DEFAULT_MODEL
    p = Path(name_or_path)
    shipped = SHIPPED_DIR / f"{name_or_path}.json"
    is_bare = p.name == str(name_or_path) and not p.suffix
    if is_bare and shipped.is_file():
        return shipped
    if p.suffix == ".json" and p.is_file():
        return p
    if p.suffix in (".safetensors", "") and not is_bare and p.with_suffix(".json").is_file():
        return p.with_suffix(".json")
    names = ", ".join(sorted(x.stem for x in SHIPPED_DIR.glob("*.json"))) or "none"
    raise RootRepairError(f"no model {str(name_or_path)!r}: give a shipped name ({names}) or a checkpoint .json path")


def load_generator(name_or_path: str | Path | None = None, *, verify: bool = True) -> tuple[torch.nn.Module, dict]:
    """Rebuild a generator from its JSON config and load its weights (eval mode, CPU)."""
    cfg_path = resolve_model(name_or_path)
    try:
        config = json.loads(cfg_path.read_text())
        weights = cfg_path.with_name(config.get("weights", cfg_path.stem + ".safetensors"))
        if not weights.is_file():
            raise RootRepairError(f"{cfg_path}: weights file {weights.name} is missing")
        if verify and config.get("sha256") and sha256_file(weights) != config["sha256"]:
            raise RootRepairError(f"{weights}: sha256 does not match its config; the file is damaged or was replaced")
        model = build_model(config["arch"], base=int(config["base"]))
        model.load_state_dict(_loaded(load_file(str(weights))))
    except RootRepairError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError, SafetensorError) as exc:
        raise RootRepairError(f"{cfg_path}: not a usable rootrepair model ({type(exc).__name__}: {exc})") from None
    model.eval()
    config["path"] = str(cfg_path)
    config["id"] = cfg_path.stem
    return model, config


def shipped_models() -> list[dict]:
    """Configs of every model shipped in the package."""
    return [dict(json.loads(p.read_text()), id=p.stem) for p in sorted(SHIPPED_DIR.glob("*.json"))]


# ------------------------------------------------------------------ training state


def save_training_state(path: str | Path, modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer], meta: dict) -> Path:
    """Everything needed to resume: ``path.safetensors`` + ``path.json``."""
    path = Path(path)
    tensors: dict[str, torch.Tensor] = {}
    opt_meta = {}
    for name, m in modules.items():
        for k, v in m.state_dict().items():
            tensors[f"{name}/{k}"] = v.detach().cpu().contiguous()
    for name, opt in optimisers.items():
        sd = opt.state_dict()
        scalars = {}
        for pid, st in sd["state"].items():
            for k, v in st.items():
                if torch.is_tensor(v) and v.dim() > 0:
                    tensors[f"opt.{name}/{pid}/{k}"] = v.detach().cpu().contiguous()
                else:
                    scalars[f"{pid}/{k}"] = float(v)
        opt_meta[name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    atomic_write(path.with_suffix(".safetensors"), lambda tmp: save_file(tensors, str(tmp)))
    full = dict(meta, optimisers=opt_meta)
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(json.dumps(full, indent=2)))
    return path.with_suffix(".json")


def load_training_state(path: str | Path, modules: dict[str, torch.nn.Module], optimisers: dict[str, torch.optim.Optimizer]) -> dict:
    """Load what ``save_training_state`` wrote into existing modules and optimisers; returns the meta."""
    path = Path(path)
    meta = json.loads(path.with_suffix(".json").read_text())
    tensors = load_file(str(path.with_suffix(".safetensors")))
    for name, m in modules.items():
        prefix = f"{name}/"
        m.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    for name, opt in optimisers.items():
        om = meta["optimisers"][name]
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith(f"opt.{name}/"):
                _, pid, key = k.split("/", 2)
                state.setdefault(int(pid), {})[key] = v
        for k, v in om["scalars"].items():
            pid, key = k.split("/", 1)
            state.setdefault(int(pid), {})[key] = torch.tensor(v)
        opt.load_state_dict({"state": state, "param_groups": om["param_groups"]})
    return meta

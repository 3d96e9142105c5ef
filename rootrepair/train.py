"""Training of every variant of the paper (Algorithm 1), on CPU or CUDA.

Variants and the generator loss each one uses (lambda1 CE + lambda2 local + lambda3 global):

===========  =====  ====================  ==========================================
variant      arch   losses                notes
===========  =====  ====================  ==========================================
cnn          cnn    CE                    Sasaki et al. 2017 baseline
unet         unet   CE                    U-Net baseline
gan-l        unet   CE + LSGAN(D_L)
gan-g        unet   CE + REINFORCE(D_G)
gan-gl       unet   CE + LSGAN + REINFORCE the paper's model
gan-gl-m     unet   as gan-gl, alternating with masked-CE batches on real gappy masks
===========  =====  ====================  ==========================================

Unlike the authors' public code: D_L and the local adversarial term see G's soft
probabilities, so the LSGAN term passes a gradient to G; the REINFORCE term subtracts a
baseline (the mean reward over K Bernoulli samples of the same patches); gaps are made
by this project's generators, which keep (row, col) order.

One step (synthetic batch):

1. take a large complete mask Y1 (and another, Y2), make gaps over Y1 -> X1,
2. cut ``batch`` non-overlapping patches y1 (complete), x1 (gappy), M (gap shapes),
3. G(x1) -> probabilities p,
4. discriminator step: D_L on y1 vs p (LSGAN, eq. 5); D_G on (y1, y2) vs (p > 0.5, y1) (eq. 8),
5. generator step: lambda1 CE(p, y1) + lambda2 (1 - D_L(p))^2 + lambda3 REINFORCE, where K
   Bernoulli samples of p are pasted into X1 and D_G(X1_hat, Y1) is each sample's reward (eq. 9).
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage as ndi

from rootrepair import __version__
from rootrepair.errors import RootRepairError
from rootrepair.gaps import GAP_KINDS, make_gaps
from rootrepair.models.device import resolve_device
from rootrepair.models.checkpoint import load_training_state, save_generator, save_training_state
from rootrepair.models.networks import VARIANT_ARCH, build_model, foreground_probability
from rootrepair.pixels import thin

VARIANTS = tuple(VARIANT_ARCH)
TRAIN_SEED_LIMIT = 1_000_000  # training draws root seeds below this; evaluation uses seeds above
VALIDATION_SEED = 3_000_000
TOPOLOGY_LOSSES = ("none", "skeleton-recall")
LOCAL_INPUTS = ("soft", "straight-through")
LR_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every training setting; saved with each checkpoint. Defaults are the paper's."""

    variant: str = "gan-gl"
    out: str = "runs/gan-gl"
    base: int = 16  # generator / discriminator width (64: paper size; 16: compact)
    steps: int = 2000
    batch: int = 8  # patches per step (paper: 8)
    patches_per_mask: int = 0  # patches cut from each large mask (0: the whole batch from one mask, the paper's way)
    patch: int = 256  # patch side (paper: 256)
    large: tuple[int, int] = (1024, 512)  # large mask (rows, cols) the patches are cut from
    lambda_ce: float = 1000.0  # lambda1
    lambda_local: float = 1.0  # lambda2
    lambda_global: float = 1.0  # lambda3
    lr_g: float = 2e-4
    lr_d: float = 4e-4
    lr_schedule: str = "constant"  # constant | cosine: both learning rates fall to 0 by the last step or the stretch's end
    ema: float = 0.0  # keep an exponential moving average of G's weights with this decay (0: none); it is what gets exported
    betas: tuple[float, float] = (0.5, 0.999)
    reinforce_samples: int = 4  # K Bernoulli samples; their mean reward is the baseline
    gaps: str = "mix"  # a gap kind, or several comma-separated (one drawn per step)
    preset: str = "chickpea"  # a preset, or several comma-separated (one drawn per fresh mask)
    data: str | None = None  # folder of complete masks instead of the synthetic generator
    real: str | None = None  # folder of real masks with inherent gaps (gan-gl-m)
    pool: int = 24  # large masks kept in memory; one is replaced by a fresh one every refresh_every draws
    refresh_every: int = 1  # draws between fresh masks (1: every draw; more when drawing root systems cannot keep up with a GPU)
    workers: int = 0  # processes making the batches (0: the training process; a GPU needs several)
    max_minutes: float = 0.0  # stop (checkpoint and export) after this much wall time: a stretch (0: run all steps)
    augment: bool = True  # flips, small rotations, dilation, boundary noise
    noise: float = 0.0  # segmentation-like noise on the complete masks, each at a level drawn from 0..noise (0: none)
    scale: tuple[float, float] = (1.0, 1.0)  # large masks enlarged by a factor drawn log-uniformly here (root widths)
    apex_gap_rate: float = 1.0  # at most this share of root apices inside a gap (1: whatever the gap generator gives)
    topology_loss: str = "none"  # none | skeleton-recall (Kirchhoff et al. 2024)
    lambda_topology: float = 1000.0  # its weight, on the scale of lambda_ce
    lambda_gap: float = 0.0  # extra CE at the gap pixels only (eq. 11's masked CE); raises gap recall (0: off)
    local_input: str = "soft"  # soft: D_L sees G's probabilities | straight-through: G's output binarised at 0.5
    instance_noise: float = 0.0  # sd of Gaussian noise on every discriminator input, falling linearly to 0 at the last step
    init: str | None = None  # generator weights to start from (shipped name or generator .json); None: random
    teacher: str | None = None  # a trained generator whose probabilities G also learns (distillation into a smaller G)
    lambda_teacher: float = 1000.0  # the teacher term's weight, on the scale of lambda_ce
    seed: int = 0
    device: str = "auto"
    amp: bool = True  # bfloat16 autocast on CUDA
    cpu_bf16: bool = False  # bfloat16 autocast on a CPU too (fast only on CPUs with bf16 instructions)
    threads: int = 0  # CPU threads (0: torch's default)
    checkpoint_every: int = 100
    log_every: int = 10
    val_every: int = 100
    val_patches: int = 16

    def __post_init__(self):
        from rootrepair.synth import PRESETS

        if self.variant not in VARIANTS:
            raise RootRepairError(f"unknown variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        for kind in self.gap_kinds:
            if kind not in GAP_KINDS:
                raise RootRepairError(f"unknown gaps {kind!r}; choose one of {', '.join(GAP_KINDS)}")
        for name in self.presets:
            if name not in PRESETS:
                raise RootRepairError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        if self.topology_loss not in TOPOLOGY_LOSSES:
            raise RootRepairError(f"unknown topology loss {self.topology_loss!r}; choose one of {', '.join(TOPOLOGY_LOSSES)}")
        if self.local_input not in LOCAL_INPUTS:
            raise RootRepairError(f"unknown local input {self.local_input!r}; choose one of {', '.join(LOCAL_INPUTS)}")
        if not (0 < self.scale[0] <= self.scale[1]):
            raise RootRepairError(f"scale must be 0 < low <= high, got {self.scale}")
        if self.lambda_gap < 0:
            raise RootRepairError(f"lambda gap must be >= 0, got {self.lambda_gap}")
        if self.lambda_teacher < 0:
            raise RootRepairError(f"lambda teacher must be >= 0, got {self.lambda_teacher}")
        if not (0.0 <= self.apex_gap_rate <= 1.0):
            raise RootRepairError(f"apex gap rate must be within 0..1, got {self.apex_gap_rate}")
        if self.variant == "gan-gl-m" and not self.real:
            raise RootRepairError("gan-gl-m needs --real FOLDER: masks with inherent gaps")
        if self.patch % 16 or self.large[0] % self.patch or self.large[1] % self.patch:
            raise RootRepairError(f"large {self.large} must be a multiple of patch {self.patch}, itself a multiple of 16")
        if self.per_mask > (self.large[0] // self.patch) * (self.large[1] // self.patch):
            raise RootRepairError(f"{self.per_mask} patches per mask is more than the patches in a large mask {self.large}")
        if self.batch % self.per_mask:
            raise RootRepairError(f"batch {self.batch} must be a multiple of the patches per mask ({self.per_mask})")
        if self.per_mask < self.batch and self.uses_global:
            raise RootRepairError(f"{self.variant} cuts its whole batch from one large mask (D_G scores it); leave --patches-per-mask at 0")
        if self.lr_schedule not in LR_SCHEDULES:
            raise RootRepairError(f"unknown lr schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")
        if not (0.0 <= self.ema < 1.0):
            raise RootRepairError(f"ema must be within 0..1 (0: none; e.g. 0.999), got {self.ema}")
        if self.refresh_every < 1 or self.workers < 0 or self.max_minutes < 0:
            raise RootRepairError("refresh every must be >= 1, workers >= 0 and max minutes >= 0")

    @property
    def per_mask(self) -> int:
        return self.patches_per_mask or self.batch

    @property
    def gap_kinds(self) -> list[str]:
        return [k.strip() for k in self.gaps.split(",") if k.strip()]

    @property
    def presets(self) -> list[str]:
        return [k.strip() for k in self.preset.split(",") if k.strip()]

    @property
    def uses_local(self) -> bool:
        return self.variant in ("gan-l", "gan-gl", "gan-gl-m")

    @property
    def uses_global(self) -> bool:
        return self.variant in ("gan-g", "gan-gl", "gan-gl-m")


# ------------------------------------------------------------------------ data


class LargeMaskSource:
    """Large complete masks: crops of synthetic rhizotrons, or of a folder's masks."""

    def __init__(self, cfg: TrainConfig, rng: np.random.Generator):
        self.cfg, self.rng = cfg, rng
        self.files: list[np.ndarray] | None = None
        self.draws = 0
        if cfg.data:
            self.files = _load_folder(cfg.data)
        self.pool = [self._fresh() for _ in range(cfg.pool)]

    def _fresh(self) -> np.ndarray:
        from rootrepair.synth import add_segmentation_noise, generate_root_system, get_preset

        # each mask's noise level is drawn from 0 (clean) to cfg.noise, so G sees both; the
        # noise is part of the complete mask: gaps are cut afterwards, so G learns that
        # lumps, hairs and specks are not gaps
        level = float(self.rng.uniform(0.0, self.cfg.noise)) if self.cfg.noise else 0.0
        if self.files is not None:
            full = self.files[int(self.rng.integers(len(self.files)))]
            return add_segmentation_noise(full, self.rng, level) if level else full
        preset = self.cfg.presets[int(self.rng.integers(len(self.cfg.presets)))]
        return generate_root_system(get_preset(preset, noise=level), int(self.rng.integers(TRAIN_SEED_LIMIT))).mask

    def draw(self) -> np.ndarray:
        """One large crop with foreground, rescaled and freshly augmented; refreshes one pool entry."""
        i = int(self.rng.integers(len(self.pool)))
        full = self.pool[i]
        self.draws += 1
        if self.files is None and self.draws % self.cfg.refresh_every == 0:
            self.pool[i] = self._fresh()
        crop = scaled_crop(full, self.cfg.large, self.cfg.scale, self.rng)
        return augment(crop, self.rng) if self.cfg.augment else crop


def scaled_crop(full: np.ndarray, size: tuple[int, int], scale: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A ``size`` crop of ``full`` enlarged by a factor drawn log-uniformly from ``scale``.

    Enlarging a smaller crop widens every root by the same factor, so one preset gives
    the whole range of root widths (chickpea's 1.4-8 px become 1.4-16 px with (1, 2)).
    """
    s = float(np.exp(rng.uniform(np.log(scale[0]), np.log(scale[1]))))
    if abs(s - 1.0) < 1e-3:
        return crop_with_foreground(full, size, rng)
    small = (max(int(round(size[0] / s)), 8), max(int(round(size[1] / s)), 8))
    crop = crop_with_foreground(full, small, rng).astype(np.float32)
    big = ndi.zoom(crop, (size[0] / small[0], size[1] / small[1]), order=1, grid_mode=True, mode="grid-constant") > 0.5
    out = np.zeros(size, bool)
    h, w = min(size[0], big.shape[0]), min(size[1], big.shape[1])
    out[:h, :w] = big[:h, :w]
    return out


def _load_folder(folder: str) -> list[np.ndarray]:
    from rootrepair import io as rio

    images, _ = rio.list_images(folder)
    masks = [m for _, m, _, err in rio.iter_masks(images) if err is None]
    if not masks:
        raise RootRepairError(f"{folder}: no readable masks")
    return masks


def crop_with_foreground(full: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A (rows, cols) crop centred near a random foreground pixel, zero-padded if the mask is smaller."""
    h, w = size
    if full.shape[0] < h or full.shape[1] < w:
        pad = ((0, max(h - full.shape[0], 0)), (0, max(w - full.shape[1], 0)))
        full = np.pad(full, pad)
    fg = np.flatnonzero(full.ravel())
    if fg.size:
        r, c = np.unravel_index(fg[rng.integers(fg.size)], full.shape)
    else:
        r, c = full.shape[0] // 2, full.shape[1] // 2
    top = int(np.clip(r - h // 2 + rng.integers(-h // 4, h // 4 + 1), 0, full.shape[0] - h))
    left = int(np.clip(c - w // 2 + rng.integers(-w // 4, w // 4 + 1), 0, full.shape[1] - w))
    return full[top : top + h, left : left + w].copy()


def augment(mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flips, a small rotation, sometimes a 1-px dilation, sometimes boundary noise."""
    if rng.random() < 0.5:
        mask = mask[:, ::-1]
    if rng.random() < 0.5:
        mask = mask[::-1, :]
    if rng.random() < 0.3:
        mask = ndi.rotate(mask.astype(np.uint8), rng.uniform(-20, 20), reshape=False, order=0) > 0
    if rng.random() < 0.2:
        mask = ndi.binary_dilation(mask)
    if rng.random() < 0.2:
        edge = mask & ~ndi.binary_erosion(mask)
        mask = mask & ~(edge & (rng.random(mask.shape) < 0.1))
    return np.ascontiguousarray(mask)


def tile_origins(size: tuple[int, int], patch: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(0, size[0], patch) for c in range(0, size[1], patch)]


def choose_tiles(mask: np.ndarray, patch: int, k: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """k non-overlapping tiles, drawn with weight growing with their foreground."""
    origins = tile_origins(mask.shape, patch)
    fg = np.array([mask[r : r + patch, c : c + patch].sum() for r, c in origins], dtype=float)
    weight = fg + 0.02 * fg.sum() / len(fg) + 1e-6
    idx = rng.choice(len(origins), size=k, replace=False, p=weight / weight.sum())
    return [origins[i] for i in idx]


def cut(mask: np.ndarray, origins: list[tuple[int, int]], patch: int) -> np.ndarray:
    return np.stack([mask[r : r + patch, c : c + patch] for r, c in origins])  # (B, P, P)


def to_tensor(a: np.ndarray, device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    while t.dim() < 4:
        t = t.unsqueeze(-3)  # (B, 1, H, W)
    return t.to(device)


@dataclasses.dataclass
class Batch:
    """One synthetic step's data. Patch tensors (B, 1, P, P); large ones (1, 1, H, W)."""

    x: torch.Tensor  # gappy patches
    y: torch.Tensor  # complete patches
    gap: torch.Tensor  # artificial gap shapes
    y2: torch.Tensor | None  # complete patches of another large mask (D_G's real pairs)
    X: torch.Tensor | None  # the gappy large mask the patches came from
    Y: torch.Tensor | None  # the complete large mask
    origins: list[tuple[int, int]]
    skeleton: torch.Tensor | None = None  # complete patches' skeleton, one px thickened (skeleton-recall loss)


def limit_apex_gaps(
    Y: np.ndarray, X: np.ndarray, gap: np.ndarray, rate: float, rng: np.random.Generator, *, skeleton: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Undo gaps that swallowed a root's apex until at most ``rate`` of the apices lie in a gap.

    A gap over an apex teaches the generator to lengthen tips that end naturally; real
    occlusion covers 2-3% of apices (``benchmarks/results/gap_tips.md``). Each gap region
    holding an apex is restored with the probability that brings the expected share down
    to ``rate``. ``skeleton``: Y's skeleton, when the caller has it. Returns (X, gap, share
    of apices in a gap before the limit).
    """
    from rootrepair.decode import end_points

    apices = end_points(thin(Y) if skeleton is None else skeleton)
    if not len(apices):
        return X, gap, 0.0
    labels, _ = ndi.label(gap)
    hit = labels[apices[:, 0], apices[:, 1]]
    share = float((hit > 0).mean())
    if share <= rate:
        return X, gap, share
    restore = [lab for lab in np.unique(hit[hit > 0]) if rng.random() < 1.0 - rate / share]
    if restore:
        back = np.isin(labels, restore)
        X, gap = X | (Y & back), gap & ~back
    return X, gap, share


def tubed_skeleton(skeleton: np.ndarray) -> np.ndarray:
    """A skeleton thickened by one px (Skeleton Recall's target)."""
    return ndi.binary_dilation(skeleton, ndi.generate_binary_structure(2, 1))


def make_batch(
    Y: np.ndarray, Y2: np.ndarray | None, cfg: TrainConfig, rng: np.random.Generator, device, *, large: bool = True, k: int | None = None
) -> Batch:
    """``k`` patches (default ``cfg.batch``) of Y with gaps made over the whole of Y."""
    kinds = cfg.gap_kinds
    k = cfg.batch if k is None else k
    X, gap = make_gaps(Y, kinds[int(rng.integers(len(kinds)))], rng)
    skel = None
    if cfg.apex_gap_rate < 1.0 or cfg.topology_loss != "none":
        skel = thin(Y)  # once, for the apex limit and the topology loss
    if cfg.apex_gap_rate < 1.0:
        X, gap, _ = limit_apex_gaps(Y, X, gap, cfg.apex_gap_rate, rng, skeleton=skel)
    origins = choose_tiles(Y, cfg.patch, k, rng)
    y2 = None
    if Y2 is not None:
        y2 = to_tensor(cut(Y2, choose_tiles(Y2, cfg.patch, k, rng), cfg.patch), device)
    return Batch(
        x=to_tensor(cut(X, origins, cfg.patch), device),
        y=to_tensor(cut(Y, origins, cfg.patch), device),
        gap=to_tensor(cut(gap, origins, cfg.patch), device),
        y2=y2,
        X=to_tensor(X[None], device) if large else None,
        Y=to_tensor(Y[None], device) if large else None,
        origins=origins,
        skeleton=to_tensor(cut(tubed_skeleton(skel), origins, cfg.patch), device) if cfg.topology_loss != "none" else None,
    )


def synthetic_batch(source: LargeMaskSource, cfg: TrainConfig, rng: np.random.Generator, device) -> Batch:
    """One synthetic step: ``cfg.batch`` patches, ``cfg.per_mask`` from each freshly drawn large mask."""
    if cfg.per_mask >= cfg.batch:
        Y1 = source.draw()
        Y2 = source.draw() if cfg.uses_global else None
        return make_batch(Y1, Y2, cfg, rng, device, large=cfg.uses_global)
    parts = [make_batch(source.draw(), None, cfg, rng, device, large=False, k=cfg.per_mask) for _ in range(cfg.batch // cfg.per_mask)]
    cat = lambda name: torch.cat([getattr(b, name) for b in parts]) if getattr(parts[0], name) is not None else None  # noqa: E731
    return Batch(x=cat("x"), y=cat("y"), gap=cat("gap"), y2=None, X=None, Y=None, origins=[o for b in parts for o in b.origins], skeleton=cat("skeleton"))


class _BatchStream(torch.utils.data.IterableDataset):
    """Synthetic batches made in worker processes, each with its own mask pool and seed."""

    def __init__(self, cfg: TrainConfig, step: int):
        self.cfg, self.step = cfg, step

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.cfg.seed, self.step, info.id if info else 0])
        source = LargeMaskSource(self.cfg, rng)
        cpu = torch.device("cpu")
        while True:
            b = synthetic_batch(source, self.cfg, rng, cpu)
            yield {f.name: getattr(b, f.name) for f in dataclasses.fields(b)}


def _as_is(sample):
    return sample


def _batches(cfg: TrainConfig, step: int, rng: np.random.Generator, device):
    """Endless synthetic batches on ``device``: made here (workers = 0) or in worker processes.

    With workers the data's random stream depends on the number of workers and on the step
    a run resumed at, so such a run is not repeatable draw for draw (the paper's was not either).
    """
    if not cfg.workers:
        source = LargeMaskSource(cfg, rng)
        while True:
            yield synthetic_batch(source, cfg, rng, device)
    loader = torch.utils.data.DataLoader(
        _BatchStream(cfg, step), batch_size=None, num_workers=cfg.workers, collate_fn=_as_is, prefetch_factor=4, pin_memory=device.type == "cuda"
    )
    for d in loader:
        yield Batch(**{k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in d.items()})


# ---------------------------------------------------------------------- losses


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Pixel-wise 2-class CE (eq. 4); with ``mask``, only at the masked pixels (eq. 11)."""
    ce = F.cross_entropy(logits.float(), target[:, 0].long(), reduction="none")  # (B, H, W)
    if mask is None:
        return ce.mean()
    m = mask[:, 0]
    return (ce * m).sum() / m.sum().clamp(min=1.0)


def soft_cross_entropy(logits: torch.Tensor, target_prob: torch.Tensor) -> torch.Tensor:
    """Mean 2-class cross-entropy against a soft target: -(t log p + (1 - t) log(1 - p)).

    The teacher term of distillation: its minimum over p is at p = t, so G learns the
    teacher's probabilities, confident and unsure alike, not only its thresholded mask.
    """
    logp = F.log_softmax(logits.float(), dim=1)  # (B, 2, H, W): background, foreground
    t = target_prob.float()[:, 0]
    return -(t * logp[:, 1] + (1.0 - t) * logp[:, 0]).mean()


def skeleton_recall_loss(prob: torch.Tensor, skeleton: torch.Tensor) -> torch.Tensor:
    """Skeleton Recall (Kirchhoff et al., ECCV 2024): 1 - the soft recall of the target's tubed skeleton.

    Missing a root's thin middle costs as much as missing a thick one's, so the loss pays
    for connectivity that pixel-wise CE, dominated by wide roots and background, barely sees.
    """
    s = skeleton.float()
    return 1.0 - (prob.float() * s).sum() / s.sum().clamp(min=1.0)


def straight_through(prob: torch.Tensor) -> torch.Tensor:
    """G's output binarised at 0.5 in the forward pass, the identity's gradient in the backward.

    D_L then compares binary with binary masks: it cannot win on soft-vs-hard values and
    must judge shapes, while G still gets its gradient.
    """
    return (prob > 0.5).to(prob.dtype) + (prob - prob.detach())  # exactly 0 or 1 forward


def with_noise(t: torch.Tensor, sd: float) -> torch.Tensor:
    """Instance noise: N(0, sd) added to a discriminator input (no-op at sd 0)."""
    return t + sd * torch.randn_like(t) if sd > 0 else t


def lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 5: (1 - D(y))^2 + D(G(x))^2."""
    return ((1 - d_real) ** 2).mean() + (d_fake**2).mean()


def lsgan_g_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 6: (1 - D(G(x)))^2."""
    return ((1 - d_fake) ** 2).mean()


def global_d_loss(s_real: torch.Tensor, s_fake: torch.Tensor) -> torch.Tensor:
    """Eq. 8 as a minimisation: -log D_G(y1, y2) - log(1 - D_G(G(x1), y1))."""
    eps = 1e-6
    return -(torch.log(s_real.clamp(min=eps)).mean() + torch.log((1 - s_fake).clamp(min=eps)).mean())


def paste(X: torch.Tensor, patches: torch.Tensor, origins: list[tuple[int, int]]) -> torch.Tensor:
    """Put (B, 1, P, P) patches back into a copy of the (1, 1, H, W) large mask."""
    out = X.clone()
    p = patches.shape[-1]
    for k, (r, c) in enumerate(origins):
        out[0, :, r : r + p, c : c + p] = patches[k]
    return out


def reinforce_loss(prob: torch.Tensor, batch: Batch, d_global: torch.nn.Module, k: int, noise: float = 0.0) -> tuple[torch.Tensor, float, float]:
    """Eq. 9 with a baseline: -(r_k - mean r) * log pi(a_k), averaged over K samples.

    Each sample a_k ~ Bernoulli(prob) is pasted into the gappy large mask and scored by
    D_G against the complete one; the mean reward of the K samples is the baseline, so
    the term only pushes toward samples that are better than the policy's average.
    Returns the loss, the mean reward and the rewards' spread (sd; 0 means no signal).
    """
    p = prob.float().clamp(1e-6, 1 - 1e-6)
    samples, rewards = [], []
    with torch.no_grad():
        for _ in range(k):
            a = torch.bernoulli(p)
            r = d_global(with_noise(paste(batch.X, a, batch.origins), noise), with_noise(batch.Y, noise))  # (1,)
            samples.append(a)
            rewards.append(r.float().squeeze())
    rewards_t = torch.stack(rewards)
    advantage = rewards_t - rewards_t.mean()
    loss = prob.new_zeros((), dtype=torch.float32)
    for a, adv in zip(samples, advantage):
        log_pi = (a * torch.log(p) + (1 - a) * torch.log(1 - p)).mean()
        loss = loss - adv * log_pi
    return loss / k, float(rewards_t.mean()), float(rewards_t.std())


def generator_losses(
    G, batch: Batch, cfg: TrainConfig, d_local=None, d_global=None, *, masked: bool = False, noise: float = 0.0,
    teacher_prob: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """The terms of eq. 10 (plus the topology and teacher terms) for one batch. Returns (total, terms, logits, prob).

    ``terms`` holds each term's value *before* its lambda; ``total`` is the weighted sum.
    """
    logits = G(batch.x)
    prob = foreground_probability(logits)
    terms: dict[str, torch.Tensor] = {}
    terms["ce"] = cross_entropy(logits, batch.y, batch.gap if masked else None)
    total = cfg.lambda_ce * terms["ce"]
    if not masked and cfg.lambda_gap > 0:
        # the gap pixels are ~0.5% of a patch: in the mean CE they barely count, so G learns
        # to copy its input; this term weighs the missing pieces on their own
        terms["gap"] = cross_entropy(logits, batch.y, batch.gap)
        total = total + cfg.lambda_gap * terms["gap"]
    if cfg.topology_loss == "skeleton-recall" and batch.skeleton is not None:
        terms["topology"] = skeleton_recall_loss(prob, batch.skeleton)
        total = total + cfg.lambda_topology * terms["topology"]
    if teacher_prob is not None:
        terms["teacher"] = soft_cross_entropy(logits, teacher_prob)
        total = total + cfg.lambda_teacher * terms["teacher"]
    if not masked and d_local is not None:
        shown = straight_through(prob) if cfg.local_input == "straight-through" else prob
        terms["local"] = lsgan_g_loss(d_local(with_noise(shown, noise)))
        total = total + cfg.lambda_local * terms["local"]
    if not masked and d_global is not None and batch.X is not None:
        terms["global"], terms["reward"], terms["reward_sd"] = reinforce_loss(prob, batch, d_global, cfg.reinforce_samples, noise)
        total = total + cfg.lambda_global * terms["global"]
    return total, terms, logits, prob


def gradient_size(term: torch.Tensor, G: torch.nn.Module) -> float:
    """Norm of one loss term's gradient at G's last layer (how much that term steers G)."""
    last = [p for p in G.parameters() if p.requires_grad][-2:]  # the output layer's weight and bias
    if not term.requires_grad:
        return 0.0
    grads = torch.autograd.grad(term, last, retain_graph=True, allow_unused=True)
    return float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)))


# ------------------------------------------------------------------ validation


def validation_set(cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed, seeded validation patches (x, y, gap), (N, P, P), from seeds no training step draws."""
    rng = np.random.default_rng(VALIDATION_SEED + cfg.seed)
    files = _load_folder(cfg.data) if cfg.data else None
    xs, ys, gs = [], [], []
    k = 0
    while len(xs) < cfg.val_patches:
        if files is not None:
            full = files[k % len(files)]
        else:
            from rootrepair.synth import generate_root_system, get_preset

            presets = cfg.presets
            full = generate_root_system(get_preset(presets[k % len(presets)]), VALIDATION_SEED + k).mask
        Y = crop_with_foreground(full, cfg.large, rng)
        kinds = cfg.gap_kinds
        X, gap = make_gaps(Y, kinds[k % len(kinds)], rng)
        for r, c in choose_tiles(Y, cfg.patch, min(4, cfg.batch), rng):
            xs.append(X[r : r + cfg.patch, c : c + cfg.patch])
            ys.append(Y[r : r + cfg.patch, c : c + cfg.patch])
            gs.append(gap[r : r + cfg.patch, c : c + cfg.patch])
        k += 1
    n = cfg.val_patches
    return np.stack(xs[:n]), np.stack(ys[:n]), np.stack(gs[:n])


@torch.no_grad()
def validate(G, val, device) -> dict[str, float]:
    x, y, gap = val
    G.eval()
    logits = torch.cat([G(to_tensor(x[i : i + 8], device)) for i in range(0, len(x), 8)])
    G.train()
    prob = foreground_probability(logits).cpu().numpy()[:, 0]
    pred = prob > 0.5
    missing = y & ~x  # the foreground the gaps removed
    added = pred & ~x
    return {
        "val_ce": float(F.cross_entropy(logits.float().cpu(), torch.from_numpy(y).long()).item()),
        "val_gap_recall": float((pred & missing).sum() / max(missing.sum(), 1)),
        "val_false_positive_per_gap_px": float((added & ~y).sum() / max(missing.sum(), 1)),
    }


def preview(G, val, device, n: int = 4) -> np.ndarray:
    """(n*P, 3*P, 3) uint8: input | output (added pixels red) | target, one row per patch."""
    x, y, _ = val
    with torch.no_grad():
        G.eval()
        prob = foreground_probability(G(to_tensor(x[:n], device))).cpu().numpy()[:, 0]
        G.train()
    rows = []
    for xi, yi, pi in zip(x[:n], y[:n], prob):
        grey = lambda m: np.repeat((m * 255).astype(np.uint8)[..., None], 3, axis=2)  # noqa: E731
        out = grey(xi)
        out[(pi > 0.5) & ~xi] = (230, 30, 30)
        sep = np.full((xi.shape[0], 2, 3), 128, np.uint8)
        rows.append(np.concatenate([grey(xi), sep, out, sep, grey(yi)], axis=1))
    return np.concatenate(rows, axis=0)


# ------------------------------------------------------------------------ loop


def build_networks(cfg: TrainConfig, device):
    G = build_model(VARIANT_ARCH[cfg.variant], base=cfg.base).to(device)
    d_local = build_model("local-discriminator", base=cfg.base).to(device) if cfg.uses_local else None
    d_global = build_model("global-discriminator", base=cfg.base).to(device) if cfg.uses_global else None
    if device.type == "cuda":
        G = G.to(memory_format=torch.channels_last)
    return G, d_local, d_global


def train(cfg: TrainConfig, *, resume: bool = False, on_step: Callable[[int, dict], None] | None = None) -> Path:
    """Run Algorithm 1 for ``cfg.steps`` steps; returns the exported generator's JSON path.

    Writes into ``cfg.out``: ``config.json``, ``metrics.jsonl``, ``previews/``,
    ``checkpoint.(safetensors|json)`` every ``checkpoint_every`` steps (resumable), and
    ``generator.(safetensors|json)`` at the end.
    """
    from rootrepair import io as rio

    device = resolve_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    if out.exists() and (out / "config.json").exists() and not resume:
        raise RootRepairError(f"{out} already holds a run; pass --resume to continue it or choose a new --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "previews").mkdir(exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    G, d_local, d_global = build_networks(cfg, device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    d_params = [p for d in (d_local, d_global) if d is not None for p in d.parameters()]
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr_d, betas=cfg.betas) if d_params else None
    modules = {"G": G, **({"D_L": d_local} if d_local else {}), **({"D_G": d_global} if d_global else {})}
    optimisers = {"G": opt_g, **({"D": opt_d} if opt_d else {})}
    step, seconds = 0, 0.0
    if cfg.init and not (resume and ckpt.with_suffix(".json").exists()):
        init_generator(G, cfg)
    ema = None
    if cfg.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        # weights and batch-norm statistics alike; its first update copies G
        ema = AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True)
    if resume and ckpt.with_suffix(".json").exists():
        meta = load_training_state(ckpt, modules, optimisers)
        step, seconds = int(meta["step"]), float(meta.get("seconds", 0.0))
        if ema is not None and meta.get("ema"):
            load_training_state(ckpt, {"G_ema": ema.module}, {})
            ema.n_averaged.fill_(1)  # go on averaging rather than copy G at the next update
        rng = np.random.default_rng([cfg.seed, step])
        torch.manual_seed(cfg.seed + step)
    rio.atomic_write(out / "config.json", lambda tmp: tmp.write_text(json.dumps(_config_dict(cfg), indent=2)))

    batches = _batches(cfg, step, rng, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    real = _load_folder(cfg.real) if cfg.variant == "gan-gl-m" else None
    val = validation_set(cfg)
    amp = (cfg.amp and device.type == "cuda") or (cfg.cpu_bf16 and device.type == "cpu")
    teacher = None
    if cfg.teacher:
        from rootrepair.models.checkpoint import load_generator

        teacher = load_generator(cfg.teacher)[0].float().to(device).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)

    def autocast():
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp)

    log = open(out / "metrics.jsonl", "a")
    t0 = time.perf_counter()
    try:
        while step < cfg.steps:
            step += 1
            t_step = time.perf_counter()
            rate = lr_factor(cfg, step, t_step - t0)
            for opt, lr in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
                for group in opt.param_groups if opt is not None else ():
                    group["lr"] = lr * rate
            real_batch = real is not None and step % 2 == 0
            noise = cfg.instance_noise * max(0.0, 1.0 - step / cfg.steps)
            if real_batch:
                # GAN-GL-M real batch: masked CE at the artificial gaps only, generator only
                Y = crop_with_foreground(real[int(rng.integers(len(real)))], cfg.large, rng)
                batch = make_batch(Y, None, cfg, rng, device, large=False)
                with autocast():
                    loss_g, terms, _, _ = generator_losses(G, batch, cfg, masked=True)
                opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
                opt_g.step()
                if ema is not None:
                    ema.update_parameters(G)
                logs = {"loss_g": float(loss_g.detach()), **{k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in terms.items()}, "batch": "real"}
            else:
                batch = next(batches)
                logs = {"batch": "synthetic"}
                # discriminator step
                if opt_d is not None:
                    with torch.no_grad(), autocast():
                        prob_d = foreground_probability(G(batch.x))
                    loss_d = batch.x.new_zeros(())
                    hard = (prob_d > 0.5).to(prob_d.dtype)
                    fake_l = hard if cfg.local_input == "straight-through" else prob_d
                    nz = lambda t: with_noise(t, noise)  # noqa: E731
                    with autocast():
                        if d_local is not None:
                            loss_dl = lsgan_d_loss(d_local(nz(batch.y)), d_local(nz(fake_l)))
                            loss_d = loss_d + loss_dl
                            logs["loss_d_local"] = float(loss_dl.detach())
                        if d_global is not None:
                            loss_dg = global_d_loss(d_global(nz(batch.y), nz(batch.y2)), d_global(nz(hard), nz(batch.y)))
                            loss_d = loss_d + loss_dg
                            logs["loss_d_global"] = float(loss_dg.detach())
                    opt_d.zero_grad(set_to_none=True)
                    loss_d.float().backward()
                    opt_d.step()
                # generator step
                teacher_prob = None
                if teacher is not None:
                    with torch.no_grad(), autocast():
                        teacher_prob = foreground_probability(teacher(batch.x))
                with autocast():
                    loss_g, terms, _, _ = generator_losses(G, batch, cfg, d_local, d_global, noise=noise, teacher_prob=teacher_prob)
                if step % cfg.log_every == 0:
                    # how hard each term pulls on G: a term whose gradient is ~0 teaches nothing
                    for name, lam in (("ce", cfg.lambda_ce), ("gap", cfg.lambda_gap), ("topology", cfg.lambda_topology), ("teacher", cfg.lambda_teacher), ("local", cfg.lambda_local), ("global", cfg.lambda_global)):
                        if name in terms and torch.is_tensor(terms[name]):
                            logs[f"grad_{name}"] = gradient_size(lam * terms[name].float(), G)
                opt_g.zero_grad(set_to_none=True)
                loss_g.float().backward()
                opt_g.step()
                if ema is not None:
                    ema.update_parameters(G)
                logs.update({"loss_g": float(loss_g.detach()), **{k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in terms.items()}})
            seconds += time.perf_counter() - t_step
            logs["step"] = step
            logs["s_per_step"] = time.perf_counter() - t_step
            if cfg.lr_schedule != "constant":
                logs["lr_g"] = cfg.lr_g * rate
            if step % cfg.val_every == 0 or step == cfg.steps:
                logs.update(validate(G, val, device))
                if ema is not None:
                    logs.update({f"ema_{k}": v for k, v in validate(ema.module, val, device).items()})
                rio.write_image(out / "previews" / f"step_{step:06d}.png", preview(G, val, device))
            if step % cfg.log_every == 0 or "val_ce" in logs:
                log.write(json.dumps(logs) + "\n")
                log.flush()
            # a stretch that is over checkpoints here, so that --resume continues from this step
            stretch_over = bool(cfg.max_minutes) and time.perf_counter() - t0 > 60 * cfg.max_minutes
            if step % cfg.checkpoint_every == 0 or step == cfg.steps or stretch_over:
                kept = dict(modules, **({"G_ema": ema.module} if ema is not None else {}))
                save_training_state(ckpt, kept, optimisers, {"step": step, "seconds": seconds, "ema": ema is not None, "config": _config_dict(cfg)})
            if on_step:
                on_step(step, logs)
            if stretch_over:
                break
    finally:
        log.close()
    card = _config_dict(cfg)
    card.update(
        arch=VARIANT_ARCH[cfg.variant],
        steps_done=step,
        train_seconds=round(seconds, 1),
        device=str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
        torch=torch.__version__,
        software=f"rootrepair {__version__}",
        wall_seconds_this_session=round(time.perf_counter() - t0, 1),
        exported_weights="ema" if ema is not None else "last",
    )
    return save_generator(out / "generator", ema.module if ema is not None else G, card)


def lr_factor(cfg: TrainConfig, step: int, elapsed_s: float) -> float:
    """The share of ``--lr-g`` and ``--lr-d`` at ``step`` (counted from 1), ``elapsed_s`` into this stretch.

    constant: 1. cosine: ``(1 + cos(pi f)) / 2``, where ``f`` is the share of the run done:
    of its steps, or of the stretch's ``max_minutes`` when that is further on (a stretch
    stopped by the clock still ends near 0; a resumed stretch counts its minutes from 0
    again, so it restarts near 1 unless its steps are further on: a warm restart, as in SGDR).
    """
    if cfg.lr_schedule == "constant":
        return 1.0
    f = (step - 1) / max(cfg.steps, 1)
    if cfg.max_minutes:
        f = max(f, elapsed_s / (60.0 * cfg.max_minutes))
    return 0.5 * (1.0 + math.cos(math.pi * min(f, 1.0)))


def init_generator(G: torch.nn.Module, cfg: TrainConfig) -> None:
    """Load ``cfg.init``'s weights into G (fine-tuning, or resuming from committed weights).

    Only the generator is carried: discriminators and optimisers start afresh. A wider U-Net
    of the same kind is slimmed to G's width first (``slim_generator``).
    """
    from rootrepair.models.checkpoint import load_generator

    src, meta = load_generator(cfg.init)
    src_base = int(meta.get("base", -1))
    if meta.get("arch") != VARIANT_ARCH[cfg.variant] or src_base < cfg.base:
        raise RootRepairError(
            f"--init {cfg.init}: a {meta.get('arch')} of base {meta.get('base')}, but {cfg.variant} needs a {VARIANT_ARCH[cfg.variant]} of base {cfg.base} or wider"
        )
    if src_base > cfg.base:
        from rootrepair.models.networks import slim_generator

        src = slim_generator(src.float(), cfg.base)  # a wider U-Net: keep its strongest channels
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in src.state_dict().items()})


def _config_dict(cfg: TrainConfig) -> dict:
    d = dataclasses.asdict(cfg)
    for key in ("large", "betas", "scale"):
        d[key] = list(getattr(cfg, key))
    return d


def config_from_dict(d: dict) -> TrainConfig:
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    d = {k: v for k, v in d.items() if k in fields}
    for key in ("large", "betas", "scale"):
        if key in d:
            d[key] = tuple(d[key])
    return TrainConfig(**d)


def seconds_per_step(cfg: TrainConfig, steps: int = 3) -> float:
    """Mean seconds of a training step (after one warm-up), for the benchmark."""
    import tempfile

    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        c = dataclasses.replace(cfg, out=tmp + "/run", steps=steps + 1, val_every=10**9, checkpoint_every=10**9, log_every=1)
        train(c, on_step=lambda s, logs: times.append(logs["s_per_step"]) if s > 1 else None)
    return float(np.mean(times)) if times else math.nan


def export_generator(run_dir: str | Path, dest: str | Path, *, dtype: str = "float16", weights: str = "ema", **card_extra) -> Path:
    """Write the generator of a run's latest checkpoint as ``dest.(safetensors|json)``.

    Lets a model be shipped from a run that is still going (or was stopped). ``weights``:
    ``ema``, the moving average where the run keeps one (``--ema``), else the last weights;
    ``last``, the last weights always.
    """
    if weights not in ("ema", "last"):
        raise RootRepairError(f"weights must be ema or last, got {weights!r}")
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "checkpoint.json").read_text())
    cfg = config_from_dict(meta["config"])
    G = build_model(VARIANT_ARCH[cfg.variant], base=cfg.base)
    which = "G_ema" if weights == "ema" and meta.get("ema") else "G"
    load_training_state(run_dir / "checkpoint", {which: G}, {})
    card_extra.setdefault("exported_weights", "ema" if which == "G_ema" else "last")
    card = _config_dict(cfg)
    card.update(
        arch=VARIANT_ARCH[cfg.variant],
        steps_done=int(meta["step"]),
        train_seconds=round(float(meta.get("seconds", 0.0)), 1),
        torch=torch.__version__,
        software=f"rootrepair {__version__}",
        **card_extra,
    )
    return save_generator(dest, G.eval(), card, dtype=dtype)

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage as ndi
from typer.testing import CliRunner

from rootrepair.cli import app
from rootrepair.errors import RootRepairError
from rootrepair.inpaint import InpaintSettings, predict_probability, repair_folder, repair_mask, select_shard
from rootrepair.io import PolarityWarning
from rootrepair.models.checkpoint import save_generator
from rootrepair.models.networks import UNetGenerator
from rootrepair.tiling import bands, grid, taper_window

runner = CliRunner()


class Bridge(torch.nn.Module):
    """A stand-in 'network' with a known answer: foreground where a 5x5 box filter finds any input.

    Translation-equivariant with a small reach, so tiled and untiled outputs must agree exactly
    away from nothing; it also fills 1-2 px gaps, like a repair would.
    """

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        box = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=True)
        fg = (box > 0).float()
        return torch.cat([1 - fg, fg], dim=1) * 20 - 10  # logits


def test_taper_window_and_grid():
    w = taper_window(64, 16)
    assert w.shape == (64, 64) and w[32, 32] == 1 and 0 < w[0, 0] < w[0, 32] < 1
    assert grid(100, 64, 48) == [0, 48]
    assert grid(50, 64, 48) == [0]
    starts = [r for r, _ in bands((300, 200), 64, 16)]
    assert starts == grid(300 + 32, 64, 48)


def test_tiled_output_equals_a_single_pass():
    m = np.zeros((150, 230), bool)
    m[10:140, 100:103] = True
    m[70:73, 5:225] = True
    m[40:42, 100:103] = False  # a 2-px gap
    full = torch.softmax(Bridge()(torch.from_numpy(m.astype(np.float32))[None, None]), 1)[0, 1].numpy()
    for tile, overlap in [(64, 16), (96, 32), (256, 64)]:
        p = predict_probability(Bridge(), m, InpaintSettings(tile=tile, overlap=overlap, batch=3))
        assert np.abs(p - full).max() < 1e-5, (tile, overlap)


def test_tiled_trained_like_unet_has_no_seams():
    """A real U-Net (random weights, eval mode) tiled vs untiled on an image it fits whole."""
    torch.manual_seed(0)
    g = UNetGenerator(base=4)
    g.train()
    for _ in range(3):  # settle the BN statistics on mask-like input
        g((torch.rand(4, 1, 64, 64) > 0.95).float())
    g.eval()
    m = np.zeros((192, 192), bool)
    m[20:170, 90:93] = True
    with torch.no_grad():
        full = torch.softmax(g(torch.from_numpy(m.astype(np.float32))[None, None]), 1)[0, 1].numpy()
    p = predict_probability(g, m, InpaintSettings(tile=128, overlap=48))
    near = ndi.binary_dilation(m, iterations=3)  # skipped empty tiles give 0, not the prior, far away
    assert np.abs(p - full)[near].mean() < 0.01
    assert ((p > 0.5) == (full > 0.5)).mean() > 0.999


def test_add_mode_never_deletes_input_pixels():
    m = np.zeros((80, 80), bool)
    m[10:70, 40] = True
    m[30:32, 40] = False
    eraser = Bridge()
    out = repair_mask(eraser, m, InpaintSettings(tile=64, overlap=16))
    assert out[30:32, 40].all() and (out >= m).all()
    assert repair_mask(eraser, m, InpaintSettings(tile=64, overlap=16, threshold=0.5, mode="replace")).sum() >= m.sum()


class Counting(Bridge):
    """The Bridge stand-in that counts the tiles it is run on (``tiles``: one count per batch)."""

    def __init__(self):
        super().__init__()
        self.tiles = []

    def forward(self, x):
        self.tiles.append(x.shape[0])
        return super().forward(x)


def test_empty_tiles_are_skipped():
    m = np.zeros((400, 400), bool)
    m[10:20, 10:20] = True
    net = Counting()
    p = predict_probability(net, m, InpaintSettings(tile=64, overlap=16, batch=64))
    assert sum(net.tiles) < 4  # only the tiles that see the square
    assert p[200:, 200:].max() == 0


def test_tiles_that_see_foreground_only_at_their_edge_are_skipped_and_weigh_nothing():
    # tiles of 64 on a stride of 48 in an image padded by 16: the band of tiles starting at
    # padded row 48 sees rows 104..111 in its last 8 px, the band at 96 sees them inside
    m = np.zeros((200, 200), bool)
    m[90:92, 5:195] = True  # padded rows 106..107
    full = torch.softmax(Bridge()(torch.from_numpy(m.astype(np.float32))[None, None]), 1)[0, 1].numpy()
    every, edge, default = Counting(), Counting(), Counting()
    p0 = predict_probability(every, m, InpaintSettings(tile=64, overlap=16, batch=1, skip_margin=0))
    p8 = predict_probability(edge, m, InpaintSettings(tile=64, overlap=16, batch=1, skip_margin=8))
    assert len(every.tiles) == 10 and len(edge.tiles) == 5  # 5 tiles across: two bands before, one now
    predict_probability(default, m, InpaintSettings(tile=64, overlap=16, batch=1))
    assert len(default.tiles) == 5  # the default margin is half the overlap
    assert np.abs(p0 - full).max() < 1e-5 and np.abs(p8 - full).max() < 1e-5  # a skipped tile pulls nothing to 0
    with pytest.raises(RootRepairError, match="skip_margin"):
        InpaintSettings(tile=64, overlap=16, skip_margin=9)


def test_shard_selection():
    files = list(range(10))
    assert select_shard(files, (1, 3)) == [1, 4, 7]
    with pytest.raises(RootRepairError):
        select_shard(files, (3, 3))


@pytest.fixture
def model_path(tmp_path, monkeypatch):
    """A checkpoint of the Bridge net, registered as the unet arch so load_generator can build it."""
    import rootrepair.models.networks as nets

    monkeypatch.setitem(nets.MODELS, "bridge", lambda base: Bridge())
    return save_generator(tmp_path / "models" / "bridge", Bridge(), {"arch": "bridge", "base": 0, "variant": "test"})


def _season(root):
    m = np.zeros((100, 60), bool)
    m[5:95, 30] = True
    m[50:52, 30] = False
    (root / "sub").mkdir(parents=True)
    Image.fromarray((m * 255).astype(np.uint8)).save(root / "a.png")
    Image.fromarray((m * 255).astype(np.uint8)).save(root / "sub" / "b.jpg", quality=95)
    (root / "bad.png").write_bytes(b"nope")
    return m


def test_repair_folder_end_to_end(tmp_path, model_path):
    season = tmp_path / "season"
    m = _season(season)
    before = {p: p.read_bytes() for p in season.rglob("*") if p.is_file()}
    r = runner.invoke(app, ["inpaint", str(season), "--model", str(model_path), "--tile", "64", "--overlap", "16"])
    assert r.exit_code == 1, r.output  # bad.png failed; the rest went on
    assert "bad.png" in r.output
    out = tmp_path / "season-repaired"
    assert (out / "a.png").exists() and (out / "sub" / "b.png").exists()  # JPEG written as PNG
    assert (out / "overlays" / "a.png").exists()
    repaired = np.asarray(Image.open(out / "a.png")) > 127
    assert repaired[50:52, 30].all() and repaired.shape == m.shape
    ov = np.asarray(Image.open(out / "overlays" / "a.png"))
    assert tuple(ov[50, 30]) == (230, 25, 25) and tuple(ov[10, 30]) == (255, 255, 255)
    manifest = json.loads((out / "manifest.json").read_text())
    entries = {e["input_rel"]: e for e in manifest["files"]}
    assert entries["a.png"]["components_before"] == 2 and entries["a.png"]["components_after"] == 1
    # the topology decoder adds only the bridge across the 2-px gap, at the line's 1-px width
    assert entries["a.png"]["pixels_added"] == 2
    assert entries["bad.png"]["status"] == "failed"
    assert entries["sub/b.jpg"]["note"] == "JPG input written as PNG (lossless)"
    assert (out / "manifest.csv").exists()
    # inputs untouched
    assert before == {p: p.read_bytes() for p in season.rglob("*") if p.is_file()}
    # a re-run skips finished files
    res = repair_folder(season, out, model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16))
    assert len(res.skipped) == 2 and not res.done
    res = repair_folder(season, out, model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16), force=True)
    assert len(res.done) == 2
    # other repair settings: the files are repaired again, not skipped
    res = repair_folder(season, out, model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16, decoder="threshold"))
    assert len(res.done) == 2 and not res.skipped
    entries = {e["input_rel"]: e for e in json.loads((out / "manifest.json").read_text())["files"]}
    # the paper's threshold: the 5x5 box turns the line (rows 5..94, col 30, less 2 px) into rows 3..96 x cols 28..32
    assert entries["a.png"]["pixels_added"] == 94 * 5 - 88
    assert json.loads((out / "manifest.json").read_text())["settings"]["decode"]["decoder"] == "threshold"
    # traits find the masks before repair through the manifest, and ignore the overlays
    r = runner.invoke(app, ["traits", str(out), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 0, r.output
    import pandas as pd

    comp = pd.read_excel(tmp_path / "t.xlsx", sheet_name="comparison")
    assert set(comp["image"]) == {"a", "sub/b"}
    row = comp[(comp.image == "a") & (comp.trait == "components")].iloc[0]
    assert row["before"] == 2 and row["after"] == 1


@pytest.mark.parametrize("stage", ["decode", "predict_probability"])
def test_an_unforeseen_error_with_one_file_fails_that_file_only(tmp_path, model_path, monkeypatch, stage):
    import rootrepair.inpaint as inpaint

    season = tmp_path / "season"
    _season(season)
    real = getattr(inpaint, stage)

    def flaky(*a, **k):
        mask = a[1] if stage == "predict_probability" else a[0]  # (model, mask, ...) or (mask, prob, ...)
        if mask.shape == (100, 60) and not flaky.done:  # the first good file
            flaky.done = True
            raise ValueError("something nobody foresaw")
        return real(*a, **k)

    flaky.done = False
    monkeypatch.setattr(inpaint, stage, flaky)
    res = repair_folder(season, tmp_path / "out", model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16))
    failed = {e["input_rel"]: e["error"] for e in res.failed}
    assert len(res.done) == 1 and set(failed) == {"a.png", "bad.png"}  # the first good file (a.png) and the bad one
    assert "could not be repaired (ValueError: something nobody foresaw)" in failed["a.png"]
    assert (tmp_path / "out" / "sub" / "b.png").is_file() and not (tmp_path / "out" / "a.png").exists()


def test_an_output_folder_with_another_seasons_repairs_or_other_files_is_refused(tmp_path, model_path):
    s = InpaintSettings(tile=64, overlap=16)
    a, b = tmp_path / "seasonA", tmp_path / "seasonB"
    _season(a)
    _season(b)
    (b / "a.png").write_bytes((a / "sub" / "b.jpg").read_bytes())  # another plant under the same name
    out = tmp_path / "out"
    repair_folder(a, out, model_name=str(model_path), settings=s)
    kept = (out / "a.png").read_bytes()
    with pytest.raises(RootRepairError, match="holds the repairs of another folder"):
        repair_folder(b, out, model_name=str(model_path), settings=s)
    assert (out / "a.png").read_bytes() == kept  # season A's repair is still there
    assert len(repair_folder(a, out, model_name=str(model_path), settings=s).skipped) == 2  # its own folder goes on
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.png").write_bytes(b"a figure of someone's thesis")
    with pytest.raises(RootRepairError, match="holds no rootrepair manifest"):
        repair_folder(a, docs, model_name=str(model_path), settings=s)
    assert (docs / "a.png").read_bytes() == b"a figure of someone's thesis"
    res = repair_folder(b, out, model_name=str(model_path), settings=s, force=True)  # asked for: replaced
    assert len(res.done) == 2


def test_a_parent_folder_is_repaired_without_last_runs_repairs_overlays_or_pictures(tmp_path, model_path):
    s = InpaintSettings(tile=64, overlap=16)
    _season(tmp_path / "season")
    repair_folder(tmp_path / "season", tmp_path / "season-repaired", model_name=str(model_path), settings=s)
    r = runner.invoke(app, ["traits", str(tmp_path / "season-repaired"), "--qc", str(tmp_path / "qc"), "--report"])
    assert list((tmp_path / "qc").rglob("a.qc.png")) and (tmp_path / "season-repaired-traits-report").is_dir(), r.output
    with pytest.warns(UserWarning, match="season-repaired: written by rootrepair inpaint"):
        res = repair_folder(tmp_path, tmp_path.parent / "all-repaired", model_name=str(model_path), settings=s)
    done = sorted(e["input_rel"] for e in res.done + res.failed)
    assert done == ["season/a.png", "season/bad.png", "season/sub/b.jpg"]  # no overlay, QC or report picture
    # traits over the parent: the masks of both folders, none of the pictures
    from rootrepair.report import masks_in

    images, _ = masks_in(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in images) == [
        "season-repaired/a.png", "season-repaired/sub/b.png", "season/a.png", "season/bad.png", "season/sub/b.jpg"]


def test_the_manifest_is_written_at_most_every_few_seconds_and_always_at_the_end(tmp_path, model_path, monkeypatch):
    import rootrepair.inpaint as inpaint

    season = tmp_path / "season"
    m = np.zeros((40, 40), np.uint8)
    m[5:35, 20] = 255
    for i in range(4):
        (season / f"p{i}.png").parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(m).save(season / f"p{i}.png")
    writes = []
    real = inpaint.write_manifest
    monkeypatch.setattr(inpaint, "write_manifest", lambda *a, **k: (writes.append(len(a[3])), real(*a, **k))[1])
    monkeypatch.setattr(inpaint, "MANIFEST_EVERY_S", 1e9)

    def stop_after_two(entry):
        if len([w for w in seen if w]) == 1:
            raise KeyboardInterrupt
        seen.append(entry)

    seen = []
    with pytest.raises(KeyboardInterrupt):
        repair_folder(season, tmp_path / "out", model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16),
                      on_image=stop_after_two)
    # interrupted at the second file: the manifest, written once on the way out, holds both
    entries = json.loads((tmp_path / "out" / "manifest.json").read_text())["files"]
    assert writes == [2] and sorted(e["input_rel"] for e in entries) == ["p0.png", "p1.png"]
    writes.clear()
    res = repair_folder(season, tmp_path / "out", model_name=str(model_path), settings=InpaintSettings(tile=64, overlap=16))
    assert len(res.skipped) == 2 and len(res.done) == 2  # the resumed run redid nothing
    assert writes[-1] == 4 and len(writes) <= 2  # once at the end of the loop (and once closing the run)


def test_shards_write_their_own_manifests_and_merge(tmp_path, model_path):
    season = tmp_path / "season"
    _season(season)
    out = tmp_path / "out"
    s = InpaintSettings(tile=64, overlap=16)
    repair_folder(season, out, model_name=str(model_path), settings=s, shard=(0, 2))
    repair_folder(season, out, model_name=str(model_path), settings=s, shard=(1, 2))
    assert (out / "manifest-shard-0-of-2.json").exists() and (out / "manifest-shard-1-of-2.json").exists()
    res = repair_folder(season, out, model_name=str(model_path), settings=s)
    assert len(res.skipped) == 2
    merged = json.loads((out / "manifest.json").read_text())
    assert {e["input_rel"] for e in merged["files"] if e["status"] == "ok"} == {"a.png", "sub/b.jpg"}


def test_output_inside_input_is_refused(tmp_path, model_path):
    season = tmp_path / "season"
    _season(season)
    with pytest.raises(RootRepairError, match="outside"):
        repair_folder(season, season / "out", model_name=str(model_path))


def test_empty_folder_is_an_error(tmp_path, model_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RootRepairError, match="no masks"):
        repair_folder(tmp_path / "empty", tmp_path / "out", model_name=str(model_path))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_within_tolerance():
    """CUDA runs channels-last in bfloat16: probabilities within 0.05 of the CPU's, masks almost equal."""
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.synth import generate_root_system, get_preset

    mask = generate_root_system(get_preset("chickpea", height=600, width=400), 1).mask
    model, _ = load_generator()
    cpu = predict_probability(model, mask, InpaintSettings(device="cpu", precision="fp32"))
    model_gpu, _ = load_generator()
    from rootrepair.inpaint import prepare_model

    model_gpu, device = prepare_model(model_gpu, InpaintSettings(device="cuda"))
    gpu = predict_probability(model_gpu, mask, InpaintSettings(device="cuda"), device=device)
    assert np.abs(gpu - cpu).max() < 0.05
    assert ((gpu > 0.5) != (cpu > 0.5)).mean() < 1e-3


def test_bf16_on_cpu_gives_the_same_repair_within_tolerance():
    """bfloat16 (the CPU default where the CPU has native bf16) against fp32: the same mask, nearly."""
    from rootrepair.decode import decode
    from rootrepair.gaps import make_gaps
    from rootrepair.inpaint import prepare_model
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.synth import generate_root_system, get_preset

    full = generate_root_system(get_preset("chickpea", height=600, width=400), 1).mask
    mask, _ = make_gaps(full, "occlusion", np.random.default_rng(1))
    model, device = prepare_model(load_generator()[0], InpaintSettings(device="cpu", runtime="torch"))
    fp32 = predict_probability(model, mask, InpaintSettings(device="cpu", precision="fp32"), device=device)
    bf16 = predict_probability(model, mask, InpaintSettings(device="cpu", precision="bf16"), device=device)
    # bf16 rounding grows with depth and width: the base-32 default moved one pixel by 0.062
    # here (the base-16 model at most 0.039); what must hold is the repair's tolerance below
    assert np.abs(bf16 - fp32).max() < 0.1
    assert ((bf16 > 0.5) != (fp32 > 0.5)).sum() <= 0.002 * mask.sum()
    a, b = decode(mask, fp32), decode(mask, bf16)
    assert (a != b).sum() <= 0.002 * a.sum()  # documented tolerance: 0.2% of the repaired mask's pixels


def test_runtime_choice_and_its_errors(monkeypatch):
    from rootrepair.models import openvino_runtime as ovr

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert ovr.resolve_runtime("torch", cpu) == "torch"
    assert ovr.resolve_runtime("auto", cuda) == "torch"  # OpenVINO is a CPU runtime here
    with pytest.raises(RootRepairError, match="CPU"):
        ovr.resolve_runtime("openvino", cuda)
    with pytest.raises(RootRepairError, match="--runtime"):
        InpaintSettings(runtime="onnx")
    monkeypatch.setattr(ovr, "openvino_available", lambda: False)
    assert ovr.resolve_runtime("auto", cpu) == "torch"
    with pytest.raises(RootRepairError, match="pip install"):
        ovr.resolve_runtime("openvino", cpu)
    monkeypatch.setattr(ovr, "openvino_available", lambda: True)
    assert ovr.resolve_runtime("auto", cpu) == "openvino"


def test_openvino_gives_the_same_repair_within_tolerance(tmp_path):
    """The optional OpenVINO runtime against torch fp32: the same probabilities (fp32), nearly the same mask (bf16)."""
    pytest.importorskip("openvino")
    from rootrepair.decode import decode
    from rootrepair.gaps import make_gaps
    from rootrepair.inpaint import prepare_model
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.openvino_runtime import OpenVinoGenerator
    from rootrepair.synth import generate_root_system, get_preset

    full = generate_root_system(get_preset("chickpea", height=600, width=400), 1).mask
    mask, _ = make_gaps(full, "occlusion", np.random.default_rng(1))
    model, device = prepare_model(load_generator()[0], InpaintSettings(device="cpu", runtime="torch"))
    ref = predict_probability(model, mask, InpaintSettings(device="cpu", precision="fp32"), device=device)
    ov32 = OpenVinoGenerator(load_generator()[0], bf16=False, cache=tmp_path)
    assert len(list(tmp_path.glob("generator-*.xml"))) == 1  # converted once, cached
    assert np.abs(predict_probability(ov32, mask, InpaintSettings(device="cpu")) - ref).max() < 1e-3
    ov16 = OpenVinoGenerator(load_generator()[0], bf16=True, cache=tmp_path)  # read from the cache
    fast = predict_probability(ov16, mask, InpaintSettings(device="cpu"))
    # bf16 rounding depends on the CPU: largest change 0.013 on a Xeon with AMX, 0.11 on an
    # AMD EPYC with AVX512-BF16 (torch's bf16 autocast there: 0.036); what counts is the mask
    assert np.abs(fast - ref).max() < 0.15
    a, b = decode(mask, ref), decode(mask, fast)
    assert (a != b).sum() <= 0.002 * a.sum()  # the same tolerance as torch's bf16


def test_pipelined_folder_is_byte_identical_to_a_serial_run(tmp_path):
    """Decoding and writing one file while the next is in the network changes no output."""
    from rootrepair.io import read_mask

    src, _ = read_mask(Path(__file__).resolve().parents[1] / "examples" / "season" / "plant_01.png")
    season = tmp_path / "season"
    season.mkdir()
    for i in range(4):
        Image.fromarray((src[150 + 90 * i : 406 + 90 * i, 200:456] * 255).astype(np.uint8)).save(season / f"p{i}.png")
    (season / "p1b.png").write_bytes(b"not a png")  # a bad file in the middle: recorded in its place
    runs = {}
    for pipeline in (True, False):
        out = tmp_path / f"out-{pipeline}"
        res = repair_folder(season, out, settings=InpaintSettings(device="cpu"), pipeline=pipeline)
        assert len(res.done) == 4 and len(res.failed) == 1
        files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}
        entries = json.loads((out / "manifest.json").read_text())["files"]
        runs[pipeline] = files, [{k: v for k, v in e.items() if k not in ("seconds", "input")} for e in entries]
    assert len(runs[True][0]) == 8  # 4 masks + 4 overlays
    assert runs[True][0] == runs[False][0]
    assert runs[True][1] == runs[False][1]
    assert [e["input_rel"] for e in runs[True][1]] == ["p0.png", "p1.png", "p2.png", "p3.png", "p1b.png"]  # failures last


def test_two_worker_processes_give_the_files_and_manifest_of_one(tmp_path):
    """--workers 2: the same repaired files and manifest entries as one process, a bad file recorded in its place, no worker manifests left."""
    src = np.zeros((96, 96), bool)
    src[10:86, 30] = True
    season = tmp_path / "season"
    season.mkdir()
    for i in range(3):
        m = src.copy()
        m[40 + 5 * i : 42 + 5 * i, 30] = False  # a 2-px gap, a different place per file
        Image.fromarray((m * 255).astype(np.uint8)).save(season / f"p{i}.png")
    (season / "p1b.png").write_bytes(b"not a png")
    s = InpaintSettings(tile=64, overlap=16, threads=1, device="cpu")
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}"
        seen = []
        res = repair_folder(season, out, settings=s, workers=workers, on_image=seen.append)
        assert len(res.done) == 3 and len(res.failed) == 1 and len(seen) == 4
        files = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}
        entries = json.loads((out / "manifest.json").read_text())["files"]
        runs[workers] = files, [{k: v for k, v in e.items() if k not in ("seconds", "input")} for e in entries]
        assert sorted(p.name for p in out.glob("manifest*")) == ["manifest.csv", "manifest.json"]
    assert len(runs[1][0]) == 6  # 3 masks + 3 overlays
    assert runs[2][0] == runs[1][0]
    assert runs[2][1] == runs[1][1]
    assert [e["input_rel"] for e in runs[2][1]] == ["p0.png", "p1.png", "p2.png", "p1b.png"]  # failures last
    # a re-run with workers skips everything
    res = repair_folder(season, tmp_path / "out-2", settings=s, workers=2)
    assert len(res.skipped) == 3 and not res.done


def test_a_workers_warning_reaches_the_caller(tmp_path):
    """A polarity guessed in a worker process is warned in the caller's, as with one process
    (the CLI shows it as its yellow line; it had been printed by the worker in Python's form)."""
    season = tmp_path / "season"
    season.mkdir()
    m = np.zeros((64, 64), bool)
    m[8:56, 30] = True
    Image.fromarray((m * 255).astype(np.uint8)).save(season / "white.png")
    Image.fromarray((~m * 255).astype(np.uint8)).save(season / "black.png")  # black roots on white: guessed
    s = InpaintSettings(tile=64, overlap=16, threads=1, device="cpu")
    with pytest.warns(PolarityWarning, match="black.png: guessed that the black pixels are roots"):
        res = repair_folder(season, tmp_path / "out", settings=s, workers=2)
    assert len(res.done) == 2


def test_workers_must_be_positive(tmp_path, model_path):
    season = tmp_path / "season"
    _season(season)
    with pytest.raises(RootRepairError, match="--workers"):
        repair_folder(season, tmp_path / "out", model_name=str(model_path), workers=0)


def test_cpu_runs_the_inference_form_under_bf16_only():
    from rootrepair.inpaint import prepare_model
    from rootrepair.models.checkpoint import load_generator
    from rootrepair.models.networks import InferenceUNet, UNetGenerator

    bf16, _ = prepare_model(load_generator()[0], InpaintSettings(device="cpu", runtime="torch", precision="bf16"))
    fp32, _ = prepare_model(load_generator()[0], InpaintSettings(device="cpu", runtime="torch", precision="fp32"))
    assert isinstance(bf16, InferenceUNet)
    assert isinstance(fp32, UNetGenerator) and not isinstance(fp32, InferenceUNet)


def test_a_mask_of_noise_is_written_unchanged_with_the_reason_and_the_batch_goes_on(tmp_path, model_path):
    season = tmp_path / "season"
    _season(season)
    (season / "bad.png").unlink()
    sieve = np.ones((200, 200), bool)
    sieve[2::4, 2::4] = False  # 2,500 one-px holes
    sieve = np.pad(sieve, 2)
    Image.fromarray((sieve * 255).astype(np.uint8)).save(season / "sieve.png")
    r = runner.invoke(app, ["inpaint", str(season), "--model", str(model_path), "--tile", "64", "--overlap", "16",
                            "--foreground", "white", "--precision", "fp32"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "season-repaired" / "manifest.json").read_text())["precision"] == "fp32"
    assert "on cpu: torch, fp32" in r.output
    said = " ".join(r.output.split())
    assert "sieve.png: not repaired: " in said and "more than a mask of roots has" in said
    out = tmp_path / "season-repaired"
    assert np.array_equal(np.asarray(Image.open(out / "sieve.png")) > 127, sieve)
    entries = {e["input_rel"]: e for e in json.loads((out / "manifest.json").read_text())["files"]}
    assert entries["sieve.png"]["status"] == "ok" and entries["sieve.png"]["pixels_added"] == 0
    assert entries["sieve.png"]["note"].startswith("not repaired: ")
    assert entries["a.png"]["pixels_added"] == 2  # the other files are repaired as ever


@pytest.mark.parametrize("device, precision, model, seconds, tip", [
    ("cpu", "fp32", "rootrepair-unet-base32-v2", 10.0, True),
    ("cpu", "fp32", "rootrepair-unet-base32-v2", 2.0, False),  # fast enough: no tip
    ("cpu", "bf16", "rootrepair-unet-base32-v2", 10.0, False),  # bf16 already
    ("cuda:0", "fp32", "rootrepair-unet-base32-v2", 10.0, False),
    ("cpu", "fp32", "rootrepair-unet-gpu-compact", 10.0, False),  # already the smaller model
])
def test_a_slow_default_run_on_a_cpu_names_the_faster_model(tmp_path, monkeypatch, device, precision, model, seconds, tip):
    import io

    from rich.console import Console

    from rootrepair import cli
    from rootrepair.models.checkpoint import DEFAULT_MODEL, shipped_models

    assert DEFAULT_MODEL == "rootrepair-unet-base32-v2"
    assert cli.FAST_CPU_MODEL in {m["id"] for m in shipped_models()}
    buf = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=buf, width=300))
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"model": model, "device": device, "runtime": "torch", "precision": precision}))
    cli._say_how_it_ran(manifest, seconds)
    text = buf.getvalue()
    assert f"model {model} on {device}: torch, {precision}" in text
    assert (f"--model {cli.FAST_CPU_MODEL}" in text) is tip
    if tip:
        assert "10 s per mask" in text

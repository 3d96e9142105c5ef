"""A folder of hostile inputs through `inpaint` and `traits`, via the CLI.

Each bad file must give one line naming it, every good file must be processed, nothing
may be half-written, no traceback may reach the user, and the inputs must not change.
"""
import hashlib
import json
import os
import sys

import numpy as np
import pytest
import tifffile
from PIL import Image
from typer.testing import CliRunner

from rootrepair.cli import app

runner = CliRunner()


def _line_mask(shape=(64, 64), gap=True):
    m = np.zeros(shape, np.uint8)
    m[10:54, 30] = 255
    if gap:
        m[30:32, 30] = 0
    return m


def _hashes(root):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


from tests.test_inpaint import model_path  # noqa: E402,F401  (the Bridge stand-in network as a checkpoint: a fixture)


@pytest.fixture(scope="module")
def bomb_tiff(tmp_path_factory):
    """A TIFF that claims 60000 x 60000 px: refused before decoding (was a 26.8 GiB MemoryError).
    Written once per module (55,000 tiles take seconds to write), its bytes reused."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(shape=(60000, 60000), dtype=np.uint8, compression="zlib", tile=(256, 256),
                 data=iter([np.zeros((256, 256), np.uint8)] * ((60000 + 255) // 256) ** 2))
    return path.read_bytes()


@pytest.fixture
def hostile(tmp_path, bomb_tiff):
    d = tmp_path / "season"
    d.mkdir()
    good = {
        "good.png": _line_mask(),
        "plant.png": _line_mask(),
        "sub/deep.png": _line_mask(),
    }
    for name, a in good.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(a).save(d / name)
    Image.fromarray(_line_mask()).save(d / "plant.jpg", quality=95)  # same stem as plant.png
    Image.fromarray(_line_mask()).convert("1").save(d / "onebit.png")  # crashed traits (exit 139)
    Image.fromarray((_line_mask() > 0).astype(np.uint8)).save(d / "zero_one.png")  # 0/1 values
    Image.fromarray(_line_mask()).save(d / '=HYPERLINK("http:x","y").png')  # formula injection
    Image.fromarray(_line_mask()).save(d / "esc\x1b[31mred.png")  # terminal escape codes
    Image.fromarray(_line_mask()).save(d / LATIN1)  # a name whose bytes are not UTF-8 (stopped the batch)
    Image.fromarray(_line_mask()).save(d / LONG)  # its temporary output name was too long for the file system
    dots = np.zeros((64, 64), np.uint8)
    dots[5, 5] = dots[40, 50] = 255  # a skeleton of isolated pixels (crashed skan)
    Image.fromarray(dots).save(d / "dots.png")
    Image.fromarray(np.full((64, 64), 255, np.uint8)).save(d / "allwhite.png")
    bad = {
        "empty.png": b"",
        "truncated.png": (d / "good.png").read_bytes()[:60],
        "notreally.png": b"this is text, not an image",
        "garbage.tif": b"II*\x00" + b"\xff" * 100,  # a TIFF header pointing nowhere (tifffile logged to stderr)
    }
    for name, data in bad.items():
        (d / name).write_bytes(data)
    (d / "bomb.tif").write_bytes(bomb_tiff)
    (d / "notes.txt").write_text("not an image")
    os.symlink(d / "missing.png", d / "dangling.png")  # a broken link
    os.symlink(d / "loop.png", d / "loop.png") if sys.platform != "win32" else None  # a link to itself
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.fromarray(_line_mask()).save(outside / "linked_target.png")
    os.symlink(outside / "linked_target.png", d / "linked.png")  # a link to a file outside: followed
    locked = d / "locked.png"
    Image.fromarray(_line_mask()).save(locked)
    locked.chmod(0)
    yield d
    locked.chmod(0o644)


LATIN1 = os.fsdecode(b"caf\xe9.png")  # written on a Windows share or an old Linux box: Latin-1, not UTF-8
LONG = "L" * 250 + ".png"  # 254 bytes, the file system allows 255
GOOD_OUT = [LATIN1, LONG, "good.png", "plant_png.png", "plant_jpg.png", "sub/deep.png", "onebit.png", "zero_one.png",
            "dots.png", "allwhite.png", "linked.png", '=HYPERLINK("http:x","y").png']
BAD = ["empty.png", "truncated.png", "notreally.png", "garbage.tif", "bomb.tif", "dangling.png", "loop.png"]


def test_inpaint_goes_on_past_every_bad_file(hostile, model_path, tmp_path):
    before = _hashes(hostile)
    out = tmp_path / "out"
    r = runner.invoke(app, ["inpaint", str(hostile), "-o", str(out), "--model", str(model_path), "--tile", "64", "--overlap", "16"])
    assert r.exit_code == 1, r.output
    assert "Traceback" not in r.output
    for name in BAD:
        lines = [ln for ln in r.output.splitlines() if name in ln and "failed" in ln]
        assert len(lines) == 1, (name, r.output)
    assert any("garbage.tif: not a readable TIFF" in ln for ln in r.output.splitlines())  # said plainly
    assert any("dangling.png: broken link" in ln for ln in r.output.splitlines())  # as traits says it
    # the name's escape code is shown as text, never sent to the terminal
    assert "esc\x1b[31mred" not in r.output
    if os.geteuid() != 0:  # root reads any file
        assert any("locked.png" in ln and "failed" in ln for ln in r.output.splitlines())
    for name in GOOD_OUT:
        assert (out / name).is_file(), name
    assert "not images" in r.output and "notes.txt" in r.output
    # 0/1 masks stay 0/1; an all-white image with white roots is all root, and so is its repair
    assert np.asarray(Image.open(out / "zero_one.png")).max() == 1
    assert (np.asarray(Image.open(out / "allwhite.png")) == 255).all()
    manifest = json.loads((out / "manifest.json").read_text())
    status = {e["input_rel"]: e["status"] for e in manifest["files"]}
    assert all(status[n] == "failed" for n in BAD)
    assert status["plant.png"] == status["plant.jpg"] == "ok"
    assert not [p for p in out.rglob("*") if ".part" in p.name or p.name.endswith(".lock")]  # nothing half-written
    assert "caf\\xe9.png" in (out / "manifest.csv").read_text(encoding="utf-8")
    assert before == _hashes(hostile)  # inputs unchanged


def test_traits_goes_on_past_every_bad_file_and_writes_safe_sheets(hostile, tmp_path):
    import openpyxl

    before = _hashes(hostile)
    xlsx = tmp_path / "t.xlsx"
    r = runner.invoke(app, ["traits", str(hostile), "-o", str(xlsx), "--report"])
    assert r.exit_code == 1, r.output
    page = (tmp_path / "t.html").read_text(encoding="utf-8")
    assert "caf\\xe9" in page
    import re

    srcs = re.findall(r'src="([^"]+)"', page)
    assert len(srcs) > 10 and all((tmp_path / src).is_file() for src in srcs)  # quotes, '=', bytes: every picture found
    assert "Traceback" not in r.output
    for name in BAD:
        assert len([ln for ln in r.output.splitlines() if name in ln and "failed" in ln]) == 1, (name, r.output)
    ws = openpyxl.load_workbook(xlsx)["traits"]
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)  # text, never a live formula
    csv = (tmp_path / "t-traits.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in csv
    assert "caf\\xe9" in csv and "caf\\xe9" in [c.value for c in ws["A"]]  # the name's stray byte, written as the terminal shows it
    assert before == _hashes(hostile)


def test_traits_refuses_qc_inside_the_measured_folder(hostile):
    r = runner.invoke(app, ["traits", str(hostile), "--qc", str(hostile / "qc")])
    assert r.exit_code == 1 and "inside the measured folder" in r.output
    assert not (hostile / "qc").exists()


@pytest.mark.parametrize(
    "args, says",
    [
        (["--batch", "-1"], "--batch"),
        (["--batch", "0"], "--batch"),
        (["--threads", "-1"], "--threads"),
        (["--threshold", "1.5"], "threshold"),
        (["--decode", "magic"], "decoder"),
        (["--max-pixels", "0"], "--max-pixels"),
        (["--foreground", "dark"], "--foreground"),
        (["--tile", "10240"], "--tile"),
    ],
)
def test_inpaint_options_are_validated_in_one_line(hostile, model_path, tmp_path, args, says):
    r = runner.invoke(app, ["inpaint", str(hostile), "-o", str(tmp_path / "o"), "--model", str(model_path), *args])
    assert r.exit_code == 1 and says in r.output and "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.startswith("error")]) == 1


@pytest.mark.parametrize("args, says", [(["--foreground", "dark"], "--foreground"), (["--max-pixels", "0"], "--max-pixels"),
                                        (["--spur-factor", "nan"], "--spur-factor"), (["--dpi", "1e-300"], "--dpi"), (["--dpi", "inf"], "--dpi"), (["--px-size-mm", "-2"], "--px-size-mm")])
def test_traits_options_are_validated(hostile, args, says):
    r = runner.invoke(app, ["traits", str(hostile / "good.png"), *args])
    assert r.exit_code == 1 and says in r.output and "Traceback" not in r.output
    assert "failed:" not in r.output  # refused before any file was read


def test_output_that_is_a_file_and_a_bad_model_file_are_one_line(hostile, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    r = runner.invoke(app, ["inpaint", str(hostile), "-o", str(f)])
    assert r.exit_code == 1 and "is a file" in r.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    r = runner.invoke(app, ["inpaint", str(hostile), "-o", str(tmp_path / "o2"), "--model", str(broken)])
    assert r.exit_code == 1 and "broken.json" in r.output and "Traceback" not in r.output


def test_a_model_json_in_the_current_folder_never_replaces_the_shipped_one(tmp_path, monkeypatch):
    from rootrepair.models.checkpoint import DEFAULT_MODEL, SHIPPED_DIR, resolve_model

    monkeypatch.chdir(tmp_path)
    (tmp_path / f"{DEFAULT_MODEL}.json").write_text("{}")
    assert resolve_model(DEFAULT_MODEL) == SHIPPED_DIR / f"{DEFAULT_MODEL}.json"
    assert resolve_model(f"./{DEFAULT_MODEL}.json").resolve() == (tmp_path / f"{DEFAULT_MODEL}.json").resolve()


def test_single_file_and_dot_inputs(tmp_path, model_path, monkeypatch):
    d = tmp_path / "d"
    d.mkdir()
    Image.fromarray(_line_mask()).save(d / "a.png")
    r = runner.invoke(app, ["inpaint", str(d / "a.png"), "--model", str(model_path), "--tile", "64", "--overlap", "16"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "d-repaired" / "a.png").is_file()
    monkeypatch.chdir(d)
    r = runner.invoke(app, ["inpaint", ".", "--model", str(model_path), "--tile", "64", "--overlap", "16", "--force"])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "-repaired").exists()


def test_a_second_run_into_the_same_output_is_refused_while_the_first_holds_the_lock(hostile, model_path, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".manifest.lock").write_text(f"{os.getppid()} {os.uname().nodename}")  # a live process holds it
    r = runner.invoke(app, ["inpaint", str(hostile / "good.png"), "-o", str(out), "--model", str(model_path)])
    assert r.exit_code == 1 and "another rootrepair run" in r.output
    (out / ".manifest.lock").write_text(f"999999999 {os.uname().nodename}")  # a dead process: taken over
    r = runner.invoke(app, ["inpaint", str(hostile / "good.png"), "-o", str(out), "--model", str(model_path),
                            "--tile", "64", "--overlap", "16"])
    assert r.exit_code == 0, r.output


def test_expert_masks_of_another_size_are_not_compared(tmp_path):
    a, e = tmp_path / "after", tmp_path / "expert"
    a.mkdir(), e.mkdir()
    Image.fromarray(_line_mask(gap=False)).save(a / "p.png")
    Image.fromarray(np.kron(_line_mask(gap=False), np.ones((2, 2), np.uint8))).save(e / "p.png")  # 2x the size
    Image.fromarray(_line_mask(gap=False)).save(a / "q.png")
    Image.fromarray(_line_mask(gap=False)).save(e / "q.png")
    r = runner.invoke(app, ["traits", str(a), "--compare", str(e), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 0, r.output
    assert "not compared" in r.output and "p:" in r.output
    import pandas as pd

    comp = pd.read_excel(tmp_path / "t.xlsx", sheet_name="comparison")
    assert set(comp["image"]) == {"q"}

import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from rootrepair.cli import app

runner = CliRunner()


def _save(path, m):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((m * 255).astype(np.uint8)).save(path)


@pytest.fixture
def season(tmp_path):
    expert = np.zeros((60, 40), bool)
    expert[5:55, 20] = True
    gappy = expert.copy()
    gappy[25:30, 20] = False
    _save(tmp_path / "season" / "plant1.png", gappy)
    _save(tmp_path / "season" / "sub" / "plant2.png", gappy)
    _save(tmp_path / "expert" / "plant1.png", expert)
    _save(tmp_path / "expert" / "sub" / "plant2.png", expert)
    _save(tmp_path / "expert" / "lonely.png", expert)
    (tmp_path / "season" / "broken.png").write_bytes(b"garbage")
    return tmp_path


def test_traits_compare_writes_xlsx_that_reads_back(season):
    out = season / "t.xlsx"
    r = runner.invoke(app, ["traits", str(season / "season"), "--before", str(season / "season"),
                            "--compare", str(season / "expert"), "-o", str(out), "--qc", str(season / "qc")])
    assert r.exit_code == 1, r.output  # broken.png failed, the rest went on
    assert "broken.png" in r.output and "lonely" in r.output
    sheets = pd.read_excel(out, sheet_name=None)
    assert set(sheets) == {"traits", "comparison", "summary", "settings"}
    comp = sheets["comparison"].set_index(["image", "trait"])
    # gappy: pieces of 20 and 25 px -> 2 components, length 19 + 24 = 43; the expert: 50 px -> 1 and 49
    assert comp.loc[("plant1", "components"), "expert"] == 1
    assert comp.loc[("plant1", "components"), "before"] == 2
    assert comp.loc[("sub/plant2", "tip_count"), "after"] == 4
    assert comp.loc[("plant1", "total_length_px"), "expert"] == pytest.approx(49)
    assert comp.loc[("plant1", "total_length_px"), "error_after_pct"] == pytest.approx(100 * 6 / 49)
    assert (season / "t-comparison.csv").exists() and (season / "t-summary.csv").exists()
    assert (season / "qc" / "after" / "plant1.qc.png").exists()


def test_traits_refuses_to_overwrite(season):
    out = season / "t.xlsx"
    args = ["traits", str(season / "expert"), "-o", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and "--force" in r.output
    assert runner.invoke(app, args + ["--force"]).exit_code == 0


def test_traits_refuses_before_measuring(season, monkeypatch):
    """An existing spreadsheet or a bad name is refused before a single mask is measured."""
    import rootrepair.report as report

    def boom(*a, **k):
        raise AssertionError("measured although the output was refused")

    out = season / "t.xlsx"
    out.write_bytes(b"someone's work")
    monkeypatch.setattr(report, "measure_folder", boom)
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(out)])
    assert r.exit_code == 1 and "--force" in r.output
    assert out.read_bytes() == b"someone's work"
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(season / "t.csv")])
    assert r.exit_code == 1 and "must end in .xlsx" in r.output
    (season / "expert-traits.html").write_text("old page")
    r = runner.invoke(app, ["traits", str(season / "expert"), "--report"])
    assert r.exit_code == 1 and "expert-traits.html exists" in r.output


def test_traits_output_folder_gets_the_default_name(season):
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(season / "results")])
    assert r.exit_code == 0, r.output
    assert "err%" not in r.output  # nothing compared: the summary's title does not explain error columns
    assert (season / "results" / "expert-traits.xlsx").exists()
    assert (season / "results" / "expert-traits-summary.csv").exists()
    (season / "made").mkdir()
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(season / "made")])
    assert r.exit_code == 0, r.output
    assert (season / "made" / "expert-traits.xlsx").exists()


def test_traits_in_mm(season):
    out = season / "mm.xlsx"
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(out), "--dpi", "254"])
    assert r.exit_code == 0, r.output
    t = pd.read_excel(out, sheet_name="traits")
    assert "total_length_mm" in t.columns
    assert t["total_length_mm"].iloc[0] == pytest.approx(4.9)


def test_traits_path_never_imports_torch_or_numba(season):
    """Importing torch costs seconds, numba (and loading its cache) most of a second: measuring traits needs neither."""
    import subprocess

    code = (
        "import sys; from typer.testing import CliRunner; from rootrepair.cli import app; "
        f"r = CliRunner().invoke(app, ['traits', r'{season / 'expert'}', '-o', r'{season / 'x.xlsx'}']); "
        "assert r.exit_code == 0, r.output; print('torch' in sys.modules, 'numba' in sys.modules)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False False"


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.startswith("rootrepair ")
    r = runner.invoke(app, [])
    assert "traits" in r.output and "inpaint" in r.output


def test_folder_without_masks_says_so(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    r = runner.invoke(app, ["traits", str(tmp_path), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 1 and "no readable masks" in r.output
    r = runner.invoke(app, ["traits", str(tmp_path / "missing")])
    assert r.exit_code == 1 and "no such file" in r.output


def test_a_mask_that_cannot_be_measured_or_pictured_does_not_stop_the_folder(season, monkeypatch):
    import rootrepair.report as report

    long = "L" * 250 + ".png"  # 254 bytes: the file is fine, its QC picture's name (+ ".qc.png") is too long
    _save(season / "expert" / long, np.eye(30, dtype=bool))
    real = report.analyse_skeleton

    def odd(mask, settings):
        if mask.shape == (60, 40) and mask[5:55, 20].all() and mask.sum() == 50 and odd.first:
            odd.first = False
            raise ValueError("an odd mask")
        return real(mask, settings)

    odd.first = True
    monkeypatch.setattr(report, "analyse_skeleton", odd)
    out = season / "t.xlsx"
    r = runner.invoke(app, ["traits", str(season / "expert"), "-o", str(out), "--qc", str(season / "qc")])
    assert r.exit_code == 1, r.output
    assert "cannot be measured (ValueError: an odd mask)" in r.output
    assert "QC picture cannot be written" in r.output and "Traceback" not in r.output
    images = set(pd.read_excel(out, sheet_name="traits")["image"])
    assert long[:-4] in images and len(images) == 3  # 4 masks: one not measured, the long one measured


def test_repaired_masks_moved_away_from_their_inputs_and_an_ambiguous_expert_folder(season):
    import json

    rep = season / "repaired"
    _save(rep / "plant1.png", np.eye(30, dtype=bool))
    (rep / "manifest.json").write_text(json.dumps({"input": str(season / "gone"), "files": [
        {"input_rel": "plant1.png", "status": "ok"}]}))
    _save(season / "expert" / "plant1.tif", np.eye(30, dtype=bool))  # plant1.png is there too: which is the expert's?
    r = runner.invoke(app, ["traits", str(rep), "--compare", str(season / "expert"), "-o", str(season / "t.xlsx")])
    assert r.exit_code == 0, r.output
    assert "not at" in r.output and "measuring without them" in r.output and "Traceback" not in r.output
    comp = pd.read_excel(season / "t.xlsx", sheet_name="comparison")
    assert "before" not in comp.columns or comp["before"].isna().all()
    # neither expert file stands for plant1: both are listed unmatched under their full names
    assert "plant1.png, plant1.tif" in r.output.replace("\n", " ") or ("plant1.png" in r.output and "plant1.tif" in r.output)
    assert not (comp["image"] == "plant1").any()


def test_inputs_renamed_by_the_repair_are_compared_with_their_repairs(tmp_path):
    import json

    gappy = np.zeros((60, 40), bool)
    gappy[5:55, 20] = True
    gappy[25:30, 20] = False  # 2 pieces
    whole = gappy.copy()
    whole[25:30, 20] = True
    _save(tmp_path / "season" / "plant.png", gappy)
    _save(tmp_path / "season" / "plant.tif", gappy)
    for name in ("plant_png.png", "plant_tif.png"):
        _save(tmp_path / "rep" / name, whole)
    (tmp_path / "rep" / "manifest.json").write_text(json.dumps({"software": "rootrepair", "input": str(tmp_path / "season"), "files": [
        {"input_rel": "plant.png", "output": "plant_png.png", "status": "ok"},
        {"input_rel": "plant.tif", "output": "plant_tif.png", "status": "ok"}]}))
    r = runner.invoke(app, ["traits", str(tmp_path / "rep"), "-o", str(tmp_path / "t.xlsx")])
    assert r.exit_code == 0 and "unmatched" not in r.output, r.output
    comp = pd.read_excel(tmp_path / "t.xlsx", sheet_name="comparison").set_index(["image", "trait"])
    for key in ("plant_png", "plant_tif"):
        assert comp.loc[(key, "components"), "before"] == 2 and comp.loc[(key, "components"), "after"] == 1


def test_the_summary_keeps_every_number_whole_on_an_80_column_terminal(monkeypatch):
    import types

    from rich.console import Console

    import rootrepair.cli as cli

    row = {"trait": "convex_hull_area_px2", "n": 8, "before_mean": 1127604.0, "after_mean": 1127611.0, "expert_mean": 1127650.0,
           "error_before_pct_mean": 15538.0, "error_after_pct_mean": 0.01, "closer_share": 0.12}
    console = Console(width=80, record=True)
    monkeypatch.setattr(cli, "out", console)
    cli._print_summary(types.SimpleNamespace(summary=pd.DataFrame([row])))
    text = console.export_text()
    for v in ("1,127,604", "1,127,611", "1,127,650", "15,538", "0.01", "0.12", "err%aft", "closer"):
        assert v in text
    assert "…" not in text and "convex hull" in text  # the name wraps at its words instead


def test_traits_of_one_file_names_the_spreadsheet_after_it(season):
    r = runner.invoke(app, ["traits", str(season / "expert" / "plant1.png")])
    assert r.exit_code == 0, r.output
    assert (season / "expert" / "plant1-traits.xlsx").exists()
    assert (season / "expert" / "plant1-traits-traits.csv").exists()
    assert not list((season / "expert").glob("plant1.png-*"))


def test_compare_matches_names_that_differ_only_in_case(season):
    # an expert's PLANT1.TIF is plant1.png's partner; of Plant9/PLANT9 (ambiguous) neither is guessed
    expert = np.zeros((60, 40), bool)
    expert[5:55, 20] = True
    other = season / "expert2"
    other.mkdir()
    Image.fromarray((expert * 255).astype(np.uint8)).save(other / "PLANT1.TIF")
    _save(season / "season" / "plant9.png", expert)
    _save(other / "Plant9.png", expert)
    _save(other / "PLANT9.png", expert)
    out = season / "case.xlsx"
    r = runner.invoke(app, ["traits", str(season / "season"), "--compare", str(other), "-o", str(out)])
    comp = pd.read_excel(out, sheet_name="comparison").set_index(["image", "trait"])
    assert comp.loc[("plant1", "components"), "expert"] == 1
    assert comp.loc[("plant1", "components"), "after"] == 2
    assert "plant9" not in comp.index.get_level_values("image")
    lines = [line for line in r.output.splitlines() if line.startswith("unmatched (expert)")]
    assert len(lines) == 1 and "Plant9" in lines[0] and "PLANT9" in lines[0] and "PLANT1" not in lines[0]


def test_compare_matches_names_whose_accents_are_encoded_differently(season):
    # macOS writes "ä" decomposed (a + combining diaeresis), Linux and Windows composed
    expert = np.zeros((60, 40), bool)
    expert[5:55, 20] = True
    _save(season / "acc" / "m\u00e4hren.png", expert)
    _save(season / "acc_expert" / "ma\u0308hren.png", expert)
    out = season / "acc.xlsx"
    r = runner.invoke(app, ["traits", str(season / "acc"), "--compare", str(season / "acc_expert"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    comp = pd.read_excel(out, sheet_name="comparison")
    assert set(comp["image"]) == {"m\u00e4hren"}


def test_fill_holes_option_is_used_and_recorded(season):
    ring = np.zeros((60, 40), bool)
    ring[10:50, 10:30] = True
    ring[29, 19] = False  # a 1-px hole: a loop of the skeleton unless it is filled
    _save(season / "holed" / "r.png", ring)
    for fill, out in ((0, "a.xlsx"), (1, "b.xlsx")):
        r = runner.invoke(app, ["traits", str(season / "holed"), "--fill-holes", str(fill), "-o", str(season / out)])
        assert r.exit_code == 0, r.output
    a, b = (pd.read_excel(season / n, sheet_name=None) for n in ("a.xlsx", "b.xlsx"))
    assert a["traits"]["network_area_px2"][0] == 40 * 20 - 1 and b["traits"]["network_area_px2"][0] == 40 * 20
    settings = dict(zip(b["settings"]["setting"], b["settings"]["value"]))
    assert settings["holes filled"] == "up to 1 px"
    assert runner.invoke(app, ["traits", str(season / "holed"), "--fill-holes", "-2", "-o", str(season / "c.xlsx")]).exit_code == 1


def test_workers_give_the_same_spreadsheet_failures_and_warnings(season):
    inverted = np.ones((60, 40), bool)
    inverted[5:55, 20] = False  # black roots on white: the polarity is guessed, with a warning
    _save(season / "season" / "inverted.png", inverted)
    outs = {}
    for workers in (1, 2):
        out = season / f"w{workers}.xlsx"
        r = runner.invoke(app, ["traits", str(season / "season"), "--workers", str(workers), "-o", str(out)])
        assert r.exit_code == 1  # broken.png failed, the rest went on
        assert "broken.png" in r.output and "guessed that the black pixels are roots" in r.output
        outs[workers] = pd.read_excel(out, sheet_name="traits")
    pd.testing.assert_frame_equal(outs[1], outs[2])
    assert list(outs[2]["image"]) == ["inverted", "plant1", "sub/plant2"]
    r = runner.invoke(app, ["traits", str(season / "season"), "--workers", "0", "-o", str(season / "w0.xlsx")])
    assert r.exit_code == 1 and "--workers must be >= 1" in r.output
    assert "0/?" not in r.output  # no empty progress bar above a refusal


def test_compare_matches_an_experts_flat_folder_by_file_name(season):
    # the repairs in plot folders, the expert's masks all in one folder: matched where the name is unique
    expert = np.zeros((60, 40), bool)
    expert[5:55, 20] = True
    for rel in ("plotA/p1.png", "plotB/p2.png", "plotA/twin.png", "plotB/twin.png"):
        _save(season / "plots" / rel, expert)
    for rel in ("p1.png", "p2.png", "twin.png"):
        _save(season / "flat" / rel, expert)
    out = season / "flat.xlsx"
    r = runner.invoke(app, ["traits", str(season / "plots"), "--compare", str(season / "flat"), "-o", str(out)])
    comp = pd.read_excel(out, sheet_name="comparison")
    assert set(comp["image"]) == {"plotA/p1", "plotB/p2"}  # twin.png could be either: left unmatched
    assert "twin" in r.output.split("unmatched (expert)")[1]
    assert "2 expert image(s) matched by a name that differs" in r.output and "p1 = plotA/p1" in r.output

"""The HTML season report: written by `traits --report`, and rendered by a real browser."""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from rootrepair.cli import app

runner = CliRunner()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _season(tmp_path: Path) -> tuple[Path, Path, Path]:
    before, after, expert = (tmp_path / n for n in ("before", "after", "expert"))
    for d in (before, after, expert):
        d.mkdir()
    for i in range(3):
        full = np.zeros((120, 80), np.uint8)
        full[10:110, 40] = 255
        full[60, 20:60] = 255
        gappy = full.copy()
        gappy[30 + 10 * i : 34 + 10 * i, 40] = 0
        Image.fromarray(full).save(expert / f"p{i}.png")
        Image.fromarray(full if i else gappy).save(after / f"p{i}.png")  # p0's repair missed the gap
        Image.fromarray(gappy).save(before / f"p{i}.png")
    return before, after, expert


def _render(html: Path, tmp_path: Path) -> tuple[str, np.ndarray]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run([CHROMIUM, *flags, "--virtual-time-budget=5000", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, "--window-size=1200,1600", f"--screenshot={shot}", html.as_uri()],
                   capture_output=True, timeout=120)
    return dom, np.asarray(Image.open(shot).convert("L"))


def test_report_is_written_with_plots_and_worst_image_first(tmp_path):
    before, after, expert = _season(tmp_path)
    out = tmp_path / "season.xlsx"
    r = runner.invoke(app, ["traits", str(after), "--before", str(before), "--compare", str(expert), "-o", str(out), "--report"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "season.html").read_text()
    assets = tmp_path / "season-report"
    assert (assets / "plot_total_length_px.png").is_file() and (assets / "full_0000_p0.png").is_file()
    # p0 is the image whose repair left an error: it comes first
    assert page.index("<h3>p0</h3>") < page.index("<h3>p1</h3>")
    # every picture the page shows is a file beside it (no network, no server)
    import re

    for src in re.findall(r'src="([^"]+)"', page):
        assert (tmp_path / src).is_file(), src
    assert "http" not in page.replace("http-equiv", "")


def test_report_without_expert_shows_before_and_after(tmp_path):
    before, after, _ = _season(tmp_path)
    r = runner.invoke(app, ["traits", str(after), "--before", str(before), "-o", str(tmp_path / "s.xlsx"), "--report"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "s.html").read_text()
    assert "after (added red)" in page and "expert" not in page.split("<h2>Images")[1]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium): the page was not rendered")
def test_report_renders_in_a_real_browser(tmp_path):
    before, after, expert = _season(tmp_path)
    out = tmp_path / "season.xlsx"
    r = runner.invoke(app, ["traits", str(after), "--before", str(before), "--compare", str(expert), "-o", str(out), "--report"])
    assert r.exit_code == 0, r.output
    dom, shot = _render(tmp_path / "season.html", tmp_path)
    import re

    body = re.search(r"<body[^>]*>", dom).group(0)
    images = int(re.search(r'data-images="(\d+)"', body).group(1))
    assert images >= 3 * 3 + 3  # three thumbnails per image, and the plots
    assert 'data-failed="0"' in body and 'data-errors="0"' in body
    assert shot.std() > 10  # not a blank page


def test_report_says_what_ran_the_repair(tmp_path):
    import json

    before, after, expert = _season(tmp_path)
    (after / "manifest.json").write_text(json.dumps({
        "software": "rootrepair 0.1.0", "model": "m", "model_sha256": "0" * 64, "device": "cpu", "runtime": "torch",
        "precision": "fp32", "started": "2026-11-27T10:00:00", "settings": {"decode": {"decoder": "topology"}}, "files": []}))
    r = runner.invoke(app, ["traits", str(after), "--before", str(before), "-o", str(tmp_path / "s.xlsx"), "--report"])
    assert r.exit_code == 0, r.output
    assert "2026-11-27T10:00:00 with rootrepair 0.1.0 on cpu (torch, fp32)" in (tmp_path / "s.html").read_text()


def test_report_shows_images_matched_by_name_ignoring_case(tmp_path):
    before, after, expert = _season(tmp_path)
    (expert / "p1.png").rename(expert / "P1.PNG")  # an expert's file named in capitals
    r = runner.invoke(app, ["traits", str(after), "--before", str(before), "--compare", str(expert), "-o", str(tmp_path / "c.xlsx"), "--report"])
    assert r.exit_code == 0, r.output
    images = (tmp_path / "c.html").read_text().split("<h2>Images")[1]
    assert images.count("<h3>") == 3 and "<h3>p1</h3>" in images

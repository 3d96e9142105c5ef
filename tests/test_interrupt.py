"""Ctrl-C during `rootrepair inpaint`: no half-written file is left, and a re-run finishes the job."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rootrepair.io import read_mask

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT / SIGTERM")
@pytest.mark.parametrize("sig, word", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")])
def test_ctrl_c_and_sigterm_leave_no_partial_files(tmp_path, sig, word):
    season = tmp_path / "season"
    season.mkdir()
    src, _ = read_mask(ROOT / "examples" / "season" / "plant_01.png")
    n = 8
    for i in range(n):
        Image.fromarray((np.roll(src[200:712, 200:712], 37 * i, axis=1) * 255).astype(np.uint8)).save(season / f"p{i:02d}.png")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "rootrepair", "inpaint", str(season), "-o", str(out), "--threads", "1"]
    # a shell's background job (as CI may be) ignores SIGINT, and a child inherits that:
    # give the run the default disposition a terminal's Ctrl-C meets
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "manifest.json").exists():
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0, "the run should have been interrupted"
    assert word in err
    leftovers = [p for p in out.rglob("*") if ".part" in p.name or p.name.endswith(".lock")]
    assert leftovers == []
    done = json.loads((out / "manifest.json").read_text())["files"]
    assert 1 <= len(done) < n
    for e in done:
        assert Image.open(out / e["output"]).size == (512, 512)  # every written file is whole
    # a re-run skips what was done and finishes the rest
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    final = json.loads((out / "manifest.json").read_text())["files"]
    assert len(final) == n and all(e["status"] == "ok" for e in final)

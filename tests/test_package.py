import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_contains_traits_and_models_under_rootrepair(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    wheel = next(tmp_path.glob("rootrepair-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "rootrepair/traits/measure.py" in names
    assert "rootrepair/models/networks.py" in names
    assert not any(n.startswith(("traits/", "models/")) for n in names)
    shipped = [n for n in names if n.startswith("rootrepair/models/shipped/")]
    assert any(n.endswith(".safetensors") for n in shipped) and any(n.endswith(".json") for n in shipped)

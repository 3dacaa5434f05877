"""The wheel ships every lesson inside the dlsteps namespace, never a top-level `lessons`."""

import subprocess
import sys
import zipfile
from pathlib import Path

from dlsteps import catalogue

ROOT = Path(__file__).parent.parent


def test_wheel_holds_the_lessons_as_dlsteps_lessons(tmp_path):
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    [wheel] = tmp_path.glob("dlsteps-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for info in catalogue.catalogue().values():
        assert f"dlsteps/lessons/{info.module}.py" in names
    assert not [name for name in names if name.startswith("lessons/")]
    assert "dlsteps/printers/latex.py" in names and "dlsteps/symbolic.py" in names

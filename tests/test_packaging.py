"""The wheel ships every package under dlsteps/ and the lessons as dlsteps._lessons (never a
top-level `lessons`); installed from that wheel into a fresh virtual environment, every
lesson runs.

The wheel is built once per module, from a clean copy of the checkout: a stale `build/`
left by an earlier build could otherwise put deleted files into it, and the test leaves
nothing behind in the checkout. The fresh environment gets the wheel and its dependencies
the way a user's pip would (from the package index, or pip's cache), and every command
runs from a folder outside the checkout, so nothing can be imported from the source tree.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dlsteps import catalogue

ROOT = Path(__file__).parent.parent
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"
)


def run(args, **kwargs):
    return subprocess.run([str(arg) for arg in args], capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A clean copy of the checkout, with no build/, egg-info or virtual environment."""
    src = tmp_path_factory.mktemp("source") / "dlsteps"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    result = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, source], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    [built] = out.glob("dlsteps-*.whl")
    return built


@pytest.fixture(scope="module")
def names(wheel):
    return zipfile.ZipFile(wheel).namelist()


def test_wheel_holds_the_lessons_as_dlsteps_lessons(names):
    for info in catalogue.catalogue().values():
        assert f"dlsteps/_lessons/{info.module}.py" in names
    assert not [name for name in names if name.startswith("lessons/")]
    assert "dlsteps/printers/latex.py" in names and "dlsteps/symbolic.py" in names


def test_wheel_holds_every_package_and_module_of_the_tree(source, names):
    # Computed from the tree the wheel was built from, so a new package can't be left out.
    packages = sorted(init.parent for init in (source / "dlsteps").rglob("__init__.py"))
    assert source / "dlsteps" / "blocks" in packages and source / "dlsteps" / "printers" in packages
    missing = [
        module.relative_to(source).as_posix()
        for package in packages
        for module in package.glob("*.py")
        if module.relative_to(source).as_posix() not in names
    ]
    assert not missing, f"left out of the wheel: {missing}"
    lessons = sorted((source / "lessons").rglob("*.py"))
    assert lessons
    missing = [
        lesson.relative_to(source).as_posix()
        for lesson in lessons
        if "dlsteps/_" + lesson.relative_to(source).as_posix() not in names
    ]
    assert not missing, f"lessons left out of the wheel: {missing}"
    top_level = {name.split("/")[0] for name in names}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"dlsteps"}


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh virtual environment with the wheel installed, and a folder outside the checkout."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    # No ensurepip (slow): the test's own pip installs into the new environment via --python.
    result = run([sys.executable, "-m", "venv", "--without-pip", env_dir], timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    python = env_dir / "bin" / "python"
    result = run([sys.executable, "-m", "pip", "--python", python, "install", "-q", wheel], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    cwd = tmp_path_factory.mktemp("elsewhere")
    assert not cwd.resolve().is_relative_to(ROOT.resolve())
    env = {key: value for key, value in os.environ.items()
           if key not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return {"dir": env_dir, "python": python, "dlsteps": env_dir / "bin" / "dlsteps", "cwd": cwd, "env": env}


def run_in(installed, args):
    return run(args, cwd=installed["cwd"], env=installed["env"], timeout=300)


def test_installed_dlsteps_comes_from_the_wheel(installed):
    code = ("import json, dlsteps, dlsteps.blocks, dlsteps._lessons;"
            "print(json.dumps([m.__file__ for m in (dlsteps, dlsteps.blocks, dlsteps._lessons)]))")
    result = run_in(installed, [installed["python"], "-c", code])
    assert result.returncode == 0, result.stderr[-2000:]
    venv = installed["dir"].resolve()
    for file in json.loads(result.stdout):
        assert Path(file).resolve().is_relative_to(venv), f"{file} is not inside {venv}"
    # No top-level `lessons` package is installed.
    result = run_in(installed, [installed["python"], "-c", "import lessons"])
    assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr


def test_every_lesson_runs_from_the_wheel(installed):
    dlsteps = installed["dlsteps"]
    result = run_in(installed, [dlsteps, "list"])
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_in(installed, [dlsteps, "list", "--format", "json"])
    assert result.returncode == 0, result.stderr[-2000:]
    lessons = [entry["name"] for entry in json.loads(result.stdout)]
    assert lessons == list(catalogue.catalogue())
    failed = {}
    for lesson in lessons:
        result = run_in(installed, [dlsteps, lesson, "--format", "json"])
        if result.returncode != 0:
            failed[lesson] = f"exit {result.returncode}: {result.stderr[-1000:]}"
            continue
        json.loads(result.stdout)
    assert not failed, f"lessons that fail when installed from the wheel: {failed}"


def test_python_m_dlsteps_runs_a_lesson_from_the_wheel(installed):
    lesson = next(iter(catalogue.catalogue()))
    result = run_in(installed, [installed["python"], "-m", "dlsteps", lesson, "--no-pager"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


def test_wheel_ships_the_compiled_korean_catalogue(names):
    assert "dlsteps/locale/ko/LC_MESSAGES/dlsteps.mo" in names


def test_installed_dlsteps_speaks_korean(installed):
    result = run_in(installed, [installed["dlsteps"], "list", "--lang", "ko"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert any("\uac00" <= char <= "\ud7a3" for char in result.stdout.replace(catalogue.get("softmax").lecture, ""))

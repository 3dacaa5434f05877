"""Files written the way users expect: through symlinks, into FIFOs and devices, never
over a read-only file, with the usual modes, atomically and without leftovers."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from dlsteps.errors import InputError
from dlsteps.files import new_file_mode, write


def test_a_new_file_gets_the_umask_mode_and_an_existing_one_keeps_its_mode(tmp_path):
    # Hardening: every file used to be written 0600 whatever the umask.
    fresh = tmp_path / "new.txt"
    write(fresh, "one")
    assert stat.S_IMODE(fresh.stat().st_mode) == new_file_mode() and fresh.read_text() == "one"
    kept = tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    write(kept, "new")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt", "new.txt"]  # no temporary left


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    write(link, "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_read_only_file_is_refused_even_for_root(tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text("keep me")
    locked.chmod(0o444)
    with pytest.raises(InputError, match="read-only"):
        write(locked, "overwritten")
    assert locked.read_text() == "keep me"


def test_a_fifo_and_a_device_are_written_directly(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo).read()))
    reader.start()
    write(fifo, "through the pipe")
    reader.join(10)
    assert received == ["through the pipe"] and stat.S_ISFIFO(fifo.stat().st_mode)
    write(__import__("pathlib").Path("/dev/null"), "gone")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_missing_folder_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        write(tmp_path / "missing" / "x.txt", "text")


def test_a_killed_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    # The text goes to an unnamed O_TMPFILE first: SIGKILL before the rename leaves nothing.
    path = tmp_path / "big.txt"
    path.write_text("old")
    script = ("import os, signal\nfrom pathlib import Path\nimport dlsteps.files as f\n"
              "f._write_all = lambda handle, data: (os.write(handle, data[:10]), os.kill(os.getpid(), signal.SIGKILL))\n"
              f"f.write(Path({str(path)!r}), 'x' * 100000)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == -9
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["big.txt"]


def test_export_refuses_to_replace_without_force_and_writes_a_lesson_once(cli, tmp_path):
    folder = tmp_path / "notes"
    result = cli("export", "kl", "kl", "-f", "markdown", "-o", str(folder))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["index.md", "kl.md"]
    assert (folder / "index.md").read_text().count("kl.md") == 1
    again = cli("export", "kl", "-f", "markdown", "-o", str(folder))
    assert again.exit_code == 2 and "--force" in again.stderr and "kl.md" in again.stderr
    assert cli("export", "kl", "-f", "markdown", "-o", str(folder), "--force").exit_code == 0

"""Writing files the way users expect (``-o FILE``, ``dlsteps export``).

- A regular file is replaced atomically: the text is written to an unnamed temporary
  file in the same folder (Linux ``O_TMPFILE``, which leaves nothing behind if the process
  is killed), then linked and renamed into place. An existing file keeps its mode; a new
  one gets the mode the umask allows, as with any other program.
- A symbolic link is written through, to its target; the link stays a link.
- A FIFO or a device (``-o /dev/null``, ``-o /dev/stdout``) is written directly.
- A read-only file is refused, even for root: exit status 2, the file untouched.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import stat
import tempfile
from pathlib import Path

from dlsteps.errors import InputError
from dlsteps.i18n import _

AT_FDCWD, AT_SYMLINK_FOLLOW = -100, 0x400


def _missing_folder(option: str, folder: Path) -> InputError:
    return InputError(_("{option}: the folder '{folder}' does not exist (create it first, or choose another path)").format(option=option, folder=folder))


def make_folder(folder: Path, option: str = "--output") -> None:
    """Create `folder` if needed; its parent must exist (one clear error otherwise)."""
    if not folder.parent.is_dir():
        raise _missing_folder(option, folder.parent)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        raise InputError(_("{option}: cannot create '{folder}': {reason}").format(option=option, folder=folder, reason=error.strerror)) from None


def new_file_mode() -> int:
    """The mode a new file gets under the current umask (0o644 under the usual 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write(path: Path, text: str, option: str = "--output") -> None:
    """Write `text` to `path` as the module docstring describes; problems are InputErrors."""
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        raise _missing_folder(option, Path(os.path.dirname(path)) or Path("."))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    except OSError as error:
        raise InputError(_("{option}: cannot write '{path}': {reason}").format(option=option, path=path, reason=error.strerror)) from None
    try:
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            with open(target, "w", encoding="utf-8") as stream:
                stream.write(text)
            return
        if existing is not None and not existing.st_mode & 0o222:
            raise InputError(_("{option}: '{path}' is read-only; make it writable or choose another path").format(option=option, path=path))
        _replace(target, text, stat.S_IMODE(existing.st_mode) if existing is not None else new_file_mode())
    except OSError as error:
        raise InputError(_("{option}: cannot write '{path}': {reason}").format(option=option, path=path, reason=error.strerror)) from None


def _replace(target: Path, text: str, mode: int) -> None:
    """Write a new file beside `target` with `mode`, then rename it over `target`."""
    data = text.encode("utf-8")
    temporary = _unnamed(target, data, mode) or _named(target, data, mode)
    try:
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _unnamed(target: Path, data: bytes, mode: int) -> str | None:
    """Write `data` to an O_TMPFILE in the target's folder (invisible until linked, so a
    killed process leaves nothing), then link it under a hidden name; None where the
    system cannot (another OS, a file system without O_TMPFILE)."""
    try:
        handle = os.open(target.parent, os.O_TMPFILE | os.O_WRONLY, mode)
    except (AttributeError, OSError):
        return None
    try:
        _write_all(handle, data)
        os.fchmod(handle, mode)
        name = str(target.parent / f".{target.name}.{secrets.token_hex(8)}.tmp")
        return name if _link(f"/proc/self/fd/{handle}", name) else None
    finally:
        os.close(handle)


def _link(source: str, name: str) -> bool:
    """linkat(source, name, AT_SYMLINK_FOLLOW): give the open O_TMPFILE a name. (Python's
    os.link does not follow /proc/self/fd links on Linux, so libc is called directly.)"""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.linkat(AT_FDCWD, os.fsencode(source), AT_FDCWD, os.fsencode(name), AT_SYMLINK_FOLLOW) == 0
    except (OSError, AttributeError):
        return False


def _named(target: Path, data: bytes, mode: int) -> str:
    """Write `data` to a hidden temporary file beside the target (removed on any error)."""
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        _write_all(handle, data)
        os.fchmod(handle, mode)
    except BaseException:
        os.unlink(name)
        raise
    finally:
        os.close(handle)
    return name


def _write_all(handle: int, data: bytes) -> None:
    """os.write until every byte is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view):]
